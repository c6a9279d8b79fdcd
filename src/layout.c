/* layout.c: from template + data to a drawing.
 *
 * Three steps per document:
 *   1. content: every paragraph of a cell is turned into measured lines
 *      (relative draw ops) by the line breaker;
 *   2. tables: rows get their heights (cells grow with their text, row spans
 *      share height), and rows that belong together form blocks;
 *   3. flow: blocks are placed on pages; a row too tall for what is left of a
 *      page is split between lines, and the next page starts with the section
 *      heading and the row's labels marked as continued.
 * Coordinates during layout run downwards from the top of the page; they are
 * turned into PDF coordinates only when drawn. */
#include "layout.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "buf.h"
#include "collate.h"
#include "linebreak.h"
#include "utf8.h"
#include "xmldoc.h"
#include "xpathfn.h"

/* Placeholders the breaker sees as ordinary characters. */
#define PH_BOX     0xE000u /* check box, unticked */
#define PH_BOX_ON  0xE001u /* check box, ticked */
#define PH_INDENT  0xE002u /* first-line indent of a given width */
#define PH_BLANK   0xE003u /* room left in a field to write by hand: never dropped at a break */
#define BREAK_MARK 0x200Bu /* <wbr/>: a label's stated break point, never drawn */

enum { OP_TEXT, OP_RULE, OP_CHECK };
enum { LN_TEXT, LN_SPACE, LN_FILL };
enum { AL_LEFT, AL_CENTER, AL_RIGHT, AL_JUSTIFY };
enum { VA_TOP, VA_MIDDLE, VA_BOTTOM };

typedef struct op {
    uint8_t kind, bold, checked;
    int16_t font;
    float dx, dy; /* from the line's left edge and top */
    float w;      /* rule length, check box side */
    float size, cs;
    uint32_t off, len; /* text bytes in lay->text */
} op;

/* Where a text line stands in its paragraph, for widows and orphans. */
enum { PF_FIRST = 1, PF_LAST = 2 };

typedef struct line {
    float height;
    uint8_t kind;
    uint8_t para; /* PF_* */
    uint32_t op_start, op_count;
} line;

typedef struct style {
    double size, line_height, indent, space_before, space_after, letter_spacing;
    int align, valign, bold;
} style;

typedef struct cell {
    int col, span, rowspan, is_label, keep;
    int valign;
    int valign_auto; /* top by default: a single line is centred like its label */
    int frameless;   /* border="none": no rules (a title block above the table) */
    double min_h;
    uint32_t l0, l1; /* content lines */
    uint32_t c0, c1; /* continued-label lines (labels only) */
    double content_h;
} cell;

typedef struct row {
    int is_section;
    int is_header; /* column headings, repeated on every page the table continues on */
    uint32_t cell0, ncells;
    double h;
    int keep;
    int keep_next;       /* keep-with-next="true": on the page where the next row starts */
    const char *outline; /* section title for the outline, in lay->strs */
    uint32_t sect;       /* index of the section row this row belongs to (UINT32_MAX none) */
} row;

/* A character's font, advance and ink (glyph()). */
typedef struct glyph_info {
    int font, ink;
    double adv, il, ir;
} glyph_info;

struct ipf_layout {
    /* per document */
    const ipf_form *form;
    const ipf_fontset *fonts;
    ipf_line_breaker *lb;
    ipf_lb_level lb_level;
    ipf_diags *d;
    const char *file;
    ipf_drawing *dr;
    xmlXPathContextPtr xp;
    xmlDocPtr data;
    int blank, oom;
    int in_label; /* paragraphs break as labels: balanced, at the stated break points */
    style base;
    double pad, rule_w;
    const char *cont_suffix;
    const xmlNode *styles;
    /* page state */
    ipf_page_geom pg;
    double y; /* from the top */
    int page_open, pages, number_skip;
    int fresh;           /* nothing but repeated headings on this page yet */
    uint32_t hdr0, hdr1; /* the table's current header rows, repeated on new pages */
    /* loop variables, innermost last: $n and var="…" */
    struct {
        const char *name;
        double value;
    } vars[64];
    int nvars;
    double page_no, page_total; /* $page and $pages while numbering */
    int numbers_late;           /* the format needs the total: number at the end */
    struct late_number {
        size_t page; /* in the drawing */
        ipf_page_geom pg;
    } * late;
    size_t nlate, caplate;
    /* template elements whose select failed, each reported once */
    const xmlNode *bad[16];
    size_t nbad, template_errors;
    const xmlNode *numbering;
    ipf_sorter *sorter;         /* collators for sort="…", opened on first use */
    xmlNodeSetPtr group;        /* $group: the nodes of the group being laid out */
    xmlXPathObjectPtr pool[32]; /* node sets for reuse (new_set, release) */
    int npool;
    xmlBufferPtr textbuf; /* the string of eval_string() and node_text() */

    /* growing buffers, kept across documents */
    op *ops;
    size_t nops, capops;
    line *lines;
    size_t nlines, caplines;
    char *text;
    size_t ntext, captext;
    cell *cells;
    size_t ncells, capcells;
    row *rows;
    size_t nrows, caprows;
    int budget_spent; /* the XPath budget ran out (reported once) */
    /* paragraph scratch */
    ipf_broken broken; /* the lines of the paragraph being set */
    uint32_t *cps;
    double *adv;
    int16_t *fnt;
    uint8_t *ul;     /* underline flag per code point */
    double *bl, *br; /* blank left and right of a mark's ink, in points (-1: unknown) */
    size_t ncps, capcps;
    char *scratch;
    size_t capscratch;
    /* strings made for this document (section titles for the outline) */
    char **strs;
    size_t nstrs, capstrs;
};

ipf_status ipf_layout_new(ipf_layout **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? IPF_OK : IPF_ERR_NOMEM;
}

void ipf_layout_free(ipf_layout *lay)
{
    if (!lay)
        return;
    xmlXPathFreeContext(lay->xp);
    for (int i = 0; i < lay->npool; i++)
        xmlXPathFreeObject(lay->pool[i]);
    xmlBufferFree(lay->textbuf);
    ipf_line_breaker_free(lay->lb);
    ipf_broken_free(&lay->broken);
    ipf_sorter_free(lay->sorter);
    free(lay->ops);
    free(lay->lines);
    free(lay->text);
    free(lay->cells);
    free(lay->rows);
    free(lay->cps);
    free(lay->adv);
    free(lay->fnt);
    free(lay->ul);
    free(lay->bl);
    free(lay->br);
    free(lay->scratch);
    for (size_t i = 0; i < lay->nstrs; i++)
        free(lay->strs[i]);
    free(lay->strs);
    free(lay->late);
    free(lay);
}

/* ---------------------------------------------------------------- helpers */

static int is_cjk(uint32_t c)
{
    return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFFEF) ||
           (c >= 0x2000 && c <= 0x206F) || (c >= 0x20000 && c <= 0x3FFFF);
}

static int is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

size_t ipf_text_normalize(const char *in, char *out)
{
    /* out must hold strlen(in) + 1 bytes: the result is never longer. */
    size_t o = 0;
    const char *p = in;
    uint32_t prev = 0;
    int pending_space = 0;
    while (*p) {
        uint32_t c;
        const char *start = p;
        if (ipf_utf8_next(&p, &c) < 0) {
            p = start + 1;
            continue;
        }
        if (is_space(c)) {
            pending_space = prev != 0;
            continue;
        }
        if (pending_space && !(is_cjk(prev) && is_cjk(c)))
            out[o++] = ' ';
        pending_space = 0;
        /* A loop, not memcpy: one to four bytes, and under ASan a memcpy
         * call per character was a tenth of the normalisation. */
        while (start < p)
            out[o++] = *start++;
        prev = c;
    }
    out[o] = '\0';
    return o;
}

static int parse_len(const char *s, double em, double def, double *out)
{
    if (!s) {
        *out = def;
        return 0;
    }
    return ipf_length_parse(s, em, out);
}

/* Style of a template element: defaults < class style < own attributes. */
static void apply_style_attrs(ipf_layout *lay, const xmlNode *n, style *s)
{
    const char *v;
    if ((v = ipf_tpl_attr(n, "size")))
        parse_len(v, s->size, s->size, &s->size);
    if ((v = ipf_tpl_attr(n, "line-height")))
        s->line_height = strtod(v, NULL) > 0 ? strtod(v, NULL) : s->line_height;
    if ((v = ipf_tpl_attr(n, "indent")))
        parse_len(v, s->size, 0, &s->indent);
    if ((v = ipf_tpl_attr(n, "space-before")))
        parse_len(v, s->size, 0, &s->space_before);
    if ((v = ipf_tpl_attr(n, "space-after")))
        parse_len(v, s->size, 0, &s->space_after);
    if ((v = ipf_tpl_attr(n, "letter-spacing")))
        parse_len(v, s->size, 0, &s->letter_spacing);
    if ((v = ipf_tpl_attr(n, "bold")))
        s->bold = strcmp(v, "true") == 0;
    if ((v = ipf_tpl_attr(n, "align")))
        s->align = !strcmp(v, "center")    ? AL_CENTER
                   : !strcmp(v, "right")   ? AL_RIGHT
                   : !strcmp(v, "justify") ? AL_JUSTIFY
                                           : AL_LEFT;
    if ((v = ipf_tpl_attr(n, "valign")))
        s->valign = !strcmp(v, "middle") ? VA_MIDDLE : !strcmp(v, "bottom") ? VA_BOTTOM : VA_TOP;
    (void)lay;
}

static void style_for(ipf_layout *lay, const xmlNode *n, const char *cls, style *s)
{
    const char *own = ipf_tpl_attr(n, "class");
    if (own)
        cls = own;
    if (cls && lay->styles) {
        for (const xmlNode *c = lay->styles->children; c; c = c->next) {
            const char *k = ipf_tpl_attr(c, "class");
            if (ipf_tpl_is(c, "style") && k && strcmp(k, cls) == 0)
                apply_style_attrs(lay, c, s);
        }
    }
    apply_style_attrs(lay, n, s);
}

/* ---------------------------------------------------------------- XPath */

/* libxml2 would print its own English message to stderr for a select=""
 * that compiled but fails when evaluated; eval() reports it instead. */
static void quiet_xpath_error(void *data, xmlErrorPtr e)
{
    (void)data;
    (void)e;
}

/* A path of child steps (d:institution/d:name), perhaps ending in an
 * attribute (d:institution/d:staff/@total), is walked here instead of by
 * libxml2, whose evaluator allocates a parser context, a value stack and a
 * node set per step: those were half the allocations of a form's layout.
 * The walk gives the same nodes in the same (document) order and charges
 * the XPath budget one operation per node it looks at; anything else
 * (predicates, axes, functions, variables, a prefix not declared) goes to
 * libxml2 as before. */
#define SIMPLE_STEPS 8

typedef struct simple_step {
    const xmlChar *uri; /* NULL: no namespace */
    const char *name;
    size_t len;
} simple_step;

static int name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* The steps of src, or -1: not such a path.  *attr: the last is @name. */
static int simple_parse(ipf_layout *lay, const char *src, simple_step *st, int *attr)
{
    int n = 0;
    *attr = 0;
    for (const char *p = src;;) {
        if (n == SIMPLE_STEPS || *attr)
            return -1;
        if (*p == '@') {
            *attr = 1;
            p++;
        }
        const char *a = p;
        if (!name_start((unsigned char)*p))
            return -1;
        while (name_char((unsigned char)*p))
            p++;
        st[n].uri = NULL;
        st[n].name = a;
        if (*p == ':') {
            char prefix[64];
            if ((size_t)(p - a) >= sizeof prefix)
                return -1;
            memcpy(prefix, a, (size_t)(p - a));
            prefix[p - a] = '\0';
            st[n].uri = xmlXPathNsLookup(lay->xp, (const xmlChar *)prefix);
            if (!st[n].uri)
                return -1;
            a = ++p;
            if (!name_start((unsigned char)*p))
                return -1;
            while (name_char((unsigned char)*p))
                p++;
            st[n].name = a;
        }
        st[n].len = (size_t)(p - a);
        n++;
        if (*p == '\0')
            return n;
        if (*p != '/')
            return -1;
        p++;
    }
}

