/* tplcheck.h: template values that load but cannot typeset.
 *
 * A template can be well-formed and valid and still give an unusable PDF
 * with exit 0: a negative margin, a zero font size, a line height near
 * zero, a column narrower than one character, letter-spacing that runs the
 * characters backwards, or fonts that cannot draw the form's own labels.
 * These checks refuse such values with the template's file:line, when the
 * template is loaded (ipf_tpl_check_typesetting, from ipf_form_load) and
 * when its fonts are opened (ipf_tpl_check_labels, before any document or
 * blank form is laid out). */
#ifndef IPF_TPLCHECK_H
#define IPF_TPLCHECK_H

#include <libxml/tree.h>

#include "diag.h"
#include "fontset.h"
#include "form.h"

/* Lengths, sizes, spacing and columns of the template rooted at root, f
 * being the form as far as loaded (its pages parsed); each problem names
 * the file its element stands in.  Returns the number of problems reported
 * (TEMPLATE-TYPESETTING, TEMPLATE-COLUMNS, TEMPLATE-PAGE). */
int ipf_tpl_check_typesetting(const ipf_form *f, const xmlNode *root, ipf_diags *d);

/* Every character the template itself prints (labels, headings, notes,
 * markers, page-number text) can be drawn by fonts; each character that
 * cannot is reported once, at its first line (FONT-MISSING-GLYPH).
 * IPF_OK, IPF_ERR_FONT, or IPF_ERR_NOMEM. */
ipf_status ipf_tpl_check_labels(const ipf_form *f, const ipf_fontset *fonts, ipf_diags *d);

#endif
