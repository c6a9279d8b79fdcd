/* skeleton.c: a data skeleton generated from the schema and the rule settings.
 *
 * The schema's merged document (schema.c resolved xs:include) is walked from
 * the form's root element in declaration order; labels come from schema.c's
 * label model (the same names diagnostics use), documentation and choices
 * from the declarations themselves.  The text is built in an xmlBuffer and
 * written in one go, so a failure leaves nothing half-written on stdout. */
#include "skeleton.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#define MAX_DEPTH   24 /* element nesting written; deeper data is not a form */
#define MAX_TYPES   32 /* recursive types are written once */
#define MAX_MEMBERS 128
#define MAX_SETTING 64

typedef struct walker {
    const ipf_schema *s;
    const ipf_ruleset *rules;
    const ipf_skeleton_form *form;
    const xmlNode *root; /* xs:schema */
    xmlBufferPtr out;
    const xmlNode *types[MAX_TYPES];
    int ntypes;
    int oom;
} walker;

typedef struct members {
    const xmlNode *attrs[MAX_MEMBERS];
    int nattrs;
    const xmlNode *elems[MAX_MEMBERS];
    int nelems;
    int text; /* simple or mixed content */
} members;

/* ---------- reading the schema ---------- */

static int push_type(walker *w, const xmlNode *t)
{
    for (int i = 0; i < w->ntypes; i++)
        if (w->types[i] == t)
            return 0;
    if (w->ntypes >= MAX_TYPES)
        return 0;
    w->types[w->ntypes++] = t;
    return 1;
}

/* The attributes and child elements of a complex type, base type first. */
static void collect(walker *w, const xmlNode *node, members *m, int depth)
{
    if (depth > 16)
        return;
    if (ipf_xs_is(node, "complexType") && ipf_xs_attr(node, "mixed") &&
        !strcmp(ipf_xs_attr(node, "mixed"), "true"))
        m->text = 1;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (!ipf_xs_is(c, NULL))
            continue;
        const char *k = (const char *)c->name;
        if (!strcmp(k, "sequence") || !strcmp(k, "choice") || !strcmp(k, "all") ||
            !strcmp(k, "complexContent")) {
            collect(w, c, m, depth + 1);
        } else if (!strcmp(k, "simpleContent")) {
            m->text = 1;
            collect(w, c, m, depth + 1);
        } else if (!strcmp(k, "extension") || !strcmp(k, "restriction")) {
            const char *base = ipf_xs_attr(c, "base");
            const xmlNode *bt = base && !ipf_xs_builtin(c, base)
                                    ? ipf_xs_global(w->root, "complexType", base)
                                    : NULL;
            if (bt && push_type(w, bt)) {
                collect(w, bt, m, depth + 1);
                w->ntypes--;
            } else if (base && !bt) {
                m->text = 1; /* a simple base */
            }
            if (!strcmp(k, "extension"))
                collect(w, c, m, depth + 1);
        } else if (!strcmp(k, "group") || !strcmp(k, "attributeGroup")) {
            const xmlNode *g =
                ipf_xs_attr(c, "ref") ? ipf_xs_global(w->root, k, ipf_xs_attr(c, "ref")) : NULL;
            if (g && push_type(w, g)) {
                collect(w, g, m, depth + 1);
                w->ntypes--;
            }
        } else if (!strcmp(k, "element")) {
            if (m->nelems < MAX_MEMBERS)
                m->elems[m->nelems++] = c;
        } else if (!strcmp(k, "attribute")) {
            if (m->nattrs < MAX_MEMBERS &&
                !(ipf_xs_attr(c, "use") && !strcmp(ipf_xs_attr(c, "use"), "prohibited")))
                m->attrs[m->nattrs++] = c;
        }
    }
}

/* ---------- text ---------- */

static void put(walker *w, const char *s)
{
    if (!w->oom && xmlBufferCat(w->out, (const xmlChar *)s) != 0)
        w->oom = 1;
}

static void putn(walker *w, const char *s, size_t n)
{
    if (!w->oom && n && xmlBufferAdd(w->out, (const xmlChar *)s, (int)n) != 0)
        w->oom = 1;
}

static void indent(walker *w, int level)
{
    for (int i = 0; i < level; i++)
        put(w, "  ");
}

