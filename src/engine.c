/* engine.c: the catalogue of forms and the per-document pipeline
 * read → validate → lay out → write. */
#include "ipforms.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drawing.h"
#include "fontset.h"
#include "layout.h"
#include "pdf.h"
#include "rules.h"
#include "schema.h"
#include "skeleton.h"
#include "validate.h"
#include "xmldoc.h"

#ifndef IPF_TEMPLATES_DIR
#define IPF_TEMPLATES_DIR "templates"
#endif
#ifndef IPF_FONTS_DIR
#define IPF_FONTS_DIR "fonts"
#endif

#define MAX_FONTS 8
/* No template may raise the node limit above this (memory stays bounded:
 * about 200 bytes a node). */
#define IPF_XML_NODES_CEILING 4000000u

/* What a form needs at run time, loaded on first use and kept. */
typedef struct form_slot {
    ipf_form *form;
    int loaded, failed;
    ipf_schema *schema;
    ipf_ruleset *rules;
    ipf_fontset *fonts;
    ipf_pdf_writer *writer;
} form_slot;

struct ipf_engine {
    ipf_engine_options opt;
    char *templates_dir;
    form_slot *slots;
    size_t nslots;
    /* Directories whose template.xml failed to load (already reported):
     * data naming such a form is a template problem, not bad data. */
    char **broken;
    size_t nbroken;
    ipf_layout *layout;
};

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int by_id(const void *a, const void *b)
{
    const form_slot *x = a, *y = b;
    int c = strcmp(ipf_form_id(x->form), ipf_form_id(y->form));
    if (c)
        return c;
    const char *ex = ipf_form_edition(x->form), *ey = ipf_form_edition(y->form);
    c = strcmp(ex ? ex : "", ey ? ey : "");
    return c ? c : strcmp(ipf_form_path(x->form), ipf_form_path(y->form));
}

static int same_form(const ipf_form *a, const ipf_form *b)
{
    const char *ea = ipf_form_edition(a), *eb = ipf_form_edition(b);
    return strcmp(ipf_form_id(a), ipf_form_id(b)) == 0 && strcmp(ea ? ea : "", eb ? eb : "") == 0;
}

ipf_status ipf_engine_new(const ipf_engine_options *opt, ipf_diags *d, ipf_engine **out)
{
    *out = NULL;
    ipf_xml_init();
    ipf_engine *e = calloc(1, sizeof *e);
    if (!e)
        return IPF_ERR_NOMEM;
    e->opt = *opt;
    const char *dir = opt->templates_dir;
    if (!dir)
        dir = getenv("IPFORMS_TEMPLATES");
    if (!dir || !*dir)
        dir = IPF_TEMPLATES_DIR;
    e->templates_dir = strdup(dir);
    if (!e->templates_dir || ipf_layout_new(&e->layout) != IPF_OK) {
        ipf_engine_free(e);
        return IPF_ERR_NOMEM;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        ipf_diag_add(d, dir, 0, IPF_SEV_ERROR, "TEMPLATE-DIR", "找不到模板目录（%s）",
                     strerror(errno));
        ipf_engine_free(e);
        return IPF_ERR_TEMPLATE;
    }
    ipf_status st = IPF_OK;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = path_join(dir, de->d_name);
        char *tpl = sub ? path_join(sub, "template.xml") : NULL;
        free(sub);
        if (!tpl) {
            st = IPF_ERR_NOMEM;
            break;
        }
        if (access(tpl, F_OK) == 0) {
            ipf_form *f = NULL;
            ipf_status fs = ipf_form_load(tpl, d, &f);
            if (fs == IPF_OK && ipf_form_is_abstract(f)) {
                ipf_form_free(f); /* a base for other forms, not a form */
            } else if (fs == IPF_OK) {
                form_slot *s = realloc(e->slots, (e->nslots + 1) * sizeof *s);
                if (!s) {
                    ipf_form_free(f);
                    free(tpl);
                    st = IPF_ERR_NOMEM;
                    break;
                }
                e->slots = s;
                memset(&e->slots[e->nslots], 0, sizeof *s);
                e->slots[e->nslots++].form = f;
            } else if (fs == IPF_ERR_NOMEM) {
                st = fs;
            } else {
                char **b = realloc(e->broken, (e->nbroken + 1) * sizeof *b);
                if (b)
                    e->broken = b;
                if (!b || !(b[e->nbroken] = strdup(de->d_name))) {
                    free(tpl);
                    st = IPF_ERR_NOMEM;
                    break;
                }
                e->nbroken++;
            }
            /* A broken template is reported and skipped: the other forms work. */
        }
        free(tpl);
    }
    closedir(dh);
    if (st != IPF_OK) {
        ipf_engine_free(e);
        return st;
    }
    if (e->nslots > 1)
        qsort(e->slots, e->nslots, sizeof *e->slots, by_id);
    /* Two forms with one id and edition: which one a data file meant cannot
     * be known, so neither is used. */
    size_t kept = 0;
    for (size_t i = 0; i < e->nslots; i++) {
        size_t j = i;
        while (j + 1 < e->nslots && same_form(e->slots[j + 1].form, e->slots[i].form))
            j++;
        if (j == i) {
            e->slots[kept++] = e->slots[i];
            continue;
        }
        for (size_t k = i + 1; k <= j; k++)
            ipf_diag_add(
                d, ipf_form_path(e->slots[k].form), 0, IPF_SEV_ERROR, "TEMPLATE-DUPLICATE",
                "表单编号“%s”%s%s与 %s 重复，两者都不能使用", ipf_form_id(e->slots[k].form),
                *ipf_form_edition(e->slots[k].form) ? "（版本 " : "",
                *ipf_form_edition(e->slots[k].form) ? ipf_form_edition(e->slots[k].form) : "",
                ipf_form_path(e->slots[i].form));
        char **b = realloc(e->broken, (e->nbroken + 1) * sizeof *b);
        if (b)
            e->broken = b;
        if (b && (b[e->nbroken] = strdup(ipf_form_id(e->slots[i].form))) != NULL)
            e->nbroken++;
        else
            st = IPF_ERR_NOMEM;
        for (size_t k = i; k <= j; k++)
            ipf_form_free(e->slots[k].form);
        i = j;
    }
    e->nslots = kept;
    if (st != IPF_OK) {
        ipf_engine_free(e);
        return st;
    }
    *out = e;
    return IPF_OK;
}

