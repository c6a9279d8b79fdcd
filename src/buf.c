/* buf.c: the growable buffer's functions that are not inline (buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>

#include "utf8.h"

/* x, an excerpt made for b (NULL when memory ran out), appended and freed. */
static int add_owned(ipf_buf *b, char *x)
{
    if (!x) {
        b->oom = 1;
        return -1;
    }
    int r = ipf_buf_str(b, x);
    free(x);
    return r;
}

int ipf_buf_excerpt(ipf_buf *b, const char *v, size_t max_chars)
{
    return add_owned(b, ipf_utf8_excerpt(v, max_chars));
}

int ipf_buf_excerpt_visible(ipf_buf *b, const char *v, size_t max_chars)
{
    return add_owned(b, ipf_utf8_excerpt_visible(v, max_chars));
}

int ipf_buf_printf(ipf_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return ipf_buf_put(b, small, (size_t)n);
    if (ipf_buf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int ipf_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    if (elem == 0) /* an array of empty records still needs a pointer */
        elem = 1;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > ((size_t)-1) / 2 / elem)
            return -1;
        c *= 2;
    }
    void *q = realloc(*p, c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

char *ipf_buf_take(ipf_buf *b)
{
    if (b->oom || ipf_buf_reserve(b, 0) < 0) {
        ipf_buf_free(b);
        return NULL;
    }
    char *s = b->s;
    s[b->len] = '\0';
    b->p = NULL;
    b->len = b->cap = 0;
    return s;
}