static int simple_match(const xmlChar *name, const xmlNs *ns, const simple_step *s)
{
    /* A loop, not strncmp: libFuzzer hooks every strncmp call. */
    size_t i = 0;
    while (i < s->len && name[i] == (xmlChar)s->name[i])
        i++;
    if (i < s->len || name[i] != '\0')
        return 0;
    return s->uri ? ns && xmlStrEqual(ns->href, s->uri) : !ns;
}

/* Adds the nodes that steps k.. reach from n to set, or with set NULL
 * finds the first of them (*first): 0, 1 found the first, -1 out of
 * memory, -2 over the budget. */
static int add_found(xmlNodeSetPtr set, xmlNodePtr n, xmlNodePtr *first)
{
    if (!set) {
        *first = n;
        return 1;
    }
    return xmlXPathNodeSetAddUnique(set, n) < 0 ? -1 : 0;
}

static int simple_walk(ipf_layout *lay, xmlNodePtr n, const simple_step *st, int k, int nsteps,
                       int attr, xmlNodeSetPtr set, xmlNodePtr *first)
{
    xmlXPathContextPtr xp = lay->xp;
    if (attr && k == nsteps - 1) {
        if (n->type != XML_ELEMENT_NODE)
            return 0;
        for (xmlAttrPtr a = n->properties; a; a = a->next) {
            if (xp->opLimit && ++xp->opCount >= xp->opLimit)
                return -2;
            if (simple_match(a->name, a->ns, &st[k])) {
                int rc = add_found(set, (xmlNodePtr)a, first);
                if (rc != 0)
                    return rc;
            }
        }
        return 0;
    }
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (xp->opLimit && ++xp->opCount >= xp->opLimit)
            return -2;
        if (c->type != XML_ELEMENT_NODE || !simple_match(c->name, c->ns, &st[k]))
            continue;
        int rc = k + 1 == nsteps ? add_found(set, c, first)
                                 : simple_walk(lay, c, st, k + 1, nsteps, attr, set, first);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A node-set result for another evaluation: libxml2's own cache is not
 * reachable from outside, and a fresh object costs three allocations. */
#define POOLED_SETS ((int)(sizeof lay->pool / sizeof lay->pool[0]))

static xmlXPathObjectPtr new_set(ipf_layout *lay)
{
    if (lay->npool > 0)
        return lay->pool[--lay->npool];
    xmlXPathObjectPtr o = xmlXPathNewNodeSet(NULL);
    if (o && !o->nodesetval) {
        xmlXPathFreeObject(o);
        return NULL;
    }
    return o;
}

/* Frees o (an evaluation's result, or NULL), or keeps a plain node set for
 * new_set(). */
static void release(ipf_layout *lay, xmlXPathObjectPtr o)
{
    if (!o)
        return;
    xmlNodeSetPtr ns = o->nodesetval;
    int keep = o->type == XPATH_NODESET && ns && !o->boolval && lay->npool < POOLED_SETS &&
               ns->nodeMax <= 256;
    for (int i = 0; keep && i < ns->nodeNr; i++)
        keep = ns->nodeTab[i]->type != XML_NAMESPACE_DECL; /* copies, freed with the set */
    if (!keep) {
        xmlXPathFreeObject(o);
        return;
    }
    ns->nodeNr = 0;
    memset(o, 0, sizeof *o);
    o->type = XPATH_NODESET;
    o->nodesetval = ns;
    lay->pool[lay->npool++] = o;
}

/* 1: src was such a path, *out its node set (NULL: out of memory or over
 * the budget), or with out NULL its first node in *first (NULL: none);
 * 0: libxml2 must evaluate it; -1 out of memory, -2 over the budget. */
static int simple_eval(ipf_layout *lay, const char *src, xmlNodePtr ctx, xmlXPathObjectPtr *out,
                       xmlNodePtr *first)
{
    simple_step st[SIMPLE_STEPS];
    int attr, n;
    if (out)
        *out = NULL;
    else
        *first = NULL;
    if (!src || !ctx || (ctx->type != XML_ELEMENT_NODE && ctx->type != XML_DOCUMENT_NODE) ||
        (n = simple_parse(lay, src, st, &attr)) < 0)
        return 0;
    if (lay->xp->opLimit && ++lay->xp->opCount >= lay->xp->opLimit)
        return -2;
    if (!out) {
        int rc = simple_walk(lay, ctx, st, 0, n, attr, NULL, first);
        return rc < 0 ? rc : 1;
    }
    xmlXPathObjectPtr o = new_set(lay);
    if (!o)
        return -1;
    int rc = simple_walk(lay, ctx, st, 0, n, attr, o->nodesetval, NULL);
    if (rc < 0) {
        release(lay, o);
        return rc;
    }
    *out = o;
    return 1;
}

/* An expression that compiled but cannot be evaluated (an undeclared prefix,
 * an unknown function) would leave its field blank without a word: that is
 * a template error, reported once per template element with its line.  The
 * check at load (ipf_form_bind_rules) finds most of them before any data. */
static void eval_failed(ipf_layout *lay, const xmlNode *tn, const char *what, const char *src,
                        int simple);

static xmlXPathObjectPtr eval_comp(ipf_layout *lay, const xmlNode *tn, xmlXPathCompExprPtr c,
                                   const char *what, const char *src, xmlNodePtr ctx)
{
    if (!c)
        return NULL;
    xmlXPathObjectPtr o;
    int simple = simple_eval(lay, src, ctx, &o, NULL);
    if (simple == 0) {
        lay->xp->node = ctx;
        xmlResetError(&lay->xp->lastError);
        o = xmlXPathCompiledEval(c, lay->xp);
    }
    if (o)
        return o;
    eval_failed(lay, tn, what, src, simple);
    return NULL;
}

/* The string value of the expression at ctx, in a buffer of lay's that the
 * next call reuses; NULL when it has none (cannot be evaluated, or out of
 * memory).  A path of child steps is not made into a node set at all. */
static const char *node_text(ipf_layout *lay, xmlNodePtr n);

static const char *eval_string(ipf_layout *lay, const xmlNode *tn, xmlXPathCompExprPtr c,
                               const char *what, const char *src, xmlNodePtr ctx)
{
    if (!c)
        return NULL;
    xmlNodePtr first;
    int simple = simple_eval(lay, src, ctx, NULL, &first);
    if (simple > 0)
        return node_text(lay, first);
    if (simple < 0) {
        eval_failed(lay, tn, what, src, simple);
        return NULL;
    }
    xmlXPathObjectPtr o = eval_comp(lay, tn, c, what, src, ctx);
    xmlChar *v = o ? xmlXPathCastToString(o) : NULL;
    release(lay, o);
    if (!v)
        return NULL;
    xmlBufferEmpty(lay->textbuf);
    int rc = xmlBufferCat(lay->textbuf, v);
    xmlFree(v);
    if (rc != 0) {
        lay->oom = 1;
        return NULL;
    }
    return (const char *)xmlBufferContent(lay->textbuf);
}

/* The string value of n (XPath's: an element's text, an attribute's
 * value; "" for none) in lay's buffer, which the next call reuses. */
static const char *node_text(ipf_layout *lay, xmlNodePtr n)
{
    xmlBufferEmpty(lay->textbuf);
    if (n && xmlNodeBufGetContent(lay->textbuf, n) != 0) {
        lay->oom = 1;
        return NULL;
    }
    return (const char *)xmlBufferContent(lay->textbuf);
}

/* Says why an evaluation gave nothing: simple is simple_eval()'s answer. */
static void eval_failed(ipf_layout *lay, const xmlNode *tn, const char *what, const char *src,
                        int simple)
{
    if ((simple == 0 && lay->xp->lastError.code == XML_ERR_NO_MEMORY) || simple == -1) {
        lay->oom = 1;
        return;
    }
    if (ipf_xml_xpath_exhausted(lay->xp)) {
        if (!lay->budget_spent++) {
            lay->template_errors++;
            ipf_diag_add(lay->d, ipf_form_path(lay->form), ipf_xml_line(tn), IPF_SEV_ERROR,
                         "TEMPLATE-LIMIT",
                         "模板的求值超过了每份文件 %lu 步的上限（如 //node() 这样宽泛的选择套在"
                         "循环中），已停止排版；请把 select 写得具体些",
                         (unsigned long)IPF_XPATH_BUDGET);
        }
        return;
    }
    for (size_t i = 0; i < lay->nbad; i++)
        if (lay->bad[i] == tn)
            return;
    if (lay->nbad < sizeof lay->bad / sizeof lay->bad[0])
        lay->bad[lay->nbad++] = tn;
    lay->template_errors++;
    ipf_diag_add(lay->d, ipf_form_node_file(lay->form, tn), ipf_xml_line(tn), IPF_SEV_ERROR,
                 "TEMPLATE-XPATH",
                 "%s=\"%s\" 无法求值（名称空间前缀未声明或函数不存在），此处内容无法填写", what,
                 src ? src : "");
}

static xmlXPathObjectPtr eval(ipf_layout *lay, const xmlNode *tn, xmlNodePtr ctx)
{
    return eval_comp(lay, tn, ipf_form_xpath(tn), "select", ipf_tpl_attr(tn, "select"), ctx);
}

/* when="…": absent or true. */
static int when_ok(ipf_layout *lay, const xmlNode *tn, xmlNodePtr ctx)
{
    xmlXPathCompExprPtr c = ipf_form_when(tn);
    if (!c)
        return 1;
    xmlXPathObjectPtr o = eval_comp(lay, tn, c, "when", ipf_tpl_attr(tn, "when"), ctx);
    int ok = o ? xmlXPathCastToBoolean(o) : 0;
    release(lay, o);
    return ok;
}

/* $n, var="…", $page/$pages, then the form's own ($edition, settings). */
static xmlXPathObjectPtr lookup_variable(void *data, const xmlChar *name, const xmlChar *ns)
{
    ipf_layout *lay = data;
    if (ns)
        return NULL;
    for (int i = lay->nvars; i-- > 0;)
        if (strcmp(lay->vars[i].name, (const char *)name) == 0)
            return xmlXPathNewFloat(lay->vars[i].value);
    if (strcmp((const char *)name, "group") == 0 && lay->group)
        return xmlXPathWrapNodeSet(xmlXPathNodeSetMerge(NULL, lay->group));
    if (strcmp((const char *)name, "page") == 0)
        return xmlXPathNewFloat(lay->page_no);
    if (strcmp((const char *)name, "pages") == 0)
        return xmlXPathNewFloat(lay->page_total);
    const char *v = ipf_form_variable(lay->form, (const char *)name);
    return v ? xmlXPathNewString((const xmlChar *)v) : NULL;
}

/* Entering a loop: $n (and var="k" as $k) are its 1-based position, and the
 * outer loop's come back when it ends (pop_loop). */
static int push_loop(ipf_layout *lay, const xmlNode *tn)
{
    int mark = lay->nvars;
    const char *var = ipf_tpl_attr(tn, "var");
    if (lay->nvars + 2 > (int)(sizeof lay->vars / sizeof lay->vars[0]))
        return mark; /* nesting beyond any form: the outer numbers stay */
    lay->vars[lay->nvars].name = "n";
    lay->vars[lay->nvars++].value = 0;
    if (var) {
        lay->vars[lay->nvars].name = var;
        lay->vars[lay->nvars++].value = 0;
    }
    return mark;
}

static void set_loop(ipf_layout *lay, int mark, int n)
{
    for (int i = mark; i < lay->nvars; i++)
        lay->vars[i].value = n;
}

static void pop_loop(ipf_layout *lay, int mark)
{
    lay->nvars = mark;
}

/* A text as printed: raw when it holds no {…}, else its parts with every
 * expression evaluated at ctx.  Caller frees; NULL when out of memory. */
static char *text_value(ipf_layout *lay, const xmlNode *tn, const ipf_tpl_text *t, const char *raw,
                        xmlNodePtr ctx)
{
    if (!t)
        return strdup(raw ? raw : "");
    ipf_buf out = {0};
    for (size_t i = 0; i < ipf_tpl_text_count(t); i++) {
        const char *lit = ipf_tpl_text_literal(t, i);
        if (!lit) {
            lit = eval_string(lay, tn, ipf_tpl_text_expr(t, i), "{…}", ipf_tpl_text_source(t, i),
                              ctx);
            if (!lit)
                lit = "";
        }
        ipf_buf_str(&out, lit);
    }
    return ipf_buf_take(&out);
}

/* An attribute that may hold {…}, as printed; NULL when absent (or OOM,
 * flagged). */
static char *attr_value(ipf_layout *lay, const xmlNode *tn, const char *attr, xmlNodePtr ctx)
{
    const char *raw = ipf_tpl_attr(tn, attr);
    if (!raw)
        return NULL;
    char *v = text_value(lay, tn, ipf_form_text(tn, attr), raw, ctx);
    if (!v)
        lay->oom = 1;
    return v;
}

/* ---------------------------------------------------------------- paragraphs */

static int para_push(ipf_layout *lay, uint32_t cp, double adv, int font, int underline)
{
    /* six arrays side by side, one entry per character of the paragraph */
    size_t need = lay->ncps + 1, c1 = lay->capcps, c2 = c1, c3 = c1, c4 = c1, c5 = c1, c6 = c1;
    if (IPF_GROW(lay->cps, c1, need) < 0 || IPF_GROW(lay->adv, c2, need) < 0 ||
        IPF_GROW(lay->fnt, c3, need) < 0 || IPF_GROW(lay->ul, c4, need) < 0 ||
        IPF_GROW(lay->bl, c5, need) < 0 || IPF_GROW(lay->br, c6, need) < 0)
        return -1;
    lay->capcps = c1;
    lay->cps[lay->ncps] = cp;
    lay->adv[lay->ncps] = adv;
    lay->fnt[lay->ncps] = (int16_t)font;
    lay->ul[lay->ncps] = (uint8_t)underline;
    lay->bl[lay->ncps] = lay->br[lay->ncps] = -1;
    lay->ncps++;
    return 0;
}

/* What the fonts say of a character: each is an array read in the font
 * set (fontset.h), so nothing is kept here. */
static glyph_info glyph(const ipf_layout *lay, uint32_t c)
{
    glyph_info g = {0};
    g.font = ipf_fontset_font_for(lay->fonts, c);
    g.adv = g.font >= 0 ? ipf_fontset_advance(lay->fonts, (size_t)g.font, c)
                        : ipf_fontset_advance(lay->fonts, 0, 0x4E00);
    g.ink = g.font >= 0 && ipf_fontset_ink(lay->fonts, (size_t)g.font, c, &g.il, &g.ir);
    return g;
}

static void para_text(ipf_layout *lay, const style *s, const char *utf8, int underline)
{
    const char *p = utf8;
    while (*p) {
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0) {
            p++;
            continue;
        }
        if (c == '\r' || c == '\t')
            c = ' ';
        if (c >= 0x2000 && c <= 0x200A) {
            /* Typographic spaces: drawn as space of their nominal width
             * (fonts rarely have glyphs for them). */
            double w = c == 0x2000 || c == 0x2002 ? 0.5 : c == 0x2001 || c == 0x2003 ? 1.0 : 0.25;
            if (para_push(lay, ' ', w * s->size + s->letter_spacing, 0, underline) < 0)
                lay->oom = 1;
            continue;
        }
        glyph_info g = glyph(lay, c);
        int f = g.font;
        double a = g.adv;
        if (para_push(lay, c, a * s->size + s->letter_spacing, f < 0 ? 0 : f, underline) < 0) {
            lay->oom = 1;
            continue;
        }
        /* For a mark, the blank on each side of its ink: compression takes
         * only blank (FandolFang's ？ is centred, its right half not blank). */
        double il = g.il, ir = g.ir;
        if (g.ink) {
            lay->bl[lay->ncps - 1] = fmax(0, il * s->size);
            lay->br[lay->ncps - 1] = fmax(0, (a - ir) * s->size + s->letter_spacing);
        }
    }
}

