/* pdf_deflate.c: whole-buffer zlib streams through libdeflate.
 *
 * Why libdeflate and not zlib: every stream the writer compresses is already
 * complete in memory, which is libdeflate's model, and on the embedded font
 * subset (the bulk of a PDF) it is three times as fast as zlib at the same
 * size (measured on a 418 KB subset: zlib level 6 19.3 ms / 252.3 KB,
 * libdeflate level 6 6.9 ms / 252.1 KB; see docs/pdf-output.md).
 *
 * A compressor is allocated lazily per level and kept: allocation costs
 * more than compressing a small content stream. */
#include "pdf_deflate.h"

#include <libdeflate.h>
#include <stdlib.h>

#define NLEVELS 13 /* libdeflate levels 0..12 */

struct ipf_deflater {
    struct libdeflate_compressor *c[NLEVELS];
};

/* Levels per kind of data, from the measurements in docs/pdf-output.md.
 * Font programs: level 1, for batches.  On the national sample's 418 KB
 * subset libdeflate level 1 writes 256.7 KB against level 6's 252.1 KB
 * (1.8 % more) in about a third of the time (the font subset was 6-7 ms of
 * a 9.8 ms form); levels 2-4 are slower than 1 for almost nothing, 8 and up
 * cost 60 % more than 6 for 0.3 %.  Content streams and ToUnicode maps:
 * level 9 saves 0.1 KB per form over 6 for ~1 ms. */
static int level_for(ipf_deflate_kind kind)
{
    switch (kind) {
    case IPF_DEFLATE_CONTENT:
        return 6;
    case IPF_DEFLATE_FONT:
        return 1;
    case IPF_DEFLATE_ONCE:
    default:
        return 12; /* once per process */
    }
}

ipf_deflater *ipf_deflater_new(void)
{
    return calloc(1, sizeof(ipf_deflater));
}

void ipf_deflater_free(ipf_deflater *z)
{
    if (!z)
        return;
    for (int i = 0; i < NLEVELS; i++)
        libdeflate_free_compressor(z->c[i]);
    free(z);
}

int ipf_deflate(ipf_deflater *z, const void *src, size_t len, ipf_deflate_kind kind, ipf_buf *out)
{
    int level = level_for(kind);
    if (!z->c[level] && !(z->c[level] = libdeflate_alloc_compressor(level))) {
        out->oom = 1;
        return -1;
    }
    size_t bound = libdeflate_zlib_compress_bound(z->c[level], len);
    if (ipf_buf_reserve(out, bound) < 0)
        return -1;
    size_t n = libdeflate_zlib_compress(z->c[level], src, len, out->p + out->len, bound);
    if (n == 0) { /* cannot happen with a bound-sized buffer */
        out->oom = 1;
        return -1;
    }
    out->len += n;
    return 0;
}
