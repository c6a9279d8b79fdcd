/* batch.c: the parent's loop over worker processes, naming, progress, report.
 *
 * Protocol (pipes, one pair per worker; integers big-endian):
 *   parent → worker  TASK  u8 'T', u32 index
 *                    REPLY u8 'R', u8 granted, str earlier-input
 *   worker → parent  CLAIM u8 'C', u32 index, str path
 *                    DONE  u8 'D', u32 index, u32 status, str written,
 *                          u32 count, count × (u8 severity, u32 line,
 *                          str file, str code, str message)
 * where str is u32 length and bytes.  A worker asks for its output name
 * just before writing and waits for the answer; the parent answers a claim
 * only when every earlier input has claimed or finished, so the first input
 * in input order keeps a contested name whatever the timing.
 *
 * Memory: the parent owns every item's diagnostics until they are printed
 * (so at most the documents finished out of order are held), the report
 * buffer, and the claimed-name table. */
#define _GNU_SOURCE /* strdup, realpath under -std=c11 with POSIX */
#include "batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "fdio.h"
#include "buf.h"
#include "pdf_util.h"

#define DEFAULT_TIMEOUT 120.0

/* ------------------------------------------------------------ inputs */

typedef struct strvec {
    char **v;
    size_t n, cap;
    int oom;
} strvec;

/* A worker's exit status when it ran out of memory (3: the parent is gone
 * or the pipe broke), so that the parent says so rather than "crashed". */
#define WORKER_NOMEM 4

/* An allocation that failed deep inside often leaves no word of its own
 * (most sites return IPF_ERR_NOMEM without needing memory to say so): the
 * file's result then says it, so that running out of memory is never a
 * silent exit 2 (tests/oom_checks.py). */
static ipf_status say_nomem(ipf_status st, const char *input, ipf_diags *d)
{
    /* A diagnostic that could not be recorded may have been the one error
     * of an invalid file: the file's result cannot be trusted. */
    if (d && ipf_diags_oom(d) && (st == IPF_OK || st == IPF_INVALID))
        st = IPF_ERR_NOMEM;
    if (st != IPF_ERR_NOMEM)
        return st;
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (g && g->message && strstr(g->message, "内存不足"))
            return st;
    }
    if (!ipf_diags_oom(d)) /* else printing d says so */
        ipf_diag_add(d, input, 0, IPF_SEV_ERROR, "NOMEM",
                     "内存不足，这份文件未能处理完；请关闭其他程序后重试");
    return st;
}
static void push(strvec *s, const char *p, size_t len)
{
    if (s->oom)
        return;
    if (IPF_GROW(s->v, s->cap, s->n + 2) < 0) {
        s->oom = 1;
        return;
    }
    if (!(s->v[s->n] = strndup(p, len)))
        s->oom = 1;
    else
        s->v[++s->n] = NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ipf_status search_dir(strvec *s, const char *dir, int depth, ipf_diags *d)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        ipf_diag_add(d, dir, 0, IPF_SEV_ERROR, "IO-NOT-FOUND", "无法读取目录：%s", strerror(errno));
        return IPF_ERR_IO;
    }
    strvec names = {0};
    struct dirent *de;
    while ((de = readdir(dh)) != NULL)
        if (de->d_name[0] != '.')
            push(&names, de->d_name, strlen(de->d_name));
    closedir(dh);
    if (names.n)
        qsort(names.v, names.n, sizeof *names.v, by_name);
    ipf_status st = names.oom ? IPF_ERR_NOMEM : IPF_OK;
    for (size_t i = 0; i < names.n; i++) {
        size_t len = strlen(dir) + strlen(names.v[i]) + 2;
        char *p = malloc(len);
        if (p) {
            snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names.v[i]);
            struct stat sb;
            size_t n = strlen(names.v[i]);
            if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                if (depth < 32 && st == IPF_OK)
                    st = search_dir(s, p, depth + 1, d);
            } else if (n > 4 && strcmp(names.v[i] + n - 4, ".xml") == 0) {
                push(s, p, strlen(p));
            }
        } else {
            st = IPF_ERR_NOMEM;
        }
        free(p);
        free(names.v[i]);
    }
    free(names.v);
    return st;
}

