/* engine.c: the catalogue of forms and the per-document pipeline
 * read → validate → lay out → write. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "ipforms.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlreader.h>

#include "collect.h"
#include "drawing.h"
#include "fontset.h"
#include "hpdf_memcpy.h"
#include "layout.h"
#include "naming.h"
#include "path.h"
#include "pdf.h"
#include "rules.h"
#include "schema.h"
#include "skeleton.h"
#include "tplcheck.h"
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

/* The catalogue: what every document may share, read-only once loaded.
 * Nothing is read before a document (or a command) needs it: a form's
 * template is parsed when data names that form, its schema, rules and fonts
 * when the first document of it is checked.  Files shared by several forms
 * (a common schema, the same fonts) are loaded once, keyed by their real
 * path.  After fork() the loaded parts are shared copy-on-write. */

typedef struct cached_schema {
    char *key;
    ipf_schema *schema;
} cached_schema;
typedef struct cached_rules {
    char *key;
    ipf_ruleset *rules;
} cached_rules;
typedef struct cached_fonts {
    char *key; /* the font paths, in order, separated by newlines */
    ipf_fontset *fonts;
    ipf_pdf_writer *writer; /* per-document scratch: see below */
} cached_fonts;

/* What a form needs at run time, loaded on first use and kept.  The
 * schema, rules and fonts point into the catalogue's caches. */
typedef struct form_slot {
    ipf_form *form;
    char *dir_name; /* the directory under templates/ */
    int loaded, failed;
    const ipf_schema *schema;
    const ipf_ruleset *rules;
    cached_fonts *fonts;
} form_slot;

typedef struct catalogue {
    char *templates_dir;
    form_slot **slots; /* sorted by id once scanned */
    size_t nslots;
    int scanned; /* every directory has been looked at */
    int empty;   /* ... and none holds a form (said once): the setup is wrong */
    int nomem;   /* a template could not be read for lack of memory (said where it
                    failed): the catalogue is incomplete, so nothing is looked up */
    /* Directories whose template.xml failed to load (already reported):
     * data naming such a form is a template problem, not bad data. */
    char **broken;
    size_t nbroken;
    cached_schema *schemas;
    size_t nschemas;
    cached_rules *rules;
    size_t nrules;
    cached_fonts **fonts;
    size_t nfonts;
} catalogue;

/* The engine is the catalogue plus one document's working state: the
 * layout engine's buffers and the PDF writers' scratch (kept with each
 * fontset, reused from one document to the next).  One engine serves one
 * thread; batch workers are processes, each with its own copy. */
