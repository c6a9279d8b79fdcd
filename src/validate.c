/* validate.c: the checks before printing, in the order a clerk reads them. */
#include "validate.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "drawing.h"
#include "layout.h"
#include "pdf.h"
#include "utf8.h"
#include "xmldoc.h"

static int check_root(const ipf_form *form, xmlDocPtr doc, const char *file, ipf_diags *d)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *want = ipf_form_data_root(form), *ns = ipf_form_data_namespace(form);
    const char *have_ns = root->ns ? (const char *)root->ns->href : "";
    if ((want && strcmp((const char *)root->name, want) != 0) || (ns && strcmp(have_ns, ns) != 0)) {
        if (!*have_ns) /* the usual slip: the xmlns was left out */
            ipf_diag_add(d, file, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-ROOT",
                         "根元素应为 <%s xmlns=\"%s\">（%s），现为 <%s>，缺少命名空间声明 "
                         "xmlns=\"%s\"",
                         want ? want : "?", ns ? ns : "", ipf_form_title(form),
                         (const char *)root->name, ns ? ns : "");
        else
            ipf_diag_add(d, file, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-ROOT",
                         "根元素应为 <%s xmlns=\"%s\">（%s），现为 <%s xmlns=\"%s\">",
                         want ? want : "?", ns ? ns : "", ipf_form_title(form),
                         (const char *)root->name, have_ns);
        return 1;
    }
    return 0;
}

static const char *field_label(const ipf_schema *schema, const xmlNode *n)
{
    const char *l = schema ? ipf_schema_label(schema, n) : NULL;
    return l ? l : (const char *)n->name;
}

/* A character no font can draw is reported once per document, at its
 * first occurrence, naming the field and how often it occurs; past
 * MAX_GLYPH_REPORTS distinct characters, one line counts the rest. */
#define MAX_GLYPH_REPORTS 20
#define UNICODE_SIZE      0x110000u

typedef struct glyph_miss {
    uint32_t cp;
    const xmlNode *owner; /* where it first occurs */
    size_t count;
} glyph_miss;

typedef struct glyph_scan {
    const ipf_fontset *fonts;
    unsigned char *seen; /* UNICODE_SIZE bits */
    uint32_t *index;     /* position in miss[] of a seen code point, by cp; lazily */
    glyph_miss *miss;
    size_t n, cap;
    int oom;
} glyph_scan;

static glyph_miss *find_miss(glyph_scan *g, uint32_t c)
{
    for (size_t i = g->n; i-- > 0;) /* recent first: repeats cluster */
        if (g->miss[i].cp == c)
            return &g->miss[i];
    return NULL;
}

static void check_text(glyph_scan *g, const xmlNode *owner, const char *text)
{
    for (const char *p = text; *p && !g->oom;) {
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0) {
            p++;
            continue;
        }
        if (ipf_utf8_is_space(c) || ipf_fontset_font_for(g->fonts, c) >= 0)
            continue;
        if (g->seen[c / 8] & (1u << (c % 8))) {
            if (g->n <= 64) {
                glyph_miss *m = find_miss(g, c);
                if (m)
                    m->count++;
            } else {
                g->miss[g->index[c]].count++;
            }
            continue;
        }
        if (IPF_GROW(g->miss, g->cap, g->n + 1) < 0) {
            g->oom = 1;
            return;
        }
        if (g->n == 64 && !g->index) {
            g->index = malloc(UNICODE_SIZE * sizeof *g->index);
            if (!g->index) {
                g->oom = 1;
                return;
            }
            for (size_t i = 0; i < g->n; i++)
                g->index[g->miss[i].cp] = (uint32_t)i;
        }
        if (g->index)
            g->index[c] = (uint32_t)g->n;
        g->seen[c / 8] |= (unsigned char)(1u << (c % 8));
        g->miss[g->n++] = (glyph_miss){c, owner, 1};
    }
}

static void walk(glyph_scan *g, const xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = n->properties; a; a = a->next)
                if (a->children && a->children->content)
                    check_text(g, (const xmlNode *)a, (const char *)a->children->content);
            walk(g, n->children);
        } else if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            check_text(g, n->parent, (const char *)n->content);
        }
    }
}

