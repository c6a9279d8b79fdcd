/* form.c: loading and checking a form template. */
#include "form.h"
#include "tplcheck.h"

#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlschemas.h>
#include <libxml/xpathInternals.h>

#include "xmldoc.h"

#define MAX_FONTS 8
#define MAX_NS    8

struct ipf_form {
    char *path;
    char *dir;
    xmlDocPtr doc;
    const xmlNode *root;
    const char *id, *title, *kind, *jurisdiction; /* point into doc */
    const char *data_root, *data_ns;
    char *schema_path, *rules_path;
    const char *fonts[MAX_FONTS];
    long font_lines[MAX_FONTS];
    size_t nfonts;
    const char *ns_prefix[MAX_NS], *ns_uri[MAX_NS];
    size_t nns;
    ipf_lb_level lb;
    ipf_page_geom page;
};

int ipf_tpl_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, IPF_TEMPLATE_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
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
        if (!a->ns && strcmp((const char *)a->name, name) == 0 && a->children &&
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

static void free_xpaths(xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->_private) {
            xmlXPathFreeCompExpr(n->_private);
            n->_private = NULL;
        }
        free_xpaths(n->children);
    }
}

void ipf_form_free(ipf_form *f)
{
    if (!f)
        return;
    if (f->doc)
        free_xpaths(xmlDocGetRootElement(f->doc));
    xmlFreeDoc(f->doc);
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

/* Compiles every select="" and checks {…} interpolations; errors carry the
 * template's line so an office's hand edit is easy to find. */
static int compile_xpaths(ipf_form *f, xmlXPathContextPtr xc, xmlNode *n, ipf_diags *d)
{
    int bad = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *sel = ipf_tpl_attr(n, "select");
        if (sel) {
            xmlXPathCompExprPtr c = xmlXPathCtxtCompile(xc, (const xmlChar *)sel);
            if (!c) {
                ipf_diag_add(d, f->path, ipf_xml_line(n), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                             "select 属性中的 XPath 表达式无法解析：%s", sel);
                bad = 1;
            }
            n->_private = c;
        }
        bad |= compile_xpaths(f, xc, n->children, d);
    }
    return bad;
}