struct ipf_engine {
    ipf_engine_options opt;
    catalogue cat;
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

/* By id, then edition (oldest first), then path: a stable order for
 * `forms` and for the duplicate check. */
static int by_id(const void *a, const void *b)
{
    const form_slot *x = *(form_slot *const *)a, *y = *(form_slot *const *)b;
    int c = strcmp(ipf_form_id(x->form), ipf_form_id(y->form));
    if (c)
        return c;
    c = strcmp(ipf_form_edition(x->form), ipf_form_edition(y->form));
    return c ? c : strcmp(ipf_form_path(x->form), ipf_form_path(y->form));
}

static int same_form(const ipf_form *a, const ipf_form *b)
{
    return strcmp(ipf_form_id(a), ipf_form_id(b)) == 0 &&
           strcmp(ipf_form_edition(a), ipf_form_edition(b)) == 0;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

ipf_status ipf_engine_new(const ipf_engine_options *opt, ipf_diags *d, ipf_engine **out)
{
    *out = NULL;
    pthread_once(&xml_once, ipf_xml_init);
    ipf_hpdf_memcpy_link();
    ipf_engine *e = calloc(1, sizeof *e);
    if (!e)
        return IPF_ERR_NOMEM;
    e->opt = *opt;
    const char *dir = opt->templates_dir;
    if (!dir)
        dir = getenv("IPFORMS_TEMPLATES");
    if (!dir || !*dir)
        dir = IPF_TEMPLATES_DIR;
    e->cat.templates_dir = strdup(dir);
    if (!e->cat.templates_dir || ipf_layout_new(&e->layout) != IPF_OK) {
        ipf_engine_free(e);
        return IPF_ERR_NOMEM;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ipf_diag_add(d, dir, 0, IPF_SEV_ERROR, "TEMPLATE-DIR", "找不到模板目录（%s）",
                     stat(dir, &sb) != 0 ? strerror(errno) : strerror(ENOTDIR));
        ipf_engine_free(e);
        return IPF_ERR_TEMPLATE;
    }
    *out = e;
    return IPF_OK;
}

void ipf_engine_free(ipf_engine *e)
{
    if (!e)
        return;
    catalogue *c = &e->cat;
    for (size_t i = 0; i < c->nslots; i++) {
        ipf_form_free(c->slots[i]->form);
        free(c->slots[i]->dir_name);
        free(c->slots[i]);
    }
    free(c->slots);
    for (size_t i = 0; i < c->nschemas; i++) {
        ipf_schema_free(c->schemas[i].schema);
        free(c->schemas[i].key);
    }
    free(c->schemas);
    for (size_t i = 0; i < c->nrules; i++) {
        ipf_ruleset_free(c->rules[i].rules);
        free(c->rules[i].key);
    }
    free(c->rules);
    for (size_t i = 0; i < c->nfonts; i++) {
        ipf_pdf_writer_free(c->fonts[i]->writer);
        ipf_fontset_free(c->fonts[i]->fonts);
        free(c->fonts[i]->key);
        free(c->fonts[i]);
    }
    free(c->fonts);
    for (size_t i = 0; i < c->nbroken; i++)
        free(c->broken[i]);
    free(c->broken);
    ipf_layout_free(e->layout);
    free(c->templates_dir);
    free(e);
}

static int is_broken(const catalogue *c, const char *name)
{
    for (size_t i = 0; i < c->nbroken; i++)
        if (strcmp(c->broken[i], name) == 0)
            return 1;
    return 0;
}

static form_slot *slot_by_dir(const catalogue *c, const char *name)
{
    for (size_t i = 0; i < c->nslots; i++)
        if (strcmp(c->slots[i]->dir_name, name) == 0)
            return c->slots[i];
    return NULL;
}

/* Loads templates/<name>/template.xml into the catalogue, once.  A broken
 * template is reported and remembered: the other forms still work.
 * Returns IPF_OK also when there is no such template. */
static ipf_status load_dir(catalogue *c, const char *name, ipf_diags *d)
{
    if (name[0] == '.' || strchr(name, '/') || slot_by_dir(c, name) || is_broken(c, name))
        return IPF_OK;
    char *sub = path_join(c->templates_dir, name);
    char *tpl = sub ? path_join(sub, "template.xml") : NULL;
    free(sub);
    if (!tpl)
        return IPF_ERR_NOMEM;
    ipf_status st = IPF_OK;
    if (access(tpl, F_OK) == 0) {
        ipf_form *f = NULL;
        ipf_status fs = ipf_form_load(tpl, d, &f);
        if (fs == IPF_OK && ipf_form_is_abstract(f)) {
            ipf_form_free(f); /* a base for other forms, not a form */
        } else if (fs == IPF_OK) {
            form_slot **v = realloc(c->slots, (c->nslots + 1) * sizeof *v);
            form_slot *s = v ? calloc(1, sizeof *s) : NULL;
            if (v)
                c->slots = v;
            if (s)
                s->dir_name = strdup(name);
            if (!s || !s->dir_name) {
                free(s);
                ipf_form_free(f);
                st = IPF_ERR_NOMEM;
            } else {
                s->form = f;
                c->slots[c->nslots++] = s;
            }
        } else if (fs == IPF_ERR_NOMEM) {
            st = fs;
        } else {
            char **b = realloc(c->broken, (c->nbroken + 1) * sizeof *b);
            if (b)
                c->broken = b;
            if (!b || !(b[c->nbroken] = strdup(name)))
                st = IPF_ERR_NOMEM;
            else
                c->nbroken++;
        }
    }
    free(tpl);
    return st;
}

/* Every form, for `forms` and for ids that are not their directory's name. */
static ipf_status no_forms(catalogue *c, ipf_diags *d)
{
    if (c->empty++ == 0) /* once: it is the setup, not each file */
        ipf_diag_add(d, c->templates_dir, 0, IPF_SEV_ERROR, "TEMPLATE-DIR",
                     "模板目录中没有任何表单（没有“表单名/template.xml”）：请检查 --templates 或 "
                     "IPFORMS_TEMPLATES 是否指向 ipforms 的 templates 目录");
    return IPF_ERR_TEMPLATE;
}

static ipf_status scan_all(catalogue *c, ipf_diags *d)
{
    if (c->nomem)
        return IPF_ERR_NOMEM;
    if (c->scanned)
        return c->empty ? no_forms(c, d) : IPF_OK;
    c->scanned = 1;
    DIR *dh = opendir(c->templates_dir);
    if (!dh) {
        ipf_diag_add(d, c->templates_dir, 0, IPF_SEV_ERROR, "TEMPLATE-DIR", "找不到模板目录（%s）",
                     strerror(errno));
        return IPF_ERR_TEMPLATE;
    }
    /* Read in name order, so diagnostics come in the same order everywhere. */
    char **names = NULL;
    size_t n = 0;
    ipf_status st = IPF_OK;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char **v = realloc(names, (n + 1) * sizeof *v);
        if (!v || !(v[n] = strdup(de->d_name))) {
            names = v ? v : names;
            st = IPF_ERR_NOMEM;
            break;
        }
        names = v;
        n++;
    }
    closedir(dh);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (st == IPF_OK)
            st = load_dir(c, names[i], d);
        free(names[i]);
    }
    free(names);
    if (st == IPF_ERR_NOMEM)
        c->nomem = 1;
    if (st != IPF_OK)
        return st;
    if (c->nslots == 0 && c->nbroken == 0) /* not the data's fault: no form at all */
        return no_forms(c, d);
    if (c->nslots > 1)
        qsort(c->slots, c->nslots, sizeof *c->slots, by_id);
    /* Two forms with one id and edition: which one a data file meant cannot
     * be known, so neither is used.  (A document naming a form by its
     * directory's name is served without a scan, so a stray copy elsewhere
     * is found by `ipforms forms` and by documents that need the scan.) */
    size_t kept = 0;
    for (size_t i = 0; i < c->nslots; i++) {
        size_t j = i;
        while (j + 1 < c->nslots && same_form(c->slots[j + 1]->form, c->slots[i]->form))
            j++;
        if (j == i) {
            c->slots[kept++] = c->slots[i];
            continue;
        }
        for (size_t k = i + 1; k <= j; k++) {
            const ipf_form *f = c->slots[k]->form;
            ipf_diag_add(d, ipf_form_path(f), 0, IPF_SEV_ERROR, "TEMPLATE-DUPLICATE",
                         "表单编号“%s”%s%s%s与 %s 重复，两者都不能使用", ipf_form_id(f),
                         *ipf_form_edition(f) ? "（版本 " : "", ipf_form_edition(f),
                         *ipf_form_edition(f) ? "）" : "", ipf_form_path(c->slots[i]->form));
        }
        char **b = realloc(c->broken, (c->nbroken + 1) * sizeof *b);
        if (b)
            c->broken = b;
        if (b && (b[c->nbroken] = strdup(ipf_form_id(c->slots[i]->form))) != NULL)
            c->nbroken++;
        else
            st = IPF_ERR_NOMEM;
        for (size_t k = i; k <= j; k++) {
            ipf_form_free(c->slots[k]->form);
            free(c->slots[k]->dir_name);
            free(c->slots[k]);
        }
        i = j;
    }
    c->nslots = kept;
    return st;
}

