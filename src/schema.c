/* schema.c: XSD structure checking with Chinese diagnostics, and field labels.
 *
 * Loading: the .xsd is read through ipf_xml_read_file (no network, no DTD, no
 * entities).  xs:include is resolved here, not by libxml2 (whose loader would
 * substitute entities and could follow a URL): only a plain file name in the
 * same directory and the same target namespace is accepted, and its top-level
 * definitions are copied into the including schema.  xs:import, xs:redefine
 * and xs:override are refused.
 *
 * Labels: before libxml2 compiles the schema, the element and attribute
 * declarations are walked from each global element, and every path
 * ("/filing/institution/name", "/filing/institution/staff/@total") gets its
 * Chinese label (xs:appinfo/ipf:label, where "{parent}" stands for the label
 * of the enclosing element) and a description of how its value is written
 * (ipf:expect on a simple type, or a built-in type's description).
 *
 * Validation: a new validation context per call, with a structured error
 * handler that turns libxml2's errors into Chinese diagnostics.  libxml2
 * stops checking an element's remaining children after an unexpected child,
 * so when there were unexpected elements the document is copied without them
 * and checked again (a few rounds at most); repeated diagnostics are dropped. */
#include "schema.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/hash.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "liberr.h"
#include "path.h"
#include "buf.h"
#include "utf8.h"
#include "xmldoc.h"

#define LABEL_NS         "urn:ipforms:schema-label"
#define MAX_DECL_DEPTH   48 /* deeper than any data the reader accepts (64 with the root) */
#define MAX_TYPE_STACK   64
#define MAX_INCLUDES     32
#define MAX_INCLUDE_NEST 8
#define MAX_PASSES       64      /* re-checks after removing unexpected elements */
#define PASS_BUDGET      4000000 /* nodes checked over all passes */
#define MAX_SCHEMA_DIAGS 500
#define MAX_UNEXPECTED   20 /* unexpected elements named before "另有 N 处" */
#define MAX_EXPECTED     6  /* names listed in "此处应为……" before "等" */
#define VALUE_SHOWN      40 /* characters of a value quoted in a message */

/* ---------- building messages (buf.h) ---------- */

static const char *sb_str(const ipf_buf *b)
{
    return b->s ? b->s : "";
}

/* Prints as nothing: utf8.h's one notion of white space (U+3000, NBSP and
 * zero-width characters included). */
static int is_blank(const char *s)
{
    return !ipf_utf8_is_filled(s);
}

/* ---------- the schema object ---------- */

typedef struct field {
    char *label;  /* Chinese name, or NULL */
    char *expect; /* how the value is written, or NULL */
    /* An attribute declared use="required", or an element whose type asks
     * for content (xs:minLength or xs:length of at least 1): either is
     * "filled" only with a visible character (required_filled). */
    int required;
} field;

typedef struct origin {
    const xmlNode *node; /* a top-level definition copied from an included file */
    char *file;
} origin;

struct ipf_schema {
    char *path;
    xmlDocPtr xsd; /* kept: the compiled schema's annotations point into it */
    xmlSchemaPtr schema;
    xmlHashTablePtr fields; /* path -> field */
    char *target_ns;
    char *roots; /* the global elements, for the root-element message */
};

static void free_field(void *payload, const xmlChar *name)
{
    (void)name;
    field *f = payload;
    if (f) {
        free(f->label);
        free(f->expect);
        free(f);
    }
}

void ipf_schema_free(ipf_schema *s)
{
    if (!s)
        return;
    if (s->schema)
        xmlSchemaFree(s->schema);
    xmlFreeDoc(s->xsd);
    if (s->fields)
        xmlHashFree(s->fields, free_field);
    free(s->path);
    free(s->target_ns);
    free(s->roots);
    free(s);
}

/* ---------- small DOM helpers ---------- */

int ipf_xs_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, IPF_XS_NS) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

const char *ipf_xs_attr(const xmlNode *n, const char *name)
{
    for (xmlAttrPtr a = n ? n->properties : NULL; a; a = a->next)
        if (!a->ns && strcmp((const char *)a->name, name) == 0)
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

const char *ipf_xs_local(const char *qname)
{
    const char *c = qname ? strchr(qname, ':') : NULL;
    return c ? c + 1 : qname;
}

const char *ipf_xs_decl(const xmlNode *schema, const char *kind, const xmlNode *decl,
                        const xmlNode **eff)
{
    const char *name = ipf_xs_attr(decl, "name");
    const char *ref = ipf_xs_attr(decl, "ref");
    *eff = decl;
    if (name || !ref)
        return name;
    *eff = ipf_xs_global(schema, kind, ref);
    return ipf_xs_local(ref);
}

int ipf_xs_builtin(const xmlNode *node, const char *qname)
{
    if (!qname)
        return 0;
    const char *c = strchr(qname, ':');
    char prefix[64] = "";
    if (c) {
        size_t n = (size_t)(c - qname);
        if (n >= sizeof prefix)
            return 0;
        memcpy(prefix, qname, n);
        prefix[n] = '\0';
    }
    xmlNsPtr ns = xmlSearchNs(node->doc, (xmlNodePtr)node, c ? (const xmlChar *)prefix : NULL);
    return ns && ns->href && strcmp((const char *)ns->href, IPF_XS_NS) == 0;
}

const xmlNode *ipf_xs_global(const xmlNode *schema, const char *kind, const char *qname)
{
    const char *local = ipf_xs_local(qname);
    for (const xmlNode *c = schema && local ? schema->children : NULL; c; c = c->next) {
        const char *name = ipf_xs_is(c, kind) ? ipf_xs_attr(c, "name") : NULL;
        if (name && strcmp(name, local) == 0)
            return c;
    }
    return NULL;
}

char *ipf_xs_appinfo(const xmlNode *decl, const char *what)
{
    for (const xmlNode *an = decl ? decl->children : NULL; an; an = an->next) {
        if (!ipf_xs_is(an, "annotation"))
            continue;
        for (const xmlNode *ai = an->children; ai; ai = ai->next) {
            if (!ipf_xs_is(ai, "appinfo"))
                continue;
            for (const xmlNode *l = ai->children; l; l = l->next) {
                if (l->type != XML_ELEMENT_NODE || !l->ns ||
                    strcmp((const char *)l->ns->href, LABEL_NS) != 0 ||
                    strcmp((const char *)l->name, what) != 0)
                    continue;
                xmlChar *t = xmlNodeGetContent(l);
                if (!t)
                    return NULL;
                const char *b = (const char *)t;
                while (*b == ' ' || *b == '\n' || *b == '\t' || *b == '\r')
                    b++;
                size_t n = strlen(b);
                while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\t' ||
                                 b[n - 1] == '\r'))
                    n--;
                char *out = n ? malloc(n + 1) : NULL;
                if (out) {
                    memcpy(out, b, n);
                    out[n] = '\0';
                }
                xmlFree(t);
                return out;
            }
        }
    }
    return NULL;
}

/* ---------- xs:include, resolved safely ---------- */

typedef struct loader {
    const char *main_path;
    ipf_diags *d;
    xmlDocPtr main;
    char *seen[MAX_INCLUDES];
    int nseen;
    origin origins[1024];
    int norigins;
    int bad;
} loader;

static void include_into(loader *L, const xmlNode *root, const char *path, int nest);