/* Pads a field with ideographic spaces up to a minimum width, so that blank
 * fields leave room to write by hand. */
static void para_pad(ipf_layout *lay, const style *s, size_t from, double min_w, int underline)
{
    double w = 0, step = s->size + s->letter_spacing;
    for (size_t i = from; i < lay->ncps; i++)
        w += lay->adv[i];
    /* A blank as narrow as nothing (negative letter spacing) would pad
     * forever, a tiny one for very long: 500 blanks is pages of writing. */
    if (!(step > 0.01))
        return;
    /* The last blank takes only what is left, so that fields of the same
     * min-width end at the same place whatever their text (a date's
     * half-width digits must not add half an em). */
    for (int k = 0; w + 0.01 < min_w && k < 500; k++) {
        double bw = fmin(step, min_w - w);
        if (para_push(lay, PH_BLANK, bw, 0, underline) < 0) {
            lay->oom = 1;
            return;
        }
        w += bw;
    }
}

static double baseline_of(ipf_layout *lay, double lh, double size)
{
    double asc = ipf_fontset_ascent(lay->fonts, 0), desc = ipf_fontset_descent(lay->fonts, 0);
    double em = asc - desc > 0.1 ? asc - desc : 1.0;
    return (lh - size) / 2 + size * (asc / em);
}

static uint32_t add_line(ipf_layout *lay, double h, int kind)
{
    if (IPF_GROW(lay->lines, lay->caplines, lay->nlines + 1) < 0) {
        lay->oom = 1;
        return 0;
    }
    line *l = &lay->lines[lay->nlines];
    l->height = (float)h;
    l->kind = (uint8_t)kind;
    l->para = 0;
    l->op_start = (uint32_t)lay->nops;
    l->op_count = 0;
    return (uint32_t)lay->nlines++;
}

static op *add_op(ipf_layout *lay, uint32_t li)
{
    if (IPF_GROW(lay->ops, lay->capops, lay->nops + 1) < 0) {
        lay->oom = 1;
        return NULL;
    }
    op *o = &lay->ops[lay->nops++];
    memset(o, 0, sizeof *o);
    lay->lines[li].op_count++;
    return o;
}

/* Emits one broken line as text runs: consecutive glyphs that share a font
 * and the same extra spacing become one run with that character spacing. */
static void emit_line(ipf_layout *lay, const style *s, const ipf_broken *b, size_t li, double shift,
                      uint32_t lidx, double lh)
{
    const ipf_line *ln = &b->lines[li];
    double base = baseline_of(lay, lh, s->size);
    size_t i = ln->start;
    while (i < ln->end) {
        uint32_t c = lay->cps[i];
        if (c == PH_INDENT || c == PH_BLANK || c == 0x3000 || c == ' ' || c == '\n' ||
            c == BREAK_MARK) {
            i++;
            continue;
        }
        if (c == PH_BOX || c == PH_BOX_ON) {
            op *o = add_op(lay, lidx);
            if (!o)
                return;
            o->kind = OP_CHECK;
            o->checked = c == PH_BOX_ON;
            o->w = (float)b->w[i]; /* the writer sizes □/☑ to the line's Hanzi */
            o->size = (float)s->size;
            o->dx = (float)(shift + b->x[i]);
            o->dy = (float)base;
            i++;
            continue;
        }
        size_t j = i + 1;
        double cs = 0;
        /* The PDF advances each glyph by its own width; letter spacing and
         * justification both become character spacing (Tc). */
        double ls = s->letter_spacing;
        if (j < ln->end)
            cs = b->x[j] - b->x[i] - (lay->adv[i] - ls);
        while (j < ln->end) {
            uint32_t cj = lay->cps[j];
            if (cj == PH_BOX || cj == PH_BOX_ON || cj == PH_INDENT || cj == PH_BLANK ||
                cj == BREAK_MARK || cj == '\n' || lay->fnt[j] != lay->fnt[i])
                break;
            if (j + 1 < ln->end) {
                double step = b->x[j + 1] - b->x[j] - (lay->adv[j] - ls);
                if (fabs(step - cs) > 0.01)
                    break;
            }
            if (fabs(b->x[j] - b->x[j - 1] - (lay->adv[j - 1] - ls) - cs) > 0.01)
                break;
            j++;
        }
        size_t start = lay->ntext;
        /* Room for the whole run, then encoded in place. */
        if (IPF_GROW(lay->text, lay->captext, lay->ntext + 4 * (j - i)) < 0) {
            lay->oom = 1;
            return;
        }
        for (size_t k = i; k < j; k++)
            lay->ntext += ipf_utf8_encode(lay->cps[k], lay->text + lay->ntext);
        op *o = add_op(lay, lidx);
        if (!o)
            return;
        o->kind = OP_TEXT;
        o->font = lay->fnt[i];
        o->bold = (uint8_t)s->bold;
        o->size = (float)s->size;
        o->cs = (float)(j - i > 1 ? cs : 0);
        o->dx = (float)(shift + b->x[i]);
        o->dy = (float)base;
        o->off = (uint32_t)start;
        o->len = (uint32_t)(lay->ntext - start);
        i = j;
    }
    /* Underlines under field runs (cover lines, signatures). */
    i = ln->start;
    while (i < ln->end) {
        if (!lay->ul[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < ln->end && lay->ul[j])
            j++;
        op *o = add_op(lay, lidx);
        if (!o)
            return;
        o->kind = OP_RULE;
        o->dx = (float)(shift + b->x[i]);
        o->w = (float)(b->x[j - 1] + b->w[j - 1] - b->x[i]);
        /* Clear of the glyphs' descent (about 0.12 em in 仿宋). */
        o->dy = (float)(base + s->size * 0.2);
        i = j;
    }
}

/* Breaks the paragraph collected in lay->cps into lines of the given width. */
static void para_finish(ipf_layout *lay, const style *s, double width)
{
    if (s->space_before > 0)
        add_line(lay, s->space_before, LN_SPACE);
    double lh = s->size * s->line_height;
    if (lay->ncps == 0) {
        add_line(lay, lh, LN_TEXT);
    } else {
        ipf_broken *b = &lay->broken;
        /* Every paragraph avoids a lone last character (孤字); a label also
         * balances its lines and breaks where its template says. */
        ipf_lb_opts o = {0};
        o.justify = s->align == AL_JUSTIFY;
        o.no_lone_last = 1;
        o.balance = o.marked_breaks = lay->in_label;
        o.blank_l = lay->bl;
        o.blank_r = lay->br;
        if (ipf_line_breaker_break_into(lay->lb, lay->cps, lay->adv, lay->ncps, width, &o, b) !=
            IPF_OK) {
            lay->oom = 1;
            return;
        }
        uint32_t first = (uint32_t)lay->nlines;
        for (size_t li = 0; li < b->nlines; li++) {
            double w = b->lines[li].width;
            if (s->letter_spacing > 0 && w > s->letter_spacing)
                w -= s->letter_spacing; /* no spacing after the last glyph */
            double shift = s->align == AL_CENTER  ? (width - w) / 2
                           : s->align == AL_RIGHT ? width - w
                                                  : 0;
            if (shift < 0)
                shift = 0;
            uint32_t idx = add_line(lay, lh, LN_TEXT);
            if (lay->oom)
                break;
            emit_line(lay, s, b, li, shift, idx, lh);
        }
        if (b->nlines == 0)
            add_line(lay, lh, LN_TEXT);
        if (!lay->oom && lay->nlines > first) {
            lay->lines[first].para |= PF_FIRST;
            lay->lines[lay->nlines - 1].para |= PF_LAST;
        }
    }
    if (s->space_after > 0)
        add_line(lay, s->space_after, LN_SPACE);
    lay->ncps = 0;
}

static const char *normalized(ipf_layout *lay, const char *raw)
{
    if (IPF_GROW(lay->scratch, lay->capscratch, strlen(raw) + 1) < 0) {
        lay->oom = 1;
        return "";
    }
    ipf_text_normalize(raw, lay->scratch);
    return lay->scratch;
}

static void format_value(const char *fmt, const char *in, char *out, size_t cap)
{
    int y, m, d;
    if (fmt && strcmp(fmt, "date-zh") == 0 && sscanf(in, "%d-%d-%d", &y, &m, &d) == 3)
        snprintf(out, cap, "%d年%d月%d日", y, m, d);
    else
        snprintf(out, cap, "%s", in);
}

/* The natural width of a field's text, formatted as it will be set. */
static double field_width(ipf_layout *lay, const xmlNode *f, const style *s, xmlNodePtr ctx)
{
    const char *v =
        eval_string(lay, f, ipf_form_xpath(f), "select", ipf_tpl_attr(f, "select"), ctx);
    double w = 0;
    if (v && *v) {
        size_t from = lay->ncps;
        const char *t = normalized(lay, v);
        char fmt[256];
        if (strlen(t) < 64) {
            format_value(ipf_tpl_attr(f, "format"), t, fmt, sizeof fmt);
            t = fmt;
        }
        para_text(lay, s, t, 0);
        for (size_t i = from; i < lay->ncps; i++)
            w += lay->adv[i];
        lay->ncps = from;
    }
    return w;
}

/* A field in a group (group="..."): the width of the widest field of that
 * group in the template, so that the cover's fill-in lines end in one
 * column and a longer value lengthens all of them alike. */
static double group_width(ipf_layout *lay, const xmlNode *f, const style *s, xmlNodePtr ctx)
{
    const char *g = ipf_tpl_attr(f, "group");
    double w = 0;
    if (!g || !f->doc)
        return 0;
    const xmlNode *n = xmlDocGetRootElement(f->doc);
    /* Depth-first over the template; groups are few and short. */
    while (n) {
        if (n->type == XML_ELEMENT_NODE && ipf_tpl_is(n, "field") && ipf_tpl_attr(n, "group") &&
            strcmp(ipf_tpl_attr(n, "group"), g) == 0) {
            double mw = 0, fw = lay->blank ? 0 : field_width(lay, n, s, ctx);
            if (ipf_tpl_attr(n, "min-width"))
                parse_len(ipf_tpl_attr(n, "min-width"), s->size, 0, &mw);
            /* A filled line runs on an em past its text, as a blank
             * written on by hand does, so the text never butts against
             * what follows the line (（盖章）). */
            w = fmax(w, fmax(mw, fw > 0 ? fw + s->size : 0));
        }
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && !n->next)
            n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
        if (n)
            n = n->next;
    }
    return w;
}