ipf_status ipf_engine_load_all(ipf_engine *e, ipf_diags *d)
{
    return scan_all(&e->cat, d);
}

size_t ipf_engine_form_count(const ipf_engine *e)
{
    return e->cat.nslots;
}

const ipf_form *ipf_engine_form(const ipf_engine *e, size_t i)
{
    return i < e->cat.nslots ? e->cat.slots[i]->form : NULL;
}

/* Whether another directory's template.xml also says it is form id in
 * edition ed.  Only its root element is read (the template is trusted;
 * no network, no DTD), so looking costs a few microseconds per form and a
 * lazily loaded form is still refused when it has a namesake. */
static int namesake_elsewhere(const catalogue *c, const char *dir_name, const char *id,
                              const char *ed)
{
    DIR *dh = opendir(c->templates_dir);
    if (!dh)
        return 0;
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, dir_name) == 0)
            continue;
        char *sub = path_join(c->templates_dir, de->d_name);
        char *tpl = sub ? path_join(sub, "template.xml") : NULL;
        free(sub);
        xmlTextReaderPtr r =
            tpl && access(tpl, R_OK) == 0 ? xmlReaderForFile(tpl, NULL, XML_PARSE_NONET) : NULL;
        while (r && xmlTextReaderRead(r) == 1) {
            if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
                continue;
            xmlChar *fid = xmlTextReaderGetAttribute(r, (const xmlChar *)"id");
            xmlChar *fed = xmlTextReaderGetAttribute(r, (const xmlChar *)"edition");
            xmlChar *abs = xmlTextReaderGetAttribute(r, (const xmlChar *)"abstract");
            found = fid && strcmp((const char *)fid, id) == 0 &&
                    strcmp(fed ? (const char *)fed : "", ed) == 0 &&
                    !(abs && strcmp((const char *)abs, "true") == 0);
            xmlFree(fid);
            xmlFree(fed);
            xmlFree(abs);
            break;
        }
        if (r)
            xmlFreeTextReader(r);
        free(tpl);
    }
    closedir(dh);
    return found;
}

