/* pdf_font.c: reading a TrueType font once and writing per-document subsets.
 *
 * Why not libharu's own embedding: libharu 2.3.0 re-reads the font file for
 * every document, maps all 65,536 BMP code points through the cmap, copies
 * the font's whole loca, hmtx and cmap plus a 65,536-entry CIDToGIDMap into
 * every PDF and deflates all of it at zlib's default level (docs/fonts.md:
 * 29 ms and 292 KB for a one-page form).  Here the font is parsed once per
 * writer and a document gets a real subset (only its glyphs, renumbered), so
 * the PDF needs no CIDToGIDMap stream (/Identity) and no cmap.
 *
 * Memory: an ipf_ttf owns its file mapping, its cmap table and its scratch
 * buffers; nothing it returns needs freeing by the caller. */
#include "pdf_font.h"
#include "pdf_glyphz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAG(a, b, c, d)                                                                            \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

typedef struct table {
    const unsigned char *p;
    uint32_t len;
} table;

struct ipf_ttf {
    unsigned char *map; /* the whole file (mmap, or malloc when mmap fails) */
    size_t size;
    int mapped;
    table head, hhea, maxp, hmtx, loca, glyf, cvt, fpgm, prep;
    unsigned nhm;  /* numberOfHMetrics */
    int long_loca; /* indexToLocFormat */
    ipf_ttf_info info;
    uint16_t cmap[65536];
    /* subset scratch, reused per document */
    uint32_t *gen;   /* per glyph: subset generation that last saw it */
    uint16_t *newid; /* per glyph: its number in that subset */
    uint32_t *gsum;  /* per glyph: its checksum (padded to 4 bytes) + 1, 0 = not yet */
    uint32_t cur_gen;
    uint16_t *list; /* subset glyph -> original glyph */
    size_t nlist, caplist;
    ipf_buf raw; /* the uncompressed subset */
    /* glyphs compressed once per process (pdf_glyphz.h), made on first use */
    ipf_glyphz *gz;
    int gz_failed;
    ipf_glyphz_seg *segs;
    size_t capsegs;
};

static void load_error(ipf_diags *d, const char *path, const char *why)
{
    ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "FONT-LOAD", "无法嵌入字体文件“%s”：%s", path, why);
}

static int find_table(const unsigned char *f, size_t size, uint32_t tag, table *t)
{
    unsigned n = ipf_rd16(f + 4);
    for (unsigned i = 0; i < n; i++) {
        const unsigned char *r = f + 12 + 16 * (size_t)i;
        if (ipf_rd32(r) != tag)
            continue;
        uint32_t off = ipf_rd32(r + 8), len = ipf_rd32(r + 12);
        if (off > size || len > size - off)
            return -1;
        t->p = f + off;
        t->len = len;
        return 1;
    }
    t->p = NULL;
    t->len = 0;
    return 0;
}

static int scale(const ipf_ttf *f, int v)
{
    return (int)((long)v * 1000 / (long)f->info.units_per_em);
}

static int16_t s16(const unsigned char *p)
{
    return (int16_t)ipf_rd16(p);
}

/* Name ID 6 as ASCII, keeping only characters allowed in a PDF name without
 * escapes and meaningful in a BaseFont. */
