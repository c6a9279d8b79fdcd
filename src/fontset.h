/* fontset.h: the fonts a form is set in, as seen by layout and validation.
 *
 * Loaded once per process with FreeType: which code points each font can draw
 * (its cmap, with gaps mapped to glyph 0 counting as "cannot draw") and the
 * advance width of each.  libharu loads the same files again per document to
 * embed them; this module never touches libharu.
 *
 * Index 0 is the primary font (FangSong); further fonts are fallbacks, used
 * only for code points the earlier ones cannot draw.  Only BMP code points can
 * be drawn (libharu 2.3.0 silently drops the rest), so a code point above
 * U+FFFF is never covered. */
#ifndef IPF_FONTSET_H
#define IPF_FONTSET_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

typedef struct ipf_fontset ipf_fontset;

/* Opens n TrueType files (n >= 1).  Errors name the file.  Owner: caller,
 * freed with ipf_fontset_free().  Safe to share between threads once open. */
ipf_status ipf_fontset_open(const char *const *paths, size_t n, ipf_diags *d, ipf_fontset **out);
void ipf_fontset_free(ipf_fontset *fs);

size_t ipf_fontset_count(const ipf_fontset *fs);
/* The path of font i, as given to ipf_fontset_open (owned by fs). */
const char *ipf_fontset_path(const ipf_fontset *fs, size_t i);

/* The first font that can draw cp, or -1 when none can. */
int ipf_fontset_font_for(const ipf_fontset *fs, uint32_t cp);

/* Advance width of cp in font i, in em (1.0 = the font size).  Code points the
 * font cannot draw return 0. */
double ipf_fontset_advance(const ipf_fontset *fs, size_t i, uint32_t cp);

/* Where the ink of punctuation mark cp lies in font i, in em from the
 * glyph's origin (left) to its right edge (right).  1 when known; 0 for a
 * code point that is not one of the compressible marks, or has no outline.
 * The line breaker trims a mark only where its em box is blank. */
int ipf_fontset_ink(const ipf_fontset *fs, size_t i, uint32_t cp, double *left, double *right);

/* Ascender and descender of font i in em (descender is negative). */
double ipf_fontset_ascent(const ipf_fontset *fs, size_t i);
double ipf_fontset_descent(const ipf_fontset *fs, size_t i);

#endif
