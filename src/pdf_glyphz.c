/* pdf_glyphz.c: one deflate block, codes fixed per font, glyphs cached.
 *
 * Format (RFC 1951): a single final block of type 2 (dynamic Huffman)
 * inside a zlib wrapper (RFC 1950).  Every literal/length and distance
 * symbol gets a code (all counts start at one), so any byte sequence can be
 * encoded with the per-font codes.  LZ77: hash chains over 3-byte
 * prefixes, matches only within the current run (a glyph, or a stretch
 * between glyphs), so that a glyph's encoding does not depend on its
 * neighbours.  A glyph, encoded once per process, gets the cheapest parse
 * under the fixed codes (its cost is exactly the bits written: 0.9 % fewer
 * bytes than lazy matching); the stretches between glyphs, encoded in every
 * document, are matched lazily, which is cheaper.
 *
 * Memory: the compressor owns its code tables, the match-finder tables and
 * one bit string per glyph encoded so far (about 60 % of the glyph's size). */
#include "pdf_glyphz.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#define NLITLEN   286
#define NDIST     30
#define NCL       19
#define HASH_BITS 13
#define WSIZE     32768
#define MAX_CHAIN 8
/* Glyphs: candidates per position (more finds nothing in glyph data),
 * matches taken whole from this length on, passes that refit the codes. */
#define OPT_CHAIN   8
#define NICE_MATCH  96
#define CODE_PASSES 1
#define MIN_MATCH   3
#define MAX_MATCH   258

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t cl_order[NCL] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};

typedef struct bits {
    unsigned char *p;
    size_t nbits;
} bits;

struct ipf_glyphz {
    uint8_t litlen_len[NLITLEN], dist_len[NDIST];
    uint16_t litlen_code[NLITLEN], dist_code[NDIST];
    uint8_t len_sym[MAX_MATCH + 1]; /* match length -> length code - 257 */
    /* match finder: positions are a running count over every run */
    int64_t head[1 << HASH_BITS];
    int64_t prev[WSIZE];
    int64_t pos;
    /* the optimal parse: costs in bits under the codes above, and its
     * per-run scratch (one entry per input position) */
    uint8_t lit_cost[256], len_cost[MAX_MATCH + 1], dist_cost[WSIZE + 1];
    uint8_t dsym_lo[257], dsym_hi[256];
    uint32_t *cost;
    uint16_t *step_len, *step_dist;
    size_t cap;
    bits *cache;       /* per key */
    size_t *cache_len; /* per key: the bytes it encodes (a check) */
    unsigned nkeys;
    uint32_t *freq_lit, *freq_dist; /* only while the codes are made */
    ipf_buf scratch;
};

/* ------------------------------------------------------------ bit writer */

typedef struct bw {
    ipf_buf *b;
    uint64_t acc;
    unsigned n;
} bw;

static void put_bits(bw *w, uint32_t v, unsigned k)
{
    w->acc |= (uint64_t)v << w->n;
    w->n += k;
    if (w->n >= 32) {
        if (ipf_buf_reserve(w->b, 4) == 0) {
            unsigned char *o = w->b->p + w->b->len;
            o[0] = (unsigned char)w->acc;
            o[1] = (unsigned char)(w->acc >> 8);
            o[2] = (unsigned char)(w->acc >> 16);
            o[3] = (unsigned char)(w->acc >> 24);
            w->b->len += 4;
        }
        w->acc >>= 32;
        w->n -= 32;
    }
}

static void flush_bytes(bw *w)
{
    while (w->n > 0) {
        ipf_buf_byte(w->b, (unsigned char)w->acc);
        w->acc >>= 8;
        w->n = w->n >= 8 ? w->n - 8 : 0;
    }
    w->acc = 0;
}

