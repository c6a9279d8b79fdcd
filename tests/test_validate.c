/* test_validate.c: validation through the library's front door (ipforms.h).
 *
 * Usage: test_validate CASE|all
 *   valid  both national samples give IPF_OK and not a single diagnostic;
 *   many   one document with problems in five parts of the form (structure
 *          and rules, errors and a warning) reports every one of them at
 *          once, each with its code, severity and the offending element's
 *          line — a clerk fixes them in one pass, not one per run.
 *
 * The templates and samples are the repository's (IPF_SOURCE_DIR, set by
 * tests/cmake/validate.cmake).  The multi-problem document is the realistic
 * sample with a few edits, written to a temporary directory that is removed
 * again. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "ipforms.h"

#ifndef IPF_SOURCE_DIR
#define IPF_SOURCE_DIR "."
#endif

#include "check.h"

static ipf_engine *new_engine(ipf_diags *d)
{
    ipf_engine_options opt = {.templates_dir = IPF_SOURCE_DIR "/templates", .date = -1};
    ipf_engine *e = NULL;
    ipf_status st = ipf_engine_new(&opt, d, &e);
    EXPECT(st == IPF_OK && e, "ipf_engine_new: %s", ipf_status_str(st));
    return st == IPF_OK ? e : NULL;
}

static void dump(const ipf_diags *d)
{
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        char *s = ipf_diag_format(ipf_diags_get(d, i));
        fprintf(stderr, "  | %s\n", s ? s : "?");
        free(s);
    }
}

/* ------------------------------------------------------------ valid */

static void case_valid(void)
{
    static const char *const samples[] = {
        IPF_SOURCE_DIR "/samples/national-filing/chongqing-university-library.xml",
        IPF_SOURCE_DIR "/samples/national-filing/annotated.xml",
    };
    ipf_diags *d = ipf_diags_new();
    ipf_engine *e = d ? new_engine(d) : NULL;
    for (size_t i = 0; e && i < sizeof samples / sizeof *samples; i++) {
        ipf_diags_clear(d);
        ipf_status st = ipf_engine_validate(e, samples[i], d);
        EXPECT(st == IPF_OK, "%s: status %s", samples[i], ipf_status_str(st));
        EXPECT(ipf_diags_count(d) == 0, "%s: %zu diagnostics, expected none", samples[i],
               ipf_diags_count(d));
        if (ipf_diags_count(d))
            dump(d);
    }
    ipf_engine_free(e);
    ipf_diags_free(d);
}

/* ------------------------------------------------------------ many */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Replaces the one occurrence of old by new in *text (a test of the sample
 * itself: the edit must hit exactly one place). */
static int edit(char **text, const char *old, const char *new)
{
    char *at = strstr(*text, old);
    if (!at || strstr(at + 1, old)) {
        EXPECT(0, "the sample should contain “%s” exactly once", old);
        return -1;
    }
    size_t before = (size_t)(at - *text), ol = strlen(old), nl = strlen(new);
    size_t rest = strlen(at + ol);
    char *out = malloc(before + nl + rest + 1);
    if (!out)
        return -1;
    memcpy(out, *text, before);
    memcpy(out + before, new, nl);
    memcpy(out + before + nl, at + ol, rest + 1);
    free(*text);
    *text = out;
    return 0;
}

/* The 1-based line on which needle first occurs. */
static long line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at)
        return -1;
    long line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

typedef struct want {
    const char *needle; /* the edited text, whose line the diagnostic must name */
    ipf_severity sev;
    const char *code;
    const char *in_message; /* a piece of the message the clerk must see */
} want;