/* An attribute value, escaped. */
static void put_value(walker *w, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '&')
            put(w, "&amp;");
        else if (*v == '<')
            put(w, "&lt;");
        else if (*v == '"')
            put(w, "&quot;");
        else
            putn(w, v, 1);
    }
}

/* Text for inside a comment: runs of white space become one space (none at
 * a line break inside Chinese text), "--" cannot occur, and {$name} is the
 * form's setting. */
static void put_comment_text(walker *w, const char *t)
{
    int pending_space = 0, pending_break = 0, last_dash = 0, wrote = 0;
    for (const char *p = t; p && *p;) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (c == '\n')
                pending_break = 1;
            else
                pending_space = 1;
            p++;
            continue;
        }
        if (wrote && (pending_space || pending_break)) {
            /* keep a space between Latin words; drop a line break's indentation
             * before a Chinese character */
            if (!pending_break || c < 0x80)
                put(w, " ");
        }
        pending_space = pending_break = 0;
        if (p[0] == '{' && p[1] == '$') {
            const char *end = strchr(p + 2, '}');
            size_t n = end ? (size_t)(end - p - 2) : 0;
            if (end && n > 0 && n < MAX_SETTING) {
                char name[MAX_SETTING];
                memcpy(name, p + 2, n);
                name[n] = '\0';
                const char *v = w->rules ? ipf_ruleset_setting(w->rules, name) : NULL;
                if (v) {
                    for (const char *q = v; *q; q++)
                        put(w, *q == '|' ? "、" : (char[]){*q, '\0'});
                } else {
                    /* this form's rules have no such setting */
                    put(w, "（本表不设）");
                }
                p = end + 1;
                wrote = 1;
                last_dash = 0;
                continue;
            }
        }
        if (c == '-' && last_dash) {
            put(w, " -"); /* "--" may not appear in a comment */
        } else {
            putn(w, p, 1);
        }
        last_dash = c == '-';
        wrote = 1;
        p++;
    }
}

static xmlChar *documentation(const xmlNode *decl)
{
    for (const xmlNode *an = decl ? decl->children : NULL; an; an = an->next) {
        if (!ipf_xs_is(an, "annotation"))
            continue;
        for (const xmlNode *dn = an->children; dn; dn = dn->next)
            if (ipf_xs_is(dn, "documentation"))
                return xmlNodeGetContent(dn);
    }
    return NULL;
}

/* Whether a declaration says <ipf:skeleton>omit</ipf:skeleton>: a part that
 * others fill in (an office's opinion) or that is signed by hand. */
static int omitted(const xmlNode *decl)
{
    char *how = ipf_xs_appinfo(decl, "skeleton");
    int yes = how && strstr(how, "omit");
    free(how);
    return yes;
}

/* The choices of a simple type (its enumerations, through unions and
 * restrictions), as "a、b"; appended to buf. */
static void add_choices(walker *w, const xmlNode *ctx, const char *qname, const xmlNode *st,
                        xmlBufferPtr buf, int depth)
{
    if (depth > 8)
        return;
    if (!st && qname && !ipf_xs_builtin(ctx, qname))
        st = ipf_xs_global(w->root, "simpleType", qname);
    for (const xmlNode *c = st ? st->children : NULL; c; c = c->next) {
        if (ipf_xs_is(c, "restriction")) {
            int any = 0;
            for (const xmlNode *e = c->children; e; e = e->next)
                if (ipf_xs_is(e, "enumeration") && ipf_xs_attr(e, "value")) {
                    if (xmlBufferLength(buf))
                        xmlBufferCat(buf, (const xmlChar *)"、");
                    xmlBufferCat(buf, (const xmlChar *)ipf_xs_attr(e, "value"));
                    any = 1;
                }
            if (!any && ipf_xs_attr(c, "base"))
                add_choices(w, c, ipf_xs_attr(c, "base"), NULL, buf, depth + 1);
        } else if (ipf_xs_is(c, "union")) {
            for (const xmlNode *m = c->children; m; m = m->next)
                if (ipf_xs_is(m, "simpleType"))
                    add_choices(w, m, NULL, m, buf, depth + 1);
        }
    }
}

/* The type of a declaration: a named or anonymous complex type, or NULL for
 * a simple one (then *simple_name / *simple_node say which). */
