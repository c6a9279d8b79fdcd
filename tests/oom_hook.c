/* oom_hook.c: the allocation-failure hook of ipforms_oom, the ipforms
 * command built for tests/oom_checks.py.
 *
 * ipforms_oom is src/main.c and the library linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,
 * --wrap=strndup: every allocation the program's own code makes comes here
 * (reading files, the schema, the rules, layout, the PDF writer, the
 * diagnostics).  With IPF_OOM_AT=k in the environment the k-th of them
 * (counting from 1) fails, once, as it would when memory runs out, and the
 * others succeed; with IPF_OOM_COUNT=FILE the number made is written to FILE
 * at exit, so that a driver knows how many there are, and with
 * IPF_OOM_WHERE=FILE the failing allocation's stack is written to FILE.
 * A forked worker counts on from its parent's count and fails at the same
 * k if it gets there, as a process would when the machine runs out.
 *
 * The libraries' own allocations are not failed: libxml2 2.9.14 itself
 * crashes when an allocation fails inside its parser or XPath evaluator
 * (xmlParseDocument, xmlXPathCompiledEval: found with this hook routed
 * through xmlMemSetup), and its hash tables are seeded at random, so that
 * the k-th of its allocations is not the same from run to run. */
#define _POSIX_C_SOURCE 200809L

#include <execinfo.h>
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

static long fail_at = -1; /* the allocation that fails; -1 none */
static long made;         /* allocations so far */
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

static const char *trace; /* IPF_OOM_TRACE: a file for every allocation's stack */

/* With IPF_OOM_TRACE=FILE each allocation appends "k" and its stack, so that
 * a driver can choose failures in every part of the program without trying
 * each k.  (libc's own allocations, backtrace's included, are not wrapped.) */
static void write_trace(void)
{
    void *frames[32];
    int n = backtrace(frames, 32);
    FILE *f = fopen(trace, "a");
    if (f) {
        fprintf(f, "@%ld\n", made);
        fflush(f);
        backtrace_symbols_fd(frames, n, fileno(f));
        fclose(f);
    }
}

static int refuse(void)
{
    ++made;
    if (trace && *trace)
        write_trace();
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

/* Every process appends its count: a worker forked by the batch goes on
 * counting from its parent's count at the fork, so the largest line is the
 * number of allocations the farthest-reaching process made. */
static void write_count(void)
{
    FILE *f = fopen(count_file, "a");
    if (f) {
        fprintf(f, "%ld\n", made);
        fclose(f);
    }
}

/* A worker ends with _exit, which skips atexit. */
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status)
{
    if (count_file && *count_file)
        write_count();
    __real__exit(status);
}

__attribute__((constructor)) static void oom_hook_init(void)
{
    const char *at = getenv("IPF_OOM_AT");
    if (at && *at)
        fail_at = strtol(at, NULL, 10);
    where = getenv("IPF_OOM_WHERE");
    trace = getenv("IPF_OOM_TRACE");
    count_file = getenv("IPF_OOM_COUNT");
    if (count_file && *count_file)
        atexit(write_count);
}
