/* form.c: loading and checking a form template. */
#include "form.h"
#include "tplcheck.h"

#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlschemas.h>
#include <libxml/xpathInternals.h>

#include "rules.h"
#include "xmldoc.h"
#include "xpathfn.h"

#define MAX_FONTS       8
#define MAX_NS          8
#define MAX_EXTENDS     8 /* a base may extend another: at most this deep */
#define DEFAULT_DATA_NS "urn:ipforms:data:1"
#define MAX_LOOP_DEPTH  32 /* nested loops checked; deeper ones are not a form */
#define MAX_PAGES       8

/* A file of the extends chain: the template itself first, then its bases. */
typedef struct origin {
    char *path, *dir;
    char *id; /* the id="" written in that file, or NULL */
} origin;

/* What every template element carries on _private: its compiled select and
 * the file it was written in (elements copied from a base keep their base's
 * file, and libxml2 keeps their line).  Owned by the form. */
typedef struct tpl_part {
    char *lit;                /* literal text ({{ and }} unescaped), or NULL */
    xmlXPathCompExprPtr comp; /* else the expression */
    char *src;
} tpl_part;

/* A text with {xpath} in it: an attribute's value, or (attr NULL) the text
 * node that carries it. */
struct ipf_tpl_text {
    const char *attr;
    tpl_part *parts;
    size_t nparts;
    struct ipf_tpl_text *next;
};

typedef struct tpl_node {
    xmlXPathCompExprPtr comp; /* select="" */
    xmlXPathCompExprPtr when; /* when="" */
    int origin;
    ipf_tpl_text *texts;
} tpl_node;

struct ipf_form {
    char *path;
    char *dir;
    origin origins[MAX_EXTENDS + 1];
    int norigins;
    int abstract;
    xmlDocPtr doc;
    const xmlNode *root;
    const char *id, *title, *kind, *jurisdiction, *edition; /* point into doc */
    const char *data_root, *data_ns;
    int data_origin;
    char *schema_path, *rules_path;
    const char *fonts[MAX_FONTS];
    long font_lines[MAX_FONTS];
    const char *font_files[MAX_FONTS];
    size_t nfonts;
    const char *ns_prefix[MAX_NS], *ns_uri[MAX_NS];
    size_t nns;
    ipf_lb_level lb;
    ipf_page_geom page;
    ipf_page_geom pages[MAX_PAGES]; /* <page name="…">, in order */
    const char *page_names[MAX_PAGES];
    size_t npages;
    const ipf_ruleset *rules; /* bound after load, not owned */
};

/* These two run for every template node at every layout: xmlStrEqual
 * rather than strcmp, which the fuzzing build intercepts for libFuzzer's
 * comparison hooks (a tenth of the layout target's time, docs/fuzzing.md). */
int ipf_tpl_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           xmlStrEqual(n->ns->href, (const xmlChar *)IPF_TEMPLATE_NS) &&
           xmlStrEqual(n->name, (const xmlChar *)name);
}

const xmlNode *ipf_tpl_child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (ipf_tpl_is(c, name))
            return c;
    return NULL;
}

/* Attribute values live as long as the document: we point into them. */
const char *ipf_tpl_attr(const xmlNode *n, const char *name)
{
    if (!n)
        return NULL;
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (!a->ns && xmlStrEqual(a->name, (const xmlChar *)name) && a->children &&
            a->children->type == XML_TEXT_NODE)
            return (const char *)a->children->content;
    return NULL;
}

