/* strbuf.c: the growing string (strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int ipf_strbuf_add(ipf_strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return -1;
    if (n >= (size_t)-1 - b->len) {
        b->oom = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap = cap * 2 > cap ? cap * 2 : b->len + n + 1;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return -1;
        }
        b->s = ns;
        b->cap = cap;
    }
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int ipf_strbuf_adds(ipf_strbuf *b, const char *s)
{
    return ipf_strbuf_add(b, s, strlen(s));
}

/* x, an excerpt made for b (NULL when memory ran out), appended and freed. */
static int add_owned(ipf_strbuf *b, char *x)
{
    if (!x) {
        b->oom = 1;
        return -1;
    }
    int r = ipf_strbuf_adds(b, x);
    free(x);
    return r;
}

int ipf_strbuf_add_excerpt(ipf_strbuf *b, const char *v, size_t max_chars)
{
    return add_owned(b, ipf_utf8_excerpt(v, max_chars));
}

int ipf_strbuf_add_excerpt_visible(ipf_strbuf *b, const char *v, size_t max_chars)
{
    return add_owned(b, ipf_utf8_excerpt_visible(v, max_chars));
}

int ipf_strbuf_addf(ipf_strbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return ipf_strbuf_add(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int r = ipf_strbuf_add(b, big, (size_t)n);
    free(big);
    return r;
}
