/* diag.c: the diagnostics sink. */
#include "diag.h"
#include "buf.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ipf_diags {
    ipf_diag *items;
    size_t *rank; /* per item: the index of its file in files */
    size_t n, cap;
    size_t errors, warnings;
    int oom;
    /* Order in which files were first seen, so sorting keeps files apart
     * without reordering them alphabetically. */
    char **files;
    size_t nfiles, capfiles;
};

const char *ipf_status_str(ipf_status st)
{
    switch (st) {
    case IPF_OK:
        return "成功";
    case IPF_INVALID:
        return "数据不符合要求";
    case IPF_ERR_USAGE:
        return "用法错误";
    case IPF_ERR_IO:
        return "读写文件失败";
    case IPF_ERR_NOMEM:
        return "内存不足";
    case IPF_ERR_TEMPLATE:
        return "模板、结构定义或规则文件有误";
    case IPF_ERR_FONT:
        return "字体无法加载";
    case IPF_ERR_PDF:
        return "生成 PDF 失败";
    case IPF_ERR_INTERNAL:
        return "内部错误";
    }
    return "未知状态";
}

int ipf_status_exit_code(ipf_status st)
{
    if (st == IPF_OK)
        return 0;
    if (st == IPF_INVALID)
        return 1;
    return 2;
}

ipf_diags *ipf_diags_new(void)
{
    return calloc(1, sizeof(ipf_diags));
}

void ipf_diags_clear(ipf_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->items[i].code);
        free((char *)d->items[i].message);
    }
    d->n = 0;
    d->errors = d->warnings = 0;
    d->oom = 0;
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    d->nfiles = 0;
}

void ipf_diags_free(ipf_diags *d)
{
    if (!d)
        return;
    ipf_diags_clear(d);
    free(d->items);
    free(d->rank);
    free(d->files);
    free(d);
}

/* The length of the clean character at p: valid UTF-8 that is not a control
 * character (C0, DEL, C1) nor a line or paragraph separator; 0 otherwise. */
static size_t clean_char(const char *p)
{
    const char *q = p;
    uint32_t cp;
    if (ipf_utf8_next(&q, &cp) != 0)
        return 0;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029)
        return 0;
    return (size_t)(q - p);
}

/* libxml2 quotes raw input bytes in its messages; a message that is printed
 * to a terminal or parsed by a script must stay one line of valid UTF-8 (a
 * quoted newline would forge a further "file:line: error" line, a quoted
 * escape byte would talk to the terminal), so malformed bytes and the bytes
 * of control characters become "\xNN".  Returns a new string or NULL when
 * out of memory. */
static char *valid_utf8(char *msg)
{
    size_t bad = 0;
    for (const char *p = msg; *p;) {
        size_t n = clean_char(p);
        if (n == 0) {
            bad++;
            n = 1;
        }
        p += n;
    }
    if (bad == 0)
        return msg;
    char *out = malloc(strlen(msg) + bad * 3 + 1), *o = out;
    if (!out) {
        free(msg);
        return NULL;
    }
    for (const char *p = msg; *p;) {
        size_t n = clean_char(p);
        if (n == 0) {
            static const char hex[] = "0123456789ABCDEF";
            unsigned char b = (unsigned char)*p++;
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[b >> 4];
            *o++ = hex[b & 15];
        } else {
            memcpy(o, p, n);
            o += n;
            p += n;
        }
    }
    *o = '\0';
    free(msg);
    return out;
}

/* File names are interned: diagnostics point at one copy per file.  A name
 * is escaped like a message: an applicant's attachment may be called
 * "a<newline>b.xml: error …", which would otherwise forge a diagnostic line.
 * A sink usually holds one document's diagnostics, all about one or two
 * files, so the last file is tried first. */
static const char *intern_file(ipf_diags *d, const char *file, size_t *rank)
{
    char *copy = strdup(file);
    if (copy)
        copy = valid_utf8(copy);
    if (!copy)
        return NULL;
    for (size_t k = d->nfiles; k > 0; k--)
        if (strcmp(d->files[k - 1], copy) == 0) {
            free(copy);
            *rank = k - 1;
            return d->files[k - 1];
        }
    if (IPF_GROW(d->files, d->capfiles, d->nfiles + 1) < 0) {
        free(copy);
        return NULL;
    }
    *rank = d->nfiles;
    d->files[d->nfiles++] = copy;
    return copy;
}

char *ipf_printable(const char *s)
{
    char *copy = strdup(s ? s : "");
    return copy ? valid_utf8(copy) : NULL;
}

