/* strbuf.h: a growing NUL-terminated string, for the messages, keys and
 * texts the loaders and checkers build piece by piece.
 *
 * Start from {0}.  The buffer owns s (the caller frees it); after the first
 * addition s is a string, "" included.  An allocation failure is sticky:
 * later additions do nothing and oom stays set, so a caller can build a
 * whole text and check once at the end. */
#ifndef IPF_STRBUF_H
#define IPF_STRBUF_H

#include <stddef.h>

typedef struct ipf_strbuf {
    char *s;
    size_t len, cap;
    int oom;
} ipf_strbuf;

/* Appends the n bytes at s.  0, or -1 when memory ran out (now or before). */
int ipf_strbuf_add(ipf_strbuf *b, const char *s, size_t n);
/* Appends the string s. */
int ipf_strbuf_adds(ipf_strbuf *b, const char *s);
/* Appends v as a message quotes it, ipf_utf8_excerpt(v, max_chars): one
 * line, "……" past max_chars.  The _visible one where the value may differ
 * from an allowed one only in white space (ipf_utf8_excerpt_visible). */
int ipf_strbuf_add_excerpt(ipf_strbuf *b, const char *v, size_t max_chars);
int ipf_strbuf_add_excerpt_visible(ipf_strbuf *b, const char *v, size_t max_chars);
/* Appends printf-style. */
int ipf_strbuf_addf(ipf_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