int ipf_length_parse(const char *s, double font_size, double *points)
{
    if (!s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    double k;
    if (*end == '\0' || strcmp(end, "pt") == 0)
        k = 1.0;
    else if (strcmp(end, "mm") == 0)
        k = 72.0 / 25.4;
    else if (strcmp(end, "cm") == 0)
        k = 720.0 / 25.4;
    else if (strcmp(end, "in") == 0)
        k = 72.0;
    else if (strcmp(end, "em") == 0)
        k = font_size;
    else
        return -1;
    if (!(fabs(v * k) <= IPF_LENGTH_MAX))
        return -1;
    *points = v * k;
    return 0;
}

/* An "fr" share of a table's free width: a positive, finite, sane number. */
static int fr_ok(const char *s)
{
    double v = strtod(s, NULL);
    return v > 0 && v <= 1e6;
}

static char *join_dir(const char *dir, const char *rel)
{
    if (!rel)
        return NULL;
    if (rel[0] == '/')
        return strdup(rel);
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static void free_text(ipf_tpl_text *t)
{
    for (size_t i = 0; i < t->nparts; i++) {
        free(t->parts[i].lit);
        free(t->parts[i].src);
        if (t->parts[i].comp)
            xmlXPathFreeCompExpr(t->parts[i].comp);
    }
    free(t->parts);
    free(t);
}

static void free_record(xmlNode *n)
{
    tpl_node *r = n->_private;
    if (!r)
        return;
    if (r->comp)
        xmlXPathFreeCompExpr(r->comp);
    if (r->when)
        xmlXPathFreeCompExpr(r->when);
    for (ipf_tpl_text *t = r->texts, *next; t; t = next) {
        next = t->next;
        free_text(t);
    }
    free(r);
    n->_private = NULL;
}

static void free_records(xmlNode *n)
{
    if (n->type != XML_ELEMENT_NODE)
        return;
    for (xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
            free_record(c);
        else
            free_records(c);
    free_record(n);
}

/* Unlinks and frees a template element with everything it holds. */
static void drop_node(xmlNode *n)
{
    free_records(n);
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

static void free_doc(xmlDocPtr doc)
{
    if (doc && xmlDocGetRootElement(doc))
        free_records(xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
}

void ipf_form_free(ipf_form *f)
{
    if (!f)
        return;
    free_doc(f->doc);
    for (int i = 0; i < f->norigins; i++) {
        free(f->origins[i].path);
        free(f->origins[i].dir);
        free(f->origins[i].id);
    }
    free(f->path);
    free(f->dir);
    free(f->schema_path);
    free(f->rules_path);
    free(f);
}

/* XPath syntax errors are reported as TEMPLATE-XPATH below; without a handler
 * on the compiling context libxml2 would also print its own English message
 * to stderr. */
static void quiet_xpath_error(void *data, xmlErrorPtr e)
{
    (void)data;
    (void)e;
}

/* The file an element was written in (the base's, for one inherited). */
static const char *node_file(const ipf_form *f, const xmlNode *n)
{
    for (; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
        const tpl_node *r = n->_private;
        if (r && r->origin >= 0 && r->origin < f->norigins)
            return f->origins[r->origin].path;
    }
    return f->path;
}

/* What the scan of an expression's names found (ipf_xpath_check_names). */
typedef struct names_ctx {
    const ipf_form *f;
    int unresolved;       /* an undeclared prefix or an unknown function */
    char unprefixed[128]; /* the first element name without a prefix */
} names_ctx;

static const char *names_ns(void *ud, const char *prefix, size_t len)
{
    const ipf_form *f = ((names_ctx *)ud)->f;
    for (size_t i = f->nns; i-- > 0;)
        if (strlen(f->ns_prefix[i]) == len && strncmp(f->ns_prefix[i], prefix, len) == 0)
            return f->ns_uri[i];
    if (len == 1 && prefix[0] == 'd')
        return f->data_ns;
    return NULL;
}

static void names_report(void *ud, ipf_names_problem what, const char *a, size_t alen,
                         const char *b, size_t blen)
{
    names_ctx *n = ud;
    (void)b;
    (void)blen;
    if (what == IPF_NAMES_ELEMENT_UNPREFIXED) {
        if (!n->unprefixed[0])
            snprintf(n->unprefixed, sizeof n->unprefixed, "%.*s", (int)alen, a);
    } else if (what != IPF_NAMES_VAR_UNKNOWN) { /* variables: the evaluation, with settings */
        n->unresolved = 1;
    }
}

static xmlXPathCompExprPtr compile_one(ipf_form *f, xmlXPathContextPtr xc, const xmlNode *n,
                                       const char *what, const char *src, ipf_diags *d, int *bad)
{
    xmlXPathCompExprPtr c = xmlXPathCtxtCompile(xc, (const xmlChar *)src);
    if (!c) {
        ipf_diag_add(d, node_file(f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                     "%s中的 XPath 表达式无法解析：%s", what, src);
        *bad = 1;
    }
    return c;
}

static int add_part(ipf_tpl_text *t, char *lit, char *src, xmlXPathCompExprPtr comp)
{
    tpl_part *np = realloc(t->parts, (t->nparts + 1) * sizeof *np);
    if (!np) {
        free(lit);
        free(src);
        if (comp)
            xmlXPathFreeCompExpr(comp);
        return -1;
    }
    t->parts = np;
    t->parts[t->nparts++] = (tpl_part){lit, comp, src};
    return 0;
}

/* What {…} means in a few attributes besides XPath: the page-number format
 * says {page} and {pages}, a list marker {n}. */
static const char *alias_of(const char *attr, const char *src)
{
    if (attr && strcmp(attr, "format") == 0 && strcmp(src, "page") == 0)
        return "$page";
    if (attr && strcmp(attr, "format") == 0 && strcmp(src, "pages") == 0)
        return "$pages";
    if (attr && strcmp(attr, "marker") == 0 && strcmp(src, "n") == 0)
        return "$n";
    return src;
}

/* Splits s into literal text and {xpath} parts, compiled.  Returns 0, 1 for
 * a template error (reported), -1 when out of memory.  *out stays NULL for
 * a text with no braces at all. */
static int compile_text(ipf_form *f, xmlXPathContextPtr xc, const xmlNode *where, const char *attr,
                        const char *s, ipf_diags *d, ipf_tpl_text **out)
{
    *out = NULL;
    if (!strchr(s, '{') && !strchr(s, '}'))
        return 0;
    const char *what = attr ? attr : "文字";
    ipf_tpl_text *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->attr = attr;
    *out = t;
    const char *file = node_file(f, where);
    long line = ipf_xml_line(where);
    ipf_interp_piece pc;
    for (const char *p = s; ipf_interp_next(&p, &pc) != IPF_INTERP_END;) {
        switch (pc.kind) {
        case IPF_INTERP_STRAY_CLOSE:
        case IPF_INTERP_UNCLOSED:
        case IPF_INTERP_EMPTY:
            ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-TEXT", "%s中%s：%s", what,
                         ipf_interp_problem(pc.kind), s);
            return 1;
        case IPF_INTERP_LITERAL: {
            char *lit = malloc(pc.len + 1);
            if (!lit)
                return -1;
            ipf_interp_unescape(pc.text, pc.len, lit);
            if (add_part(t, lit, NULL, NULL) != 0)
                return -1;
            break;
        }
        default: {
            char *src = strndup(pc.text, pc.len);
            if (!src)
                return -1;
            const char *x = alias_of(attr, src);
            int bad = 0;
            xmlXPathCompExprPtr c = compile_one(f, xc, where, what, x, d, &bad);
            if (bad) {
                free(src);
                return 1;
            }
            if (x != src) { /* {page}: what is evaluated is $page */
                char *alias = strdup(x);
                free(src);
                src = alias;
                if (!src) {
                    if (c)
                        xmlXPathFreeCompExpr(c);
                    return -1;
                }
            }
            if (add_part(t, NULL, src, c) != 0)
                return -1;
        }
        }
    }
    return 0;
}

/* Attributes that may hold {xpath} (docs/templates.md, "Settings and text"). */
static const char *const text_attrs[] = {"title",  "note",    "marker",  "format",
                                         "author", "subject", "keywords"};

static int text_attr_applies(const xmlNode *n, const char *attr)
{
    if (ipf_tpl_is(n, "info"))
        return strcmp(attr, "title") == 0 || strcmp(attr, "author") == 0 ||
               strcmp(attr, "subject") == 0 || strcmp(attr, "keywords") == 0;
    if (ipf_tpl_is(n, "section"))
        return strcmp(attr, "title") == 0 || strcmp(attr, "note") == 0;
    if (ipf_tpl_is(n, "list"))
        return strcmp(attr, "marker") == 0;
    if (ipf_tpl_is(n, "page-numbers"))
        return strcmp(attr, "format") == 0;
    return 0;
}

static int holds_text(const xmlNode *n)
{
    return ipf_tpl_is(n, "p") || ipf_tpl_is(n, "label") || ipf_tpl_is(n, "cell");
}

/* Compiles every select="", when="" and {…} in text; errors carry the file
 * and line where the expression is written, so an office's hand edit is
 * easy to find.  Returns 1 on a template error, -1 out of memory. */
static int compile_xpaths(ipf_form *f, xmlXPathContextPtr xc, xmlNode *n, ipf_diags *d)
{
    int bad = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        tpl_node *r = n->_private;
        if (!r)
            continue;
        const char *sel = ipf_tpl_attr(n, "select");
        if (sel)
            r->comp = compile_one(f, xc, n, "select 属性", sel, d, &bad);
        const char *when = ipf_tpl_attr(n, "when");
        if (when)
            r->when = compile_one(f, xc, n, "when 属性", when, d, &bad);
        for (size_t i = 0; i < sizeof text_attrs / sizeof *text_attrs; i++) {
            const char *v = ipf_tpl_attr(n, text_attrs[i]);
            if (!v || !text_attr_applies(n, text_attrs[i]))
                continue;
            ipf_tpl_text *t = NULL;
            int rc = compile_text(f, xc, n, text_attrs[i], v, d, &t);
            if (t) {
                t->next = r->texts;
                r->texts = t;
            }
            if (rc < 0)
                return -1;
            bad |= rc;
        }
        if (holds_text(n))
            for (xmlNode *c = n->children; c; c = c->next) {
                if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
                    continue;
                ipf_tpl_text *t = NULL;
                int rc = compile_text(f, xc, n, NULL, (const char *)c->content, d, &t);
                if (t) {
                    tpl_node *tr = calloc(1, sizeof *tr);
                    if (!tr) {
                        free_text(t);
                        return -1;
                    }
                    tr->origin = r->origin;
                    tr->texts = t;
                    c->_private = tr;
                }
                if (rc < 0)
                    return -1;
                bad |= rc;
            }
        int rc = compile_xpaths(f, xc, n->children, d);
        if (rc < 0)
            return -1;
        bad |= rc;
    }
    return bad;
}

/* The rows of a table or a <repeat>, nested repeats included (each pass of
 * a repeat lays out its rows in order, so one pass is what is checked). */
static int check_rows(ipf_form *f, const xmlNode *parent, int ncols, int *carry, ipf_diags *d)
{
    int bad = 0;
    for (const xmlNode *r = parent->children; r; r = r->next) {
        if (ipf_tpl_is(r, "repeat")) {
            bad |= check_rows(f, r, ncols, carry, d);
            continue;
        }
        if (ipf_tpl_is(r, "section")) {
            for (int c = 0; c < ncols; c++)
                if (carry[c] > 0) {
                    ipf_diag_add(d, node_file(f, r), ipf_xml_line(r), IPF_SEV_ERROR,
                                 "TEMPLATE-SPAN", "分节行不能插在跨行单元格中间");
                    bad = 1;
                    break;
                }
        }
        if (!ipf_tpl_is(r, "row"))
            continue;
        int col = 0, row_bad = 0;
        for (const xmlNode *c = r->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE)
                continue;
            while (col < ncols && carry[col] > 0)
                col++;
            const char *sp = ipf_tpl_attr(c, "span"), *rs = ipf_tpl_attr(c, "rowspan");
            int span = sp ? atoi(sp) : 1, rowspan = rs ? atoi(rs) : 1;
            if (span < 1 || rowspan < 1 || col + span > ncols) {
                ipf_diag_add(d, node_file(f, c), ipf_xml_line(c), IPF_SEV_ERROR, "TEMPLATE-SPAN",
                             "单元格超出表格的 %d 列（从第 %d 列起跨 %d 列）", ncols, col + 1,
                             span);
                bad = row_bad = 1;
                break;
            }
            for (int k = 0; k < span; k++)
                carry[col + k] = rowspan;
            col += span;
        }
        while (col < ncols && carry[col] > 0)
            col++;
        if (!row_bad && col != ncols) {
            ipf_diag_add(d, node_file(f, r), ipf_xml_line(r), IPF_SEV_ERROR, "TEMPLATE-SPAN",
                         "这一行的单元格只占 %d 列，表格有 %d 列", col, ncols);
            bad = 1;
        }
        for (int k = 0; k < ncols; k++)
            if (carry[k] > 0)
                carry[k]--;
    }
    return bad;
}

/* Row spans must add up to the table's column count, counting cells that
 * reach down from earlier rows; a mistake here would silently misdraw. */
/* One <page> element (NULL: the defaults) into g; 1 on an error, reported. */
static int parse_page(ipf_form *f, const xmlNode *page, ipf_page_geom *g, ipf_diags *d)
{
    int bad = 0;
    const char *page_file = node_file(f, page);
    *g = (ipf_page_geom){595.276, 841.89, 72, 72, 72, 72};
    const char *size = ipf_tpl_attr(page, "size");
    if (size && strcmp(size, "A4") != 0 && strcmp(size, "A3") != 0) {
        ipf_diag_add(d, page_file, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                     "纸张“%s”不支持，应为 A4 或 A3", size);
        bad = 1;
    } else if (size && strcmp(size, "A3") == 0) {
        g->width = 841.89;
        g->height = 1190.55;
    }
    const char *orient = ipf_tpl_attr(page, "orientation");
    if (orient && strcmp(orient, "landscape") == 0) {
        double w = g->width;
        g->width = g->height;
        g->height = w;
    }
    const char *names[4] = {"margin-top", "margin-bottom", "margin-left", "margin-right"};
    double *slots[4] = {&g->top, &g->bottom, &g->left, &g->right};
    for (int i = 0; i < 4; i++) {
        const char *v = ipf_tpl_attr(page, names[i]);
        if (v && ipf_length_parse(v, 14, slots[i]) != 0) {
            ipf_diag_add(d, page_file, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                         "%s 的长度“%s”无法识别", names[i], v);
            bad = 1;
        }
    }
    if (g->width - g->left - g->right < 72 || g->height - g->top - g->bottom < 144) {
        ipf_diag_add(d, page_file, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                     "页边距过大，版心太小");
        bad = 1;
    }
    return bad;
}

static const ipf_page_geom *named_page(const ipf_form *f, const char *name)
{
    for (size_t i = 0; name && i < f->npages; i++)
        if (strcmp(f->page_names[i], name) == 0)
            return &f->pages[i];
    return NULL;
}

static int check_table(ipf_form *f, const xmlNode *table, ipf_diags *d)
{
    const char *cols = ipf_tpl_attr(table, "columns");
    int ncols = 0, nfr = 0;
    double fixed = 0;
    for (const char *p = cols; p && *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && *q != ' ')
            q++;
        char buf[32];
        size_t len = (size_t)(q - p) < sizeof buf - 1 ? (size_t)(q - p) : sizeof buf - 1;
        memcpy(buf, p, len);
        buf[len] = '\0';
        double v = 0;
        size_t bl = strlen(buf);
        int is_fr = bl > 2 && strcmp(buf + bl - 2, "fr") == 0;
        int ok = is_fr ? fr_ok(buf) : ipf_length_parse(buf, 14, &v) == 0;
        char *num_end = NULL;
        double share = is_fr ? strtod(buf, &num_end) : 0;
        if (is_fr && !ok && num_end == buf + bl - 2 && bl > 2) {
            /* a number, but not a usable share: 0fr, -1fr, 1e9fr */
            ipf_diag_add(d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                         "表格第 %d 列的宽度“%s”：fr 前的份数应大于 0 且不超过 1000000，"
                         "现为 %g",
                         ncols + 1, buf, share);
            return 1;
        }
        if (!ok) {
            ipf_diag_add(d, node_file(f, table), ipf_xml_line(table), IPF_SEV_ERROR,
                         "TEMPLATE-COLUMNS", "表格列宽“%s”无法识别（应为 mm、pt、cm 或 fr）", buf);
            return 1;
        }
        if (!is_fr && v <= 0) {
            ipf_diag_add(d, node_file(f, table), ipf_xml_line(table), IPF_SEV_ERROR,
                         "TEMPLATE-COLUMNS", "表格第 %d 列的宽度“%s”不是正数", ncols + 1, buf);
            return 1;
        }
        nfr += is_fr;
        fixed += is_fr ? 0 : v;
        ncols++;
        p = q;
    }
    if (ncols == 0 || ncols > 64) {
        ipf_diag_add(d, node_file(f, table), ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                     "表格必须有 1 到 64 列");
        return 1;
    }
    /* The layout would otherwise squeeze the table into the text block
     * (fixed widths) or give fr columns no width at all: both misdraw the
     * form without saying why.  A fr column needs room for a few characters. */
    const ipf_page_geom *pg = named_page(f, ipf_tpl_attr(table, "page"));
    if (!pg)
        pg = &f->page;
    double width = pg->width - pg->left - pg->right;
    const double mm = 72.0 / 25.4, min_fr = 10 * mm;
    if (fixed > width + 0.5) {
        ipf_diag_add(d, node_file(f, table), ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                     "表格各列宽度之和不对：固定宽度共 %.1fmm，超过版心宽度 %.1fmm", fixed / mm,
                     width / mm);
        return 1;
    }
    if (nfr > 0 && width - fixed < nfr * min_fr) {
        ipf_diag_add(
            d, node_file(f, table), ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
            "表格各列宽度之和不对：固定宽度共 %.1fmm，版心宽 %.1fmm，按比例（fr）分配的 %d "
            "列每列不足 %.0fmm",
            fixed / mm, width / mm, nfr, min_fr / mm);
        return 1;
    }
    int carry[64] = {0};
    return check_rows(f, table, ncols, carry, d);
}

/* Every schema violation of a template, each with its line; libxml2's
 * English text follows a Chinese sentence for the common cases. */
typedef struct schema_report {
    ipf_form *f;
    ipf_diags *d;
    int errors;
} schema_report;

static void on_schema_error(void *ctx, xmlErrorPtr e)
{
    schema_report *r = ctx;
    if (!e || e->level == XML_ERR_WARNING)
        return;
    char msg[400];
    ipf_xml_error_text(e, msg, sizeof msg);
    const xmlNode *node = e->node;
    const char *name = node && node->type == XML_ELEMENT_NODE ? (const char *)node->name : NULL;
    long line = node ? ipf_xml_line(node) : e->line;
    const char *file = node ? node_file(r->f, node) : r->f->path;
    if (name && strstr(msg, "This element is not expected") != NULL)
        ipf_diag_add(r->d, file, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "元素 <%s> 不能出现在这里（名称拼写错误，或位置不对）：%s", name, msg);
    else if (name && strstr(msg, "attribute") != NULL)
        ipf_diag_add(r->d, file, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "元素 <%s> 的属性有误：%s", name, msg);
    else
        ipf_diag_add(r->d, file, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "模板不符合模板结构定义：%s", msg);
    r->errors++;
}

static int validate_against_schema(ipf_form *f, ipf_diags *d)
{
    /* The template schema sits beside the data schemas: <root>/schema. */
    char *xsd = join_dir(f->dir, "../schema/template.xsd");
#ifdef IPF_TEMPLATES_DIR
    /* A template copied elsewhere without its schema (an office's own form
     * under --templates) is checked against the installed one: a template
     * that skipped the schema would reach the layout engine unchecked. */
    if (xsd && access(xsd, R_OK) != 0) {
        free(xsd);
        xsd = strdup(IPF_TEMPLATES_DIR "/schema/template.xsd");
    }
#endif
    if (!xsd || access(xsd, R_OK) != 0) {
        free(xsd);
        return 0; /* no schema anywhere: the checks below still run */
    }
    int bad = 0;
    xmlDocPtr sdoc = NULL;
    if (ipf_xml_read_file(xsd, NULL, d, &sdoc) != IPF_OK) {
        free(xsd);
        return 1;
    }
    schema_report rep = {f, d, 0};
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(sdoc);
    if (pc)
        xmlSchemaSetParserStructuredErrors(pc, on_schema_error, &rep);
    xmlSchemaPtr schema = pc ? xmlSchemaParse(pc) : NULL;
    if (!schema) {
        ipf_diag_add(d, xsd, 0, IPF_SEV_ERROR, "TEMPLATE-SCHEMA", "模板结构定义无法加载");
        bad = 1;
    } else {
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
        if (vc) {
            /* Our handler, never libxml2's default that prints to stderr. */
            xmlSchemaSetValidStructuredErrors(vc, on_schema_error, &rep);
            int rc = xmlSchemaValidateDoc(vc, f->doc);
            if (rc != 0 && rep.errors == 0)
                ipf_diag_add(d, f->path, 0, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                             "模板不符合模板结构定义");
            bad = rc != 0;
            xmlSchemaFreeValidCtxt(vc);
        } else {
            bad = 1;
        }
        xmlSchemaFree(schema);
    }
    if (pc)
        xmlSchemaFreeParserCtxt(pc);
    xmlFreeDoc(sdoc);
    free(xsd);
    return bad;
}

/* ---------- extends: a template built on another ---------- */

/* Gives every element of the subtree that has none a record naming origin. */
static int give_records(xmlNode *n, int origin)
{
    if (n->type != XML_ELEMENT_NODE)
        return 0;
    if (!n->_private) {
        tpl_node *r = calloc(1, sizeof *r);
        if (!r)
            return -1;
        r->origin = origin;
        n->_private = r;
    }
    for (xmlNode *c = n->children; c; c = c->next)
        if (give_records(c, origin) != 0)
            return -1;
    return 0;
}

/* The element called name="…" in the tree under n, or NULL. */
static xmlNode *find_named(xmlNode *n, const char *name)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *v = ipf_tpl_attr(c, "name");
        if (v && strcmp(v, name) == 0 && !ipf_tpl_is(c, "page"))
            return c;
        xmlNode *hit = find_named(c, name);
        if (hit)
            return hit;
    }
    return NULL;
}