static void read_psname(const unsigned char *f, size_t size, ipf_ttf_info *info)
{
    table name;
    size_t o = 0;
    info->psname[0] = '\0';
    if (find_table(f, size, TAG('n', 'a', 'm', 'e'), &name) == 1 && name.len >= 6) {
        unsigned count = ipf_rd16(name.p + 2), strings = ipf_rd16(name.p + 4);
        for (unsigned i = 0; i < count && 6 + 12 * (size_t)(i + 1) <= name.len; i++) {
            const unsigned char *r = name.p + 6 + 12 * (size_t)i;
            unsigned plat = ipf_rd16(r), id = ipf_rd16(r + 6);
            unsigned len = ipf_rd16(r + 8), off = ipf_rd16(r + 10);
            if (id != 6 || (plat != 3 && plat != 1) || (size_t)strings + off + len > name.len)
                continue;
            const unsigned char *s = name.p + strings + off;
            unsigned step = plat == 3 ? 2 : 1;
            for (unsigned k = 0; k + step <= len && o < sizeof info->psname - 1; k += step) {
                unsigned c = plat == 3 ? ipf_rd16(s + k) : s[k];
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.')
                    info->psname[o++] = (char)c;
            }
            break;
        }
    }
    if (o == 0)
        strcpy(info->psname, "Font");
    else
        info->psname[o] = '\0';
}

/* The cmap libharu (and the fontset) read: the first (3,1), else (0,x),
 * format-4 subtable.  Mapping per the OpenType specification. */
static int read_cmap(ipf_ttf *f, const table *cmap)
{
    if (cmap->len < 4)
        return -1;
    unsigned n = ipf_rd16(cmap->p + 2);
    const unsigned char *sub = NULL;
    size_t sublen = 0;
    for (int pass = 0; pass < 2 && !sub; pass++) {
        for (unsigned i = 0; i < n && 4 + 8 * (size_t)(i + 1) <= cmap->len; i++) {
            const unsigned char *r = cmap->p + 4 + 8 * (size_t)i;
            unsigned plat = ipf_rd16(r), enc = ipf_rd16(r + 2);
            uint32_t off = ipf_rd32(r + 4);
            if (off > cmap->len - 4u || ipf_rd16(cmap->p + off) != 4)
                continue;
            if ((pass == 0 && plat == 3 && enc == 1) || (pass == 1 && plat == 0)) {
                sub = cmap->p + off;
                sublen = cmap->len - off;
                break;
            }
        }
    }
    if (!sub || sublen < 16)
        return -1;
    size_t segs = ipf_rd16(sub + 6) / 2;
    if (16 + 8 * segs > sublen)
        return -1;
    const unsigned char *ends = sub + 14, *starts = sub + 16 + 2 * segs;
    const unsigned char *deltas = starts + 2 * segs, *ranges = deltas + 2 * segs;
    unsigned ng = f->info.num_glyphs;
    for (size_t i = 0; i < segs; i++) {
        unsigned end = ipf_rd16(ends + 2 * i), start = ipf_rd16(starts + 2 * i);
        unsigned delta = ipf_rd16(deltas + 2 * i), ro = ipf_rd16(ranges + 2 * i);
        for (unsigned c = start; c <= end && c <= 0xFFFF; c++) {
            unsigned g;
            if (ro == 0) {
                g = (c + delta) & 0xFFFF;
            } else {
                size_t at = (size_t)(ranges + 2 * i - sub) + ro + 2 * (size_t)(c - start);
                if (at + 2 > sublen)
                    break;
                g = ipf_rd16(sub + at);
                if (g)
                    g = (g + delta) & 0xFFFF;
            }
            f->cmap[c] = (uint16_t)(g < ng ? g : 0);
        }
    }
    return 0;
}

static int read_file(const char *path, ipf_ttf *f, ipf_diags *d)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "FONT-LOAD", "无法打开字体文件“%s”（%s）", path,
                     strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 12 ||
        (unsigned long long)sb.st_size > (size_t)-1 / 2) {
        close(fd);
        load_error(d, path, "不是 TrueType 字体文件");
        return -1;
    }
    f->size = (size_t)sb.st_size;
    void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
        f->map = m;
        f->mapped = 1;
        close(fd);
        return 0;
    }
    f->map = malloc(f->size);
    size_t got = 0;
    while (f->map && got < f->size) {
        ssize_t r = read(fd, f->map + got, f->size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!f->map || got != f->size) {
        load_error(d, path, f->map ? "读取失败" : "内存不足");
        return -1;
    }
    return 0;
}

