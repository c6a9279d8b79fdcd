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
 * leading ones dropped; white space as ipf_utf8_is_space has it), malformed
 * bytes skipped, at most max_chars code
 * points and then "……".  Returns a new string the caller frees, or NULL when
 * out of memory. */
char *ipf_utf8_excerpt(const char *v, size_t max_chars);

/* The program's one notion of white space: whether c prints as nothing.
 * Unicode White_Space (tab to CR, space, NEL, NBSP, U+1680, U+2000-U+200A,
 * line and paragraph separators, U+202F, U+205F, the ideographic space
 * U+3000) and the invisible format characters editors leave in pasted text
 * (U+180E, zero-width space, ZWNJ, ZWJ, LRM/RLM, bidi embeddings and
 * isolates, word joiner and invisible operators U+2060-U+2064, the BOM
 * U+FEFF).  A "filled" field has at least one character that is not one of
 * these; ipf:chars counts only the others. */
int ipf_utf8_is_space(uint32_t c);

/* Whether s (NULL counts as empty) holds at least one visible character:
 * one that ipf_utf8_is_space does not describe.  A malformed byte counts as
 * visible (something is there). */
int ipf_utf8_is_filled(const char *s);

/* The name of an invisible character as a clerk would call it ("空格",
 * "全角空格", "不换行空格", "零宽空格", "制表符", "换行"), or NULL when c is
 * not one (ipf_utf8_is_space) or has no common name. */
const char *ipf_utf8_space_name(uint32_t c);

/* v as quoted in a message when white space matters (a value that differs
 * from an allowed one only in spaces): like ipf_utf8_excerpt, but every
 * invisible character other than one plain space between two visible ones
 * is written as [名称] or [U+XXXX], leading and trailing ones included, so
 * “专职[全角空格]” shows what “专职　” hides.  Caller frees; NULL when out of
 * memory. */
char *ipf_utf8_excerpt_visible(const char *v, size_t max_chars);

/* Number of code points in a NUL-terminated valid UTF-8 string. */
size_t ipf_utf8_length(const char *s);

#endif
