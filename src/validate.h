/* validate.h: everything that is checked before anything is printed.
 *
 * In order, and all of them every time so that every problem is reported at
 * once: the root element and form, the XSD structure, the jurisdiction's
 * rules, and whether the fonts can draw every character (a character no
 * font can draw is an error naming the field and U+XXXX, never a blank);
 * with fonts, a document that could come near the PDF page limit is also
 * laid out to count its pages (PDF-TOO-MANY-PAGES, naming the field with
 * the most text). */
#ifndef IPF_VALIDATE_H
#define IPF_VALIDATE_H

#include <libxml/tree.h>

#include "diag.h"
#include "fontset.h"
#include "form.h"
#include "rules.h"
#include "schema.h"

/* schema, rules and fonts may each be NULL (that check is skipped).
 * IPF_OK when no error was found, IPF_INVALID otherwise. */
ipf_status ipf_validate_document(const ipf_form *form, const ipf_schema *schema,
                                 const ipf_ruleset *rules, const ipf_fontset *fonts, xmlDocPtr doc,
                                 const char *file, ipf_diags *d);

/* Only the font check (also used on its own by tests). */
ipf_status ipf_validate_glyphs(const ipf_schema *schema, const ipf_fontset *fonts, xmlDocPtr doc,
                               const char *file, ipf_diags *d);

#endif