/* Row spans must add up to the table's column count, counting cells that
 * reach down from earlier rows; a mistake here would silently misdraw. */
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
            ipf_diag_add(d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                         "表格列宽“%s”无法识别（应为 mm、pt、cm 或 fr）", buf);
            return 1;
        }
        if (!is_fr && v <= 0) {
            ipf_diag_add(d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                         "表格第 %d 列的宽度“%s”不是正数", ncols + 1, buf);
            return 1;
        }
        nfr += is_fr;
        fixed += is_fr ? 0 : v;
        ncols++;
        p = q;
    }
    if (ncols == 0 || ncols > 64) {
        ipf_diag_add(d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                     "表格必须有 1 到 64 列");
        return 1;
    }
    /* The layout would otherwise squeeze the table into the text block
     * (fixed widths) or give fr columns no width at all: both misdraw the
     * form without saying why.  A fr column needs room for a few characters. */
    double width = f->page.width - f->page.left - f->page.right;
    const double mm = 72.0 / 25.4, min_fr = 10 * mm;
    if (fixed > width + 0.5) {
        ipf_diag_add(d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
                     "表格各列宽度之和不对：固定宽度共 %.1fmm，超过版心宽度 %.1fmm", fixed / mm,
                     width / mm);
        return 1;
    }
    if (nfr > 0 && width - fixed < nfr * min_fr) {
        ipf_diag_add(
            d, f->path, ipf_xml_line(table), IPF_SEV_ERROR, "TEMPLATE-COLUMNS",
            "表格各列宽度之和不对：固定宽度共 %.1fmm，版心宽 %.1fmm，按比例（fr）分配的 %d "
            "列每列不足 %.0fmm",
            fixed / mm, width / mm, nfr, min_fr / mm);
        return 1;
    }
    int carry[64] = {0};
    int bad = 0;
    /* Rows directly in the table and inside <repeat>. */
    const xmlNode *stack[2] = {table->children, NULL};
    int depth = 0;
    const xmlNode *r = stack[0];
    while (r || depth > 0) {
        if (!r) {
            r = stack[--depth + 1];
            continue;
        }
        if (ipf_tpl_is(r, "repeat")) {
            stack[1] = r->next;
            depth = 1;
            r = r->children;
            continue;
        }
        if (ipf_tpl_is(r, "section")) {
            for (int c = 0; c < ncols; c++)
                if (carry[c] > 0) {
                    ipf_diag_add(d, f->path, ipf_xml_line(r), IPF_SEV_ERROR, "TEMPLATE-SPAN",
                                 "分节行不能插在跨行单元格中间");
                    bad = 1;
                    break;
                }
        }
        if (ipf_tpl_is(r, "row")) {
            int col = 0;
            for (const xmlNode *c = r->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                    continue;
                while (col < ncols && carry[col] > 0)
                    col++;
                const char *sp = ipf_tpl_attr(c, "span"), *rs = ipf_tpl_attr(c, "rowspan");
                int span = sp ? atoi(sp) : 1, rowspan = rs ? atoi(rs) : 1;
                if (span < 1 || rowspan < 1 || col + span > ncols) {
                    ipf_diag_add(d, f->path, ipf_xml_line(c), IPF_SEV_ERROR, "TEMPLATE-SPAN",
                                 "单元格超出表格的 %d 列（从第 %d 列起跨 %d 列）", ncols, col + 1,
                                 span);
                    bad = 1;
                    break;
                }
                for (int k = 0; k < span; k++)
                    carry[col + k] = rowspan;
                col += span;
            }
            while (col < ncols && carry[col] > 0)
                col++;
            if (!bad && col != ncols) {
                ipf_diag_add(d, f->path, ipf_xml_line(r), IPF_SEV_ERROR, "TEMPLATE-SPAN",
                             "这一行的单元格只占 %d 列，表格有 %d 列", col, ncols);
                bad = 1;
            }
            for (int k = 0; k < ncols; k++)
                if (carry[k] > 0)
                    carry[k]--;
        }
        r = r->next;
    }
    return bad;
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
    if (name && strstr(msg, "This element is not expected") != NULL)
        ipf_diag_add(r->d, r->f->path, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "元素 <%s> 不能出现在这里（名称拼写错误，或位置不对）：%s", name, msg);
    else if (name && strstr(msg, "attribute") != NULL)
        ipf_diag_add(r->d, r->f->path, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
                     "元素 <%s> 的属性有误：%s", name, msg);
    else
        ipf_diag_add(r->d, r->f->path, line, IPF_SEV_ERROR, "TEMPLATE-STRUCTURE",
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
    ipf_status st = ipf_xml_read_file(path, NULL, d, &f->doc);
    if (st != IPF_OK) {
        ipf_form_free(f);
        return st == IPF_ERR_NOMEM ? st : IPF_ERR_TEMPLATE;
    }
    xmlNode *root = xmlDocGetRootElement(f->doc);
    f->root = root;
    if (!ipf_tpl_is(root, "form")) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-ROOT",
                     "模板的根元素应为 <form xmlns=\"%s\">", IPF_TEMPLATE_NS);
        ipf_form_free(f);
        return IPF_ERR_TEMPLATE;
    }
    int bad = validate_against_schema(f, d);
    f->id = ipf_tpl_attr(root, "id");
    f->title = ipf_tpl_attr(root, "title");
    f->kind = ipf_tpl_attr(root, "kind");
    f->jurisdiction = ipf_tpl_attr(root, "jurisdiction");
    if (!f->id || !f->title) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-ROOT",
                     "模板缺少 id 或 title 属性");
        bad = 1;
    }
    const xmlNode *data = ipf_tpl_child(root, "data");
    f->data_root = ipf_tpl_attr(data, "root");
    f->data_ns = ipf_tpl_attr(data, "namespace");
    f->schema_path = join_dir(f->dir, ipf_tpl_attr(data, "schema"));
    f->rules_path = join_dir(f->dir, ipf_tpl_attr(data, "rules"));
    /* Found now rather than at first use, so the template is refused as a
     * whole with the line that names the file. */
    const char *what[2] = {"结构定义（schema）", "检查规则（rules）"};
    const char *given[2] = {ipf_tpl_attr(data, "schema"), ipf_tpl_attr(data, "rules")};
    const char *resolved[2] = {f->schema_path, f->rules_path};
    for (int i = 0; i < 2; i++)
        if (resolved[i] && access(resolved[i], R_OK) != 0) {
            ipf_diag_add(d, path, ipf_xml_line(data), IPF_SEV_ERROR, "TEMPLATE-FILE",
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
            f->fonts[f->nfonts++] = ipf_tpl_attr(c, "file");
        }
    const xmlNode *typo = ipf_tpl_child(root, "typography");
    const char *lb = ipf_tpl_attr(typo, "line-breaking");
    f->lb = IPF_LB_GB;
    if (lb) {
        int v = ipf_lb_level_parse(lb);
        if (v < 0) {
            ipf_diag_add(d, path, ipf_xml_line(typo), IPF_SEV_ERROR, "TEMPLATE-LINEBREAK",
                         "断行级别“%s”无效，应为 none、basic、GB 或 strict", lb);
            bad = 1;
        } else {
            f->lb = (ipf_lb_level)v;
        }
    }
    const xmlNode *page = ipf_tpl_child(root, "page");
    f->page = (ipf_page_geom){595.276, 841.89, 72, 72, 72, 72};
    const char *size = ipf_tpl_attr(page, "size");
    if (size && strcmp(size, "A4") != 0 && strcmp(size, "A3") != 0) {
        ipf_diag_add(d, path, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                     "纸张“%s”不支持，应为 A4 或 A3", size);
        bad = 1;
    } else if (size && strcmp(size, "A3") == 0) {
        f->page.width = 841.89;
        f->page.height = 1190.55;
    }
    const char *orient = ipf_tpl_attr(page, "orientation");
    if (orient && strcmp(orient, "landscape") == 0) {
        double w = f->page.width;
        f->page.width = f->page.height;
        f->page.height = w;
    }
    const char *names[4] = {"margin-top", "margin-bottom", "margin-left", "margin-right"};
    double *slots[4] = {&f->page.top, &f->page.bottom, &f->page.left, &f->page.right};
    for (int i = 0; i < 4; i++) {
        const char *v = ipf_tpl_attr(page, names[i]);
        if (v && ipf_length_parse(v, 14, slots[i]) != 0) {
            ipf_diag_add(d, path, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                         "%s 的长度“%s”无法识别", names[i], v);
            bad = 1;
        }
    }
    bad |= ipf_tpl_check_typesetting(path, root, &f->page, d) > 0;
    if (f->page.width - f->page.left - f->page.right < 72 ||
        f->page.height - f->page.top - f->page.bottom < 144) {
        ipf_diag_add(d, path, ipf_xml_line(page), IPF_SEV_ERROR, "TEMPLATE-PAGE",
                     "页边距过大，版心太小");
        bad = 1;
    }
    int blocks = 0;
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (ipf_tpl_is(c, "table"))
            bad |= check_table(f, c, d);
        blocks += ipf_tpl_is(c, "table") || ipf_tpl_is(c, "cover") || ipf_tpl_is(c, "page-block");
    }
    if (blocks == 0) {
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
    bad |= compile_xpaths(f, xc, root, d);
    xmlXPathFreeContext(xc);
    if (bad) {
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
const xmlNode *ipf_form_root(const ipf_form *f)
{
    return f->root;
}
xmlXPathCompExprPtr ipf_form_xpath(const xmlNode *element)
{
    return element ? element->_private : NULL;
}

void ipf_form_register_namespaces(const ipf_form *f, xmlXPathContextPtr ctx)
{
    for (size_t i = 0; i < f->nns; i++)
        xmlXPathRegisterNs(ctx, (const xmlChar *)f->ns_prefix[i], (const xmlChar *)f->ns_uri[i]);
}
