/* pdf.c: a drawing as a PDF, through libharu.
 *
 * libharu builds the document (catalog, page tree, outlines, info, xref,
 * trailer) and serialises it.  Three things are done here instead, through
 * libharu's installed internal object API (hpdf_objects.h):
 *
 *  - Fonts.  Each font the document uses becomes a Type0/CIDFontType2 font
 *    with Identity-H, CIDs 1..n assigned to the document's distinct code
 *    points in code point order, an embedded TrueType subset of exactly
 *    those glyphs (pdf_font.c) with CIDToGIDMap /Identity, a /W array, a
 *    CIDSet, and a real ToUnicode CMap (libharu 2.3.0 puts its encoding CMap
 *    under /ToUnicode, which poppler rejects).
 *  - Page content.  Written here as PDF operators (text with hex CID
 *    strings, lines, rectangles, check boxes), so text needs no libharu
 *    font object and no per-document re-reading of the font file.
 *  - Compression.  Content, ToUnicode and font streams are deflated here
 *    with libdeflate (pdf_deflate.c, one compressor per writer) and handed
 *    to libharu as finished /FlateDecode bytes.
 *
 * Memory: the writer owns its fonts (ipf_ttf), the deflated sRGB profile and
 * per-document scratch buffers that are reused from one document to the
 * next.  Each document's HPDF_Doc lives only inside one call.
 *
 * libharu errors reach the error handler given to HPDF_New, which records
 * the first one; it never jumps.  Every internal call's result is checked
 * too, since libharu's internal functions set an error without calling the
 * handler. */
#include "pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hpdf.h>
#include <hpdf_doc.h>
#include <hpdf_encrypt.h>
#include <hpdf_objects.h>
#include <hpdf_conf.h>
#include <hpdf_pages.h>

#include "atomic.h"
#include "liberr.h"
#include "pdf_deflate.h"
#include "pdf_font.h"
#include "pdf_util.h"
#include "version.h"

_Static_assert(IPF_PDF_MAX_PAGES == HPDF_LIMIT_MAX_ARRAY, "pdf.h: libharu's page limit");

#define SRGB_PATH "/usr/share/color/icc/sRGB.icc"
/* Check boxes are the glyphs □ (U+25A1, the form's own character) and ☑
 * (U+2611) from the first font that has both; FandolFang has only □, so
 * the usual one is DejaVu Sans (fonts-dejavu-core), loaded by the writer
 * when no font of the form has both.  Without it they are drawn as lines. */
#define BOX_FONT_PATH "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define BOX_OFF       0x25A1u
#define BOX_ON        0x2611u
/* The box's extent around the baseline, in units of the text size: as tall
 * and as high as FangSong's Hanzi ink (国 spans -0.15 to 0.74 em). */
#define BOX_BOTTOM (-0.12)
#define BOX_TOP    0.72
#define MAX_FONTS  64

/* Per font, per document: which code points the document uses. */
typedef struct font_use {
    uint16_t *cid; /* 65,536 entries: CID of a BMP code point, 0 = unused */
    uint32_t *cps; /* the used code points (BMP and beyond); sorted: CID i+1 */
    size_t ncps, capcps;
    uint32_t *sup; /* used code points above U+FFFF (few; linear search) */
    size_t nsup, capsup;
    /* Letter-spaced characters, drawn as widened glyphs: cp << 16 | extra
     * font units; sorted and unique after collect(), CID nplain+1+index.
     * cps[nplain..ncps) holds their code points in the same order. */
    uint64_t *var;
    size_t nvar, capvar, nplain;
    uint16_t *extra; /* per CID - 1: extra advance in font units (0 plain) */
    size_t capextra;
    HPDF_Dict type0; /* the font object in the current document */
    char name[8];    /* its resource name on the current page ("F1") */
} font_use;

struct ipf_pdf_writer {
    const ipf_fontset *fonts;
    size_t nfonts;
    ipf_ttf **ttf;
    font_use *use;
    ipf_deflater *z;
    /* The font check boxes are drawn from (-1: none, drawn as lines); when
     * it is the writer's own, it is ttf[nfonts - 1], not in the fontset. */
    int box_font;
    double box_glyph[2][5]; /* unticked, ticked: bbox (em) and advance (em) */
    /* sRGB profile, deflated, read on the first PDF/A document (a batch
     * without --pdfa never reads it); icc.len 0 when missing or unusable. */
    ipf_buf icc;
    int icc_state; /* 0 not read yet, 1 usable, -1 missing, -2 unusable */
    /* scratch */
    ipf_buf content, zbuf, tmp;
    uint16_t *gids;
    size_t capgids;
};

/* Per document. */
typedef struct doc_ctx {
    ipf_pdf_writer *w;
    ipf_diags *d;
    const char *file; /* for diagnostics */
    HPDF_Doc pdf;
    HPDF_STATUS err, err_detail; /* first libharu error */
    int oom;
    size_t missing; /* code points drawn as .notdef */
    uint32_t first_missing;
    int first_missing_font;
    HPDF_MD5_CTX md5; /* over everything that makes the document (for /ID) */
} doc_ctx;

static void on_hpdf_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void *user)
{
    doc_ctx *c = user;
    if (c && !c->err) {
        c->err = error_no;
        c->err_detail = detail_no;
    }
}

static void nomem(ipf_diags *d, const char *file)
{
    ipf_diag_add(d, file, 0, IPF_SEV_ERROR, "NOMEM", "生成 PDF 时内存不足");
}

/* ------------------------------------------------------------ the writer */

/* Reads and checks the output intent's profile: PDF/A-1 needs an RGB
 * profile of a display or printer class, of ICC version 2 (PDF 1.4 knows
 * no later one). */
static ipf_status load_icc(ipf_pdf_writer *w)
{
    FILE *f = fopen(SRGB_PATH, "rb");
    if (!f) {
        w->icc_state = -1;
        return IPF_OK;
    }
    ipf_buf raw = {0};
    unsigned char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && raw.len < (1u << 24))
        ipf_buf_put(&raw, chunk, n);
    if (raw.oom) {
        fclose(f);
        ipf_buf_free(&raw);
        return IPF_ERR_NOMEM; /* state stays 0: tried again next time */
    }
    int bad = ferror(f) || raw.len < 128 || ipf_rd32(raw.p) != raw.len ||
              memcmp(raw.p + 36, "acsp", 4) != 0 || memcmp(raw.p + 16, "RGB ", 4) != 0 ||
              (memcmp(raw.p + 12, "mntr", 4) != 0 && memcmp(raw.p + 12, "prtr", 4) != 0) ||
              raw.p[8] != 2;
    fclose(f);
    w->icc_state = bad ? -2 : 1;
    if (!bad && ipf_deflate(w->z, raw.p, raw.len, IPF_DEFLATE_ONCE, &w->icc) != 0)
        w->icc_state = 0; /* out of memory: try again next time */
    int oom = w->icc.oom;
    if (w->icc_state != 1)
        ipf_buf_free(&w->icc);
    ipf_buf_free(&raw);
    return oom ? IPF_ERR_NOMEM : IPF_OK;
}

/* Whether font f can draw both check boxes; fills its metrics in. */
static int has_boxes(ipf_pdf_writer *w, int f)
{
    const uint32_t cps[2] = {BOX_OFF, BOX_ON};
    for (int k = 0; k < 2; k++) {
        unsigned g = ipf_ttf_glyph(w->ttf[f], cps[k]);
        if (!g || ipf_ttf_glyph_box(w->ttf[f], g, w->box_glyph[k]) < 0)
            return 0;
        w->box_glyph[k][4] = ipf_ttf_advance_em(w->ttf[f], g);
    }
    return 1;
}