ipf_status ipf_ttf_open(const char *path, ipf_diags *d, ipf_ttf **out)
{
    *out = NULL;
    ipf_ttf *f = calloc(1, sizeof *f);
    if (!f) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "NOMEM", "内存不足");
        return IPF_ERR_NOMEM;
    }
    if (read_file(path, f, d) < 0) {
        ipf_ttf_free(f);
        return IPF_ERR_FONT;
    }
    const unsigned char *b = f->map;
    uint32_t version = ipf_rd32(b);
    const char *why = NULL;
    table cmap = {0}, os2 = {0}, post = {0};
    if (version == TAG('O', 'T', 'T', 'O'))
        why = "这是 CFF 轮廓的 OpenType 字体，请先用 tools/make-font.py 转换为 TrueType";
    else if (version == TAG('t', 't', 'c', 'f'))
        why = "这是字体集（TTC），请给出单个字体";
    else if (version != 0x00010000u && version != TAG('t', 'r', 'u', 'e'))
        why = "不是 TrueType 字体文件";
    else if (12 + 16 * (size_t)ipf_rd16(b + 4) > f->size)
        why = "字体文件已损坏（表目录越界）";
    else {
        struct {
            uint32_t tag;
            table *t;
            uint32_t min;
        } req[] = {{TAG('h', 'e', 'a', 'd'), &f->head, 54}, {TAG('h', 'h', 'e', 'a'), &f->hhea, 36},
                   {TAG('m', 'a', 'x', 'p'), &f->maxp, 6},  {TAG('h', 'm', 't', 'x'), &f->hmtx, 4},
                   {TAG('l', 'o', 'c', 'a'), &f->loca, 4},  {TAG('g', 'l', 'y', 'f'), &f->glyf, 0},
                   {TAG('c', 'm', 'a', 'p'), &cmap, 4}};
        for (size_t i = 0; i < sizeof req / sizeof req[0] && !why; i++)
            if (find_table(b, f->size, req[i].tag, req[i].t) != 1 || req[i].t->len < req[i].min)
                why =
                    "缺少 TrueType 必需的表（head、hhea、maxp、hmtx、loca、glyf、cmap）或表已损坏";
        const uint32_t opt[] = {TAG('c', 'v', 't', ' '), TAG('f', 'p', 'g', 'm'),
                                TAG('p', 'r', 'e', 'p'), TAG('O', 'S', '/', '2'),
                                TAG('p', 'o', 's', 't')};
        table *optt[] = {&f->cvt, &f->fpgm, &f->prep, &os2, &post};
        for (size_t i = 0; i < 5 && !why; i++)
            if (find_table(b, f->size, opt[i], optt[i]) < 0)
                why = "字体文件已损坏（表越界）";
    }
    if (!why) {
        ipf_ttf_info *in = &f->info;
        in->units_per_em = ipf_rd16(f->head.p + 18);
        in->num_glyphs = ipf_rd16(f->maxp.p + 4);
        f->long_loca = s16(f->head.p + 50) == 1;
        f->nhm = ipf_rd16(f->hhea.p + 34);
        if (in->units_per_em < 16 || in->units_per_em > 16384)
            why = "head 表的 unitsPerEm 无效";
        else if (in->num_glyphs == 0 || f->nhm == 0 || f->nhm > in->num_glyphs ||
                 f->hmtx.len < 4 * (size_t)f->nhm + 2 * (size_t)(in->num_glyphs - f->nhm))
            why = "hmtx 表与字形数不符";
        else if (f->loca.len < (size_t)(in->num_glyphs + 1) * (f->long_loca ? 4 : 2))
            why = "loca 表与字形数不符";
        else if (f->maxp.len < 32 && ipf_rd32(f->maxp.p) != 0x00010000u)
            why = "maxp 表不是 TrueType 版本 1.0";
    }
    if (!why) {
        ipf_ttf_info *in = &f->info;
        read_psname(b, f->size, in);
        for (int i = 0; i < 4; i++)
            in->bbox[i] = scale(f, s16(f->head.p + 36 + 2 * i));
        in->ascent = scale(f, s16(f->hhea.p + 4));
        in->descent = scale(f, s16(f->hhea.p + 6));
        in->cap_height = in->ascent;
        unsigned weight = 400;
        if (os2.len >= 8)
            weight = ipf_rd16(os2.p + 4);
        if (os2.len >= 90 && ipf_rd16(os2.p) >= 2 && s16(os2.p + 88) > 0)
            in->cap_height = scale(f, s16(os2.p + 88));
        if (weight < 100 || weight > 1000)
            weight = 400;
        in->stem_v = (int)(50 + (weight / 65) * (weight / 65)); /* the usual estimate */
        if (post.len >= 16) {
            int32_t a = (int32_t)ipf_rd32(post.p + 4);
            in->italic_angle = (int)((a + (a >= 0 ? 0x8000 : -0x8000)) / 65536);
            in->fixed_pitch = ipf_rd32(post.p + 12) != 0;
        }
        if (read_cmap(f, &cmap) < 0)
            why = "没有 Unicode（3,1 或 0,x）格式 4 的 cmap 子表";
    }
    if (!why) {
        f->gen = calloc(f->info.num_glyphs, sizeof *f->gen);
        f->newid = calloc(f->info.num_glyphs, sizeof *f->newid);
        f->gsum = calloc(f->info.num_glyphs, sizeof *f->gsum);
        if (!f->gen || !f->newid || !f->gsum) {
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "NOMEM", "内存不足");
            ipf_ttf_free(f);
            return IPF_ERR_NOMEM;
        }
    }
    if (why) {
        load_error(d, path, why);
        ipf_ttf_free(f);
        return IPF_ERR_FONT;
    }
    *out = f;
    return IPF_OK;
}

