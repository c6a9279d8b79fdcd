/* utf8.h: the little UTF-8 the project needs, strict about malformed input. */
#ifndef IPF_UTF8_H
#define IPF_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at *p and advances *p past it.  Returns 0, or -1 for
 * a malformed, overlong or surrogate sequence (then *p is not advanced). */
int ipf_utf8_next(const char **p, uint32_t *cp);

/* Writes cp as UTF-8 into out (at least 4 bytes); returns the byte count. */
size_t ipf_utf8_encode(uint32_t cp, char *out);

/* v as quoted in a message: one line (runs of white space become one space,
 * leading ones dropped), malformed bytes skipped, at most max_chars code
 * points and then "……".  Returns a new string the caller frees, or NULL when
 * out of memory. */
char *ipf_utf8_excerpt(const char *v, size_t max_chars);

/* Number of code points in a NUL-terminated valid UTF-8 string. */
size_t ipf_utf8_length(const char *s);

#endif