ipf_status ipf_validate_glyphs(const ipf_schema *schema, const ipf_fontset *fonts, xmlDocPtr doc,
                               const char *file, ipf_diags *d)
{
    glyph_scan g = {.fonts = fonts};
    g.seen = calloc(UNICODE_SIZE / 8, 1);
    if (!g.seen)
        return IPF_ERR_NOMEM;
    walk(&g, xmlDocGetRootElement(doc));
    size_t rest = 0, rest_count = 0;
    long rest_line = 0;
    for (size_t i = 0; i < g.n && !g.oom; i++) {
        const glyph_miss *m = &g.miss[i];
        long line = ipf_xml_line(m->owner);
        if (i >= MAX_GLYPH_REPORTS) {
            if (rest++ == 0 || line < rest_line)
                rest_line = line;
            rest_count += m->count;
            continue;
        }
        char ch[5] = {0}, times[48] = "";
        ipf_utf8_encode(m->cp, ch);
        if (m->count > 1)
            snprintf(times, sizeof times, "（全文共 %zu 处）", m->count);
        ipf_diag_add(d, file, line, IPF_SEV_ERROR, "FONT-MISSING-GLYPH",
                     "“%s”中的字符“%s”（U+%04X）没有任何已配置的字体能够显示%s，"
                     "请改用常用字或用 --font 指定含该字的字体",
                     field_label(schema, m->owner), ch, (unsigned)m->cp, times);
    }
    if (rest)
        ipf_diag_add(d, file, rest_line, IPF_SEV_ERROR, "FONT-MISSING-GLYPH",
                     "从这一行起另有 %zu 个字符（共 %zu 处）没有任何已配置的字体能够显示，"
                     "未逐一列出",
                     rest, rest_count);
    ipf_status st = g.oom ? IPF_ERR_NOMEM : g.n ? IPF_INVALID : IPF_OK;
    free(g.seen);
    free(g.index);
    free(g.miss);
    return st;
}

/* Text written beside <p> paragraphs: the schema's mixed content allows it,
 * but the layout prints an element with paragraphs paragraph by paragraph
 * and would leave that text out.  Refused, naming the field and quoting
 * the text, rather than silently dropped. */
static int said_already(const ipf_diags *d, size_t upto, const char *file, long line)
{
    for (size_t i = 0; i < upto; i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (g && g->line == line && strcmp(g->code, "SCHEMA-TEXT") == 0 &&
            strcmp(g->file, file) == 0)
            return 1;
    }
    return 0;
}

static void check_mixed(const ipf_schema *schema, const xmlNode *n, const char *file, ipf_diags *d,
                        size_t prior)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        long at = ipf_xml_line(n);
        int has_p = 0;
        for (const xmlNode *c = n->children; c && !has_p; c = c->next)
            has_p = c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "p") == 0;
        /* Where the schema allows no text at all it has said so already. */
        if (has_p && said_already(d, prior, file, at))
            has_p = 0;
        for (const xmlNode *c = has_p ? n->children : NULL; c; c = c->next) {
            if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) ||
                !ipf_utf8_is_filled((const char *)c->content))
                continue;
            char *shown = ipf_utf8_excerpt((const char *)c->content, 40);
            ipf_diag_add(d, file, at, IPF_SEV_ERROR, "SCHEMA-TEXT",
                         "“%s”中写在 <p> 段落之外的文字“%s”不会印在表格上：已分段时，"
                         "每段文字都应写在一个 <p> 中",
                         field_label(schema, n), shown ? shown : "");
            free(shown);
        }
        check_mixed(schema, n->children, file, d, prior);
    }
}

/* ---------- the page limit ----------
 *
 * A document past IPF_PDF_MAX_PAGES pages validates but cannot be printed:
 * found only after layout it would cost a render to learn.  Counting pages
 * needs a layout, far dearer than validation, so only a document that could
 * come near the limit is laid out: every page the typesetter starts takes at
 * least one character or one element of the data onwards, so a document
 * with fewer than IPF_PDF_MAX_PAGES / 2 characters and elements (twice the
 * margin, for the form's own pages and repeated headings) stays below it.
 * Ordinary filings hold 3,000 to 8,000. */
typedef struct volume {
    size_t units;          /* characters (code points) of text and attributes, and elements */
    const xmlNode *widest; /* the element with the most text of its own */
    size_t widest_chars;
} volume;

static size_t count_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

static void measure(volume *v, const xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        size_t own = 0;
        for (const xmlAttr *a = n->properties; a; a = a->next)
            if (a->children)
                own += count_chars((const char *)a->children->content);
        for (const xmlNode *c = n->children; c; c = c->next)
            if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
                own += count_chars((const char *)c->content);
        v->units += 1 + own;
        if (own > v->widest_chars) {
            v->widest_chars = own;
            v->widest = n;
        }
        measure(v, n->children);
    }
}

