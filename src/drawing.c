/* drawing.c: the display list.
 *
 * Memory: one ipf_drawing owns everything in it.
 *   - items: one growing array for the whole document; a page is a range of
 *     it (items are only ever appended to the last page, so each page's
 *     items are contiguous).  Doubling growth: a form of a few thousand
 *     items costs a dozen reallocs, not one malloc per item.
 *   - strings (text runs, outline titles, info values): copied into a
 *     chunked arena.  A chunk is never moved or resized, so the `text` and
 *     `title` pointers handed out stay valid until ipf_drawing_free(), even
 *     while more items are added.  The item array itself may move when it
 *     grows: a pointer returned by ipf_drawing_items()/ipf_drawing_outlines()
 *     is valid only until the next adder call.
 * Every adder either succeeds completely or returns -1 and marks the drawing
 * unusable (every later adder then fails too). */
#include "drawing.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CHUNK_MIN 65536u

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

typedef struct page {
    double width, height;
    size_t first, count; /* range of dr->items */
    int number;          /* printed page number, 0 none */
} page;

struct ipf_drawing {
    page *pages;
    size_t npages, cappages;
    ipf_draw_item *items;
    size_t nitems, capitems;
    ipf_outline_entry *outlines;
    size_t noutlines, capoutlines;
    chunk *chunks;       /* newest first */
    const char *info[4]; /* Title, Author, Subject, Keywords (arena strings) */
    int broken;          /* an allocation failed */
    int artifact;        /* new items are page furniture */
    /* Items added to an earlier page (ipf_drawing_use_page), each with its
     * page, merged into place when the last page is current again. */
    ipf_draw_item *late;
    size_t *late_page;
    size_t nlate, caplate, caplatepage;
    size_t current; /* the page adders append to: npages - 1 unless reopened */
};

static const char *const info_keys[4] = {"Title", "Author", "Subject", "Keywords"};

/* Copies len bytes into the arena, NUL-terminated; NULL on no memory. */
static const char *arena_copy(ipf_drawing *dr, const char *s, size_t len)
{
    chunk *c = dr->chunks;
    if (len >= ((size_t)-1) - sizeof(chunk) - CHUNK_MIN)
        return NULL;
    if (!c || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > CHUNK_MIN ? len + 1 : CHUNK_MIN;
        chunk *n = malloc(sizeof(chunk) + cap);
        if (!n)
            return NULL;
        n->used = 0;
        n->cap = cap;
        n->next = c;
        dr->chunks = n;
        c = n;
    }
    char *out = c->data + c->used;
    if (len)
        memcpy(out, s, len);
    out[len] = '\0';
    c->used += len + 1;
    return out;
}

ipf_drawing *ipf_drawing_new(void)
{
    return calloc(1, sizeof(ipf_drawing));
}