void ipf_engine_free(ipf_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nslots; i++) {
        form_slot *s = &e->slots[i];
        ipf_pdf_writer_free(s->writer);
        ipf_fontset_free(s->fonts);
        ipf_ruleset_free(s->rules);
        ipf_schema_free(s->schema);
        ipf_form_free(s->form);
    }
    free(e->slots);
    for (size_t i = 0; i < e->nbroken; i++)
        free(e->broken[i]);
    free(e->broken);
    ipf_layout_free(e->layout);
    free(e->templates_dir);
    free(e);
}

size_t ipf_engine_form_count(const ipf_engine *e)
{
    return e->nslots;
}

const ipf_form *ipf_engine_form(const ipf_engine *e, size_t i)
{
    return i < e->nslots ? e->slots[i].form : NULL;
}

/* The form with this id: of its editions the newest (slots are sorted by
 * id, then edition). */
static form_slot *find_slot(const ipf_engine *e, const char *id)
{
    form_slot *found = NULL;
    for (size_t i = 0; i < e->nslots; i++)
        if (strcmp(ipf_form_id(e->slots[i].form), id) == 0)
            found = &e->slots[i];
    return found;
}

const ipf_form *ipf_engine_find_form(const ipf_engine *e, const char *id)
{
    form_slot *s = find_slot(e, id);
    return s ? s->form : NULL;
}

/* A font named by a template is looked for beside the template, in the
 * fonts directory next to the templates directory, in $IPFORMS_FONTS and in
 * the fonts/ directory ipforms was built with. */
static char *resolve_font(const ipf_engine *e, const char *tp, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    const char *slash = strrchr(tp, '/');
    char *tdir = slash ? strndup(tp, (size_t)(slash - tp)) : strdup(".");
    char *cands[4] = {0};
    cands[0] = tdir ? path_join(tdir, name) : NULL;
    char *up = path_join(e->templates_dir, "../fonts");
    cands[1] = up ? path_join(up, name) : NULL;
    free(up);
    const char *env = getenv("IPFORMS_FONTS");
    cands[2] = env && *env ? path_join(env, name) : NULL;
    cands[3] = path_join(IPF_FONTS_DIR, name);
    free(tdir);
    char *found = NULL;
    for (int i = 0; i < 4; i++) {
        if (!found && cands[i] && access(cands[i], R_OK) == 0)
            found = cands[i];
        else
            free(cands[i]);
    }
    return found;
}