static const xmlNode *type_of(walker *w, const xmlNode *decl, const char **simple_name,
                              const xmlNode **simple_node)
{
    *simple_name = NULL;
    *simple_node = NULL;
    const char *type = ipf_xs_attr(decl, "type");
    if (type) {
        const xmlNode *ct =
            ipf_xs_builtin(decl, type) ? NULL : ipf_xs_global(w->root, "complexType", type);
        if (!ct)
            *simple_name = type;
        return ct;
    }
    for (const xmlNode *c = decl->children; c; c = c->next) {
        if (ipf_xs_is(c, "complexType"))
            return c;
        if (ipf_xs_is(c, "simpleType"))
            *simple_node = c;
    }
    return NULL;
}

static void comment_attribute(walker *w, const char *path, const xmlNode *decl, int level)
{
    const xmlNode *eff;
    const char *name = ipf_xs_decl(w->root, "attribute", decl, &eff);
    if (!name || !eff)
        return;
    char key[1024];
    if (snprintf(key, sizeof key, "%s/@%s", path, name) >= (int)sizeof key)
        return;
    const char *label = ipf_schema_label_at(w->s, key);
    const char *expect = ipf_schema_expect_at(w->s, key);
    const char *sname;
    const xmlNode *snode;
    type_of(w, eff, &sname, &snode);
    xmlBufferPtr choices = xmlBufferCreate();
    if (!choices) {
        w->oom = 1;
        return;
    }
    add_choices(w, eff, sname, snode, choices, 0);
    xmlChar *doc = documentation(decl);
    if (!doc && eff != decl)
        doc = documentation(eff);
    put(w, "\n");
    indent(w, level);
    put(w, "     ");
    put(w, name);
    if (label) {
        put(w, "（");
        put_comment_text(w, label);
        put(w, "）");
    }
    put(w, "：");
    if (xmlBufferLength(choices)) {
        put(w, "可填 ");
        put_comment_text(w, (const char *)xmlBufferContent(choices));
        put(w, "。");
    } else if (expect) {
        put_comment_text(w, expect);
        put(w, "。");
    }
    if (doc)
        put_comment_text(w, (const char *)doc);
    xmlFree(doc);
    xmlBufferFree(choices);
}

static void write_element(walker *w, const char *ppath, const xmlNode *decl, int level);

static void write_children(walker *w, const char *path, const members *m, int level)
{
    for (int i = 0; i < m->nelems; i++)
        write_element(w, path, m->elems[i], level);
}

