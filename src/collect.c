/* collect.c: one data document from many inputs (lists, roll-ups), its CSV. */
#include "collect.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "collate.h"
#include "csv.h"
#include "fdio.h"
#include "ipforms.h"
#include "layout.h"
#include "path.h"
#include "buf.h"
#include "utf8.h"
#include "xmldoc.h"

#define DATA_NS "urn:ipforms:data:1"

/* ------------------------------------------------------------ small helpers */

static const char *xattr(const xmlNode *n, const char *name)
{
    return ipf_tpl_attr(n, name);
}

static int is_el(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Text with white space trimmed at both ends (ASCII and U+3000). */
static char *trimmed(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
           strncmp(s, "\xE3\x80\x80", 3) == 0)
        s += *s == '\xE3' ? 3 : 1;
    size_t n = strlen(s);
    for (;;) {
        if (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
            n--;
        else if (n >= 3 && memcmp(s + n - 3, "\xE3\x80\x80", 3) == 0)
            n -= 3;
        else
            break;
    }
    return strndup(s, n);
}

char *ipf_outlet_name_key(const char *name)
{
    char *out = malloc(strlen(name) + 1);
    if (!out)
        return NULL;
    char *o = out;
    const char *p = name;
    while (*p) {
        uint32_t cp;
        const char *q = p;
        if (ipf_utf8_next(&q, &cp) < 0) {
            p++;
            continue;
        }
        p = q;
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0; /* full-width forms → ASCII: （）→ () */
        if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x3000 || cp == 0xA0 ||
            cp == 0x2002 || cp == 0x2003 || cp == 0x2009 || cp == 0x200B || cp == 0xFEFF)
            continue;
        o += ipf_utf8_encode(cp, o);
    }
    *o = '\0';
    return out;
}

int ipf_credit_code_valid(const char *code)
{
    static const char set[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    if (strlen(code) != 18)
        return 0;
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        const char *at = strchr(set, code[i]);
        if (!at || !code[i])
            return 0;
        if (i < 17)
            sum += (int)(at - set) * w[i];
        else {
            int c = 31 - sum % 31;
            if (c == 31)
                c = 0;
            return (int)(at - set) == c;
        }
    }
    return 0;
}

size_t ipf_engine_max_nodes(const ipf_form *f)
{
    const char *m = ipf_tpl_attr(ipf_tpl_child(ipf_form_root(f), "data"), "max-nodes");
    unsigned long long v = m ? strtoull(m, NULL, 10) : 0;
    return v > 4000000u ? 4000000u : (size_t)v;
}

/* ------------------------------------------------------------ regions */

typedef struct region {
    const char *code, *name, *shortname; /* point into the region table's document */
    int parent;                          /* province index for a prefecture, -1 */
} region;

typedef struct regions {
    xmlDocPtr doc;
    region *r;
    size_t n;
} regions;

static ipf_status regions_load(const char *path, ipf_diags *d, regions *out)
{
    memset(out, 0, sizeof *out);
    ipf_status st = ipf_xml_read_file(path, NULL, d, &out->doc);
    if (st != IPF_OK)
        return st == IPF_INVALID ? IPF_ERR_TEMPLATE : st;
    size_t cap = 64;
    out->r = malloc(cap * sizeof *out->r);
    if (!out->r)
        return IPF_ERR_NOMEM;
    xmlNodePtr root = xmlDocGetRootElement(out->doc);
    for (xmlNodePtr p = root->children; p; p = p->next) {
        if (!is_el(p, "province"))
            continue;
        int pi = (int)out->n;
        for (xmlNodePtr q = p; q; q = q == p ? p->children : q->next) {
            if (q != p && !is_el(q, "prefecture"))
                continue;
            if (!xattr(q, "code") || !xattr(q, "name")) {
                ipf_diag_add(d, path, ipf_xml_line(q), IPF_SEV_ERROR, "REGIONS",
                             "地区表的这一项缺少 code 或 name");
                return IPF_ERR_TEMPLATE;
            }
            if (IPF_GROW(out->r, cap, out->n + 1) < 0)
                return IPF_ERR_NOMEM;
            region *g = &out->r[out->n++];
            g->code = xattr(q, "code");
            g->name = xattr(q, "name");
            g->shortname = xattr(q, "short");
            g->parent = q == p ? -1 : pi;
            if (q != p && q->next == NULL)
                break;
        }
    }
    return IPF_OK;
}

static void regions_free(regions *g)
{
    free(g->r);
    xmlFreeDoc(g->doc);
    memset(g, 0, sizeof *g);
}

static size_t prefix_len(const char *text, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n && strncmp(text, name, n) == 0 ? n : 0;
}

/* The longest of the short forms "A|B|…" that text starts with. */
static size_t short_len(const char *text, const char *shorts)
{
    size_t best = 0;
    for (const char *p = shorts; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n > best && strncmp(text, p, n) == 0)
            best = n;
        p = bar ? bar + 1 : NULL;
    }
    return best;
}

/* A prefecture's name with its trailing 市 left off. */
static size_t stem_len(const char *text, const char *name)
{
    size_t n = strlen(name);
    if (n > 3 && strcmp(name + n - 3, "市") == 0 && strncmp(text, name, n - 3) == 0)
        return n - 3;
    return 0;
}

/* The province (and prefecture, or -1) a region text names at its start;
 * the longest province name (full or short) wins (a name that starts another
 * loses). */
static int region_match(const regions *g, const char *text, int *pref)
{
    *pref = -1;
    int best = -1;
    size_t bl = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->r[i].parent >= 0)
            continue;
        size_t l = prefix_len(text, g->r[i].name);
        size_t s = short_len(text, g->r[i].shortname);
        if (s > l)
            l = s;
        if (l > bl) {
            bl = l;
            best = (int)i;
        }
    }
    if (best < 0)
        return -1;
    /* Within the province, the longest of name, short and stem wins too, so
     * that one name beginning another cannot take its rows. */
    const char *rest = text + bl;
    size_t pl = 0;
    for (size_t i = (size_t)best + 1; i < g->n && g->r[i].parent == best; i++) {
        size_t l = prefix_len(rest, g->r[i].name);
        size_t s = short_len(rest, g->r[i].shortname), t = stem_len(rest, g->r[i].name);
        l = l > s ? l : s;
        l = l > t ? l : t;
        if (l > pl) {
            pl = l;
            *pref = (int)i;
        }
    }
    return best;
}

/* ------------------------------------------------------------ sources.xml */

typedef struct field_map {
    const char *name, *headings, *join;
    int required, region, matched_only;
    xmlXPathCompExprPtr sel;
    long line;
} field_map;

typedef struct sources {
    char *path;
    xmlDocPtr doc;
    const xmlNode *root;
    field_map f[32];
    size_t nf;
    regions reg;
} sources;

static void sources_free(sources *s)
{
    for (size_t i = 0; i < s->nf; i++)
        xmlXPathFreeCompExpr(s->f[i].sel);
    regions_free(&s->reg);
    xmlFreeDoc(s->doc);
    free(s->path);
    memset(s, 0, sizeof *s);
}

static ipf_status sources_load(const char *path, ipf_diags *d, sources *s)
{
    memset(s, 0, sizeof *s);
    s->path = strdup(path);
    if (!s->path)
        return IPF_ERR_NOMEM;
    ipf_status st = ipf_xml_read_file(path, NULL, d, &s->doc);
    if (st != IPF_OK)
        return st == IPF_INVALID ? IPF_ERR_TEMPLATE : st;
    s->root = xmlDocGetRootElement(s->doc);
    if (!is_el(s->root, "sources") || !xattr(s->root, "row") || !xattr(s->root, "root") ||
        !xattr(s->root, "form")) {
        ipf_diag_add(d, path, ipf_xml_line(s->root), IPF_SEV_ERROR, "SOURCES",
                     "来源映射文件的根元素应是 <sources row=… root=… form=…>");
        return IPF_ERR_TEMPLATE;
    }
    xmlXPathContextPtr xc = xmlXPathNewContext(NULL);
    if (!xc)
        return IPF_ERR_NOMEM;
    xmlXPathRegisterNs(xc, (const xmlChar *)"d", (const xmlChar *)DATA_NS);
    for (const xmlNode *n = s->root->children; n; n = n->next) {
        if (!is_el(n, "field"))
            continue;
        if (s->nf == sizeof s->f / sizeof s->f[0] || !xattr(n, "name")) {
            ipf_diag_add(d, path, ipf_xml_line(n), IPF_SEV_ERROR, "SOURCES",
                         "<field> 缺少 name，或字段超过 32 个");
            st = IPF_ERR_TEMPLATE;
            break;
        }
        field_map *f = &s->f[s->nf++];
        f->name = xattr(n, "name");
        f->headings = xattr(n, "headings");
        f->join = xattr(n, "join");
        f->required = xattr(n, "required") && strcmp(xattr(n, "required"), "true") == 0;
        f->region = xattr(n, "region") && strcmp(xattr(n, "region"), "true") == 0;
        f->matched_only = xattr(n, "shown") && strcmp(xattr(n, "shown"), "matched") == 0;
        f->line = ipf_xml_line(n);
        if (xattr(n, "select") &&
            !(f->sel = xmlXPathCtxtCompile(xc, (const xmlChar *)xattr(n, "select")))) {
            ipf_diag_add(d, path, f->line, IPF_SEV_ERROR, "TEMPLATE-XPATH",
                         "select 属性中的 XPath 表达式无法解析：%s", xattr(n, "select"));
            st = IPF_ERR_TEMPLATE;
        }
    }
    xmlXPathFreeContext(xc);
    if (st == IPF_OK && xattr(s->root, "regions")) {
        char *rp = ipf_path_beside(path, xattr(s->root, "regions"));
        st = rp ? regions_load(rp, d, &s->reg) : IPF_ERR_NOMEM;
        free(rp);
    }
    return st;
}