/* A loaded form with this id and edition (NULL: the newest edition
 * loaded, slots of one id being in edition order once scanned). */
static form_slot *loaded_slot(const catalogue *c, const char *id, const char *edition)
{
    form_slot *found = NULL;
    for (size_t i = 0; i < c->nslots; i++)
        if (strcmp(ipf_form_id(c->slots[i]->form), id) == 0 &&
            (!edition || strcmp(ipf_form_edition(c->slots[i]->form), edition) == 0))
            found = c->slots[i];
    return found;
}

/* The form with this id and edition: its own directory first (the
 * convention: templates/<id>/), then, failing that, every directory. */
static form_slot *find_slot(ipf_engine *e, const char *id, const char *edition, ipf_diags *d)
{
    catalogue *c = &e->cat;
    form_slot *s = loaded_slot(c, id, edition);
    if (s || c->scanned || c->nomem)
        return s;
    ipf_status st = load_dir(c, id, d);
    if (st == IPF_ERR_NOMEM)
        c->nomem = 1;
    if (st != IPF_OK)
        return NULL;
    s = loaded_slot(c, id, edition);
    /* A namesake in another directory makes both unusable: the full scan
     * finds and reports it. */
    if (s && namesake_elsewhere(c, s->dir_name, id, ipf_form_edition(s->form)))
        s = NULL;
    if (!s && scan_all(c, d) == IPF_OK)
        s = loaded_slot(c, id, edition);
    return s;
}

const ipf_form *ipf_engine_find_form(ipf_engine *e, const char *id, ipf_diags *d)
{
    form_slot *s = find_slot(e, id, NULL, d);
    return s ? s->form : NULL;
}

/* A font named by a template is looked for beside the template, in the
 * fonts directory next to the templates directory, in $IPFORMS_FONTS and in
 * the fonts/ directory ipforms was built with. */
static char *resolve_font(const ipf_engine *e, const char *tp, const char *name)
{
    if (name[0] == '/')
        return strdup(name);
    char *cands[4] = {0};
    cands[0] = ipf_path_beside(tp, name);
    char *up = path_join(e->cat.templates_dir, "../fonts");
    cands[1] = up ? path_join(up, name) : NULL;
    free(up);
    const char *env = getenv("IPFORMS_FONTS");
    cands[2] = env && *env ? path_join(env, name) : NULL;
    cands[3] = path_join(IPF_FONTS_DIR, name);
    char *found = NULL;
    for (int i = 0; i < 4; i++) {
        if (!found && cands[i] && access(cands[i], R_OK) == 0)
            found = cands[i];
        else
            free(cands[i]);
    }
    return found;
}

static char *cache_key(const char *path)
{
    char *real = realpath(path, NULL);
    return real ? real : strdup(path);
}

static ipf_status shared_schema(catalogue *c, const char *path, ipf_diags *d,
                                const ipf_schema **out)
{
    char *key = cache_key(path);
    if (!key)
        return IPF_ERR_NOMEM;
    for (size_t i = 0; i < c->nschemas; i++)
        if (strcmp(c->schemas[i].key, key) == 0) {
            free(key);
            *out = c->schemas[i].schema;
            return IPF_OK;
        }
    cached_schema *v = realloc(c->schemas, (c->nschemas + 1) * sizeof *v);
    if (!v) {
        free(key);
        return IPF_ERR_NOMEM;
    }
    c->schemas = v;
    ipf_schema *sc = NULL;
    ipf_status st = ipf_schema_load(path, d, &sc);
    if (st != IPF_OK) {
        free(key);
        return st;
    }
    v[c->nschemas].key = key;
    v[c->nschemas++].schema = sc;
    *out = sc;
    return IPF_OK;
}

/* form_id: the form the rule file must say it is for (rules form=). */
static ipf_status shared_rules(catalogue *c, const char *path, const char *form_id, ipf_diags *d,
                               const ipf_ruleset **out)
{
    char *key = cache_key(path);
    if (!key)
        return IPF_ERR_NOMEM;
    for (size_t i = 0; i < c->nrules; i++)
        if (strcmp(c->rules[i].key, key) == 0) {
            free(key);
            *out = c->rules[i].rules;
            return IPF_OK;
        }
    cached_rules *v = realloc(c->rules, (c->nrules + 1) * sizeof *v);
    if (!v) {
        free(key);
        return IPF_ERR_NOMEM;
    }
    c->rules = v;
    ipf_ruleset *rs = NULL;
    ipf_status st = ipf_ruleset_load_for(path, form_id, d, &rs);
    if (st != IPF_OK) {
        free(key);
        return st;
    }
    v[c->nrules].key = key;
    v[c->nrules++].rules = rs;
    *out = rs;
    return IPF_OK;
}

