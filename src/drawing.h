/* drawing.h: a laid-out document as a display list.
 *
 * Layout produces it; the PDF writer draws it.  It knows nothing of forms or
 * of libharu.  Coordinates are PDF points with the origin at the bottom-left
 * of the page; text positions are baselines. */
#ifndef IPF_DRAWING_H
#define IPF_DRAWING_H

#include <stddef.h>

#include "diag.h"

typedef enum ipf_draw_kind {
    IPF_DRAW_TEXT,    /* a run of glyphs of one font, size and character spacing */
    IPF_DRAW_LINE,    /* a stroked straight line */
    IPF_DRAW_RECT,    /* a stroked rectangle */
    IPF_DRAW_CHECKBOX /* a check box in a line of text: the glyph □ or ☑ */
} ipf_draw_kind;

typedef struct ipf_draw_item {
    ipf_draw_kind kind;
    double x, y;       /* TEXT, CHECKBOX: start of baseline; LINE: from; RECT: lower-left */
    double x2, y2;     /* LINE: to; RECT: width and height; CHECKBOX: x2 the width it takes */
    double size;       /* TEXT: font size; CHECKBOX: size of the text it stands in */
    double line_width; /* LINE, RECT, CHECKBOX */
    double char_space; /* TEXT: extra space after every glyph (PDF Tc) */
    int font;          /* TEXT: index into the fontset */
    int bold;          /* TEXT: fake bold (fill then stroke) */
    int checked;       /* CHECKBOX */
    int artifact;      /* page furniture (page numbers, repeated headings), not content */
    const char *text;  /* TEXT: UTF-8, owned by the drawing */
    size_t len;        /* TEXT: bytes */
} ipf_draw_item;

typedef struct ipf_drawing ipf_drawing;

ipf_drawing *ipf_drawing_new(void);
void ipf_drawing_free(ipf_drawing *dr);
/* Empties dr for another document but keeps its buffers (the item arrays
 * and one string chunk), so that a caller drawing document after document
 * allocates nothing once they are large enough.  Clears a failed
 * allocation too. */
void ipf_drawing_clear(ipf_drawing *dr);

/* Adds a page and makes it current; returns its index or -1 on no memory. */
int ipf_drawing_add_page(ipf_drawing *dr, double width, double height);

/* Each adder copies what it is given, appends to the current page and
 * returns 0, or -1 when out of memory (the drawing is then unusable). */
int ipf_drawing_text(ipf_drawing *dr, double x, double y, int font, double size, double char_space,
                     int bold, const char *utf8, size_t len);
int ipf_drawing_line(ipf_drawing *dr, double x1, double y1, double x2, double y2, double width);
int ipf_drawing_rect(ipf_drawing *dr, double x, double y, double w, double h, double width);
/* A check box standing in a line of text of the given size: (x, baseline)
 * starts the room of the given width it takes in the line.  The writer draws
 * it as text, □ or ☑, so that it survives copy, search and screen readers,
 * sized and centred like the line's Hanzi. */
int ipf_drawing_checkbox(ipf_drawing *dr, double x, double baseline, double width, double size,
                         int checked);

/* The page number printed on the current page (n >= 1), so that viewers
 * can show the same one (/PageLabels).  Pages without one have 0. */
void ipf_drawing_page_number(ipf_drawing *dr, int n);
int ipf_drawing_printed_number(const ipf_drawing *dr, size_t page);

/* Page furniture: items added while on is set are marked as artifacts
 * (page numbers, headings repeated on continuation pages), which readers
 * that know the mark keep out of the text flow. */
void ipf_drawing_artifact(ipf_drawing *dr, int on);

/* Reading order.  A mark is a position in the current page's list of items;
 * ipf_drawing_hoist() moves everything added since `from` to the earlier
 * mark `at`, keeping its order, so that what is drawn late (a label spanning
 * rows, drawn once their height is known) is read before what it labels.
 * Returns 0, or -1 when the marks are not on the current page or not in
 * order (nothing moves). */
size_t ipf_drawing_mark(const ipf_drawing *dr);
int ipf_drawing_hoist(ipf_drawing *dr, size_t at, size_t from);

/* Makes an earlier page current, so that what is added next goes there
 * (page numbers that need the total, drawn when the last page is known).
 * Making the last page current again puts those items into place; read the
 * drawing only then.  Returns 0, or -1 (no such page, out of memory). */
int ipf_drawing_use_page(ipf_drawing *dr, size_t page);

/* An outline (bookmark) entry pointing at the current page at height y.
 * level 0 is top-level. */
int ipf_drawing_outline(ipf_drawing *dr, int level, const char *title, double y);

/* Document information, UTF-8: "Title", "Author", "Subject", "Keywords". */
int ipf_drawing_set_info(ipf_drawing *dr, const char *key, const char *value);

/* Reading it back (for the PDF writer and tests). */
size_t ipf_drawing_page_count(const ipf_drawing *dr);
void ipf_drawing_page_size(const ipf_drawing *dr, size_t page, double *width, double *height);
const ipf_draw_item *ipf_drawing_items(const ipf_drawing *dr, size_t page, size_t *n);

typedef struct ipf_outline_entry {
    int level;
    const char *title;
    size_t page;
    double y;
} ipf_outline_entry;
const ipf_outline_entry *ipf_drawing_outlines(const ipf_drawing *dr, size_t *n);
/* NULL when not set. */
const char *ipf_drawing_info(const ipf_drawing *dr, const char *key);

#endif
