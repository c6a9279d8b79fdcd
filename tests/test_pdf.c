/* test_pdf.c: the display list and the PDF writer.
 *
 * Usage: test_pdf CASE|all
 * Drawings are built directly (no templates), written with the writer and
 * checked with poppler's and qpdf's command-line tools, which is what an
 * office's software will see.  A case whose tools are missing is skipped
 * (exit 77).  Output: one line per case, then "N passed, N failed".
 *
 * The font is the repository's fonts/FandolFang-Regular.ttf (IPF_FONTS_DIR,
 * set by tests/cmake/pdf.cmake); $IPF_TEST_FONT overrides it. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <zlib.h>

#include "drawing.h"
#include "fontset.h"
#include "pdf.h"
#include "pdf_font.h"
#include "version.h"

#ifndef IPF_FONTS_DIR
#define IPF_FONTS_DIR "fonts"
#endif

#define SKIP 77

#include "check.h"
static char tmpdir[256];

/* ------------------------------------------------------------ helpers */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *q = realloc(b, cap * 2 + 1);
            if (!q) {
                free(b);
                b = NULL;
                break;
            }
            b = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static int write_bytes(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(s, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static char *path_in(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

/* Runs a shell command; stdout and stderr go to files, returned malloc'd. */
static int run(const char *cmd, char **out, char **err)
{
    char full[2048];
    snprintf(full, sizeof full, "%s >%s/cmd.out 2>%s/cmd.err", cmd, tmpdir, tmpdir);
    int rc = system(full);
    if (out)
        *out = read_all(path_in("cmd.out"), NULL);
    if (err)
        *err = read_all(path_in("cmd.err"), NULL);
    return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int have_tool(const char *name)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* Runs a tool on the file name of the temporary directory; fmt holds one %s,
 * for its path.  The tool's stdout and stderr as run() returns them. */
static int tool_on(const char *fmt, const char *name, char **out, char **err)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, fmt, path_in(name));
    return run(cmd, out, err);
}

static size_t count_files(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* Where needle first occurs in the n bytes at hay (which may hold NULs). */
static const char *find_bytes(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; hay && k <= n && i <= n - k; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

static int contains(const char *hay, size_t n, const char *needle)
{
    return find_bytes(hay, n, needle) != NULL;
}

/* pdftotext output without its layout: the non-empty lines joined by '|',
 * pages by '#' ("a|b#c|d#").  Blank lines between blocks are poppler's
 * choice and differ between versions; text and order are what count. */
static char *text_lines(const char *out)
{
    size_t n = out ? strlen(out) : 0, o = 0;
    char *r = malloc(n + 2);
    if (!r)
        return NULL;
    int at_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        if (c == '\n') {
            if (!at_start)
                r[o++] = '|';
            at_start = 1;
        } else if (c == '\f') {
            if (o && r[o - 1] == '|')
                o--;
            r[o++] = '#';
            at_start = 1;
        } else {
            r[o++] = c;
            at_start = 0;
        }
    }
    r[o] = '\0';
    return r;
}

static int has_diag(ipf_diags *d, const char *code, const char *needle)
{
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (strcmp(g->code, code) == 0 && (!needle || strstr(g->message, needle)))
            return 1;
    }
    return 0;
}

static const char *font_path(void)
{
    const char *e = getenv("IPF_TEST_FONT");
    return e && *e ? e : IPF_FONTS_DIR "/FandolFang-Regular.ttf";
}

/* A fontset and writer over the test font (twice when two is set, to have
 * a second font index). */
typedef struct env {
    ipf_diags *d;
    ipf_fontset *fs;
    ipf_pdf_writer *w;
} env;

static int env_open(env *e, int two)
{
    const char *p[2] = {font_path(), font_path()};
    e->d = ipf_diags_new();
    e->fs = NULL;
    e->w = NULL;
    if (ipf_fontset_open(p, two ? 2 : 1, e->d, &e->fs) != IPF_OK ||
        ipf_pdf_writer_new(e->fs, e->d, &e->w) != IPF_OK) {
        ipf_diags_print(e->d, stderr);
        return -1;
    }
    return 0;
}

static void env_close(env *e)
{
    ipf_pdf_writer_free(e->w);
    ipf_fontset_free(e->fs);
    ipf_diags_free(e->d);
}

static const char *const form_lines[] = {
    "国家知识产权信息公共服务网点备案表",
    "机构名称：重庆大学图书馆（知识产权信息服务中心）",
    "联系电话：023-65102345，邮箱：ip@cqu.edu.cn",
    "服务对象：高校师生、科研院所、中小微企业。",
};

static void add_text(ipf_drawing *dr, double x, double y, int font, int bold, const char *s)
{
    ipf_drawing_text(dr, x, y, font, 14, 0, bold, s, strlen(s));
}

/* The form most cases use: two A4 pages of text, rules, a table frame,
 * check boxes, outlines and info. */
static ipf_drawing *sample_drawing(void)
{
    ipf_drawing *dr = ipf_drawing_new();
    ipf_drawing_add_page(dr, 595.276, 841.89);
    ipf_drawing_outline(dr, 0, "一、机构基本情况", 780);
    add_text(dr, 72, 780, 0, 1, form_lines[0]);
    for (int i = 1; i < 4; i++) {
        add_text(dr, 72, 780 - 28.0 * i, 0, 0, form_lines[i]);
        ipf_drawing_line(dr, 70, 776 - 28.0 * i, 525, 776 - 28.0 * i, 0.5);
    }
    ipf_drawing_rect(dr, 66, 640, 463, 160, 0.75);
    ipf_drawing_checkbox(dr, 72, 600, 14.7, 14, 1);
    add_text(dr, 86.7, 600, 0, 0, "基础服务");
    ipf_drawing_checkbox(dr, 172, 600, 14.7, 14, 0);
    add_text(dr, 186.7, 600, 0, 0, "特色服务");
    ipf_drawing_outline(dr, 1, "（一）联系方式", 724);
    ipf_drawing_add_page(dr, 595.276, 841.89);
    ipf_drawing_outline(dr, 0, "二、工作基础和优势特点", 780);
    add_text(dr, 72, 780, 0, 0, "二、工作基础和优势特点（不超过1000字）");
    ipf_drawing_set_info(dr, "Title", "国家知识产权信息公共服务网点备案表");
    ipf_drawing_set_info(dr, "Author", "重庆大学图书馆");
    ipf_drawing_set_info(dr, "Subject", "备案申请 & 审核");
    ipf_drawing_set_info(dr, "Keywords", "知识产权, 网点");
    return dr;
}

static ipf_status write_pdf(env *e, const ipf_drawing *dr, long long date, int pdfa,
                            const char *name)
{
    ipf_pdf_options o = {date, pdfa};
    return ipf_pdf_write_file(e->w, dr, &o, path_in(name), e->d);
}

/* ------------------------------------------------------------ cases */

static int case_drawing(env *unused_env, ipf_drawing *unused)
{
    (void)unused_env;
    (void)unused;
    ipf_drawing *dr = ipf_drawing_new();
    EXPECT(ipf_drawing_text(dr, 1, 2, 0, 14, 0, 0, "x", 1) < 0, "text before any page");
    EXPECT(ipf_drawing_outline(dr, 0, "x", 1) < 0, "outline before any page");
    EXPECT(ipf_drawing_add_page(dr, 595, 842) == 0, "first page index");
    EXPECT(ipf_drawing_add_page(dr, 842, 595) == 1, "second page index");
    const char *s = "四号仿宋";
    EXPECT(ipf_drawing_text(dr, 10, 20, 0, 14, 0.5, 1, s, strlen(s)) == 0, "text");
    size_t n;
    const ipf_draw_item *it = ipf_drawing_items(dr, 1, &n);
    EXPECT(n == 1, "one item on page 2, got %zu", n);
    const char *first = it[0].text;
    EXPECT(it[0].len == strlen(s) && memcmp(first, s, it[0].len) == 0 && first != s, "copied");
    /* thousands more: the first text pointer must survive every regrowth */
    char buf[64];
    for (int i = 0; i < 20000; i++) {
        int len = snprintf(buf, sizeof buf, "第%d行", i);
        ipf_drawing_text(dr, 0, i, 0, 14, 0, 0, buf, (size_t)len);
        ipf_drawing_line(dr, 0, 0, i, i, 0.5);
    }
    it = ipf_drawing_items(dr, 1, &n);
    EXPECT(n == 40001, "items: %zu", n);
    EXPECT(it[0].text == first && strcmp(first, s) == 0, "text pointer stable");
    EXPECT(strcmp(it[39999].text, "第19999行") == 0, "last text: %s", it[39999].text);
    EXPECT(it[40000].kind == IPF_DRAW_LINE && it[40000].x2 == 19999, "last line");
    EXPECT(ipf_drawing_rect(dr, 1, 2, 3, 4, 0.75) == 0 &&
               ipf_drawing_checkbox(dr, 5, 6, 8, 7, 9) == 0,
           "rect, checkbox");
    it = ipf_drawing_items(dr, 1, &n);
    EXPECT(it[n - 2].kind == IPF_DRAW_RECT && it[n - 2].x2 == 3 && it[n - 2].y2 == 4, "rect");
    EXPECT(it[n - 1].kind == IPF_DRAW_CHECKBOX && it[n - 1].checked == 1 && it[n - 1].size == 7,
           "checkbox");
    /* hoisting: the last two items move before the rect, in their order */
    size_t at = ipf_drawing_mark(dr) - 2, from = ipf_drawing_mark(dr);
    EXPECT(ipf_drawing_line(dr, 1, 1, 2, 2, 0.5) == 0 && ipf_drawing_line(dr, 3, 3, 4, 4, 0.5) == 0,
           "two lines");
    EXPECT(ipf_drawing_hoist(dr, at, from) == 0, "hoist");
    it = ipf_drawing_items(dr, 1, &n);
    EXPECT(n == 40005 && it[n - 4].kind == IPF_DRAW_LINE && it[n - 4].x == 1 && it[n - 3].x == 3 &&
               it[n - 2].kind == IPF_DRAW_RECT && it[n - 1].kind == IPF_DRAW_CHECKBOX,
           "hoisted in order before the rect and check box");
    EXPECT(ipf_drawing_hoist(dr, from, at) < 0 && ipf_drawing_hoist(dr, at, from + 9) < 0,
           "marks out of order or past the end: refused");
    ipf_drawing_items(dr, 0, &n);
    EXPECT(n == 0, "page 1 empty");
    double w, h;
    ipf_drawing_page_size(dr, 1, &w, &h);
    EXPECT(w == 842 && h == 595, "page size");
    EXPECT(ipf_drawing_outline(dr, 1, "标题", 700) == 0, "outline");
    const ipf_outline_entry *o = ipf_drawing_outlines(dr, &n);
    EXPECT(n == 1 && o[0].page == 1 && o[0].level == 1 && strcmp(o[0].title, "标题") == 0,
           "outline entry");
    EXPECT(ipf_drawing_set_info(dr, "Title", "甲") == 0 &&
               ipf_drawing_set_info(dr, "Title", "乙") == 0,
           "info");
    EXPECT(strcmp(ipf_drawing_info(dr, "Title"), "乙") == 0, "info replaced");
    EXPECT(ipf_drawing_info(dr, "Author") == NULL, "unset info");
    EXPECT(ipf_drawing_set_info(dr, "Producer", "x") < 0, "unknown info key");
    EXPECT(ipf_drawing_text(dr, 0, 0, 0, 14, 0, 0, "", 0) == 0, "empty text still usable");
    EXPECT(ipf_drawing_page_count(dr) == 2, "pages");
    ipf_drawing_free(dr);
    ipf_drawing_free(NULL);
    return 0;
}

static int case_text(env *e, ipf_drawing *dr)
{
    EXPECT(write_pdf(e, dr, -1, 0, "text.pdf") == IPF_OK, "write");
    char *out, *err;
    EXPECT(tool_on("pdftotext %s -", "text.pdf", &out, &err) == 0, "pdftotext runs");
    const char *want = "国家知识产权信息公共服务网点备案表|"
                       "机构名称：重庆大学图书馆（知识产权信息服务中心）|"
                       "联系电话：023-65102345，邮箱：ip@cqu.edu.cn|"
                       "服务对象：高校师生、科研院所、中小微企业。|"
                       "☑基础服务|□特色服务#" /* check boxes are text */
                       "二、工作基础和优势特点（不超过1000字）#";
    char *got = text_lines(out);
    EXPECT(got && strcmp(got, want) == 0, "text extracted exactly, in reading order, got:\n%s",
           got ? got : "");
    free(got);
    EXPECT(err && err[0] == '\0', "no warnings from pdftotext, got: %s", err ? err : "");
    free(out);
    free(err);
    EXPECT(ipf_diags_count(e->d) == 0, "no diagnostics");
    return 0;
}

static int case_fonts(env *e, ipf_drawing *dr)
{
    add_text(dr, 72, 700, 1, 0, "第二个字体：仿宋");
    EXPECT(write_pdf(e, dr, -1, 0, "fonts.pdf") == IPF_OK, "write");
    char *out, *err;
    EXPECT(tool_on("pdffonts %s", "fonts.pdf", &out, &err) == 0, "pdffonts runs");
    /* name type encoding emb sub uni, one line per font */
    int lines = 0;
    for (char *l = out ? strtok(out, "\n") : NULL; l; l = strtok(NULL, "\n")) {
        if (!strstr(l, "FandolFang"))
            continue;
        lines++;
        char name[128], t1[32], t2[32], enc[32], emb[8], sub[8], uni[8];
        int k = sscanf(l, "%127s %31s %31s %31s %7s %7s %7s", name, t1, t2, enc, emb, sub, uni);
        EXPECT(k == 7, "pdffonts line: %s", l);
        EXPECT(strlen(name) > 7 && name[6] == '+', "subset tag: %s", name);
        for (int i = 0; i < 6 && k == 7; i++)
            EXPECT(name[i] >= 'A' && name[i] <= 'Z', "tag letters: %s", name);
        EXPECT(strcmp(t1, "CID") == 0 && strcmp(t2, "TrueType") == 0, "type: %s %s", t1, t2);
        EXPECT(strcmp(enc, "Identity-H") == 0, "encoding: %s", enc);
        EXPECT(!strcmp(emb, "yes") && !strcmp(sub, "yes") && !strcmp(uni, "yes"),
               "emb/sub/uni: %s %s %s", emb, sub, uni);
    }
    EXPECT(lines == 2, "two fonts listed, got %d", lines);
    free(out);
    free(err);
    if (have_tool("pdftotext")) {
        EXPECT(tool_on("pdftotext %s -", "fonts.pdf", &out, &err) == 0, "pdftotext");
        EXPECT(out && strstr(out, "第二个字体：仿宋"), "second font's text: %s", out ? out : "");
        EXPECT(err && !*err, "no warnings: %s", err ? err : "");
        free(out);
        free(err);
    }
    return 0;
}

static int case_info(env *e, ipf_drawing *dr)
{
    EXPECT(write_pdf(e, dr, -1, 0, "nodate.pdf") == IPF_OK, "write");
    EXPECT(write_pdf(e, dr, 1700000000, 0, "date.pdf") == IPF_OK, "write with date");
    char *out, *err;
    EXPECT(tool_on("TZ=UTC pdfinfo -isodates %s", "nodate.pdf", &out, &err) == 0, "pdfinfo");
    EXPECT(out && strstr(out, "Title:           国家知识产权信息公共服务网点备案表\n"), "title: %s",
           out ? out : "");
    EXPECT(out && strstr(out, "Author:          重庆大学图书馆\n"), "author");
    EXPECT(out && strstr(out, "Subject:         备案申请 & 审核\n"), "subject");
    EXPECT(out && strstr(out, "Keywords:        知识产权, 网点\n"), "keywords");
    EXPECT(out && strstr(out, "Creator:         ipforms " IPF_VERSION "\n"), "creator");
    EXPECT(out && !strstr(out, "CreationDate") && !strstr(out, "ModDate"), "no dates");
    EXPECT(out && strstr(out, "Pages:           2\n"), "pages");
    EXPECT(out && strstr(out, "Page size:       595.276 x 841.89 pts (A4)"), "A4");
    EXPECT(out && strstr(out, "Encrypted:       no"), "not encrypted");
    EXPECT(err && !*err, "no warnings: %s", err ? err : "");
    free(out);
    free(err);
    EXPECT(tool_on("TZ=UTC pdfinfo -isodates %s", "date.pdf", &out, &err) == 0, "pdfinfo");
    EXPECT(out && strstr(out, "CreationDate:    2023-11-14T22:13:20Z\n"), "creation date: %s",
           out ? out : "");
    EXPECT(out && strstr(out, "ModDate:         2023-11-14T22:13:20Z\n"), "mod date");
    EXPECT(out && strstr(out, "Metadata Stream: yes\n"), "XMP metadata in a plain PDF too");
    free(out);
    free(err);

    /* An empty value is left out; page labels follow the printed numbers:
     * an unnumbered first page is "i", the page printed 1 is "1". */
    ipf_drawing *labelled = sample_drawing();
    ipf_drawing_set_info(labelled, "Author", "");
    ipf_drawing_page_number(labelled, 1); /* the second (current) page says 1 */
    EXPECT(write_pdf(e, labelled, -1, 0, "labels.pdf") == IPF_OK, "write");
    EXPECT(tool_on("pdfinfo %s", "labels.pdf", &out, &err) == 0, "pdfinfo");
    EXPECT(out && !strstr(out, "Author:"), "empty Author left out: %s", out ? out : "");
    free(out);
    free(err);
    if (have_tool("qpdf")) {
        EXPECT(tool_on("qpdf --json --json-key=pagelabels %s", "labels.pdf", &out, &err) == 0,
               "qpdf --json");
        char *r = out ? strstr(out, "\"/r\"") : NULL, *dd = out ? strstr(out, "\"/D\"") : NULL;
        EXPECT(r && dd && r < dd, "labels: roman for page 1, decimal from page 2: %s",
               out ? out : "");
        free(out);
        free(err);
        EXPECT(tool_on("qpdf --show-object=1 %s", "labels.pdf", &out, &err) == 0 && out &&
                   strstr(out, "/Lang (zh-CN)"),
               "catalog /Lang: %s", out ? out : "");
        free(out);
        free(err);
    }
    ipf_drawing_free(labelled);
    return 0;
}

static int case_outlines(env *e, ipf_drawing *dr)
{
    EXPECT(write_pdf(e, dr, -1, 0, "outlines.pdf") == IPF_OK, "write");
    char *out, *err;
    EXPECT(tool_on("qpdf --json=2 --json-key=outlines %s", "outlines.pdf", &out, &err) == 0,
           "qpdf --json");
    const char *a = out ? strstr(out, "\"title\": \"一、机构基本情况\"") : NULL;
    const char *kid = out ? strstr(out, "\"title\": \"（一）联系方式\"") : NULL;
    const char *b = out ? strstr(out, "\"title\": \"二、工作基础和优势特点\"") : NULL;
    EXPECT(a && kid && b && a < b, "titles in order:\n%s", out ? out : "");
    /* the level-1 entry is a kid of the first: it is printed inside it */
    const char *kids = out ? strstr(out, "\"kids\": [") : NULL;
    EXPECT(kids && kid && kids < kid && kid < b, "nesting");
    EXPECT(out && strstr(out, "\"destpageposfrom1\": 2"), "destination on page 2");
    EXPECT(out && strstr(out, "\"/XYZ\",\n        null,\n        780,"), "XYZ at y 780:\n%s",
           out ? out : "");
    free(out);
    free(err);
    return 0;
}

static int case_check(env *e, ipf_drawing *dr)
{
    EXPECT(write_pdf(e, dr, 1700000000, 0, "check.pdf") == IPF_OK, "write");
    EXPECT(write_pdf(e, dr, 1700000000, 1, "checka.pdf") == IPF_OK, "write PDF/A");
    const char *files[] = {"check.pdf", "checka.pdf"};
    for (int i = 0; i < 2; i++) {
        char *out, *err;
        EXPECT(tool_on("qpdf --check %s", files[i], &out, &err) == 0, "qpdf --check %s:\n%s%s",
               files[i], out ? out : "", err ? err : "");
        EXPECT(out && strstr(out, "No syntax or stream encoding errors"), "clean");
        EXPECT(err && !*err, "qpdf warnings: %s", err ? err : "");
        free(out);
        free(err);
    }
    return 0;
}

static int case_deterministic(env *e, ipf_drawing *dr)
{
    for (int pdfa = 0; pdfa < 2; pdfa++) {
        EXPECT(write_pdf(e, dr, -1, pdfa, "d1.pdf") == IPF_OK, "write 1");
        /* another document in between must leave nothing behind */
        ipf_drawing *other = ipf_drawing_new();
        ipf_drawing_add_page(other, 300, 400);
        add_text(other, 10, 10, 0, 0, "别的文档：生僻字与标点，。");
        EXPECT(write_pdf(e, other, 1, pdfa, "other.pdf") == IPF_OK, "write other");
        ipf_drawing_free(other);
        EXPECT(write_pdf(e, dr, -1, pdfa, "d2.pdf") == IPF_OK, "write 2");
        size_t n1, n2, n3;
        char *a = read_all(path_in("d1.pdf"), &n1), *b = read_all(path_in("d2.pdf"), &n2);
        EXPECT(a && b && n1 == n2 && memcmp(a, b, n1) == 0, "byte-identical (pdfa %d)", pdfa);
        EXPECT(a && !contains(a, n1, "CreationDate") && !contains(a, n1, "ModDate"), "no dates");
        unsigned char *m;
        ipf_pdf_options o = {-1, pdfa};
        EXPECT(ipf_pdf_write_memory(e->w, dr, &o, &m, &n3, e->d) == IPF_OK, "memory");
        EXPECT(a && n3 == n1 && memcmp(m, a, n1) == 0, "memory equals file");
        free(m);
        if (pdfa)
            EXPECT(contains(a, n1, "/ID ["), "PDF/A has an /ID");
        free(a);
        free(b);
    }
    /* a different date or text gives a different /ID */
    EXPECT(write_pdf(e, dr, 1700000000, 1, "d3.pdf") == IPF_OK, "dated");
    size_t na, nb;
    char *a = read_all(path_in("d2.pdf"), &na), *b = read_all(path_in("d3.pdf"), &nb);
    const char *ia = find_bytes(a, na, "/ID ["), *ib = find_bytes(b, nb, "/ID [");
    EXPECT(ia && ib && (size_t)(ia - a) + 40 <= na && (size_t)(ib - b) + 40 <= nb &&
               memcmp(ia, ib, 40) != 0,
           "ID depends on the date");
    EXPECT(contains(b, nb, "/CreationDate (D:20231114221320+00'00')") &&
               contains(b, nb, "/ModDate (D:20231114221320+00'00')"),
           "dates in UTC");
    free(a);
    free(b);
    return 0;
}

static int case_pdfa(env *e, ipf_drawing *dr)
{
    if (access("/usr/share/color/icc/sRGB.icc", R_OK) != 0) {
        fprintf(stderr, "no sRGB.icc (package icc-profiles-free): checking the diagnostic\n");
        EXPECT(write_pdf(e, dr, -1, 1, "a.pdf") == IPF_ERR_IO, "fails");
        EXPECT(has_diag(e->d, "PDFA-ICC", "icc-profiles-free"), "names the package");
        EXPECT(access(path_in("a.pdf"), F_OK) != 0, "nothing written");
        return 0;
    }
    EXPECT(write_pdf(e, dr, 1700000000, 1, "a.pdf") == IPF_OK, "write");
    size_t n;
    char *a = read_all(path_in("a.pdf"), &n);
    EXPECT(a && strncmp(a, "%PDF-1.4\n%", 10) == 0 && (unsigned char)a[10] > 127, "header");
    const char *must[] = {
        "/Type /Metadata",
        "/Subtype /XML",
        "<pdfaid:part>1</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "<dc:title><rdf:Alt><rdf:li "
        "xml:lang=\"x-default\">国家知识产权信息公共服务网点备案表</rdf:li>",
        "<dc:creator><rdf:Seq><rdf:li>重庆大学图书馆</rdf:li>",
        "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">备案申请 &amp; 审核</rdf:li>",
        "<pdf:Keywords>知识产权, 网点</pdf:Keywords>",
        "<xmp:CreatorTool>ipforms " IPF_VERSION "</xmp:CreatorTool>",
        "<xmp:CreateDate>2023-11-14T22:13:20+00:00</xmp:CreateDate>",
        "<xmp:ModifyDate>2023-11-14T22:13:20+00:00</xmp:ModifyDate>",
        "<pdf:Producer>Haru Free PDF Library 2.3.0</pdf:Producer>",
        "/Producer (Haru Free PDF Library 2.3.0)",
        "/OutputIntents [",
        "/S /GTS_PDFA1",
        "/OutputConditionIdentifier (sRGB IEC61966-2.1)",
        "/DestOutputProfile ",
        "/CIDSet ",
        "/ID [",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        EXPECT(contains(a, n, must[i]), "contains %s", must[i]);
    EXPECT(a && !contains(a, n, "/Encrypt"), "no encryption");
    EXPECT(a && !contains(a, n, "/DestOutputProfile /"), "profile is a stream reference");
    if (have_tool("pdfinfo")) {
        char *out, *err;
        EXPECT(tool_on("pdfinfo %s", "a.pdf", &out, &err) == 0, "pdfinfo");
        EXPECT(out && strstr(out, "Metadata Stream: yes"), "metadata stream");
        EXPECT(out && strstr(out, "PDF version:     1.4"), "version 1.4");
        free(out);
        free(err);
    }
    if (have_tool("qpdf")) {
        /* the output intent's profile decodes to sRGB.icc itself */
        char cmd[700];
        snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable %s %s", path_in("a.pdf"),
                 path_in("a.qdf"));
        EXPECT(run(cmd, NULL, NULL) == 0, "qpdf --qdf");
        size_t nq, ni;
        char *q = read_all(path_in("a.qdf"), &nq);
        char *icc = read_all("/usr/share/color/icc/sRGB.icc", &ni);
        int found = 0;
        for (size_t i = 0; q && icc && ni && ni <= nq && i <= nq - ni && !found; i++)
            found = memcmp(q + i, icc, ni) == 0;
        EXPECT(found, "sRGB profile embedded intact");
        free(q);
        free(icc);
    }
    free(a);
    return 0;
}

static int case_atomic(env *e, ipf_drawing *dr)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/atomic", tmpdir);
    mkdir(dir, 0777);
    char keep[700], missing[700];
    snprintf(keep, sizeof keep, "%s/keep.pdf", dir);
    snprintf(missing, sizeof missing, "%s/no-such-dir/x.pdf", dir);
    const char old[] = "%PDF-1.4 an older good form\n";
    EXPECT(write_bytes(keep, old, sizeof old - 1) == 0, "setup");
    ipf_pdf_options o = {-1, 0};

    /* 1. the directory does not exist */
    ipf_diags_clear(e->d);
    EXPECT(ipf_pdf_write_file(e->w, dr, &o, missing, e->d) == IPF_ERR_IO, "missing dir: IO error");
    EXPECT(has_diag(e->d, "PDF-WRITE", missing) && has_diag(e->d, "PDF-WRITE", "目录不存在"),
           "diagnostic names the path and the reason");
    EXPECT(count_files(dir) == 1, "nothing left behind");

    /* 2. the write itself fails (a file size limit: works even as root) */
    struct rlimit old_lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    struct rlimit lim = old_lim;
    lim.rlim_cur = 2000;
    signal(SIGXFSZ, SIG_IGN);
    ipf_diags_clear(e->d);
    if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
        ipf_status st = ipf_pdf_write_file(e->w, dr, &o, keep, e->d);
        setrlimit(RLIMIT_FSIZE, &old_lim);
        EXPECT(st == IPF_ERR_IO, "failed write: IO error, got %d", (int)st);
        EXPECT(has_diag(e->d, "PDF-WRITE", keep), "diagnostic names the path");
        size_t n;
        char *now = read_all(keep, &n);
        EXPECT(now && n == sizeof old - 1 && memcmp(now, old, n) == 0, "old file untouched");
        free(now);
        EXPECT(count_files(dir) == 1, "temporary file removed");
    }

    /* 3. the target is a directory: rename fails after a complete write */
    char sub[700];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0777);
    char inner[800];
    snprintf(inner, sizeof inner, "%s/f", sub);
    write_bytes(inner, "x", 1);
    ipf_diags_clear(e->d);
    EXPECT(ipf_pdf_write_file(e->w, dr, &o, sub, e->d) == IPF_ERR_IO, "target is a directory");
    EXPECT(has_diag(e->d, "PDF-WRITE", sub), "diagnostic");
    EXPECT(count_files(dir) == 2 && count_files(sub) == 1, "temporary file removed");

    /* 4. a directory without write permission (root ignores permissions) */
    if (geteuid() != 0) {
        char ro[700];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        mkdir(ro, 0555);
        char target[800];
        snprintf(target, sizeof target, "%s/x.pdf", ro);
        ipf_diags_clear(e->d);
        EXPECT(ipf_pdf_write_file(e->w, dr, &o, target, e->d) == IPF_ERR_IO, "read-only dir");
        EXPECT(has_diag(e->d, "PDF-WRITE", "没有写入权限"), "permission diagnostic");
        EXPECT(count_files(ro) == 0, "nothing left");
        rmdir(ro);
    }

    /* 5. success replaces the old file, with no temporary left */
    ipf_diags_clear(e->d);
    EXPECT(ipf_pdf_write_file(e->w, dr, &o, keep, e->d) == IPF_OK, "replace");
    size_t n;
    char *now = read_all(keep, &n);
    EXPECT(now && n > 1000 && strncmp(now, "%PDF-1.4", 8) == 0, "new PDF in place");
    free(now);
    EXPECT(count_files(dir) == 2, "only keep.pdf and adir");
    struct stat sb;
    mode_t um = umask(022);
    umask(um);
    EXPECT(stat(keep, &sb) == 0 && (sb.st_mode & 0777) == (0666 & ~um), "mode 0666 less umask: %o",
           (unsigned)(sb.st_mode & 0777));
    unlink(inner);
    rmdir(sub);
    unlink(keep);
    rmdir(dir);
    return 0;
}