static ipf_status shared_fonts(catalogue *c, const char *const *paths, size_t n, ipf_diags *d,
                               cached_fonts **out)
{
    size_t len = 1;
    char *keys[MAX_FONTS];
    for (size_t i = 0; i < n; i++) {
        keys[i] = cache_key(paths[i]);
        len += keys[i] ? strlen(keys[i]) + 1 : 0;
    }
    char *key = malloc(len);
    if (key) {
        key[0] = '\0';
        for (size_t i = 0; i < n; i++)
            if (keys[i]) {
                strcat(key, keys[i]);
                strcat(key, "\n");
            }
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    if (!key)
        return IPF_ERR_NOMEM;
    for (size_t i = 0; i < c->nfonts; i++)
        if (strcmp(c->fonts[i]->key, key) == 0) {
            free(key);
            *out = c->fonts[i];
            return IPF_OK;
        }
    cached_fonts **v = realloc(c->fonts, (c->nfonts + 1) * sizeof *v);
    cached_fonts *cf = v ? calloc(1, sizeof *cf) : NULL;
    if (v)
        c->fonts = v;
    if (!cf) {
        free(key);
        return IPF_ERR_NOMEM;
    }
    ipf_status st = ipf_fontset_open(paths, n, d, &cf->fonts);
    if (st == IPF_OK)
        st = ipf_pdf_writer_new(cf->fonts, d, &cf->writer);
    if (st != IPF_OK) {
        ipf_fontset_free(cf->fonts);
        free(cf);
        free(key);
        return st;
    }
    cf->key = key;
    c->fonts[c->nfonts++] = cf;
    *out = cf;
    return IPF_OK;
}

static ipf_status load_slot(ipf_engine *e, form_slot *s, ipf_diags *d)
{
    if (s->loaded)
        return s->failed ? IPF_ERR_TEMPLATE : IPF_OK;
    s->loaded = 1;
    s->failed = 1;
    catalogue *c = &e->cat;
    const ipf_form *f = s->form;
    ipf_status st;
    if (ipf_form_schema_path(f)) {
        st = shared_schema(c, ipf_form_schema_path(f), d, &s->schema);
        if (st != IPF_OK)
            return st;
    }
    if (ipf_form_rules_path(f)) {
        st = shared_rules(c, ipf_form_rules_path(f), ipf_form_rules_form(f), d, &s->rules);
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
        st = shared_fonts(c, paths, n, d, &s->fonts);
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    if (st == IPF_OK) /* a form whose own labels cannot be drawn is unusable */
        st = ipf_tpl_check_labels(f, s->fonts->fonts, d);
    if (st == IPF_OK)
        s->failed = 0;
    return st;
}

/* The form="" and edition="" of a data document's root (each NULL when
 * absent, or when doc has no root): the one place they are read.  Returns
 * the root; the caller xmlFree()s both strings. */
static xmlNodePtr root_names(xmlDocPtr doc, xmlChar **form, xmlChar **edition)
{
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    *form = root ? xmlGetNoNsProp(root, (const xmlChar *)"form") : NULL;
    *edition = root ? xmlGetNoNsProp(root, (const xmlChar *)"edition") : NULL;
    return root;
}

/* The slot of exactly the form and edition doc's root names, when the
 * catalogue has it (no scan, no diagnostics about the data). */
static form_slot *named_slot(ipf_engine *e, xmlDocPtr doc, ipf_diags *d)
{
    xmlChar *id, *ed;
    root_names(doc, &id, &ed);
    form_slot *s = id ? find_slot(e, (const char *)id, (const char *)ed, d) : NULL;
    xmlFree(id);
    xmlFree(ed);
    return s;
}

/* Which form a data file is for: its root's form="" and edition=""
 * attributes.  Data names the edition of the printed form it was written
 * for; without one, the form must be held in one edition only, so that a
 * new edition never silently takes over old files. */
static ipf_status form_of(ipf_engine *e, xmlDocPtr doc, const char *path, ipf_diags *d,
                          form_slot **out)
{
    xmlChar *id, *ed;
    xmlNodePtr root = root_names(doc, &id, &ed);
    if (!id) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-FORM",
                     "根元素 <%s> 缺少 form 属性，无法确定表单种类（可用 ipforms forms 查看）",
                     (const char *)root->name);
        xmlFree(ed);
        return IPF_INVALID;
    }
    catalogue *c = &e->cat;
    form_slot *match = ed ? find_slot(e, (const char *)id, (const char *)ed, d) : NULL;
    ipf_status st = IPF_OK;
    size_t held = 0;
    char editions[256] = "";
    if (!match) {
        /* Every edition of the form is needed, to choose one or to say
         * which there are. */
        st = scan_all(c, d);
        for (size_t i = 0; st == IPF_OK && i < c->nslots; i++) {
            const ipf_form *f = c->slots[i]->form;
            if (strcmp(ipf_form_id(f), (const char *)id) != 0)
                continue;
            const char *fe = ipf_form_edition(f);
            if (ed ? strcmp(fe, (const char *)ed) == 0 : held == 0)
                match = c->slots[i];
            size_t at = strlen(editions);
            snprintf(editions + at, sizeof editions - at, "%s“%s”", held ? "、" : "",
                     *fe ? fe : "（未注明）");
            held++;
        }
    }
    if (st != IPF_OK) {
        /* the scan's own diagnostics say why */
    } else if (held == 0 && !match && is_broken(c, (const char *)id)) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "TEMPLATE-BROKEN",
                     "表单“%s”的模板有错误（见上），无法检查或生成这份数据；请先修正模板",
                     (const char *)id);
        st = IPF_ERR_TEMPLATE;
    } else if (held == 0 && !match) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-FORM",
                     "未知的表单“%s”（可用 ipforms forms 查看已有的表单）", (const char *)id);
        st = IPF_INVALID;
    } else if (!match || (!ed && held > 1)) {
        if (ed)
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-EDITION",
                         "表单“%s”没有“%s”版本（edition=\"%s\"）；现有版本：%s", (const char *)id,
                         (const char *)ed, (const char *)ed, editions);
        else
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "DATA-EDITION",
                         "根元素未注明表单“%s”的版本（edition 属性），而该表单有多个版本：%s",
                         (const char *)id, editions);
        st = IPF_INVALID;
    }
    xmlFree(ed);
    xmlFree(id);
    if (st != IPF_OK)
        return st;
    *out = match;
    return load_slot(e, match, d);
}