ipf_status ipf_batch_inputs(char *const *args, size_t n, const char *files_from, char ***out,
                            size_t *count, ipf_diags *d)
{
    strvec s = {0};
    ipf_status st = IPF_OK;
    for (size_t i = 0; i < n; i++) {
        /* A directory called *.xml was meant as a file: reported as one. */
        struct stat sb;
        size_t len = strlen(args[i]);
        int xml = len > 4 && strcmp(args[i] + len - 4, ".xml") == 0;
        if (!xml && stat(args[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            ipf_status r = search_dir(&s, args[i], 0, d);
            if (r != IPF_OK)
                st = r;
        } else {
            push(&s, args[i], strlen(args[i]));
        }
    }
    if (files_from) {
        FILE *f = strcmp(files_from, "-") == 0 ? stdin : fopen(files_from, "r");
        if (!f) {
            ipf_diag_add(d, files_from, 0, IPF_SEV_ERROR, "IO-NOT-FOUND", "无法读取文件列表：%s",
                         strerror(errno));
            st = IPF_ERR_IO;
        } else {
            char *line = NULL;
            size_t cap = 0;
            ssize_t len;
            while ((len = getline(&line, &cap, f)) >= 0) {
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                    len--;
                if (len > 0)
                    push(&s, line, (size_t)len);
            }
            free(line);
            if (f != stdin)
                fclose(f);
        }
    }
    if (s.oom) {
        ipf_batch_inputs_free(s.v);
        return IPF_ERR_NOMEM;
    }
    if (!s.v) {
        s.v = calloc(1, sizeof *s.v);
        if (!s.v)
            return IPF_ERR_NOMEM;
    }
    *out = s.v;
    *count = s.n;
    return st;
}

void ipf_batch_inputs_free(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

/* ------------------------------------------------------------ pipes */

static int read_u32(int fd, uint32_t *v)
{
    unsigned char b[4];
    if (ipf_read_all(fd, b, 4) != 0)
        return -1;
    *v = ipf_rd32(b);
    return 0;
}

/* A string of at most 16 MiB (a message is far shorter); caller frees. */
static int read_str(int fd, char **s)
{
    uint32_t n;
    *s = NULL;
    if (read_u32(fd, &n) != 0 || n > (16u << 20))
        return -1;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return -2; /* no memory: not the worker's fault */
    if (ipf_read_all(fd, p, n) != 0) {
        free(p);
        return -1;
    }
    p[n] = '\0';
    *s = p;
    return 0;
}

static void put_str(ipf_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    ipf_buf_u32(b, (uint32_t)n);
    ipf_buf_put(b, s ? s : "", n);
}

/* ------------------------------------------------------------ worker */

typedef struct worker_ctx {
    int task_fd, res_fd;
    uint32_t index;
    const char *input;
} worker_ctx;

static int worker_claim(void *vc, const char *path, ipf_diags *d)
{
    worker_ctx *c = vc;
    ipf_buf b = {0};
    ipf_buf_byte(&b, 'C');
    ipf_buf_u32(&b, c->index);
    put_str(&b, path);
    if (b.oom)
        _exit(WORKER_NOMEM);
    int bad = ipf_write_all(c->res_fd, b.p, b.len) != 0;
    ipf_buf_free(&b);
    unsigned char hdr[2];
    char *other = NULL;
    int rs = 0;
    if (bad || ipf_read_all(c->task_fd, hdr, 2) != 0 || hdr[0] != 'R' ||
        (rs = read_str(c->task_fd, &other)) != 0)
        _exit(rs == -2 ? WORKER_NOMEM : 3); /* else the parent is gone */
    if (!hdr[1]) {
        char *pp = ipf_printable(path), *po = ipf_printable(other);
        ipf_diag_add(d, c->input, 0, IPF_SEV_ERROR, "OUTPUT-COLLISION",
                     "输出文件“%s”已属于同一批中先列出的“%s”，为免覆盖，这份未生成（可用 "
                     "--name 按数据命名，或分别指定输出目录）",
                     pp ? pp : "?", po ? po : "?");
        free(pp);
        free(po);
    }
    free(other);
    return hdr[1] ? 0 : -1;
}

/* Test hooks: IPFORMS_TEST_CRASH_ON / IPFORMS_TEST_HANG_ON name a data file
 * (its last path component) on which a worker crashes or hangs, so that the
 * tests can see a lost worker reported and replaced. */
static void test_hooks(const char *input)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    const char *crash = getenv("IPFORMS_TEST_CRASH_ON");
    if (crash && *crash && strcmp(crash, base) == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    const char *hang = getenv("IPFORMS_TEST_HANG_ON");
    if (hang && *hang && strcmp(hang, base) == 0)
        for (;;)
            pause();
}

static void send_done(int fd, uint32_t index, ipf_status st, const char *written,
                      const ipf_diags *d)
{
    ipf_buf b = {0};
    ipf_buf_byte(&b, 'D');
    ipf_buf_u32(&b, index);
    ipf_buf_u32(&b, (uint32_t)st);
    put_str(&b, written);
    size_t n = ipf_diags_count(d);
    ipf_buf_u32(&b, (uint32_t)n + (ipf_diags_oom(d) ? 1 : 0));
    for (size_t i = 0; i < n; i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        ipf_buf_byte(&b, (unsigned char)g->severity);
        ipf_buf_u32(&b, (uint32_t)g->line);
        put_str(&b, g->file);
        put_str(&b, g->code);
        put_str(&b, g->message);
    }
    if (ipf_diags_oom(d)) {
        ipf_buf_byte(&b, IPF_SEV_ERROR);
        ipf_buf_u32(&b, 0);
        put_str(&b, "-");
        put_str(&b, "NOMEM");
        put_str(&b, "内存不足，部分诊断信息未能记录");
    }
    if (b.oom)
        _exit(WORKER_NOMEM);
    if (ipf_write_all(fd, b.p, b.len) != 0)
        _exit(3);
    ipf_buf_free(&b);
}

static void worker_main(ipf_engine *e, const ipf_batch_options *o, char *const *inputs, size_t n,
                        int task_fd, int res_fd)
{
    /* The parent decides when to stop: a Ctrl-C reaches the whole process
     * group, and a worker must finish (or be killed by) the parent.  The
     * worker of a single input (there only to hold the time limit) keeps
     * the default actions, as that input would in the parent, and goes
     * when the parent does. */
    if (n > 1) {
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
    } else {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        if (getppid() == 1)
            _exit(3);
    }
    signal(SIGPIPE, SIG_DFL);
    ipf_diags *d = ipf_diags_new();
    if (!d)
        _exit(WORKER_NOMEM);
    worker_ctx c = {task_fd, res_fd, 0, NULL};
    for (;;) {
        unsigned char t;
        uint32_t index;
        if (ipf_read_all(task_fd, &t, 1) != 0 || t != 'T' || read_u32(task_fd, &index) != 0 ||
            index >= n)
            break;
        c.index = index;
        const char *input = inputs[index];
        c.input = input;
        test_hooks(input);
        ipf_diags_clear(d);
        ipf_status st;
        char *written = NULL;
        if (o->render) {
            ipf_render_request rq;
            memset(&rq, 0, sizeof rq);
            rq.input = input;
            rq.out_dir = o->out_dir;
            rq.name_pattern = o->name_pattern;
            rq.claim = worker_claim;
            rq.claim_ctx = &c;
            rq.no_sync = n > 1; /* a batch syncs once, at its end */
            st = ipf_engine_render_request(e, &rq, d);
            written = rq.written;
        } else {
            st = ipf_engine_validate(e, input, d);
        }
        st = say_nomem(st, input, d);
        send_done(res_fd, index, st, written, d);
        free(written);
    }
    ipf_diags_free(d);
    _exit(0);
}

/* ------------------------------------------------------------ parent */

enum { ITEM_WAITING, ITEM_RUNNING, ITEM_DONE };

typedef struct item {
    int state;
    int resolved; /* its output name is settled: claimed, or none will be */
    int not_done; /* stopped before it was worked on */
    ipf_status st;
    char *written;
    char *claim_key;
    ipf_diags *diags;
} item;

typedef struct worker {
    pid_t pid;
    int task_fd, res_fd;
    long current; /* the input being worked on, or -1 */
    double deadline;
    int claiming; /* waiting for the answer to a claim */
    char *claim_path;
} worker;

/* Claimed output names: open addressing on the real path. */
typedef struct claims {
    char **key;
    size_t *owner;
    size_t cap, n;
} claims;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Returns the earlier owner of key, or (size_t)-1 after adding it. */
static size_t claim_add(claims *c, char *key, size_t owner, int *oom)
{
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char **k = calloc(cap, sizeof *k);
        size_t *o = calloc(cap, sizeof *o);
        if (!k || !o) {
            free(k);
            free(o);
            *oom = 1;
            return (size_t)-1;
        }
        for (size_t i = 0; i < c->cap; i++)
            if (c->key[i]) {
                size_t j = hash(c->key[i]) & (cap - 1);
                while (k[j])
                    j = (j + 1) & (cap - 1);
                k[j] = c->key[i];
                o[j] = c->owner[i];
            }
        free(c->key);
        free(c->owner);
        c->key = k;
        c->owner = o;
        c->cap = cap;
    }
    size_t j = hash(key) & (c->cap - 1);
    while (c->key[j]) {
        if (strcmp(c->key[j], key) == 0)
            return c->owner[j];
        j = (j + 1) & (c->cap - 1);
    }
    c->key[j] = key;
    c->owner[j] = owner;
    c->n++;
    return (size_t)-1;
}

/* The path as one file: the directory's real path and the name. */
static char *claim_key(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    const char *name = slash ? slash + 1 : path;
    const char *base = real ? real : (dir ? dir : ".");
    size_t len = strlen(base) + strlen(name) + 2;
    char *key = malloc(len);
    if (key)
        snprintf(key, len, "%s/%s", base, name);
    free(real);
    free(dir);
    return key;
}

typedef struct run {
    ipf_engine *e;
    const ipf_batch_options *o;
    char *const *inputs;
    size_t n;
    item *items;
    worker *w;
    size_t nw;
    size_t next;     /* next input to hand out */
    size_t emitted;  /* inputs printed and reported so far */
    size_t resolved; /* every input before this one has a settled name */
    claims cl;
    ipf_buf report;
    ipf_batch_result *res;
    int progress, per_file;
    double start, last_progress;
    int oom;
    /* output directories, for the sweep and the final sync */
    strvec dirs;
} run;

static volatile sig_atomic_t stop_signals;

static void on_stop(int sig)
{
    (void)sig;
    stop_signals++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void json_str(ipf_buf *b, const char *s)
{
    char *p = ipf_printable(s ? s : "");
    ipf_buf_byte(b, '"');
    for (const char *q = p ? p : ""; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '"' || c == '\\') {
            ipf_buf_byte(b, '\\');
            ipf_buf_byte(b, c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            ipf_buf_str(b, esc);
        } else {
            ipf_buf_byte(b, c);
        }
    }
    ipf_buf_byte(b, '"');
    free(p);
}

static const char *status_word(const run *r, const item *it)
{
    if (it->not_done)
        return "not-done";
    if (it->st == IPF_OK)
        return r->o->render ? "rendered" : "valid";
    if (it->st == IPF_INVALID)
        return "invalid";
    return "failed";
}

static void report_line(run *r, size_t i)
{
    item *it = &r->items[i];
    ipf_buf *b = &r->report;
    ipf_buf_str(b, "{\"input\":");
    json_str(b, r->inputs[i]);
    ipf_buf_str(b, ",\"output\":");
    if (it->written)
        json_str(b, it->written);
    else
        ipf_buf_str(b, "null");
    ipf_buf_str(b, ",\"status\":\"");
    ipf_buf_str(b, status_word(r, it));
    ipf_buf_str(b, "\",\"diagnostics\":[");
    for (size_t k = 0; k < ipf_diags_count(it->diags); k++) {
        const ipf_diag *g = ipf_diags_get(it->diags, k);
        char line[32];
        snprintf(line, sizeof line, "%ld", g->line);
        ipf_buf_str(b, k ? ",{\"file\":" : "{\"file\":");
        json_str(b, g->file);
        ipf_buf_str(b, ",\"line\":");
        ipf_buf_str(b, line);
        ipf_buf_str(b, g->severity == IPF_SEV_ERROR ? ",\"severity\":\"error\""
                                                    : ",\"severity\":\"warning\"");
        ipf_buf_str(b, ",\"code\":");
        json_str(b, g->code);
        ipf_buf_str(b, ",\"message\":");
        json_str(b, g->message);
        ipf_buf_byte(b, '}');
    }
    ipf_buf_str(b, "]}\n");
}

static void clear_progress(run *r)
{
    if (r->progress)
        fputs("\r\033[K", r->o->err);
}

static void show_progress(run *r, int force)
{
    if (!r->progress)
        return;
    double t = now_s();
    if (!force && t - r->last_progress < 0.1)
        return;
    r->last_progress = t;
    double el = t - r->start;
    double rate = el > 0 ? (double)r->emitted / el : 0;
    char eta[32] = "--";
    if (rate > 0) {
        long s = (long)((double)(r->n - r->emitted) / rate + 0.5);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    }
    fprintf(r->o->err, "\r\033[K%zu/%zu  %.1f 份/秒  预计剩余 %s", r->emitted, r->n, rate, eta);
    fflush(r->o->err);
}

/* Prints and reports every finished input whose predecessors are printed. */
static void emit_ready(run *r)
{
    while (r->emitted < r->n && r->items[r->emitted].state == ITEM_DONE) {
        size_t i = r->emitted;
        item *it = &r->items[i];
        if (!it->diags && !it->not_done) {
            /* Only a failed allocation leaves a worked-on input without
             * diagnostics: what it found is lost, so it counts as failed. */
            char *p = ipf_printable(r->inputs[i]);
            clear_progress(r);
            fprintf(r->o->err,
                    "%s: error NOMEM 内存不足，这份文件的结果未能记录；请关闭其他程序后重试\n",
                    p ? p : "ipforms");
            free(p);
            it->st = IPF_ERR_NOMEM;
        }
        if (ipf_diags_count(it->diags) > 0 || ipf_diags_oom(it->diags)) {
            clear_progress(r);
            ipf_diags_sort(it->diags);
            ipf_diags_print(it->diags, r->o->err);
        }
        if (r->per_file && !it->not_done) {
            char *pin = ipf_printable(r->inputs[i]), *pout = ipf_printable(it->written);
            if (it->st == IPF_OK && r->o->render)
                fprintf(r->o->out, "%s → %s\n", pin ? pin : "?", pout ? pout : "?");
            else if (it->st == IPF_INVALID && it->written)
                fprintf(r->o->out, "%s → %s（数据有误，已强制排版）\n", pin ? pin : "?",
                        pout ? pout : "?");
            else if (it->st == IPF_OK)
                fprintf(r->o->out, "%s: 通过检查\n", pin ? pin : "?");
            free(pin);
            free(pout);
        }
        if (r->o->report_path)
            report_line(r, i);
        if (it->not_done)
            r->res->not_done++;
        else if (it->st == IPF_OK)
            r->res->ok++;
        else if (it->st == IPF_INVALID)
            r->res->invalid++;
        else
            r->res->failed++;
        /* Kept for --combine: which inputs made a PDF. */
        ipf_diags_free(it->diags);
        it->diags = NULL;
        free(it->claim_key);
        it->claim_key = NULL;
        r->emitted++;
    }
    if (r->per_file)
        fflush(r->o->out);
    fflush(r->o->err);
    show_progress(r, 0);
}

static void advance_resolved(run *r)
{
    while (r->resolved < r->n && r->items[r->resolved].resolved)
        r->resolved++;
}

static void finish_item(run *r, size_t i, ipf_status st, char *written, ipf_diags *d)
{
    item *it = &r->items[i];
    it->state = ITEM_DONE;
    it->resolved = 1;
    it->st = st;
    it->written = written;
    ipf_diags_free(it->diags);
    it->diags = d;
    advance_resolved(r);
}

/* A failure the parent saw (a lost worker): the input's only diagnostic. */
static void fail_item(run *r, size_t i, const char *code, const char *fmt, const char *detail)
{
    ipf_diags *d = ipf_diags_new();
    ipf_diag_add(d, r->inputs[i], 0, IPF_SEV_ERROR, code, fmt, detail);
    finish_item(r, i, IPF_ERR_INTERNAL, NULL, d);
}

static void add_dir(run *r, const char *dir)
{
    for (size_t i = 0; i < r->dirs.n; i++)
        if (strcmp(r->dirs.v[i], dir) == 0)
            return;
    push(&r->dirs, dir, strlen(dir));
}

static void collect_dirs(run *r)
{
    if (r->o->out_dir) {
        add_dir(r, r->o->out_dir);
        return;
    }
    for (size_t i = 0; i < r->n; i++) {
        const char *in = r->inputs[i];
        const char *slash = strrchr(in, '/');
        if (!slash) {
            add_dir(r, ".");
        } else {
            char *d = strndup(in, (size_t)(slash - in) + (slash == in));
            if (d)
                add_dir(r, d);
            free(d);
        }
    }
}

static void sweep(run *r)
{
    for (size_t i = 0; i < r->dirs.n; i++)
        ipf_atomic_sweep(r->dirs.v[i]);
}

static int spawn(run *r, worker *w)
{
    int task, res;
    fflush(r->o->out);
    fflush(r->o->err);
    pid_t pid = ipf_fork_piped(&task, &res);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        for (size_t k = 0; k < r->nw; k++)
            if (r->w[k].pid > 0) {
                close(r->w[k].task_fd);
                close(r->w[k].res_fd);
            }
        worker_main(r->e, r->o, r->inputs, r->n, task, res);
    }
    w->pid = pid;
    w->task_fd = task;
    w->res_fd = res;
    w->current = -1;
    w->claiming = 0;
    return 0;
}

static void reap(worker *w, int *status)
{
    close(w->task_fd);
    close(w->res_fd);
    int s = 0;
    while (waitpid(w->pid, &s, 0) < 0 && errno == EINTR)
        ;
    if (status)
        *status = s;
    w->pid = 0;
    w->current = -1;
    w->claiming = 0;
    free(w->claim_path);
    w->claim_path = NULL;
}

static double timeout_of(const run *r)
{
    return r->o->timeout > 0 ? r->o->timeout : DEFAULT_TIMEOUT;
}

static void lost_worker(run *r, worker *w, int timed_out, int nomem);

/* Answers the claims every earlier input has made way for. */
static void answer_claims(run *r)
{
    int again = 1;
    while (again) {
        again = 0;
        for (size_t k = 0; k < r->nw; k++) {
            worker *w = &r->w[k];
            if (!w->pid || !w->claiming || (size_t)w->current > r->resolved)
                continue;
            size_t i = (size_t)w->current;
            char *key = claim_key(w->claim_path);
            size_t earlier = (size_t)-1;
            int was_oom = r->oom;
            if (key)
                earlier = claim_add(&r->cl, key, i, &r->oom);
            if (!key || (r->oom && !was_oom)) {
                /* No memory to decide: refusing would name no earlier
                 * file, so the file is failed for what it is. */
                free(key);
                w->claiming = 0;
                free(w->claim_path);
                w->claim_path = NULL;
                r->items[i].resolved = 1;
                advance_resolved(r);
                again = 1;
                lost_worker(r, w, 0, 1);
                continue;
            }
            int granted = earlier == (size_t)-1 && !r->oom;
            if (granted)
                r->items[i].claim_key = NULL; /* owned by the table */
            else
                free(key);
            ipf_buf b = {0};
            ipf_buf_byte(&b, 'R');
            ipf_buf_byte(&b, (unsigned char)granted);
            put_str(&b, earlier != (size_t)-1 ? r->inputs[earlier] : "");
            int no_memory = b.oom;
            int sent = !no_memory && ipf_write_all(w->task_fd, b.p, b.len) == 0;
            ipf_buf_free(&b);
            w->claiming = 0;
            free(w->claim_path);
            w->claim_path = NULL;
            w->deadline = now_s() + timeout_of(r);
            r->items[i].resolved = 1;
            advance_resolved(r);
            again = 1;
            /* Unanswered, the worker would wait for its time limit. */
            if (!sent)
                lost_worker(r, w, 0, no_memory);
        }
    }
}

/* Reads one message; -1 when the worker is gone. */
static int on_message(run *r, worker *w)
{
    unsigned char t;
    uint32_t index;
    if (ipf_read_all(w->res_fd, &t, 1) != 0 || read_u32(w->res_fd, &index) != 0 ||
        (long)index != w->current)
        return -1;
    if (t == 'C') {
        int rs = read_str(w->res_fd, &w->claim_path);
        if (rs != 0)
            return rs;
        w->claiming = 1;
        return 0;
    }
    if (t != 'D')
        return -1;
    uint32_t st, count;
    char *written = NULL;
    int rs = 0;
    if (read_u32(w->res_fd, &st) != 0 || (rs = read_str(w->res_fd, &written)) != 0 ||
        read_u32(w->res_fd, &count) != 0) {
        free(written);
        return rs == -2 ? -2 : -1;
    }
    ipf_diags *d = ipf_diags_new();
    if (!d) {
        free(written);
        return -2;
    }
    for (uint32_t k = 0; k < count; k++) {
        unsigned char sev;
        uint32_t line;
        char *file = NULL, *code = NULL, *msg = NULL;
        int bad = ipf_read_all(w->res_fd, &sev, 1) != 0 || read_u32(w->res_fd, &line) != 0 ||
                  (rs = read_str(w->res_fd, &file)) != 0 ||
                  (rs = read_str(w->res_fd, &code)) != 0 || (rs = read_str(w->res_fd, &msg)) != 0;
        if (!bad)
            ipf_diag_add(d, file, (long)line,
                         sev == IPF_SEV_ERROR ? IPF_SEV_ERROR : IPF_SEV_WARNING, code, "%s", msg);
        free(file);
        free(code);
        free(msg);
        if (bad) {
            ipf_diags_free(d);
            free(written);
            return rs == -2 ? -2 : -1;
        }
    }
    if (!*written) {
        free(written);
        written = NULL;
    }
    finish_item(r, index, (ipf_status)st, written, d);
    w->current = -1;
    return 0;
}

/* timed_out: past the time limit; nomem: its result could not be taken in
 * for lack of memory here (the rest of its message is then unread, so the
 * worker is stopped like a late one). */
static void lost_worker(run *r, worker *w, int timed_out, int nomem)
{
    long i = w->current;
    if (timed_out || nomem)
        kill(w->pid, SIGKILL);
    int status = 0;
    reap(w, &status);
    if (i >= 0) {
        char detail[64];
        if (timed_out)
            snprintf(detail, sizeof detail, "%g", timeout_of(r));
        else if (WIFSIGNALED(status))
            snprintf(detail, sizeof detail, "信号 %d", WTERMSIG(status));
        else
            snprintf(detail, sizeof detail, "退出码 %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        if (stop_signals >= 2) {
            r->items[i].not_done = 1;
            finish_item(r, (size_t)i, IPF_ERR_INTERNAL, NULL, NULL);
        } else if (nomem)
            fail_item(r, (size_t)i, "NOMEM",
                      "内存不足，未能收到这份文件的处理结果%s；请关闭其他程序后重试", "");
        else if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_NOMEM)
            fail_item(r, (size_t)i, "NOMEM", "内存不足，这份文件未能处理完%s；请关闭其他程序后重试",
                      "");
        else if (timed_out)
            fail_item(r, (size_t)i, "WORKER-TIMEOUT",
                      "处理超过 %s 秒仍未完成，已停止这份文件（其余文件照常处理）", detail);
        else
            fail_item(r, (size_t)i, "WORKER-CRASH",
                      "处理这份文件时工作进程意外终止（%s），已跳过（其余文件照常处理）", detail);
    }
    /* A worker killed while writing may leave its temporary file. */
    sweep(r);
}

static int busy(const run *r)
{
    for (size_t k = 0; k < r->nw; k++)
        if (r->w[k].pid && r->w[k].current >= 0)
            return 1;
    return 0;
}

static void dispatch(run *r, worker *w)
{
    size_t i = r->next++;
    unsigned char msg[5] = {'T'};
    ipf_wr32(msg + 1, (uint32_t)i);
    w->current = (long)i;
    w->deadline = now_s() + timeout_of(r);
    r->items[i].state = ITEM_RUNNING;
    if (ipf_write_all(w->task_fd, msg, sizeof msg) != 0)
        lost_worker(r, w, 0, 0);
}

static void parallel(run *r)
{
    struct pollfd *pf = calloc(r->nw, sizeof *pf);
    if (!pf) {
        /* No worker then: sequential() does the inputs here (r->oom would
         * refuse every output claim there, naming no earlier file). */
        return;
    }
    while (r->emitted < r->n) {
        int stopping = stop_signals > 0;
        if (stop_signals >= 2)
            for (size_t k = 0; k < r->nw; k++)
                if (r->w[k].pid)
                    kill(r->w[k].pid, SIGKILL);
        for (size_t k = 0; k < r->nw && !stopping; k++) {
            worker *w = &r->w[k];
            if (!w->pid && r->next < r->n && spawn(r, w) != 0)
                continue;
            if (w->pid && w->current < 0 && r->next < r->n)
                dispatch(r, w);
        }
        int alive = 0;
        for (size_t k = 0; k < r->nw; k++)
            alive |= r->w[k].pid > 0;
        if (!alive && !stopping) {
            /* No worker (could be started, or one was lost and none is
             * left): what finished is reported, the rest is done here. */
            emit_ready(r);
            break;
        }
        if (stopping && !busy(r)) {
            for (size_t i = r->next; i < r->n; i++) {
                r->items[i].not_done = 1;
                finish_item(r, i, IPF_ERR_INTERNAL, NULL, NULL);
            }
            r->next = r->n;
            emit_ready(r);
            break;
        }
        if (!busy(r) && r->next >= r->n) {
            emit_ready(r);
            if (r->emitted < r->n && !busy(r)) {
                /* Workers could not be started at all: do the rest here. */
                break;
            }
            continue;
        }
        size_t np = 0;
        double t = now_s(), wait = 0.2;
        for (size_t k = 0; k < r->nw; k++) {
            worker *w = &r->w[k];
            if (!w->pid)
                continue;
            pf[np].fd = w->res_fd;
            pf[np].events = POLLIN;
            pf[np].revents = 0;
            np++;
            if (w->current >= 0 && !w->claiming && w->deadline - t < wait)
                wait = w->deadline - t;
        }
        int pr = poll(pf, np, wait > 0 ? (int)(wait * 1000) + 1 : 0);
        if (pr < 0 && errno != EINTR)
            break;
        np = 0;
        for (size_t k = 0; k < r->nw; k++) {
            worker *w = &r->w[k];
            if (!w->pid)
                continue;
            short rev = pf[np++].revents;
            int m = pr > 0 && (rev & (POLLIN | POLLHUP | POLLERR)) ? on_message(r, w) : 0;
            if (m != 0)
                lost_worker(r, w, 0, m == -2);
        }
        answer_claims(r);
        t = now_s();
        for (size_t k = 0; k < r->nw; k++) {
            worker *w = &r->w[k];
            if (w->pid && w->current >= 0 && !w->claiming && t > w->deadline)
                lost_worker(r, w, 1, 0);
        }
        answer_claims(r);
        emit_ready(r);
    }
    for (size_t k = 0; k < r->nw; k++)
        if (r->w[k].pid)
            reap(&r->w[k], NULL);
    free(pf);
}

typedef struct local_claim {
    run *r;
    size_t index;
} local_claim;

/* In this process every earlier input is settled: the table decides. */
static int in_process_claim(void *ctx, const char *path, ipf_diags *d)
{
    local_claim *c = ctx;
    /* Once memory has run out the table may lack names: nothing more is
     * granted (and a key claim_add would keep must not be freed here). */
    char *key = c->r->oom ? NULL : claim_key(path);
    size_t earlier = (size_t)-1;
    if (key) {
        earlier = claim_add(&c->r->cl, key, c->index, &c->r->oom);
        if (earlier == (size_t)-1 && !c->r->oom)
            return 0; /* the table owns key */
        free(key);    /* not added */
    }
    if (earlier == (size_t)-1) {
        c->r->oom = 1;
        ipf_diag_add(
            d, c->r->inputs[c->index], 0, IPF_SEV_ERROR, "NOMEM",
            "内存不足，未能核对输出文件名是否与同批文件重复，这份未生成；请关闭其他程序后重试");
        return -1;
    }
    char *pp = ipf_printable(path);
    char *po = ipf_printable(earlier != (size_t)-1 ? c->r->inputs[earlier] : "?");
    ipf_diag_add(d, c->r->inputs[c->index], 0, IPF_SEV_ERROR, "OUTPUT-COLLISION",
                 "输出文件“%s”已属于同一批中先列出的“%s”，为免覆盖，这份未生成（可用 "
                 "--name 按数据命名，或分别指定输出目录）",
                 pp ? pp : "?", po ? po : "?");
    free(pp);
    free(po);
    return -1;
}

/* The rest, one by one in this process (one input, or no fork possible). */
static void sequential(run *r)
{
    for (size_t i = r->next; i < r->n; i++) {
        if (stop_signals) {
            r->items[i].not_done = 1;
            finish_item(r, i, IPF_ERR_INTERNAL, NULL, NULL);
            continue;
        }
        ipf_diags *d = ipf_diags_new();
        ipf_status st;
        char *written = NULL;
        if (!d) {
            st = IPF_ERR_NOMEM;
            char *p = ipf_printable(r->inputs[i]); /* no sink to say it through */
            fprintf(r->o->err, "%s: error NOMEM 内存不足，这份文件未能处理；请关闭其他程序后重试\n",
                    p ? p : "ipforms");
            free(p);
        } else if (r->o->render) {
            ipf_render_request rq;
            memset(&rq, 0, sizeof rq);
            rq.input = r->inputs[i];
            rq.out_dir = r->o->out_dir;
            rq.name_pattern = r->o->name_pattern;
            local_claim lc = {r, i};
            rq.claim = in_process_claim;
            rq.claim_ctx = &lc;
            rq.no_sync = r->n > 1;
            st = ipf_engine_render_request(r->e, &rq, d);
            written = rq.written;
        } else {
            st = ipf_engine_validate(r->e, r->inputs[i], d);
        }
        st = say_nomem(st, r->inputs[i], d);
        finish_item(r, i, st, written, d);
        r->next = i + 1;
        emit_ready(r);
    }
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void summary(run *r)
{
    ipf_batch_result *s = r->res;
    int problems = s->invalid || s->failed || s->not_done;
    if (r->n < 2 || (r->o->quiet && !problems))
        return;
    FILE *e = r->o->err;
    if (r->o->render)
        fprintf(e, "ipforms: 共 %zu 份：已生成 %zu，数据有误 %zu，失败 %zu", s->total, s->ok,
                s->invalid, s->failed);
    else
        fprintf(e, "ipforms: 共 %zu 份：通过 %zu，数据有误 %zu，失败 %zu", s->total, s->ok,
                s->invalid, s->failed);
    if (s->not_done)
        fprintf(e, "，因中断未处理 %zu", s->not_done);
    fputs("\n", e);
}

ipf_status ipf_batch_run(ipf_engine *e, const ipf_batch_options *o, char *const *inputs, size_t n,
                         ipf_batch_result *res)
{
    memset(res, 0, sizeof *res);
    res->total = n;
    run r;
    memset(&r, 0, sizeof r);
    r.e = e;
    r.o = o;
    r.inputs = inputs;
    r.n = n;
    r.res = res;
    r.items = calloc(n ? n : 1, sizeof *r.items);
    int jobs = o->jobs > 0 ? o->jobs : cores();
    r.nw = (size_t)jobs < n ? (size_t)jobs : n;
    r.w = calloc(r.nw ? r.nw : 1, sizeof *r.w);
    if (!r.items || !r.w) {
        free(r.items);
        free(r.w);
        return IPF_ERR_NOMEM;
    }
    int tty = isatty(fileno(o->err));
    r.progress = n > 1 && (o->progress > 0 || (o->progress < 0 && tty));
    r.per_file = !o->quiet && !(r.progress && isatty(fileno(o->out)));
    r.start = now_s();
    if (o->render) {
        collect_dirs(&r);
        sweep(&r);
    }
    /* One input keeps the default actions: Ctrl-C stops it at once, and
     * the write itself holds signals back (atomic.h).  A batch finishes
     * what it has in hand and reports the rest.  A lost worker's pipe must
     * give EPIPE, not kill the batch. */
    stop_signals = 0;
    struct sigaction sa, ign, old_int, old_term, old_hup, old_pipe;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = n > 1 ? on_stop : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old_pipe);
    sigaction(SIGINT, n > 1 ? &sa : NULL, &old_int);
    sigaction(SIGTERM, n > 1 ? &sa : NULL, &old_term);
    sigaction(SIGHUP, n > 1 ? &sa : NULL, &old_hup);
    if (n > 1) {
        /* Load what the first document needs before forking, so that the
         * workers share it; template problems are printed once, here. */
        ipf_diags *d = ipf_diags_new();
        ipf_engine_prepare(e, inputs[0], d);
        ipf_diags_print(d, o->err);
        ipf_diags_free(d);
    }
    /* Even one input goes to a worker process: the time limit can only
     * stop a worker.  The input is done here when no worker can start. */
    parallel(&r);
    sequential(&r);
    if (r.progress) {
        /* The last state stays on the screen, above the summary. */
        show_progress(&r, 1);
        fputc('\n', o->err);
    }
    if (o->render && n > 1 && res->ok + res->invalid > 0) {
        /* Durability for the whole batch at once (docs/batch.md). */
        ipf_diags *d = ipf_diags_new();
        if (ipf_sync_dirs((const char *const *)r.dirs.v, r.dirs.n, d) != IPF_OK) {
            ipf_diags_print(d, o->err);
            res->failed += res->ok;
            res->ok = 0;
        }
        ipf_diags_free(d);
    }
    if (o->render)
        sweep(&r);
    ipf_status st = IPF_OK;
    if (o->combine_path && o->render) {
        ipf_diags *d = ipf_diags_new();
        const char **in = calloc(n ? n : 1, sizeof *in);
        const char **titles = calloc(n ? n : 1, sizeof *titles);
        size_t k = 0;
        for (size_t i = 0; in && titles && i < n; i++)
            if (r.items[i].written && !r.items[i].not_done) {
                in[k] = inputs[i];
                titles[k++] = r.items[i].written;
            }
        ipf_status cs =
            in && titles ? ipf_engine_combine(e, in, titles, k, o->combine_path, d) : IPF_ERR_NOMEM;
        ipf_diags_print(d, o->err);
        ipf_diags_free(d);
        free(in);
        free(titles);
        if (cs != IPF_OK)
            st = cs;
    }
    if (o->report_path) {
        ipf_diags *d = ipf_diags_new();
        ipf_chunk c = {r.report.p, r.report.len};
        if (r.report.oom ||
            ipf_atomic_write_kind(o->report_path, IPF_FILE_OTHER, &c, 1, 1, d) != IPF_OK)
            st = IPF_ERR_IO;
        ipf_diags_print(d, o->err);
        ipf_diags_free(d);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    summary(&r);
    res->exit_code = res->failed || res->not_done || st != IPF_OK ? 2 : res->invalid ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        ipf_diags_free(r.items[i].diags);
        free(r.items[i].written);
        free(r.items[i].claim_key);
    }
    for (size_t i = 0; i < r.cl.cap; i++)
        free(r.cl.key ? r.cl.key[i] : NULL);
    free(r.cl.key);
    free(r.cl.owner);
    for (size_t i = 0; i < r.dirs.n; i++)
        free(r.dirs.v[i]);
    free(r.dirs.v);
    ipf_buf_free(&r.report);
    free(r.items);
    free(r.w);
    if (r.oom && st == IPF_OK)
        st = IPF_ERR_NOMEM;
    return st;
}
