/* oom_hook.c: the allocation-failure hook of ipforms_oom, the ipforms
 * command built for tests/oom_checks.py.
 *
 * ipforms_oom is src/main.c and the library linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup: every allocation the program's own code makes comes here
 * (reading files, the schema, the rules, layout, the PDF writer, the
 * diagnostics).  With IPF_OOM_AT=k in the environment the k-th of them
 * (counting from 1) fails, once, as it would when memory runs out, and the
 * others succeed; IPF_OOM_CHILD_AT=k does the same in the worker process
 * the batch forks for a file (counting its own allocations); with
 * IPF_OOM_COUNT=FILE the numbers made, by the main process and by the
 * worker, are written to FILE at exit, so that a driver knows how many
 * there are, and with
 * IPF_OOM_WHERE=FILE the failing allocation's stack is written to FILE.
 *
 * The libraries' own allocations are not failed: libxml2 2.9.14 itself
 * crashes when an allocation fails inside its parser or XPath evaluator
 * (xmlParseDocument, xmlXPathCompiledEval: found with this hook routed
 * through xmlMemSetup), and its hash tables are seeded at random, so that
 * the k-th of its allocations is not the same from run to run. */
#define _GNU_SOURCE /* MAP_ANONYMOUS */

#include <execinfo.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long fail_at = -1;   /* the allocation that fails; -1 none */
static long child_at = -1;  /* the same in a worker process (IPF_OOM_CHILD_AT) */
static long made;           /* allocations so far, in this process */
static int in_child;        /* a worker forked by the batch */
static long *shared;        /* [0] unused, [1] a worker's allocations (a shared page) */
static const char *where; /* IPF_OOM_WHERE: a file for the failing call's stack */

/* The stack of the failing allocation, one frame a line (the program is
 * linked with -rdynamic, so that the library's ipf_* functions are named):
 * tests/oom_checks.py reads which module's allocation failed. */
static void write_where(void)
{
    void *frames[64];
    int n = backtrace(frames, 64);
    FILE *f = fopen(where, "w");
    if (f) {
        fflush(f);
        backtrace_symbols_fd(frames, n, fileno(f));
        fclose(f);
    }
}

/* Where the failure happens: a place for a debugger's breakpoint
 * (gdb -ex 'break oom_hook_failed'). */
void oom_hook_failed(void);
__attribute__((noinline)) void oom_hook_failed(void)
{
    __asm__ volatile("");
}

static int refuse(void)
{
    ++made;
    if (in_child && shared)
        shared[1] = made;
    if (made != fail_at)
        return 0;
    oom_hook_failed();
    if (where && *where)
        write_where();
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return refuse() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return refuse() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return refuse() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return refuse() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return refuse() ? NULL : __real_strndup(s, n);
}

static const char *count_file;

static void write_count(void)
{
    if (in_child)
        return;
    FILE *f = fopen(count_file, "w");
    if (f) {
        fprintf(f, "%ld %ld\n", made, shared ? shared[1] : 0);
        fclose(f);
    }
}

/* A worker counts its own allocations from 1 and fails the
 * IPF_OOM_CHILD_AT-th: the batch renders every file in a forked worker. */
static void in_worker(void)
{
    in_child = 1;
    made = 0;
    fail_at = child_at;
}

__attribute__((constructor)) static void oom_hook_init(void)
{
    const char *at = getenv("IPF_OOM_AT");
    if (at && *at)
        fail_at = strtol(at, NULL, 10);
    at = getenv("IPF_OOM_CHILD_AT");
    if (at && *at)
        child_at = strtol(at, NULL, 10);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared = page == MAP_FAILED ? NULL : page;
    pthread_atfork(NULL, NULL, in_worker);
    where = getenv("IPF_OOM_WHERE");
    count_file = getenv("IPF_OOM_COUNT");
    if (count_file && *count_file)
        atexit(write_count);
}
