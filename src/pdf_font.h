/* pdf_font.h: TrueType fonts as the PDF writer embeds them (private to pdf*.c).
 *
 * A font is opened once per writer: the file is mapped, its tables checked,
 * its cmap turned into a 65,536-entry table.  Per document the writer asks for
 * a subset: a small TrueType file holding only the glyphs used, numbered
 * 1..n in the order given (glyph 0 stays .notdef), ready to be the PDF's
 * FontFile2 with CIDToGIDMap /Identity. */
#ifndef IPF_PDF_FONT_H
#define IPF_PDF_FONT_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "pdf_deflate.h"
#include "pdf_util.h"

typedef struct ipf_ttf ipf_ttf;

/* What the font descriptor needs; lengths in 1/1000 em. */
typedef struct ipf_ttf_info {
    char psname[64]; /* PostScript name (name ID 6), only [A-Za-z0-9_.-] kept */
    unsigned units_per_em;
    unsigned num_glyphs;
    int bbox[4];
    int ascent, descent, cap_height;
    int italic_angle; /* degrees, rounded */
    int fixed_pitch;
    int stem_v;
} ipf_ttf_info;

/* Opens and checks path.  Errors (FONT-LOAD, naming the file) go to d.
 * Owner of *out: the caller, freed with ipf_ttf_free(). */
ipf_status ipf_ttf_open(const char *path, ipf_diags *d, ipf_ttf **out);
void ipf_ttf_free(ipf_ttf *f);

const ipf_ttf_info *ipf_ttf_get_info(const ipf_ttf *f);

/* The glyph cp maps to (0 when the font cannot draw it or cp > U+FFFF). */
unsigned ipf_ttf_glyph(const ipf_ttf *f, uint32_t cp);

/* Advance of glyph gid in 1/1000 em, truncated (as the fontset measures). */
unsigned ipf_ttf_width(const ipf_ttf *f, unsigned gid);

/* The outline's bounding box of glyph gid in em (xMin, yMin, xMax, yMax, from
 * its glyf header); -1 for an empty glyph or a bad gid. */
int ipf_ttf_glyph_box(const ipf_ttf *f, unsigned gid, double box[4]);
/* Advance of glyph gid in em, not rounded. */
double ipf_ttf_advance_em(const ipf_ttf *f, unsigned gid);

/* Appends to out the subset font as a zlib (RFC 1950) stream made with z: glyph k of
 * the subset (1 <= k <= n) is glyph gids[k-1] of f, or, when extra is given
 * and extra[k-1] > 0, a composite of that glyph whose advance is wider by
 * extra[k-1] font units (a letter-spaced character: readers see no gap
 * between it and the next, so no word break); composite glyphs bring
 * their components along as further glyphs after n.  *raw_len receives the
 * uncompressed size (the FontFile2 /Length1), *num_glyphs the subset's glyph
 * count (n + 1 + components: what the CIDSet must list).  Returns 0, or -1
 * when out of memory.  Not thread-safe for one f (it keeps per-process
 * caches). */
int ipf_ttf_subset(ipf_ttf *f, const uint16_t *gids, const uint16_t *extra, size_t n,
                   ipf_deflater *z, ipf_buf *out, size_t *raw_len, size_t *num_glyphs);
/* Width in 1/1000 em, truncated, of glyph gid widened by extra font units. */
unsigned ipf_ttf_width_plus(const ipf_ttf *f, unsigned gid, unsigned extra);

#endif