/* A select that is one variable reference ($n), nothing read from data. */
static int is_variable(const char *sel)
{
    if (!sel || *sel++ != '$' || !*sel)
        return 0;
    for (; *sel; sel++)
        if (!((*sel >= 'A' && *sel <= 'Z') || (*sel >= 'a' && *sel <= 'z') ||
              (*sel >= '0' && *sel <= '9') || *sel == '_' || *sel == '-' || *sel == '.'))
            return 0;
    return 1;
}

/* Inline content of <p>, <label>, <cell>: text, <field>, <check>, <br/>,
 * <wbr/>. */
static void inline_content(ipf_layout *lay, const xmlNode *n, const style *s, xmlNodePtr ctx)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            const ipf_tpl_text *t = ipf_form_text(c, NULL);
            if (!t) {
                para_text(lay, s, normalized(lay, (const char *)c->content), 0);
                continue;
            }
            char *v = text_value(lay, n, t, NULL, ctx);
            if (!v)
                lay->oom = 1;
            else
                para_text(lay, s, normalized(lay, v), 0);
            free(v);
        } else if (ipf_tpl_is(c, "br")) {
            if (para_push(lay, '\n', 0, 0, 0) < 0)
                lay->oom = 1;
        } else if (ipf_tpl_is(c, "wbr")) {
            if (para_push(lay, BREAK_MARK, 0, 0, 0) < 0)
                lay->oom = 1;
        } else if (ipf_tpl_is(c, "field")) {
            size_t from = lay->ncps;
            int ul =
                ipf_tpl_attr(c, "underline") && strcmp(ipf_tpl_attr(c, "underline"), "true") == 0;
            const char *sel = ipf_tpl_attr(c, "select");
            /* The blank form shows no data: a count or a sum of the empty
             * document would print 0 where the clerk is to write.  The
             * template's own variables ($n of a repeat) still print. */
            const char *v = lay->blank && !is_variable(sel)
                                ? NULL
                                : eval_string(lay, c, ipf_form_xpath(c), "select", sel, ctx);
            if (v && *v) {
                const char *t = normalized(lay, v);
                char fmt[256];
                if (strlen(t) < 64) {
                    format_value(ipf_tpl_attr(c, "format"), t, fmt, sizeof fmt);
                    t = fmt;
                    para_text(lay, s, t, ul);
                } else {
                    para_text(lay, s, t, ul);
                }
            }
            double mw = 0;
            if (ipf_tpl_attr(c, "min-width"))
                parse_len(ipf_tpl_attr(c, "min-width"), s->size, 0, &mw);
            if (lay->blank && ipf_tpl_attr(c, "blank-min-width"))
                parse_len(ipf_tpl_attr(c, "blank-min-width"), s->size, 0, &mw);
            if (ipf_tpl_attr(c, "group"))
                mw = fmax(mw, group_width(lay, c, s, ctx));
            if (mw > 0)
                para_pad(lay, s, from, mw, ul);
        } else if (ipf_tpl_is(c, "check")) {
            int on = 0;
            if (!lay->blank) {
                xmlXPathObjectPtr o = eval(lay, c, ctx);
                on = o ? xmlXPathCastToBoolean(o) : 0;
                release(lay, o);
            }
            if (para_push(lay, on ? PH_BOX_ON : PH_BOX, s->size * 1.05, 0, 0) < 0)
                lay->oom = 1;
        }
    }
}

static void begin_indent(ipf_layout *lay, const style *s)
{
    if (s->indent > 0 && para_push(lay, PH_INDENT, s->indent, 0, 0) < 0)
        lay->oom = 1;
}

/* Paragraphs from data nodes: an element with <p> children gives one
 * paragraph per <p>; otherwise its text is one paragraph. */
static void data_paragraphs(ipf_layout *lay, xmlNodePtr node, const style *s, double width,
                            int *count)
{
    int has_p = 0;
    for (xmlNodePtr c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "p") == 0) {
            has_p = 1;
            const char *t = node_text(lay, c);
            begin_indent(lay, s);
            para_text(lay, s, normalized(lay, t ? t : ""), 0);
            para_finish(lay, s, width);
            (*count)++;
        }
    if (!has_p) {
        const char *t = node_text(lay, node);
        const char *txt = normalized(lay, t ? t : "");
        if (*txt) {
            begin_indent(lay, s);
            para_text(lay, s, txt, 0);
            para_finish(lay, s, width);
            (*count)++;
        }
    }
}

static void select_paragraphs(ipf_layout *lay, const xmlNode *tn, const style *s, double width,
                              xmlNodePtr ctx)
{
    xmlXPathObjectPtr o = eval(lay, tn, ctx);
    int count = 0;
    if (o && o->type == XPATH_NODESET && o->nodesetval) {
        for (int i = 0; i < o->nodesetval->nodeNr; i++)
            data_paragraphs(lay, o->nodesetval->nodeTab[i], s, width, &count);
    } else if (o) {
        xmlChar *v = xmlXPathCastToString(o);
        if (v && *v) {
            para_text(lay, s, normalized(lay, (const char *)v), 0);
            para_finish(lay, s, width);
        }
        xmlFree(v);
    }
    release(lay, o);
}

static void blocks(ipf_layout *lay, const xmlNode *parent, const style *inherit, double width,
                   xmlNodePtr ctx);

static void block(ipf_layout *lay, const xmlNode *c, const style *inherit, double width,
                  xmlNodePtr ctx)
{
    if (!when_ok(lay, c, ctx))
        return;
    if (ipf_tpl_is(c, "p")) {
        style s = *inherit;
        s.indent = 0;
        s.space_before = s.space_after = 0;
        style_for(lay, c, NULL, &s);
        begin_indent(lay, &s);
        inline_content(lay, c, &s, ctx);
        para_finish(lay, &s, width);
    } else if (ipf_tpl_is(c, "paragraphs")) {
        style s = *inherit;
        s.indent = lay->base.indent;
        s.space_before = s.space_after = 0;
        s.align = AL_JUSTIFY;
        style_for(lay, c, "paragraph", &s);
        select_paragraphs(lay, c, &s, width, ctx);
    } else if (ipf_tpl_is(c, "list")) {
        style s = *inherit;
        s.indent = 0;
        s.align = AL_JUSTIFY;
        style_for(lay, c, "list", &s);
        xmlXPathObjectPtr o = eval(lay, c, ctx);
        if (o && o->type == XPATH_NODESET && o->nodesetval) {
            int mark = push_loop(lay, c);
            for (int i = 0; i < o->nodesetval->nodeNr && !lay->oom; i++) {
                set_loop(lay, mark, i + 1);
                char *m = attr_value(lay, c, "marker", o->nodesetval->nodeTab[i]);
                if (m)
                    para_text(lay, &s, normalized(lay, m), 0);
                free(m);
                const char *t = node_text(lay, o->nodesetval->nodeTab[i]);
                para_text(lay, &s, normalized(lay, t ? t : ""), 0);
                para_finish(lay, &s, width);
            }
            pop_loop(lay, mark);
        }
        release(lay, o);
    } else if (ipf_tpl_is(c, "each")) {
        xmlXPathObjectPtr o = lay->blank ? NULL : eval(lay, c, ctx);
        if (o && o->type == XPATH_NODESET && o->nodesetval) {
            int mark = push_loop(lay, c);
            for (int i = 0; i < o->nodesetval->nodeNr && !lay->oom; i++) {
                set_loop(lay, mark, i + 1);
                blocks(lay, c, inherit, width, o->nodesetval->nodeTab[i]);
            }
            pop_loop(lay, mark);
        }
        release(lay, o);
    } else if (ipf_tpl_is(c, "vspace")) {
        double h;
        if (parse_len(ipf_tpl_attr(c, "height"), inherit->size, 0, &h) == 0 && h > 0)
            add_line(lay, h, LN_SPACE);
    } else if (ipf_tpl_is(c, "vfill")) {
        add_line(lay, 0, LN_FILL);
    }
}