void ipf_ttf_free(ipf_ttf *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap(f->map, f->size);
    else
        free(f->map);
    free(f->gen);
    free(f->newid);
    free(f->gsum);
    free(f->list);
    ipf_buf_free(&f->raw);
    ipf_glyphz_free(f->gz);
    free(f->segs);
    free(f);
}

const ipf_ttf_info *ipf_ttf_get_info(const ipf_ttf *f)
{
    return &f->info;
}

unsigned ipf_ttf_glyph(const ipf_ttf *f, uint32_t cp)
{
    return cp <= 0xFFFF ? f->cmap[cp] : 0;
}

static unsigned advance(const ipf_ttf *f, unsigned gid)
{
    unsigned i = gid < f->nhm ? gid : f->nhm - 1;
    return ipf_rd16(f->hmtx.p + 4 * (size_t)i);
}

static int lsb(const ipf_ttf *f, unsigned gid)
{
    if (gid < f->nhm)
        return s16(f->hmtx.p + 4 * (size_t)gid + 2);
    return s16(f->hmtx.p + 4 * (size_t)f->nhm + 2 * (size_t)(gid - f->nhm));
}

unsigned ipf_ttf_width(const ipf_ttf *f, unsigned gid)
{
    return (unsigned)((unsigned long)advance(f, gid) * 1000 / f->info.units_per_em);
}

/* The bytes of glyph gid in glyf (len 0 for an empty or broken entry). */
static const unsigned char *glyph_data(const ipf_ttf *f, unsigned gid, uint32_t *len)
{
    uint32_t a, b;
    if (f->long_loca) {
        a = ipf_rd32(f->loca.p + 4 * (size_t)gid);
        b = ipf_rd32(f->loca.p + 4 * (size_t)gid + 4);
    } else {
        a = 2 * ipf_rd16(f->loca.p + 2 * (size_t)gid);
        b = 2 * ipf_rd16(f->loca.p + 2 * (size_t)gid + 2);
    }
    if (b <= a || b > f->glyf.len || b - a < 10) {
        *len = 0;
        return NULL;
    }
    *len = b - a;
    return f->glyf.p + a;
}