static const ipf_fontset *slot_fonts(const form_slot *s)
{
    return s && s->fonts ? s->fonts->fonts : NULL;
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
        if (scratch && ipf_xml_read_file(path, &lim, scratch, &peek) == IPF_OK)
            s = named_slot(e, peek, d);
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
    /* A list document is looked up as ipforms list would (collect.h). */
    st = ipf_collect_annotate(e, s->form, *doc, path, d);
    if (st != IPF_OK)
        return st;
    return ipf_validate_document(s->form, s->schema, s->rules, slot_fonts(s), *doc, path, d);
}

ipf_status ipf_engine_validate(ipf_engine *e, const char *path, ipf_diags *d)
{
    xmlDocPtr doc;
    form_slot *slot = NULL;
    ipf_status st = read_and_check(e, path, d, &doc, &slot);
    xmlFreeDoc(doc);
    return st;
}

ipf_status ipf_engine_prepare(ipf_engine *e, const char *path, ipf_diags *d)
{
    /* Problems with the data itself are the document's, reported when it is
     * checked; only the catalogue's go to d. */
    ipf_diags *quiet = ipf_diags_new();
    xmlDocPtr doc = NULL;
    ipf_status st = quiet ? ipf_xml_read_file(path, NULL, quiet, &doc) : IPF_ERR_NOMEM;
    ipf_diags_free(quiet);
    form_slot *s = st == IPF_OK ? named_slot(e, doc, d) : NULL;
    xmlFreeDoc(doc);
    return s ? load_slot(e, s, d) : st;
}

static ipf_pdf_options pdf_options(const ipf_engine *e)
{
    ipf_pdf_options o;
    memset(&o, 0, sizeof o);
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
    ipf_status st = ipf_layout_document(e->layout, s->form, slot_fonts(s), doc, path, *out, d);
    if (st != IPF_OK) {
        ipf_drawing_free(*out);
        *out = NULL;
    }
    return st;
}

/* Shared by file and memory output: the document is only typeset when it is
 * valid, or when the clerk forces it (to see a draft despite errors).  The
 * parsed data is kept (in *doc) for naming the output from it. */