/* Copies the top-level definitions of an included schema into the main one. */
static void include_file(loader *L, const xmlNode *inc, const char *from, int nest)
{
    const char *loc = ipf_xs_attr(inc, "schemaLocation");
    long line = ipf_xml_line(inc);
    if (!loc || !*loc || strchr(loc, '/') || strchr(loc, '\\') || strchr(loc, ':') ||
        strcmp(loc, ".") == 0 || strcmp(loc, "..") == 0) {
        ipf_diag_add(
            L->d, from, line, IPF_SEV_ERROR, "SCHEMA-FILE",
            "xs:include 的 schemaLocation 应为同一目录下的文件名（不含路径和网址），现为“%s”",
            loc ? loc : "");
        L->bad = 1;
        return;
    }
    if (nest >= MAX_INCLUDE_NEST) {
        ipf_diag_add(L->d, from, line, IPF_SEV_ERROR, "SCHEMA-FILE", "xs:include 嵌套超过 %d 层",
                     MAX_INCLUDE_NEST);
        L->bad = 1;
        return;
    }
    char *path = ipf_path_beside(from, loc);
    if (!path) {
        L->bad = 1;
        return;
    }
    for (int i = 0; i < L->nseen; i++)
        if (strcmp(L->seen[i], path) == 0) {
            free(path); /* included already: once is enough */
            return;
        }
    if (L->nseen >= MAX_INCLUDES) {
        ipf_diag_add(L->d, from, line, IPF_SEV_ERROR, "SCHEMA-FILE", "xs:include 的文件超过 %d 个",
                     MAX_INCLUDES);
        free(path);
        L->bad = 1;
        return;
    }
    L->seen[L->nseen++] = path;
    xmlDocPtr doc = NULL;
    if (ipf_xml_read_file(path, NULL, L->d, &doc) != IPF_OK) {
        L->bad = 1;
        return;
    }
    const xmlNode *iroot = xmlDocGetRootElement(doc);
    const char *itns = ipf_xs_is(iroot, "schema") ? ipf_xs_attr(iroot, "targetNamespace") : NULL;
    const char *mtns = ipf_xs_attr(xmlDocGetRootElement(L->main), "targetNamespace");
    if (!ipf_xs_is(iroot, "schema")) {
        ipf_diag_add(L->d, path, ipf_xml_line(iroot), IPF_SEV_ERROR, "SCHEMA-FILE",
                     "被引入的文件不是 XML Schema（根元素应为 xs:schema）");
        L->bad = 1;
    } else if (!itns || !mtns || strcmp(itns, mtns) != 0) {
        ipf_diag_add(L->d, path, ipf_xml_line(iroot), IPF_SEV_ERROR, "SCHEMA-FILE",
                     "被引入的结构定义的 targetNamespace（“%s”）应与引入它的文件相同（“%s”）",
                     itns ? itns : "", mtns ? mtns : "");
        L->bad = 1;
    } else {
        include_into(L, iroot, path, nest + 1);
        xmlNodePtr mroot = xmlDocGetRootElement(L->main);
        for (const xmlNode *c = iroot->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || ipf_xs_is(c, "include") || ipf_xs_is(c, "import") ||
                ipf_xs_is(c, "redefine") || ipf_xs_is(c, "override"))
                continue;
            xmlNodePtr copy = xmlDocCopyNode((xmlNodePtr)c, L->main, 1);
            if (!copy) {
                L->bad = 1;
                break;
            }
            /* QNames in attribute values (type="d:Count") need the prefixes
             * the included file declared on its root. */
            for (xmlNsPtr ns = iroot->nsDef; ns; ns = ns->next) {
                int have = 0;
                for (xmlNsPtr m = copy->nsDef; m; m = m->next)
                    have |= (m->prefix == NULL && ns->prefix == NULL) ||
                            (m->prefix && ns->prefix && xmlStrEqual(m->prefix, ns->prefix));
                if (!have)
                    xmlNewNs(copy, ns->href, ns->prefix);
            }
            xmlAddChild(mroot, copy);
            if (L->norigins < (int)(sizeof L->origins / sizeof L->origins[0]))
                L->origins[L->norigins++] = (origin){copy, path};
        }
    }
    xmlFreeDoc(doc);
}

static void include_into(loader *L, const xmlNode *root, const char *path, int nest)
{
    for (const xmlNode *c = root->children; c; c = c->next) {
        if (ipf_xs_is(c, "import") || ipf_xs_is(c, "redefine") || ipf_xs_is(c, "override")) {
            ipf_diag_add(
                L->d, path, ipf_xml_line(c), IPF_SEV_ERROR, "SCHEMA-FILE",
                "不支持 xs:%s：结构定义只能用 xs:include 引入同一目录下、同一命名空间的文件",
                (const char *)c->name);
            L->bad = 1;
        } else if (ipf_xs_is(c, "include")) {
            include_file(L, c, path, nest);
        }
    }
}

static void resolve_includes(loader *L)
{
    xmlNodePtr root = xmlDocGetRootElement(L->main);
    include_into(L, root, L->main_path, 0);
    for (xmlNodePtr c = root->children, next; c; c = next) {
        next = c->next;
        if (ipf_xs_is(c, "include")) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
        }
    }
}

/* Which file a node of the merged schema came from. */
static const char *origin_of(const loader *L, const xmlNode *n)
{
    const xmlNode *root = xmlDocGetRootElement(L->main);
    while (n && n->parent && n->parent != root)
        n = n->parent;
    for (int i = 0; n && i < L->norigins; i++)
        if (L->origins[i].node == n)
            return L->origins[i].file;
    return L->main_path;
}

/* ---------- labels and value descriptions ---------- */

typedef struct model {
    ipf_schema *s;
    const xmlNode *root;
    const xmlNode *stack[MAX_TYPE_STACK];
    int depth;
    int oom;
} model;

static const struct {
    const char *type, *text;
} builtin_text[] = {
    {"date", "日期，格式为“年-月-日”（如 2024-08-20）"},
    {"dateTime", "日期和时间，格式如 2024-08-20T09:30:00"},
    {"time", "时间，格式如 09:30:00"},
    {"gYear", "四位数的年份（如 2024）"},
    {"gYearMonth", "年月，格式如 2024-08"},
    {"integer", "整数"},
    {"int", "整数"},
    {"long", "整数"},
    {"short", "整数"},
    {"nonNegativeInteger", "不小于 0 的整数"},
    {"unsignedInt", "不小于 0 的整数"},
    {"unsignedLong", "不小于 0 的整数"},
    {"unsignedShort", "不小于 0 的整数"},
    {"positiveInteger", "正整数"},
    {"nonPositiveInteger", "不大于 0 的整数"},
    {"negativeInteger", "负整数"},
    {"decimal", "数字"},
    {"float", "数字"},
    {"double", "数字"},
    {"boolean", "true 或 false"},
    {"anyURI", "网址"},
    {"NCName", "由字母、数字、连字符组成且不以数字开头的名称"},
    {"Name", "由字母、数字、连字符组成的名称"},
    {"language", "语言代码（如 zh-CN）"},
};

static const char *builtin_description(const char *local)
{
    for (size_t i = 0; local && i < sizeof builtin_text / sizeof builtin_text[0]; i++)
        if (strcmp(builtin_text[i].type, local) == 0)
            return builtin_text[i].text;
    return NULL;
}

