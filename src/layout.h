/* layout.h: typesetting one document of a form into a drawing.
 *
 * Walks the template, pulls text from the data with the template's XPath,
 * measures it with the fonts' real advances, breaks lines by clreq, grows
 * every cell with its text, and flows table rows across pages: a row that
 * does not fit continues on the next page with its section heading and
 * labels repeated and marked "（续）".  Nothing is clipped or shrunk.
 *
 * A layout engine holds reusable buffers: one per thread, reused for every
 * document of a batch. */
#ifndef IPF_LAYOUT_H
#define IPF_LAYOUT_H

#include <libxml/tree.h>

#include "diag.h"
#include "drawing.h"
#include "fontset.h"
#include "form.h"

typedef struct ipf_layout ipf_layout;

ipf_status ipf_layout_new(ipf_layout **out);
void ipf_layout_free(ipf_layout *lay);

/* Lays out data (NULL: the blank form, to fill by hand) with form and fonts
 * into out, which must be empty.  file names the data in diagnostics. */
ipf_status ipf_layout_document(ipf_layout *lay, const ipf_form *form, const ipf_fontset *fonts,
                               xmlDocPtr data, const char *file, ipf_drawing *out, ipf_diags *d);

/* Appends to buf the text of a data node as it will be printed: white space
 * that only served the XML's indentation is removed between Chinese
 * characters and collapsed to one space elsewhere.  Used by validation too,
 * so that what is counted is what is printed. */
size_t ipf_text_normalize(const char *in, char *out);

#endif
