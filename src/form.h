/* form.h: a form template, loaded once and used for any number of documents.
 *
 * A template (templates/<id>/template.xml, schema templates/schema/template.xsd)
 * describes one printed form as data: page geometry, fonts, typography and
 * the line-breaking level, the cover, instruction pages, and tables of
 * sections, rows and cells bound to the data by XPath.  It is read through
 * the same safe XML path as data files, so a hand edit gets file:line
 * diagnostics.  Every XPath in it is compiled once at load.
 *
 * A template may extend another (extends="path"): the loader reads the chain
 * of bases and builds one tree, in which root-level settings of the
 * extending template replace the base's and <replace>/<remove>/<insert>
 * edit the base's named parts (docs/templates.md).  Every element remembers
 * the file it was written in, for diagnostics.
 *
 * The loaded template is read-only once its rules are bound
 * (ipf_form_bind_rules, by the engine when the form is first used). */
#ifndef IPF_FORM_H
#define IPF_FORM_H

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "diag.h"
#include "linebreak.h"

typedef struct ipf_form ipf_form;
typedef struct ipf_ruleset ipf_ruleset;

/* Page geometry in points. */
typedef struct ipf_page_geom {
    double width, height;
    double top, bottom, left, right;
} ipf_page_geom;

/* Loads and checks path.  Errors name the template file and line; status
 * IPF_ERR_TEMPLATE.  Owner: caller, ipf_form_free(). */
ipf_status ipf_form_load(const char *path, ipf_diags *d, ipf_form **out);
void ipf_form_free(ipf_form *f);

const char *ipf_form_id(const ipf_form *f);
const char *ipf_form_title(const ipf_form *f);
const char *ipf_form_kind(const ipf_form *f);         /* filing, summary, ... */
const char *ipf_form_jurisdiction(const ipf_form *f); /* as the template says */
const char *ipf_form_path(const ipf_form *f);         /* the template file */
/* The edition of the published form, e.g. "2024" (2024年制); "" if the
 * template names none.  One id may be held in several editions. */
const char *ipf_form_edition(const ipf_form *f);
/* abstract="true": a base for other templates, never listed or rendered. */
int ipf_form_is_abstract(const ipf_form *f);

/* The data this form reads: root element, namespace, and the schema and rule
 * files resolved against the template's directory (NULL when not given).
 * Loading fails, naming the template line, when a given file does not exist. */
const char *ipf_form_data_root(const ipf_form *f);
const char *ipf_form_data_namespace(const ipf_form *f);
const char *ipf_form_schema_path(const ipf_form *f);
const char *ipf_form_rules_path(const ipf_form *f);
/* The form="" the rule file must carry: the id of the template whose <data>
 * names it (a base's, when <data> is inherited), or NULL. */
const char *ipf_form_rules_form(const ipf_form *f);

/* Font file names the template asks for, in fallback order, as written. */
size_t ipf_form_font_count(const ipf_form *f);
const char *ipf_form_font_name(const ipf_form *f, size_t i);
/* The file (the template, or the base it inherits the <font> from) and line
 * of that <font>: where to look for the font first, and what diagnostics
 * about it name. */
const char *ipf_form_font_file(const ipf_form *f, size_t i);
long ipf_form_font_line(const ipf_form *f, size_t i);

ipf_lb_level ipf_form_line_breaking(const ipf_form *f);
const ipf_page_geom *ipf_form_page(const ipf_form *f);
/* The geometry of a <cover>, <page-block> or <table>: its page="…" (a
 * <page name="…"> of the form), else the form's default <page>. */
const ipf_page_geom *ipf_form_part_page(const ipf_form *f, const xmlNode *part);

/* For layout: the template's root element (namespace urn:ipforms:template:1)
 * and the compiled XPath attached to an element's select attribute (or NULL;
 * owned by the form). */
const xmlNode *ipf_form_root(const ipf_form *f);
xmlXPathCompExprPtr ipf_form_xpath(const xmlNode *element);
/* The file an element of the loaded template was written in: the template
 * itself, or the base it was inherited from (extends=""); with
 * ipf_xml_line() the place to name in a diagnostic about it. */
const char *ipf_form_node_file(const ipf_form *f, const xmlNode *element);
/* The prefix bindings every expression is evaluated with: d for the form's
 * data namespace, then the template's <namespace> elements. */
void ipf_form_register_namespaces(const ipf_form *f, xmlXPathContextPtr ctx);

/* Settings in templates.  After loading its rule file, the engine binds it:
 * the rule file's settings become $name in every expression of the
 * template, besides $edition.  Binding also evaluates every expression of
 * the template once against an empty document (select, when and each {…}),
 * so that a mistake is reported at load with the file and line where it is
 * written; IPF_ERR_TEMPLATE then.  rs may be NULL (a form without rules);
 * it must outlive the form's use. */
ipf_status ipf_form_bind_rules(ipf_form *f, const ipf_ruleset *rs, ipf_diags *d);
/* $name as the form knows it (a setting, or edition), or NULL. */
const char *ipf_form_variable(const ipf_form *f, const char *name);
/* Namespaces (ipf_form_register_namespaces) and the ipf: functions on ctx;
 * 0, or -1 when out of memory. */
int ipf_form_setup_xpath(const ipf_form *f, xmlXPathContextPtr ctx);

/* A text holding {xpath}: an attribute (title, note, marker, format, <info>'s)
 * of element, or with attr NULL a text node's (child of <p>, <label>,
 * <cell>).  NULL when the text has no braces: print it as written.
 * Parts are literal text (braces unescaped) or a compiled expression.
 * Owned by the form. */
typedef struct ipf_tpl_text ipf_tpl_text;
const ipf_tpl_text *ipf_form_text(const xmlNode *element_or_text, const char *attr);
size_t ipf_tpl_text_count(const ipf_tpl_text *t);
const char *ipf_tpl_text_literal(const ipf_tpl_text *t, size_t i); /* NULL: an expression */
xmlXPathCompExprPtr ipf_tpl_text_expr(const ipf_tpl_text *t, size_t i);
const char *ipf_tpl_text_source(const ipf_tpl_text *t, size_t i);
/* when="" compiled, or NULL. */
xmlXPathCompExprPtr ipf_form_when(const xmlNode *element);

/* Lengths: "25mm", "14pt", "2em", "0.5cm", "1.5" (a plain number is points).
 * em is relative to font_size.  Returns 0 on success, -1 if s is malformed or
 * longer than IPF_LENGTH_MAX either way (no page is larger, and a typo such
 * as "4e4em" must not make the layout pad a field for minutes). */
#define IPF_LENGTH_MAX 14400.0 /* points: 200 in, the largest PDF page side */
int ipf_length_parse(const char *s, double font_size, double *points);

#define IPF_TEMPLATE_NS "urn:ipforms:template:1"

/* Reading a loaded template (the loader and the layout engine alike).
 * ipf_tpl_is: n is the template element called name.  ipf_tpl_child: n's
 * first such child, or NULL.  ipf_tpl_attr: an attribute without namespace,
 * pointing into the template document (lives as long as the form), or NULL. */
int ipf_tpl_is(const xmlNode *n, const char *name);
const xmlNode *ipf_tpl_child(const xmlNode *n, const char *name);
const char *ipf_tpl_attr(const xmlNode *n, const char *name);

#endif
