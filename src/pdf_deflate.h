/* pdf_deflate.h: compressing the PDF's streams (private to pdf*.c).
 *
 * libharu 2.3.0 deflates with zlib at its default level, a fresh z_stream
 * per stream; the writer instead compresses its own streams with libdeflate
 * (whole buffers, about three times zlib's speed at the same size) at a
 * level chosen per kind of data, and hands libharu finished /FlateDecode
 * bytes. */
#ifndef IPF_PDF_DEFLATE_H
#define IPF_PDF_DEFLATE_H

#include <stddef.h>

#include "pdf_util.h"

typedef enum ipf_deflate_kind {
    IPF_DEFLATE_CONTENT, /* page content streams, ToUnicode maps */
    IPF_DEFLATE_FONT,    /* embedded font programs */
    IPF_DEFLATE_ONCE     /* data compressed once per process (ICC profile) */
} ipf_deflate_kind;

typedef struct ipf_deflater ipf_deflater;

/* Owner: the caller; NULL when out of memory. */
ipf_deflater *ipf_deflater_new(void);
void ipf_deflater_free(ipf_deflater *z);

/* Appends src as a complete zlib (RFC 1950) stream to out.  0, or -1 when
 * out of memory (out->oom is then set). */
int ipf_deflate(ipf_deflater *z, const void *src, size_t len, ipf_deflate_kind kind, ipf_buf *out);

#endif