/* A named <section> stands for its heading and the rows after it up to the
 * next <section>: the part of the form a jurisdiction replaces or removes.
 * Any other element stands for itself.  Returns the last node of the part. */
static xmlNode *part_end(xmlNode *target)
{
    if (!ipf_tpl_is(target, "section"))
        return target;
    xmlNode *last = target;
    for (xmlNode *c = target->next; c; c = c->next) {
        if (ipf_tpl_is(c, "section"))
            break;
        if (c->type == XML_ELEMENT_NODE)
            last = c;
    }
    return last;
}

static void drop_part(xmlNode *target)
{
    xmlNode *end = part_end(target);
    for (xmlNode *c = target, *next; c; c = next) {
        next = c->next;
        int last = c == end;
        drop_node(c);
        if (last)
            break;
    }
}

/* Copies the element children of from into base's document, each placed
 * before `before` (or appended to parent when before is NULL). */
static int copy_children(xmlDocPtr base, const xmlNode *from, xmlNode *parent, xmlNode *before,
                         int origin)
{
    for (const xmlNode *c = from->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        xmlNode *copy = xmlDocCopyNode((xmlNode *)c, base, 1);
        if (!copy || give_records(copy, origin) != 0) {
            if (copy)
                drop_node(copy);
            return -1;
        }
        xmlNode *placed = before ? xmlAddPrevSibling(before, copy) : xmlAddChild(parent, copy);
        if (!placed) {
            drop_node(copy);
            return -1;
        }
    }
    return 0;
}