/* The sources.xml beside a form's template. */
static ipf_status sources_for(ipf_engine *e, const char *form_id, ipf_diags *d, sources *s,
                              const ipf_form **form)
{
    /* Freed by the caller whatever happens here: cleared before any return. */
    memset(s, 0, sizeof *s);
    *form = ipf_engine_find_form(e, form_id, d);
    if (!*form) {
        ipf_diag_add(d, form_id, 0, IPF_SEV_ERROR, "FORM-UNKNOWN",
                     "没有名为“%s”的表单（可用 ipforms forms 查看）", form_id);
        return IPF_ERR_USAGE;
    }
    char *p = ipf_path_beside(ipf_form_path(*form), "sources.xml");
    if (!p)
        return IPF_ERR_NOMEM;
    ipf_status st = sources_load(p, d, s);
    free(p);
    return st;
}

/* ------------------------------------------------------------ building rows */

typedef struct builder {
    sources *src;
    xmlDocPtr out;
    xmlNodePtr root;
    xmlNsPtr ns;
    ipf_diags *d;
    size_t xml_max_nodes;
    int have_title, have_issuer, have_date;
} builder;

static xmlNodePtr add_text(builder *b, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = xmlNewTextChild(parent, b->ns, (const xmlChar *)name, (const xmlChar *)text);
    return n;
}

/* Gives a region element its codes and printed name from the region table. */
static void annotate_region(builder *b, xmlNodePtr reg, int matched_only, const char *file,
                            long line)
{
    regions *g = &b->src->reg;
    if (!g->n || !reg)
        return;
    xmlChar *raw = xmlNodeGetContent(reg);
    char *t = raw ? trimmed((const char *)raw) : NULL;
    xmlFree(raw);
    if (!t)
        return;
    int pref;
    int p = region_match(g, t, &pref);
    if (p < 0) {
        if (*t)
            ipf_diag_add(b->d, file, line, IPF_SEV_WARNING, "LIST-REGION",
                         "地区“%s”不在地区表（GB/T 2260）中，这一行排在名单最后；"
                         "请写省级名称开头，如“××省××市”",
                         t);
        free(t);
        return;
    }
    xmlSetProp(reg, (const xmlChar *)"province", (const xmlChar *)g->r[p].name);
    xmlSetProp(reg, (const xmlChar *)"province-code", (const xmlChar *)g->r[p].code);
    /* Printed: the table's full names when the prefecture is known (a
     * short form becomes the table's), else the text as written (a prefecture
     * not in the table). */
    char shown[512];
    snprintf(shown, sizeof shown, "%s%s", pref >= 0 || matched_only ? g->r[p].name : t,
             pref >= 0 ? g->r[pref].name : "");
    if (pref >= 0) {
        xmlSetProp(reg, (const xmlChar *)"prefecture", (const xmlChar *)g->r[pref].name);
        xmlSetProp(reg, (const xmlChar *)"prefecture-code", (const xmlChar *)g->r[pref].code);
    }
    xmlChar *esc = xmlEncodeSpecialChars(reg->doc, (const xmlChar *)shown);
    xmlNodeSetContent(reg, esc);
    xmlFree(esc);
    free(t);
}

static xmlNodePtr new_row(builder *b, const char *file, long line)
{
    xmlNodePtr r = xmlNewChild(b->root, b->ns, (const xmlChar *)xattr(b->src->root, "row"), NULL);
    char from[1024];
    snprintf(from, sizeof from, "%s:%ld", file, line);
    if (r)
        xmlSetProp(r, (const xmlChar *)"from", (const xmlChar *)from);
    return r;
}

static ipf_status from_csv(builder *b, const char *path)
{
    ipf_csv *c;
    ipf_status st = ipf_csv_read_file(path, b->d, &c);
    if (st != IPF_OK)
        return st;
    sources *s = b->src;
    int colfield[256];
    size_t nc = ipf_csv_fields(c);
    for (size_t k = 0; k < nc && k < 256; k++) {
        colfield[k] = -1;
        char *h = ipf_outlet_name_key(ipf_csv_field(c, 0, k));
        for (size_t i = 0; h && i < s->nf && colfield[k] < 0; i++) {
            const char *hs = s->f[i].headings;
            for (const char *p = hs; p && *p;) {
                const char *q = strchr(p, '|');
                size_t l = q ? (size_t)(q - p) : strlen(p);
                if (strlen(h) == l && strncmp(h, p, l) == 0) {
                    colfield[k] = (int)i;
                    break;
                }
                p = q ? q + 1 : NULL;
            }
        }
        if (colfield[k] < 0 && h && *h)
            ipf_diag_add(b->d, path, ipf_csv_line(c, 0), IPF_SEV_WARNING, "CSV-COLUMN",
                         "表头第 %zu 列“%s”不对应名单的任何字段，这一列未使用（映射见 %s）", k + 1,
                         ipf_csv_field(c, 0, k), s->path);
        free(h);
    }
    for (size_t i = 0; i < s->nf; i++) {
        if (!s->f[i].required)
            continue;
        int found = 0;
        for (size_t k = 0; k < nc && k < 256; k++)
            found |= colfield[k] == (int)i;
        if (!found) {
            const char *hs = s->f[i].headings ? s->f[i].headings : s->f[i].name;
            ipf_diag_add(b->d, path, ipf_csv_line(c, 0), IPF_SEV_ERROR, "CSV-COLUMN",
                         "名册缺少必需的一列：表头应有“%.*s”（也可写 %s）",
                         (int)(strchr(hs, '|') ? (size_t)(strchr(hs, '|') - hs) : strlen(hs)), hs,
                         hs);
            st = IPF_INVALID;
        }
    }
    for (size_t r = 1; r < ipf_csv_records(c) && st == IPF_OK; r++) {
        xmlNodePtr row = new_row(b, path, ipf_csv_line(c, r));
        if (!row) {
            st = IPF_ERR_NOMEM;
            break;
        }
        for (size_t k = 0; k < nc && k < 256; k++) {
            if (colfield[k] < 0)
                continue;
            const field_map *f = &s->f[colfield[k]];
            char *v = trimmed(ipf_csv_field(c, r, k));
            if (v && (*v || f->required)) {
                xmlNodePtr el = add_text(b, row, f->name, v);
                if (f->region)
                    annotate_region(b, el, f->matched_only, path, ipf_csv_line(c, r));
            }
            free(v);
        }
    }
    ipf_csv_free(c);
    return st;
}

/* A node-set's text, each node's normalised and joined by sep. */
static char *joined(xmlXPathObjectPtr o, const char *sep)
{
    if (!o)
        return strdup("");
    if (o->type != XPATH_NODESET || !o->nodesetval || o->nodesetval->nodeNr <= 1 || !sep) {
        xmlChar *v = xmlXPathCastToString(o);
        char *r = v ? malloc(strlen((char *)v) + 1) : NULL;
        if (r)
            ipf_text_normalize((const char *)v, r);
        xmlFree(v);
        return r;
    }
    ipf_buf out = {0};
    for (int i = 0; !out.oom && i < o->nodesetval->nodeNr; i++) {
        xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
        const char *text = v ? (const char *)v : "";
        if (i)
            ipf_buf_str(&out, sep);
        /* normalised in place: never longer than the text */
        if (ipf_buf_reserve(&out, strlen(text)) == 0)
            out.len += ipf_text_normalize(text, out.s + out.len);
        xmlFree(v);
    }
    return ipf_buf_take(&out);
}