static ipf_status load_slot(ipf_engine *e, form_slot *s, ipf_diags *d)
{
    if (s->loaded)
        return s->failed ? IPF_ERR_TEMPLATE : IPF_OK;
    s->loaded = 1;
    s->failed = 1;
    const ipf_form *f = s->form;
    ipf_status st;
    if (ipf_form_schema_path(f)) {
        st = ipf_schema_load(ipf_form_schema_path(f), d, &s->schema);
        if (st != IPF_OK)
            return st;
    }
    if (ipf_form_rules_path(f)) {
        st = ipf_ruleset_load_for(ipf_form_rules_path(f), ipf_form_rules_form(f), d, &s->rules);
        if (st != IPF_OK)
            return st;
    }
    st = ipf_form_bind_rules(s->form, s->rules, d); /* settings visible; checked once */
    if (st != IPF_OK)
        return st;
    const char *paths[MAX_FONTS];
    char *owned[MAX_FONTS];
    size_t n = 0, nowned = 0;
    for (size_t i = 0; i < e->opt.nfonts && n < MAX_FONTS; i++)
        paths[n++] = e->opt.fonts[i];
    st = IPF_OK;
    for (size_t i = 0; i < ipf_form_font_count(f) && n < MAX_FONTS; i++) {
        const char *name = ipf_form_font_name(f, i);
        char *p = resolve_font(e, ipf_form_font_file(f, i), name);
        if (!p) {
            ipf_diag_add(d, ipf_form_font_file(f, i), ipf_form_font_line(f, i), IPF_SEV_ERROR,
                         "FONT-NOT-FOUND",
                         "找不到模板指定的字体文件“%s”（已在模板目录、fonts/ 和 $IPFORMS_FONTS "
                         "中查找）",
                         name);
            st = IPF_ERR_FONT;
            continue;
        }
        owned[nowned++] = p;
        paths[n++] = p;
    }
    if (st == IPF_OK && n == 0) {
        ipf_diag_add(d, ipf_form_path(f), 0, IPF_SEV_ERROR, "FONT-NOT-FOUND",
                     "模板没有指定字体，也没有用 --font 指定");
        st = IPF_ERR_FONT;
    }
    if (st == IPF_OK)
        st = ipf_fontset_open(paths, n, d, &s->fonts);
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    if (st == IPF_OK)
        st = ipf_pdf_writer_new(s->fonts, d, &s->writer);
    if (st == IPF_OK)
        s->failed = 0;
    return st;
}

/* Which form a data file is for: its root's form="" attribute. */
static ipf_status form_of(ipf_engine *e, xmlDocPtr doc, const char *path, ipf_diags *d,
                          form_slot **out)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlChar *id = xmlGetNoNsProp(root, (const xmlChar *)"form");
    if (!id) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-FORM",
                     "根元素 <%s> 缺少 form 属性，无法确定表单种类（可用 ipforms forms 查看）",
                     (const char *)root->name);
        return IPF_INVALID;
    }
    form_slot *s = find_slot(e, (const char *)id);
    for (size_t i = 0; !s && i < e->nbroken; i++)
        if (strcmp(e->broken[i], (const char *)id) == 0) {
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-BROKEN",
                         "表单“%s”的模板有错误（见上），无法检查或生成这份数据；请先修正模板",
                         (const char *)id);
            xmlFree(id);
            return IPF_ERR_TEMPLATE;
        }
    if (!s) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-FORM",
                     "未知的表单“%s”（可用 ipforms forms 查看已有的表单）", (const char *)id);
        xmlFree(id);
        return IPF_INVALID;
    }
    /* The edition: data names the edition of the printed form it was
     * written for.  Without one, the form must be held in one edition only,
     * so a new edition never silently takes over old files. */
    xmlChar *ed = xmlGetNoNsProp(root, (const xmlChar *)"edition");
    size_t held = 0;
    form_slot *match = NULL;
    char editions[256] = "";
    for (size_t i = 0; i < e->nslots; i++) {
        const ipf_form *f = e->slots[i].form;
        if (strcmp(ipf_form_id(f), (const char *)id) != 0)
            continue;
        const char *fe = ipf_form_edition(f);
        if (ed ? strcmp(fe, (const char *)ed) == 0 : held == 0)
            match = &e->slots[i];
        size_t at = strlen(editions);
        snprintf(editions + at, sizeof editions - at, "%s“%s”", held ? "、" : "",
                 *fe ? fe : "（未注明）");
        held++;
    }
    if (!match || (!ed && held > 1)) {
        if (ed)
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-EDITION",
                         "表单“%s”没有“%s”版本（edition=\"%s\"）；现有版本：%s", (const char *)id,
                         (const char *)ed, (const char *)ed, editions);
        else
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-EDITION",
                         "根元素未注明表单“%s”的版本（edition 属性），而该表单有多个版本：%s",
                         (const char *)id, editions);
        xmlFree(ed);
        xmlFree(id);
        return IPF_INVALID;
    }
    xmlFree(ed);
    xmlFree(id);
    *out = match;
    return load_slot(e, match, d);
}