/* Where a root-level element goes in the order template.xsd asks for. */
static int root_rank(const xmlNode *n)
{
    static const char *const order[] = {"data",  "namespace",  "info",        "page",
                                        "fonts", "typography", "page-numbers"};
    for (int i = 0; i < 7; i++)
        if (ipf_tpl_is(n, order[i]))
            return i;
    if (ipf_tpl_is(n, "styles"))
        return 8;
    return 7; /* cover, page-block, table */
}

static int is_singleton(const xmlNode *n)
{
    static const char *const kinds[] = {"data",       "info",         "page",  "fonts",
                                        "typography", "page-numbers", "styles"};
    for (int i = 0; i < 7; i++)
        if (ipf_tpl_is(n, kinds[i]))
            return !(i == 2 && ipf_tpl_attr(n, "name")); /* a named page is a part */
    return 0;
}

static int same_kind(const xmlNode *a, const xmlNode *b)
{
    if (a->type != XML_ELEMENT_NODE || !ipf_tpl_is(b, (const char *)a->name))
        return 0;
    const char *na = ipf_tpl_attr(a, "name"), *nb = ipf_tpl_attr(b, "name");
    if (ipf_tpl_is(a, "namespace"))
        na = ipf_tpl_attr(a, "prefix"), nb = ipf_tpl_attr(b, "prefix");
    if (!na || !nb)
        return !na && !nb;
    return strcmp(na, nb) == 0;
}

/* A root-level element of the extending template: replaces the base's of
 * the same kind, or goes where its kind belongs. */
static int put_root_element(xmlDocPtr base, xmlNode *broot, const xmlNode *c, int origin)
{
    xmlNode *copy = xmlDocCopyNode((xmlNode *)c, base, 1);
    if (!copy || give_records(copy, origin) != 0) {
        if (copy)
            drop_node(copy);
        return -1;
    }
    int rank = root_rank(c);
    int replaces = is_singleton(c) || ipf_tpl_is(c, "namespace") || ipf_tpl_is(c, "page");
    xmlNode *at = NULL, *old = NULL;
    for (xmlNode *b = broot->children; b; b = b->next) {
        if (b->type != XML_ELEMENT_NODE)
            continue;
        if (replaces && same_kind(c, b)) {
            old = b;
            break;
        }
        if (!at && root_rank(b) > rank)
            at = b;
    }
    xmlNode *placed;
    if (old) {
        placed = xmlAddPrevSibling(old, copy);
        if (placed)
            drop_node(old);
    } else {
        placed = at ? xmlAddPrevSibling(at, copy) : xmlAddChild(broot, copy);
    }
    if (!placed) {
        drop_node(copy);
        return -1;
    }
    return 0;
}