static ipf_status from_filing(builder *b, xmlDocPtr doc, const char *path)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    if (!xc)
        return IPF_ERR_NOMEM;
    xmlXPathRegisterNs(xc, (const xmlChar *)"d",
                       root->ns ? root->ns->href : (const xmlChar *)DATA_NS);
    ipf_status st = IPF_OK;
    xmlNodePtr row = new_row(b, path, ipf_xml_line(root));
    for (size_t i = 0; row && i < b->src->nf && st == IPF_OK; i++) {
        const field_map *f = &b->src->f[i];
        if (!f->sel)
            continue;
        xc->node = root;
        xmlXPathObjectPtr o = xmlXPathCompiledEval(f->sel, xc);
        char *v = joined(o, f->join);
        xmlXPathFreeObject(o);
        char *t = v ? trimmed(v) : NULL;
        free(v);
        if (!t) {
            st = IPF_ERR_NOMEM;
            break;
        }
        if (*t || f->required) {
            xmlNodePtr el = add_text(b, row, f->name, t);
            if (f->region)
                annotate_region(b, el, 1, path, ipf_xml_line(root));
        }
        free(t);
    }
    xmlXPathFreeContext(xc);
    return row ? st : IPF_ERR_NOMEM;
}

/* A list document: its rows as they are (regions annotated), and its title,
 * issuer and date unless given. */
static ipf_status from_list(builder *b, xmlDocPtr doc, const char *path)
{
    const char *rowname = xattr(b->src->root, "row");
    const field_map *rf = NULL;
    for (size_t i = 0; i < b->src->nf; i++)
        if (b->src->f[i].region)
            rf = &b->src->f[i];
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        int head = is_el(n, "title")    ? !b->have_title++
                   : is_el(n, "issuer") ? !b->have_issuer++
                   : is_el(n, "date")   ? !b->have_date++
                                        : 0;
        if (!head && !is_el(n, rowname))
            continue;
        xmlNodePtr c = xmlDocCopyNode(n, b->out, 1);
        if (!c)
            return IPF_ERR_NOMEM;
        if (head) {
            xmlNodePtr first = b->root->children;
            while (first && !is_el(first, rowname))
                first = first->next;
            first ? xmlAddPrevSibling(first, c) : xmlAddChild(b->root, c);
            continue;
        }
        xmlAddChild(b->root, c);
        char from[1024];
        snprintf(from, sizeof from, "%s:%ld", path, ipf_xml_line(n));
        xmlSetProp(c, (const xmlChar *)"from", (const xmlChar *)from);
        for (xmlNodePtr f = c->children; rf && f; f = f->next)
            if (is_el(f, rf->name) && !xmlHasProp(f, (const xmlChar *)"province-code"))
                annotate_region(b, f, rf->matched_only, path, ipf_xml_line(n));
    }
    return IPF_OK;
}

static int ends_with_ci(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcasecmp(s + a - b, suf) == 0;
}

static ipf_status add_input(builder *b, const char *path)
{
    if (ends_with_ci(path, ".csv"))
        return from_csv(b, path);
    xmlDocPtr doc;
    ipf_xml_limits lim = {0};
    lim.max_nodes = b->xml_max_nodes;
    ipf_status st = ipf_xml_read_file(path, &lim, b->d, &doc);
    if (st != IPF_OK)
        return st;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (strcmp((const char *)root->name, xattr(b->src->root, "root")) == 0)
        st = from_list(b, doc, path);
    else
        st = from_filing(b, doc, path);
    xmlFreeDoc(doc);
    return st;
}

static char *expand_year(const char *tpl, const char *year)
{
    size_t cap = strlen(tpl) + (year ? strlen(year) : 0) + 1;
    char *out = malloc(cap), *o = out;
    for (const char *p = tpl; out && *p;) {
        if (strncmp(p, "{year}", 6) == 0) {
            o += sprintf(o, "%s", year ? year : "");
            p += 6;
        } else {
            *o++ = *p++;
        }
    }
    if (out)
        *o = '\0';
    return out;
}

static ipf_status builder_new(builder *b, sources *s, const ipf_form *form,
                              const ipf_list_options *o, ipf_diags *d)
{
    memset(b, 0, sizeof *b);
    b->src = s;
    b->d = d;
    b->xml_max_nodes = ipf_engine_max_nodes(form);
    b->out = xmlNewDoc((const xmlChar *)"1.0");
    b->root =
        b->out ? xmlNewDocNode(b->out, NULL, (const xmlChar *)xattr(s->root, "root"), NULL) : NULL;
    if (!b->root)
        return IPF_ERR_NOMEM;
    xmlDocSetRootElement(b->out, b->root);
    b->ns = xmlNewNs(b->root, (const xmlChar *)DATA_NS, NULL);
    xmlSetNs(b->root, b->ns);
    xmlSetProp(b->root, (const xmlChar *)"form", (const xmlChar *)ipf_form_id(form));
    if (o->year)
        xmlSetProp(b->root, (const xmlChar *)"year", (const xmlChar *)o->year);
    return IPF_OK;
}

/* Title, issuer and date: the options, else a list document's, else sources.xml's. */
static void builder_head(builder *b, const ipf_list_options *o)
{
    xmlNodePtr first = b->root->children;
    const char *tt = xattr(b->src->root, "title");
    const char *vals[3] = {NULL, o->issuer ? o->issuer : xattr(b->src->root, "issuer"), o->date};
    const char *names[3] = {"title", "issuer", "date"};
    int have[3] = {b->have_title, b->have_issuer && !o->issuer, b->have_date && !o->date};
    char *title = tt ? expand_year(tt, o->year) : NULL;
    if (tt && strstr(tt, "{year}") && (!o->year || !*o->year) && !b->have_title)
        ipf_diag_add(b->d, b->src->path, 0, IPF_SEV_WARNING, "LIST-YEAR",
                     "没有给出年度（--year 或 --date），标题“%s”中的年度空着", tt);
    vals[0] = title;
    for (int i = 0; i < 3; i++) {
        if (have[i] || !vals[i] || !*vals[i])
            continue;
        xmlNodePtr old = b->root->children;
        while (old && !is_el(old, names[i]))
            old = old->next;
        if (old) {
            xmlUnlinkNode(old);
            xmlFreeNode(old);
            first = b->root->children;
        }
        xmlNodePtr n = xmlNewDocNode(b->out, b->ns, (const xmlChar *)names[i], NULL);
        if (!n)
            continue;
        xmlNodeAddContent(n, (const xmlChar *)vals[i]);
        /* schema order: title, issuer, date, rows */
        xmlNodePtr at = b->root->children;
        while (at && (is_el(at, "title") || (i >= 1 && is_el(at, "issuer"))))
            at = at->next;
        at ? xmlAddPrevSibling(at, n) : xmlAddChild(b->root, n);
    }
    (void)first;
    free(title);
}

/* ------------------------------------------------------------ rendered alone */

ipf_status ipf_collect_annotate(ipf_engine *e, const ipf_form *form, xmlDocPtr doc,
                                const char *path, ipf_diags *d)
{
    char *sp = ipf_path_beside(ipf_form_path(form), "sources.xml");
    if (!sp)
        return IPF_ERR_NOMEM;
    sources own, roster;
    const ipf_form *f = NULL;
    memset(&own, 0, sizeof own);
    memset(&roster, 0, sizeof roster);
    /* No sources.xml: not a document made from many. */
    ipf_status st = access(sp, R_OK) == 0 ? sources_load(sp, d, &own) : IPF_OK;
    free(sp);
    if (!own.root) {
        sources_free(&own);
        return st;
    }
    /* A roll-up's rows are its roster's: their fields and region table. */
    const char *rf_id = st == IPF_OK ? xattr(own.root, "roster") : NULL;
    if (rf_id)
        st = sources_for(e, rf_id, d, &roster, &f);
    sources *src = rf_id ? &roster : &own;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    /* (Only a document of the kind the mapping makes.) */
    int kind =
        st == IPF_OK && root && strcmp(xattr(own.root, "root"), (const char *)root->name) == 0;
    const char *rowname = kind ? xattr(src->root, "row") : NULL;
    const field_map *rf = NULL;
    for (size_t i = 0; rowname && i < src->nf; i++)
        if (src->f[i].region)
            rf = &src->f[i];
    builder b;
    memset(&b, 0, sizeof b);
    b.src = src;
    b.d = d;
    for (xmlNodePtr n = rf && root ? root->children : NULL; n; n = n->next) {
        if (!is_el(n, rowname))
            continue;
        for (xmlNodePtr c = n->children; c; c = c->next)
            if (is_el(c, rf->name) && !xmlHasProp(c, (const xmlChar *)"province-code"))
                annotate_region(&b, c, rf->matched_only, path, ipf_xml_line(n));
    }
    sources_free(&roster);
    sources_free(&own);
    return st;
}

/* ------------------------------------------------------------ CSV of a table */

static void tb_put_normalized(ipf_buf *t, const char *raw)
{
    char *tmp = malloc(strlen(raw) + 1);
    if (!tmp) {
        t->oom = 1;
        return;
    }
    ipf_text_normalize(raw, tmp);
    ipf_buf_str(t, tmp);
    free(tmp);
}