static int case_errors(env *e, ipf_drawing *unused)
{
    (void)unused;
    ipf_pdf_options o = {-1, 0};
    unsigned char *m = (unsigned char *)"x";
    size_t n = 1;
    ipf_drawing *dr = ipf_drawing_new();
    EXPECT(ipf_pdf_write_memory(e->w, dr, &o, &m, &n, e->d) == IPF_ERR_INTERNAL, "no pages");
    EXPECT(m == NULL && n == 0, "no buffer");
    ipf_drawing_add_page(dr, 595, 842);
    add_text(dr, 10, 10, 5, 0, "字");
    EXPECT(ipf_pdf_write_memory(e->w, dr, &o, &m, &n, e->d) == IPF_ERR_INTERNAL, "bad font index");
    EXPECT(has_diag(e->d, "PDF-ERROR", NULL), "PDF-ERROR");
    /* Cleared, the drawing is empty, then holds what is drawn anew. */
    ipf_drawing_clear(dr);
    EXPECT(ipf_drawing_page_count(dr) == 0, "cleared: no page");
    EXPECT(ipf_pdf_write_memory(e->w, dr, &o, &m, &n, e->d) == IPF_ERR_INTERNAL,
           "cleared: no pages");
    ipf_drawing_add_page(dr, 595, 842);
    add_text(dr, 72, 700, 0, 0, "已选");
    size_t ni = 0;
    const ipf_draw_item *it = ipf_drawing_items(dr, 0, &ni);
    EXPECT(ipf_drawing_page_count(dr) == 1 && ni == 1 && it[0].font == 0 && it[0].len == 6 &&
               memcmp(it[0].text, "已选", 6) == 0,
           "cleared and drawn again: one page, one run");
    EXPECT(ipf_pdf_write_memory(e->w, dr, &o, &m, &n, e->d) == IPF_OK && m &&
               memcmp(m, "%PDF-", 5) == 0,
           "cleared and drawn again: a PDF");
    free(m);
    ipf_drawing_free(dr);
    dr = ipf_drawing_new();
    ipf_drawing_add_page(dr, 0.5, 842);
    EXPECT(ipf_pdf_write_file(e->w, dr, &o, path_in("bad.pdf"), e->d) == IPF_ERR_INTERNAL,
           "bad page size");
    EXPECT(access(path_in("bad.pdf"), F_OK) != 0, "nothing written");
    ipf_drawing_free(dr);
    /* a character the font lacks: a warning, drawn as .notdef, still extracted */
    dr = ipf_drawing_new();
    ipf_drawing_add_page(dr, 595, 842);
    add_text(dr, 72, 700, 0, 0, "☑已选");
    add_text(dr, 72, 680, 0, 0, "𠀀"); /* U+20000, beyond the BMP */
    ipf_diags_clear(e->d);
    EXPECT(write_pdf(e, dr, -1, 0, "missing.pdf") == IPF_OK, "written");
    EXPECT(has_diag(e->d, "PDF-GLYPH", "U+2611") && has_diag(e->d, "PDF-GLYPH", "2 个"),
           "warning names the first missing character and the count");
    if (have_tool("pdftotext")) {
        char *out, *err;
        EXPECT(tool_on("pdftotext %s -", "missing.pdf", &out, &err) == 0, "pdftotext");
        char *got = text_lines(out);
        EXPECT(got && strcmp(got, "☑已选|𠀀#") == 0, "extracted: %s", got ? got : "");
        free(got);
        EXPECT(err && !*err, "no warnings: %s", err ? err : "");
        free(out);
        free(err);
    }
    ipf_drawing_free(dr);
    return 0;
}

