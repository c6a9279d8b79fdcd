/* pdf_deflate.c: zlib with one z_stream kept across streams and documents.
 *
 * deflateInit allocates ~270 KB of state at level 6; deflateReset reuses it. */
#include "pdf_deflate.h"

#include <stdlib.h>
#include <zlib.h>

struct ipf_deflater {
    z_stream zs;
    int level;
};

static int level_for(ipf_deflate_kind kind)
{
    const char *e = getenv("IPF_ZLEVEL");
    if (e && kind == IPF_DEFLATE_FONT)
        return atoi(e);
    e = getenv("IPF_ZLEVEL_C");
    if (e && kind == IPF_DEFLATE_CONTENT)
        return atoi(e);
    switch (kind) {
    case IPF_DEFLATE_CONTENT:
        return 6;
    case IPF_DEFLATE_FONT:
        return 6;
    case IPF_DEFLATE_ONCE:
    default:
        return 9;
    }
}

ipf_deflater *ipf_deflater_new(void)
{
    ipf_deflater *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->level = 6;
    if (deflateInit(&z->zs, z->level) != Z_OK) {
        free(z);
        return NULL;
    }
    return z;
}

void ipf_deflater_free(ipf_deflater *z)
{
    if (!z)
        return;
    deflateEnd(&z->zs);
    free(z);
}

int ipf_deflate(ipf_deflater *z, const void *src, size_t len, ipf_deflate_kind kind, ipf_buf *out)
{
    int level = level_for(kind);
    if (deflateReset(&z->zs) != Z_OK)
        return -1;
    if (level != z->level) {
        if (deflateParams(&z->zs, level, Z_DEFAULT_STRATEGY) != Z_OK)
            return -1;
        z->level = level;
    }
    z->zs.next_in = (Bytef *)(uintptr_t)src;
    int rc = Z_OK;
    size_t left = len;
    while (rc != Z_STREAM_END) {
        uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
        z->zs.next_in = (Bytef *)(uintptr_t)((const unsigned char *)src + (len - left));
        z->zs.avail_in = chunk;
        size_t room = deflateBound(&z->zs, chunk) + 64;
        if (ipf_buf_reserve(out, room) < 0)
            return -1;
        z->zs.next_out = out->p + out->len;
        z->zs.avail_out =
            (uInt)(out->cap - out->len > (1u << 30) ? (1u << 30) : out->cap - out->len);
        uInt before = z->zs.avail_out;
        rc = deflate(&z->zs, chunk == left ? Z_FINISH : Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return -1;
        out->len += before - z->zs.avail_out;
        left -= chunk - z->zs.avail_in;
    }
    return 0;
}