typedef struct csv_ctx {
    const ipf_form *form;
    xmlXPathContextPtr xp;
    ipf_diags *d;
    int errors;
    double n; /* $n of the row being written */
} csv_ctx;

/* The layout's variables as far as a CSV has them: $n, the rule settings;
 * $page and $pages are 1 (a CSV has no pages). */
static xmlXPathObjectPtr csv_variable(void *data, const xmlChar *name, const xmlChar *ns)
{
    const csv_ctx *c = data;
    if (ns)
        return NULL;
    if (strcmp((const char *)name, "n") == 0)
        return xmlXPathNewFloat(c->n);
    if (strcmp((const char *)name, "page") == 0 || strcmp((const char *)name, "pages") == 0)
        return xmlXPathNewFloat(1);
    const char *v = ipf_form_variable(c->form, (const char *)name);
    return v ? xmlXPathNewString((const xmlChar *)v) : NULL;
}

static char *eval_string(csv_ctx *c, const xmlNode *tn, xmlNodePtr ctx)
{
    xmlXPathCompExprPtr comp = ipf_form_xpath(tn);
    if (!comp)
        return NULL;
    c->xp->node = ctx;
    xmlXPathObjectPtr o = xmlXPathCompiledEval(comp, c->xp);
    if (!o) {
        c->errors++;
        return NULL;
    }
    xmlChar *v = xmlXPathCastToString(o);
    xmlXPathFreeObject(o);
    char *r = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return r;
}

/* when="…" false: the cell keeps its place but is empty (as printed). */
static int when_true(csv_ctx *c, const xmlNode *tn, xmlNodePtr ctx)
{
    xmlXPathCompExprPtr w = ipf_form_when(tn);
    if (!w)
        return 1;
    c->xp->node = ctx;
    xmlXPathObjectPtr o = xmlXPathCompiledEval(w, c->xp);
    int r = o && xmlXPathCastToBoolean(o);
    if (!o)
        c->errors++;
    xmlXPathFreeObject(o);
    return r;
}

static void cell_text(csv_ctx *c, const xmlNode *tn, xmlNodePtr ctx, ipf_buf *t)
{
    if (!when_true(c, tn, ctx))
        return;
    if (ipf_tpl_is(tn, "value")) {
        char *v = eval_string(c, tn, ctx);
        if (v)
            tb_put_normalized(t, v);
        free(v);
        return;
    }
    for (const xmlNode *k = tn->children; k; k = k->next) {
        if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
            const ipf_tpl_text *tx = ipf_form_text(k, NULL); /* {xpath} in text */
            for (size_t i = 0; tx && i < ipf_tpl_text_count(tx); i++) {
                const char *lit = ipf_tpl_text_literal(tx, i);
                if (lit) {
                    tb_put_normalized(t, lit);
                    continue;
                }
                c->xp->node = ctx;
                xmlXPathObjectPtr o = xmlXPathCompiledEval(ipf_tpl_text_expr(tx, i), c->xp);
                xmlChar *v = o ? xmlXPathCastToString(o) : NULL;
                if (!o)
                    c->errors++;
                if (v)
                    tb_put_normalized(t, (const char *)v);
                xmlFree(v);
                xmlXPathFreeObject(o);
            }
            if (!tx)
                tb_put_normalized(t, (const char *)k->content);
        } else if (ipf_tpl_is(k, "field")) {
            char *v = eval_string(c, k, ctx);
            const char *fmt = ipf_tpl_attr(k, "format");
            int y, m, dd;
            char buf[64];
            if (v && fmt && strcmp(fmt, "date-zh") == 0 &&
                sscanf(v, "%d-%d-%d", &y, &m, &dd) == 3) {
                snprintf(buf, sizeof buf, "%d年%d月%d日", y, m, dd);
                ipf_buf_str(t, buf);
            } else if (v) {
                tb_put_normalized(t, v);
            }
            free(v);
        } else if (ipf_tpl_is(k, "check")) {
            char *v = NULL;
            xmlXPathCompExprPtr comp = ipf_form_xpath(k);
            if (comp) {
                c->xp->node = ctx;
                xmlXPathObjectPtr o = xmlXPathCompiledEval(comp, c->xp);
                ipf_buf_str(t, o && xmlXPathCastToBoolean(o) ? "☑" : "□");
                xmlXPathFreeObject(o);
            }
            free(v);
        } else if (k->type == XML_ELEMENT_NODE) {
            if (t->len && (ipf_tpl_is(k, "p") || ipf_tpl_is(k, "paragraphs")))
                ipf_buf_str(t, "\n");
            cell_text(c, k, ctx, t);
        }
    }
}

static ipf_status row_record(csv_ctx *c, const xmlNode *row, xmlNodePtr ctx, ipf_csv_writer *w)
{
    ipf_status st = IPF_OK;
    if (!when_true(c, row, ctx)) /* a row not printed is not a record */
        return IPF_OK;
    for (const xmlNode *cell = row->children; cell && st == IPF_OK; cell = cell->next) {
        if (cell->type != XML_ELEMENT_NODE)
            continue;
        ipf_buf t = {0};
        ipf_buf_str(&t, "");
        cell_text(c, cell, ctx, &t);
        st = t.oom ? IPF_ERR_NOMEM : ipf_csv_put(w, t.s);
        free(t.s);
        /* A cell spanning columns keeps the columns in line: empty fields. */
        const char *sp = ipf_tpl_attr(cell, "span");
        for (int k = 1; sp && k < atoi(sp) && k < 64 && st == IPF_OK; k++)
            st = ipf_csv_put(w, "");
    }
    return st == IPF_OK ? ipf_csv_end_record(w) : st;
}

ipf_status ipf_collect_csv(const ipf_form *form, xmlDocPtr data, ipf_csv_writer *w, ipf_diags *d)
{
    const xmlNode *table = NULL, *rep = NULL;
    for (const xmlNode *n = ipf_form_root(form)->children; n; n = n->next) {
        if (!ipf_tpl_is(n, "table"))
            continue;
        const char *cv = ipf_tpl_attr(n, "csv");
        if (cv && strcmp(cv, "false") == 0)
            continue;
        if (ipf_tpl_child(n, "repeat") && (!table || (cv && strcmp(cv, "true") == 0))) {
            if (!table || cv)
                table = n;
        }
    }
    rep = table ? ipf_tpl_child(table, "repeat") : NULL;
    if (!rep) {
        ipf_diag_add(d, ipf_form_path(form), 0, IPF_SEV_ERROR, "TEMPLATE-CSV",
                     "模板没有可以导出 CSV 的表格（需要一个含 <repeat> 的 <table>）");
        return IPF_ERR_TEMPLATE;
    }
    csv_ctx c = {form, xmlXPathNewContext(data), d, 0, 0};
    if (!c.xp)
        return IPF_ERR_NOMEM;
    if (ipf_form_setup_xpath(form, c.xp) != 0) {
        xmlXPathFreeContext(c.xp);
        return IPF_ERR_NOMEM;
    }
    xmlXPathRegisterVariableLookup(c.xp, csv_variable, &c);
    xmlNodePtr root = xmlDocGetRootElement(data);
    ipf_status st = IPF_OK;
    /* Records: the header rows, the repeat's rows, and the rows after the
     * repeat (totals); rows above the headings (the title block) are not. */
    const xmlNode *tail = NULL;
    for (const xmlNode *r = table->children; r && st == IPF_OK; r = r->next) {
        if (r == rep) {
            tail = r->next;
            break;
        }
        if (ipf_tpl_is(r, "row") && ipf_tpl_attr(r, "header") &&
            strcmp(ipf_tpl_attr(r, "header"), "true") == 0)
            st = row_record(&c, r, root, w);
    }
    c.xp->node = root;
    xmlXPathObjectPtr o = st == IPF_OK ? xmlXPathCompiledEval(ipf_form_xpath(rep), c.xp) : NULL;
    ipf_sorter *so = NULL;
    ipf_rows rows = {0};
    if (st == IPF_OK && o && o->type == XPATH_NODESET) {
        st = ipf_sorter_new(&so);
        if (st == IPF_OK)
            st = ipf_rows_order(so, rep, o->nodesetval, c.xp, d, &rows);
        for (size_t i = 0; i < rows.n && st == IPF_OK; i++) {
            c.n = (double)i + 1;
            for (const xmlNode *r = rep->children; r && st == IPF_OK; r = r->next)
                if (ipf_tpl_is(r, "row"))
                    st = row_record(&c, r, rows.nodes[i], w);
        }
    }
    for (const xmlNode *r = tail; r && st == IPF_OK; r = r->next)
        if (ipf_tpl_is(r, "row"))
            st = row_record(&c, r, root, w);
    ipf_rows_free(&rows);
    ipf_sorter_free(so);
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(c.xp);
    if (st == IPF_OK && c.errors) {
        ipf_diag_add(d, ipf_form_path(form), ipf_xml_line(rep), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                     "表格中有 %d 处 select 无法求值，CSV 未写出", c.errors);
        st = IPF_ERR_TEMPLATE;
    }
    return st;
}