/* The embedded subset, read back: FreeType must load it and every glyph
 * must have the original's outline. */
static int case_subset(env *unused_env, ipf_drawing *unused)
{
    (void)unused_env;
    (void)unused;
    ipf_diags *d = ipf_diags_new();
    ipf_ttf *tt;
    if (ipf_ttf_open(font_path(), d, &tt) != IPF_OK) {
        ipf_diags_print(d, stderr);
        return 1;
    }
    const char *text = "四号仿宋知识产权信息公共服务网点备案表ABCxyz0123，。（）";
    uint16_t gids[64];
    uint32_t cps[64];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n < 64;) {
        uint32_t cp;
        if (*p < 0x80)
            cp = *p++;
        else if (*p < 0xE0)
            cp = (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F), p += 2;
        else
            cp = (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F),
            p += 3;
        cps[n] = cp;
        gids[n++] = (uint16_t)ipf_ttf_glyph(tt, cp);
    }
    for (size_t i = 0; i < n; i++)
        EXPECT(gids[i] != 0, "U+%04X covered", (unsigned)cps[i]);
    ipf_buf z = {0};
    ipf_deflater *zd = ipf_deflater_new();
    size_t raw_len = 0, ng = 0;
    for (int round = 0; round < 3; round++) { /* the caches must not change the result */
        z.len = 0;
        EXPECT(ipf_ttf_subset(tt, gids, NULL, n, zd, &z, &raw_len, &ng) == 0, "subset");
    }
    EXPECT(ng == n + 1, "glyph count reported %zu (no composites in FandolFang)", ng);
    unsigned char *raw = malloc(raw_len + 1);
    uLongf got = raw_len + 1;
    EXPECT(raw && uncompress(raw, &got, z.p, z.len) == Z_OK && got == raw_len,
           "inflates to Length1 (%lu vs %zu)", (unsigned long)got, raw_len);
    /* checksums: each table, and the whole file sums to 0xB1B0AFBA */
    uint32_t sum = 0;
    for (size_t i = 0; i + 4 <= raw_len; i += 4)
        sum += ipf_rd32(raw + i);
    EXPECT(raw_len % 4 == 0 && sum == 0xB1B0AFBAu, "file checksum %08X", (unsigned)sum);
    unsigned nt = ipf_rd16(raw + 4);
    for (unsigned t = 0; t < nt; t++) {
        const unsigned char *r = raw + 12 + 16 * t;
        uint32_t off = ipf_rd32(r + 8), len = ipf_rd32(r + 12), cs = 0;
        for (uint32_t k = 0; k < (len + 3) / 4; k++)
            cs += ipf_rd32(raw + off + 4 * k);
        if (ipf_rd32(r) == 0x68656164u) /* head: checkSumAdjustment excluded */
            cs -= ipf_rd32(raw + off + 8);
        EXPECT(cs == ipf_rd32(r + 4), "table %.4s checksum", (const char *)r);
        if (t)
            EXPECT(ipf_rd32(r) > ipf_rd32(r - 16), "directory sorted");
    }
    FT_Library lib;
    FT_Face sub, orig;
    EXPECT(FT_Init_FreeType(&lib) == 0, "FreeType");
    EXPECT(FT_New_Memory_Face(lib, raw, (FT_Long)raw_len, 0, &sub) == 0,
           "FreeType loads the subset");
    EXPECT(FT_New_Face(lib, font_path(), 0, &orig) == 0, "original");
    EXPECT(sub->num_glyphs == (FT_Long)n + 1, "glyph count %ld", (long)sub->num_glyphs);
    for (size_t i = 0; i < n; i++) {
        if (FT_Load_Glyph(sub, (FT_UInt)(i + 1), FT_LOAD_NO_SCALE) != 0) {
            EXPECT(0, "load subset glyph %zu", i + 1);
            continue;
        }
        FT_Outline a = sub->glyph->outline;
        FT_Pos adv = sub->glyph->advance.x;
        short na = a.n_points;
        FT_Vector *pa = malloc(sizeof *pa * (size_t)(na ? na : 1));
        memcpy(pa, a.points, sizeof *pa * (size_t)na);
        EXPECT(FT_Load_Glyph(orig, gids[i], FT_LOAD_NO_SCALE) == 0, "load original");
        FT_Outline b = orig->glyph->outline;
        EXPECT(na == b.n_points && memcmp(pa, b.points, sizeof *pa * (size_t)na) == 0,
               "outline of U+%04X", (unsigned)cps[i]);
        EXPECT(adv == orig->glyph->advance.x, "advance of U+%04X", (unsigned)cps[i]);
        EXPECT(ipf_ttf_width(tt, gids[i]) ==
                   (unsigned)(orig->glyph->advance.x * 1000 / orig->units_per_EM),
               "width");
        free(pa);
    }
    FT_Done_Face(sub);
    /* Letter-spaced characters: glyphs 1 and 2 widened by 125 units.  Each
     * becomes a composite of its plain glyph (2 is also requested plain, 1
     * is not: its plain copy is added after the requested ones), drawing
     * the same outline with a wider advance. */
    uint16_t wg[3] = {gids[0], gids[1], gids[1]}, wx[3] = {125, 0, 125};
    z.len = 0;
    EXPECT(ipf_ttf_subset(tt, wg, wx, 3, zd, &z, &raw_len, &ng) == 0 && ng == 5,
           "widened subset: %zu glyphs (.notdef, 3 requested, 1 plain copy)", ng);
    unsigned char *wraw = malloc(raw_len);
    got = raw_len;
    EXPECT(wraw && uncompress(wraw, &got, z.p, z.len) == Z_OK && got == raw_len, "inflates");
    EXPECT(FT_New_Memory_Face(lib, wraw, (FT_Long)raw_len, 0, &sub) == 0, "FreeType loads it");
    const unsigned ask[3] = {1, 2, 3};
    for (int k = 0; k < 3; k++) {
        EXPECT(FT_Load_Glyph(sub, ask[k], FT_LOAD_NO_SCALE) == 0, "load widened glyph %u", ask[k]);
        FT_Outline a = sub->glyph->outline;
        FT_Pos adv = sub->glyph->advance.x;
        short na = a.n_points;
        FT_Vector *pa = malloc(sizeof *pa * (size_t)(na ? na : 1));
        memcpy(pa, a.points, sizeof *pa * (size_t)na);
        EXPECT(FT_Load_Glyph(orig, wg[k], FT_LOAD_NO_SCALE) == 0, "load original");
        FT_Outline b = orig->glyph->outline;
        EXPECT(na == b.n_points && memcmp(pa, b.points, sizeof *pa * (size_t)na) == 0,
               "widened glyph %u has the plain outline", ask[k]);
        EXPECT(adv == orig->glyph->advance.x + wx[k], "advance %ld, plain %ld + %u", (long)adv,
               (long)orig->glyph->advance.x, wx[k]);
        EXPECT(ipf_ttf_width_plus(tt, wg[k], wx[k]) == (unsigned)(adv * 1000 / orig->units_per_EM),
               "width_plus agrees with the subset's hmtx");
        free(pa);
    }
    FT_Done_Face(sub);
    free(wraw);
    FT_Done_Face(orig);
    FT_Done_FreeType(lib);
    /* the empty subset (.notdef only) is valid too */
    z.len = 0;
    EXPECT(ipf_ttf_subset(tt, gids, NULL, 0, zd, &z, &raw_len, &ng) == 0 && raw_len > 0 && ng == 1,
           "empty subset");
    free(raw);
    ipf_buf_free(&z);
    ipf_deflater_free(zd);
    ipf_ttf_free(tt);
    /* a file that is not TrueType is refused with a diagnostic */
    EXPECT(write_bytes(path_in("bad.ttf"), "OTTO\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0, "setup");
    EXPECT(ipf_ttf_open(path_in("bad.ttf"), d, &tt) == IPF_ERR_FONT && tt == NULL, "refused");
    EXPECT(has_diag(d, "FONT-LOAD", "CFF"), "says it is CFF");
    ipf_diags_free(d);
    return 0;
}

/* Glyphs actually render: the text area of page 1 has ink. */
static int case_render(env *e, ipf_drawing *unused)
{
    (void)unused;
    ipf_drawing *dr = ipf_drawing_new();
    ipf_drawing_add_page(dr, 200, 100);
    add_text(dr, 10, 50, 0, 0, "国家知识产权");
    EXPECT(write_pdf(e, dr, -1, 0, "render.pdf") == IPF_OK, "write");
    char cmd[700];
    /* 144 dpi: 2 px per point, a 14 pt glyph is a 28 px cell */
    snprintf(cmd, sizeof cmd, "pdftoppm -r 144 -gray %s %s/render", path_in("render.pdf"), tmpdir);
    EXPECT(run(cmd, NULL, NULL) == 0, "pdftoppm");
    size_t n;
    char *pgm = read_all(path_in("render-1.pgm"), &n);
    int w = 0, h = 0, max = 0, off = 0;
    EXPECT(pgm && sscanf(pgm, "P5 %d %d %d%n", &w, &h, &max, &off) == 3, "PGM");
    if (pgm && w == 400 && h == 200 && (size_t)off + 1 + 400 * 200 <= n) {
        const unsigned char *px = (const unsigned char *)pgm + off + 1;
        int stray = 0, ink[6] = {0};
        uint32_t hash[6] = {0};
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int dark = px[y * w + x] < 128;
                int cell = (x - 20) / 28;
                if (x >= 20 && cell < 6 && y >= 100 - 26 && y < 100 + 6) {
                    ink[cell] += dark;
                    hash[cell] = hash[cell] * 31 + (uint32_t)dark * (uint32_t)(x * 977 + y);
                } else {
                    stray += dark;
                }
            }
        /* every glyph has ink, and no two cells look alike (.notdef boxes
         * or a wrong glyph mapping would repeat one picture) */
        for (int i = 0; i < 6; i++) {
            EXPECT(ink[i] > 40, "ink in cell %d: %d", i, ink[i]);
            for (int k = 0; k < i; k++)
                EXPECT(hash[i] != hash[k], "cells %d and %d differ", k, i);
        }
        EXPECT(stray < 20, "no ink elsewhere: %d", stray);
    } else {
        EXPECT(0, "page size %dx%d", w, h);
    }
    free(pgm);
    ipf_drawing_free(dr);
    return 0;
}