/* How a simple type's value is written: its ipf:expect, else its base's. */
static char *describe_simple(model *m, const xmlNode *st, int depth);

static char *describe_qname(model *m, const xmlNode *ctx, const char *qname, int depth)
{
    if (!qname || depth > 16)
        return NULL;
    if (ipf_xs_builtin(ctx, qname)) {
        const char *text = builtin_description(ipf_xs_local(qname));
        return text ? strdup(text) : NULL;
    }
    const xmlNode *st = ipf_xs_global(m->root, "simpleType", qname);
    return st ? describe_simple(m, st, depth + 1) : NULL;
}

static char *describe_simple(model *m, const xmlNode *st, int depth)
{
    char *e = ipf_xs_appinfo(st, "expect");
    if (e || depth > 16)
        return e;
    for (const xmlNode *c = st->children; c; c = c->next)
        if (ipf_xs_is(c, "restriction")) {
            const char *base = ipf_xs_attr(c, "base");
            if (base)
                return describe_qname(m, c, base, depth + 1);
            for (const xmlNode *cc = c->children; cc; cc = cc->next)
                if (ipf_xs_is(cc, "simpleType"))
                    return describe_simple(m, cc, depth + 1);
        }
    return NULL;
}

/* 1 when the simple type st (or a base it restricts) asks for at least one
 * character: xs:minLength or xs:length of 1 or more. */
static int asks_content(model *m, const xmlNode *st, int depth)
{
    if (!st || depth > 16)
        return 0;
    for (const xmlNode *c = st->children; c; c = c->next) {
        if (!ipf_xs_is(c, "restriction"))
            continue;
        for (const xmlNode *f = c->children; f; f = f->next) {
            const char *v = (ipf_xs_is(f, "minLength") || ipf_xs_is(f, "length"))
                                ? ipf_xs_attr(f, "value")
                                : NULL;
            if (v && atol(v) >= 1)
                return 1;
            if (ipf_xs_is(f, "simpleType") && asks_content(m, f, depth + 1))
                return 1;
        }
        const char *base = ipf_xs_attr(c, "base");
        if (base && !ipf_xs_builtin(c, base) &&
            asks_content(m, ipf_xs_global(m->root, "simpleType", base), depth + 1))
            return 1;
    }
    return 0;
}

static char *subst_parent(const char *label, const char *parent)
{
    ipf_buf b = {0};
    for (const char *p = label; *p;) {
        const char *hit = strstr(p, "{parent}");
        if (!hit) {
            ipf_buf_str(&b, p);
            break;
        }
        ipf_buf_put(&b, p, (size_t)(hit - p));
        ipf_buf_str(&b, parent ? parent : "");
        p = hit + strlen("{parent}");
    }
    return ipf_buf_take(&b);
}

static char *join_path(const char *a, const char *sep, const char *b)
{
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, sep, b);
    return p;
}

/* Records a path; returns 1 when it was new. */
static int put_field(model *m, const char *path, char *label, char *expect)
{
    if (xmlHashLookup(m->s->fields, (const xmlChar *)path)) {
        free(label);
        free(expect);
        return 0;
    }
    field *f = malloc(sizeof *f);
    if (!f || xmlHashAddEntry(m->s->fields, (const xmlChar *)path, f) != 0) {
        free(f);
        free(label);
        free(expect);
        m->oom = 1;
        return 0;
    }
    f->label = label;
    f->expect = expect;
    f->required = 0;
    return 1;
}

static void walk_content(model *m, const char *path, const xmlNode *node, const char *plabel,
                         int depth);

static int push_type(model *m, const xmlNode *t)
{
    for (int i = 0; i < m->depth; i++)
        if (m->stack[i] == t)
            return 0; /* a recursive type: its paths are already known */
    if (m->depth >= MAX_TYPE_STACK)
        return 0;
    m->stack[m->depth++] = t;
    return 1;
}

static void expand_type(model *m, const char *path, const xmlNode *type, const char *plabel,
                        int depth)
{
    if (!type || !push_type(m, type))
        return;
    walk_content(m, path, type, plabel, depth);
    m->depth--;
}

static void add_attribute(model *m, const char *path, const xmlNode *decl, const char *plabel)
{
    const xmlNode *eff;
    const char *name = ipf_xs_decl(m->root, "attribute", decl, &eff);
    if (!name)
        return;
    char *key = join_path(path, "/@", name);
    if (!key) {
        m->oom = 1;
        return;
    }
    char *raw = ipf_xs_appinfo(decl, "label");
    if (!raw && eff && eff != decl)
        raw = ipf_xs_appinfo(eff, "label");
    char *label = raw ? subst_parent(raw, plabel) : NULL;
    free(raw);
    char *expect = NULL;
    const char *type = eff ? ipf_xs_attr(eff, "type") : NULL;
    if (type) {
        expect = describe_qname(m, eff, type, 0);
    } else if (eff) {
        for (const xmlNode *c = eff->children; c; c = c->next)
            if (ipf_xs_is(c, "simpleType"))
                expect = describe_simple(m, c, 0);
    }
    if (put_field(m, key, label, expect)) {
        const char *use = ipf_xs_attr(decl, "use");
        field *f = xmlHashLookup(m->s->fields, (const xmlChar *)key);
        if (f && use && strcmp(use, "required") == 0)
            f->required = 1;
    }
    free(key);
}

static void expand_element(model *m, const char *path, const xmlNode *decl, const char *plabel,
                           int depth)
{
    if (depth > MAX_DECL_DEPTH)
        return;
    const xmlNode *eff;
    ipf_xs_decl(m->root, "element", decl, &eff);
    char *raw = ipf_xs_appinfo(decl, "label");
    if (!raw && eff && eff != decl)
        raw = ipf_xs_appinfo(eff, "label");
    char *label = raw ? subst_parent(raw, plabel) : NULL;
    free(raw);
    if (!eff) {
        put_field(m, path, label, NULL);
        return;
    }
    const char *type = ipf_xs_attr(eff, "type");
    const xmlNode *ctype = NULL;
    char *expect = NULL;
    int content = 0; /* the type asks for at least one character */
    if (type && !ipf_xs_builtin(eff, type)) {
        ctype = ipf_xs_global(m->root, "complexType", type);
        if (!ctype) {
            expect = describe_qname(m, eff, type, 0);
            content = asks_content(m, ipf_xs_global(m->root, "simpleType", type), 0);
        }
    } else if (type) {
        expect = describe_qname(m, eff, type, 0);
    } else {
        for (const xmlNode *c = eff->children; c; c = c->next) {
            if (ipf_xs_is(c, "complexType"))
                ctype = c;
            else if (ipf_xs_is(c, "simpleType")) {
                expect = describe_simple(m, c, 0);
                content = asks_content(m, c, 0);
            }
        }
    }
    /* Simple content (xs:simpleContent/xs:extension base="d:Text"). */
    for (const xmlNode *c = ctype ? ctype->children : NULL; c && !expect; c = c->next)
        if (ipf_xs_is(c, "simpleContent"))
            for (const xmlNode *x = c->children; x; x = x->next)
                if ((ipf_xs_is(x, "extension") || ipf_xs_is(x, "restriction")) &&
                    ipf_xs_attr(x, "base") &&
                    !ipf_xs_global(m->root, "complexType", ipf_xs_attr(x, "base")))
                    expect = describe_qname(m, x, ipf_xs_attr(x, "base"), 0);
    const char *mine = label ? label : plabel;
    char *keep = mine ? strdup(mine) : NULL; /* put_field takes label */
    if (put_field(m, path, label, expect)) {
        field *f = xmlHashLookup(m->s->fields, (const xmlChar *)path);
        if (f && content)
            f->required = 1;
        if (ctype)
            expand_type(m, path, ctype, keep, depth);
    }
    free(keep);
}