static ipf_status prepare(ipf_engine *e, const char *path, ipf_diags *d, ipf_drawing **dr,
                          form_slot **slot, xmlDocPtr *doc)
{
    *dr = NULL;
    ipf_status st = read_and_check(e, path, d, doc, slot);
    if (st == IPF_INVALID && e->opt.force && *doc && *slot && slot_fonts(*slot))
        st = IPF_OK;
    if (st == IPF_OK)
        st = lay_out(e, *slot, *doc, path, dr, d);
    return st;
}

ipf_status ipf_engine_render_request(ipf_engine *e, ipf_render_request *rq, ipf_diags *d)
{
    ipf_drawing *dr;
    form_slot *s = NULL;
    xmlDocPtr doc = NULL;
    rq->written = NULL;
    size_t errors = ipf_diags_errors(d);
    ipf_status st = prepare(e, rq->input, d, &dr, &s, &doc);
    char *out = NULL;
    if (st == IPF_OK) {
        if (rq->out_path)
            out = strdup(rq->out_path);
        else
            st = ipf_output_name(s->form, doc, rq->input, rq->out_dir, rq->name_pattern, &out, d);
        if (st == IPF_OK && !out)
            st = IPF_ERR_NOMEM;
    }
    if (st == IPF_OK && rq->claim && rq->claim(rq->claim_ctx, out, d) != 0)
        st = IPF_ERR_IO;
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file_sync(s->fonts->writer, dr, &o, out, !rq->no_sync, d);
        if (st == IPF_OK) {
            rq->written = out;
            out = NULL;
        }
        if (st == IPF_OK && ipf_diags_errors(d) > errors)
            st = IPF_INVALID; /* forced: written, but the data is still invalid */
    }
    free(out);
    xmlFreeDoc(doc);
    ipf_drawing_free(dr);
    return st;
}

ipf_status ipf_engine_render(ipf_engine *e, const char *path, const char *out_path, ipf_diags *d)
{
    ipf_render_request rq;
    memset(&rq, 0, sizeof rq);
    rq.input = path;
    rq.out_path = out_path;
    ipf_status st = ipf_engine_render_request(e, &rq, d);
    free(rq.written);
    return st;
}

ipf_status ipf_engine_render_memory(ipf_engine *e, const char *path, unsigned char **pdf,
                                    size_t *len, ipf_diags *d)
{
    ipf_drawing *dr;
    form_slot *s = NULL;
    xmlDocPtr doc = NULL;
    *pdf = NULL;
    *len = 0;
    ipf_status st = prepare(e, path, d, &dr, &s, &doc);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_memory(s->fonts->writer, dr, &o, pdf, len, d);
    }
    xmlFreeDoc(doc);
    ipf_drawing_free(dr);
    return st;
}

/* The form named on the command line (blank, init).  A form whose template
 * failed to load is not "unknown": the template's own errors are above. */