/* ------------------------------------------------------------ main */

/* What a case is given: nothing, a writer over the test font (one or two
 * font indexes), or that and the sample form, which the runner frees. */
enum setup { BARE, WRITER, SAMPLE, SAMPLE_TWO_FONTS };

typedef struct tcase {
    const char *name;
    const char *tool; /* the case is skipped when this is not installed */
    enum setup setup;
    int (*fn)(env *e, ipf_drawing *sample);
} tcase;

static const tcase cases[] = {
    {"drawing", NULL, BARE, case_drawing},
    {"text", "pdftotext", SAMPLE, case_text},
    {"fonts", "pdffonts", SAMPLE_TWO_FONTS, case_fonts},
    {"info", "pdfinfo", SAMPLE, case_info},
    {"outlines", "qpdf", SAMPLE, case_outlines},
    {"check", "qpdf", SAMPLE, case_check},
    {"deterministic", NULL, SAMPLE, case_deterministic},
    {"pdfa", NULL, SAMPLE, case_pdfa},
    {"atomic", NULL, SAMPLE, case_atomic},
    {"errors", NULL, WRITER, case_errors},
    {"subset", NULL, BARE, case_subset},
    {"render", "pdftoppm", WRITER, case_render},
};

static int run_case(const tcase *c)
{
    if (c->tool && !have_tool(c->tool))
        return SKIP;
    if (c->setup == BARE)
        return c->fn(NULL, NULL);
    env e;
    if (env_open(&e, c->setup == SAMPLE_TWO_FONTS) < 0) {
        env_close(&e);
        return 1;
    }
    ipf_drawing *dr = c->setup == WRITER ? NULL : sample_drawing();
    int rc = c->fn(&e, dr);
    ipf_drawing_free(dr);
    env_close(&e);
    return rc;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ipf-test-pdf-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    int passed = 0, failed = 0, skipped = 0, found = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(which, "all") && strcmp(which, cases[i].name))
            continue;
        found = 1;
        case_failed = 0;
        int rc = run_case(&cases[i]);
        if (rc == SKIP) {
            printf("skip %s (tool missing)\n", cases[i].name);
            skipped++;
        } else if (rc || case_failed) {
            printf("FAIL %s\n", cases[i].name);
            failed++;
        } else {
            printf("ok   %s\n", cases[i].name);
            passed++;
        }
    }
    if (!found) {
        fprintf(stderr, "unknown case %s\n", which);
        return 2;
    }
    if (failed)
        fprintf(stderr, "files kept in %s\n", tmpdir);
    else
        remove_tree(tmpdir);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed)
        return 1;
    return passed == 0 && skipped ? SKIP : 0;
}