static void walk_content(model *m, const char *path, const xmlNode *node, const char *plabel,
                         int depth)
{
    for (const xmlNode *c = node->children; c && !m->oom; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !ipf_xs_is(c, NULL))
            continue;
        const char *k = (const char *)c->name;
        if (!strcmp(k, "sequence") || !strcmp(k, "choice") || !strcmp(k, "all") ||
            !strcmp(k, "complexContent") || !strcmp(k, "simpleContent") ||
            !strcmp(k, "restriction")) {
            walk_content(m, path, c, plabel, depth);
        } else if (!strcmp(k, "element")) {
            const xmlNode *eff;
            const char *name = ipf_xs_decl(m->root, "element", c, &eff);
            if (!name)
                continue;
            char *sub = join_path(path, "/", name);
            if (!sub) {
                m->oom = 1;
                return;
            }
            expand_element(m, sub, c, plabel, depth + 1);
            free(sub);
        } else if (!strcmp(k, "group") || !strcmp(k, "attributeGroup")) {
            const char *ref = ipf_xs_attr(c, "ref");
            const xmlNode *g = ref ? ipf_xs_global(m->root, k, ref) : NULL;
            if (g && push_type(m, g)) {
                walk_content(m, path, g, plabel, depth);
                m->depth--;
            }
        } else if (!strcmp(k, "attribute")) {
            add_attribute(m, path, c, plabel);
        } else if (!strcmp(k, "extension")) {
            const char *base = ipf_xs_attr(c, "base");
            const xmlNode *bt = base ? ipf_xs_global(m->root, "complexType", base) : NULL;
            if (bt)
                expand_type(m, path, bt, plabel, depth);
            walk_content(m, path, c, plabel, depth);
        }
    }
}

static int build_model(ipf_schema *s, const xmlNode *root)
{
    model m = {.s = s, .root = root};
    ipf_buf roots = {0};
    for (const xmlNode *c = root->children; c && !m.oom; c = c->next) {
        const char *name = ipf_xs_is(c, "element") ? ipf_xs_attr(c, "name") : NULL;
        if (!name)
            continue;
        char *path = join_path("/", "", name);
        if (!path)
            return -1;
        expand_element(&m, path, c, NULL, 0);
        free(path);
        ipf_buf_printf(&roots, "%s<%s>", roots.len ? "、" : "", name);
    }
    s->roots = roots.s;
    return m.oom || roots.oom ? -1 : 0;
}

/* ---------- looking labels up ---------- */

/* "/filing/institution/staff/@total" for a node; caller frees. */
static char *path_of(const xmlNode *node)
{
    const xmlNode *chain[80];
    int n = 0;
    const xmlNode *attr_node = NULL;
    if (node && node->type == XML_ATTRIBUTE_NODE) {
        attr_node = node;
        node = node->parent;
    }
    for (const xmlNode *p = node; p && p->type == XML_ELEMENT_NODE; p = p->parent) {
        if (n == (int)(sizeof chain / sizeof chain[0]))
            return NULL;
        chain[n++] = p;
    }
    ipf_buf b = {0};
    for (int i = n - 1; i >= 0; i--) {
        ipf_buf_str(&b, "/");
        ipf_buf_str(&b, (const char *)chain[i]->name);
    }
    if (attr_node) {
        ipf_buf_str(&b, "/@");
        ipf_buf_str(&b, (const char *)attr_node->name);
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static const field *field_at(const ipf_schema *s, const char *path)
{
    return s && s->fields && path ? xmlHashLookup(s->fields, (const xmlChar *)path) : NULL;
}

static const field *field_of(const ipf_schema *s, const xmlNode *node)
{
    char *p = path_of(node);
    const field *f = field_at(s, p);
    free(p);
    return f;
}

const char *ipf_schema_label(const ipf_schema *s, const xmlNode *node)
{
    for (const xmlNode *n = node; s && n; n = n->parent) {
        if (n->type != XML_ELEMENT_NODE && n->type != XML_ATTRIBUTE_NODE)
            continue;
        const field *f = field_of(s, n);
        if (f && f->label && *f->label)
            return f->label;
    }
    return node && node->name ? (const char *)node->name : "";
}

const char *ipf_schema_label_at(const ipf_schema *s, const char *path)
{
    const field *f = field_at(s, path);
    return f && f->label && *f->label ? f->label : NULL;
}

const char *ipf_schema_expect_at(const ipf_schema *s, const char *path)
{
    const field *f = field_at(s, path);
    return f ? f->expect : NULL;
}

const xmlDoc *ipf_schema_document(const ipf_schema *s)
{
    return s ? s->xsd : NULL;
}

/* ---------- loading ---------- */

typedef struct parse_report {
    loader *L;
    ipf_diags *d;
    int errors;
} parse_report;

static void on_parse_error(void *ctx, xmlErrorPtr e)
{
    parse_report *r = ctx;
    if (!e || r->errors >= 50)
        return;
    char msg[600];
    ipf_xml_error_text(e, msg, sizeof msg);
    const xmlNode *node = e->node;
    long line = node ? ipf_xml_line(node) : e->line;
    const char *file = node ? origin_of(r->L, node) : r->L->main_path;
    ipf_severity sev = e->level == XML_ERR_WARNING ? IPF_SEV_WARNING : IPF_SEV_ERROR;
    ipf_diag_add(r->d, file, line, sev, "SCHEMA-FILE", "结构定义有误：%s", msg);
    if (sev == IPF_SEV_ERROR)
        r->errors++;
}

ipf_status ipf_schema_load(const char *xsd_path, ipf_diags *d, ipf_schema **out)
{
    *out = NULL;
    xmlDocPtr doc = NULL;
    ipf_status st = ipf_xml_read_definition(xsd_path, NULL, 0, NULL, NULL, d, &doc);
    if (st != IPF_OK)
        return st;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!ipf_xs_is(root, "schema")) {
        ipf_diag_add(d, xsd_path, ipf_xml_line(root), IPF_SEV_ERROR, "SCHEMA-FILE",
                     "这不是 XML Schema 结构定义（根元素应为 xs:schema，命名空间 %s）", IPF_XS_NS);
        xmlFreeDoc(doc);
        return IPF_ERR_TEMPLATE;
    }
    ipf_schema *s = calloc(1, sizeof *s);
    loader *L = calloc(1, sizeof *L);
    if (!s || !L) {
        free(s);
        free(L);
        xmlFreeDoc(doc);
        return IPF_ERR_NOMEM;
    }
    s->xsd = doc;
    s->path = strdup(xsd_path);
    const char *tns = ipf_xs_attr(root, "targetNamespace");
    s->target_ns = tns ? strdup(tns) : NULL;
    s->fields = xmlHashCreate(64);
    L->main_path = xsd_path;
    L->d = d;
    L->main = doc;
    st = IPF_OK;
    if (!s->path || !s->fields) {
        st = IPF_ERR_NOMEM;
        goto done;
    }
    resolve_includes(L);
    if (L->bad) {
        st = IPF_ERR_TEMPLATE;
        goto done;
    }
    if (build_model(s, root) != 0) {
        st = IPF_ERR_NOMEM;
        goto done;
    }
    parse_report rep = {L, d, 0};
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(doc);
    if (!pc) {
        st = IPF_ERR_NOMEM;
        goto done;
    }
    xmlSchemaSetParserStructuredErrors(pc, on_parse_error, &rep);
    s->schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!s->schema || rep.errors) {
        if (!rep.errors)
            ipf_diag_add(d, xsd_path, 0, IPF_SEV_ERROR, "SCHEMA-FILE", "结构定义无法加载");
        st = IPF_ERR_TEMPLATE;
    }
done:
    for (int i = 0; i < L->nseen; i++)
        free(L->seen[i]);
    free(L);
    if (st != IPF_OK) {
        ipf_schema_free(s);
        return st;
    }
    *out = s;
    return IPF_OK;
}

