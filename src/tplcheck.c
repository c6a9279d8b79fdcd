/* tplcheck.c: template values that load but cannot typeset (tplcheck.h). */
#include "tplcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmldoc.h"

#define MM             (72.0 / 25.4)
#define MIN_FONT_PT    4.0   /* smaller cannot be read on paper */
#define MAX_FONT_PT    300.0 /* libharu's largest font size */
#define MIN_LINE_RATIO 0.8   /* below this the lines of a paragraph overlap */
#define MAX_LINE_RATIO 10.0
#define MIN_SPACING_EM (-0.5) /* at -1 em characters stand on each other */
#define DEFAULT_SIZE   14.0
#define DEFAULT_PAD    4.5

typedef struct checker {
    const ipf_form *f;
    ipf_diags *d;
    double base;   /* the typography's size, for em lengths */
    double pad;    /* cell padding */
    double text_w; /* width of the text block */
    int problems;
} checker;

static void complain(checker *c, const xmlNode *n, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#include <stdarg.h>

static void complain(checker *c, const xmlNode *n, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ipf_diag_vadd(c->d, ipf_form_node_file(c->f, n), ipf_xml_line(n), IPF_SEV_ERROR, code, fmt, ap);
    va_end(ap);
    c->problems++;
}

/* A length attribute of n in points; 0 when absent or unreadable (the
 * loader reports an unreadable one). */
static int length_of(const checker *c, const xmlNode *n, const char *name, double *pt)
{
    const char *v = ipf_tpl_attr(n, name);
    return v && ipf_length_parse(v, c->base, pt) == 0;
}

static void check_element(checker *c, const xmlNode *n)
{
    double v;
    const char *name = (const char *)n->name;
    if (length_of(c, n, "size", &v) && (v < MIN_FONT_PT || v > MAX_FONT_PT || !isfinite(v)))
        complain(c, n, "TEMPLATE-TYPESETTING",
                 "<%s> 的字号 size=\"%s\"（%.1f 磅）无法印刷：应在 %.0f 磅到 %.0f 磅之间", name,
                 ipf_tpl_attr(n, "size"), v, MIN_FONT_PT, MAX_FONT_PT);
    const char *lh = ipf_tpl_attr(n, "line-height");
    if (lh) {
        char *end = NULL;
        double r = strtod(lh, &end);
        if (end == lh || *end || !(r >= MIN_LINE_RATIO && r <= MAX_LINE_RATIO))
            complain(c, n, "TEMPLATE-TYPESETTING",
                     "<%s> 的行距 line-height=\"%s\" 不可用：应为字号的倍数，在 %.1f 到 %.0f 之间"
                     "（如 1.45），否则各行文字重叠或散开",
                     name, lh, MIN_LINE_RATIO, MAX_LINE_RATIO);
    }
    double size = c->base;
    length_of(c, n, "size", &size);
    if (length_of(c, n, "letter-spacing", &v) && v <= MIN_SPACING_EM * size)
        complain(c, n, "TEMPLATE-TYPESETTING",
                 "<%s> 的字距 letter-spacing=\"%s\" 过小：字符会互相重叠甚至倒排，"
                 "应大于 %.1fem",
                 name, ipf_tpl_attr(n, "letter-spacing"), MIN_SPACING_EM);
    static const char *const nonneg[] = {
        "cell-padding",     "space-before", "space-after",     "height",     "min-height",
        "blank-min-height", "min-width",    "blank-min-width", "rule-width", "offset"};
    for (size_t i = 0; i < sizeof nonneg / sizeof *nonneg; i++)
        if (length_of(c, n, nonneg[i], &v) && (v < 0 || !isfinite(v)))
            complain(c, n, "TEMPLATE-TYPESETTING", "<%s> 的 %s=\"%s\" 不能为负数", name, nonneg[i],
                     ipf_tpl_attr(n, nonneg[i]));
    if (length_of(c, n, "indent", &v) && fabs(v) >= c->text_w)
        complain(c, n, "TEMPLATE-TYPESETTING",
                 "<%s> 的缩进 indent=\"%s\" 不小于版心宽度（%.1f mm），放不下任何文字", name,
                 ipf_tpl_attr(n, "indent"), c->text_w / MM);
}

/* Every column at least one character at the base size plus the cell's
 * padding on both sides: a narrower one would break every character onto
 * a line of its own, or overflow. */
static void check_columns(checker *c, const xmlNode *table)
{
    const char *cols = ipf_tpl_attr(table, "columns");
    if (!cols)
        return;
    double w[64], share[64], fixed = 0, total = 0;
    char tok[64][32];
    int n = 0;
    for (const char *p = cols; *p && n < 64;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        size_t len = strcspn(p, " \t\n\r");
        if (!len)
            break;
        snprintf(tok[n], sizeof tok[n], "%.*s", (int)(len < 31 ? len : 31), p);
        p += len;
        size_t tl = strlen(tok[n]);
        w[n] = share[n] = 0;
        if (tl > 2 && strcmp(tok[n] + tl - 2, "fr") == 0) {
            share[n] = strtod(tok[n], NULL);
            if (!(share[n] > 0))
                return; /* the loader says what is wrong */
            total += share[n];
        } else if (ipf_length_parse(tok[n], c->base, &w[n]) == 0) {
            fixed += w[n];
        } else {
            return;
        }
        n++;
    }
    const ipf_page_geom *g = ipf_form_part_page(c->f, table);
    double text_w = g ? g->width - g->left - g->right : c->text_w;
    double rest = text_w - fixed, need = c->base + 2 * c->pad;
    if (total > 0 && rest <= 0)
        return; /* no room for the fr columns: the loader says so */
    for (int i = 0; i < n; i++) {
        double width = share[i] > 0 ? (rest > 0 ? rest * share[i] / total : 0) : w[i];
        if (width + 0.01 < need)
            complain(c, table, "TEMPLATE-COLUMNS",
                     "表格第 %d 列（%s）只有 %.1f mm 宽，放不下一个 %.0f 磅的字：连同两侧的内边距"
                     "至少应为 %.1f mm",
                     i + 1, tok[i], width / MM, c->base, need / MM);
    }
}

static void walk(checker *c, const xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        check_element(c, n);
        if (ipf_tpl_is(n, "table"))
            check_columns(c, n);
        walk(c, n->children);
    }
}