void ipf_diag_vadd(ipf_diags *d, const char *file, long line, ipf_severity sev, const char *code,
                   const char *fmt, va_list ap)
{
    if (!d)
        return;
    /* items and rank grow side by side */
    size_t capitems = d->cap, caprank = d->cap;
    if (IPF_GROW(d->items, capitems, d->n + 1) < 0 || IPF_GROW(d->rank, caprank, d->n + 1) < 0) {
        d->oom = 1;
        return;
    }
    d->cap = capitems;
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    char *msg = len >= 0 ? malloc((size_t)len + 1) : NULL;
    char *c = strdup(code ? code : "UNKNOWN");
    size_t rank = 0;
    const char *f = intern_file(d, file ? file : "-", &rank);
    if (!msg || !c || !f) {
        free(msg);
        free(c);
        d->oom = 1;
        return;
    }
    vsnprintf(msg, (size_t)len + 1, fmt, ap);
    msg = valid_utf8(msg);
    if (!msg) {
        free(c);
        d->oom = 1;
        return;
    }
    d->rank[d->n] = rank;
    ipf_diag *g = &d->items[d->n++];
    g->file = f;
    g->line = line < 0 ? 0 : line;
    g->severity = sev;
    g->code = c;
    g->message = msg;
    if (sev == IPF_SEV_ERROR)
        d->errors++;
    else
        d->warnings++;
}

void ipf_diag_add(ipf_diags *d, const char *file, long line, ipf_severity sev, const char *code,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ipf_diag_vadd(d, file, line, sev, code, fmt, ap);
    va_end(ap);
}

size_t ipf_diags_count(const ipf_diags *d)
{
    return d ? d->n : 0;
}

const ipf_diag *ipf_diags_get(const ipf_diags *d, size_t i)
{
    return d && i < d->n ? &d->items[i] : NULL;
}

size_t ipf_diags_errors(const ipf_diags *d)
{
    return d ? d->errors : 0;
}

size_t ipf_diags_warnings(const ipf_diags *d)
{
    return d ? d->warnings : 0;
}

int ipf_diags_oom(const ipf_diags *d)
{
    return d ? d->oom : 0;
}

/* Merge sort on (file rank, line): stable and O(n log n), for a sink that
 * gathers a whole run (a library caller's) as well as for one document. */
static int before(const ipf_diags *d, size_t a, size_t b)
{
    if (d->rank[a] != d->rank[b])
        return d->rank[a] < d->rank[b];
    return d->items[a].line < d->items[b].line;
}

void ipf_diags_sort(ipf_diags *d)
{
    size_t n = d ? d->n : 0;
    if (n < 2)
        return;
    size_t *idx = malloc(2 * n * sizeof *idx);
    ipf_diag *items = malloc(n * sizeof *items);
    size_t *rank = malloc(n * sizeof *rank);
    if (!idx || !items || !rank) {
        /* Unsorted is still every diagnostic: better than none. */
        free(idx);
        free(items);
        free(rank);
        return;
    }
    size_t *a = idx, *b = idx + n;
    for (size_t i = 0; i < n; i++)
        a[i] = i;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = before(d, a[j], a[i]) ? a[j++] : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
        }
        size_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = d->items[a[i]];
        rank[i] = d->rank[a[i]];
    }
    memcpy(d->items, items, n * sizeof *items);
    memcpy(d->rank, rank, n * sizeof *rank);
    free(idx);
    free(items);
    free(rank);
}

char *ipf_diag_format(const ipf_diag *g)
{
    const char *sev = g->severity == IPF_SEV_ERROR ? "error" : "warning";
    char lineno[32] = "";
    if (g->line > 0)
        snprintf(lineno, sizeof lineno, ":%ld", g->line);
    size_t len =
        strlen(g->file) + strlen(lineno) + strlen(sev) + strlen(g->code) + strlen(g->message) + 8;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s: %s %s %s", g->file, lineno, sev, g->code, g->message);
    return s;
}

/* Whether item i repeats an earlier one word for word.  A base template that
 * several forms extend is loaded once per form, and its mistakes would
 * otherwise be printed once per form.  After sorting, repeats are among the
 * items just before i with the same file and line. */
static int repeated(const ipf_diags *d, size_t i)
{
    const ipf_diag *g = &d->items[i];
    for (size_t j = i; j-- > 0;) {
        const ipf_diag *p = &d->items[j];
        if (p->file != g->file || p->line != g->line)
            return 0;
        if (p->severity == g->severity && strcmp(p->code, g->code) == 0 &&
            strcmp(p->message, g->message) == 0)
            return 1;
    }
    return 0;
}

void ipf_diags_print(const ipf_diags *d, FILE *out)
{
    size_t lost = 0; /* lines that could not be formatted (no memory) */
    for (size_t i = 0; d && i < d->n; i++) {
        if (repeated(d, i))
            continue;
        char *s = ipf_diag_format(&d->items[i]);
        if (s) {
            fputs(s, out);
            fputc('\n', out);
            free(s);
        } else {
            lost++;
        }
    }
    if (lost)
        fprintf(out,
                "ipforms: error NOMEM 内存不足，%zu 条诊断信息未能显示；请关闭其他程序后重试\n",
                lost);
    if (d && d->oom)
        fputs("ipforms: error NOMEM 内存不足，部分诊断信息未能记录\n", out);
}