/* Applies an extending template (root ext, file origin) to its resolved
 * base.  Returns -1 on out of memory, else the number of errors. */
static int apply_extension(ipf_form *f, xmlDocPtr base, const xmlNode *ext, int origin,
                           ipf_diags *d)
{
    xmlNode *broot = xmlDocGetRootElement(base);
    const char *file = f->origins[origin].path, *base_file = f->origins[origin + 1].path;
    int errors = 0;
    /* The root's attributes: the extending template's win; extends is
     * spent, and abstract is not inherited. */
    xmlUnsetProp(broot, (const xmlChar *)"extends");
    xmlUnsetProp(broot, (const xmlChar *)"abstract");
    for (xmlAttrPtr a = ext->properties; a; a = a->next) {
        if (a->ns || strcmp((const char *)a->name, "extends") == 0)
            continue;
        xmlChar *v = xmlNodeGetContent((xmlNode *)a);
        xmlAttrPtr set = v ? xmlSetProp(broot, a->name, v) : NULL;
        xmlFree(v);
        if (!set)
            return -1;
    }
    ((tpl_node *)broot->_private)->origin = origin;
    for (const xmlNode *c = ext->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        long line = ipf_xml_line(c);
        if (!c->ns || strcmp((const char *)c->ns->href, IPF_TEMPLATE_NS) != 0) {
            ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                         "元素 <%s> 不在模板命名空间 %s 中", (const char *)c->name,
                         IPF_TEMPLATE_NS);
            errors++;
            continue;
        }
        int is_replace = ipf_tpl_is(c, "replace"), is_remove = ipf_tpl_is(c, "remove"),
            is_insert = ipf_tpl_is(c, "insert");
        if (!is_replace && !is_remove && !is_insert) {
            static const char *const roots[] = {"data",       "namespace",  "info",         "page",
                                                "fonts",      "typography", "page-numbers", "cover",
                                                "page-block", "table",      "styles"};
            int known = 0;
            for (int i = 0; i < 11; i++)
                known |= ipf_tpl_is(c, roots[i]);
            if (!known) {
                ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                             "元素 <%s> 不能出现在扩展模板的根元素下（可用 replace、remove、"
                             "insert，或替换 data、page 等整项设置）",
                             (const char *)c->name);
                errors++;
                continue;
            }
            if (put_root_element(base, broot, c, origin) != 0)
                return -1;
            continue;
        }
        const char *name = is_insert ? ipf_tpl_attr(c, "after") : ipf_tpl_attr(c, "name");
        const char *before = is_insert ? ipf_tpl_attr(c, "before") : NULL;
        if (is_insert && (!name) == (!before)) {
            ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-EXTENDS",
                         "<insert> 应有 before=\"…\" 或 after=\"…\" 两者之一");
            errors++;
            continue;
        }
        if (!name)
            name = before;
        if (!name) {
            ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-EXTENDS", "<%s> 缺少 name 属性",
                         (const char *)c->name);
            errors++;
            continue;
        }
        xmlNode *target = find_named(broot, name);
        if (!target) {
            ipf_diag_add(d, file, line, IPF_SEV_ERROR, "TEMPLATE-EXTENDS",
                         "基础模板 %s 中没有 name=\"%s\" 的部分", base_file, name);
            errors++;
            continue;
        }
        if (is_remove) {
            drop_part(target);
            continue;
        }
        xmlNode *end = part_end(target);
        xmlNode *anchor = before || is_replace ? target : end->next;
        int rc = copy_children(base, c, target->parent, anchor, origin);
        if (rc != 0)
            return -1;
        if (is_replace)
            drop_part(target);
    }
    return errors;
}

/* "a/b/../c" as "a/c", so that diagnostics name the base plainly. */
static void tidy_path(char *p)
{
    for (;;) {
        char *up = strstr(p, "/../");
        if (!up || up == p)
            return;
        char *seg = up;
        while (seg > p && seg[-1] != '/')
            seg--;
        size_t seglen = (size_t)(up - seg);
        if ((seglen == 2 && strncmp(seg, "..", 2) == 0) || (seglen == 1 && seg[0] == '.'))
            return; /* leading ../ stays */
        memmove(seg, up + 4, strlen(up + 4) + 1);
    }
}

/* Reads path and, when it extends another template, its bases, into one
 * tree.  from/from_line: the extends="" that named path (diagnostics). */
static ipf_status load_chain(ipf_form *f, const char *path, const char *from, long from_line,
                             ipf_diags *d, xmlDocPtr *out)
{
    *out = NULL;
    if (f->norigins > MAX_EXTENDS) {
        ipf_diag_add(d, from, from_line, IPF_SEV_ERROR, "TEMPLATE-EXTENDS",
                     "模板继承（extends）超过 %d 层", MAX_EXTENDS);
        return IPF_ERR_TEMPLATE;
    }
    /* The same file under another spelling is the same file. */
    struct stat me_st;
    for (int i = 0; stat(path, &me_st) == 0 && i < f->norigins; i++) {
        struct stat seen;
        if (stat(f->origins[i].path, &seen) == 0 && seen.st_dev == me_st.st_dev &&
            seen.st_ino == me_st.st_ino) {
            ipf_diag_add(d, from, from_line, IPF_SEV_ERROR, "TEMPLATE-EXTENDS",
                         "模板继承（extends）形成循环：%s 又回到了 %s", from, path);
            return IPF_ERR_TEMPLATE;
        }
    }
    xmlDocPtr doc = NULL;
    ipf_status st = ipf_xml_read_definition(path, from, from_line, "TEMPLATE-EXTENDS",
                                            "extends 指定的基础模板", d, &doc);
    if (st != IPF_OK)
        return st;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!ipf_tpl_is(root, "form")) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-ROOT",
                     "模板的根元素应为 <form xmlns=\"%s\">", IPF_TEMPLATE_NS);
        xmlFreeDoc(doc);
        return IPF_ERR_TEMPLATE;
    }
    int me = f->norigins++;
    origin *o = &f->origins[me];
    o->path = strdup(path);
    char *tmp = strdup(path);
    o->dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);
    o->id = ipf_tpl_attr(root, "id") ? strdup(ipf_tpl_attr(root, "id")) : NULL;
    if (!o->path || !o->dir || (ipf_tpl_attr(root, "id") && !o->id)) {
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    const char *ext = ipf_tpl_attr(root, "extends");
    if (!ext) {
        if (give_records(root, me) != 0) {
            free_doc(doc);
            return IPF_ERR_NOMEM;
        }
        *out = doc;
        return IPF_OK;
    }
    char *base_path = join_dir(o->dir, ext);
    if (base_path)
        tidy_path(base_path);
    if (!base_path) {
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    xmlDocPtr base = NULL;
    st = load_chain(f, base_path, path, ipf_xml_line(root), d, &base);
    free(base_path);
    if (st != IPF_OK) {
        xmlFreeDoc(doc);
        return st;
    }
    int rc = apply_extension(f, base, root, me, d);
    xmlFreeDoc(doc);
    if (rc != 0) {
        free_doc(base);
        return rc < 0 ? IPF_ERR_NOMEM : IPF_ERR_TEMPLATE;
    }
    *out = base;
    return IPF_OK;
}

static int origin_of(const xmlNode *n)
{
    const tpl_node *r = n->_private;
    return r ? r->origin : 0;
}

/* Names are how an extending template points into its base: one name, one
 * part.  Reports a second use with the file and line of both. */
static int check_names_unique(ipf_form *f, const xmlNode *n, const xmlNode **seen, size_t *nseen,
                              size_t cap, ipf_diags *d)
{
    int bad = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = ipf_tpl_attr(c, "name");
        if (name && !ipf_tpl_is(c, "page")) {
            for (size_t i = 0; i < *nseen; i++)
                if (strcmp(ipf_tpl_attr(seen[i], "name"), name) == 0) {
                    /* Blame the more derived file: the base was fine alone. */
                    const xmlNode *here = c, *there = seen[i];
                    if (origin_of(there) < origin_of(here))
                        here = seen[i], there = c;
                    ipf_diag_add(d, node_file(f, here), ipf_xml_line(here), IPF_SEV_ERROR,
                                 "TEMPLATE-NAME", "name=\"%s\" 重复：%s:%ld 已用过", name,
                                 node_file(f, there), ipf_xml_line(there));
                    bad = 1;
                    break;
                }
            if (*nseen < cap)
                seen[(*nseen)++] = c;
        }
        bad |= check_names_unique(f, c, seen, nseen, cap, d);
    }
    return bad;
}