void ipf_drawing_free(ipf_drawing *dr)
{
    if (!dr)
        return;
    for (chunk *c = dr->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(dr->pages);
    free(dr->items);
    free(dr->outlines);
    free(dr->late);
    free(dr->late_page);
    free(dr);
}

void ipf_drawing_clear(ipf_drawing *dr)
{
    if (!dr)
        return;
    /* The oldest chunk stays: the first one made, of at least CHUNK_MIN. */
    chunk *keep = dr->chunks;
    while (keep && keep->next) {
        chunk *n = keep->next;
        free(keep);
        keep = n;
    }
    if (keep)
        keep->used = 0;
    dr->chunks = keep;
    dr->npages = dr->nitems = dr->noutlines = dr->nlate = 0;
    for (int i = 0; i < 4; i++)
        dr->info[i] = NULL;
    dr->broken = dr->artifact = 0;
    dr->current = 0;
}

static int fail(ipf_drawing *dr)
{
    dr->broken = 1;
    return -1;
}

int ipf_drawing_add_page(ipf_drawing *dr, double width, double height)
{
    if (dr->broken)
        return -1;
    if (ipf_grow((void **)&dr->pages, &dr->cappages, dr->npages + 1, sizeof(page)) < 0)
        return fail(dr);
    page *p = &dr->pages[dr->npages];
    p->width = width;
    p->height = height;
    p->first = dr->nitems;
    p->count = 0;
    p->number = 0;
    dr->current = dr->npages;
    return (int)dr->npages++;
}

/* A zeroed item appended to the current page, or NULL: out of memory (the
 * drawing is then marked unusable), or no page yet (a caller's mistake; the
 * drawing stays usable). */
static ipf_draw_item *new_item(ipf_drawing *dr, ipf_draw_kind kind)
{
    if (dr->broken || dr->npages == 0)
        return NULL;
    ipf_draw_item *it;
    if (dr->current + 1 < dr->npages) {
        if (ipf_grow((void **)&dr->late, &dr->caplate, dr->nlate + 1, sizeof(ipf_draw_item)) < 0 ||
            ipf_grow((void **)&dr->late_page, &dr->caplatepage, dr->nlate + 1, sizeof(size_t)) <
                0) {
            dr->broken = 1;
            return NULL;
        }
        dr->late_page[dr->nlate] = dr->current;
        it = &dr->late[dr->nlate++];
    } else {
        if (ipf_grow((void **)&dr->items, &dr->capitems, dr->nitems + 1, sizeof(ipf_draw_item)) <
            0) {
            dr->broken = 1;
            return NULL;
        }
        it = &dr->items[dr->nitems++];
        dr->pages[dr->npages - 1].count++;
    }
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->artifact = dr->artifact;
    return it;
}

int ipf_drawing_text(ipf_drawing *dr, double x, double y, int font, double size, double char_space,
                     int bold, const char *utf8, size_t len)
{
    if (dr->broken || dr->npages == 0)
        return -1;
    const char *t = arena_copy(dr, utf8, len);
    if (!t)
        return fail(dr);
    ipf_draw_item *it = new_item(dr, IPF_DRAW_TEXT);
    if (!it)
        return -1;
    it->x = x;
    it->y = y;
    it->font = font;
    it->size = size;
    it->char_space = char_space;
    it->bold = bold;
    it->text = t;
    it->len = len;
    return 0;
}

/* Lines and rectangles carry the same numbers: a line from (x, y) to
 * (x2, y2), a rectangle at (x, y) x2 wide and y2 high. */
static int add_stroke(ipf_drawing *dr, ipf_draw_kind kind, double x, double y, double x2, double y2,
                      double width)
{
    ipf_draw_item *it = new_item(dr, kind);
    if (!it)
        return -1;
    it->x = x;
    it->y = y;
    it->x2 = x2;
    it->y2 = y2;
    it->line_width = width;
    return 0;
}

int ipf_drawing_line(ipf_drawing *dr, double x1, double y1, double x2, double y2, double width)
{
    return add_stroke(dr, IPF_DRAW_LINE, x1, y1, x2, y2, width);
}

int ipf_drawing_rect(ipf_drawing *dr, double x, double y, double w, double h, double width)
{
    return add_stroke(dr, IPF_DRAW_RECT, x, y, w, h, width);
}

int ipf_drawing_checkbox(ipf_drawing *dr, double x, double baseline, double width, double size,
                         int checked)
{
    ipf_draw_item *it = new_item(dr, IPF_DRAW_CHECKBOX);
    if (!it)
        return -1;
    it->x = x;
    it->y = baseline;
    it->x2 = width;
    it->size = size;
    it->line_width = 0.5; /* drawn as vector art (no font has □ and ☑): the rules' width */
    it->checked = checked != 0;
    return 0;
}

void ipf_drawing_page_number(ipf_drawing *dr, int n)
{
    if (dr->npages)
        dr->pages[dr->current < dr->npages ? dr->current : dr->npages - 1].number = n > 0 ? n : 0;
}

int ipf_drawing_printed_number(const ipf_drawing *dr, size_t page)
{
    return page < dr->npages ? dr->pages[page].number : 0;
}

void ipf_drawing_artifact(ipf_drawing *dr, int on)
{
    dr->artifact = on != 0;
}

size_t ipf_drawing_mark(const ipf_drawing *dr)
{
    return dr->nitems;
}

static void reverse(ipf_draw_item *a, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        ipf_draw_item t = a[i];
        a[i] = a[n - 1 - i];
        a[n - 1 - i] = t;
    }
}