/* ---------- validation ---------- */

typedef struct vstate {
    const ipf_schema *s;
    const char *file;
    ipf_diags *d;
    xmlHashTablePtr seen; /* diagnostics already given, across passes */
    xmlNodePtr *removals;
    size_t nrem, caprem;
    const xmlNode *facet_node;
    char facet_attr[128];
    size_t count;
    int errors;
    int oom;
    size_t unexpected;      /* SCHEMA-UNEXPECTED diagnostics given */
    size_t more_unexpected; /* ... and not listed past MAX_UNEXPECTED */
    long more_unexpected_line;
    size_t more_other; /* other diagnostics past MAX_SCHEMA_DIAGS */
    long more_other_line;
} vstate;

static void emit_always(vstate *v, long line, ipf_severity sev, const char *code, const char *msg);

static void emit(vstate *v, long line, ipf_severity sev, const char *code, const char *msg)
{
    char head[64];
    snprintf(head, sizeof head, "%ld\t%d\t", line, (int)sev);
    char *key = join_path(head, code, msg);
    if (!key) {
        v->oom = 1;
        return;
    }
    if (xmlHashLookup(v->seen, (const xmlChar *)key)) {
        free(key);
        return;
    }
    xmlHashAddEntry(v->seen, (const xmlChar *)key, (void *)1);
    free(key);
    emit_always(v, line, sev, code, msg);
}

/* Without the check for a repeat: for elements named at once, which no
 * later pass sees again (several may stand on one line). */
static void emit_always(vstate *v, long line, ipf_severity sev, const char *code, const char *msg)
{
    if (sev == IPF_SEV_ERROR)
        v->errors++;
    /* Never a flood, never silence: past a cap, a count. */
    if (strcmp(code, "SCHEMA-UNEXPECTED") == 0 && v->unexpected++ >= MAX_UNEXPECTED) {
        if (v->more_unexpected++ == 0 || line < v->more_unexpected_line)
            v->more_unexpected_line = line;
        return;
    }
    if (v->count++ >= MAX_SCHEMA_DIAGS) {
        if (v->more_other++ == 0 || line < v->more_other_line)
            v->more_other_line = line;
        return;
    }
    ipf_diag_add(v->d, v->file, line, sev, code, "%s", msg);
}

static void remember_removal(vstate *v, xmlNodePtr n)
{
    if (IPF_GROW(v->removals, v->caprem, v->nrem + 1) < 0) {
        v->oom = 1;
        return;
    }
    v->removals[v->nrem++] = n;
}

/* The attribute an error is about: "Element '...', attribute 'NAME': ...". */
static int error_attribute(const char *msg, char *out, size_t cap)
{
    const char *a = msg ? strstr(msg, "', attribute '") : NULL;
    if (!a)
        return 0;
    a += strlen("', attribute '");
    const char *e = strchr(a, '\'');
    if (!e || (size_t)(e - a) >= cap)
        return 0;
    memcpy(out, a, (size_t)(e - a));
    out[e - a] = '\0';
    return 1;
}

/* The label of child `name` of the element at parent_path, for lists. */
static void add_child_name(vstate *v, ipf_buf *b, const char *parent_path, const char *name)
{
    char *p = parent_path ? join_path(parent_path, "/", name) : NULL;
    const field *f = field_at(v->s, p);
    free(p);
    if (f && f->label && *f->label)
        ipf_buf_printf(b, "“%s”（<%s>）", f->label, name);
    else
        ipf_buf_printf(b, "<%s>", name);
}

/* "Expected is ( {ns}a, {ns}b )" -> “A”（<a>）、“B”（<b>）; returns how many. */
static int add_expected(vstate *v, ipf_buf *b, const char *msg, const char *parent_path)
{
    const char *p = msg ? strstr(msg, "Expected is ") : NULL;
    if (!p || !(p = strchr(p, '(')))
        return 0;
    const char *end = strchr(p, ')');
    if (!end)
        return 0;
    p++;
    int n = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == ','))
            p++;
        const char *q = p;
        while (q < end && *q != ',')
            q++;
        const char *item_end = q;
        while (item_end > p && item_end[-1] == ' ')
            item_end--;
        const char *name = p;
        for (const char *c = p; c < item_end; c++)
            if (*c == '}')
                name = c + 1;
        char buf[128];
        size_t len = (size_t)(item_end - name);
        if (len > 0 && len < sizeof buf && !memchr(name, '*', len)) {
            memcpy(buf, name, len);
            buf[len] = '\0';
            if (n == MAX_EXPECTED) {
                ipf_buf_str(b, "等");
                return n + 1;
            }
            if (n)
                ipf_buf_str(b, "、");
            add_child_name(v, b, parent_path, buf);
            n++;
        }
        p = q;
    }
    return n;
}

static const char *label_or_name(const ipf_schema *s, const xmlNode *n)
{
    return ipf_schema_label(s, n);
}

/* The label of attribute `name` of element `el`, or the bare name. */
static const char *attr_label(vstate *v, const xmlNode *el, const char *name, ipf_buf *tmp)
{
    char *p = path_of(el);
    char *key = p ? join_path(p, "/@", name) : NULL;
    const field *f = field_at(v->s, key);
    free(p);
    free(key);
    if (f && f->label && *f->label)
        return f->label;
    tmp->len = 0;
    ipf_buf_printf(tmp, "%s 属性", name);
    return sb_str(tmp);
}

static const char *attr_expect(vstate *v, const xmlNode *el, const char *name)
{
    char *p = path_of(el);
    char *key = p ? join_path(p, "/@", name) : NULL;
    const field *f = field_at(v->s, key);
    free(p);
    free(key);
    return f ? f->expect : NULL;
}

/* "... of the atomic type 'xs:date'." -> the built-in's description. */
static const char *expect_from_message(const char *msg)
{
    const char *t = msg ? strstr(msg, "type 'xs:") : NULL;
    if (!t)
        return NULL;
    t += strlen("type 'xs:");
    char buf[64];
    size_t n = 0;
    while (t[n] && t[n] != '\'' && n + 1 < sizeof buf) {
        buf[n] = t[n];
        n++;
    }
    buf[n] = '\0';
    return builtin_description(buf);
}