ipf_status ipf_form_load(const char *path, ipf_diags *d, ipf_form **out)
{
    *out = NULL;
    ipf_form *f = calloc(1, sizeof *f);
    if (!f)
        return IPF_ERR_NOMEM;
    f->path = strdup(path);
    char *tmp = strdup(path);
    f->dir = tmp ? strdup(dirname(tmp)) : NULL;
    free(tmp);
    if (!f->path || !f->dir) {
        ipf_form_free(f);
        return IPF_ERR_NOMEM;
    }
    ipf_status st = load_chain(f, path, NULL, 0, d, &f->doc);
    if (st != IPF_OK) {
        ipf_form_free(f);
        return st;
    }
    xmlNode *root = xmlDocGetRootElement(f->doc);
    f->root = root;
    const char *abs = ipf_tpl_attr(root, "abstract");
    f->abstract = abs && strcmp(abs, "true") == 0;
    int bad = validate_against_schema(f, d);
    f->id = ipf_tpl_attr(root, "id");
    f->title = ipf_tpl_attr(root, "title");
    f->kind = ipf_tpl_attr(root, "kind");
    f->jurisdiction = ipf_tpl_attr(root, "jurisdiction");
    f->edition = ipf_tpl_attr(root, "edition");
    if (!f->abstract && (!f->id || !f->title)) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-ROOT",
                     "模板缺少 id 或 title 属性");
        bad = 1;
    }
    const xmlNode *seen[512];
    size_t nseen = 0;
    bad |= check_names_unique(f, root, seen, &nseen, sizeof seen / sizeof *seen, d);
    const xmlNode *data = ipf_tpl_child(root, "data");
    if (!data && !f->abstract) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "模板缺少 <data root=\"…\"/>，不知道它读哪种数据");
        bad = 1;
    }
    f->data_root = ipf_tpl_attr(data, "root");
    f->data_ns = ipf_tpl_attr(data, "namespace");
    if (data && !f->data_ns)
        f->data_ns = DEFAULT_DATA_NS;
    /* A file named in <data> is found beside the template that names it,
     * which for an inherited <data> is the base. */
    f->data_origin = data && data->_private ? ((const tpl_node *)data->_private)->origin : 0;
    const char *data_dir = f->origins[f->data_origin].dir;
    const char *data_file = f->origins[f->data_origin].path;
    f->schema_path = join_dir(data_dir, ipf_tpl_attr(data, "schema"));
    f->rules_path = join_dir(data_dir, ipf_tpl_attr(data, "rules"));
    /* Found now rather than at first use, so the template is refused as a
     * whole with the line that names the file. */
    const char *what[2] = {"结构定义（schema）", "检查规则（rules）"};
    const char *given[2] = {ipf_tpl_attr(data, "schema"), ipf_tpl_attr(data, "rules")};
    const char *resolved[2] = {f->schema_path, f->rules_path};
    for (int i = 0; i < 2; i++)
        if (resolved[i] && access(resolved[i], R_OK) != 0) {
            ipf_diag_add(d, data_file, ipf_xml_line(data), IPF_SEV_ERROR, "TEMPLATE-FILE",
                         "模板指定的%s文件“%s”不存在或无法读取（按模板所在目录查找：%s）", what[i],
                         given[i], resolved[i]);
            bad = 1;
        }
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (ipf_tpl_is(c, "namespace") && f->nns < MAX_NS) {
            f->ns_prefix[f->nns] = ipf_tpl_attr(c, "prefix");
            f->ns_uri[f->nns] = ipf_tpl_attr(c, "uri");
            if (f->ns_prefix[f->nns] && f->ns_uri[f->nns])
                f->nns++;
        }
    }
    const xmlNode *fonts = ipf_tpl_child(root, "fonts");
    for (const xmlNode *c = fonts ? fonts->children : NULL; c; c = c->next)
        if (ipf_tpl_is(c, "font") && ipf_tpl_attr(c, "file") && f->nfonts < MAX_FONTS) {
            f->font_lines[f->nfonts] = ipf_xml_line(c);
            f->font_files[f->nfonts] = node_file(f, c);
            f->fonts[f->nfonts++] = ipf_tpl_attr(c, "file");
        }
    const xmlNode *typo = ipf_tpl_child(root, "typography");
    const char *lb = ipf_tpl_attr(typo, "line-breaking");
    f->lb = IPF_LB_GB;
    if (lb) {
        int v = ipf_lb_level_parse(lb);
        if (v < 0) {
            ipf_diag_add(d, node_file(f, typo), ipf_xml_line(typo), IPF_SEV_ERROR,
                         "TEMPLATE-LINEBREAK", "断行级别“%s”无效，应为 none、basic、GB 或 strict",
                         lb);
            bad = 1;
        } else {
            f->lb = (ipf_lb_level)v;
        }
    }
    const xmlNode *page = NULL;
    for (const xmlNode *c = root->children; c && !page; c = c->next)
        if (ipf_tpl_is(c, "page") && !ipf_tpl_attr(c, "name"))
            page = c;
    bad |= parse_page(f, page, &f->page, d);
    for (const xmlNode *c = root->children; c; c = c->next) {
        const char *name = ipf_tpl_attr(c, "name");
        if (!ipf_tpl_is(c, "page") || !name)
            continue;
        if (f->npages >= MAX_PAGES || named_page(f, name)) {
            if (f->npages >= MAX_PAGES)
                ipf_diag_add(d, node_file(f, c), ipf_xml_line(c), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                             "命名的页面设置最多 %d 种", MAX_PAGES);
            else
                ipf_diag_add(d, node_file(f, c), ipf_xml_line(c), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                             "页面设置 name=\"%s\" 重复", name);
            bad = 1;
            continue;
        }
        f->page_names[f->npages] = name;
        bad |= parse_page(f, c, &f->pages[f->npages++], d);
    }
    /* Every page="…" must name one of them. */
    for (const xmlNode *c = root->children; c; c = c->next) {
        const char *want = ipf_tpl_attr(c, "page");
        if (want &&
            (ipf_tpl_is(c, "cover") || ipf_tpl_is(c, "page-block") || ipf_tpl_is(c, "table")) &&
            !named_page(f, want)) {
            ipf_diag_add(d, node_file(f, c), ipf_xml_line(c), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                         "page=\"%s\" 没有对应的 <page name=\"%s\" …/>", want, want);
            bad = 1;
        }
    }
    bad |= ipf_tpl_check_typesetting(f, root, d) > 0; /* values that cannot typeset */
    int blocks = 0;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (ipf_tpl_is(c, "table"))
            bad |= check_table(f, c, d);
        blocks += ipf_tpl_is(c, "table") || ipf_tpl_is(c, "cover") || ipf_tpl_is(c, "page-block");
    }
    if (blocks == 0 && !f->abstract) {
        /* Nothing to lay out would make a PDF without a page. */
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-EMPTY",
                     "模板中没有 table、cover 或 page-block，没有可排版的内容");
        bad = 1;
    }
    xmlXPathContextPtr xc = xmlXPathNewContext(NULL);
    if (!xc) {
        ipf_form_free(f);
        return IPF_ERR_NOMEM;
    }
    xc->error = quiet_xpath_error;
    int rc = compile_xpaths(f, xc, root, d);
    xmlXPathFreeContext(xc);
    if (rc < 0) {
        ipf_form_free(f);
        return IPF_ERR_NOMEM;
    }
    if (bad || rc) {
        ipf_form_free(f);
        return IPF_ERR_TEMPLATE;
    }
    *out = f;
    return IPF_OK;
}