int ipf_ttf_glyph_box(const ipf_ttf *f, unsigned gid, double box[4])
{
    uint32_t len;
    const unsigned char *g = gid < f->info.num_glyphs ? glyph_data(f, gid, &len) : NULL;
    if (!g)
        return -1;
    for (int i = 0; i < 4; i++) /* xMin yMin xMax yMax, signed */
        box[i] = (double)(int16_t)ipf_rd16(g + 2 + 2 * i) / f->info.units_per_em;
    return box[2] > box[0] && box[3] > box[1] ? 0 : -1;
}

double ipf_ttf_advance_em(const ipf_ttf *f, unsigned gid)
{
    return (double)advance(f, gid) / f->info.units_per_em;
}

/* Adds glyph g to the subset list unless it is there; returns its new id,
 * or -1 when the subset would exceed 65,535 glyphs or memory runs out. */
static long add_glyph(ipf_ttf *f, unsigned g)
{
    if (f->gen[g] == f->cur_gen)
        return f->newid[g];
    if (f->nlist >= 0xFFFF)
        return -1;
    if (IPF_GROW(f->list, f->caplist, f->nlist + 1) < 0)
        return -1;
    f->gen[g] = f->cur_gen;
    f->newid[g] = (uint16_t)f->nlist;
    f->list[f->nlist] = (uint16_t)g;
    return (long)f->nlist++;
}

/* Walks a composite glyph's components: adds each (when add is set) and,
 * when out is given (a copy of the glyph), rewrites its glyph index to the
 * subset's number.  Returns -1 on a malformed glyph or a full subset. */
static int components(ipf_ttf *f, const unsigned char *g, uint32_t len, unsigned char *out)
{
    size_t o = 10;
    for (;;) {
        if (o + 4 > len)
            return -1;
        unsigned flags = ipf_rd16(g + o), comp = ipf_rd16(g + o + 2);
        if (comp >= f->info.num_glyphs)
            comp = 0;
        long id = add_glyph(f, comp);
        if (id < 0)
            return -1;
        if (out)
            ipf_wr16(out + o + 2, (unsigned)id);
        o += 4 + ((flags & 0x0001) ? 4 : 2);
        if (flags & 0x0008)
            o += 2;
        else if (flags & 0x0040)
            o += 4;
        else if (flags & 0x0080)
            o += 8;
        if (!(flags & 0x0020))
            return o <= len ? 0 : -1;
    }
}

static uint32_t checksum(const unsigned char *p, size_t len)
{
    uint32_t s = 0;
    size_t i = 0;
    for (; i + 4 <= len; i += 4)
        s += ipf_rd32(p + i);
    if (i < len) {
        unsigned char t[4] = {0, 0, 0, 0};
        memcpy(t, p + i, len - i);
        s += ipf_rd32(t);
    }
    return s;
}

typedef struct dir_entry {
    uint32_t tag;
    size_t off, len;
} dir_entry;

static void pad4(ipf_buf *b)
{
    static const unsigned char z[4] = {0, 0, 0, 0};
    ipf_buf_put(b, z, (4 - (b->len & 3)) & 3);
}

/* The compressor that encodes each glyph once (pdf_glyphz.h), its codes
 * drawn from GZ_SAMPLE glyphs spread evenly over the font: a function of
 * the font alone, so a document's bytes never depend on what came before.
 * 64: the codes cost half of 128's time, for 0.05 % more bytes. */