/* 'a', 'b' -> “a”、“b” */
static void add_enum_set(ipf_buf *b, const char *set)
{
    int first = 1;
    for (const char *p = set; p && *p;) {
        const char *q = strchr(p, '\'');
        if (!q)
            break;
        const char *e = strchr(q + 1, '\'');
        if (!e)
            break;
        ipf_buf_str(b, first ? "“" : "、“");
        ipf_buf_put(b, q + 1, (size_t)(e - q - 1));
        ipf_buf_str(b, "”");
        first = 0;
        p = e + 1;
    }
}

static void english_detail(ipf_buf *b, const char *msg)
{
    char buf[500];
    snprintf(buf, sizeof buf, "%s", msg ? msg : "");
    size_t n = strlen(buf);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    ipf_buf_str(b, buf);
}

static void on_valid_error(void *ctx, xmlErrorPtr e)
{
    vstate *v = ctx;
    if (!e)
        return;
    xmlNodePtr node = e->node;
    if (node && node->type != XML_ELEMENT_NODE && node->type != XML_ATTRIBUTE_NODE)
        node = node->parent;
    long line = node ? ipf_xml_line(node) : e->line;
    ipf_severity sev = e->level == XML_ERR_WARNING ? IPF_SEV_WARNING : IPF_SEV_ERROR;
    const char *msg = e->message ? e->message : "";
    char aname[128] = "";
    int is_attr = error_attribute(msg, aname, sizeof aname);
    ipf_buf b = {0}, tmp = {0};
    const char *code = "SCHEMA-OTHER";
    const char *value = e->str1 ? e->str1 : "";
    const char *label = node ? label_or_name(v->s, node) : "";
    const char *flabel = node && is_attr ? attr_label(v, node, aname, &tmp) : label;
    xmlNodePtr namesakes = NULL; /* an unknown element: name its namesakes too */

    switch (e->code) {
    case XML_SCHEMAV_ELEMENT_CONTENT:
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_4:
        if (node && strstr(msg, "Missing child")) {
            char *pp = path_of(node);
            code = "SCHEMA-MISSING";
            ipf_buf list = {0};
            int n = add_expected(v, &list, msg, pp);
            if (n > 1)
                ipf_buf_printf(&b, "“%s”中缺少以下元素之一：%s", label, sb_str(&list));
            else
                ipf_buf_printf(&b, "“%s”中缺少%s", label, n ? sb_str(&list) : "必需的子元素");
            free(list.s);
            free(pp);
        } else if (node && strstr(msg, "not expected")) {
            const xmlNode *parent =
                node->parent && node->parent->type == XML_ELEMENT_NODE ? node->parent : NULL;
            const char *plabel = parent ? label_or_name(v->s, parent) : "";
            const field *own = field_of(v->s, node);
            char *pp = parent ? path_of(parent) : NULL;
            code = "SCHEMA-UNEXPECTED";
            const char *ens = node->ns && node->ns->href ? (const char *)node->ns->href : NULL;
            const char *tns = v->s->target_ns;
            if (tns && (!ens || strcmp(ens, tns) != 0))
                /* The name may be right: the namespace is not (a prefix
                 * copied from another file, or xmlns="" on the way). */
                ipf_buf_printf(&b,
                               "元素 <%s> 属于%s%s%s，不属于本表单的命名空间“%s”（位于“%s”中）；"
                               "请去掉其前缀或 xmlns 声明",
                               (const char *)node->name, ens ? "命名空间“" : "空命名空间",
                               ens ? ens : "", ens ? "”" : "", tns, plabel);
            else if (own && own->label && *own->label)
                ipf_buf_printf(&b,
                               "“%s”（<%s>）不应出现在此处（位于“%s”中），可能是顺序不对或重复填写",
                               own->label, (const char *)node->name, plabel);
            else if (own)
                ipf_buf_printf(&b,
                               "元素 <%s> 不应出现在此处（位于“%s”中），可能是顺序不对或重复填写",
                               (const char *)node->name, plabel);
            else if (parent)
                ipf_buf_printf(&b, "不应出现的元素 <%s>（位于“%s”中）", (const char *)node->name,
                               plabel);
            else
                ipf_buf_printf(&b, "不应出现的元素 <%s>", (const char *)node->name);
            ipf_buf list = {0};
            int n = add_expected(v, &list, msg, pp);
            if (n > 1)
                ipf_buf_printf(&b, "；此处应为以下之一：%s", sb_str(&list));
            else if (n == 1)
                ipf_buf_printf(&b, "；此处应为%s", sb_str(&list));
            free(list.s);
            free(pp);
            remember_removal(v, node);
            namesakes = own ? NULL : node;
        } else {
            ipf_buf_printf(&b, "“%s”的内容不符合数据结构要求：", label);
            english_detail(&b, msg);
        }
        break;
    case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1:
    case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_2:
    case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_3:
    case XML_SCHEMAV_CVC_TYPE_3_1_1:
    case XML_SCHEMAV_CVC_ELT_5_2_2_1: {
        if (node && node == v->facet_node && strcmp(v->facet_attr, is_attr ? aname : "") == 0)
            goto out; /* the facet error already said it */
        if (e->code == XML_SCHEMAV_CVC_TYPE_3_1_1) {
            code = "SCHEMA-UNEXPECTED";
            ipf_buf_printf(&b, "“%s”不应有属性：", label);
            english_detail(&b, msg);
            break;
        }
        code = "SCHEMA-TYPE";
        const field *f = node && !is_attr ? field_of(v->s, node) : NULL;
        const char *expect = is_attr ? attr_expect(v, node, aname) : f ? f->expect : NULL;
        if (!expect)
            expect = expect_from_message(msg);
        if (!expect)
            expect = "有效的值";
        if (is_blank(value))
            ipf_buf_printf(&b, "%s未填写，应为%s", flabel, expect);
        else {
            ipf_buf_printf(&b, "%s应为%s，现为“", flabel, expect);
            ipf_buf_excerpt_visible(&b, value, VALUE_SHOWN);
            ipf_buf_str(&b, "”");
        }
        break;
    }
    case XML_SCHEMAV_CVC_TYPE_3_1_2:
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_2:
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_1: {
        code = "SCHEMA-UNEXPECTED";
        const xmlNode *child = NULL;
        for (const xmlNode *c = node ? node->children : NULL; c && !child; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                child = c;
        if (e->code == XML_SCHEMAV_CVC_COMPLEX_TYPE_2_1)
            ipf_buf_printf(&b, "“%s”应为空元素，不能有内容", label);
        else if (child)
            ipf_buf_printf(&b, "“%s”只能填写文字，不能包含元素 <%s>", label,
                           (const char *)child->name);
        else
            ipf_buf_printf(&b, "“%s”只能填写文字，不能包含子元素", label);
        break;
    }
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3: {
        code = "SCHEMA-TEXT";
        const char *text = NULL;
        for (const xmlNode *c = node ? node->children : NULL; c && !text; c = c->next)
            if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
                !is_blank((const char *)c->content))
                text = (const char *)c->content;
        char *pp = node ? path_of(node) : NULL;
        char *pk = pp ? join_path(pp, "/", "p") : NULL;
        int has_p = field_at(v->s, pk) != NULL;
        free(pp);
        free(pk);
        ipf_buf_printf(&b, "“%s”中", label);
        if (has_p) {
            ipf_buf_str(&b, "的文字“");
            ipf_buf_excerpt(&b, text, VALUE_SHOWN);
            ipf_buf_str(&b, "”应分段写在 <p> 元素中");
        } else {
            ipf_buf_str(&b, "不能直接写文字（“");
            ipf_buf_excerpt(&b, text, VALUE_SHOWN);
            ipf_buf_str(&b, "”），只能包含子元素");
        }
        break;
    }
    case XML_SCHEMAV_CVC_ENUMERATION_VALID:
        code = "SCHEMA-ENUM";
        if (is_blank(value))
            ipf_buf_printf(&b, "%s未填写，应为", flabel);
        else
            ipf_buf_printf(&b, "%s应为", flabel);
        add_enum_set(&b, e->str2);
        ipf_buf_str(&b, "之一");
        if (!is_blank(value)) {
            ipf_buf_str(&b, "，现为“");
            ipf_buf_excerpt_visible(&b, value, VALUE_SHOWN);
            ipf_buf_str(&b, "”");
        }
        break;
    case XML_SCHEMAV_CVC_PATTERN_VALID: {
        code = "SCHEMA-PATTERN";
        const field *f = node && !is_attr ? field_of(v->s, node) : NULL;
        const char *expect = is_attr ? attr_expect(v, node, aname) : f ? f->expect : NULL;
        ipf_buf_printf(&b, "%s的格式不正确", flabel);
        if (expect)
            ipf_buf_printf(&b, "，应为%s", expect);
        ipf_buf_str(&b, "，现为“");
        ipf_buf_excerpt_visible(&b, value, VALUE_SHOWN);
        ipf_buf_str(&b, "”");
        break;
    }
    case XML_SCHEMAV_CVC_MININCLUSIVE_VALID:
    case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID:
    case XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID:
    case XML_SCHEMAV_CVC_MAXEXCLUSIVE_VALID: {
        code = "SCHEMA-RANGE";
        const char *how = e->code == XML_SCHEMAV_CVC_MININCLUSIVE_VALID   ? "不小于"
                          : e->code == XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID ? "不大于"
                          : e->code == XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID ? "大于"
                                                                          : "小于";
        ipf_buf_printf(&b, "%s应%s %s，现为“", flabel, how, e->str2 ? e->str2 : "?");
        ipf_buf_excerpt_visible(&b, value, VALUE_SHOWN);
        ipf_buf_str(&b, "”");
        break;
    }
    case XML_SCHEMAV_CVC_LENGTH_VALID:
    case XML_SCHEMAV_CVC_MINLENGTH_VALID:
    case XML_SCHEMAV_CVC_MAXLENGTH_VALID: {
        code = "SCHEMA-LENGTH";
        const char *how = e->code == XML_SCHEMAV_CVC_LENGTH_VALID      ? "应为"
                          : e->code == XML_SCHEMAV_CVC_MINLENGTH_VALID ? "应不少于"
                                                                       : "应不超过";
        /* the limit is the last quoted number of the message */
        const char *lim = NULL, *p = msg;
        char num[32] = "?";
        while ((p = strchr(p, '\'')) != NULL) {
            const char *q = strchr(p + 1, '\'');
            if (!q)
                break;
            lim = p + 1;
            if ((size_t)(q - lim) < sizeof num) {
                memcpy(num, lim, (size_t)(q - lim));
                num[q - lim] = '\0';
            }
            p = q + 1;
        }
        if (e->code != XML_SCHEMAV_CVC_MAXLENGTH_VALID &&
            (!*value || strstr(msg, "has a length of '0'"))) {
            /* An empty value of a type that asks for content. */
            code = "SCHEMA-MISSING";
            ipf_buf_printf(&b, "%s未填写", is_attr ? flabel : label);
            break;
        }
        ipf_buf_printf(&b, "%s的长度%s %s 个字符，现为“", flabel, how, num);
        ipf_buf_excerpt(&b, value, VALUE_SHOWN);
        ipf_buf_str(&b, "”");
        break;
    }
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1:
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2:
        code = "SCHEMA-UNEXPECTED";
        ipf_buf_printf(&b, "“%s”不应有属性 %s", label, e->str1 ? e->str1 : aname);
        break;
    case XML_SCHEMAV_CVC_COMPLEX_TYPE_4: {
        code = "SCHEMA-MISSING";
        const char *an = e->str1 ? e->str1 : aname;
        const char *al = node ? attr_label(v, node, an, &tmp) : an;
        if (strcmp(al, an) != 0 && strstr(al, " 属性") == NULL)
            ipf_buf_printf(&b, "“%s”缺少属性 %s（%s）", label, an, al);
        else
            ipf_buf_printf(&b, "“%s”缺少属性 %s", label, an);
        break;
    }
    case XML_SCHEMAV_CVC_ELT_1:
        code = "SCHEMA-ROOT";
        ipf_buf_printf(&b, "根元素 <%s>%s%s%s不是本表单的数据，应为 %s（命名空间 %s）",
                       node ? (const char *)node->name : "?", node && node->ns ? "（命名空间 " : "",
                       node && node->ns ? (const char *)node->ns->href : "",
                       node && node->ns ? "）" : "", v->s->roots ? v->s->roots : "?",
                       v->s->target_ns ? v->s->target_ns : "（无）");
        break;
    default:
        if (e->code >= XML_SCHEMAV_CVC_FACET_VALID &&
            e->code <= XML_SCHEMAV_CVC_FRACTIONDIGITS_VALID) {
            code = "SCHEMA-TYPE";
            ipf_buf_printf(&b, "%s的值“", flabel);
            ipf_buf_excerpt_visible(&b, value, VALUE_SHOWN);
            ipf_buf_str(&b, "”不符合要求：");
        } else {
            ipf_buf_printf(&b, "“%s”不符合数据结构要求：", flabel);
        }
        english_detail(&b, msg);
        break;
    }
    if (e->code >= XML_SCHEMAV_CVC_FACET_VALID && e->code <= XML_SCHEMAV_CVC_ENUMERATION_VALID) {
        v->facet_node = node;
        snprintf(v->facet_attr, sizeof v->facet_attr, "%s", is_attr ? aname : "");
    } else {
        v->facet_node = NULL;
    }
    if (b.oom || tmp.oom)
        v->oom = 1;
    else
        emit(v, line, sev, code, sb_str(&b));
    /* An element the schema does not know here can stand nowhere in this
     * parent: its namesakes after it are named now, not one per re-check
     * (a thousand of them would cost a thousand passes over the document). */
    for (xmlNodePtr sib = namesakes && !v->oom ? namesakes->next : NULL; sib; sib = sib->next)
        if (sib->type == XML_ELEMENT_NODE && xmlStrEqual(sib->name, namesakes->name) &&
            sib->ns == namesakes->ns) {
            emit_always(v, ipf_xml_line(sib), sev, code, sb_str(&b));
            remember_removal(v, sib);
        }
out:
    free(b.s);
    free(tmp.s);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (const xmlNodePtr *)a, y = (uintptr_t) * (const xmlNodePtr *)b;
    return x < y ? -1 : x > y;
}

