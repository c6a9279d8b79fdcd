/* collect.h: documents made from many documents (ipforms list, ipforms rollup).
 *
 * The entry points are in ipforms.h (ipf_engine_list, ipf_engine_rollup).
 * This header holds what tests use on its own: the CSV of a laid-out table.
 *
 * The CSV is not read back from the drawing (which is geometry): it is the
 * same rows the layout makes, from the same template elements.  The table
 * marked csv="true" (or the first table holding a <repeat>) gives the
 * headings (the text of its header="true" row) and, for every node of its
 * <repeat> in the order sort="…" gives (collate.h), one record of the cells'
 * text: <value select> as printed, <label>/<cell> with their literal text and
 * <field>s (format="date-zh" applied), paragraphs joined by a line break.
 * Rows after the <repeat> (totals) are records too, a cell spanning n columns
 * followed by n-1 empty fields; rows above the headings (a title block) and
 * group header and footer rows are not: a spreadsheet wants one row per
 * outlet under one row of headings. */
#ifndef IPF_COLLECT_H
#define IPF_COLLECT_H

#include <libxml/tree.h>

#include "csv.h"
#include "diag.h"
#include "form.h"
#include "ipforms.h"

/* A list or roll-up document rendered or validated on its own (ipforms
 * render, validate): the regions of its rows that carry no province-code are
 * looked up in the region table as ipforms list looks them up (codes, printed
 * names, LIST-REGION for an unknown one), so that render gives the PDF list
 * gives.  A form without a sources.xml beside its template is left alone. */
ipf_status ipf_collect_annotate(ipf_engine *e, const ipf_form *form, xmlDocPtr doc,
                                const char *path, ipf_diags *d);

/* Appends the CSV records of form's table for data to w. */
ipf_status ipf_collect_csv(const ipf_form *form, xmlDocPtr data, ipf_csv_writer *w, ipf_diags *d);

#endif