#define GZ_MIN_GLYPHS 16
#ifndef GZ_SAMPLE
#define GZ_SAMPLE 64
#endif
static ipf_glyphz *glyph_compressor(ipf_ttf *f)
{
    if (f->gz || f->gz_failed)
        return f->gz;
    unsigned step = f->info.num_glyphs / GZ_SAMPLE + 1;
    const unsigned char *sample[GZ_SAMPLE];
    size_t len[GZ_SAMPLE], n = 0;
    for (unsigned g = 1; g < f->info.num_glyphs && n < GZ_SAMPLE; g += step) {
        uint32_t l;
        const unsigned char *p = glyph_data(f, g, &l);
        if (p) {
            sample[n] = p;
            len[n++] = l;
        }
    }
    f->gz = ipf_glyphz_new(sample, len, n, f->info.num_glyphs);
    f->gz_failed = !f->gz;
    return f->gz;
}

/* One segment per subset glyph (with its padding): simple glyphs are the
 * same bytes in every subset; composite ones (their components are
 * renumbered) and widened ones (written as a composite) are not.  0, or -1
 * to compress the subset as a whole instead. */
static int glyph_segments(ipf_ttf *f, const uint16_t *extra, size_t n, size_t ng, size_t glyf_at,
                          size_t loca_at)
{
    if (!glyph_compressor(f))
        return -1;
    if (IPF_GROW(f->segs, f->capsegs, ng) < 0)
        return -1;
    const unsigned char *r = f->raw.p;
    for (size_t i = 0; i < ng; i++) {
        uint32_t a = ipf_rd32(r + loca_at + 4 * i), b = ipf_rd32(r + loca_at + 4 * i + 4);
        uint32_t l;
        const unsigned char *g = glyph_data(f, f->list[i], &l);
        f->segs[i].off = glyf_at + a;
        f->segs[i].len = b - a;
        int widened = i >= 1 && i <= n && extra && extra[i - 1];
        f->segs[i].key = g && s16(g) >= 0 && !widened ? (long)f->list[i] : -1;
    }
    return 0;
}

unsigned ipf_ttf_width_plus(const ipf_ttf *f, unsigned gid, unsigned extra)
{
    return (unsigned)((unsigned long)(advance(f, gid) + extra) * 1000 / f->info.units_per_em);
}