/* Margins of every <page>: negative ones print off the paper. */
static void check_margins(checker *c, const xmlNode *page)
{
    static const char *const names[4] = {"margin-top", "margin-bottom", "margin-left",
                                         "margin-right"};
    for (int i = 0; i < 4; i++) {
        double v;
        if (length_of(c, page, names[i], &v) && (v < 0 || !isfinite(v)))
            complain(c, page, "TEMPLATE-PAGE", "页边距 %s=\"%s\" 是负数：文字会印到纸张以外",
                     names[i], ipf_tpl_attr(page, names[i]));
    }
}

int ipf_tpl_check_typesetting(const ipf_form *f, const xmlNode *root, ipf_diags *d)
{
    checker c = {f, d, DEFAULT_SIZE, DEFAULT_PAD, 0, 0};
    const xmlNode *typo = ipf_tpl_child(root, "typography");
    double v;
    if (length_of(&c, typo, "size", &v) && v > 0)
        c.base = v;
    if (length_of(&c, typo, "cell-padding", &v) && v >= 0)
        c.pad = v;
    const ipf_page_geom *g = ipf_form_page(f);
    c.text_w = g->width - g->left - g->right;
    for (const xmlNode *n = root->children; n; n = n->next)
        if (ipf_tpl_is(n, "page"))
            check_margins(&c, n);
    walk(&c, root->children);
    return c.problems;
}

/* ------------------------------------------------------------ labels */

typedef struct label_scan {
    const ipf_form *f;
    const ipf_fontset *fonts;
    ipf_diags *d;
    uint32_t seen[256];
    size_t nseen;
    size_t more;
    int bad;
} label_scan;

static void scan_text(label_scan *s, const xmlNode *where, const char *text)
{
    for (const char *p = text; p && *p;) {
        uint32_t cp;
        if (ipf_utf8_next(&p, &cp) < 0) {
            p++;
            continue;
        }
        if (ipf_utf8_is_space(cp) || ipf_fontset_font_for(s->fonts, cp) >= 0)
            continue;
        int dup = 0;
        for (size_t i = 0; i < s->nseen && !dup; i++)
            dup = s->seen[i] == cp;
        if (dup)
            continue;
        s->bad = 1;
        if (s->nseen == sizeof s->seen / sizeof *s->seen) {
            s->more++;
            continue;
        }
        s->seen[s->nseen++] = cp;
        if (s->nseen > 20) {
            s->more++;
            continue;
        }
        char ch[5] = {0};
        ipf_utf8_encode(cp, ch);
        ipf_diag_add(s->d, ipf_form_node_file(s->f, where), ipf_xml_line(where), IPF_SEV_ERROR,
                     "FONT-MISSING-GLYPH",
                     "模板要印的文字中有字符“%s”（U+%04X），所配置的字体都不能显示：请在 <fonts> "
                     "中配置含这些字的字体（如仿宋），或用 --font 指定",
                     ch, (unsigned)cp);
    }
}

/* What the template prints itself, not what it selects from the data. */
static void scan_labels(label_scan *s, const xmlNode *n)
{
    static const char *const skip[] = {"info", "data", "namespace", "fonts", "page", "styles"};
    static const char *const printed[] = {"title", "note", "marker", "header", "continued-suffix"};
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            scan_text(s, n->parent, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        int skipped = 0;
        for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
            skipped |= ipf_tpl_is(n, skip[i]);
        if (skipped)
            continue;
        for (size_t i = 0; i < sizeof printed / sizeof *printed; i++)
            scan_text(s, n, ipf_tpl_attr(n, printed[i]));
        if (ipf_tpl_is(n, "page-numbers")) {
            /* The format without its {page} and {pages} placeholders. */
            const char *f = ipf_tpl_attr(n, "format");
            char buf[256] = "";
            size_t k = 0;
            for (const char *p = f; p && *p && k + 1 < sizeof buf; p++) {
                if (*p == '{') {
                    const char *q = strchr(p, '}');
                    if (q) {
                        p = q;
                        buf[k++] = '1';
                        continue;
                    }
                }
                buf[k++] = *p;
            }
            buf[k] = '\0';
            scan_text(s, n, buf);
        }
        scan_labels(s, n->children);
    }
}

ipf_status ipf_tpl_check_labels(const ipf_form *f, const ipf_fontset *fonts, ipf_diags *d)
{
    const xmlNode *root = ipf_form_root(f);
    label_scan s = {.f = f, .fonts = fonts, .d = d};
    scan_labels(&s, root->children);
    if (s.more)
        ipf_diag_add(d, ipf_form_path(f), ipf_xml_line(root), IPF_SEV_ERROR, "FONT-MISSING-GLYPH",
                     "模板要印的文字中另有 %zu 个字符所配置的字体都不能显示，未逐一列出", s.more);
    return s.bad ? IPF_ERR_FONT : IPF_OK;
}