static ipf_status check_pages(const ipf_form *form, const ipf_schema *schema,
                              const ipf_fontset *fonts, xmlDocPtr doc, const char *file,
                              ipf_diags *d)
{
    volume v = {0, NULL, 0};
    measure(&v, xmlDocGetRootElement(doc));
    if (v.units < IPF_PDF_MAX_PAGES / 2)
        return IPF_OK;
    ipf_layout *lay = NULL;
    ipf_drawing *dr = ipf_drawing_new();
    ipf_diags *scratch = ipf_diags_new(); /* the layout's own remarks are render's to make */
    ipf_status st = dr && scratch ? ipf_layout_new(&lay) : IPF_ERR_NOMEM;
    if (st == IPF_OK)
        st = ipf_layout_document(lay, form, fonts, doc, file, dr, scratch);
    size_t pages = st == IPF_OK ? ipf_drawing_page_count(dr) : 0;
    ipf_layout_free(lay);
    ipf_drawing_free(dr);
    ipf_diags_free(scratch);
    if (st == IPF_ERR_TEMPLATE)
        return IPF_OK; /* the template's problem: render reports it where it stands */
    if (st != IPF_OK)
        return st;
    if (pages <= IPF_PDF_MAX_PAGES)
        return IPF_OK;
    const xmlNode *at = v.widest ? v.widest : xmlDocGetRootElement(doc);
    ipf_diag_add(d, file, ipf_xml_line(at), IPF_SEV_ERROR, "PDF-TOO-MANY-PAGES",
                 "排版结果共 %zu 页，超过 PDF 生成库每份文件 %d 页的上限，无法生成 PDF；"
                 "内容最多的是“%s”（%zu 字）；请精简内容，或把数据分成几份分别生成",
                 pages, IPF_PDF_MAX_PAGES, field_label(schema, at), v.widest_chars);
    return IPF_INVALID;
}

/* A check that could not run (out of memory, a library failure) leaves the
 * document unchecked: that must never read as "valid", so its status wins
 * over the diagnostics count, and the clerk is told the check is incomplete. */
static ipf_status incomplete(ipf_status st, const char *what, const char *file, ipf_diags *d)
{
    if (st == IPF_OK || st == IPF_INVALID || st == IPF_ERR_TEMPLATE)
        return st; /* a template error has been reported where it stands */
    ipf_diag_add(d, file, 0, IPF_SEV_ERROR, "VALIDATE-INCOMPLETE",
                 "%s未能完成（%s），这份文件未经完整检查，不能视为通过；请关闭其他程序后重试", what,
                 st == IPF_ERR_NOMEM ? "内存不足" : ipf_status_str(st));
    return st;
}

ipf_status ipf_validate_document(const ipf_form *form, const ipf_schema *schema,
                                 const ipf_ruleset *rules, const ipf_fontset *fonts, xmlDocPtr doc,
                                 const char *file, ipf_diags *d)
{
    size_t before = ipf_diags_errors(d);
    if (check_root(form, doc, file, d))
        return IPF_INVALID; /* another kind of document: its fields mean nothing here */
    ipf_status failed = IPF_OK;
    if (schema) {
        ipf_status st =
            incomplete(ipf_schema_validate(schema, doc, file, d), "数据结构检查", file, d);
        if (st != IPF_OK && st != IPF_INVALID)
            failed = st;
    }
    check_mixed(schema, xmlDocGetRootElement(doc), file, d, ipf_diags_count(d));
    if (rules && failed == IPF_OK) {
        ipf_status st = incomplete(ipf_ruleset_check(rules, doc, file, d), "规则检查", file, d);
        if (st != IPF_OK && st != IPF_INVALID)
            failed = st;
    }
    if (fonts && failed == IPF_OK) {
        ipf_status st =
            incomplete(ipf_validate_glyphs(schema, fonts, doc, file, d), "字体检查", file, d);
        if (st != IPF_OK && st != IPF_INVALID)
            failed = st;
    }
    if (fonts && failed == IPF_OK) {
        ipf_status st =
            incomplete(check_pages(form, schema, fonts, doc, file, d), "页数检查", file, d);
        if (st != IPF_OK && st != IPF_INVALID)
            failed = st;
    }
    if (failed != IPF_OK)
        return failed;
    return ipf_diags_errors(d) > before ? IPF_INVALID : IPF_OK;
}