int ipf_ttf_subset(ipf_ttf *f, const uint16_t *gids, const uint16_t *extra, size_t n,
                   ipf_deflater *z, ipf_buf *out, size_t *raw_len, size_t *num_glyphs)
{
    /* 1. The glyph list: .notdef, the requested glyphs, then components. */
    if (++f->cur_gen == 0) { /* wrapped: forget every old generation */
        memset(f->gen, 0, f->info.num_glyphs * sizeof *f->gen);
        f->cur_gen = 1;
    }
    f->nlist = 0;
    if (add_glyph(f, 0) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* Every requested glyph gets its own number, even a repeated one:
         * the caller's CIDs are 1..n. */
        unsigned g = gids[i] < f->info.num_glyphs ? gids[i] : 0;
        if (f->nlist >= 0xFFFF)
            return -1;
        /* A widened glyph is a composite of the plain one, which must be a
         * glyph of its own: it never takes the plain glyph's number. */
        if (f->gen[g] != f->cur_gen && !(extra && extra[i])) {
            if (add_glyph(f, g) < 0)
                return -1;
        } else {
            if (IPF_GROW(f->list, f->caplist, f->nlist + 1) < 0)
                return -1;
            f->list[f->nlist++] = (uint16_t)g;
        }
    }
    for (size_t i = 0; extra && i < n; i++) {
        uint32_t len;
        if (extra[i] && glyph_data(f, f->list[i + 1], &len) && add_glyph(f, f->list[i + 1]) < 0)
            return -1;
    }
    for (size_t i = 0; i < f->nlist; i++) {
        uint32_t len;
        const unsigned char *g = glyph_data(f, f->list[i], &len);
        if (i >= 1 && i <= n && extra && extra[i - 1])
            continue; /* replaced by a composite of the plain glyph */
        if (g && s16(g) < 0 && components(f, g, len, NULL) < 0)
            return -1;
    }
    size_t ng = f->nlist;

    /* 2. The tables.  Directory order is by tag; data order puts glyf last. */
    ipf_buf *r = &f->raw;
    r->len = 0;
    r->oom = 0;
    dir_entry dir[9];
    int nt = 0;
    size_t ntables = 6 + (f->cvt.len > 0) + (f->fpgm.len > 0) + (f->prep.len > 0);
    /* offset table */
    unsigned es = 0;
    while ((2u << es) <= ntables)
        es++;
    ipf_buf_u32(r, 0x00010000u);
    ipf_buf_u16(r, (unsigned)ntables);
    ipf_buf_u16(r, 16u << es);
    ipf_buf_u16(r, es);
    ipf_buf_u16(r, (unsigned)(ntables * 16 - (16u << es)));
    size_t dir_at = r->len;
    if (ipf_buf_reserve(r, 16 * ntables) == 0) {
        memset(r->p + r->len, 0, 16 * ntables);
        r->len += 16 * ntables;
    }
#define BEGIN(t)                                                                                   \
    do {                                                                                           \
        dir[nt].tag = (t);                                                                         \
        dir[nt].off = r->len;                                                                      \
    } while (0)
#define END()                                                                                      \
    do {                                                                                           \
        dir[nt].len = r->len - dir[nt].off;                                                        \
        pad4(r);                                                                                   \
        nt++;                                                                                      \
    } while (0)
    size_t head_at = r->len;
    BEGIN(TAG('h', 'e', 'a', 'd'));
    ipf_buf_put(r, f->head.p, 54);
    END();
    size_t hhea_at = r->len;
    BEGIN(TAG('h', 'h', 'e', 'a'));
    ipf_buf_put(r, f->hhea.p, 36);
    END();
    size_t maxp_at = r->len;
    BEGIN(TAG('m', 'a', 'x', 'p'));
    ipf_buf_put(r, f->maxp.p, f->maxp.len < 32 ? f->maxp.len : 32);
    END();
    const table *opt[3] = {&f->cvt, &f->fpgm, &f->prep};
    const uint32_t opt_tag[3] = {TAG('c', 'v', 't', ' '), TAG('f', 'p', 'g', 'm'),
                                 TAG('p', 'r', 'e', 'p')};
    for (int i = 0; i < 3; i++) {
        if (!opt[i]->len)
            continue;
        BEGIN(opt_tag[i]);
        ipf_buf_put(r, opt[i]->p, opt[i]->len);
        END();
    }
    BEGIN(TAG('h', 'm', 't', 'x'));
    for (size_t i = 0; i < ng; i++) {
        unsigned wide = i >= 1 && i <= n && extra ? extra[i - 1] : 0;
        ipf_buf_u16(r, (advance(f, f->list[i]) + wide) & 0xFFFF);
        ipf_buf_u16(r, (unsigned)lsb(f, f->list[i]) & 0xFFFF);
    }
    END();
    BEGIN(TAG('l', 'o', 'c', 'a'));
    size_t loca_at = r->len;
    if (ipf_buf_reserve(r, 4 * (ng + 1)) == 0)
        r->len += 4 * (ng + 1);
    END();
    BEGIN(TAG('g', 'l', 'y', 'f'));
    size_t glyf_at = r->len;
    /* Every glyph starts on a 4-byte boundary, so the table's checksum is
     * the sum of the glyphs' own: a simple glyph's is computed once per
     * process (it is the same bytes in every subset). */
    uint32_t glyf_sum = 0;
    for (size_t i = 0; i < ng && !r->oom; i++) {
        ipf_wr32(r->p + loca_at + 4 * i, (uint32_t)(r->len - glyf_at));
        uint32_t len;
        const unsigned char *g = glyph_data(f, f->list[i], &len);
        if (!g)
            continue;
        size_t at = r->len;
        if (i >= 1 && i <= n && extra && extra[i - 1]) {
            /* Widened (a letter-spaced character): one component, the
             * plain glyph, unmoved; only the advance differs. */
            ipf_buf_u16(r, 0xFFFF);   /* numberOfContours -1: composite */
            ipf_buf_put(r, g + 2, 8); /* the plain glyph's bounding box */
            ipf_buf_u16(r, 0x0002);   /* ARGS_ARE_XY_VALUES, byte offsets, last */
            ipf_buf_u16(r, f->newid[f->list[i]]);
            ipf_buf_u16(r, 0); /* dx, dy = 0 */
            if (!r->oom)
                glyf_sum += checksum(r->p + at, r->len - at);
            continue;
        }
        ipf_buf_put(r, g, len);
        if (r->oom)
            break;
        if (s16(g) < 0) {
            if (components(f, g, len, r->p + at) < 0)
                return -1;
            glyf_sum += checksum(r->p + at, len);
        } else {
            if (!f->gsum[f->list[i]])
                f->gsum[f->list[i]] = checksum(g, len) + 1;
            glyf_sum += f->gsum[f->list[i]] - 1;
        }
        pad4(r);
    }
    if (!r->oom)
        ipf_wr32(r->p + loca_at + 4 * ng, (uint32_t)(r->len - glyf_at));
    END();
#undef BEGIN
#undef END
    if (r->oom)
        return -1;

    /* 3. Patch head, hhea, maxp; fill the directory; whole-file checksum. */
    ipf_wr32(r->p + head_at + 8, 0);  /* checkSumAdjustment, set below */
    ipf_wr16(r->p + head_at + 50, 1); /* indexToLocFormat: long */
    ipf_wr16(r->p + hhea_at + 34, (unsigned)ng);
    ipf_wr16(r->p + maxp_at + 4, (unsigned)ng);
    if (extra && f->maxp.len >= 32) { /* a widened glyph adds a level of composition */
        if (ipf_rd16(r->p + maxp_at + 28) < 1)
            ipf_wr16(r->p + maxp_at + 28, 1);
        ipf_wr16(r->p + maxp_at + 30, ipf_rd16(r->p + maxp_at + 30) + 1);
    }
    /* directory entries sorted by tag */
    for (int i = 1; i < nt; i++)
        for (int k = i; k > 0 && dir[k - 1].tag > dir[k].tag; k--) {
            dir_entry t = dir[k];
            dir[k] = dir[k - 1];
            dir[k - 1] = t;
        }
    /* The file's checksum is the directory's plus the tables' (each starts
     * on a 4-byte boundary and is padded with zeros). */
    uint32_t file_sum = 0;
    for (int i = 0; i < nt; i++) {
        unsigned char *e = r->p + dir_at + 16 * (size_t)i;
        uint32_t sum = dir[i].tag == TAG('g', 'l', 'y', 'f')
                           ? glyf_sum
                           : checksum(r->p + dir[i].off, dir[i].len);
        ipf_wr32(e, dir[i].tag);
        ipf_wr32(e + 4, sum);
        ipf_wr32(e + 8, (uint32_t)dir[i].off);
        ipf_wr32(e + 12, (uint32_t)dir[i].len);
        file_sum += sum;
    }
    file_sum += checksum(r->p, dir_at + 16 * ntables);
    ipf_wr32(r->p + head_at + 8, 0xB1B0AFBAu - file_sum);

    *raw_len = r->len;
    *num_glyphs = ng;
    /* A subset of a few glyphs (the check box font's) is deflated whole:
     * cheaper than making the font's codes, and decided by the document
     * alone, so the bytes still depend on nothing else. */
    if (ng >= GZ_MIN_GLYPHS && glyph_segments(f, extra, n, ng, glyf_at, loca_at) == 0)
        return ipf_glyphz_deflate(f->gz, r->p, r->len, f->segs, ng, out);
    return ipf_deflate(z, r->p, r->len, IPF_DEFLATE_FONT, out);
}