static void put_string(bw *w, const bits *s)
{
    size_t full = s->nbits / 8, i = 0;
    if (ipf_buf_reserve(w->b, full + 8) < 0)
        return;
    unsigned char *o = w->b->p + w->b->len;
    if (w->n == 0) {
        memcpy(o, s->p, full);
        o += full;
        i = full;
    } else {
        /* w->n < 32 between calls: 32 bits at a time through the accumulator */
        uint64_t acc = w->acc;
        unsigned nb = w->n;
        for (; i + 4 <= full; i += 4) {
            const unsigned char *q = s->p + i;
            uint32_t v =
                (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
            acc |= (uint64_t)v << nb;
            o[0] = (unsigned char)acc;
            o[1] = (unsigned char)(acc >> 8);
            o[2] = (unsigned char)(acc >> 16);
            o[3] = (unsigned char)(acc >> 24);
            o += 4;
            acc >>= 32;
        }
        w->acc = acc;
    }
    w->b->len = (size_t)(o - w->b->p);
    for (; i < full; i++)
        put_bits(w, s->p[i], 8);
    unsigned rest = (unsigned)(s->nbits % 8);
    if (rest)
        put_bits(w, s->p[full] & ((1u << rest) - 1), rest);
}

/* ------------------------------------------------------------ Huffman codes */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Code lengths for freq (every entry > 0) no longer than limit: a Huffman
 * tree by the two-queue method over the sorted leaves, rebuilt from halved
 * counts while it is too deep. */
static void huff_lengths(const uint32_t *freq_in, int n, int limit, uint8_t *len)
{
    uint32_t freq[NLITLEN];
    for (int i = 0; i < n; i++)
        freq[i] = freq_in[i] ? freq_in[i] : 1;
    if (n == 1) {
        len[0] = 1;
        return;
    }
    for (;;) {
        /* leaves by count, equal counts in symbol order */
        uint64_t key[NLITLEN];
        int order[NLITLEN];
        for (int i = 0; i < n; i++)
            key[i] = (uint64_t)freq[i] << 16 | (unsigned)i;
        qsort(key, (size_t)n, sizeof *key, cmp_u64);
        for (int i = 0; i < n; i++)
            order[i] = (int)(key[i] & 0xFFFF);
        uint64_t w[2 * NLITLEN];
        int parent[2 * NLITLEN];
        for (int i = 0; i < n; i++) {
            w[i] = freq[order[i]];
            parent[i] = -1;
        }
        int leaf = 0, inner = n, nodes = n;
        for (int left = n; left > 1; left--) {
            int pick[2];
            for (int t = 0; t < 2; t++) {
                if (leaf < n && (inner >= nodes || w[leaf] <= w[inner]))
                    pick[t] = leaf++;
                else
                    pick[t] = inner++;
            }
            w[nodes] = w[pick[0]] + w[pick[1]];
            parent[nodes] = -1;
            parent[pick[0]] = parent[pick[1]] = nodes;
            nodes++;
        }
        /* depths: parents come after their children */
        int depth[2 * NLITLEN];
        depth[nodes - 1] = 0;
        for (int k = nodes - 2; k >= 0; k--)
            depth[k] = depth[parent[k]] + 1;
        int max = 0;
        for (int i = 0; i < n; i++) {
            len[order[i]] = (uint8_t)depth[i];
            if (depth[i] > max)
                max = depth[i];
        }
        if (max <= limit)
            return;
        for (int i = 0; i < n; i++)
            freq[i] = (freq[i] + 1) / 2;
    }
}

static uint16_t reverse(uint16_t code, int len)
{
    uint16_t r = 0;
    for (int i = 0; i < len; i++) {
        r = (uint16_t)((r << 1) | (code & 1));
        code >>= 1;
    }
    return r;
}

/* Canonical codes, bit-reversed for LSB-first output. */
static void huff_codes(const uint8_t *len, int n, uint16_t *code)
{
    unsigned count[16] = {0}, next[16];
    for (int i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    unsigned c = 0;
    for (int b = 1; b < 16; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (int i = 0; i < n; i++)
        if (len[i])
            code[i] = reverse((uint16_t)next[len[i]]++, len[i]);
}

/* ------------------------------------------------------------ LZ77 */

static int dist_sym(const ipf_glyphz *z, unsigned d)
{
    return d <= 256 ? z->dsym_lo[d] : z->dsym_hi[(d - 1) >> 7];
}

typedef struct sink {
    ipf_glyphz *z;
    bw *w; /* emit, or NULL: count */
} sink;

static void literal(sink *s, unsigned char c)
{
    if (s->w)
        put_bits(s->w, s->z->litlen_code[c], s->z->litlen_len[c]);
    else
        s->z->freq_lit[c]++;
}

static void match(sink *s, unsigned len, unsigned dist)
{
    ipf_glyphz *z = s->z;
    int ls = z->len_sym[len], ds = dist_sym(z, dist);
    if (s->w) {
        put_bits(s->w, z->litlen_code[257 + ls], z->litlen_len[257 + ls]);
        if (len_extra[ls])
            put_bits(s->w, len - len_base[ls], len_extra[ls]);
        put_bits(s->w, z->dist_code[ds], z->dist_len[ds]);
        if (dist_extra[ds])
            put_bits(s->w, dist - dist_base[ds], dist_extra[ds]);
    } else {
        z->freq_lit[257 + ls]++;
        z->freq_dist[ds]++;
    }
}

static unsigned hash3(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void insert(ipf_glyphz *z, const unsigned char *p, size_t i, size_t n)
{
    if (i + MIN_MATCH > n)
        return;
    unsigned h = hash3(p + i);
    int64_t g = z->pos + (int64_t)i;
    z->prev[g & (WSIZE - 1)] = z->head[h];
    z->head[h] = g;
}

/* The longest match for p[i..] among earlier positions of this run. */
static unsigned longest(ipf_glyphz *z, const unsigned char *p, size_t i, size_t n, unsigned *dist)
{
    if (i + MIN_MATCH > n)
        return 0;
    int64_t g = z->pos + (int64_t)i, start = z->pos;
    int64_t cand = z->head[hash3(p + i)];
    unsigned best = 0, chain = MAX_CHAIN;
    size_t max = n - i < MAX_MATCH ? n - i : MAX_MATCH;
    while (cand >= start && g - cand <= WSIZE && chain--) {
        const unsigned char *a = p + i, *b = p + (size_t)(cand - start);
        if (b[best] == a[best]) {
            unsigned k = 0;
            while (k < max && a[k] == b[k])
                k++;
            if (k > best) {
                best = k;
                *dist = (unsigned)(g - cand);
                if (k == max)
                    break;
            }
        }
        cand = z->prev[cand & (WSIZE - 1)];
        if (cand >= g)
            break;
    }
    return best >= MIN_MATCH ? best : 0;
}

/* One run, encoded or counted. */
static void lz_run(sink *s, const unsigned char *p, size_t n)
{
    ipf_glyphz *z = s->z;
    size_t i = 0;
    unsigned next_len = 0, next_d = 0;
    int have_next = 0;
    while (i < n) {
        unsigned d = 0, len;
        if (have_next) {
            len = next_len;
            d = next_d;
            have_next = 0;
        } else {
            len = longest(z, p, i, n, &d);
        }
        if (len && len < MAX_MATCH && i + 1 < n) {
            /* lazy: a longer match one byte on wins (and is kept for then) */
            insert(z, p, i, n);
            next_len = longest(z, p, i + 1, n, &next_d);
            if (next_len > len) {
                literal(s, p[i]);
                i++;
                have_next = 1;
                continue;
            }
            match(s, len, d);
            for (size_t k = 1; k < len; k++)
                insert(z, p, i + k, n);
            i += len;
        } else if (len) {
            for (size_t k = 0; k < len; k++)
                insert(z, p, i + k, n);
            match(s, len, d);
            i += len;
        } else {
            insert(z, p, i, n);
            literal(s, p[i]);
            i++;
        }
    }
    /* Positions of this run are never matched again. */
    z->pos += (int64_t)n + WSIZE;
}

/* The costs of every symbol under the current codes. */
static void set_costs(ipf_glyphz *z)
{
    for (int c = 0; c < 256; c++)
        z->lit_cost[c] = z->litlen_len[c];
    for (unsigned l = MIN_MATCH; l <= MAX_MATCH; l++) {
        int ls = z->len_sym[l];
        z->len_cost[l] = (uint8_t)(z->litlen_len[257 + ls] + len_extra[ls]);
    }
    for (unsigned d = 1; d <= WSIZE; d++) {
        int ds = dist_sym(z, d);
        z->dist_cost[d] = (uint8_t)(z->dist_len[ds] + dist_extra[ds]);
    }
}

static int reserve_parse(ipf_glyphz *z, size_t n)
{
    /* three arrays side by side, one entry per input position */
    size_t cc = z->cap, cl = z->cap, cd = z->cap;
    if (IPF_GROW(z->cost, cc, n + 1) < 0 || IPF_GROW(z->step_len, cl, n + 1) < 0 ||
        IPF_GROW(z->step_dist, cd, n + 1) < 0)
        return -1;
    z->cap = cc;
    return 0;
}

/* One run, parsed into the cheapest sequence of literals and matches under
 * the current codes (every match found along the hash chain, each length
 * up to it, at its nearest distance), then encoded or counted.  Since the
 * codes are fixed, the cost is exactly the bits written.  -1 when out of
 * memory. */
static int opt_run(sink *s, const unsigned char *p, size_t n)
{
    ipf_glyphz *z = s->z;
    if (reserve_parse(z, n) < 0)
        return -1;
    uint32_t *cost = z->cost;
    uint16_t *sl = z->step_len, *sd = z->step_dist;
    cost[0] = 0;
    for (size_t i = 1; i <= n; i++)
        cost[i] = UINT32_MAX;
    int64_t start = z->pos;
    /* the 3 bytes at i, rolled on (hash3 without re-reading them) */
    uint32_t v3 = n >= 2 ? (uint32_t)p[0] << 8 | p[1] : 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cost[i], t = c + z->lit_cost[p[i]];
        if (t < cost[i + 1]) {
            cost[i + 1] = t;
            sl[i + 1] = 1;
        }
        if (i + MIN_MATCH > n)
            continue;
        int64_t g = start + (int64_t)i;
        v3 = (v3 << 8 | p[i + 2]) & 0xFFFFFF;
        unsigned h = (v3 * 2654435761u) >> (32 - HASH_BITS);
        int64_t cand = z->head[h];
        z->prev[g & (WSIZE - 1)] = cand;
        z->head[h] = g;
        unsigned best = MIN_MATCH - 1, chain = OPT_CHAIN;
        size_t max = n - i < MAX_MATCH ? n - i : MAX_MATCH;
        const unsigned char *a = p + i;
        while (cand >= start && g - cand <= WSIZE && chain--) {
            const unsigned char *b = p + (size_t)(cand - start);
            if (b[best] == a[best] && b[0] == a[0] && b[1] == a[1]) {
                unsigned k = 2;
                while (k < max && a[k] == b[k])
                    k++;
                if (k > best) {
                    unsigned d = (unsigned)(g - cand);
                    uint32_t cd = c + z->dist_cost[d];
                    for (unsigned l = best + 1; l <= k; l++) {
                        uint32_t u = cd + z->len_cost[l];
                        if (u < cost[i + l]) {
                            cost[i + l] = u;
                            sl[i + l] = (uint16_t)l;
                            sd[i + l] = (uint16_t)d;
                        }
                    }
                    best = k;
                    if (k == max)
                        break;
                }
            }
            int64_t next = z->prev[cand & (WSIZE - 1)];
            if (next >= cand)
                break;
            cand = next;
        }
        if (best >= NICE_MATCH) {
            /* A long match is taken as it is: its inner positions are only
             * indexed, which bounds the work on repetitive input. */
            for (size_t k = 1; k < best; k++)
                insert(z, p, i + k, n);
            i += best - 1;
            if (i + 1 + MIN_MATCH <= n) /* the rolled bytes: those at i + 1 */
                v3 = (uint32_t)p[i + 1] << 8 | p[i + 2];
        }
    }
    /* Back from the end, the steps stored from the top of cost[] (no
     * longer needed: at most n of them), then written forward. */
    uint32_t *steps = cost;
    size_t k = n + 1;
    for (size_t j = n; j > 0; j -= sl[j])
        steps[--k] = (uint32_t)j;
    for (size_t q = k; q <= n; q++) {
        size_t j = steps[q];
        if (sl[j] == 1)
            literal(s, p[j - 1]);
        else
            match(s, sl[j], sd[j]);
    }
    z->pos += (int64_t)n + WSIZE;
    return 0;
}

/* ------------------------------------------------------------ the compressor */

ipf_glyphz *ipf_glyphz_new(const unsigned char *const *sample, const size_t *sample_len, size_t n,
                           unsigned nkeys)
{
    ipf_glyphz *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->nkeys = nkeys;
    z->cache = calloc(nkeys ? nkeys : 1, sizeof *z->cache);
    z->cache_len = calloc(nkeys ? nkeys : 1, sizeof *z->cache_len);
    z->freq_lit = calloc(NLITLEN, sizeof *z->freq_lit);
    z->freq_dist = calloc(NDIST, sizeof *z->freq_dist);
    if (!z->cache || !z->cache_len || !z->freq_lit || !z->freq_dist) {
        ipf_glyphz_free(z);
        return NULL;
    }
    for (int i = 0; i < (1 << HASH_BITS); i++)
        z->head[i] = -1;
    for (int s = 0; s < 29; s++) {
        unsigned top = s == 28 ? 258 : (unsigned)len_base[s + 1] - 1;
        for (unsigned l = len_base[s]; l <= top && l <= MAX_MATCH; l++)
            z->len_sym[l] = (uint8_t)s;
    }
    z->len_sym[258] = 28;
    for (unsigned d = 1; d <= 256; d++) {
        int ds = 0;
        while (ds < 29 && dist_base[ds + 1] <= d)
            ds++;
        z->dsym_lo[d] = (uint8_t)ds;
    }
    for (unsigned k = 0; k < 256; k++) {
        unsigned d = (k << 7) + 1;
        int ds = 0;
        while (ds < 29 && dist_base[ds + 1] <= d)
            ds++;
        z->dsym_hi[k] = (uint8_t)ds;
    }
    /* First codes from a greedy parse of the sample, then codes from the
     * optimal parse under the previous codes, until they settle. */
    sink s = {z, NULL};
    for (int pass = 0; pass <= CODE_PASSES; pass++) {
        memset(z->freq_lit, 0, NLITLEN * sizeof *z->freq_lit);
        memset(z->freq_dist, 0, NDIST * sizeof *z->freq_dist);
        for (size_t i = 0; i < n; i++) {
            if (pass == 0)
                lz_run(&s, sample[i], sample_len[i]);
            else if (opt_run(&s, sample[i], sample_len[i]) < 0) {
                ipf_glyphz_free(z);
                return NULL;
            }
        }
        /* Every symbol can occur: none may be left without a code. */
        for (int i = 0; i < NLITLEN; i++)
            z->freq_lit[i] = z->freq_lit[i] * 4 + 1;
        for (int i = 0; i < NDIST; i++)
            z->freq_dist[i] = z->freq_dist[i] * 4 + 1;
        huff_lengths(z->freq_lit, NLITLEN, 15, z->litlen_len);
        huff_lengths(z->freq_dist, NDIST, 15, z->dist_len);
        set_costs(z);
    }
    huff_codes(z->litlen_len, NLITLEN, z->litlen_code);
    huff_codes(z->dist_len, NDIST, z->dist_code);
    free(z->freq_lit);
    free(z->freq_dist);
    z->freq_lit = z->freq_dist = NULL;
    return z;
}

void ipf_glyphz_free(ipf_glyphz *z)
{
    if (!z)
        return;
    for (unsigned i = 0; z->cache && i < z->nkeys; i++)
        free(z->cache[i].p);
    free(z->cache);
    free(z->cache_len);
    free(z->freq_lit);
    free(z->freq_dist);
    free(z->cost);
    free(z->step_len);
    free(z->step_dist);
    ipf_buf_free(&z->scratch);
    free(z);
}

/* The block header: the two code tables, run-length coded. */
static void header(ipf_glyphz *z, bw *w)
{
    uint8_t all[NLITLEN + NDIST];
    memcpy(all, z->litlen_len, NLITLEN);
    memcpy(all + NLITLEN, z->dist_len, NDIST);
    /* run-length symbols: (sym, extra value) */
    uint8_t sym[NLITLEN + NDIST], extra[NLITLEN + NDIST];
    size_t ns = 0;
    for (size_t i = 0; i < sizeof all;) {
        size_t run = 1;
        while (i + run < sizeof all && all[i + run] == all[i])
            run++;
        if (all[i] == 0 && run >= 3) {
            size_t r = run > 138 ? 138 : run;
            sym[ns] = r >= 11 ? 18 : 17;
            extra[ns++] = (uint8_t)(r >= 11 ? r - 11 : r - 3);
            i += r;
        } else if (all[i] != 0 && run >= 4) {
            sym[ns] = all[i];
            extra[ns++] = 0;
            size_t r = run - 1 > 6 ? 6 : run - 1;
            sym[ns] = 16;
            extra[ns++] = (uint8_t)(r - 3);
            i += 1 + r;
        } else {
            sym[ns] = all[i];
            extra[ns++] = 0;
            i++;
        }
    }
    uint32_t cf[NCL] = {0};
    for (size_t i = 0; i < ns; i++)
        cf[sym[i]]++;
    uint8_t cl_len[NCL];
    uint16_t cl_code[NCL];
    /* Only symbols in use get a code here (the header must be complete). */
    uint32_t used[NCL];
    int idx[NCL], nu = 0;
    for (int i = 0; i < NCL; i++)
        if (cf[i])
            idx[nu] = i, used[nu++] = cf[i];
    uint8_t ul[NCL];
    huff_lengths(used, nu, 7, ul);
    memset(cl_len, 0, sizeof cl_len);
    for (int k = 0; k < nu; k++)
        cl_len[idx[k]] = ul[k];
    memset(cl_code, 0, sizeof cl_code);
    huff_codes(cl_len, NCL, cl_code);
    int hclen = NCL;
    while (hclen > 4 && cl_len[cl_order[hclen - 1]] == 0)
        hclen--;
    put_bits(w, 1, 1); /* BFINAL */
    put_bits(w, 2, 2); /* dynamic Huffman */
    put_bits(w, NLITLEN - 257, 5);
    put_bits(w, NDIST - 1, 5);
    put_bits(w, (uint32_t)(hclen - 4), 4);
    for (int i = 0; i < hclen; i++)
        put_bits(w, cl_len[cl_order[i]], 3);
    for (size_t i = 0; i < ns; i++) {
        put_bits(w, cl_code[sym[i]], cl_len[sym[i]]);
        if (sym[i] == 16)
            put_bits(w, extra[i], 2);
        else if (sym[i] == 17)
            put_bits(w, extra[i], 3);
        else if (sym[i] == 18)
            put_bits(w, extra[i], 7);
    }
}

/* The glyph's bits, encoded on first use. */
static const bits *cached(ipf_glyphz *z, const unsigned char *p, size_t n, unsigned key)
{
    bits *b = &z->cache[key];
    if (b->p && z->cache_len[key] == n)
        return b;
    free(b->p);
    b->p = NULL;
    z->scratch.len = 0;
    bw w = {&z->scratch, 0, 0};
    sink s = {z, &w};
    if (opt_run(&s, p, n) < 0)
        return NULL;
    size_t nbits = z->scratch.len * 8 + w.n;
    flush_bytes(&w);
    if (z->scratch.oom)
        return NULL;
    b->p = malloc(z->scratch.len ? z->scratch.len : 1);
    if (!b->p)
        return NULL;
    memcpy(b->p, z->scratch.p, z->scratch.len);
    b->nbits = nbits;
    z->cache_len[key] = n;
    return b;
}

int ipf_glyphz_deflate(ipf_glyphz *z, const unsigned char *raw, size_t len,
                       const ipf_glyphz_seg *segs, size_t nsegs, ipf_buf *out)
{
    /* zlib header: deflate, 32 KiB window, no dictionary, check bits */
    ipf_buf_byte(out, 0x78);
    ipf_buf_byte(out, 0x01);
    bw w = {out, 0, 0};
    sink s = {z, &w};
    header(z, &w);
    size_t at = 0;
    for (size_t i = 0; i <= nsegs; i++) {
        size_t start = i < nsegs ? segs[i].off : len;
        if (start > at) {
            lz_run(&s, raw + at, start - at);
            at = start;
        }
        if (i == nsegs)
            break;
        const ipf_glyphz_seg *g = &segs[i];
        if (g->len == 0)
            continue;
        const bits *b = g->key >= 0 && (unsigned long)g->key < z->nkeys
                            ? cached(z, raw + g->off, g->len, (unsigned)g->key)
                            : NULL;
        if (b)
            put_string(&w, b);
        else if (g->key >= 0 && (unsigned long)g->key < z->nkeys)
            return out->oom = 1, -1;
        else
            lz_run(&s, raw + g->off, g->len);
        at = g->off + g->len;
    }
    put_bits(&w, z->litlen_code[256], z->litlen_len[256]);
    flush_bytes(&w);
    uint32_t a = libdeflate_adler32(1, raw, len);
    ipf_buf_u32(out, a);
    return out->oom ? -1 : 0;
}
