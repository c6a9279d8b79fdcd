/* pdf_util.h: a growing byte buffer for the PDF writer (private to pdf*.c).
 *
 * The buffer owns its bytes (free with ipf_buf_free).  An allocation failure
 * is sticky: later appends do nothing and `oom` stays set, so a writer can
 * append a whole structure and check once at the end. */
#ifndef IPF_PDF_UTIL_H
#define IPF_PDF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ipf_buf {
    unsigned char *p;
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

/* Makes room for extra more bytes; 0, or -1 (and oom set). */
static inline int ipf_buf_reserve(ipf_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len >= extra)
        return 0;
    size_t need = b->len + extra;
    if (need < b->len) {
        b->oom = 1;
        return -1;
    }
    size_t c = b->cap ? b->cap : 4096;
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

static inline void ipf_buf_put(ipf_buf *b, const void *s, size_t n)
{
    if (n && ipf_buf_reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
    }
}

static inline void ipf_buf_str(ipf_buf *b, const char *s)
{
    ipf_buf_put(b, s, strlen(s));
}

static inline void ipf_buf_byte(ipf_buf *b, unsigned char c)
{
    if (ipf_buf_reserve(b, 1) == 0)
        b->p[b->len++] = c;
}

static inline void ipf_buf_u16(ipf_buf *b, unsigned v)
{
    if (ipf_buf_reserve(b, 2) == 0) {
        b->p[b->len++] = (unsigned char)(v >> 8);
        b->p[b->len++] = (unsigned char)v;
    }
}

static inline void ipf_buf_u32(ipf_buf *b, uint32_t v)
{
    if (ipf_buf_reserve(b, 4) == 0) {
        b->p[b->len++] = (unsigned char)(v >> 24);
        b->p[b->len++] = (unsigned char)(v >> 16);
        b->p[b->len++] = (unsigned char)(v >> 8);
        b->p[b->len++] = (unsigned char)v;
    }
}

static inline unsigned ipf_rd16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t ipf_rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ipf_wr16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static inline void ipf_wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

#endif