/* list is sorted by address (ipf_schema_validate). */
static int listed(xmlNodePtr *list, size_t n, const xmlNode *x)
{
    return n && bsearch(&x, list, n, sizeof *list, by_address) != NULL;
}

static size_t count_nodes(const xmlNode *n)
{
    size_t k = 0;
    for (; n; n = n->next)
        k += 1 + (n->type == XML_ELEMENT_NODE ? count_nodes(n->children) : 0);
    return k;
}

/* Removes from copy (same shape as orig) the nodes listed in rem. */
static void remove_listed(xmlNodePtr orig, xmlNodePtr copy, xmlNodePtr *rem, size_t n)
{
    while (orig && copy) {
        xmlNodePtr onext = orig->next, cnext = copy->next;
        if (orig->type == XML_ELEMENT_NODE) {
            if (listed(rem, n, orig)) {
                xmlUnlinkNode(copy);
                xmlFreeNode(copy);
            } else {
                remove_listed(orig->children, copy->children, rem, n);
            }
        }
        orig = onext;
        copy = cnext;
    }
}

/* The text of element n (its text and CDATA children), or NULL when it has
 * element children too (not a simple value) or no memory. */
static char *element_text(const xmlNode *n, int *oom)
{
    ipf_buf b = {0};
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            free(b.s);
            return NULL;
        }
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            ipf_buf_str(&b, (const char *)c->content);
    }
    char *text = ipf_buf_take(&b);
    if (!text)
        *oom = 1;
    return text;
}