int ipf_drawing_hoist(ipf_drawing *dr, size_t at, size_t from)
{
    if (dr->broken || dr->npages == 0 || at < dr->pages[dr->npages - 1].first || at > from ||
        from > dr->nitems)
        return -1;
    /* rotate [at, n) left by from - at: three reversals, no allocation */
    reverse(dr->items + at, from - at);
    reverse(dr->items + from, dr->nitems - from);
    reverse(dr->items + at, dr->nitems - at);
    return 0;
}

/* The late items merged into the pages' ranges: one pass, in order. */
static int merge_late(ipf_drawing *dr)
{
    size_t total = dr->nitems + dr->nlate;
    ipf_draw_item *all = malloc(total * sizeof *all);
    if (!all)
        return fail(dr);
    size_t n = 0;
    for (size_t p = 0; p < dr->npages; p++) {
        page *pg = &dr->pages[p];
        if (pg->count)
            memcpy(all + n, dr->items + pg->first, pg->count * sizeof *all);
        pg->first = n;
        n += pg->count;
        for (size_t i = 0; i < dr->nlate; i++)
            if (dr->late_page[i] == p) {
                all[n++] = dr->late[i];
                pg->count++;
            }
    }
    free(dr->items);
    dr->items = all;
    dr->nitems = dr->capitems = total;
    dr->nlate = 0;
    return 0;
}

int ipf_drawing_use_page(ipf_drawing *dr, size_t page)
{
    if (dr->broken || page >= dr->npages)
        return -1;
    dr->current = page;
    if (page + 1 == dr->npages && dr->nlate > 0)
        return merge_late(dr);
    return 0;
}

int ipf_drawing_outline(ipf_drawing *dr, int level, const char *title, double y)
{
    if (dr->broken || dr->npages == 0 || level < 0 || !title)
        return -1; /* misuse: the drawing stays usable */
    const char *t = arena_copy(dr, title, strlen(title));
    if (!t || ipf_grow((void **)&dr->outlines, &dr->capoutlines, dr->noutlines + 1,
                       sizeof(ipf_outline_entry)) < 0)
        return fail(dr);
    ipf_outline_entry *o = &dr->outlines[dr->noutlines++];
    o->level = level;
    o->title = t;
    o->page = dr->npages - 1;
    o->y = y;
    return 0;
}

int ipf_drawing_set_info(ipf_drawing *dr, const char *key, const char *value)
{
    if (dr->broken || !key || !value)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (strcmp(key, info_keys[i]) == 0) {
            const char *v = arena_copy(dr, value, strlen(value));
            if (!v)
                return fail(dr);
            dr->info[i] = v; /* an earlier value stays in the arena until free */
            return 0;
        }
    }
    return -1; /* unknown key: the drawing stays usable */
}

size_t ipf_drawing_page_count(const ipf_drawing *dr)
{
    return dr->npages;
}

void ipf_drawing_page_size(const ipf_drawing *dr, size_t page, double *width, double *height)
{
    if (page >= dr->npages) {
        *width = *height = 0;
        return;
    }
    *width = dr->pages[page].width;
    *height = dr->pages[page].height;
}

const ipf_draw_item *ipf_drawing_items(const ipf_drawing *dr, size_t page, size_t *n)
{
    if (page >= dr->npages) {
        *n = 0;
        return NULL;
    }
    *n = dr->pages[page].count;
    /* Only blank pages so far: no item array to point into (NULL + 0 is UB). */
    return dr->items ? dr->items + dr->pages[page].first : NULL;
}

const ipf_outline_entry *ipf_drawing_outlines(const ipf_drawing *dr, size_t *n)
{
    *n = dr->noutlines;
    return dr->outlines;
}

const char *ipf_drawing_info(const ipf_drawing *dr, const char *key)
{
    for (int i = 0; i < 4; i++)
        if (key && strcmp(key, info_keys[i]) == 0)
            return dr->info[i];
    return NULL;
}