const char *ipf_form_id(const ipf_form *f)
{
    return f->id;
}
const char *ipf_form_title(const ipf_form *f)
{
    return f->title;
}
const char *ipf_form_kind(const ipf_form *f)
{
    return f->kind ? f->kind : "";
}
const char *ipf_form_jurisdiction(const ipf_form *f)
{
    return f->jurisdiction ? f->jurisdiction : "";
}
const char *ipf_form_edition(const ipf_form *f)
{
    return f->edition ? f->edition : "";
}
const char *ipf_form_path(const ipf_form *f)
{
    return f->path;
}
const char *ipf_form_data_root(const ipf_form *f)
{
    return f->data_root;
}
const char *ipf_form_data_namespace(const ipf_form *f)
{
    return f->data_ns;
}
const char *ipf_form_schema_path(const ipf_form *f)
{
    return f->schema_path;
}
const char *ipf_form_rules_path(const ipf_form *f)
{
    return f->rules_path;
}
size_t ipf_form_font_count(const ipf_form *f)
{
    return f->nfonts;
}
const char *ipf_form_font_name(const ipf_form *f, size_t i)
{
    return i < f->nfonts ? f->fonts[i] : NULL;
}
const char *ipf_form_font_file(const ipf_form *f, size_t i)
{
    return i < f->nfonts ? f->font_files[i] : f->path;
}
long ipf_form_font_line(const ipf_form *f, size_t i)
{
    return i < f->nfonts ? f->font_lines[i] : 0;
}
ipf_lb_level ipf_form_line_breaking(const ipf_form *f)
{
    return f->lb;
}
const ipf_page_geom *ipf_form_page(const ipf_form *f)
{
    return &f->page;
}
const ipf_page_geom *ipf_form_part_page(const ipf_form *f, const xmlNode *part)
{
    const ipf_page_geom *g = named_page(f, ipf_tpl_attr(part, "page"));
    return g ? g : &f->page;
}
const xmlNode *ipf_form_root(const ipf_form *f)
{
    return f->root;
}
xmlXPathCompExprPtr ipf_form_xpath(const xmlNode *element)
{
    const tpl_node *r = element ? element->_private : NULL;
    return r ? r->comp : NULL;
}
const char *ipf_form_node_file(const ipf_form *f, const xmlNode *element)
{
    return node_file(f, element);
}
int ipf_form_is_abstract(const ipf_form *f)
{
    return f->abstract;
}
const char *ipf_form_rules_form(const ipf_form *f)
{
    return f->origins[f->data_origin].id;
}

void ipf_form_register_namespaces(const ipf_form *f, xmlXPathContextPtr ctx)
{
    /* d: the form's data, unless the template binds d itself (below, later
     * registrations win). */
    if (f->data_ns)
        xmlXPathRegisterNs(ctx, (const xmlChar *)"d", (const xmlChar *)f->data_ns);
    for (size_t i = 0; i < f->nns; i++)
        xmlXPathRegisterNs(ctx, (const xmlChar *)f->ns_prefix[i], (const xmlChar *)f->ns_uri[i]);
}

/* ---------- compiled text, settings, and the check at load ---------- */

const ipf_tpl_text *ipf_form_text(const xmlNode *n, const char *attr)
{
    const tpl_node *r = n ? n->_private : NULL;
    for (const ipf_tpl_text *t = r ? r->texts : NULL; t; t = t->next)
        if ((!attr && !t->attr) || (attr && t->attr && strcmp(attr, t->attr) == 0))
            return t;
    return NULL;
}
size_t ipf_tpl_text_count(const ipf_tpl_text *t)
{
    return t ? t->nparts : 0;
}
const char *ipf_tpl_text_literal(const ipf_tpl_text *t, size_t i)
{
    return t && i < t->nparts ? t->parts[i].lit : NULL;
}
xmlXPathCompExprPtr ipf_tpl_text_expr(const ipf_tpl_text *t, size_t i)
{
    return t && i < t->nparts ? t->parts[i].comp : NULL;
}
const char *ipf_tpl_text_source(const ipf_tpl_text *t, size_t i)
{
    return t && i < t->nparts ? t->parts[i].src : NULL;
}
xmlXPathCompExprPtr ipf_form_when(const xmlNode *element)
{
    const tpl_node *r = element ? element->_private : NULL;
    return r ? r->when : NULL;
}

const char *ipf_form_variable(const ipf_form *f, const char *name)
{
    if (strcmp(name, "edition") == 0)
        return f->edition ? f->edition : "";
    return f->rules ? ipf_ruleset_setting(f->rules, name) : NULL;
}

int ipf_form_setup_xpath(const ipf_form *f, xmlXPathContextPtr ctx)
{
    ipf_form_register_namespaces(f, ctx);
    return ipf_xpathfn_register(ctx);
}

/* The trial: every expression evaluated once against an empty document.
 * scope holds the loop variables in force where it stands ("n" and var=
 * names), as layout.c binds them: inside a <repeat>, <each> or <list>, not
 * in its own select= and when= (evaluated before the loop begins). */
typedef struct trial {
    ipf_form *f;
    xmlXPathContextPtr ctx;
    xmlNodePtr root;
    ipf_diags *d;
    int bad, oom;
    const char *scope[2 * MAX_LOOP_DEPTH];
    int nscope;
} trial;

static int is_loop(const xmlNode *n)
{
    return ipf_tpl_is(n, "repeat") || ipf_tpl_is(n, "each") || ipf_tpl_is(n, "list");
}

/* In the trial every loop variable and page number is 1. */
static xmlXPathObjectPtr trial_variable(void *data, const xmlChar *name, const xmlChar *ns)
{
    trial *t = data;
    if (ns)
        return NULL;
    const char *v = ipf_form_variable(t->f, (const char *)name);
    if (v)
        return xmlXPathNewString((const xmlChar *)v);
    if (!strcmp((const char *)name, "page") || !strcmp((const char *)name, "pages"))
        return xmlXPathNewFloat(1);
    if (!strcmp((const char *)name, "group")) /* a group's nodes (docs/lists.md) */
        return xmlXPathNewNodeSet(NULL);
    for (int i = 0; i < t->nscope; i++)
        if (strcmp(t->scope[i], (const char *)name) == 0)
            return xmlXPathNewFloat(1);
    return NULL;
}