static void blocks(ipf_layout *lay, const xmlNode *parent, const style *inherit, double width,
                   xmlNodePtr ctx)
{
    for (const xmlNode *c = parent->children; c && !lay->oom; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            block(lay, c, inherit, width, ctx);
}

static int has_block_children(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (ipf_tpl_is(c, "p") || ipf_tpl_is(c, "paragraphs") || ipf_tpl_is(c, "list") ||
            ipf_tpl_is(c, "each") || ipf_tpl_is(c, "vspace") || ipf_tpl_is(c, "vfill"))
            return 1;
    return 0;
}

static double lines_height(ipf_layout *lay, uint32_t a, uint32_t b)
{
    double h = 0;
    for (uint32_t i = a; i < b; i++)
        h += lay->lines[i].height;
    return h;
}

/* ---------------------------------------------------------------- pages */

static void draw_lines(ipf_layout *lay, uint32_t a, uint32_t b, double x, double y_top,
                       double extra_fill);

/* Whether the page-number format prints the total ({pages}): then the
 * numbers are drawn when the last page is known. */
static int numbering_needs_total(const xmlNode *pn)
{
    const ipf_tpl_text *t = ipf_form_text(pn, "format");
    for (size_t i = 0; i < ipf_tpl_text_count(t); i++)
        if (ipf_tpl_text_source(t, i) && strstr(ipf_tpl_text_source(t, i), "pages"))
            return 1;
    return 0;
}

static void draw_page_number(ipf_layout *lay);

static void finish_page(ipf_layout *lay)
{
    if (!lay->page_open)
        return;
    lay->page_open = 0;
    const xmlNode *pn = lay->numbering;
    if (!pn || lay->pages <= lay->number_skip)
        return;
    if (lay->numbers_late) {
        if (IPF_GROW(lay->late, lay->caplate, lay->nlate + 1) < 0) {
            lay->oom = 1;
            return;
        }
        lay->late[lay->nlate].page = (size_t)(lay->pages - 1);
        lay->late[lay->nlate++].pg = lay->pg;
        return;
    }
    lay->page_no = lay->pages - lay->number_skip;
    draw_page_number(lay);
}

/* The number of the current page (lay->page_no) at the foot of lay->pg. */
static void draw_page_number(ipf_layout *lay)
{
    const xmlNode *pn = lay->numbering;
    ipf_drawing_page_number(lay->dr, (int)lay->page_no); /* for /PageLabels */
    char *buf = NULL;
    ipf_drawing_page_number(lay->dr, (int)lay->page_no); /* for /PageLabels */
    if (ipf_tpl_attr(pn, "format")) {
        buf = attr_value(lay, pn, "format", xmlDocGetRootElement(lay->data));
    } else {
        char num[32];
        snprintf(num, sizeof num, "— %.0f —", lay->page_no);
        buf = strdup(num);
    }
    if (!buf) {
        lay->oom = 1;
        return;
    }
    style s = lay->base;
    s.align = AL_CENTER;
    s.line_height = 1.0;
    parse_len(ipf_tpl_attr(pn, "size"), s.size, s.size, &s.size);
    double off = 7 * 72 / 25.4;
    parse_len(ipf_tpl_attr(pn, "offset"), s.size, off, &off);
    double width = lay->pg.width - lay->pg.left - lay->pg.right;
    uint32_t l0 = (uint32_t)lay->nlines;
    para_text(lay, &s, buf, 0);
    free(buf);
    para_finish(lay, &s, width);
    ipf_drawing_artifact(lay->dr, 1); /* page furniture, not the form's text */
    draw_lines(lay, l0, (uint32_t)lay->nlines, lay->pg.left, lay->pg.height - lay->pg.bottom + off,
               0);
    ipf_drawing_artifact(lay->dr, 0);
}

static void new_page(ipf_layout *lay)
{
    finish_page(lay);
    if (ipf_drawing_add_page(lay->dr, lay->pg.width, lay->pg.height) < 0)
        lay->oom = 1;
    lay->pages++;
    lay->page_open = 1;
    lay->fresh = 1;
    lay->y = lay->pg.top;
}

static double body_bottom(const ipf_layout *lay)
{
    return lay->pg.height - lay->pg.bottom;
}

static void draw_lines(ipf_layout *lay, uint32_t a, uint32_t b, double x, double y_top,
                       double extra_fill)
{
    int fills = 0;
    for (uint32_t i = a; i < b; i++)
        fills += lay->lines[i].kind == LN_FILL;
    double y = y_top;
    for (uint32_t i = a; i < b && !lay->oom; i++) {
        const line *l = &lay->lines[i];
        if (l->kind == LN_FILL) {
            if (fills > 0)
                y += extra_fill / fills;
            continue;
        }
        for (uint32_t k = 0; k < l->op_count; k++) {
            const op *o = &lay->ops[l->op_start + k];
            double px = x + o->dx, py = lay->pg.height - (y + o->dy);
            int rc = 0;
            if (o->kind == OP_TEXT)
                rc = ipf_drawing_text(lay->dr, px, py, o->font, o->size, o->cs, o->bold,
                                      lay->text + o->off, o->len);
            else if (o->kind == OP_RULE)
                rc = ipf_drawing_line(lay->dr, px, py, px + o->w, py, 0.5);
            else
                rc = ipf_drawing_checkbox(lay->dr, px, py, o->w, o->size, o->checked);
            if (rc < 0)
                lay->oom = 1;
        }
        y += l->height;
    }
}

static uint32_t lines_fitting(ipf_layout *lay, uint32_t a, uint32_t b, double h);

/* Cover and instruction pages: blocks flowing down the page; <vfill/> takes
 * what is left of the page, so the issuer sits at the foot of the cover. */
static void page_block(ipf_layout *lay, const xmlNode *pb, xmlNodePtr ctx)
{
    finish_page(lay); /* numbered with its own geometry */
    lay->pg = *ipf_form_part_page(lay->form, pb);
    new_page(lay);
    const char *ol = ipf_tpl_attr(pb, "outline");
    if (ol && ipf_drawing_outline(lay->dr, 0, ol, lay->pg.height - lay->pg.top) < 0)
        lay->oom = 1;
    double width = lay->pg.width - lay->pg.left - lay->pg.right;
    uint32_t l0 = (uint32_t)lay->nlines;
    style s = lay->base;
    s.indent = 0;
    blocks(lay, pb, &s, width, ctx);
    uint32_t l1 = (uint32_t)lay->nlines;
    double avail = body_bottom(lay) - lay->y;
    double h = lines_height(lay, l0, l1);
    if (h <= avail) {
        draw_lines(lay, l0, l1, lay->pg.left, lay->y, avail - h);
        lay->y += avail;
        return;
    }
    /* Too long for one page: flow on, never clipping, and never leaving a
     * paragraph's single line alone at a page's foot or head. */
    uint32_t i = l0;
    while (i < l1 && !lay->oom) {
        uint32_t stop = lines_fitting(lay, i, l1, body_bottom(lay) - lay->y);
        if (stop == i && lay->y <= lay->pg.top + 0.01)
            stop = i + 1; /* a line taller than a page: never loop */
        for (; i < stop; i++) {
            draw_lines(lay, i, i + 1, lay->pg.left, lay->y, 0);
            lay->y += lay->lines[i].height;
        }
        if (i < l1) {
            new_page(lay);
            while (i < l1 && lay->lines[i].kind != LN_TEXT)
                i++;
        }
    }
}

/* ---------------------------------------------------------------- tables */

typedef struct table_ctx {
    double colx[65];
    int ncols;
    uint32_t row0;
} table_ctx;

static int table_columns(ipf_layout *lay, const xmlNode *t, table_ctx *tc)
{
    double width = lay->pg.width - lay->pg.left - lay->pg.right;
    double fixed = 0, fr = 0, w[64], f[64];
    int n = 0;
    const char *p = ipf_tpl_attr(t, "columns");
    while (p && *p && n < 64) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char buf[32];
        size_t k = 0;
        while (*p && *p != ' ' && k < sizeof buf - 1)
            buf[k++] = *p++;
        buf[k] = '\0';
        w[n] = f[n] = 0;
        if (k > 2 && strcmp(buf + k - 2, "fr") == 0)
            fr += f[n] = strtod(buf, NULL);
        else if (ipf_length_parse(buf, lay->base.size, &w[n]) == 0)
            fixed += w[n];
        n++;
    }
    double rest = width - fixed;
    tc->colx[0] = lay->pg.left;
    for (int i = 0; i < n; i++) {
        double cw = f[i] > 0 ? (rest > 0 ? rest * f[i] / fr : 0) : w[i];
        tc->colx[i + 1] = tc->colx[i] + cw;
    }
    /* Columns are scaled to the text block if fixed widths overshoot it. */
    double total = tc->colx[n] - lay->pg.left;
    if (total > width + 0.5)
        for (int i = 1; i <= n; i++)
            tc->colx[i] = lay->pg.left + (tc->colx[i] - lay->pg.left) * width / total;
    tc->ncols = n;
    return n;
}

static cell *new_cell(ipf_layout *lay)
{
    if (IPF_GROW(lay->cells, lay->capcells, lay->ncells + 1) < 0) {
        lay->oom = 1;
        return NULL;
    }
    cell *c = &lay->cells[lay->ncells++];
    memset(c, 0, sizeof *c);
    return c;
}

static row *new_row(ipf_layout *lay)
{
    if (IPF_GROW(lay->rows, lay->caprows, lay->nrows + 1) < 0) {
        lay->oom = 1;
        return NULL;
    }
    row *r = &lay->rows[lay->nrows++];
    memset(r, 0, sizeof *r);
    r->cell0 = (uint32_t)lay->ncells;
    r->sect = UINT32_MAX;
    return r;
}

static double cell_inner_width(ipf_layout *lay, const table_ctx *tc, int col, int span)
{
    double w = tc->colx[col + span] - tc->colx[col] - 2 * lay->pad;
    return w > lay->base.size ? w : lay->base.size;
}

/* Measures one template cell (label, value or cell) into lines. */
static void measure_cell(ipf_layout *lay, const xmlNode *tn, cell *c, const table_ctx *tc,
                         xmlNodePtr ctx)
{
    int label = ipf_tpl_is(tn, "label");
    double width = cell_inner_width(lay, tc, c->col, c->span);
    style s = lay->base;
    s.indent = 0;
    /* Word's defaults for a table cell, which the official forms use: text at
     * the top left; labels centred. */
    s.align = label ? AL_CENTER : AL_LEFT;
    s.valign = label ? VA_MIDDLE : VA_TOP;
    style_for(lay, tn, label ? "label" : ipf_tpl_is(tn, "value") ? "value" : "cell", &s);
    lay->in_label = label;
    c->valign = s.valign;
    /* A cell given room to write in (min-height, blank-min-height) keeps its
     * text at the top, where a hint stands above the space it describes. */
    c->valign_auto = !label && s.valign == VA_TOP && !ipf_tpl_attr(tn, "valign") &&
                     !ipf_tpl_attr(tn, "min-height") && !ipf_tpl_attr(tn, "blank-min-height");
    c->is_label = label;
    const char *kt = ipf_tpl_attr(tn, "keep-together");
    c->keep = kt && strcmp(kt, "true") == 0;
    const char *bd = ipf_tpl_attr(tn, "border");
    c->frameless = bd && strcmp(bd, "none") == 0;
    double mh = 0;
    if (ipf_tpl_attr(tn, "min-height"))
        parse_len(ipf_tpl_attr(tn, "min-height"), s.size, 0, &mh);
    if (lay->blank && ipf_tpl_attr(tn, "blank-min-height"))
        parse_len(ipf_tpl_attr(tn, "blank-min-height"), s.size, 0, &mh);
    c->min_h = mh;
    c->l0 = (uint32_t)lay->nlines;
    if (!when_ok(lay, tn, ctx)) {
        /* when="" false: the cell keeps its place, empty */
    } else if (ipf_tpl_is(tn, "value")) {
        const char *para = ipf_tpl_attr(tn, "paragraphs");
        if (para && strcmp(para, "true") == 0) {
            s.indent = lay->base.indent;
            s.align = AL_JUSTIFY;
        }
        select_paragraphs(lay, tn, &s, width, ctx);
    } else if (has_block_children(tn)) {
        blocks(lay, tn, &s, width, ctx);
    } else {
        inline_content(lay, tn, &s, ctx);
        para_finish(lay, &s, width);
    }
    c->l1 = (uint32_t)lay->nlines;
    if (c->l1 == c->l0)
        add_line(lay, s.size * s.line_height, LN_TEXT), c->l1 = (uint32_t)lay->nlines;
    c->content_h = lines_height(lay, c->l0, c->l1);
    c->c0 = c->l0;
    c->c1 = c->l1;
    if (label && ipf_form_when(tn) && !when_ok(lay, tn, ctx)) {
        /* an empty label (when="" false): nothing to continue */
    } else if (label) {
        /* The same label with "（续）" for pages it continues on. */
        uint32_t c0 = (uint32_t)lay->nlines;
        inline_content(lay, tn, &s, ctx);
        para_text(lay, &s, lay->cont_suffix, 0);
        para_finish(lay, &s, width);
        /* In a narrow cell (a 序号 column) the suffix would stack up
         * character by character: repeat the label alone there. */
        if (lay->nlines - c0 > (size_t)(c->l1 - c->l0))
            lay->nlines = c0;
        else
            c->c0 = c0, c->c1 = (uint32_t)lay->nlines;
    }
    lay->in_label = 0;
}

/* A copy of s that lives as long as this document's layout. */
static const char *outline_text(ipf_layout *lay, const char *s)
{
    if (!s)
        return NULL;
    char *c = strdup(s);
    if (!c || IPF_GROW(lay->strs, lay->capstrs, lay->nstrs + 1) < 0) {
        free(c);
        lay->oom = 1;
        return NULL;
    }
    lay->strs[lay->nstrs++] = c;
    return c;
}

static void section_row(ipf_layout *lay, const xmlNode *sn, const table_ctx *tc, xmlNodePtr ctx)
{
    char *title = attr_value(lay, sn, "title", ctx), *note = attr_value(lay, sn, "note", ctx);
    row *r = lay->oom ? NULL : new_row(lay);
    if (!r) {
        free(title);
        free(note);
        return;
    }
    r->is_section = 1;
    r->outline = outline_text(lay, title);
    cell *c = new_cell(lay);
    if (!c) {
        free(title);
        free(note);
        return;
    }
    r = &lay->rows[lay->nrows - 1];
    r->ncells = 1;
    c->col = 0;
    c->span = tc->ncols;
    c->rowspan = 1;
    c->is_label = 1;
    c->valign = VA_MIDDLE;
    style s = lay->base;
    s.indent = 0;
    s.bold = 1;
    s.align = AL_LEFT;
    style_for(lay, sn, "section", &s);
    double width = cell_inner_width(lay, tc, 0, tc->ncols);
    for (int pass = 0; pass < 2; pass++) {
        uint32_t l0 = (uint32_t)lay->nlines;
        para_text(lay, &s, title ? title : "", 0);
        if (pass == 1)
            para_text(lay, &s, lay->cont_suffix, 0);
        para_finish(lay, &s, width);
        if (note) {
            style ns = s;
            ns.bold = 0;
            ns.align = AL_CENTER;
            para_text(lay, &ns, note, 0);
            para_finish(lay, &ns, width);
        }
        if (pass == 0) {
            c->l0 = l0;
            c->l1 = (uint32_t)lay->nlines;
        } else {
            c->c0 = l0;
            c->c1 = (uint32_t)lay->nlines;
        }
    }
    c->content_h = lines_height(lay, c->l0, c->l1);
    free(title);
    free(note);
}