static ipf_status read_and_check(ipf_engine *e, const char *path, ipf_diags *d, xmlDocPtr *doc,
                                 form_slot **slot)
{
    *doc = NULL;
    /* A kind of document may need more nodes than the default (a list of
     * 10,000 outlets); its trusted template says so: <data max-nodes>.  The
     * file is read with the default limit first; only when that limit alone
     * refused it, and a form allows more, is it read again with the larger
     * limit, and kept if its own form allows its size.  Otherwise the first
     * reading's diagnostics (with the line where the limit was crossed) stand. */
    size_t most = IPF_XML_NODES_CEILING;
    ipf_diags *first = ipf_diags_new();
    if (!first)
        return IPF_ERR_NOMEM;
    ipf_status st = ipf_xml_read_file(path, NULL, first, doc);
    int over = st == IPF_INVALID && ipf_diags_count(first) == 1 &&
               strcmp(ipf_diags_get(first, 0)->code, "XML-TOO-MANY-NODES") == 0;
    if (over) {
        /* Which form: read once more within the ceiling, only for its form="". */
        ipf_xml_limits lim = {0};
        lim.max_nodes = most;
        ipf_diags *scratch = ipf_diags_new();
        xmlDocPtr peek = NULL;
        form_slot *s = NULL;
        if (scratch && ipf_xml_read_file(path, &lim, scratch, &peek) == IPF_OK) {
            xmlChar *id = xmlGetNoNsProp(xmlDocGetRootElement(peek), (const xmlChar *)"form");
            s = id ? find_slot(e, (const char *)id) : NULL;
            xmlFree(id);
        }
        xmlFreeDoc(peek);
        ipf_diags_free(scratch);
        size_t own = s ? ipf_engine_max_nodes(s->form) : 0;
        if (own > 100000) {
            /* Its form's own limit decides, with the reader's exact message. */
            ipf_diags_clear(first);
            lim.max_nodes = own;
            st = ipf_xml_read_file(path, &lim, first, doc);
        }
    }
    for (size_t i = 0; st != IPF_OK && i < ipf_diags_count(first); i++) {
        const ipf_diag *g = ipf_diags_get(first, i);
        ipf_diag_add(d, g->file, g->line, g->severity, g->code, "%s", g->message);
    }
    ipf_diags_free(first);
    if (st != IPF_OK)
        return st;
    st = form_of(e, *doc, path, d, slot);
    if (st != IPF_OK)
        return st;
    form_slot *s = *slot;
    return ipf_validate_document(s->form, s->schema, s->rules, s->fonts, *doc, path, d);
}

ipf_status ipf_engine_validate(ipf_engine *e, const char *path, ipf_diags *d)
{
    xmlDocPtr doc;
    form_slot *slot = NULL;
    ipf_status st = read_and_check(e, path, d, &doc, &slot);
    xmlFreeDoc(doc);
    return st;
}

static ipf_pdf_options pdf_options(const ipf_engine *e)
{
    ipf_pdf_options o;
    o.date = e->opt.date;
    o.pdfa = e->opt.pdfa;
    return o;
}

static ipf_status lay_out(ipf_engine *e, form_slot *s, xmlDocPtr doc, const char *path,
                          ipf_drawing **out, ipf_diags *d)
{
    *out = ipf_drawing_new();
    if (!*out)
        return IPF_ERR_NOMEM;
    ipf_status st = ipf_layout_document(e->layout, s->form, s->fonts, doc, path, *out, d);
    if (st != IPF_OK) {
        ipf_drawing_free(*out);
        *out = NULL;
    }
    return st;
}

/* Shared by file and memory output: the document is only typeset when it is
 * valid, or when the clerk forces it (to see a draft despite errors). */
static ipf_status prepare(ipf_engine *e, const char *path, ipf_diags *d, ipf_drawing **dr,
                          form_slot **slot)
{
    xmlDocPtr doc;
    *dr = NULL;
    ipf_status st = read_and_check(e, path, d, &doc, slot);
    if (st == IPF_INVALID && e->opt.force && doc && *slot && (*slot)->fonts)
        st = IPF_OK;
    if (st == IPF_OK)
        st = lay_out(e, *slot, doc, path, dr, d);
    xmlFreeDoc(doc);
    return st;
}