/* The loop (below n) that binds var="name", or NULL. */
static const xmlNode *loop_of(const xmlNode *n, const char *name, size_t len)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *v = is_loop(n) ? ipf_tpl_attr(n, "var") : NULL;
        if (v && strlen(v) == len && strncmp(v, name, len) == 0)
            return n;
        const xmlNode *in = loop_of(n->children, name, len);
        if (in)
            return in;
    }
    return NULL;
}

/* A scan of an expression's $variables for the first that is some loop's
 * var= but not in scope where the expression stands: that loop and the
 * variable's name. */
typedef struct stray_var {
    const trial *t;
    const xmlNode *at; /* the template element the expression is on */
    const xmlNode *loop;
    const char *name;
    size_t len;
    int n_outside; /* $n where no loop is */
} stray_var;

static int stray_has_variable(void *ud, const char *name, size_t len)
{
    stray_var *s = ud;
    for (int i = 0; i < s->t->nscope; i++)
        if (strlen(s->t->scope[i]) == len && strncmp(s->t->scope[i], name, len) == 0)
            return 1;
    char own[128];
    if (len < sizeof own) { /* a setting of that name is no stray */
        memcpy(own, name, len);
        own[len] = '\0';
        if (ipf_form_variable(s->t->f, own))
            return 1;
    }
    if (len == 1 && name[0] == 'n') {
        s->n_outside = 1; /* (no loop in scope, or the loop above had returned) */
        return 1;
    }
    const char *own_var = is_loop(s->at) ? ipf_tpl_attr(s->at, "var") : NULL;
    const xmlNode *loop = s->loop ? NULL
                          : own_var && strlen(own_var) == len && !strncmp(own_var, name, len)
                              ? s->at /* in the loop's own select= or when= */
                              : loop_of(s->t->f->root, name, len);
    if (loop) {
        s->loop = loop;
        s->name = name;
        s->len = len;
    }
    return 1; /* others are the ordinary check's */
}

static const char *stray_ns(void *ud, const char *prefix, size_t len)
{
    (void)ud;
    (void)prefix;
    (void)len;
    return "";
}

static void stray_report(void *ud, ipf_names_problem what, const char *a, size_t alen,
                         const char *b, size_t blen)
{
    (void)ud;
    (void)what;
    (void)a;
    (void)alen;
    (void)b;
    (void)blen;
}

static void trial_eval(trial *t, const xmlNode *n, xmlXPathCompExprPtr c, const char *what,
                       const char *src)
{
    if (!c)
        return;
    /* First the names: an undeclared prefix deeper in a path, or an element
     * name without one, would give an empty result here and never an error. */
    names_ctx nc = {.f = t->f};
    ipf_xpath_names names = {names_ns, NULL, names_report, &nc};
    ipf_xpath_check_names(src, &names);
    if (nc.unprefixed[0]) {
        t->bad = 1;
        ipf_diag_add(t->d, node_file(t->f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                     "%s=\"%s\" 中的元素名 %s 缺少命名空间前缀：数据在命名空间中，XPath 1.0 "
                     "里不带前缀的名称什么也选不到，应写作 d:%s 之类",
                     what, src, nc.unprefixed, nc.unprefixed);
        return;
    }
    /* Then the loop variables, from the text (an expression's predicates
     * are not evaluated on the empty document): a var= of a loop used
     * outside it, or $n outside every loop, would fail only at layout. */
    stray_var sv = {.t = t, .at = n};
    ipf_xpath_names scan = {stray_ns, stray_has_variable, stray_report, &sv};
    ipf_xpath_check_names(src, &scan);
    if (sv.loop || sv.n_outside) {
        t->bad = 1;
        if (sv.loop)
            ipf_diag_add(t->d, node_file(t->f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                         "%s=\"%s\" 在循环之外用了 $%.*s：它由第 %ld 行的 var=\"%.*s\" 定义，"
                         "只在那个循环之内有值",
                         what, src, (int)sv.len, sv.name, ipf_xml_line(sv.loop), (int)sv.len,
                         sv.name);
        else
            ipf_diag_add(t->d, node_file(t->f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                         "%s=\"%s\" 用了 $n，但这里不在任何循环（<repeat>、<each>、<list>）"
                         "之内：$n 只在循环之内，是当前一项的序号",
                         what, src);
        return;
    }
    t->ctx->node = t->root;
    xmlResetError(&t->ctx->lastError);
    xmlXPathObjectPtr o = xmlXPathCompiledEval(c, t->ctx);
    int code = t->ctx->lastError.code;
    xmlXPathFreeObject(o);
    if (o && code == 0 && !nc.unresolved)
        return;
    if (code == XML_ERR_NO_MEMORY) {
        t->oom = 1;
        return;
    }
    t->bad = 1;
    if (code == XML_XPATH_UNDEF_VARIABLE_ERROR)
        ipf_diag_add(t->d, node_file(t->f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                     "%s=\"%s\" 用了未定义的变量：变量是规则文件的 <setting>、$edition、循环的 $n "
                     "或 var=\"…\"",
                     what, src);
    else
        ipf_diag_add(t->d, node_file(t->f, n), ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                     "%s=\"%s\" 无法求值（名称空间前缀未声明或函数不存在），此处内容无法填写", what,
                     src);
}

static void trial_texts(trial *t, const xmlNode *at, const tpl_node *r)
{
    for (const ipf_tpl_text *x = r->texts; x; x = x->next)
        for (size_t i = 0; i < x->nparts; i++)
            trial_eval(t, at, x->parts[i].comp, x->attr ? x->attr : "{…}", x->parts[i].src);
}

static void trial_walk(trial *t, const xmlNode *n)
{
    for (; n && !t->oom; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const tpl_node *r = n->_private;
        if (r) {
            trial_eval(t, n, r->comp, "select", ipf_tpl_attr(n, "select"));
            trial_eval(t, n, r->when, "when", ipf_tpl_attr(n, "when"));
        }
        int mark = t->nscope;
        if (is_loop(n) && t->nscope + 2 <= (int)(sizeof t->scope / sizeof t->scope[0])) {
            t->scope[t->nscope++] = "n";
            const char *v = ipf_tpl_attr(n, "var");
            if (v)
                t->scope[t->nscope++] = v;
        }
        if (r)
            trial_texts(t, n, r);
        for (const xmlNode *c = n->children; c; c = c->next)
            if (c->type != XML_ELEMENT_NODE && c->_private)
                trial_texts(t, n, c->_private);
        trial_walk(t, n->children);
        t->nscope = mark;
    }
}

ipf_status ipf_form_bind_rules(ipf_form *f, const ipf_ruleset *rs, ipf_diags *d)
{
    f->rules = rs;
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root =
        doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)(f->data_root ? f->data_root : "document"),
                            NULL)
            : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    xmlDocSetRootElement(doc, root);
    if (f->data_ns)
        xmlSetNs(root, xmlNewNs(root, (const xmlChar *)f->data_ns, NULL));
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    if (!ctx || ipf_form_setup_xpath(f, ctx) != 0) {
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    ctx->error = quiet_xpath_error;
    trial t = {.f = f, .ctx = ctx, .root = root, .d = d};
    xmlXPathRegisterVariableLookup(ctx, trial_variable, &t);
    trial_walk(&t, f->root);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    if (t.oom)
        return IPF_ERR_NOMEM;
    return t.bad ? IPF_ERR_TEMPLATE : IPF_OK;
}