static void case_many(void)
{
    char *text =
        read_all(IPF_SOURCE_DIR "/samples/national-filing/chongqing-university-library.xml");
    EXPECT(text != NULL, "the sample cannot be read");
    if (!text)
        return;
    int bad = 0;
    /* 封面: 备案机构 left empty; 填报日期 written the Chinese way. */
    bad |= edit(&text, "<applicant>重庆嘉陵科技大学</applicant>", "<applicant></applicant>");
    bad |= edit(&text, "<date>2024-08-26</date>", "<date>2024年8月26日</date>");
    /* 一: a phone number that is none; 4 专职 (below 5, and 9 ≠ 4 + 3, and the
     * six 专职 of 三 are now too many). */
    bad |= edit(&text, "<phone>023-65102386、023-65102388转8012</phone>", "<phone>12345</phone>");
    bad |= edit(&text, "<staff total=\"9\" full-time=\"6\" part-time=\"3\"/>",
                "<staff total=\"9\" full-time=\"4\" part-time=\"3\"/>");
    /* 五: the only 基础服务 case loses its kind. */
    bad |= edit(&text, "<case kind=\"基础服务\">", "<case>");
    if (bad) {
        free(text);
        return;
    }
    const want wants[] = {
        {"<applicant></applicant>", IPF_SEV_ERROR, "NAT-REQ-APPLICANT", "“备案机构”未填写"},
        {"<date>2024年8月26日</date>", IPF_SEV_ERROR, "SCHEMA-TYPE", "2024年8月26日"},
        {"<phone>12345</phone>", IPF_SEV_ERROR, "NAT-PHONE", "现为“12345”"},
        {"<staff ", IPF_SEV_ERROR, "NAT-STAFF-FULL-TIME-MIN", "专职服务人员数量为4人，应不少于5人"},
        {"<staff ", IPF_SEV_ERROR, "NAT-STAFF-SUM", "（9人）"},
        {"<team>", IPF_SEV_WARNING, "NAT-TEAM-FULL-TIME-EXCESS", "列出专职人员6人"},
        {"<cases>", IPF_SEV_ERROR, "NAT-CASE-BASIC", "“基础服务”类典型案例有0个"},
        {"<case>", IPF_SEV_ERROR, "NAT-REQ-CASE-KIND", "未注明类别"},
    };
    const size_t nwants = sizeof wants / sizeof *wants;

    char dir[] = "/tmp/ipf-test-validate-XXXXXX";
    char path[sizeof dir + 32];
    if (!mkdtemp(dir)) {
        EXPECT(0, "mkdtemp failed");
        free(text);
        return;
    }
    snprintf(path, sizeof path, "%s/many.xml", dir);
    FILE *f = fopen(path, "wb");
    EXPECT(f && fputs(text, f) >= 0 && fclose(f) == 0, "cannot write %s", path);

    ipf_diags *d = ipf_diags_new();
    ipf_engine *e = d ? new_engine(d) : NULL;
    if (e) {
        ipf_status st = ipf_engine_validate(e, path, d);
        EXPECT(st == IPF_INVALID, "status %s, expected IPF_INVALID", ipf_status_str(st));
        ipf_diags_sort(d);
        EXPECT(ipf_diags_count(d) == nwants, "%zu diagnostics, expected %zu (all at once)",
               ipf_diags_count(d), nwants);
        EXPECT(ipf_diags_errors(d) == nwants - 1 && ipf_diags_warnings(d) == 1,
               "%zu errors and %zu warnings, expected %zu and 1", ipf_diags_errors(d),
               ipf_diags_warnings(d), nwants - 1);
        for (size_t i = 0; i < nwants; i++) {
            long line = line_of(text, wants[i].needle);
            int found = 0;
            for (size_t k = 0; k < ipf_diags_count(d) && !found; k++) {
                const ipf_diag *g = ipf_diags_get(d, k);
                found = strcmp(g->code, wants[i].code) == 0 && g->line == line &&
                        g->severity == wants[i].sev && strcmp(g->file, path) == 0 &&
                        strstr(g->message, wants[i].in_message) != NULL;
            }
            EXPECT(found, "%s %s on line %ld (the line of “%s”) saying “%s”",
                   wants[i].sev == IPF_SEV_ERROR ? "error" : "warning", wants[i].code, line,
                   wants[i].needle, wants[i].in_message);
        }
        /* Sorted by line: the clerk reads them in the order of the form. */
        for (size_t k = 1; k < ipf_diags_count(d); k++)
            EXPECT(ipf_diags_get(d, k - 1)->line <= ipf_diags_get(d, k)->line,
                   "diagnostics in line order");
        if (case_failed)
            dump(d);
    }
    ipf_engine_free(e);
    ipf_diags_free(d);
    unlink(path);
    rmdir(dir);
    EXPECT(access(dir, F_OK) != 0, "%s left behind", dir);
    free(text);
}

/* ------------------------------------------------------------ main */

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {{"valid", case_valid}, {"many", case_many}};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_validate CASE|all\n");
        return 2;
    }
    int passed = 0, failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (strcmp(argv[1], "all") != 0 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        ran = 1;
        case_failed = 0;
        cases[i].fn();
        printf("%s %s\n", case_failed ? "FAIL" : "ok  ", cases[i].name);
        if (case_failed)
            failed++;
        else
            passed++;
    }
    if (!ran) {
        fprintf(stderr, "test_validate: unknown case %s\n", argv[1]);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