/* ------------------------------------------------------------ output */

/* Records through a pipe, between worker processes and the parent: u32
 * integers and strings (u32 length, UINT32_MAX for NULL), in host order. */

static void wb_u32(ipf_buf *b, uint32_t v)
{
    ipf_buf_put(b, &v, sizeof v);
}

static void wb_str(ipf_buf *b, const char *s) /* NULL is kept apart from "" */
{
    uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
    wb_u32(b, n);
    if (s)
        ipf_buf_put(b, s, n);
}

typedef struct rbuf {
    const char *p, *end;
    int bad;
} rbuf;

static uint32_t rb_u32(rbuf *r)
{
    uint32_t v = 0;
    if (r->bad || (size_t)(r->end - r->p) < sizeof v) {
        r->bad = 1;
        return 0;
    }
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    return v;
}

/* A new string, NULL for a NULL written; *ok 0 when truncated or no memory. */
static char *rb_str(rbuf *r, int *ok)
{
    uint32_t n = rb_u32(r);
    if (r->bad || n == UINT32_MAX)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        *ok = 0;
        return NULL;
    }
    memcpy(s, r->p, n);
    s[n] = '\0';
    r->p += n;
    return s;
}

/* A diagnostics sink as a record: its count, then each problem. */
static void wb_diags(ipf_buf *b, const ipf_diags *d)
{
    size_t nd = d ? ipf_diags_count(d) : 0;
    wb_u32(b, (uint32_t)nd);
    for (size_t k = 0; k < nd; k++) {
        const ipf_diag *g = ipf_diags_get(d, k);
        wb_str(b, g->file);
        wb_u32(b, (uint32_t)(g->line < 0 ? 0 : g->line));
        wb_u32(b, (uint32_t)g->severity);
        wb_str(b, g->code);
        wb_str(b, g->message);
    }
}

/* The nd problems of such a record, added to into (NULL: read past). */
static void rb_diags(rbuf *r, uint32_t nd, ipf_diags *into, int *ok)
{
    for (uint32_t k = 0; k < nd && !r->bad; k++) {
        char *file = rb_str(r, ok);
        long line = (long)rb_u32(r);
        ipf_severity sev = (ipf_severity)rb_u32(r);
        char *code = rb_str(r, ok), *msg = rb_str(r, ok);
        if (into && file && code && msg)
            ipf_diag_add(into, file, line, sev, code, "%s", msg);
        free(file);
        free(code);
        free(msg);
    }
}

static ipf_status csv_of(const ipf_form *form, xmlDocPtr doc, const ipf_list_options *o,
                         ipf_diags *d, ipf_csv_writer **w)
{
    ipf_status st = ipf_csv_writer_new(
        o->csv_charset == IPF_CSV_GB18030 ? IPF_CSV_GB18030 : IPF_CSV_UTF8_BOM, w);
    if (st == IPF_OK)
        st = ipf_collect_csv(form, doc, *w, d);
    return st;
}

/* The CSV made beside the PDF, with -j other than 1: a child process makes
 * it while the parent lays out and writes the PDF, and writes it only when
 * the parent says the PDF was written (as the serial order does), then
 * sends back its status and diagnostics.  -1: no child (the caller makes
 * the CSV itself). */
static int csv_child(const ipf_form *form, xmlDocPtr doc, const ipf_list_options *o, int *go_fd,
                     int *back_fd, pid_t *pid)
{
    int go, back;
    fflush(NULL);
    pid_t c = ipf_fork_piped(&go, &back);
    if (c < 0)
        return -1;
    if (c == 0) {
        ipf_diags *cd = ipf_diags_new();
        ipf_csv_writer *w = NULL;
        ipf_status st = cd ? csv_of(form, doc, o, cd, &w) : IPF_ERR_NOMEM;
        char say = 0;
        while (read(go, &say, 1) < 0 && errno == EINTR)
            ;
        if (say == 'w' && st == IPF_OK)
            st = ipf_csv_write_file(w, o->csv_path, cd);
        if (cd && ipf_diags_oom(cd))
            st = IPF_ERR_NOMEM;
        ipf_buf b = {0};
        wb_u32(&b, (uint32_t)st);
        wb_diags(&b, cd);
        _exit(b.oom || ipf_write_all(back, b.p, b.len) < 0 ? 3 : 0);
    }
    *go_fd = go;
    *back_fd = back;
    *pid = c;
    return 0;
}

/* The child's answer after the PDF: its diagnostics added to d only when
 * the PDF was written (pdf_ok), as the serial order would have made them. */