static void write_element(walker *w, const char *ppath, const xmlNode *decl, int level)
{
    if (level > MAX_DEPTH || w->oom)
        return;
    const xmlNode *eff;
    const char *name = ipf_xs_decl(w->root, "element", decl, &eff);
    if (!name || !eff)
        return;
    char path[1024];
    if (snprintf(path, sizeof path, "%s/%s", ppath, name) >= (int)sizeof path)
        return;

    const char *sname;
    const xmlNode *snode;
    const xmlNode *ct = type_of(w, eff, &sname, &snode);
    members m = {0};
    int pushed = 0;
    if (ct && (pushed = push_type(w, ct)) != 0)
        collect(w, ct, &m, 0);

    /* The comment: label, documentation, choices, then one line per attribute. */
    const char *label = ipf_schema_label_at(w->s, path);
    xmlChar *doc = documentation(decl);
    if (!doc && eff != decl)
        doc = documentation(eff);
    if (!doc && ct)
        doc = documentation(ct);
    xmlBufferPtr choices = xmlBufferCreate();
    if (!choices) {
        w->oom = 1;
        xmlFree(doc);
        if (pushed)
            w->ntypes--;
        return;
    }
    int omit = level > 0 && omitted(decl);
    if (!ct)
        add_choices(w, eff, sname, snode, choices, 0);
    if (level > 0 && (label || doc || xmlBufferLength(choices) || m.nattrs)) {
        indent(w, level);
        put(w, "<!-- ");
        if (label) {
            put_comment_text(w, label);
            if (doc || xmlBufferLength(choices))
                put(w, "：");
        }
        if (xmlBufferLength(choices)) {
            put(w, "可填 ");
            put_comment_text(w, (const char *)xmlBufferContent(choices));
            put(w, "。");
        }
        if (doc)
            put_comment_text(w, (const char *)doc);
        for (int i = 0; i < m.nattrs && !omit; i++)
            comment_attribute(w, path, m.attrs[i], level);
        if (omit) {
            put(w, "\n");
            indent(w, level);
            put(w, "     （不在此填写，未列出 <");
            put(w, name);
            put(w, ">）");
        }
        put(w, " -->\n");
    }
    xmlFree(doc);
    xmlBufferFree(choices);
    if (omit) {
        if (pushed)
            w->ntypes--;
        return;
    }

    indent(w, level);
    put(w, "<");
    put(w, name);
    if (level == 0 && w->form->namespace) {
        put(w, " xmlns=\"");
        put_value(w, w->form->namespace);
        put(w, "\"");
    }
    for (int i = 0; i < m.nattrs; i++) {
        const xmlNode *eff;
        const char *an = ipf_xs_decl(w->root, "attribute", m.attrs[i], &eff);
        if (!an)
            continue;
        const char *v = "";
        /* The root names its form and edition: that is how ipforms finds the
         * template, so these two are the only values a skeleton fills in. */
        if (level == 0 && !strcmp(an, "form"))
            v = w->form->id;
        else if (level == 0 && !strcmp(an, "edition"))
            v = w->form->edition ? w->form->edition : "";
        put(w, " ");
        put(w, an);
        put(w, "=\"");
        put_value(w, v);
        put(w, "\"");
    }
    if (m.text || (!ct)) {
        put(w, "></");
        put(w, name);
        put(w, ">\n");
    } else if (m.nelems == 0) {
        put(w, "/>\n");
    } else {
        put(w, ">\n");
        write_children(w, path, &m, level + 1);
        indent(w, level);
        put(w, "</");
        put(w, name);
        put(w, ">\n");
    }
    if (pushed)
        w->ntypes--;
}

ipf_status ipf_skeleton_write(const ipf_schema *s, const ipf_ruleset *rules,
                              const ipf_skeleton_form *form, FILE *out, ipf_diags *d)
{
    const xmlDoc *xsd = ipf_schema_document(s);
    walker w = {.s = s, .rules = rules, .form = form};
    w.root = xsd ? xmlDocGetRootElement((xmlDocPtr)xsd) : NULL;
    const xmlNode *decl = w.root ? ipf_xs_global(w.root, "element", form->root) : NULL;
    if (!decl) {
        ipf_diag_add(d, form->id, 0, IPF_SEV_ERROR, "TEMPLATE-ROOT",
                     "表单“%s”的结构定义中没有根元素 <%s>，无法生成填写模板", form->id,
                     form->root ? form->root : "");
        return IPF_ERR_TEMPLATE;
    }
    w.out = xmlBufferCreate();
    if (!w.out)
        return IPF_ERR_NOMEM;
    put(&w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- ");
    put_comment_text(&w, form->title ? form->title : form->id);
    if (form->edition && *form->edition) {
        put(&w, "（版本 ");
        put_comment_text(&w, form->edition);
        put(&w, "）");
    }
    put(&w, " 填写模板，由 ipforms init ");
    put_comment_text(&w, form->id);
    put(&w,
        " 按结构定义和检查规则生成。\n     每项前的注释说明该项的名称和填法；"
        "可重复的项（如团队成员、案例）只列一个，照样复制即可。\n"
        "     填好后用 ipforms validate 本文件.xml 检查，用 ipforms render 本文件.xml 生成 PDF。");
    xmlChar *rootdoc = documentation(decl);
    if (rootdoc) {
        put(&w, "\n     ");
        put_comment_text(&w, (const char *)rootdoc);
        xmlFree(rootdoc);
    }
    put(&w, " -->\n");
    write_element(&w, "", decl, 0);
    if (w.oom) {
        xmlBufferFree(w.out);
        return IPF_ERR_NOMEM;
    }
    size_t len = (size_t)xmlBufferLength(w.out);
    ipf_status st = IPF_OK;
    if (fwrite(xmlBufferContent(w.out), 1, len, out) != len || fflush(out) != 0) {
        ipf_diag_add(d, "-", 0, IPF_SEV_ERROR, "IO-WRITE", "写出填写模板失败");
        st = IPF_ERR_IO;
    }
    xmlBufferFree(w.out);
    return st;
}