static ipf_status find_box_font(ipf_pdf_writer *w, ipf_diags *d)
{
    for (size_t f = 0; f < w->nfonts; f++)
        if (has_boxes(w, (int)f)) {
            w->box_font = (int)f;
            return IPF_OK;
        }
    if (w->nfonts >= MAX_FONTS || access(BOX_FONT_PATH, R_OK) != 0)
        return IPF_OK; /* drawn as lines */
    ipf_status st = ipf_ttf_open(BOX_FONT_PATH, d, &w->ttf[w->nfonts]);
    if (st != IPF_OK)
        return st;
    w->use[w->nfonts].cid = calloc(65536, sizeof(uint16_t));
    if (!w->use[w->nfonts].cid) {
        ipf_ttf_free(w->ttf[w->nfonts]);
        w->ttf[w->nfonts] = NULL;
        nomem(d, "-");
        return IPF_ERR_NOMEM;
    }
    w->nfonts++;
    if (has_boxes(w, (int)w->nfonts - 1))
        w->box_font = (int)w->nfonts - 1;
    return IPF_OK;
}

ipf_status ipf_pdf_writer_new(const ipf_fontset *fonts, ipf_diags *d, ipf_pdf_writer **out)
{
    *out = NULL;
    size_t n = ipf_fontset_count(fonts);
    ipf_pdf_writer *w = calloc(1, sizeof *w);
    if (!w || n > MAX_FONTS) {
        free(w);
        if (n > MAX_FONTS) {
            ipf_diag_add(d, "-", 0, IPF_SEV_ERROR, "FONT-LOAD", "字体过多（最多 %d 个）",
                         MAX_FONTS);
            return IPF_ERR_FONT;
        }
        nomem(d, "-");
        return IPF_ERR_NOMEM;
    }
    w->fonts = fonts;
    w->nfonts = n;
    w->box_font = -1;
    w->ttf = calloc(n + 1, sizeof *w->ttf); /* + the check box font */
    w->use = calloc(n + 1, sizeof *w->use);
    w->z = ipf_deflater_new();
    if (!w->ttf || !w->use || !w->z) {
        ipf_pdf_writer_free(w);
        nomem(d, "-");
        return IPF_ERR_NOMEM;
    }
    ipf_status st = IPF_OK;
    for (size_t i = 0; i < n; i++) {
        ipf_status s = ipf_ttf_open(ipf_fontset_path(fonts, i), d, &w->ttf[i]);
        if (s != IPF_OK && st == IPF_OK)
            st = s;
        w->use[i].cid = calloc(65536, sizeof(uint16_t));
        if (!w->use[i].cid && st == IPF_OK) {
            nomem(d, "-");
            st = IPF_ERR_NOMEM;
        }
    }
    if (st == IPF_OK)
        st = find_box_font(w, d);
    if (st != IPF_OK) {
        ipf_pdf_writer_free(w);
        return st;
    }
    *out = w;
    return IPF_OK;
}

void ipf_pdf_writer_free(ipf_pdf_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nfonts; i++) {
        if (w->ttf)
            ipf_ttf_free(w->ttf[i]);
        if (w->use) {
            free(w->use[i].cid);
            free(w->use[i].cps);
            free(w->use[i].sup);
            free(w->use[i].var);
            free(w->use[i].extra);
        }
    }
    free(w->ttf);
    free(w->use);
    ipf_deflater_free(w->z);
    ipf_buf_free(&w->icc);
    ipf_buf_free(&w->content);
    ipf_buf_free(&w->zbuf);
    ipf_buf_free(&w->tmp);
    free(w->gids);
    free(w);
}

/* ------------------------------------------------------------ UTF-8 */

/* Decodes one code point from [*p, end); malformed input gives U+FFFD and
 * skips one byte. */
static uint32_t next_cp(const unsigned char **p, const unsigned char *end)
{
    const unsigned char *s = *p;
    unsigned c = s[0];
    if (c < 0x80) {
        *p = s + 1;
        return c;
    }
    int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (n < 0 || c > 0xF4 || end - s <= n) {
        *p = s + 1;
        return 0xFFFD;
    }
    uint32_t cp = c & (0x3Fu >> n);
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p = s + 1;
            return 0xFFFD;
        }
        cp = cp << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *p = s + 1;
        return 0xFFFD;
    }
    *p = s + n + 1;
    return cp;
}

/* Characters XML 1.0 cannot hold (controls but tab and newline, U+FFFE,
 * U+FFFF) become spaces in every text string and in the XMP alike, so that
 * PDF/A's Info and XMP still say the same. */
static int xml_unsafe(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xFFFE || cp == 0xFFFF;
}

/* UTF-8 to a PDF text string: UTF-16BE with a byte order mark. */
static void utf16_text(ipf_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    b->len = 0;
    ipf_buf_u16(b, 0xFEFF);
    while (p < end) {
        uint32_t cp = next_cp(&p, end);
        if (xml_unsafe(cp))
            cp = ' ';
        if (cp >= 0x10000) {
            cp -= 0x10000;
            ipf_buf_u16(b, 0xD800 + (cp >> 10));
            ipf_buf_u16(b, 0xDC00 + (cp & 0x3FF));
        } else {
            ipf_buf_u16(b, cp);
        }
    }
}

/* ------------------------------------------------------------ numbers */

/* Appends v with at most three decimals, no trailing zeros ("12.5", "-3",
 * "0.125"); the same double always gives the same bytes. */