static void table_row(ipf_layout *lay, const xmlNode *rn, const table_ctx *tc, xmlNodePtr ctx,
                      int *carry)
{
    row *r = new_row(lay);
    if (!r)
        return;
    uint32_t ri = (uint32_t)(lay->nrows - 1);
    const char *hd = ipf_tpl_attr(rn, "header");
    r->is_header = hd && strcmp(hd, "true") == 0;
    const char *kn = ipf_tpl_attr(rn, "keep-with-next");
    r->keep_next = kn && strcmp(kn, "true") == 0;
    int col = 0;
    for (const xmlNode *cn = rn->children; cn && !lay->oom; cn = cn->next) {
        if (cn->type != XML_ELEMENT_NODE)
            continue;
        while (col < tc->ncols && carry[col] > 0)
            col++;
        cell *c = new_cell(lay);
        if (!c)
            return;
        const char *sp = ipf_tpl_attr(cn, "span"), *rs = ipf_tpl_attr(cn, "rowspan");
        c->col = col;
        c->span = sp ? atoi(sp) : 1;
        c->rowspan = rs ? atoi(rs) : 1;
        if (c->span < 1 || col + c->span > tc->ncols)
            c->span = tc->ncols - col > 0 ? tc->ncols - col : 1;
        for (int k = 0; k < c->span && col + k < tc->ncols; k++)
            carry[col + k] = c->rowspan;
        measure_cell(lay, cn, &lay->cells[lay->ncells - 1], tc, ctx);
        col += c->span;
        lay->rows[ri].ncells++;
    }
    for (int k = 0; k < tc->ncols; k++)
        if (carry[k] > 0)
            carry[k]--;
}

static void table_items(ipf_layout *lay, const xmlNode *parent, const table_ctx *tc, xmlNodePtr ctx,
                        int *carry);

/* The rows of a <repeat> with data, in the order sort="…" asks for (collate.h),
 * with <group-header>/<group-footer> rows around each group-by="…" run.  $n
 * counts the rows across groups (序号 runs on); in a group's header and
 * footer $group is the group's nodes, for sum()/count() subtotals. */
static void repeat_rows(ipf_layout *lay, const xmlNode *rep, const table_ctx *tc, xmlNodeSetPtr set,
                        int mark, int *carry)
{
    ipf_rows rows;
    if (!lay->sorter && ipf_sorter_new(&lay->sorter) != IPF_OK) {
        lay->oom = 1;
        return;
    }
    ipf_status st = ipf_rows_order(lay->sorter, rep, set, lay->xp, lay->d, &rows);
    if (st != IPF_OK) {
        if (st == IPF_ERR_NOMEM)
            lay->oom = 1;
        else
            lay->template_errors++;
        return;
    }
    const xmlNode *gh = ipf_tpl_child(rep, "group-header"),
                  *gf = ipf_tpl_child(rep, "group-footer");
    xmlNodeSetPtr outer = lay->group;
    for (size_t g = 0; g < rows.ngroups && !lay->oom; g++) {
        size_t a = rows.group_start[g], b = g + 1 < rows.ngroups ? rows.group_start[g + 1] : rows.n;
        xmlNodeSetPtr ns = NULL;
        if (gh || gf) {
            ns = xmlXPathNodeSetCreate(NULL);
            for (size_t i = a; ns && i < b; i++)
                if (xmlXPathNodeSetAdd(ns, rows.nodes[i]) < 0)
                    lay->oom = 1;
            if (!ns)
                lay->oom = 1;
        }
        lay->group = ns;
        if (gh)
            table_items(lay, gh, tc, rows.nodes[a], carry);
        for (size_t i = a; i < b && !lay->oom; i++) {
            set_loop(lay, mark, (int)i + 1);
            table_items(lay, rep, tc, rows.nodes[i], carry);
        }
        if (gf)
            table_items(lay, gf, tc, rows.nodes[a], carry);
        lay->group = outer;
        xmlXPathFreeNodeSet(ns);
    }
    ipf_rows_free(&rows);
}

/* The rows of a table or of one pass of a <repeat>: sections, rows and
 * repeats, nested to any depth.  carry: the row spans reaching down, shared
 * by the whole table. */
static void table_items(ipf_layout *lay, const xmlNode *parent, const table_ctx *tc, xmlNodePtr ctx,
                        int *carry)
{
    for (const xmlNode *n = parent->children; n && !lay->oom; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || !when_ok(lay, n, ctx))
            continue;
        if (ipf_tpl_is(n, "section")) {
            section_row(lay, n, tc, ctx);
        } else if (ipf_tpl_is(n, "row")) {
            table_row(lay, n, tc, ctx, carry);
        } else if (ipf_tpl_is(n, "repeat")) {
            xmlXPathObjectPtr o = lay->blank ? NULL : eval(lay, n, ctx);
            int count = o && o->type == XPATH_NODESET && o->nodesetval ? o->nodesetval->nodeNr : 0;
            int mark = push_loop(lay, n);
            if (count > 0) {
                repeat_rows(lay, n, tc, o->nodesetval, mark, carry);
            } else {
                /* No data (or the blank form): empty copies to fill by hand. */
                const char *bc = ipf_tpl_attr(n, "blank-count");
                int copies = bc ? atoi(bc) : 1;
                if (copies > 100)
                    copies = 100; /* a typo must not lay out millions of rows */
                int was_blank = lay->blank;
                lay->blank = 1;
                for (int i = 0; i < copies && !lay->oom; i++) {
                    set_loop(lay, mark, i + 1);
                    table_items(lay, n, tc, xmlDocGetRootElement(lay->data), carry);
                }
                lay->blank = was_blank;
            }
            pop_loop(lay, mark);
            release(lay, o);
        }
    }
}

static void table_rows(ipf_layout *lay, const xmlNode *parent, const table_ctx *tc, xmlNodePtr ctx)
{
    int carry[64] = {0};
    table_items(lay, parent, tc, ctx, carry);
}

/* Row heights: each row is as tall as its tallest single-row cell; a cell
 * spanning rows makes the last of its rows taller if the span is short. */
static void row_heights(ipf_layout *lay, uint32_t r0, uint32_t r1)
{
    for (uint32_t ri = r0; ri < r1; ri++) {
        row *r = &lay->rows[ri];
        double h = 0;
        for (uint32_t k = 0; k < r->ncells; k++) {
            cell *c = &lay->cells[r->cell0 + k];
            double need = fmax(c->content_h + 2 * lay->pad, c->min_h);
            if (c->rowspan == 1 && need > h)
                h = need;
            if (c->keep)
                r->keep = 1;
        }
        r->h = h;
    }
    for (uint32_t ri = r0; ri < r1; ri++) {
        row *r = &lay->rows[ri];
        for (uint32_t k = 0; k < r->ncells; k++) {
            cell *c = &lay->cells[r->cell0 + k];
            if (c->rowspan <= 1)
                continue;
            uint32_t last = ri + (uint32_t)c->rowspan - 1;
            if (last >= r1)
                last = r1 - 1;
            double sum = 0;
            for (uint32_t q = ri; q <= last; q++)
                sum += lay->rows[q].h;
            double need = fmax(c->content_h + 2 * lay->pad, c->min_h);
            if (need > sum)
                lay->rows[last].h += need - sum;
        }
    }
}

/* The extent of a cell's fragment on the current page. */
typedef struct frag {
    uint32_t next_line; /* first content line not yet drawn */
    double top;         /* y where the cell's fragment on this page starts */
    int started;
} frag;

static void draw_cell_box(ipf_layout *lay, const table_ctx *tc, const cell *c, double top, double h)
{
    /* Each cell draws its own four sides, so a frameless one leaves its
     * neighbours' rules whole. */
    if (c->frameless)
        return;
    double x = tc->colx[c->col], w = tc->colx[c->col + c->span] - x;
    if (ipf_drawing_rect(lay->dr, x, lay->pg.height - top - h, w, h, lay->rule_w) < 0)
        lay->oom = 1;
}

/* Draws lines [a, b) of a cell inside a box of height h, honouring vertical
 * alignment and <vfill/> when the whole content is shown. */
static void draw_cell_content(ipf_layout *lay, const table_ctx *tc, const cell *c, uint32_t a,
                              uint32_t b, double top, double h, int whole)
{
    double ch = lines_height(lay, a, b);
    double inner = h - 2 * lay->pad;
    double dy = 0, fill = 0;
    int fills = 0;
    for (uint32_t i = a; i < b; i++)
        fills += lay->lines[i].kind == LN_FILL;
    /* A value of one line sits on its label's baseline: centred, as the
     * label is, when the row is taller (Word's cells are centred alike). */
    int text_lines = 0;
    for (uint32_t i = a; i < b; i++)
        text_lines += lay->lines[i].kind == LN_TEXT;
    /* (Not a box with a min-height: that is room to write in, read from
     * the top.) */
    int middle =
        c->valign == VA_MIDDLE || (c->valign_auto && whole && text_lines == 1 && c->min_h <= 0);
    if (whole && fills)
        fill = inner - ch;
    else if (middle)
        dy = (inner - ch) / 2;
    else if (c->valign == VA_BOTTOM)
        dy = inner - ch;
    if (dy < 0)
        dy = 0;
    if (fill < 0)
        fill = 0;
    draw_lines(lay, a, b, tc->colx[c->col] + lay->pad, top + lay->pad + dy, fill);
}

/* Whether a split before line i would leave a paragraph's single line
 * alone: its first line at the foot (an orphan) or its last line at the
 * head of the next page (a widow).  Space lines between are skipped. */
static int lonely_split(const ipf_layout *lay, uint32_t a, uint32_t i, uint32_t b)
{
    uint32_t before = i, after = i;
    while (before > a && lay->lines[before - 1].kind != LN_TEXT)
        before--;
    while (after < b && lay->lines[after].kind != LN_TEXT)
        after++;
    if (before > a) {
        uint8_t f = lay->lines[before - 1].para;
        if ((f & PF_FIRST) && !(f & PF_LAST))
            return 1;
    }
    if (after < b) {
        uint8_t f = lay->lines[after].para;
        if ((f & PF_LAST) && !(f & PF_FIRST))
            return 1;
    }
    return 0;
}

/* How many lines of [a, b) fit in height h (content area), moving the split
 * up so that no paragraph leaves one line alone on either side of it
 * (widows and orphans), unless that would leave nothing here. */
static uint32_t lines_fitting(ipf_layout *lay, uint32_t a, uint32_t b, double h)
{
    double used = 0;
    uint32_t i = a;
    while (i < b && used + lay->lines[i].height <= h + 0.01) {
        used += lay->lines[i].height;
        i++;
    }
    if (i >= b)
        return i;
    uint32_t k = i;
    for (int tries = 0; tries < 4 && k > a && lonely_split(lay, a, k, b); tries++)
        k--;
    /* Nothing but space may be left before the split. */
    uint32_t t = a;
    while (t < k && lay->lines[t].kind != LN_TEXT)
        t++;
    return t < k && !lonely_split(lay, a, k, b) ? k : i;
}

static void place_section_header(ipf_layout *lay, const table_ctx *tc, uint32_t si, int cont)
{
    const row *r = &lay->rows[si];
    const cell *c = &lay->cells[r->cell0];
    uint32_t a = cont ? c->c0 : c->l0, b = cont ? c->c1 : c->l1;
    double h = fmax(lines_height(lay, a, b) + 2 * lay->pad, c->min_h);
    if (!cont && r->outline &&
        ipf_drawing_outline(lay->dr, 0, r->outline, lay->pg.height - lay->y) < 0)
        lay->oom = 1;
    draw_cell_box(lay, tc, c, lay->y, h);
    draw_cell_content(lay, tc, c, a, b, lay->y, h, 1);
    lay->y += h;
    if (!cont)
        lay->fresh = 0;
}

static double rows_height(const ipf_layout *lay, uint32_t a, uint32_t b);

/* Header rows are short by nature: drawn whole, never split.  A cell
 * spanning header rows is drawn with the height of all its rows. */