static form_slot *named_form(ipf_engine *e, const char *form_id, ipf_diags *d)
{
    /* Of a form held in several editions, the newest. */
    if (scan_all(&e->cat, d) != IPF_OK)
        return NULL; /* the scan says why (no template directory, no form in it) */
    form_slot *s = loaded_slot(&e->cat, form_id, NULL);
    if (s)
        return s;
    if (is_broken(&e->cat, form_id)) {
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
        st = ipf_pdf_write_file(s->fonts->writer, dr, &o, out_path, d);
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

/* ------------------------------------------------------------ one print file */

/* Appends src's pages to dst under a top-level outline entry; src's own
 * outline entries go one level down. */
static int append_drawing(ipf_drawing *dst, const ipf_drawing *src, const char *title)
{
    size_t no = 0;
    const ipf_outline_entry *ol = ipf_drawing_outlines(src, &no);
    size_t oi = 0;
    for (size_t p = 0; p < ipf_drawing_page_count(src); p++) {
        double w, h;
        ipf_drawing_page_size(src, p, &w, &h);
        if (ipf_drawing_add_page(dst, w, h) < 0)
            return -1;
        if (p == 0 && ipf_drawing_outline(dst, 0, title, h) != 0)
            return -1;
        ipf_drawing_page_number(dst, ipf_drawing_printed_number(src, p));
        size_t ni = 0;
        const ipf_draw_item *it = ipf_drawing_items(src, p, &ni);
        for (size_t i = 0; i < ni; i++) {
            const ipf_draw_item *x = &it[i];
            int r = 0;
            ipf_drawing_artifact(dst, x->artifact);
            switch (x->kind) {
            case IPF_DRAW_TEXT:
                r = ipf_drawing_text(dst, x->x, x->y, x->font, x->size, x->char_space, x->bold,
                                     x->text, x->len);
                break;
            case IPF_DRAW_LINE:
                r = ipf_drawing_line(dst, x->x, x->y, x->x2, x->y2, x->line_width);
                break;
            case IPF_DRAW_RECT:
                r = ipf_drawing_rect(dst, x->x, x->y, x->x2, x->y2, x->line_width);
                break;
            case IPF_DRAW_CHECKBOX:
                r = ipf_drawing_checkbox(dst, x->x, x->y, x->x2, x->size, x->checked);
                break;
            }
            if (r != 0)
                return -1;
        }
        ipf_drawing_artifact(dst, 0);
        for (; oi < no && ol[oi].page <= p; oi++)
            if (ipf_drawing_outline(dst, ol[oi].level + 1, ol[oi].title, ol[oi].y) != 0)
                return -1;
    }
    return 0;
}

ipf_status ipf_engine_combine(ipf_engine *e, const char *const *inputs, const char *const *titles,
                              size_t n, const char *out_path, ipf_diags *d)
{
    ipf_drawing *all = ipf_drawing_new();
    if (!all)
        return IPF_ERR_NOMEM;
    cached_fonts *fonts = NULL;
    ipf_status st = IPF_OK;
    size_t added = 0;
    for (size_t i = 0; i < n && st == IPF_OK; i++) {
        /* Each document's own diagnostics were reported when it was rendered. */
        ipf_diags *quiet = ipf_diags_new();
        ipf_drawing *dr = NULL;
        form_slot *s = NULL;
        xmlDocPtr doc = NULL;
        ipf_status ds = quiet ? prepare(e, inputs[i], quiet, &dr, &s, &doc) : IPF_ERR_NOMEM;
        ipf_diags_free(quiet);
        xmlFreeDoc(doc);
        if (ds == IPF_ERR_NOMEM) {
            st = ds;
        } else if (ds != IPF_OK) {
            ipf_diag_add(d, inputs[i], 0, IPF_SEV_WARNING, "COMBINE-SKIPPED",
                         "这份文件未能排版，合并文件中没有它");
        } else if (fonts && s->fonts != fonts) {
            ipf_diag_add(
                d, inputs[i], 0, IPF_SEV_WARNING, "COMBINE-FONTS",
                "这份文件的表单所用字体与前面的文件不同，未放入合并文件（请按表单分批合并）");
        } else {
            fonts = s->fonts;
            char *t = ipf_path_stem(titles[i] ? titles[i] : inputs[i], ".pdf");
            if (!t || append_drawing(all, dr, t) != 0)
                st = IPF_ERR_NOMEM;
            free(t);
            added++;
        }
        ipf_drawing_free(dr);
    }
    if (st == IPF_OK && added == 0) {
        ipf_diag_add(d, out_path, 0, IPF_SEV_ERROR, "COMBINE-EMPTY",
                     "没有可以合并的文件，未生成合并文件");
        st = IPF_ERR_USAGE;
    }
    if (st == IPF_OK) {
        char title[64];
        snprintf(title, sizeof title, "合并打印（%zu 份）", added);
        ipf_drawing_set_info(all, "Title", title);
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file(fonts->writer, all, &o, out_path, d);
    } else if (st == IPF_ERR_NOMEM) {
        ipf_diag_add(d, out_path, 0, IPF_SEV_ERROR, "NOMEM", "内存不足，未生成合并文件");
    }
    ipf_drawing_free(all);
    return st;
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
    st = ipf_validate_document(s->form, s->schema, s->rules, slot_fonts(s), doc, name, d);
    if (st == IPF_INVALID && e->opt.force)
        st = IPF_OK;
    if (st != IPF_OK || !out_path)
        return st;
    ipf_drawing *dr;
    st = lay_out(e, s, doc, name, &dr, d);
    if (st == IPF_OK) {
        ipf_pdf_options o = pdf_options(e);
        st = ipf_pdf_write_file(s->fonts->writer, dr, &o, out_path, d);
        if (st == IPF_OK && ipf_diags_errors(d) > errors)
            st = IPF_INVALID;
    }
    ipf_drawing_free(dr);
    return st;
}

const char *ipf_engine_setting(ipf_engine *e, const char *form_id, const char *name, ipf_diags *d)
{
    form_slot *s = find_slot(e, form_id, NULL, d);
    if (!s || load_slot(e, s, d) != IPF_OK || !s->rules)
        return NULL;
    return ipf_ruleset_setting(s->rules, name);
}