/* A required attribute, or an element whose type asks for content, that
 * holds only characters that print as nothing (U+3000, NBSP, U+2003,
 * zero-width) passes XSD's length and string checks but leaves the form
 * blank: it is not filled (utf8.h, one notion of white space for the whole
 * program).  An empty attribute is left to the rules (some files mean it);
 * an empty element of such a type is already refused by its xs:minLength. */
static void required_filled(vstate *v, const xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        /* Only a simple value that is blank but not empty needs its field
         * looked up (a path and a hash look-up, for a few elements only). */
        int blank_value = 0, simple = 1;
        for (const xmlNode *c = n->children; c && simple; c = c->next) {
            if (c->type == XML_ELEMENT_NODE)
                simple = 0;
            else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
                     c->content && *c->content) {
                if (ipf_utf8_is_filled((const char *)c->content))
                    simple = 0;
                else
                    blank_value = 1;
            }
        }
        const field *ef = simple && blank_value ? field_of(v->s, n) : NULL;
        if (ef && ef->required) {
            int oom = 0;
            char *text = element_text(n, &oom);
            if (oom)
                v->oom = 1;
            if (text && *text && !ipf_utf8_is_filled(text)) {
                ipf_buf b = {0};
                ipf_buf_printf(&b, "%s未填写（只有空白字符“", label_or_name(v->s, n));
                ipf_buf_excerpt_visible(&b, text, VALUE_SHOWN);
                ipf_buf_str(&b, "”）");
                if (b.oom)
                    v->oom = 1;
                else
                    emit(v, ipf_xml_line(n), IPF_SEV_ERROR, "SCHEMA-MISSING", sb_str(&b));
                free(b.s);
            }
            free(text);
        }
        for (xmlAttrPtr a = n->properties; a; a = a->next) {
            const char *val =
                a->children && a->children->content ? (const char *)a->children->content : "";
            if (!*val || ipf_utf8_is_filled(val))
                continue; /* "" is a value some files mean (an empty setting) */
            const field *f = field_of(v->s, (const xmlNode *)a);
            if (!f || !f->required || f->expect)
                continue; /* a typed value (a count, a date) has its own message */
            ipf_buf b = {0}, tmp = {0};
            ipf_buf_printf(&b, "%s未填写（只有空白字符）",
                           attr_label(v, n, (const char *)a->name, &tmp));
            if (b.oom || tmp.oom)
                v->oom = 1;
            else
                emit(v, ipf_xml_line(n), IPF_SEV_ERROR, "SCHEMA-MISSING", sb_str(&b));
            free(b.s);
            free(tmp.s);
        }
        required_filled(v, n->children);
    }
}

ipf_status ipf_schema_validate(const ipf_schema *s, xmlDocPtr doc, const char *file, ipf_diags *d)
{
    vstate v = {.s = s, .file = file, .d = d};
    v.seen = xmlHashCreate(16);
    if (!v.seen)
        return IPF_ERR_NOMEM;
    ipf_status st = IPF_OK;
    xmlDocPtr cur = doc;
    size_t nodes = count_nodes(doc->children) + 1, work = 0;
    int unchecked = 0; /* stopped with unexpected elements still to remove */
    int passes = 0;
    for (int pass = 0; pass < MAX_PASSES; pass++) {
        work += nodes;
        passes++;
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(s->schema);
        if (!vc) {
            st = IPF_ERR_NOMEM;
            break;
        }
        xmlSchemaSetValidStructuredErrors(vc, on_valid_error, &v);
        v.nrem = 0;
        v.facet_node = NULL;
        int before = v.errors;
        int rc = xmlSchemaValidateDoc(vc, cur);
        xmlSchemaFreeValidCtxt(vc);
        if (rc < 0 && v.errors == before) {
            ipf_diag_add(d, file, 0, IPF_SEV_ERROR, "SCHEMA-OTHER",
                         "数据结构检查未能完成：%s（libxml2 错误 %d）", ipf_xml_error_code_text(rc),
                         rc);
            v.errors++;
        }
        if (v.oom) {
            st = IPF_ERR_NOMEM;
            break;
        }
        if (v.nrem == 0)
            break;
        if (pass + 1 == MAX_PASSES || work + nodes > PASS_BUDGET) {
            unchecked = 1;
            break;
        }
        /* Check again without the unexpected elements, so that what follows
         * them is checked too. */
        xmlDocPtr next = xmlCopyDoc(cur, 1);
        if (!next) {
            st = IPF_ERR_NOMEM;
            break;
        }
        ipf_xml_copy_lines(cur->children, next->children);
        qsort(v.removals, v.nrem, sizeof *v.removals, by_address);
        remove_listed(cur->children, next->children, v.removals, v.nrem);
        if (cur != doc)
            xmlFreeDoc(cur);
        cur = next;
    }
    if (st == IPF_OK)
        required_filled(&v, xmlDocGetRootElement(doc));
    if (st == IPF_OK && v.more_unexpected)
        ipf_diag_add(d, file, v.more_unexpected_line, IPF_SEV_ERROR, "SCHEMA-UNEXPECTED",
                     "从这一行起另有 %zu 处不应出现的元素，未逐一列出", v.more_unexpected);
    if (st == IPF_OK && unchecked) {
        /* What follows the last unexpected elements was not checked: say
         * so rather than pass over it in silence. */
        long line = 0;
        for (size_t i = 0; i < v.nrem; i++) {
            long l = ipf_xml_line(v.removals[i]);
            if (line == 0 || (l > 0 && l < line))
                line = l;
        }
        ipf_diag_add(d, file, line, IPF_SEV_ERROR, "SCHEMA-UNEXPECTED",
                     "不应出现或顺序不对的元素过多（已重新检查 %d 遍），从这一行起的其余内容"
                     "未再逐一检查；请先改正以上问题",
                     passes);
        v.errors++;
    }
    if (st == IPF_OK && v.more_other)
        ipf_diag_add(d, file, v.more_other_line, IPF_SEV_ERROR, "SCHEMA-OTHER",
                     "从这一行起另有 %zu 处数据结构问题，未逐一列出", v.more_other);
    if (cur != doc)
        xmlFreeDoc(cur);
    free(v.removals);
    xmlHashFree(v.seen, NULL);
    if (st != IPF_OK)
        return st;
    return v.errors ? IPF_INVALID : IPF_OK;
}