static void place_header_rows(ipf_layout *lay, const table_ctx *tc, uint32_t h0, uint32_t h1)
{
    double top = lay->y;
    for (uint32_t ri = h0; ri < h1; ri++) {
        const row *r = &lay->rows[ri];
        for (uint32_t k = 0; k < r->ncells; k++) {
            const cell *c = &lay->cells[r->cell0 + k];
            uint32_t last = ri + (uint32_t)(c->rowspan > 1 ? c->rowspan : 1);
            double h = rows_height(lay, ri, last < h1 ? last : h1);
            draw_cell_box(lay, tc, c, top, h);
            draw_cell_content(lay, tc, c, c->l0, c->l1, top, h, 1);
        }
        top += r->h;
    }
    lay->y = top;
}

static void table_new_page(ipf_layout *lay, const table_ctx *tc, uint32_t sect)
{
    new_page(lay);
    ipf_drawing_artifact(lay->dr, 1); /* repeated headings: page furniture */
    if (sect != UINT32_MAX)
        place_section_header(lay, tc, sect, 1);
    if (lay->hdr1 > lay->hdr0)
        place_header_rows(lay, tc, lay->hdr0, lay->hdr1);
    ipf_drawing_artifact(lay->dr, 0);
}

/* Draws a cell spanning rows once its height on this page is known, then
 * moves it in the page's reading order to where its fragment began (mark[]
 * per column), so that readers meet a label before the rows it labels.
 * Later marks move with it. */
static void draw_span(ipf_layout *lay, const table_ctx *tc, const cell *c, double top, int cont,
                      int whole, size_t *mark)
{
    size_t m = ipf_drawing_mark(lay->dr);
    draw_cell_box(lay, tc, c, top, lay->y - top);
    draw_cell_content(lay, tc, c, cont ? c->c0 : c->l0, cont ? c->c1 : c->l1, top, lay->y - top,
                      whole);
    size_t k = ipf_drawing_mark(lay->dr) - m, at = mark[c->col];
    if (k && ipf_drawing_hoist(lay->dr, at, m) == 0)
        for (int q = 0; q < tc->ncols; q++)
            if (q != c->col && mark[q] >= at)
                mark[q] += k;
}

/* Places rows [b0, b1) — a block tied together by row spans — at lay->y,
 * splitting between rows and inside rows as pages require. */
static void place_block(ipf_layout *lay, const table_ctx *tc, uint32_t b0, uint32_t b1,
                        uint32_t sect)
{
    frag fr[64];
    memset(fr, 0, sizeof fr);
    /* Cells are indexed by column: the one occupying each column now. */
    const cell *owner[64] = {0};
    double span_top[64];
    size_t span_mark[64] = {0}; /* where each cell's fragment begins in reading order */
    int cont_label[64] = {0};
    for (uint32_t ri = b0; ri < b1 && !lay->oom; ri++) {
        row *r = &lay->rows[ri];
        for (uint32_t k = 0; k < r->ncells; k++) {
            const cell *c = &lay->cells[r->cell0 + k];
            owner[c->col] = c;
            fr[c->col].next_line = c->l0;
            fr[c->col].started = 0;
            span_top[c->col] = lay->y;
            span_mark[c->col] = ipf_drawing_mark(lay->dr);
            cont_label[c->col] = 0;
        }
        double remaining_h = r->h;
        int first_piece = 1;
        for (;;) {
            double avail = body_bottom(lay) - lay->y;
            /* How much of the row is still to draw: the tallest rest of a cell. */
            double need = 0;
            for (uint32_t k = 0; k < r->ncells; k++) {
                const cell *c = &lay->cells[r->cell0 + k];
                if (c->rowspan != 1)
                    continue;
                double rest = lines_height(lay, fr[c->col].next_line, c->l1) + 2 * lay->pad;
                if (rest > need)
                    need = rest;
            }
            double piece_h = first_piece ? remaining_h : fmax(need, 3 * lay->pad);
            /* On a fresh page whose repeated headings leave less than the
             * padding, a rest without text would move on forever: it is
             * drawn here, past the bottom, instead. */
            int text_left = 0;
            for (uint32_t k = 0; k < r->ncells; k++) {
                const cell *c = &lay->cells[r->cell0 + k];
                if (c->rowspan == 1 && fr[c->col].next_line < c->l1)
                    text_left = 1;
            }
            if (piece_h <= avail + 0.01 || (!first_piece && lay->fresh && !text_left)) {
                /* The rest of the row fits: draw it whole. */
                for (uint32_t k = 0; k < r->ncells; k++) {
                    const cell *c = &lay->cells[r->cell0 + k];
                    if (c->rowspan != 1)
                        continue;
                    draw_cell_box(lay, tc, c, lay->y, piece_h);
                    if (!first_piece && c->is_label && fr[c->col].next_line >= c->l1)
                        draw_cell_content(lay, tc, c, c->c0, c->c1, lay->y, piece_h, 0);
                    else
                        draw_cell_content(lay, tc, c, fr[c->col].next_line, c->l1, lay->y, piece_h,
                                          first_piece);
                }
                lay->y += piece_h;
                lay->fresh = 0;
                break;
            }
            /* Not enough room.  Move the row to a new page if it would fit
             * there, or if barely anything fits here; otherwise split. */
            double body = body_bottom(lay) - lay->pg.top;
            double line_min = lay->base.size * lay->base.line_height * 2 + 2 * lay->pad;
            /* On a page holding nothing but repeated headings, moving on
             * would gain nothing: split here (this also ends any loop). */
            int at_top = lay->fresh;
            /* Like Word's "allow row to break across pages": long text
             * flows on, but a short row, a signature block, and a box whose
             * text fits here but whose writing space does not, move whole. */
            double text_need = 0;
            for (uint32_t k = 0; k < r->ncells; k++) {
                const cell *c = &lay->cells[r->cell0 + k];
                double t = lines_height(lay, fr[c->col].next_line, c->l1) + 2 * lay->pad;
                if (c->rowspan == 1 && t > text_need)
                    text_need = t;
            }
            int move = r->keep || piece_h <= body * 0.33 || avail < line_min ||
                       (first_piece && text_need <= avail && piece_h <= body * 0.9);
            if (!at_top && move) {
                /* Close the spanning cells' fragments on this page first. */
                for (int col = 0; col < tc->ncols; col++) {
                    const cell *c = owner[col];
                    if (!c || c->rowspan == 1 || c->col != col || span_top[col] >= lay->y)
                        continue;
                    draw_span(lay, tc, c, span_top[col], cont_label[col], 0, span_mark);
                    cont_label[col] = 1;
                }
                table_new_page(lay, tc, sect);
                for (int col = 0; col < tc->ncols; col++) {
                    span_top[col] = lay->y;
                    span_mark[col] = ipf_drawing_mark(lay->dr);
                }
                continue;
            }
            /* Split inside the row: each cell shows what fits. */
            double inner = avail - 2 * lay->pad;
            for (uint32_t k = 0; k < r->ncells; k++) {
                const cell *c = &lay->cells[r->cell0 + k];
                if (c->rowspan != 1)
                    continue;
                draw_cell_box(lay, tc, c, lay->y, avail);
                uint32_t from = fr[c->col].next_line;
                if (c->is_label && from >= c->l1 && !first_piece) {
                    draw_cell_content(lay, tc, c, c->c0, c->c1, lay->y, avail, 0);
                    continue;
                }
                if (c->is_label && first_piece) {
                    draw_cell_content(lay, tc, c, c->l0, c->l1, lay->y, avail, 0);
                    fr[c->col].next_line = c->l1;
                    continue;
                }
                uint32_t to = lines_fitting(lay, from, c->l1, inner);
                if (to == from && from < c->l1 && at_top)
                    to = from + 1; /* a single line taller than a page: never loop */
                draw_lines(lay, from, to, tc->colx[c->col] + lay->pad, lay->y + lay->pad, 0);
                fr[c->col].next_line = to;
            }
            lay->y += avail;
            lay->fresh = 0;
            for (int col = 0; col < tc->ncols; col++) {
                const cell *c = owner[col];
                if (!c || c->rowspan == 1 || c->col != col)
                    continue;
                draw_span(lay, tc, c, span_top[col], cont_label[col], 0, span_mark);
                cont_label[col] = 1;
            }
            table_new_page(lay, tc, sect);
            for (int col = 0; col < tc->ncols; col++) {
                span_top[col] = lay->y;
                span_mark[col] = ipf_drawing_mark(lay->dr);
            }
            first_piece = 0;
        }
        /* Spanning cells that end with this row are drawn now. */
        for (int col = 0; col < tc->ncols; col++) {
            const cell *c = owner[col];
            if (!c || c->rowspan == 1 || c->col != col)
                continue;
            uint32_t start_row = ri;
            while (start_row > b0) {
                const row *pr = &lay->rows[start_row];
                int here = 0;
                for (uint32_t k = 0; k < pr->ncells; k++)
                    here |= &lay->cells[pr->cell0 + k] == c;
                if (here)
                    break;
                start_row--;
            }
            if (start_row + (uint32_t)c->rowspan - 1 != ri && ri + 1 != b1)
                continue;
            draw_span(lay, tc, c, span_top[col], cont_label[col], !cont_label[col], span_mark);
            owner[col] = NULL;
        }
    }
}

/* The rows tied to row ri by row spans: [ri, returned end). */
static uint32_t block_end(const ipf_layout *lay, uint32_t ri, uint32_t r1)
{
    uint32_t end = ri + 1;
    for (uint32_t q = ri; q < end && q < r1; q++) {
        const row *qr = &lay->rows[q];
        for (uint32_t k = 0; k < qr->ncells; k++) {
            uint32_t last = q + (uint32_t)lay->cells[qr->cell0 + k].rowspan;
            if (last > end)
                end = last < r1 ? last : r1;
        }
    }
    return end;
}

static double rows_height(const ipf_layout *lay, uint32_t a, uint32_t b)
{
    double h = 0;
    for (uint32_t q = a; q < b; q++)
        h += lay->rows[q].h;
    return h;
}

/* The height that must stand on this page with the block [b0, b1) when a
 * row of it says keep-with-next: the blocks tied on, and the start of the
 * first untied one (all of it when it will move whole, as place_block moves
 * a block that fits a page; else three lines).  0: nothing is tied, or the
 * whole would not fit one page (then the rows break as they would anyway). */
static double tied_height(const ipf_layout *lay, uint32_t b0, uint32_t b1, uint32_t r1, double body)
{
    double h = rows_height(lay, b0, b1);
    int tied = 0;
    for (;;) {
        int next = 0;
        for (uint32_t q = b0; q < b1; q++)
            next |= lay->rows[q].keep_next;
        if (!next || b1 >= r1 || lay->rows[b1].is_section || lay->rows[b1].is_header)
            break;
        tied = 1;
        b0 = b1;
        b1 = block_end(lay, b0, r1);
        double nh = rows_height(lay, b0, b1);
        int more = 0;
        for (uint32_t q = b0; q < b1; q++)
            more |= lay->rows[q].keep_next;
        if (!more && nh > body * 0.9)
            nh = lay->base.size * lay->base.line_height * 3 + 2 * lay->pad;
        h += nh;
    }
    return tied && h <= body ? h : 0;
}

/* How much of the block at b0 must fit for it to start on this page, as
 * place_table and place_block decide: a block of several rows under 0.6 of
 * a page moves whole, a row that fits a page moves whole, anything longer
 * starts with three lines.  A heading placed above a block that will move
 * anyway would be left alone at the foot of the page. */
static double start_height(const ipf_layout *lay, uint32_t b0, uint32_t r1, double body)
{
    double three = lay->base.size * lay->base.line_height * 3 + 2 * lay->pad;
    if (b0 >= r1)
        return 0;
    uint32_t end = block_end(lay, b0, r1);
    double bh = rows_height(lay, b0, end);
    if (end - b0 > 1 && bh < body * 0.6)
        return bh;
    double first = lay->rows[b0].h;
    return first <= body * 0.9 ? first : three;
}

