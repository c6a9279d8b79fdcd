/* buf.h: the one growable buffer, for bytes (the PDF writer, pipe records)
 * and for text built piece by piece (messages, keys, CSV fields).
 *
 * Start from {0}.  The buffer owns its bytes; free them with ipf_buf_free,
 * or take them as a string with ipf_buf_take.  An allocation failure is
 * sticky: later appends do nothing and `oom` stays set, so a caller can
 * append a whole structure or text and check once at the end.
 *
 * p and s are the same bytes, seen as bytes or as characters.  Every append
 * below keeps a NUL after the last byte (not counted in len), so after the
 * first append s is a string, "" included; code that writes into p directly
 * after ipf_buf_reserve (the deflate bit writer) leaves that to the next
 * append. */
#ifndef IPF_BUF_H
#define IPF_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ipf_buf {
    union {
        unsigned char *p;
        char *s;
    };
    size_t len, cap;
    int oom;
} ipf_buf;

static inline void ipf_buf_free(ipf_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

/* Makes room for extra more bytes and the NUL after them; 0, or -1 (and
 * oom set). */
static inline int ipf_buf_reserve(ipf_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len > extra)
        return 0;
    size_t need = b->len + extra + 1;
    if (need <= b->len) {
        b->oom = 1;
        return -1;
    }
    size_t c = b->cap ? b->cap : 256;
    while (c < need)
        c = c * 2 > c ? c * 2 : need;
    unsigned char *q = realloc(b->p, c);
    if (!q) {
        b->oom = 1;
        return -1;
    }
    b->p = q;
    b->cap = c;
    return 0;
}

/* Appends the n bytes at s: 0, or -1 when memory ran out (now or before). */
static inline int ipf_buf_put(ipf_buf *b, const void *s, size_t n)
{
    if (ipf_buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Appends the string s. */
static inline int ipf_buf_str(ipf_buf *b, const char *s)
{
    return ipf_buf_put(b, s, strlen(s));
}

static inline void ipf_buf_byte(ipf_buf *b, unsigned char c)
{
    if (ipf_buf_reserve(b, 1) == 0) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
    }
}

/* Big-endian, as in TrueType tables and in the records between processes. */
static inline void ipf_buf_u16(ipf_buf *b, unsigned v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    ipf_buf_put(b, x, sizeof x);
}

static inline void ipf_buf_u32(ipf_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    ipf_buf_put(b, x, sizeof x);
}

/* Appends printf-style: 0, or -1. */
int ipf_buf_printf(ipf_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Appends ipf_utf8_excerpt(v, max_chars) (…_visible: ipf_utf8_excerpt_visible):
 * a value quoted into a message. */
int ipf_buf_excerpt(ipf_buf *b, const char *v, size_t max_chars);
int ipf_buf_excerpt_visible(ipf_buf *b, const char *v, size_t max_chars);

/* Makes room in the array *p, of *cap elements of elem bytes, for need
 * elements, doubling its capacity (16 at first): 0, or -1 when memory ran
 * out or the size would overflow (the array and *cap untouched).  For
 * arrays that grow side by side, each gets its own copy of the capacity. */
int ipf_grow(void **p, size_t *cap, size_t need, size_t elem);
#define IPF_GROW(arr, cap, need) ipf_grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* The text built so far, handed to the caller (who frees it), and the
 * buffer emptied; NULL when memory ran out at any point (the text is then
 * freed).  An untouched buffer gives "". */
char *ipf_buf_take(ipf_buf *b);

#endif