static ipf_status csv_child_done(int go_fd, int back_fd, pid_t pid, int pdf_ok, ipf_diags *d)
{
    char say = pdf_ok ? 'w' : 'n';
    /* A child that died must not take the parent with it (SIGPIPE). */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    (void)!write(go_fd, &say, 1);
    sigaction(SIGPIPE, &old, NULL);
    close(go_fd);
    ipf_buf in = {0};
    char chunk[4096];
    for (;;) {
        ssize_t got = read(back_fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        ipf_buf_put(&in, chunk, (size_t)got);
    }
    close(back_fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rbuf r = {in.s, in.s + in.len, in.oom || !WIFEXITED(status) || WEXITSTATUS(status) != 0};
    ipf_status st = (ipf_status)rb_u32(&r);
    uint32_t nd = rb_u32(&r);
    int ok = 1;
    rb_diags(&r, nd, pdf_ok ? d : NULL, &ok);
    free(in.p);
    if (!ok)
        return IPF_ERR_NOMEM;
    return r.bad ? IPF_ERR_INTERNAL : st;
}

static ipf_status write_outputs(ipf_engine *e, const ipf_form *form, xmlDocPtr doc,
                                const char *name, const ipf_list_options *o, ipf_diags *d)
{
    int go_fd = -1, back_fd = -1;
    pid_t pid = 0;
    int child = o->csv_path && o->pdf_path && o->jobs != 1
                    ? csv_child(form, doc, o, &go_fd, &back_fd, &pid)
                    : -1;
    ipf_status st = ipf_engine_render_doc(e, doc, name, o->pdf_path, d);
    if (child == 0) {
        ipf_status cs = csv_child_done(go_fd, back_fd, pid, st == IPF_OK, d);
        if (cs == IPF_ERR_INTERNAL)
            ipf_diag_add(d, o->csv_path, 0, IPF_SEV_ERROR, "CSV-WORKER",
                         "生成 CSV 的进程意外退出，CSV 可能没有写出；请用 -j1 重试");
        return st != IPF_OK ? st : cs;
    }
    if (st != IPF_OK || !o->csv_path)
        return st;
    ipf_csv_writer *w = NULL;
    st = csv_of(form, doc, o, d, &w);
    if (st == IPF_OK)
        st = ipf_csv_write_file(w, o->csv_path, d);
    ipf_csv_writer_free(w);
    return st;
}

static ipf_status build_roster(ipf_engine *e, const char *form_id, const ipf_list_options *o,
                               ipf_diags *d, sources *s, builder *b, const ipf_form **form)
{
    ipf_status st = sources_for(e, form_id, d, s, form);
    if (st == IPF_OK)
        st = builder_new(b, s, *form, o, d);
    ipf_status worst = st;
    for (size_t i = 0; i < o->ninputs && worst != IPF_ERR_NOMEM && st == IPF_OK; i++) {
        ipf_status one = add_input(b, o->inputs[i]);
        if (one != IPF_OK && (worst == IPF_OK || one > worst))
            worst = one;
    }
    if (worst == IPF_OK)
        builder_head(b, o);
    return worst;
}

ipf_status ipf_engine_list(ipf_engine *e, const ipf_list_options *o, ipf_diags *d)
{
    sources s;
    builder b;
    const ipf_form *form = NULL;
    memset(&b, 0, sizeof b);
    const char *id = o->form_id ? o->form_id : "outlet-list";
    ipf_status st = build_roster(e, id, o, d, &s, &b, &form);
    if (st == IPF_OK)
        st = write_outputs(e, form, b.out, o->pdf_path ? o->pdf_path : id, o, d);
    xmlFreeDoc(b.out);
    sources_free(&s);
    return st;
}

/* ------------------------------------------------------------ roll-up */

typedef struct summary_info {
    char *file, *name, *key, *code, *date, *year, *form;
    xmlNodePtr stats; /* copied into the roll-up document, or NULL */
    int used;
} summary_info;

static void summary_free(summary_info *s)
{
    free(s->file);
    free(s->name);
    free(s->key);
    free(s->code);
    free(s->date);
    free(s->year);
    free(s->form);
    if (s->stats)
        xmlFreeNode(s->stats);
}

static char *eval_text(xmlXPathContextPtr xc, const char *expr, xmlNodePtr ctx)
{
    if (!expr)
        return strdup("");
    xc->node = ctx;
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, xc);
    xmlChar *v = o ? xmlXPathCastToString(o) : NULL;
    xmlXPathFreeObject(o);
    char *t = trimmed(v ? (const char *)v : "");
    xmlFree(v);
    return t;
}

/* The due date of a summary of year: its form's setting, either a date
 * (YYYY-MM-DD) or a day of the following year (--MM-DD, as xs:gMonthDay). */
static int due_date(const char *setting, const char *year, char *out, size_t cap)
{
    int y, m, dd;
    if (!setting)
        return -1;
    if (sscanf(setting, "%4d-%2d-%2d", &y, &m, &dd) == 3 && setting[0] != '-') {
        snprintf(out, cap, "%04d-%02d-%02d", y, m, dd);
        return 0;
    }
    if (sscanf(setting, "--%2d-%2d", &m, &dd) == 2 && year && atoi(year) > 0) {
        snprintf(out, cap, "%04d-%02d-%02d", atoi(year) + 1, m, dd);
        return 0;
    }
    return -1;
}

static ipf_status read_summary(ipf_engine *e, const xmlNode *spec, const char *path,
                               size_t max_nodes, ipf_diags *d, summary_info *si, xmlDocPtr out)
{
    memset(si, 0, sizeof *si);
    si->file = strdup(path);
    xmlDocPtr doc;
    ipf_xml_limits lim = {0};
    lim.max_nodes = max_nodes;
    ipf_status st = ipf_xml_read_file(path, &lim, d, &doc);
    if (st == IPF_OK) /* checked like any summary: its form's schema and rules */
        st = ipf_engine_render_doc(e, doc, path, NULL, d);
    if (st != IPF_OK) {
        xmlFreeDoc(doc);
        return st;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    if (!xc) {
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    xmlXPathRegisterNs(xc, (const xmlChar *)"d",
                       root->ns ? root->ns->href : (const xmlChar *)DATA_NS);
    si->name = eval_text(xc, xattr(spec, "name"), root);
    si->code = eval_text(xc, xattr(spec, "credit-code"), root);
    si->date = eval_text(xc, xattr(spec, "date"), root);
    si->year = eval_text(xc, xattr(spec, "year"), root);
    xmlChar *fid = xmlGetNoNsProp(root, (const xmlChar *)"form");
    si->form = strdup(fid ? (const char *)fid : "");
    xmlFree(fid);
    si->key = si->name ? ipf_outlet_name_key(si->name) : NULL;
    if (!si->name || !si->code || !si->date || !si->year || !si->form || !si->key)
        st = IPF_ERR_NOMEM;
    if (st == IPF_OK && *si->code && !ipf_credit_code_valid(si->code)) {
        /* The line of the field itself. */
        long line = ipf_xml_line(root);
        xc->node = root;
        xmlXPathObjectPtr at =
            xmlXPathEvalExpression((const xmlChar *)xattr(spec, "credit-code"), xc);
        if (at && at->type == XPATH_NODESET && at->nodesetval && at->nodesetval->nodeNr > 0)
            line = ipf_xml_line(at->nodesetval->nodeTab[0]);
        xmlXPathFreeObject(at);
        ipf_diag_add(d, path, line, IPF_SEV_ERROR, "ROLLUP-CREDIT-CODE",
                     "统一社会信用代码“%s”不是有效的 18 位代码（GB 32100-2015 校验码不符），"
                     "请核对年度工作总结中的统一社会信用代码",
                     si->code);
        st = IPF_INVALID;
    }
    /* The statistics columns: <stat name select/> of sources.xml. */
    si->stats = xmlNewDocNode(out, NULL, (const xmlChar *)"stats", NULL);
    for (const xmlNode *k = spec->children; si->stats && k && st == IPF_OK; k = k->next) {
        if (!is_el(k, "stat") || !xattr(k, "name"))
            continue;
        char *v = eval_text(xc, xattr(k, "select"), root);
        if (!v) {
            st = IPF_ERR_NOMEM;
            break;
        }
        if (*v) /* a column left empty is not a 0 (and must not make sum() NaN) */
            xmlNewTextChild(si->stats, NULL, (const xmlChar *)xattr(k, "name"), (const xmlChar *)v);
        free(v);
    }
    xmlXPathFreeContext(xc);
    xmlFreeDoc(doc);
    return st;
}

/* ------------------------------------------------------------ summaries in parallel */

/* With -j N, the summaries are read and checked by N worker processes forked
 * after the catalogue is loaded (they share it copy-on-write, as batch.h's
 * workers do).  Worker w takes summaries w, w + N, w + 2N … and writes, per
 * summary, its status, its diagnostics and what read_summary found, to a pipe.
 * The parent reads every pipe as it fills and then takes the records in
 * input order, adding the diagnostics in that order: the output is the one
 * of -j1, byte for byte.  A summary whose record is missing (its worker
 * died) is an error naming the file. */

static void put_summary(ipf_buf *b, uint32_t i, ipf_status st, const ipf_diags *d,
                        const summary_info *si)
{
    wb_u32(b, i);
    wb_u32(b, (uint32_t)st);
    wb_diags(b, d);
    wb_str(b, si->name);
    wb_str(b, si->code);
    wb_str(b, si->date);
    wb_str(b, si->year);
    wb_str(b, si->form);
    uint32_t ns = 0;
    for (xmlNodePtr k = si->stats ? si->stats->children : NULL; k; k = k->next)
        ns++;
    wb_u32(b, si->stats ? ns : UINT32_MAX);
    for (xmlNodePtr k = si->stats ? si->stats->children : NULL; k; k = k->next) {
        xmlChar *v = xmlNodeGetContent(k);
        wb_str(b, (const char *)k->name);
        wb_str(b, v ? (const char *)v : "");
        xmlFree(v);
    }
}

/* The worker's life: never returns. */
static void summary_worker(ipf_engine *e, const xmlNode *spec, const ipf_list_options *o, size_t w,
                           size_t jobs, int fd)
{
    ipf_buf b = {0};
    /* The statistics nodes are only read back into the record. */
    xmlDocPtr out = xmlNewDoc((const xmlChar *)"1.0");
    if (!out)
        _exit(3);
    for (size_t i = w; i < o->nsummaries && !b.oom; i += jobs) {
        ipf_diags *d = ipf_diags_new();
        summary_info si;
        ipf_status st = d ? read_summary(e, spec, o->summaries[i], 0, d, &si, out) : IPF_ERR_NOMEM;
        if (d && ipf_diags_oom(d))
            st = IPF_ERR_NOMEM;
        if (d)
            put_summary(&b, (uint32_t)i, st, d, &si);
        if (d)
            summary_free(&si);
        ipf_diags_free(d);
        if (!d)
            break;
        /* Flushed as it grows, so the pipe never holds more than a chunk. */
        if (b.len >= 1 << 16) {
            if (ipf_write_all(fd, b.p, b.len) < 0)
                _exit(3);
            b.len = 0;
        }
    }
    int rc = b.oom || ipf_write_all(fd, b.p, b.len) < 0 ? 3 : 0;
    _exit(rc);
}

/* Takes one record into sum[] (diagnostics into dd[i]); -1 when malformed. */
static int take_summary(rbuf *r, summary_info *sum, size_t n, ipf_diags **dd, ipf_status *sts,
                        xmlDocPtr out, const ipf_list_options *o, int *ok)
{
    uint32_t i = rb_u32(r);
    ipf_status st = (ipf_status)rb_u32(r);
    uint32_t nd = rb_u32(r);
    if (r->bad || i >= n || dd[i])
        return -1;
    dd[i] = ipf_diags_new();
    if (!dd[i]) {
        *ok = 0;
        return -1;
    }
    rb_diags(r, nd, dd[i], ok);
    summary_info *si = &sum[i];
    si->file = strdup(o->summaries[i]);
    si->name = rb_str(r, ok);
    si->code = rb_str(r, ok);
    si->date = rb_str(r, ok);
    si->year = rb_str(r, ok);
    si->form = rb_str(r, ok);
    si->key = si->name ? ipf_outlet_name_key(si->name) : NULL;
    uint32_t ns = rb_u32(r);
    if (ns != UINT32_MAX && !r->bad)
        si->stats = xmlNewDocNode(out, NULL, (const xmlChar *)"stats", NULL);
    for (uint32_t k = 0; ns != UINT32_MAX && k < ns && !r->bad; k++) {
        char *name = rb_str(r, ok), *v = rb_str(r, ok);
        if (si->stats && name && v)
            xmlNewTextChild(si->stats, NULL, (const xmlChar *)name, (const xmlChar *)v);
        free(name);
        free(v);
    }
    if (!si->file || (si->name && !si->key))
        *ok = 0;
    sts[i] = st;
    if (r->bad) {
        /* Cut off (its worker died): as if missing, reported by the caller. */
        summary_free(si);
        memset(si, 0, sizeof *si);
        ipf_diags_free(dd[i]);
        dd[i] = NULL;
        return -1;
    }
    return 0;
}

typedef struct summary_workers {
    size_t jobs;
    pid_t *pid;
    int *fd; /* read ends of their pipes */
} summary_workers;

/* Forks the workers, which start on the summaries at once (the parent goes
 * on with the roster meanwhile).  -1 when they could not all be started:
 * none is left running, and the caller reads the summaries itself. */
static int summary_workers_start(ipf_engine *e, const xmlNode *spec, const ipf_list_options *o,
                                 size_t jobs, summary_workers *w)
{
    w->jobs = jobs;
    w->pid = calloc(jobs, sizeof *w->pid);
    w->fd = calloc(jobs, sizeof *w->fd);
    if (!w->pid || !w->fd) {
        free(w->pid);
        free(w->fd);
        return -1;
    }
    /* Anything buffered would be written once more by every child. */
    fflush(NULL);
    size_t started = 0;
    for (; started < jobs; started++) {
        int p[2];
        if (pipe(p) < 0)
            break;
        pid_t c = fork();
        if (c < 0) {
            close(p[0]);
            close(p[1]);
            break;
        }
        if (c == 0) {
            close(p[0]);
            for (size_t k = 0; k < started; k++)
                close(w->fd[k]);
            summary_worker(e, spec, o, started, jobs, p[1]);
        }
        close(p[1]);
        w->pid[started] = c;
        w->fd[started] = p[0];
    }
    if (started == jobs)
        return 0;
    for (size_t k = 0; k < started; k++) {
        kill(w->pid[k], SIGKILL);
        close(w->fd[k]);
        waitpid(w->pid[k], NULL, 0);
    }
    free(w->pid);
    free(w->fd);
    return -1;
}

/* With keep, takes the workers' records into sum[] (statistics made in
 * out), adds their diagnostics to d in input order and each summary's
 * status to sts[]: 0, or -2 when out of memory.  Without keep (the roster
 * failed, so the serial order would not have read them) the workers are
 * stopped and nothing is taken: -1. */
static int summary_workers_finish(summary_workers *w, int keep, const ipf_list_options *o,
                                  xmlDocPtr out, summary_info *sum, ipf_status *sts, ipf_diags *d)
{
    size_t n = o->nsummaries, jobs = w->jobs;
    int rc = keep ? 0 : -1;
    ipf_buf *in = keep ? calloc(jobs, sizeof *in) : NULL;
    ipf_diags **dd = keep ? calloc(n, sizeof *dd) : NULL;
    struct pollfd *pf = keep ? calloc(jobs, sizeof *pf) : NULL;
    if (keep && (!in || !dd || !pf))
        rc = -2;
    for (size_t k = 0; rc != 0 && k < jobs; k++)
        kill(w->pid[k], SIGKILL);
    size_t open_n = rc == 0 ? jobs : 0;
    for (size_t k = 0; pf && k < jobs; k++)
        pf[k] = (struct pollfd){.fd = w->fd[k], .events = POLLIN};
    char chunk[1 << 16];
    while (open_n > 0) {
        if (poll(pf, (nfds_t)jobs, -1) < 0) {
            if (errno == EINTR)
                continue;
            rc = -2;
            break;
        }
        for (size_t k = 0; k < jobs; k++) {
            if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[k].fd, chunk, sizeof chunk);
            if (got < 0 && errno == EINTR)
                continue;
            if (got > 0) {
                ipf_buf_put(&in[k], chunk, (size_t)got);
                continue;
            }
            pf[k].fd = -1;
            open_n--;
        }
    }
    free(pf);
    for (size_t k = 0; k < jobs; k++) {
        close(w->fd[k]);
        while (waitpid(w->pid[k], NULL, 0) < 0 && errno == EINTR)
            ;
    }
    int ok = 1;
    for (size_t k = 0; rc == 0 && k < jobs; k++) {
        rbuf r = {in[k].s, in[k].s + in[k].len, in[k].oom};
        while (r.p < r.end && !r.bad)
            if (take_summary(&r, sum, n, dd, sts, out, o, &ok) < 0)
                break;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (dd[i]) {
            for (size_t k = 0; k < ipf_diags_count(dd[i]); k++) {
                const ipf_diag *g = ipf_diags_get(dd[i], k);
                ipf_diag_add(d, g->file, g->line, g->severity, g->code, "%s", g->message);
            }
            if (ipf_diags_oom(dd[i]))
                ok = 0;
        } else {
            if (!sum[i].file)
                sum[i].file = strdup(o->summaries[i]);
            ipf_diag_add(d, o->summaries[i], 0, IPF_SEV_ERROR, "ROLLUP-WORKER",
                         "检查这份年度工作总结的工作进程意外退出，未计入汇总；"
                         "请单独用 ipforms validate 检查此文件");
            sts[i] = IPF_ERR_INTERNAL;
        }
    }
    if (rc == 0 && !ok)
        rc = -2;
    for (size_t i = 0; dd && i < n; i++)
        ipf_diags_free(dd[i]);
    for (size_t k = 0; in && k < jobs; k++)
        free(in[k].p);
    free(dd);
    free(in);
    free(w->fd);
    free(w->pid);
    return rc;
}

/* Summaries by name key [0] and by credit code [1]: chains of indices. */
typedef struct summary_index {
    size_t *head[2], *next[2];
    size_t mask;
} summary_index;

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static int index_summaries(summary_index *x, const summary_info *sum, size_t n)
{
    memset(x, 0, sizeof *x);
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    x->mask = cap - 1;
    for (int k = 0; k < 2; k++) {
        x->head[k] = malloc(cap * sizeof *x->head[k]);
        x->next[k] = malloc((n ? n : 1) * sizeof *x->next[k]);
        if (!x->head[k] || !x->next[k])
            return -1;
        for (size_t i = 0; i < cap; i++)
            x->head[k][i] = SIZE_MAX;
    }
    /* Inserted from the last, so that each chain lists the given order. */
    for (size_t i = n; i-- > 0;) {
        for (int k = 0; k < 2; k++) {
            const char *key = k == 0 ? sum[i].key : sum[i].code;
            x->next[k][i] = SIZE_MAX;
            if (sum[i].used < 0 || !key || !*key)
                continue;
            size_t h = hash_str(key) & x->mask;
            x->next[k][i] = x->head[k][h];
            x->head[k][h] = i;
        }
    }
    return 0;
}

/* Worker processes for the summaries: -j, 0 meaning the cores; one for a
 * handful of summaries, where forking costs more than it saves. */
static size_t rollup_jobs(const ipf_list_options *o)
{
    long j = o->jobs;
    if (j <= 0) {
        j = sysconf(_SC_NPROCESSORS_ONLN);
        if (j < 1)
            j = 1;
    }
    if (j > 64)
        j = 64;
    if ((size_t)j > o->nsummaries / 2)
        j = (long)(o->nsummaries / 2);
    return j < 1 ? 1 : (size_t)j;
}

ipf_status ipf_engine_rollup(ipf_engine *e, const ipf_list_options *o, ipf_diags *d)
{
    const char *id = o->form_id ? o->form_id : "rollup";
    sources rs;
    const ipf_form *rform = NULL;
    ipf_status st = sources_for(e, id, d, &rs, &rform);
    if (st != IPF_OK) {
        sources_free(&rs);
        return st;
    }
    const xmlNode *spec = NULL;
    for (const xmlNode *k = rs.root->children; k; k = k->next)
        if (is_el(k, "summary"))
            spec = k;
    const char *roster_form = xattr(rs.root, "roster");
    if (!spec || !roster_form) {
        ipf_diag_add(d, rs.path, 0, IPF_SEV_ERROR, "SOURCES",
                     "汇总表的来源映射需要 roster=\"名单表单\" 和 <summary> 元素");
        sources_free(&rs);
        return IPF_ERR_TEMPLATE;
    }
    /* With -j, the workers read the summaries while the roster is built
     * (forked before it, they share less memory to copy on write). */
    size_t jobs = rollup_jobs(o);
    summary_info *sum = calloc(o->nsummaries ? o->nsummaries : 1, sizeof *sum);
    ipf_status *sts = sum && jobs > 1 ? calloc(o->nsummaries, sizeof *sts) : NULL;
    summary_workers workers;
    int par = sts ? summary_workers_start(e, spec, o, jobs, &workers) : -1;
    /* The roster, as the list would have it. */
    sources s;
    builder b;
    memset(&b, 0, sizeof b);
    const ipf_form *lform = NULL;
    st = build_roster(e, roster_form, o, d, &s, &b, &lform);
    if (!sum)
        st = IPF_ERR_NOMEM;
    if (par == 0)
        par = summary_workers_finish(&workers, st == IPF_OK, o, b.out, sum, sts, d);
    size_t nsum = 0;
    ipf_status worst = st;
    if (par == -2)
        st = IPF_ERR_NOMEM;
    for (size_t i = 0; st == IPF_OK && i < o->nsummaries; i++) {
        ipf_status one =
            par == 0 ? sts[i] : read_summary(e, spec, o->summaries[i], 0, d, &sum[nsum], b.out);
        nsum++;
        if (one == IPF_ERR_NOMEM)
            st = one;
        if (one != IPF_OK) {
            sum[nsum - 1].used = -1; /* reported; not counted */
            if (worst == IPF_OK || one > worst)
                worst = one;
        }
    }
    if (par != -1)
        nsum = o->nsummaries; /* every record taken is freed below */
    free(sts);
    if (st == IPF_OK && worst != IPF_OK && !(worst == IPF_INVALID && o->pdf_path == NULL))
        st = worst;
    /* Rename the roster's document into a roll-up: same rows, with status. */
    if (st == IPF_OK) {
        xmlNodeSetName(b.root, (const xmlChar *)xattr(rs.root, "root"));
        xmlSetProp(b.root, (const xmlChar *)"form", (const xmlChar *)ipf_form_id(rform));
        const char *tt = xattr(rs.root, "title");
        char *title = tt ? expand_year(tt, o->year) : NULL;
        for (xmlNodePtr n = b.root->children; n; n = n->next)
            if (is_el(n, "title") && title) {
                xmlChar *esc = xmlEncodeSpecialChars(b.out, (const xmlChar *)title);
                xmlNodeSetContent(n, esc);
                xmlFree(esc);
            }
        free(title);
    }
    const char *rowname = xattr(s.root, "row");
    summary_index idx = {{NULL, NULL}, {NULL, NULL}, 0};
    if (st == IPF_OK && index_summaries(&idx, sum, nsum) < 0)
        st = IPF_ERR_NOMEM;
    for (xmlNodePtr n = st == IPF_OK ? b.root->children : NULL; n; n = n->next) {
        if (!is_el(n, rowname))
            continue;
        char *name = NULL, *code = NULL;
        for (xmlNodePtr f = n->children; f; f = f->next) {
            xmlChar *v = xmlNodeGetContent(f);
            if (is_el(f, "name") && !name)
                name = trimmed(v ? (char *)v : "");
            if (is_el(f, "credit-code") && !code)
                code = trimmed(v ? (char *)v : "");
            xmlFree(v);
        }
        xmlChar *from = xmlGetNoNsProp(n, (const xmlChar *)"from");
        if (code && *code && !ipf_credit_code_valid(code)) {
            /* from="file:line", as the row was made */
            char *ff = strdup(from ? (const char *)from : "roster");
            char *colon = ff ? strrchr(ff, ':') : NULL;
            long fl = colon ? strtol(colon + 1, NULL, 10) : 0;
            if (colon)
                *colon = '\0';
            ipf_diag_add(d, ff ? ff : "roster", fl, IPF_SEV_ERROR, "ROLLUP-CREDIT-CODE",
                         "名册中“%s”的统一社会信用代码“%s”不是有效的 18 位代码"
                         "（GB 32100-2015 校验码不符）",
                         name ? name : "", code);
            free(ff);
            st = IPF_INVALID;
        }
        char *key = name ? ipf_outlet_name_key(name) : NULL;
        summary_info *hit = NULL;
        /* Candidates: the summaries with this name key or this code, in the
         * order given (the first of two is the one counted). */
        size_t cand[64], nc = 0;
        for (int pass = 0; key && pass < 2; pass++) {
            const char *k = pass == 0 ? key : code;
            if (!k || !*k)
                continue;
            for (size_t i = idx.head[pass][hash_str(k) & idx.mask]; i != SIZE_MAX && nc < 64;
                 i = idx.next[pass][i])
                if (strcmp(pass == 0 ? sum[i].key : sum[i].code, k) == 0)
                    cand[nc++] = i;
        }
        qsort(cand, nc, sizeof *cand, cmp_size);
        for (size_t ci = 0; ci < nc; ci++) {
            if (ci > 0 && cand[ci] == cand[ci - 1])
                continue;
            size_t i = cand[ci];
            summary_info *si = &sum[i];
            if (si->used < 0 || !si->key)
                continue;
            int same = (code && *code && *si->code) ? strcmp(code, si->code) == 0
                                                    : strcmp(key, si->key) == 0;
            if (!same)
                continue;
            if (o->year && strcmp(si->year, o->year) != 0) {
                ipf_diag_add(d, si->file, 0, IPF_SEV_WARNING, "ROLLUP-YEAR",
                             "这份年度工作总结是 %s 年度的，汇总的是 %s 年度，未计入", si->year,
                             o->year);
                si->used = -1;
                continue;
            }
            si->used++;
            if (!hit) {
                hit = si;
            } else {
                ipf_diag_add(d, si->file, 0, IPF_SEV_WARNING, "ROLLUP-DUPLICATE",
                             "“%s”有两份年度工作总结（另一份是 %s），汇总只计入 %s", name,
                             hit->file, hit->file);
            }
        }
        char due[48] = "";
        const char *status = "未报送";
        xmlNodePtr st_el = xmlNewChild(n, b.ns, (const xmlChar *)"report", NULL);
        if (hit) {
            /* Either a month-day and a year offset (the summaries' own
             * settings: 01-31 of the year after), or one date setting. */
            const char *md_name = xattr(spec, "due-month-day"),
                       *off_name = xattr(spec, "due-year-offset"),
                       *one_name = xattr(spec, "due-setting");
            int ok = -1;
            if (md_name) {
                const char *md = ipf_engine_setting(e, hit->form, md_name, d);
                const char *off = off_name ? ipf_engine_setting(e, hit->form, off_name, d) : "0";
                int m, dd;
                if (md && off && atoi(hit->year) > 0 && sscanf(md, "%2d-%2d", &m, &dd) == 2) {
                    snprintf(due, sizeof due, "%04d-%02d-%02d", atoi(hit->year) + atoi(off), m, dd);
                    ok = 0;
                }
            } else if (one_name) {
                ok = due_date(ipf_engine_setting(e, hit->form, one_name, d), hit->year, due,
                              sizeof due);
            }
            if (ok < 0) {
                ipf_diag_add(d, hit->file, 0, IPF_SEV_ERROR, "ROLLUP-DUE",
                             "表单“%s”的规则文件没有可用的截止日期设置“%s”（月日 MM-DD，"
                             "或日期 YYYY-MM-DD / --MM-DD），或总结的年度“%s”不是数字",
                             hit->form,
                             md_name    ? md_name
                             : one_name ? one_name
                                        : "",
                             hit->year);
                st = IPF_ERR_TEMPLATE;
            }
            status = *due && strcmp(hit->date, due) <= 0 ? "按时" : "逾期";
            xmlNewTextChild(st_el, b.ns, (const xmlChar *)"submitted", (const xmlChar *)hit->date);
            xmlNewTextChild(st_el, b.ns, (const xmlChar *)"due", (const xmlChar *)due);

            for (xmlNodePtr k = hit->stats ? hit->stats->children : NULL; k; k = k->next) {
                xmlChar *v = xmlNodeGetContent(k);
                xmlNewTextChild(st_el, b.ns, k->name, v);
                xmlFree(v);
            }
        }
        xmlSetProp(st_el, (const xmlChar *)"status", (const xmlChar *)status);
        xmlFree(from);
        free(key);
        free(name);
        free(code);
    }
    if (idx.head[0]) {
        for (int k = 0; k < 2; k++) {
            free(idx.head[k]);
            free(idx.next[k]);
        }
    }
    for (size_t i = 0; st == IPF_OK && i < nsum; i++)
        if (sum[i].used == 0)
            ipf_diag_add(d, sum[i].file, 0, IPF_SEV_WARNING, "ROLLUP-UNKNOWN",
                         "年度工作总结的网点“%s”不在名册中（按名称%s核对），未计入汇总；"
                         "请核对网点名称或名册",
                         sum[i].name, *sum[i].code ? "和统一社会信用代码" : "");
    if (st == IPF_OK)
        st = write_outputs(e, rform, b.out, o->pdf_path ? o->pdf_path : id, o, d);
    for (size_t i = 0; i < nsum; i++)
        summary_free(&sum[i]);
    free(sum);
    xmlFreeDoc(b.out);
    sources_free(&s);
    sources_free(&rs);
    return st;
}
