/* skeleton.h: the data file a clerk starts from (ipforms init FORM).
 *
 * Generated, never kept by hand: the elements come from the form's schema in
 * declaration order, each preceded by a comment with its Chinese label (the
 * schema's ipf:label, as diagnostics use it) and its xs:documentation; an
 * attribute is written empty, and its comment names it, says how its value
 * is written and lists its choices (xs:enumeration).  "{$name}" in a
 * documentation text is replaced by the form's rule setting of that name
 * (a regex list setting "a|b" reads "a、b"), so a limit such as 不超过1000字 is
 * printed from the very setting the rule checks.
 *
 * Repeated elements are written once (the clerk copies them); every value is
 * empty, so validating the untouched skeleton reports what is still to fill
 * in ("未填写") and nothing else. */
#ifndef IPF_SKELETON_H
#define IPF_SKELETON_H

#include <stdio.h>

#include "diag.h"
#include "rules.h"
#include "schema.h"

typedef struct ipf_skeleton_form {
    const char *id;        /* written into the root's form="" */
    const char *edition;   /* written into the root's edition="" when declared; may be NULL */
    const char *title;     /* for the header comment */
    const char *root;      /* the data root element, a global element of the schema */
    const char *namespace; /* the data namespace (the schema's target namespace) */
} ipf_skeleton_form;

/* Writes the skeleton to out.  rules may be NULL (no settings to read).
 * A root the schema does not declare is an error (IPF_ERR_TEMPLATE) naming
 * the schema; a failed write is IPF_ERR_IO.  Nothing is written on error
 * before the first byte: the text is built in memory first. */
ipf_status ipf_skeleton_write(const ipf_schema *s, const ipf_ruleset *rules,
                              const ipf_skeleton_form *form, FILE *out, ipf_diags *d);

#endif
