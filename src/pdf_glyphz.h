/* pdf_glyphz.h: deflating font subsets with each glyph compressed once per
 * process (private to pdf*.c).
 *
 * A batch embeds a different subset of the same font in every document,
 * and compressing it was most of a form's time.  Here a subset is written
 * as one dynamic-Huffman deflate block whose codes are fixed per font
 * (derived from a spread of the font's own glyphs, so the output depends on
 * the font and the document only, never on what was rendered before), and
 * each glyph's LZ77 matches stay within the glyph: a glyph's bits are then
 * the same in every document and are encoded the first time it is used and
 * copied afterwards.  What is not a cacheable glyph (the tables before
 * glyf, composite glyphs whose component numbers change per subset) is
 * encoded per document with the same codes. */
#ifndef IPF_PDF_GLYPHZ_H
#define IPF_PDF_GLYPHZ_H

#include <stddef.h>
#include <stdint.h>

#include "pdf_util.h"

typedef struct ipf_glyphz ipf_glyphz;

/* The codes come from the n sample byte strings.  nkeys: how many cache
 * keys there can be (the font's glyph count).  Owner: the caller; NULL when
 * out of memory. */
ipf_glyphz *ipf_glyphz_new(const unsigned char *const *sample, const size_t *sample_len, size_t n,
                           unsigned nkeys);
void ipf_glyphz_free(ipf_glyphz *z);

/* A run of the input that is one glyph: key is its glyph number (the bytes
 * must be the same whenever the key is), or -1 for bytes that differ from
 * one document to the next. */
typedef struct ipf_glyphz_seg {
    size_t off, len;
    long key;
} ipf_glyphz_seg;

/* Appends raw[0..len) as a complete zlib (RFC 1950) stream to out.  segs
 * are in increasing order and do not overlap; bytes outside them are
 * encoded per document.  0, or -1 when out of memory (out->oom set). */
int ipf_glyphz_deflate(ipf_glyphz *z, const unsigned char *raw, size_t len,
                       const ipf_glyphz_seg *segs, size_t nsegs, ipf_buf *out);

#endif