static void put_num(ipf_buf *b, double v)
{
    char s[32];
    if (!isfinite(v) || fabs(v) > 1e9)
        v = 0;
    long long m = llround(v * 1000.0);
    int i = (int)sizeof s;
    int neg = m < 0;
    unsigned long long u = neg ? (unsigned long long)(-m) : (unsigned long long)m;
    unsigned frac = (unsigned)(u % 1000);
    u /= 1000;
    if (frac) {
        int digits = 3;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        for (int k = 0; k < digits; k++) {
            s[--i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        s[--i] = '.';
    }
    do {
        s[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        s[--i] = '-';
    ipf_buf_put(b, s + i, sizeof s - (size_t)i);
}

static void put_nums(ipf_buf *b, const double *v, int n, const char *op)
{
    for (int i = 0; i < n; i++) {
        put_num(b, v[i]);
        ipf_buf_byte(b, ' ');
    }
    ipf_buf_str(b, op);
    ipf_buf_byte(b, '\n');
}

static const char hexdig[] = "0123456789ABCDEF";

static void put_hex4(ipf_buf *b, unsigned v)
{
    if (ipf_buf_reserve(b, 4) == 0) {
        unsigned char *o = b->p + b->len;
        o[0] = (unsigned char)hexdig[(v >> 12) & 15];
        o[1] = (unsigned char)hexdig[(v >> 8) & 15];
        o[2] = (unsigned char)hexdig[(v >> 4) & 15];
        o[3] = (unsigned char)hexdig[v & 15];
        b->len += 4;
    }
}

/* ------------------------------------------------------------ pass 1: code points */

static void note_missing(doc_ctx *c, int font, uint32_t cp)
{
    if (c->missing++ == 0) {
        c->first_missing = cp;
        c->first_missing_font = font;
    }
}

static int use_cp(doc_ctx *c, int font, uint32_t cp)
{
    font_use *u = &c->w->use[font];
    if (cp <= 0xFFFF) {
        if (u->cid[cp])
            return 0;
        u->cid[cp] = 1; /* marked; numbered after sorting */
        if (ipf_ttf_glyph(c->w->ttf[font], cp) == 0)
            note_missing(c, font, cp);
    } else {
        for (size_t i = 0; i < u->nsup; i++)
            if (u->sup[i] == cp)
                return 0;
        if (IPF_GROW(u->sup, u->capsup, u->nsup + 1) < 0)
            return -1;
        u->sup[u->nsup++] = cp;
        note_missing(c, font, cp);
    }
    if (IPF_GROW(u->cps, u->capcps, u->ncps + 1) < 0)
        return -1;
    u->cps[u->ncps++] = cp;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static uint16_t cid_of(const font_use *u, uint32_t cp)
{
    if (cp <= 0xFFFF)
        return u->cid[cp];
    for (size_t i = 0; i < u->ncps; i++) /* rare: sorted, beyond the BMP ones */
        if (u->cps[i] == cp)
            return (uint16_t)(i + 1);
    return 0;
}

/* Clears what the last document left in the per-font tables. */
static void reset_use(ipf_pdf_writer *w)
{
    for (size_t f = 0; f < w->nfonts; f++) {
        font_use *u = &w->use[f];
        for (size_t i = 0; i < u->ncps; i++)
            if (u->cps[i] <= 0xFFFF)
                u->cid[u->cps[i]] = 0;
        u->ncps = u->nsup = u->nvar = u->nplain = 0;
        u->type0 = NULL;
    }
}

/* Readers put a word break where glyphs leave a gap (poppler from 0.1 em
 * on), so a letter-spaced title ("备 案 表") would extract with spaces.
 * Characters of a run spaced this much are drawn as glyphs whose advance
 * includes the spacing: the same outline, no gap, so no break. */
#define SPACED_RUN 0.1 /* em of character spacing */

/* The extra advance, in font units, of every glyph of a text run (0 when
 * the run is drawn plainly, with Tc). */
static unsigned widen_units(const ipf_pdf_writer *w, const ipf_draw_item *it)
{
    if (!(it->size > 0) || !(it->char_space >= SPACED_RUN * it->size) ||
        it->char_space > 4 * it->size)
        return 0;
    const ipf_ttf_info *in = ipf_ttf_get_info(w->ttf[it->font]);
    long e = lround(it->char_space / it->size * in->units_per_em);
    return e > 0 && e < 0x8000 ? (unsigned)e : 0;
}

static int use_wide(doc_ctx *c, int font, uint32_t cp, unsigned extra)
{
    font_use *u = &c->w->use[font];
    if (IPF_GROW(u->var, u->capvar, u->nvar + 1) < 0)
        return -1;
    u->var[u->nvar++] = (uint64_t)cp << 16 | extra;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint16_t wide_cid(const font_use *u, uint32_t cp, unsigned extra)
{
    uint64_t key = (uint64_t)cp << 16 | extra;
    if (!u->nvar)
        return 0;
    const uint64_t *f = bsearch(&key, u->var, u->nvar, sizeof *u->var, cmp_u64);
    return f ? (uint16_t)(u->nplain + 1 + (size_t)(f - u->var)) : 0;
}

static ipf_status collect(doc_ctx *c, const ipf_drawing *dr)
{
    ipf_pdf_writer *w = c->w;
    size_t np = ipf_drawing_page_count(dr);
    for (size_t p = 0; p < np; p++) {
        size_t n;
        const ipf_draw_item *it = ipf_drawing_items(dr, p, &n);
        for (size_t i = 0; i < n; i++) {
            if (it[i].kind == IPF_DRAW_CHECKBOX && w->box_font >= 0 &&
                use_cp(c, w->box_font, it[i].checked ? BOX_ON : BOX_OFF) < 0)
                return IPF_ERR_NOMEM;
            if (it[i].kind != IPF_DRAW_TEXT)
                continue;
            if (it[i].font < 0 || (size_t)it[i].font >= ipf_fontset_count(w->fonts)) {
                ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-ERROR",
                             "内部错误：第 %zu 页的文字使用了不存在的字体 %d", p + 1, it[i].font);
                return IPF_ERR_INTERNAL;
            }
            const unsigned char *s = (const unsigned char *)it[i].text, *e = s + it[i].len;
            unsigned wide = widen_units(w, &it[i]);
            while (s < e) {
                uint32_t cp = next_cp(&s, e);
                if (wide && (cp > 0xFFFF || ipf_ttf_glyph(w->ttf[it[i].font], cp) == 0)) {
                    if (use_cp(c, it[i].font, cp) < 0) /* reported as missing */
                        return IPF_ERR_NOMEM;
                } else if (wide ? use_wide(c, it[i].font, cp, wide) < 0
                                : use_cp(c, it[i].font, cp) < 0) {
                    return IPF_ERR_NOMEM;
                }
            }
        }
    }
    /* CIDs in code point order: independent of drawing order, so the same
     * text gives the same font however it was laid out. */
    for (size_t f = 0; f < w->nfonts; f++) {
        font_use *u = &w->use[f];
        if (u->ncps > 1) /* a font no text uses (a covering --font) has cps == NULL */
            qsort(u->cps, u->ncps, sizeof *u->cps, cmp_u32);
        for (size_t i = 0; i < u->ncps && i < 0xFFFE; i++)
            if (u->cps[i] <= 0xFFFF)
                u->cid[u->cps[i]] = (uint16_t)(i + 1);
        u->nplain = u->ncps;
        /* widened glyphs after the plain ones, in (code point, width) order */
        if (u->nvar > 1)
            qsort(u->var, u->nvar, sizeof *u->var, cmp_u64);
        size_t k = 0;
        for (size_t i = 0; i < u->nvar; i++)
            if (k == 0 || u->var[i] != u->var[k - 1])
                u->var[k++] = u->var[i];
        u->nvar = k;
        if (u->ncps + u->nvar > 0xFFFE) {
            ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-ERROR",
                         "文档使用的不同字符过多（超过 65,534 个）");
            return IPF_ERR_PDF;
        }
        for (size_t i = 0; i < u->nvar; i++) {
            if (IPF_GROW(u->cps, u->capcps, u->ncps + 1) < 0)
                return IPF_ERR_NOMEM;
            u->cps[u->ncps++] = (uint32_t)(u->var[i] >> 16);
        }
        if (IPF_GROW(u->extra, u->capextra, u->ncps) < 0)
            return IPF_ERR_NOMEM;
        for (size_t i = 0; i < u->ncps; i++)
            u->extra[i] = i < u->nplain ? 0 : (uint16_t)(u->var[i - u->nplain] & 0xFFFF);
    }
    return IPF_OK;
}

/* ------------------------------------------------------------ libharu helpers */

#define CHECK(c, expr)                                                                             \
    do {                                                                                           \
        if ((expr) != HPDF_OK && !(c)->err)                                                        \
            (c)->err = HPDF_GetError((c)->pdf) ? HPDF_GetError((c)->pdf) : HPDF_INVALID_OBJECT;    \
    } while (0)

static HPDF_STATUS write_flate_filter(HPDF_Dict dict, HPDF_Stream stream)
{
    (void)dict;
    return HPDF_Stream_WriteStr(stream, "/Filter /FlateDecode\012");
}

/* A stream object holding bytes that are already deflated (zlib format). */
static HPDF_Dict flate_stream(doc_ctx *c, const unsigned char *data, size_t len)
{
    HPDF_Doc pdf = c->pdf;
    HPDF_Dict s = HPDF_DictStream_New(pdf->mmgr, pdf->xref);
    if (!s) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return NULL;
    }
    /* One memory block instead of libharu's 4 KB pieces. */
    if (len > HPDF_STREAM_BUF_SIZ) {
        HPDF_Stream big = HPDF_MemStream_New(pdf->mmgr, (HPDF_UINT)len);
        if (big) {
            HPDF_Stream_Free(s->stream);
            s->stream = big;
        }
    }
    s->filter = HPDF_STREAM_FILTER_NONE;
    s->write_fn = write_flate_filter;
    CHECK(c, HPDF_Stream_Write(s->stream, data, (HPDF_UINT)len));
    return s;
}

/* Deflates src into a new stream object. */
static HPDF_Dict deflated_stream(doc_ctx *c, const ipf_buf *src)
{
    ipf_buf *z = &c->w->zbuf;
    z->len = 0;
    if (ipf_deflate(c->w->z, src->p, src->len, IPF_DEFLATE_CONTENT, z) < 0) {
        c->oom = 1;
        return NULL;
    }
    return flate_stream(c, z->p, z->len);
}

static HPDF_Binary text_string(doc_ctx *c, const char *utf8)
{
    ipf_buf *b = &c->w->tmp;
    utf16_text(b, utf8);
    if (b->oom) {
        c->oom = 1;
        return NULL;
    }
    size_t len = b->len > HPDF_LIMIT_MAX_STRING_LEN ? HPDF_LIMIT_MAX_STRING_LEN & ~1u : b->len;
    HPDF_Binary s = HPDF_Binary_New(c->pdf->mmgr, b->p, (HPDF_UINT)len);
    if (!s && !c->err)
        c->err = HPDF_FAILD_TO_ALLOC_MEM;
    return s;
}

/* ------------------------------------------------------------ fonts */

static void font_tag(const font_use *u, size_t font, char tag[7])
{
    uint64_t h = 1469598103934665603ull ^ font;
    for (size_t i = 0; i < u->ncps; i++) {
        h ^= u->cps[i] ^ (uint64_t)u->extra[i] << 32;
        h *= 1099511628211ull;
    }
    for (int i = 0; i < 6; i++) {
        tag[i] = (char)('A' + h % 26);
        h /= 26;
    }
    tag[6] = '\0';
}

/* The ToUnicode CMap: CID i+1 is cps[i] (UTF-16BE, surrogate pairs beyond
 * the BMP); at most 100 ranges per block. */
static void build_tounicode(const font_use *u, ipf_buf *b)
{
    b->len = 0;
    ipf_buf_str(b, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                   "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                   "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                   "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    /* One bfrange per 256 CIDs (a range may vary only in its last byte),
     * its code points as an array: CIDs are numbered in code point order,
     * so only the code points need writing (a map of bfchar lines costs a
     * third more after deflate). */
    size_t total = u->ncps ? (u->ncps >> 8) + 1 : 0;
    size_t emitted = 0;
    for (size_t i = 0; i < u->ncps;) {
        size_t cid = i + 1, last = (cid | 0xFF) < u->ncps ? (cid | 0xFF) : u->ncps;
        if (emitted % 100 == 0) {
            size_t left = total - emitted;
            char hdr[32];
            snprintf(hdr, sizeof hdr, "%zu beginbfrange\n", left > 100 ? (size_t)100 : left);
            ipf_buf_str(b, hdr);
        }
        ipf_buf_byte(b, '<');
        put_hex4(b, (unsigned)cid);
        ipf_buf_str(b, "> <");
        put_hex4(b, (unsigned)last);
        ipf_buf_str(b, "> [");
        for (; i < last; i++) {
            uint32_t cp = u->cps[i];
            ipf_buf_byte(b, '<');
            if (cp >= 0x10000) {
                put_hex4(b, 0xD800 + ((cp - 0x10000) >> 10));
                put_hex4(b, 0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                put_hex4(b, cp);
            }
            ipf_buf_str(b, i + 1 < last ? "> " : ">]\n");
        }
        emitted++;
        if (emitted % 100 == 0 || emitted == total)
            ipf_buf_str(b, "endbfrange\n");
    }
    ipf_buf_str(b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
}

static HPDF_Array int_array(doc_ctx *c, const int *v, int n)
{
    HPDF_Array a = HPDF_Array_New(c->pdf->mmgr);
    if (!a) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        CHECK(c, HPDF_Array_AddNumber(a, v[i]));
    return a;
}

/* Builds the Type0 font, its CIDFont, descriptor, subset, CIDSet and
 * ToUnicode for one used font. */
static void build_font(doc_ctx *c, size_t fi)
{
    ipf_pdf_writer *w = c->w;
    font_use *u = &w->use[fi];
    ipf_ttf *tt = w->ttf[fi];
    const ipf_ttf_info *info = ipf_ttf_get_info(tt);
    HPDF_MMgr mm = c->pdf->mmgr;
    HPDF_Xref xref = c->pdf->xref;
    size_t n = u->ncps;

    char base[7 + sizeof info->psname];
    char tag[7];
    font_tag(u, fi, tag);
    snprintf(base, sizeof base, "%s+%s", tag, info->psname);
    HPDF_MD5Update(&c->md5, (const HPDF_BYTE *)base, (HPDF_UINT32)strlen(base));

    /* glyphs and widths */
    if (IPF_GROW(w->gids, w->capgids, n) < 0) {
        c->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        w->gids[i] = (uint16_t)ipf_ttf_glyph(tt, u->cps[i]);

    HPDF_Dict type0 = HPDF_Dict_New(mm);
    HPDF_Dict cidfont = HPDF_Dict_New(mm);
    HPDF_Dict desc = HPDF_Dict_New(mm);
    HPDF_Dict sysinfo = HPDF_Dict_New(mm);
    HPDF_Array desc_arr = HPDF_Array_New(mm);
    if (!type0 || !cidfont || !desc || !sysinfo || !desc_arr) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    CHECK(c, HPDF_Xref_Add(xref, type0));
    CHECK(c, HPDF_Xref_Add(xref, cidfont));
    CHECK(c, HPDF_Xref_Add(xref, desc));
    if (c->err)
        return;
    u->type0 = type0;

    CHECK(c, HPDF_Dict_AddName(type0, "Type", "Font"));
    CHECK(c, HPDF_Dict_AddName(type0, "Subtype", "Type0"));
    CHECK(c, HPDF_Dict_AddName(type0, "BaseFont", base));
    CHECK(c, HPDF_Dict_AddName(type0, "Encoding", "Identity-H"));
    CHECK(c, HPDF_Array_Add(desc_arr, cidfont));
    CHECK(c, HPDF_Dict_Add(type0, "DescendantFonts", desc_arr));

    CHECK(c, HPDF_Dict_AddName(cidfont, "Type", "Font"));
    CHECK(c, HPDF_Dict_AddName(cidfont, "Subtype", "CIDFontType2"));
    CHECK(c, HPDF_Dict_AddName(cidfont, "BaseFont", base));
    CHECK(c, HPDF_Dict_Add(sysinfo, "Registry", HPDF_String_New(mm, "Adobe", NULL)));
    CHECK(c, HPDF_Dict_Add(sysinfo, "Ordering", HPDF_String_New(mm, "Identity", NULL)));
    CHECK(c, HPDF_Dict_AddNumber(sysinfo, "Supplement", 0));
    CHECK(c, HPDF_Dict_Add(cidfont, "CIDSystemInfo", sysinfo));
    CHECK(c, HPDF_Dict_Add(cidfont, "FontDescriptor", desc));

    /* Widths: DW is the most common one; /W lists runs of the others. */
    unsigned dw = 1000;
    {
        unsigned best = 0, cnt = 0;
        for (size_t i = 0; i < n && i < 64; i++) { /* a sample suffices */
            unsigned wi = ipf_ttf_width_plus(tt, w->gids[i], u->extra[i]), k = 0;
            for (size_t j = 0; j < n && j < 64; j++)
                k += ipf_ttf_width_plus(tt, w->gids[j], u->extra[j]) == wi;
            if (k > cnt) {
                cnt = k;
                best = wi;
            }
        }
        if (cnt)
            dw = best;
    }
    CHECK(c, HPDF_Dict_AddNumber(cidfont, "DW", (HPDF_INT32)dw));
    HPDF_Array W = HPDF_Array_New(mm);
    if (!W) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    for (size_t i = 0; i < n;) {
        if (ipf_ttf_width_plus(tt, w->gids[i], u->extra[i]) == dw) {
            i++;
            continue;
        }
        HPDF_Array run = HPDF_Array_New(mm);
        if (!run) {
            c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
            return;
        }
        CHECK(c, HPDF_Array_AddNumber(W, (HPDF_INT32)(i + 1)));
        while (i < n && ipf_ttf_width_plus(tt, w->gids[i], u->extra[i]) != dw) {
            CHECK(c, HPDF_Array_AddNumber(
                         run, (HPDF_INT32)ipf_ttf_width_plus(tt, w->gids[i], u->extra[i])));
            i++;
        }
        CHECK(c, HPDF_Array_Add(W, run));
    }
    if (HPDF_Array_Items(W) > 0)
        CHECK(c, HPDF_Dict_Add(cidfont, "W", W));
    else
        HPDF_Array_Free(W);
    CHECK(c, HPDF_Dict_AddName(cidfont, "CIDToGIDMap", "Identity"));

    /* Descriptor. */
    CHECK(c, HPDF_Dict_AddName(desc, "Type", "FontDescriptor"));
    CHECK(c, HPDF_Dict_AddName(desc, "FontName", base));
    CHECK(c, HPDF_Dict_AddNumber(desc, "Flags", 4 | (info->fixed_pitch ? 1 : 0)));
    CHECK(c, HPDF_Dict_Add(desc, "FontBBox", int_array(c, info->bbox, 4)));
    CHECK(c, HPDF_Dict_AddNumber(desc, "ItalicAngle", info->italic_angle));
    CHECK(c, HPDF_Dict_AddNumber(desc, "Ascent", info->ascent));
    CHECK(c, HPDF_Dict_AddNumber(desc, "Descent", info->descent));
    CHECK(c, HPDF_Dict_AddNumber(desc, "CapHeight", info->cap_height));
    CHECK(c, HPDF_Dict_AddNumber(desc, "StemV", info->stem_v));

    /* The subset program. */
    ipf_buf *z = &w->zbuf;
    z->len = 0;
    size_t raw_len = 0, nglyphs = 0;
    if (ipf_ttf_subset(tt, w->gids, u->nvar ? u->extra : NULL, n, w->z, z, &raw_len, &nglyphs) <
        0) {
        c->oom = 1;
        return;
    }
    HPDF_Dict ff = flate_stream(c, z->p, z->len);
    if (!ff)
        return;
    CHECK(c, HPDF_Dict_AddNumber(ff, "Length1", (HPDF_INT32)raw_len));
    CHECK(c, HPDF_Dict_Add(desc, "FontFile2", ff));

    /* CIDSet (PDF/A-1 6.3.5 wants it for subsets): with CIDToGIDMap
     * /Identity every glyph of the subset is a CID present in the font, so
     * the set is 0..nglyphs-1 -- the requested glyphs and any composite
     * components after them (Acrobat's preflight checks it is complete). */
    HPDF_Dict cs = HPDF_DictStream_New(mm, xref);
    if (!cs) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    {
        unsigned char bits[256];
        size_t nbits = nglyphs, nbytes = (nbits + 7) / 8;
        for (size_t off = 0; off < nbytes; off += sizeof bits) {
            size_t k = nbytes - off < sizeof bits ? nbytes - off : sizeof bits;
            memset(bits, 0xFF, k);
            if (off + k == nbytes && nbits % 8)
                bits[k - 1] = (unsigned char)(0xFF00u >> (nbits % 8));
            CHECK(c, HPDF_Stream_Write(cs->stream, bits, (HPDF_UINT)k));
        }
    }
    CHECK(c, HPDF_Dict_Add(desc, "CIDSet", cs));

    /* ToUnicode. */
    build_tounicode(u, &w->tmp);
    if (w->tmp.oom) {
        c->oom = 1;
        return;
    }
    HPDF_Dict tu = deflated_stream(c, &w->tmp);
    if (tu)
        CHECK(c, HPDF_Dict_Add(type0, "ToUnicode", tu));
}

/* ------------------------------------------------------------ page content */

typedef struct gstate {
    int in_text;
    int font;
    double size, cs, lw;
    int mode; /* text rendering mode: 0 fill, 2 fill then stroke */
    /* the text line matrix's origin in 1/1000 pt: each run is placed by a
     * Td relative to the one before (shorter than a whole Tm) */
    long long tx, ty;
} gstate;

static long long milli(double v)
{
    return !isfinite(v) || fabs(v) > 1e9 ? 0 : llround(v * 1000.0);
}

static void end_text(ipf_buf *b, gstate *g)
{
    if (g->in_text) {
        ipf_buf_str(b, "ET\n");
        g->in_text = 0;
    }
}

static void set_lw(ipf_buf *b, gstate *g, double lw)
{
    if (g->lw != lw) {
        put_num(b, lw);
        ipf_buf_str(b, " w\n");
        g->lw = lw;
    }
}

/* Text state and position for a run of font at size, placed at (x, y). */
static void text_start(ipf_buf *b, gstate *g, const font_use *u, int font, double size, double cs,
                       int bold, double x, double y)
{
    if (!g->in_text) {
        ipf_buf_str(b, "BT\n");
        g->in_text = 1;
        g->tx = g->ty = 0; /* BT: the identity matrix */
    }
    if (g->font != font || g->size != size) {
        ipf_buf_byte(b, '/');
        ipf_buf_str(b, u->name);
        ipf_buf_byte(b, ' ');
        put_num(b, size);
        ipf_buf_str(b, " Tf\n");
        g->font = font;
        g->size = size;
    }
    if (g->cs != cs) {
        put_num(b, cs);
        ipf_buf_str(b, " Tc\n");
        g->cs = cs;
    }
    int mode = bold ? 2 : 0;
    if (mode == 2)
        set_lw(b, g, size * 0.025); /* fake bold: a thin outline */
    if (g->mode != mode) {
        ipf_buf_str(b, mode ? "2 Tr\n" : "0 Tr\n");
        g->mode = mode;
    }
    long long mx = milli(x), my = milli(y);
    put_num(b, (double)(mx - g->tx) / 1000.0);
    ipf_buf_byte(b, ' ');
    put_num(b, (double)(my - g->ty) / 1000.0);
    ipf_buf_str(b, " Td ");
    g->tx = mx;
    g->ty = my;
}

static void text_item(doc_ctx *c, ipf_buf *b, gstate *g, const ipf_draw_item *it)
{
    font_use *u = &c->w->use[it->font];
    unsigned wide = widen_units(c->w, it);
    const ipf_ttf_info *in = ipf_ttf_get_info(c->w->ttf[it->font]);
    /* a widened glyph carries the spacing; Tc keeps only the rounding */
    double cs = wide ? it->char_space - (double)wide * it->size / in->units_per_em : it->char_space;
    text_start(b, g, u, it->font, it->size, cs, it->bold, it->x, it->y);
    ipf_buf_byte(b, '<');
    const unsigned char *s = (const unsigned char *)it->text, *e = s + it->len;
    while (s < e) {
        uint32_t cp = next_cp(&s, e);
        uint16_t cid = wide ? wide_cid(u, cp, wide) : 0;
        put_hex4(b, cid ? cid : cid_of(u, cp));
    }
    ipf_buf_str(b, "> Tj\n");
}

/* A check box as the glyph □ or ☑, scaled so that its outline spans
 * BOX_BOTTOM..BOX_TOP of the text size and centred in its room. */
static void checkbox_glyph(doc_ctx *c, ipf_buf *b, gstate *g, const ipf_draw_item *it)
{
    const ipf_pdf_writer *w = c->w;
    const font_use *u = &w->use[w->box_font];
    const double *gb = w->box_glyph[it->checked ? 1 : 0];
    double size = it->size * (BOX_TOP - BOX_BOTTOM) / (gb[3] - gb[1]);
    double x = it->x + (it->x2 - (gb[2] - gb[0]) * size) / 2 - gb[0] * size;
    double y = it->y + BOX_BOTTOM * it->size - gb[1] * size;
    text_start(b, g, u, w->box_font, size, 0, 0, x, y);
    ipf_buf_byte(b, '<');
    put_hex4(b, cid_of(u, it->checked ? BOX_ON : BOX_OFF));
    ipf_buf_str(b, "> Tj\n");
}

static void page_content(doc_ctx *c, const ipf_draw_item *it, size_t n, ipf_buf *b)
{
    gstate g = {0, -1, -1, 0, 1, 0, 0, 0}; /* PDF defaults: Tc 0, w 1, Tr 0 */
    int furniture = 0;
    b->len = 0;
    for (size_t i = 0; i < n; i++) {
        const ipf_draw_item *x = &it[i];
        /* Page numbers and repeated headings are pagination artifacts
         * (PDF 1.4, 9.7.1/10.2.2): marked content outside text objects. */
        if (x->artifact != furniture) {
            end_text(b, &g);
            ipf_buf_str(b, x->artifact ? "/Artifact << /Type /Pagination >> BDC\n" : "EMC\n");
            furniture = x->artifact;
        }
        switch (x->kind) {
        case IPF_DRAW_TEXT:
            if (x->len)
                text_item(c, b, &g, x);
            break;
        case IPF_DRAW_LINE: {
            end_text(b, &g);
            set_lw(b, &g, x->line_width);
            double v[4] = {x->x, x->y, x->x2, x->y2};
            put_nums(b, v, 2, "m");
            put_nums(b, v + 2, 2, "l S");
            break;
        }
        case IPF_DRAW_RECT: {
            end_text(b, &g);
            set_lw(b, &g, x->line_width);
            double v[4] = {x->x, x->y, x->x2, x->y2};
            put_nums(b, v, 4, "re S");
            break;
        }
        case IPF_DRAW_CHECKBOX: {
            if (c->w->box_font >= 0) {
                checkbox_glyph(c, b, &g, x);
                break;
            }
            end_text(b, &g);
            set_lw(b, &g, x->line_width);
            double s = x->size * (BOX_TOP - BOX_BOTTOM);
            double v[4] = {x->x + (x->x2 - s) / 2, x->y + BOX_BOTTOM * x->size, s, s};
            put_nums(b, v, 4, "re S");
            if (x->checked) {
                /* a tick: a short stroke down, a long one up, round ends */
                double t[7] = {s * 0.11,        v[0] + s * 0.2, v[1] + s * 0.52, v[0] + s * 0.42,
                               v[1] + s * 0.25, v[0] + s * 0.8, v[1] + s * 0.8};
                ipf_buf_str(b, "q 1 J 1 j\n");
                put_nums(b, t, 1, "w");
                put_nums(b, t + 1, 2, "m");
                put_nums(b, t + 3, 2, "l");
                put_nums(b, t + 5, 2, "l S Q");
            }
            break;
        }
        }
    }
    end_text(b, &g);
    if (furniture)
        ipf_buf_str(b, "EMC\n");
}

/* ------------------------------------------------------------ info, outlines, PDF/A */

static void format_dates(long long t, char pdfdate[64], char xmpdate[64])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || !gmtime_r(&tt, &tm))
        memset(&tm, 0, sizeof tm);
    if (tm.tm_year > 9999 - 1900)
        tm.tm_year = 9999 - 1900;
    snprintf(pdfdate, 64, "D:%04d%02d%02d%02d%02d%02d+00'00'", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(xmpdate, 64, "%04d-%02d-%02dT%02d:%02d:%02d+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static const char *const info_keys[4] = {"Title", "Author", "Subject", "Keywords"};

static void set_info(doc_ctx *c, const ipf_drawing *dr, const ipf_pdf_options *opt)
{
    HPDF_Doc pdf = c->pdf;
    CHECK(c, HPDF_SetInfoAttr(pdf, HPDF_INFO_CREATOR, "ipforms " IPF_VERSION));
    for (int i = 0; i < 4; i++) {
        const char *v = ipf_drawing_info(dr, info_keys[i]);
        if (!v || !v[0]) /* an empty value is left out, not written empty */
            continue;
        HPDF_MD5Update(&c->md5, (const HPDF_BYTE *)v, (HPDF_UINT32)strlen(v) + 1);
        HPDF_Binary s = text_string(c, v);
        if (s)
            CHECK(c, HPDF_Dict_Add(pdf->info, info_keys[i], s));
    }
    if (opt->date != -1) {
        char pd[64], xd[64];
        format_dates(opt->date, pd, xd);
        HPDF_MD5Update(&c->md5, (const HPDF_BYTE *)pd, (HPDF_UINT32)strlen(pd));
        CHECK(c, HPDF_Dict_Add(pdf->info, "CreationDate", HPDF_String_New(pdf->mmgr, pd, NULL)));
        CHECK(c, HPDF_Dict_Add(pdf->info, "ModDate", HPDF_String_New(pdf->mmgr, pd, NULL)));
    }
}

static void add_outlines(doc_ctx *c, const ipf_drawing *dr, HPDF_Page *pages)
{
    size_t n;
    const ipf_outline_entry *o = ipf_drawing_outlines(dr, &n);
    HPDF_Outline last[16] = {0};
    int depth = -1; /* level of the last entry */
    HPDF_Doc pdf = c->pdf;
    for (size_t i = 0; i < n && !c->err && !c->oom; i++) {
        int level = o[i].level;
        if (level > depth + 1)
            level = depth + 1; /* no skipped levels */
        if (level > 15)
            level = 15;
        HPDF_Outline parent = level > 0 ? last[level - 1] : NULL;
        HPDF_Outline ol = HPDF_CreateOutline(pdf, parent, "", NULL);
        if (!ol) {
            c->err = c->err ? c->err : HPDF_GetError(pdf);
            return;
        }
        HPDF_Binary t = text_string(c, o[i].title);
        if (t)
            CHECK(c, HPDF_Dict_Add(ol, "Title", t));
        /* libharu marks items /Type /Outlines, which belongs to the root only */
        HPDF_Dict_RemoveElement(ol, "Type");
        if (parent)
            CHECK(c, HPDF_Outline_SetOpened(parent, HPDF_TRUE));
        size_t pg = o[i].page < ipf_drawing_page_count(dr) ? o[i].page : 0;
        /* [page /XYZ null top null]: keep the reader's zoom.  The array is
         * written directly into the entry: PDF/A validators (PDFBox
         * Preflight) reject a /Dest that is an indirect reference, which is
         * what HPDF_Page_CreateDestination makes. */
        HPDF_Array dst = HPDF_Array_New(pdf->mmgr);
        if (!dst) {
            c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
            return;
        }
        CHECK(c, HPDF_Array_Add(dst, pages[pg]));
        CHECK(c, HPDF_Array_AddName(dst, "XYZ"));
        CHECK(c, HPDF_Array_Add(dst, HPDF_Null_New(pdf->mmgr)));
        CHECK(c, HPDF_Array_AddReal(dst, (HPDF_REAL)o[i].y));
        CHECK(c, HPDF_Array_Add(dst, HPDF_Null_New(pdf->mmgr)));
        CHECK(c, HPDF_Dict_Add(ol, "Dest", dst));
        last[level] = ol;
        depth = level;
    }
    if (n)
        CHECK(c, HPDF_SetPageMode(pdf, HPDF_PAGE_MODE_USE_OUTLINE));
}

static void xml_text(ipf_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (p < end) {
        const unsigned char *start = p;
        uint32_t cp = next_cp(&p, end);
        if (cp == '&')
            ipf_buf_str(b, "&amp;");
        else if (cp == '<')
            ipf_buf_str(b, "&lt;");
        else if (cp == '>')
            ipf_buf_str(b, "&gt;");
        else if (xml_unsafe(cp))
            ipf_buf_byte(b, ' ');
        else if (cp == 0xFFFD && (p - start) == 1)
            ipf_buf_str(b, "\xEF\xBF\xBD");
        else
            ipf_buf_put(b, start, (size_t)(p - start));
    }
}

static void xmp_prop(ipf_buf *b, const char *open, const char *val, const char *close)
{
    if (!val || !val[0])
        return;
    ipf_buf_str(b, open);
    xml_text(b, val);
    ipf_buf_str(b, close);
}

/* The document's language: every form ipforms sets is in Chinese as
 * written in the mainland (simplified characters). */
#define DOC_LANG "zh-CN"

/* XMP metadata (in every PDF, saying what the Info dictionary says), /Lang,
 * and for PDF/A the pdfaid identification and the sRGB output intent. */
static void add_metadata(doc_ctx *c, const ipf_drawing *dr, const ipf_pdf_options *opt)
{
    HPDF_Doc pdf = c->pdf;
    ipf_pdf_writer *w = c->w;
    ipf_buf *b = &w->tmp;
    const char *producer = HPDF_GetInfoAttr(pdf, HPDF_INFO_PRODUCER);
    char pd[64], xd[64];
    format_dates(opt->date, pd, xd);
    b->len = 0;
    ipf_buf_str(b, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                   "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                   "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n");
    if (opt->pdfa)
        ipf_buf_str(b, "<rdf:Description rdf:about=\"\" "
                       "xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n"
                       "<pdfaid:part>1</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n"
                       "</rdf:Description>\n");
    ipf_buf_str(b,
                "<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n"
                "<dc:format>application/pdf</dc:format>\n"
                "<dc:language><rdf:Bag><rdf:li>" DOC_LANG "</rdf:li></rdf:Bag></dc:language>\n");
    xmp_prop(b, "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">", ipf_drawing_info(dr, "Title"),
             "</rdf:li></rdf:Alt></dc:title>\n");
    xmp_prop(b, "<dc:creator><rdf:Seq><rdf:li>", ipf_drawing_info(dr, "Author"),
             "</rdf:li></rdf:Seq></dc:creator>\n");
    xmp_prop(b, "<dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">",
             ipf_drawing_info(dr, "Subject"), "</rdf:li></rdf:Alt></dc:description>\n");
    ipf_buf_str(b, "</rdf:Description>\n"
                   "<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\n"
                   "<xmp:CreatorTool>ipforms " IPF_VERSION "</xmp:CreatorTool>\n");
    if (opt->date != -1) {
        xmp_prop(b, "<xmp:CreateDate>", xd, "</xmp:CreateDate>\n");
        xmp_prop(b, "<xmp:ModifyDate>", xd, "</xmp:ModifyDate>\n");
    }
    ipf_buf_str(b, "</rdf:Description>\n"
                   "<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n");
    xmp_prop(b, "<pdf:Producer>", producer, "</pdf:Producer>\n");
    xmp_prop(b, "<pdf:Keywords>", ipf_drawing_info(dr, "Keywords"), "</pdf:Keywords>\n");
    ipf_buf_str(b, "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>");
    if (b->oom) {
        c->oom = 1;
        return;
    }
    /* The metadata stream stays uncompressed (PDF/A-1 6.7.2). */
    HPDF_Dict md = HPDF_DictStream_New(pdf->mmgr, pdf->xref);
    if (!md) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    CHECK(c, HPDF_Dict_AddName(md, "Type", "Metadata"));
    CHECK(c, HPDF_Dict_AddName(md, "Subtype", "XML"));
    CHECK(c, HPDF_Stream_Write(md->stream, b->p, (HPDF_UINT)b->len));
    CHECK(c, HPDF_Dict_Add(pdf->catalog, "Metadata", md));
    CHECK(c, HPDF_Dict_Add(pdf->catalog, "Lang", HPDF_String_New(pdf->mmgr, DOC_LANG, NULL)));
    if (!opt->pdfa)
        return;

    /* sRGB output intent (libharu's HPDF_PDFA_AppendOutputIntents writes the
     * key as "DestOutputProfile " with a space, so it is built here). */
    HPDF_Dict icc = flate_stream(c, w->icc.p, w->icc.len);
    HPDF_Dict intent = HPDF_Dict_New(pdf->mmgr);
    HPDF_Array intents = HPDF_Array_New(pdf->mmgr);
    if (!icc || !intent || !intents) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    CHECK(c, HPDF_Dict_AddNumber(icc, "N", 3));
    CHECK(c, HPDF_Xref_Add(pdf->xref, intent));
    CHECK(c, HPDF_Dict_AddName(intent, "Type", "OutputIntent"));
    CHECK(c, HPDF_Dict_AddName(intent, "S", "GTS_PDFA1"));
    CHECK(c, HPDF_Dict_Add(intent, "OutputConditionIdentifier",
                           HPDF_String_New(pdf->mmgr, "sRGB IEC61966-2.1", NULL)));
    CHECK(c, HPDF_Dict_Add(intent, "Info", HPDF_String_New(pdf->mmgr, "sRGB IEC61966-2.1", NULL)));
    CHECK(c, HPDF_Dict_Add(intent, "RegistryName",
                           HPDF_String_New(pdf->mmgr, "http://www.color.org", NULL)));
    CHECK(c, HPDF_Dict_Add(intent, "DestOutputProfile", icc));
    CHECK(c, HPDF_Array_Add(intents, intent));
    CHECK(c, HPDF_Dict_Add(pdf->catalog, "OutputIntents", intents));
}

/* /PageLabels, so that a viewer's page numbers are the printed ones: a run
 * of pages printed n, n+1, … is labelled in decimal from n; pages printed
 * without a number (cover, instructions) are labelled i, ii, … in lower-case
 * roman numerals, counting only such pages.  No numbers printed: no labels. */
static void add_page_labels(doc_ctx *c, const ipf_drawing *dr)
{
    size_t np = ipf_drawing_page_count(dr), unnumbered = 0;
    int any = 0;
    for (size_t p = 0; p < np; p++)
        any |= ipf_drawing_printed_number(dr, p) > 0;
    if (!any)
        return;
    for (size_t p = 0; p < np && !c->err; p++) {
        int n = ipf_drawing_printed_number(dr, p);
        int prev = p ? ipf_drawing_printed_number(dr, p - 1) : -1;
        if (n > 0 && (p == 0 || n != prev + 1 || prev <= 0))
            CHECK(c, HPDF_AddPageLabel(c->pdf, (HPDF_UINT)p, HPDF_PAGE_NUM_STYLE_DECIMAL,
                                       (HPDF_UINT)n, NULL));
        else if (n == 0 && (p == 0 || prev > 0))
            CHECK(c, HPDF_AddPageLabel(c->pdf, (HPDF_UINT)p, HPDF_PAGE_NUM_STYLE_LOWER_ROMAN,
                                       (HPDF_UINT)(unnumbered + 1), NULL));
        unnumbered += n == 0;
    }
}

/* /ID: two copies of an MD5 over what the document is made of, so identical
 * drawings get identical files (libharu's HPDF_PDFA_GenerateID hashes the
 * clock). */
static void add_id(doc_ctx *c)
{
    HPDF_BYTE id[16];
    HPDF_MD5Final(id, &c->md5);
    HPDF_Array a = HPDF_Array_New(c->pdf->mmgr);
    if (!a) {
        c->err = c->err ? c->err : HPDF_FAILD_TO_ALLOC_MEM;
        return;
    }
    CHECK(c, HPDF_Array_Add(a, HPDF_Binary_New(c->pdf->mmgr, id, 16)));
    CHECK(c, HPDF_Array_Add(a, HPDF_Binary_New(c->pdf->mmgr, id, 16)));
    CHECK(c, HPDF_Dict_Add(c->pdf->trailer, "ID", a));
}

/* ------------------------------------------------------------ the document */

static ipf_status report(doc_ctx *c)
{
    if (c->oom || c->err == HPDF_FAILD_TO_ALLOC_MEM) {
        nomem(c->d, c->file);
        return IPF_ERR_NOMEM;
    }
    ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-ERROR",
                 "未生成 PDF：%s（libharu 错误 0x%04X，详细代码 %u）", ipf_hpdf_error_text(c->err),
                 (unsigned)c->err, (unsigned)c->err_detail);
    return IPF_ERR_PDF;
}

/* Builds and serialises the document into (*pdf)->stream. */
static ipf_status build(ipf_pdf_writer *w, const ipf_drawing *dr, const ipf_pdf_options *opt,
                        doc_ctx *c)
{
    size_t np = ipf_drawing_page_count(dr);
    if (np == 0) {
        ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-ERROR", "内部错误：文档没有页面");
        return IPF_ERR_INTERNAL;
    }
    for (size_t p = 0; p < np; p++) {
        double pw, ph;
        ipf_drawing_page_size(dr, p, &pw, &ph);
        if (!(pw >= 3 && pw <= 14400 && ph >= 3 && ph <= 14400)) {
            ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-ERROR",
                         "内部错误：第 %zu 页的尺寸无效（%g × %g 点）", p + 1, pw, ph);
            return IPF_ERR_INTERNAL;
        }
    }
    if (opt->pdfa && w->icc_state == 0 && load_icc(w) != IPF_OK) {
        nomem(c->d, c->file);
        return IPF_ERR_NOMEM;
    }
    if (opt->pdfa && w->icc_state != 1) {
        if (w->icc_state == -2)
            ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDFA-ICC",
                         "色彩配置文件 %s 不是 PDF/A-1 可用的 sRGB 配置文件（需要 ICC 第 2 版、"
                         "RGB、显示器或打印机类），请重新安装软件包 icc-profiles-free",
                         SRGB_PATH);
        else
            ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDFA-ICC",
                         "生成 PDF/A 需要 sRGB 色彩配置文件 %s，请安装软件包 icc-profiles-free",
                         SRGB_PATH);
        return IPF_ERR_IO;
    }
    ipf_status st = collect(c, dr);
    if (st != IPF_OK) {
        if (st == IPF_ERR_NOMEM)
            nomem(c->d, c->file);
        return st;
    }
    if (c->missing) {
        const ipf_ttf_info *in = ipf_ttf_get_info(w->ttf[c->first_missing_font]);
        ipf_diag_add(c->d, c->file, 0, IPF_SEV_WARNING, "PDF-GLYPH",
                     "字体 %s 中没有字符 U+%04X，该字符显示为空框（本文档共 %zu 个这样的字符）",
                     in->psname, (unsigned)c->first_missing, c->missing);
    }

    /* libharu keeps every page in one /Kids array: the 32,768th page would
     * fail half-way with a bare error number.  Said before any work. */
    if (np > HPDF_LIMIT_MAX_ARRAY) {
        ipf_diag_add(c->d, c->file, 0, IPF_SEV_ERROR, "PDF-TOO-MANY-PAGES",
                     "排版结果共 %zu 页，超过 PDF 生成库每份文件 %d 页的上限，未生成 PDF；"
                     "请精简内容，或把数据分成几份分别生成",
                     np, HPDF_LIMIT_MAX_ARRAY);
        return IPF_ERR_PDF;
    }
    HPDF_Doc pdf = HPDF_New(on_hpdf_error, c);
    if (!pdf) {
        nomem(c->d, c->file);
        return IPF_ERR_NOMEM;
    }
    c->pdf = pdf;
    HPDF_MD5Init(&c->md5);
    if (opt->pdfa)
        HPDF_MD5Update(&c->md5, (const HPDF_BYTE *)"PDF/A-1b", 8);
    /* Streams are deflated here; libharu compresses nothing itself. */
    CHECK(c, HPDF_SetCompressionMode(pdf, HPDF_COMP_NONE));
    pdf->pdf_version = HPDF_VER_14;

    for (size_t f = 0; f < w->nfonts && !c->err && !c->oom; f++)
        if (w->use[f].ncps)
            build_font(c, f);

    HPDF_Page *pages = calloc(np, sizeof *pages);
    if (!pages)
        c->oom = 1;
    for (size_t p = 0; p < np && !c->err && !c->oom; p++) {
        double pw, ph;
        ipf_drawing_page_size(dr, p, &pw, &ph);
        HPDF_Page page = HPDF_AddPage(pdf);
        if (!page)
            break;
        pages[p] = page;
        CHECK(c, HPDF_Page_SetWidth(page, (HPDF_REAL)pw));
        CHECK(c, HPDF_Page_SetHeight(page, (HPDF_REAL)ph));
        size_t n;
        const ipf_draw_item *it = ipf_drawing_items(dr, p, &n);
        /* font resources, in font order */
        uint64_t used = 0;
        for (size_t i = 0; i < n; i++)
            if (it[i].kind == IPF_DRAW_TEXT && it[i].len)
                used |= 1ull << it[i].font;
            else if (it[i].kind == IPF_DRAW_CHECKBOX && w->box_font >= 0)
                used |= 1ull << w->box_font;
        for (size_t f = 0; f < w->nfonts; f++) {
            if (!(used >> f & 1))
                continue;
            const char *name = HPDF_Page_GetLocalFontName(page, w->use[f].type0);
            if (!name || strlen(name) >= sizeof w->use[f].name) {
                c->err = c->err ? c->err : HPDF_INVALID_FONT;
                break;
            }
            strcpy(w->use[f].name, name);
        }
        page_content(c, it, n, &w->content);
        if (w->content.oom) {
            c->oom = 1;
            break;
        }
        HPDF_MD5Update(&c->md5, w->content.p, (HPDF_UINT32)w->content.len);
        HPDF_PageAttr attr = (HPDF_PageAttr)page->attr;
        w->zbuf.len = 0;
        if (ipf_deflate(w->z, w->content.p, w->content.len, IPF_DEFLATE_CONTENT, &w->zbuf) < 0) {
            c->oom = 1;
            break;
        }
        attr->contents->filter = HPDF_STREAM_FILTER_NONE;
        attr->contents->write_fn = write_flate_filter;
        CHECK(c, HPDF_Stream_Write(attr->stream, w->zbuf.p, (HPDF_UINT)w->zbuf.len));
    }
    if (!c->err && !c->oom)
        add_outlines(c, dr, pages);
    free(pages);
    if (!c->err && !c->oom)
        set_info(c, dr, opt);
    if (!c->err && !c->oom)
        add_page_labels(c, dr);
    if (!c->err && !c->oom)
        add_metadata(c, dr, opt);
    if (!c->err && !c->oom && opt->pdfa)
        add_id(c);
    if (!c->err && !c->oom) {
        /* the whole file in one block where it fits */
        pdf->stream = HPDF_MemStream_New(pdf->mmgr, 512 * 1024);
        if (!pdf->stream || HPDF_SaveToStream(pdf) != HPDF_OK)
            c->err = c->err ? c->err : HPDF_GetError(pdf);
    }
    if (c->err || c->oom)
        return report(c);
    return IPF_OK;
}

static void finish(doc_ctx *c)
{
    if (c->pdf)
        HPDF_Free(c->pdf);
    c->pdf = NULL;
    reset_use(c->w);
}

ipf_status ipf_pdf_write_memory(ipf_pdf_writer *w, const ipf_drawing *dr,
                                const ipf_pdf_options *opt, unsigned char **buf, size_t *len,
                                ipf_diags *d)
{
    *buf = NULL;
    *len = 0;
    doc_ctx c = {0};
    c.w = w;
    c.d = d;
    c.file = "-";
    ipf_status st = build(w, dr, opt, &c);
    if (st == IPF_OK) {
        HPDF_Stream s = c.pdf->stream;
        size_t total = HPDF_Stream_Size(s);
        unsigned char *out = malloc(total ? total : 1);
        if (!out) {
            nomem(d, c.file);
            st = IPF_ERR_NOMEM;
        } else {
            size_t at = 0;
            HPDF_UINT nb = HPDF_MemStream_GetBufCount(s);
            for (HPDF_UINT i = 0; i < nb; i++) {
                HPDF_UINT l = 0;
                HPDF_BYTE *p = HPDF_MemStream_GetBufPtr(s, i, &l);
                if (p && l <= total - at) {
                    memcpy(out + at, p, l);
                    at += l;
                }
            }
            *buf = out;
            *len = at;
        }
    }
    finish(&c);
    return st;
}

/* ------------------------------------------------------------ file output */

ipf_status ipf_pdf_write_file(ipf_pdf_writer *w, const ipf_drawing *dr, const ipf_pdf_options *opt,
                              const char *path, ipf_diags *d)
{
    return ipf_pdf_write_file_sync(w, dr, opt, path, 1, d);
}

ipf_status ipf_pdf_write_file_sync(ipf_pdf_writer *w, const ipf_drawing *dr,
                                   const ipf_pdf_options *opt, const char *path, int sync,
                                   ipf_diags *d)
{
    doc_ctx c = {0};
    c.w = w;
    c.d = d;
    c.file = path;
    ipf_status st = build(w, dr, opt, &c);
    if (st != IPF_OK) {
        finish(&c);
        return st;
    }
    /* libharu's memory stream is a list of buffers: written out as they are. */
    HPDF_Stream s = c.pdf->stream;
    HPDF_UINT nb = HPDF_MemStream_GetBufCount(s);
    ipf_chunk *chunks = calloc(nb ? nb : 1, sizeof *chunks);
    if (!chunks) {
        nomem(d, path);
        finish(&c);
        return IPF_ERR_NOMEM;
    }
    for (HPDF_UINT i = 0; i < nb; i++) {
        HPDF_UINT l = 0;
        chunks[i].data = HPDF_MemStream_GetBufPtr(s, i, &l);
        chunks[i].len = chunks[i].data ? l : 0;
    }
    st = ipf_atomic_write(path, chunks, nb, sync, d);
    free(chunks);
    finish(&c);
    return st;
}