static void place_table(ipf_layout *lay, const table_ctx *tc, uint32_t r0, uint32_t r1)
{
    uint32_t sect = UINT32_MAX;
    uint32_t ri = r0;
    lay->hdr0 = lay->hdr1 = 0;
    while (ri < r1 && !lay->oom) {
        const row *r = &lay->rows[ri];
        if (r->is_header) {
            /* A run of header rows starts a new header: drawn here, kept
             * with the first block under it, repeated on each new page. */
            uint32_t end = ri;
            while (end < r1 && lay->rows[end].is_header)
                end = block_end(lay, end, r1);
            double need = rows_height(lay, ri, end) +
                          start_height(lay, end, r1, body_bottom(lay) - lay->pg.top);
            lay->hdr0 = lay->hdr1 = 0;
            if (lay->y + need > body_bottom(lay) && !lay->fresh)
                table_new_page(lay, tc, sect);
            place_header_rows(lay, tc, ri, end);
            lay->fresh = 0;
            lay->hdr0 = ri;
            lay->hdr1 = end;
            ri = end;
            continue;
        }
        if (r->is_section) {
            lay->hdr0 = lay->hdr1 = 0;
            /* Keep a heading with the start of what follows it. */
            /* ... and with the column headings under it, which keep
             * with the start of their first block in turn. */
            double need = r->h;
            uint32_t nb = ri + 1;
            while (nb < r1 && lay->rows[nb].is_header) {
                uint32_t e = block_end(lay, nb, r1);
                need += rows_height(lay, nb, e);
                nb = e;
            }
            need += start_height(lay, nb, r1, body_bottom(lay) - lay->pg.top);
            if (lay->y + need > body_bottom(lay) && !lay->fresh)
                new_page(lay);
            sect = ri;
            place_section_header(lay, tc, ri, 0);
            ri++;
            continue;
        }
        /* A block: this row and every row a row span drags along. */
        uint32_t end = block_end(lay, ri, r1);
        double bh = rows_height(lay, ri, end);
        double body = body_bottom(lay) - lay->pg.top;
        double tied = tied_height(lay, ri, end, r1, body);
        if (tied > 0 && lay->y + tied > body_bottom(lay) + 0.01 && !lay->fresh)
            table_new_page(lay, tc, sect);
        else if (end - ri > 1 && lay->y + bh > body_bottom(lay) && bh < body * 0.6 && !lay->fresh)
            table_new_page(lay, tc, sect);
        place_block(lay, tc, ri, end, sect);
        ri = end;
    }
}

static int same_geom(const ipf_page_geom *a, const ipf_page_geom *b)
{
    return a->width == b->width && a->height == b->height && a->top == b->top &&
           a->bottom == b->bottom && a->left == b->left && a->right == b->right;
}

static void table(ipf_layout *lay, const xmlNode *t, xmlNodePtr ctx)
{
    /* page="…", or a geometry other than the page's: a new page. */
    const ipf_page_geom *want = ipf_form_part_page(lay->form, t);
    if (lay->page_open && (ipf_tpl_attr(t, "page") || !same_geom(want, &lay->pg)))
        finish_page(lay);
    lay->pg = *want;
    table_ctx tc;
    if (table_columns(lay, t, &tc) <= 0)
        return;
    if (!lay->page_open)
        new_page(lay);
    uint32_t r0 = (uint32_t)lay->nrows;
    table_rows(lay, t, &tc, ctx);
    uint32_t r1 = (uint32_t)lay->nrows;
    if (lay->oom)
        return;
    row_heights(lay, r0, r1);
    place_table(lay, &tc, r0, r1);
}

/* ---------------------------------------------------------------- document */

/* Whether every {field} of an attribute is empty here (0 when it has
 * none): the value would be only the template's own words around nothing,
 * like a blank form's "…备案表（）". */
static int fields_all_empty(ipf_layout *lay, const xmlNode *tn, const char *attr, xmlNodePtr ctx)
{
    const ipf_tpl_text *t = ipf_form_text(tn, attr);
    int fields = 0, empty = 1;
    for (size_t i = 0; i < ipf_tpl_text_count(t) && empty; i++) {
        if (ipf_tpl_text_literal(t, i))
            continue;
        fields++;
        const char *v =
            eval_string(lay, tn, ipf_tpl_text_expr(t, i), attr, ipf_tpl_text_source(t, i), ctx);
        if (v && normalized(lay, v)[0])
            empty = 0;
    }
    return fields > 0 && empty;
}

static void set_info(ipf_layout *lay, const xmlNode *info, xmlNodePtr ctx)
{
    const char *keys[4][2] = {
        {"title", "Title"}, {"author", "Author"}, {"subject", "Subject"}, {"keywords", "Keywords"}};
    for (int i = 0; i < 4; i++) {
        /* an empty value, or one whose fields are all empty, is left out */
        if (!ipf_tpl_attr(info, keys[i][0]) || fields_all_empty(lay, info, keys[i][0], ctx))
            continue;
        char *v = attr_value(lay, info, keys[i][0], ctx);
        if (v) {
            const char *t = normalized(lay, v);
            if (t[0] && ipf_drawing_set_info(lay->dr, keys[i][1], t) < 0)
                lay->oom = 1;
        }
        free(v);
    }
    /* Without a title of its own (a blank form) the PDF has the form's. */
    if (!ipf_drawing_info(lay->dr, "Title") && ipf_form_title(lay->form) &&
        ipf_form_title(lay->form)[0] &&
        ipf_drawing_set_info(lay->dr, "Title", ipf_form_title(lay->form)) < 0)
        lay->oom = 1;
}

static void free_strs(ipf_layout *lay)
{
    for (size_t i = 0; i < lay->nstrs; i++)
        free(lay->strs[i]);
    lay->nstrs = 0;
}

static void reset(ipf_layout *lay)
{
    free_strs(lay);
    lay->nvars = 0;
    lay->nlate = 0;
    lay->nops = lay->nlines = lay->ntext = lay->ncells = lay->nrows = lay->ncps = 0;
    lay->oom = 0;
    lay->nbad = lay->template_errors = 0;
    lay->budget_spent = 0;
    lay->pages = 0;
    lay->page_open = 0;
}

ipf_status ipf_layout_document(ipf_layout *lay, const ipf_form *form, const ipf_fontset *fonts,
                               xmlDocPtr data, const char *file, ipf_drawing *out, ipf_diags *d)
{
    reset(lay);
    lay->form = form;
    lay->fonts = fonts;
    lay->d = d;
    lay->file = file;
    lay->dr = out;
    lay->pg = *ipf_form_page(form);
    if (!lay->lb || lay->lb_level != ipf_form_line_breaking(form)) {
        ipf_line_breaker_free(lay->lb);
        lay->lb = NULL;
        lay->lb_level = ipf_form_line_breaking(form);
        ipf_status st = ipf_line_breaker_new(lay->lb_level, &lay->lb);
        if (st != IPF_OK)
            return st;
    }
    const xmlNode *root = ipf_form_root(form);
    /* The blank form reads an empty document of the right kind, so that every
     * expression evaluates to nothing rather than needing a special case. */
    xmlDocPtr empty = NULL;
    lay->blank = data == NULL;
    if (!data) {
        empty = xmlNewDoc((const xmlChar *)"1.0");
        xmlNodePtr r = empty ? xmlNewDocNode(empty, NULL,
                                             (const xmlChar *)(ipf_form_data_root(form)
                                                                   ? ipf_form_data_root(form)
                                                                   : "document"),
                                             NULL)
                             : NULL;
        if (!r) {
            xmlFreeDoc(empty);
            return IPF_ERR_NOMEM;
        }
        xmlDocSetRootElement(empty, r);
        if (ipf_form_data_namespace(form))
            xmlSetNs(r, xmlNewNs(r, (const xmlChar *)ipf_form_data_namespace(form), NULL));
        data = empty;
    }
    lay->data = data;
    if (!lay->textbuf && !(lay->textbuf = xmlBufferCreate())) {
        xmlFreeDoc(empty);
        return IPF_ERR_NOMEM;
    }
    /* One XPath context for every document: its functions are registered
     * once and libxml2's cache of result objects stays warm (a fresh
     * context per document cost a third of the allocations of a small
     * form).  The namespaces are the form's, registered again each time. */
    if (!lay->xp) {
        lay->xp = xmlXPathNewContext(data);
        if (!lay->xp || ipf_xpathfn_register(lay->xp) != 0) {
            xmlXPathFreeContext(lay->xp);
            lay->xp = NULL;
            xmlFreeDoc(empty);
            return IPF_ERR_NOMEM;
        }
        lay->xp->error = quiet_xpath_error;
        xmlXPathRegisterVariableLookup(lay->xp, lookup_variable, lay);
    }
    lay->xp->doc = data;
    lay->xp->node = NULL;
    ipf_xml_bound_xpath(lay->xp); /* a select as broad as //node() in a loop ends */
    xmlXPathRegisteredNsCleanup(lay->xp);
    ipf_form_register_namespaces(form, lay->xp);
    if (xmlXPathRegisterNs(lay->xp, (const xmlChar *)"ipf", (const xmlChar *)IPF_FUNCTIONS_NS) !=
        0) {
        xmlXPathRegisteredNsCleanup(lay->xp);
        lay->xp->doc = NULL;
        xmlFreeDoc(empty);
        return IPF_ERR_NOMEM;
    }
    xmlNodePtr ctx = xmlDocGetRootElement(data);

    /* Defaults, then the template's typography. */
    const xmlNode *typo = ipf_tpl_child(root, "typography");
    lay->styles = ipf_tpl_child(root, "styles");
    style b = {14, 1.45, 0, 0, 0, 0, AL_JUSTIFY, VA_TOP, 0};
    parse_len(ipf_tpl_attr(typo, "size"), 14, 14, &b.size);
    if (ipf_tpl_attr(typo, "line-height") && strtod(ipf_tpl_attr(typo, "line-height"), NULL) > 0)
        b.line_height = strtod(ipf_tpl_attr(typo, "line-height"), NULL);
    parse_len(ipf_tpl_attr(typo, "paragraph-indent"), b.size, 2 * b.size, &b.indent);
    lay->base = b;
    parse_len(ipf_tpl_attr(typo, "cell-padding"), b.size, 4.5, &lay->pad);
    parse_len(ipf_tpl_attr(typo, "rule-width"), b.size, 0.6, &lay->rule_w);
    lay->cont_suffix =
        ipf_tpl_attr(typo, "continued-suffix") ? ipf_tpl_attr(typo, "continued-suffix") : "（续）";
    lay->numbering = ipf_tpl_child(root, "page-numbers");
    const char *skip = ipf_tpl_attr(lay->numbering, "skip-first");
    lay->number_skip = skip ? atoi(skip) : 0;
    lay->numbers_late = lay->numbering && numbering_needs_total(lay->numbering);
    lay->page_total = 0;

    set_info(lay, ipf_tpl_child(root, "info"), ctx);
    for (const xmlNode *n = root->children; n && !lay->oom; n = n->next) {
        if (!when_ok(lay, n, ctx))
            continue;
        if (ipf_tpl_is(n, "cover") || ipf_tpl_is(n, "page-block")) {
            finish_page(lay);
            page_block(lay, n, ctx);
            finish_page(lay);
        } else if (ipf_tpl_is(n, "table")) {
            table(lay, n, ctx);
        }
    }
    finish_page(lay);
    if (lay->nlate > 0 && !lay->oom) {
        /* "第 n 页 共 N 页": N is known now. */
        ipf_page_geom last = lay->pg;
        lay->page_total = lay->pages - lay->number_skip;
        for (size_t i = 0; i < lay->nlate && !lay->oom; i++) {
            if (ipf_drawing_use_page(out, lay->late[i].page) < 0) {
                lay->oom = 1;
                break;
            }
            lay->pg = lay->late[i].pg;
            lay->page_no = (double)lay->late[i].page + 1 - lay->number_skip;
            draw_page_number(lay);
        }
        if (ipf_drawing_use_page(out, (size_t)lay->pages - 1) < 0)
            lay->oom = 1;
        lay->pg = last;
    }
    /* What was made for this document goes with it, so that laying out
     * document after document allocates as much as it frees (libFuzzer
     * checks for a leak whenever a run does not). */
    xmlXPathRegisteredNsCleanup(lay->xp);
    lay->xp->doc = NULL; /* the caller frees the document */
    lay->xp->node = NULL;
    lay->data = NULL;
    free_strs(lay);
    xmlFreeDoc(empty);
    (void)file;
    if (lay->oom)
        return IPF_ERR_NOMEM;
    return lay->template_errors ? IPF_ERR_TEMPLATE : IPF_OK;
}
