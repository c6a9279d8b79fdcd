/* schema.h: XSD structure checking and the Chinese names of fields.
 *
 * A schema is loaded once per process (through the same safe XML path as the
 * data) and can then validate any number of documents.  Its xs:annotation
 * carries each element's Chinese label, so that every diagnostic can name the
 * field as the form does ("联系电话", not "phone"). */
#ifndef IPF_SCHEMA_H
#define IPF_SCHEMA_H

#include <libxml/tree.h>

#include "diag.h"

typedef struct ipf_schema ipf_schema;

/* Errors in the schema itself name the .xsd file and line; status
 * IPF_ERR_TEMPLATE.  Owner: caller, ipf_schema_free(). */
ipf_status ipf_schema_load(const char *xsd_path, ipf_diags *d, ipf_schema **out);
void ipf_schema_free(ipf_schema *s);

/* Validates doc (read from file, used in diagnostics).  Every structural
 * problem is reported, in Chinese, with the offending element's line.
 * IPF_OK when none is an error, IPF_INVALID otherwise.  Thread-safe. */
ipf_status ipf_schema_validate(const ipf_schema *s, xmlDocPtr doc, const char *file, ipf_diags *d);

/* The Chinese label of an element (or attribute node), e.g. "联系人邮箱";
 * falls back to the nearest labelled ancestor, then to the local name.
 * The string is owned by the schema or the node. */
const char *ipf_schema_label(const ipf_schema *s, const xmlNode *node);

/* For tools that walk the declarations in document order (skeleton.c): the
 * merged schema (xs:include resolved, annotations kept), and the label and
 * value description recorded for an instance path such as
 * "/filing/institution/staff/@total" (NULL when none).  Owned by the schema. */
const xmlDoc *ipf_schema_document(const ipf_schema *s);
const char *ipf_schema_label_at(const ipf_schema *s, const char *path);
const char *ipf_schema_expect_at(const ipf_schema *s, const char *path);

/* Reading XSD declarations, for schema.c itself and for walks of
 * ipf_schema_document() (skeleton.c).  Strings are owned by the tree. */
#define IPF_XS_NS "http://www.w3.org/2001/XMLSchema"

/* Whether n is an xs: element named name (any xs: element when NULL). */
int ipf_xs_is(const xmlNode *n, const char *name);
/* An unqualified attribute's value ("" when empty), NULL when absent or n is NULL. */
const char *ipf_xs_attr(const xmlNode *n, const char *name);
/* The local part of a QName ("xs:string" -> "string"). */
const char *ipf_xs_local(const char *qname);
/* Whether a QName used in node (its prefixes in scope there) names an XSD
 * built-in type. */
int ipf_xs_builtin(const xmlNode *node, const char *qname);
/* The top-level declaration xs:<kind> of schema (an xs:schema element) named
 * by qname's local part, or NULL. */
const xmlNode *ipf_xs_global(const xmlNode *schema, const char *kind, const char *qname);
/* The name a declaration (xs:element, xs:attribute) gives: its name=, else
 * the local part of its ref=; NULL when it has neither.  *eff: the
 * declaration that defines it, decl itself or the top-level xs:<kind> of
 * schema that ref= names (NULL when there is none). */
const char *ipf_xs_decl(const xmlNode *schema, const char *kind, const xmlNode *decl,
                        const xmlNode **eff);
/* The text of decl's xs:annotation/xs:appinfo/<what> in the label namespace
 * (urn:ipforms:schema-label: label, expect, skeleton), trimmed; NULL when
 * absent or empty.  Caller frees. */
char *ipf_xs_appinfo(const xmlNode *decl, const char *what);

#endif