ipf_status ipf_engine_render(ipf_engine *e, const char *path, const char *out_path, ipf_diags *d)
{
    ipf_drawing *dr;
    form_slot *s = NULL;
    size_t errors = ipf_diags_errors(d);
    ipf_status st = prepare(e, path, d, &dr, &s);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file(s->writer, dr, &o, out_path, d);
        if (st == IPF_OK && ipf_diags_errors(d) > errors)
            st = IPF_INVALID; /* forced: written, but the data is still invalid */
    }
    ipf_drawing_free(dr);
    return st;
}

ipf_status ipf_engine_render_memory(ipf_engine *e, const char *path, unsigned char **pdf,
                                    size_t *len, ipf_diags *d)
{
    ipf_drawing *dr;
    form_slot *s = NULL;
    *pdf = NULL;
    *len = 0;
    ipf_status st = prepare(e, path, d, &dr, &s);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_memory(s->writer, dr, &o, pdf, len, d);
    }
    ipf_drawing_free(dr);
    return st;
}

/* The form named on the command line (blank, init).  A form whose template
 * failed to load is not "unknown": the template's own errors are above. */
static form_slot *named_form(ipf_engine *e, const char *form_id, ipf_diags *d)
{
    form_slot *s = find_slot(e, form_id);
    if (s)
        return s;
    for (size_t i = 0; i < e->nbroken; i++)
        if (strcmp(e->broken[i], form_id) == 0) {
            ipf_diag_add(d, form_id, 0, IPF_SEV_ERROR, "TEMPLATE-BROKEN",
                         "表单“%s”的模板有错误（见上），请先修正模板", form_id);
            return NULL;
        }
    ipf_diag_add(d, form_id, 0, IPF_SEV_ERROR, "FORM-UNKNOWN",
                 "没有名为“%s”的表单（可用 ipforms forms 查看）", form_id);
    return NULL;
}

static ipf_status need_form(ipf_engine *e, const char *form_id, ipf_diags *d, form_slot **out)
{
    form_slot *s = named_form(e, form_id, d);
    if (!s)
        return IPF_ERR_USAGE;
    *out = s;
    return load_slot(e, s, d);
}

ipf_status ipf_engine_render_blank(ipf_engine *e, const char *form_id, const char *out_path,
                                   ipf_diags *d)
{
    form_slot *s;
    ipf_status st = need_form(e, form_id, d, &s);
    if (st != IPF_OK)
        return st;
    ipf_drawing *dr;
    st = lay_out(e, s, NULL, form_id, &dr, d);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file(s->writer, dr, &o, out_path, d);
    }
    ipf_drawing_free(dr);
    return st;
}

ipf_status ipf_engine_skeleton(ipf_engine *e, const char *form_id, FILE *out, ipf_diags *d)
{
    form_slot *s;
    ipf_status st = need_form(e, form_id, d, &s);
    if (st != IPF_OK)
        return st;
    /* Generated from the schema and the rule settings (skeleton.h). */
    ipf_skeleton_form sf = {ipf_form_id(s->form), ipf_form_edition(s->form),
                            ipf_form_title(s->form), ipf_form_data_root(s->form),
                            ipf_form_data_namespace(s->form)};
    return ipf_skeleton_write(s->schema, s->rules, &sf, out, d);
}

/* ---------------------------------------------------------------- documents
 * made from many (collect.c): built in memory, then the normal path. */

ipf_status ipf_engine_render_doc(ipf_engine *e, xmlDocPtr doc, const char *name,
                                 const char *out_path, ipf_diags *d)
{
    form_slot *s = NULL;
    ipf_status st = form_of(e, doc, name, d, &s);
    if (st != IPF_OK)
        return st;
    size_t errors = ipf_diags_errors(d);
    st = ipf_validate_document(s->form, s->schema, s->rules, s->fonts, doc, name, d);
    if (st == IPF_INVALID && e->opt.force)
        st = IPF_OK;
    if (st != IPF_OK || !out_path)
        return st;
    ipf_drawing *dr;
    st = lay_out(e, s, doc, name, &dr, d);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file(s->writer, dr, &o, out_path, d);
        if (st == IPF_OK && ipf_diags_errors(d) > errors)
            st = IPF_INVALID;
    }
    ipf_drawing_free(dr);
    return st;
}

const char *ipf_engine_setting(ipf_engine *e, const char *form_id, const char *name, ipf_diags *d)
{
    form_slot *s = find_slot(e, form_id);
    if (!s || load_slot(e, s, d) != IPF_OK || !s->rules)
        return NULL;
    return ipf_ruleset_setting(s->rules, name);
}
