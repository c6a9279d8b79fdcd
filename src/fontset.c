/* fontset.c: which code points each font can draw, and how wide they are.
 *
 * Everything is computed once, at open time, into two flat tables per font
 * (a 65,536-bit coverage bitmap and a 65,536-entry width table), and the
 * FreeType face is closed again.  Lookups are then array reads: O(1), no
 * locks, safe from any number of threads.
 *
 * The rules below mirror what libharu 2.3.0 does with the same file, because
 * libharu is what draws the text: a font accepted here must load there, a
 * code point counted as covered must come out as a real glyph, and a width
 * must be the one written into the PDF's /W array. */
#include "fontset.h"
#include "liberr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H
#include FT_FONT_FORMATS_H
#include FT_SFNT_NAMES_H
#include FT_TRUETYPE_IDS_H
#include FT_TRUETYPE_TABLES_H
#include FT_TRUETYPE_TAGS_H

#define BMP_SIZE 0x10000u

typedef struct font {
    char *path;
    /* Bit cp set: the cmap libharu reads maps cp to a glyph other than 0. */
    uint64_t covered[BMP_SIZE / 64];
    /* Advance of cp in 1/1000 em, truncated exactly as libharu truncates it
     * for /W (advance * 1000 / unitsPerEm), so that a line measured here is
     * as long as the viewer draws it.  0 where not covered. */
    uint16_t width[BMP_SIZE];
    double ascent, descent; /* em */
    /* Ink extent of the marks in ink_cps, in 1/1000 em from the glyph
     * origin; ink_r[k] < ink_l[k] where unknown (no glyph, no outline). */
    int16_t ink_l[32], ink_r[32];
} font;

/* The punctuation marks the line breaker may compress: it needs to know
 * how much of each em box is blank, which differs between fonts (FandolFang
 * centres ？, most Simplified Chinese fonts set it on the left). */
static const uint16_t ink_cps[] = {0x3001, 0xFF0C, 0xFF1B, 0xFF1A, 0x3002, 0xFF0E, 0xFF01, 0xFF1F,
                                   0xFF09, 0xFF3D, 0xFF5D, 0x3009, 0x300B, 0x300D, 0x300F, 0x3011,
                                   0x3015, 0x3017, 0x2019, 0x201D, 0xFF08, 0xFF3B, 0xFF5B, 0x3008,
                                   0x300A, 0x300C, 0x300E, 0x3010, 0x3014, 0x3016, 0x2018, 0x201C};
_Static_assert(sizeof ink_cps / sizeof *ink_cps == sizeof((font *)0)->ink_l / sizeof(int16_t),
               "font.ink_l holds one entry per mark");

struct ipf_fontset {
    size_t n;
    font *fonts;
};

static void font_error(ipf_diags *d, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void font_error(ipf_diags *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ipf_diag_vadd(d, path, 0, IPF_SEV_ERROR, "FONT-LOAD", fmt, ap);
    va_end(ap);
}

static unsigned long be32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* A font cut short in copying (a USB stick pulled, a download broken off)
 * opens in FreeType, which reads tables lazily, and fails later with a bare
 * number.  The sfnt table directory says where each table ends: past the
 * end of the file means the file is incomplete. */
static int truncation_ok(const char *path, const unsigned char *h, size_t got, long size,
                         ipf_diags *d)
{
    unsigned long v = be32(h);
    if (got < 12 || size < 0 ||
        (v != 0x00010000ul && v != 0x74727565ul /* true */ && v != 0x4F54544Ful /* OTTO */))
        return 1;
    unsigned n = (unsigned)h[4] << 8 | h[5];
    unsigned long need = 12ul + 16ul * n, last = 0;
    char tag[5] = "";
    for (unsigned i = 0; i < n && 12 + 16 * (size_t)(i + 1) <= got; i++) {
        const unsigned char *r = h + 12 + 16 * i;
        unsigned long end = be32(r + 8) + be32(r + 12);
        if (end > last) {
            last = end;
            memcpy(tag, r, 4);
        }
    }
    const char *what = tag;
    if (need > last) {
        last = need;
        what = "目录";
    }
    if ((unsigned long)size >= last)
        return 1;
    font_error(d, path,
               "字体文件“%s”不完整：文件只有 %ld 字节，而其中的 %s 表要到第 %lu 字节才结束"
               "（可能在复制或下载时被截断）；请重新复制一份完整的字体文件",
               path, size, what, last);
    return 0;
}

/* FreeType's own messages are English and vague ("unknown file format"), so
 * the file is first opened with stdio to tell a clerk what is wrong. */
static int check_readable(const char *path, ipf_diags *d)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        font_error(d, path, "“%s”是目录，不是字体文件", path);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (e == ENOENT)
            font_error(d, path, "字体文件“%s”不存在", path);
        else if (e == EACCES)
            font_error(d, path, "没有权限读取字体文件“%s”", path);
        else
            font_error(d, path, "无法打开字体文件“%s”（%s）", path, strerror(e));
        return 0;
    }
    unsigned char head[12 + 16 * 64] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    fclose(f);
    const unsigned char *magic = head;
    if (got < 4) {
        font_error(d, path, "字体文件“%s”是空的或不完整", path);
        return 0;
    }
    if (!truncation_ok(path, head, got, size, d))
        return 0;
    /* libharu's HPDF_LoadTTFontFromFile reads a single font, not a
     * collection; HPDF_LoadTTFontFromFile2 would need an index we do not
     * have. */
    /* FreeType unpacks web fonts itself; libharu reads the file as it is. */
    if (memcmp(magic, "wOFF", 4) == 0 || memcmp(magic, "wOF2", 4) == 0) {
        font_error(d, path, "“%s”是网页字体（WOFF），请先转换为 TrueType（.ttf）", path);
        return 0;
    }
    if (memcmp(magic, "ttcf", 4) == 0) {
        font_error(d, path, "“%s”是字体集合（TTC），不能直接使用；请指定其中单个字体的 .ttf 文件",
                   path);
        return 0;
    }
    return 1;
}

static int has_table(FT_Face face, FT_ULong tag)
{
    FT_ULong len = 0;
    return FT_Load_Sfnt_Table(face, tag, 0, NULL, &len) == 0;
}

/* The first cmap subtable libharu 2.3.0 accepts (ParseCMap): in table order,
 * (3,1) or (0,1)/(0,3), format 4.  FreeType's own choice may differ (it
 * prefers a format-12 subtable), and then coverage could disagree. */
static FT_CharMap libharu_charmap(FT_Face face)
{
    for (int i = 0; i < face->num_charmaps; i++) {
        FT_CharMap cm = face->charmaps[i];
        int ms = cm->platform_id == TT_PLATFORM_MICROSOFT && cm->encoding_id == TT_MS_ID_UNICODE_CS;
        int uni = cm->platform_id == TT_PLATFORM_APPLE_UNICODE &&
                  (cm->encoding_id == TT_APPLE_ID_UNICODE_1_1 ||
                   cm->encoding_id == TT_APPLE_ID_UNICODE_2_0);
        if ((ms || uni) && FT_Get_CMap_Format(cm) == 4)
            return cm;
    }
    return NULL;
}

/* libharu builds the PDF font name from name IDs 6 and 2 (Mac Roman or
 * Windows US English) and refuses the font when either is missing or the
 * two together exceed its 127-byte buffer (ParseName). */
static int libharu_name_ok(FT_Face face)
{
    FT_UInt len[7] = {0};
    int found[7] = {0};
    FT_UInt count = FT_Get_Sfnt_Name_Count(face);
    for (FT_UInt i = 0; i < count; i++) {
        FT_SfntName nm;
        if (FT_Get_Sfnt_Name(face, i, &nm) != 0 || (nm.name_id != 2 && nm.name_id != 6))
            continue;
        if (nm.platform_id == TT_PLATFORM_MACINTOSH && nm.encoding_id == TT_MAC_ID_ROMAN) {
            len[nm.name_id] = nm.string_len;
            found[nm.name_id] = 2; /* libharu prefers the Mac record */
        } else if (nm.platform_id == TT_PLATFORM_MICROSOFT &&
                   nm.encoding_id == TT_MS_ID_UNICODE_CS && nm.language_id == 0x0409 &&
                   found[nm.name_id] < 2) {
            len[nm.name_id] = nm.string_len / 2 + nm.string_len % 2;
            found[nm.name_id] = 1;
        }
    }
    return found[2] && found[6] && len[2] + len[6] + 8 <= 127;
}

/* Checks that libharu 2.3.0 will load and embed the face; reports why not. */
static int check_libharu_can_embed(FT_Face face, const char *path, ipf_diags *d)
{
    if (!FT_IS_SFNT(face)) {
        font_error(d, path, "“%s”不是 TrueType 字体（格式为 %s），PDF 生成库无法嵌入", path,
                   FT_Get_Font_Format(face));
        return 0;
    }
    if (!has_table(face, TTAG_glyf)) {
        if (has_table(face, TTAG_CFF) || has_table(face, TTAG_CFF2))
            font_error(d, path,
                       "“%s”是 CFF 轮廓的 OpenType 字体（没有 glyf 表），PDF 生成库无法嵌入；"
                       "请先转换为 TrueType：/usr/bin/python3 tools/make-font.py --input %s "
                       "--output 新字体.ttf",
                       path, path);
        else
            font_error(d, path, "“%s”没有 glyf 表（TrueType 字形），PDF 生成库无法嵌入", path);
        return 0;
    }
    static const struct {
        FT_ULong tag;
        const char *name;
    } required[] = {{TTAG_head, "head"}, {TTAG_maxp, "maxp"}, {TTAG_hhea, "hhea"},
                    {TTAG_hmtx, "hmtx"}, {TTAG_loca, "loca"}, {TTAG_cmap, "cmap"},
                    {TTAG_name, "name"}, {TTAG_OS2, "OS/2"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!has_table(face, required[i].tag)) {
            font_error(d, path, "字体“%s”缺少 %s 表，PDF 生成库无法加载", path, required[i].name);
            return 0;
        }
    }
    const TT_OS2 *os2 = FT_Get_Sfnt_Table(face, FT_SFNT_OS2);
    /* 0x0002 restricted licence, 0x0100 no subsetting, 0x0200 bitmap only:
     * libharu refuses to embed (ParseOS2), and a PDF form must embed. */
    if (os2 && (os2->fsType & 0x0302)) {
        font_error(d, path,
                   "字体“%s”的授权标志（OS/2 fsType=0x%04X）不允许嵌入或子集化，"
                   "不能用于生成 PDF；请换用允许嵌入的字体",
                   path, (unsigned)os2->fsType);
        return 0;
    }
    if (!libharu_charmap(face)) {
        font_error(d, path, "字体“%s”没有 Unicode 字符映射（cmap 格式 4），PDF 生成库无法用它排印",
                   path);
        return 0;
    }
    if (!libharu_name_ok(face)) {
        font_error(d, path,
                   "字体“%s”的 name 表缺少 PostScript 名（ID 6）或样式名（ID 2），"
                   "或两者过长，PDF 生成库无法加载",
                   path);
        return 0;
    }
    if (face->units_per_EM < 16 || face->units_per_EM > 16384) {
        font_error(d, path, "字体“%s”的 unitsPerEm（%u）无效", path, (unsigned)face->units_per_EM);
        return 0;
    }
    return 1;
}

static ipf_status load_font(FT_Library lib, const char *path, font *fo, ipf_diags *d)
{
    if (!check_readable(path, d))
        return IPF_ERR_FONT;

    FT_Face face;
    FT_Error err = FT_New_Face(lib, path, 0, &face);
    if (err == FT_Err_Out_Of_Memory)
        return IPF_ERR_NOMEM;
    if (err) {
        font_error(d, path, "“%s”：%s（FreeType 错误 %d）", path, ipf_ft_error_text(err), err);
        return IPF_ERR_FONT;
    }
    if (!check_libharu_can_embed(face, path, d)) {
        FT_Done_Face(face);
        return IPF_ERR_FONT;
    }

    ipf_status st = IPF_OK;
    FT_Long nglyphs = face->num_glyphs;
    FT_Fixed *adv = malloc(sizeof *adv * (size_t)(nglyphs > 0 ? nglyphs : 1));
    if (!adv) {
        FT_Done_Face(face);
        return IPF_ERR_NOMEM;
    }
    /* NO_SCALE: advances in font units straight from hmtx, as libharu reads
     * them. */
    if (nglyphs > 0 && FT_Get_Advances(face, 0, (FT_UInt)nglyphs, FT_LOAD_NO_SCALE, adv) != 0) {
        font_error(d, path, "无法读取字体“%s”的字宽（hmtx 表）", path);
        st = IPF_ERR_FONT;
        goto done;
    }

    FT_Set_Charmap(face, libharu_charmap(face));
    unsigned upem = face->units_per_EM;
    size_t ncovered = 0;
    FT_UInt gid;
    FT_ULong cp = FT_Get_First_Char(face, &gid);
    /* Glyph 0 (.notdef) counts as "cannot draw": tools/make-font.py maps the
     * gaps between covered code points to it on purpose, and FreeType skips
     * such entries here. */
    while (gid != 0 && cp < BMP_SIZE) {
        if ((FT_Long)gid < nglyphs) {
            unsigned long a = (unsigned long)adv[gid];
            unsigned long w = a * 1000u / upem;
            fo->covered[cp / 64] |= UINT64_C(1) << (cp % 64);
            fo->width[cp] = (uint16_t)(w > 0xFFFF ? 0xFFFF : w);
            ncovered++;
        }
        cp = FT_Get_Next_Char(face, cp, &gid);
    }
    if (ncovered == 0) {
        font_error(d, path, "字体“%s”不含任何可用字符", path);
        st = IPF_ERR_FONT;
        goto done;
    }
    for (size_t k = 0; k < sizeof ink_cps / sizeof *ink_cps; k++) {
        fo->ink_l[k] = 1;
        fo->ink_r[k] = 0;
        FT_UInt g = FT_Get_Char_Index(face, ink_cps[k]);
        if (g &&
            FT_Load_Glyph(face, g, FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) ==
                0 &&
            face->glyph->metrics.width > 0) {
            long l = (long)face->glyph->metrics.horiBearingX * 1000 / (long)upem;
            long r = ((long)face->glyph->metrics.horiBearingX + (long)face->glyph->metrics.width) *
                     1000 / (long)upem;
            if (l >= -2000 && r <= 4000 && l < r) {
                fo->ink_l[k] = (int16_t)l;
                fo->ink_r[k] = (int16_t)r;
            }
        }
    }
    fo->ascent = (double)face->ascender / upem;
    fo->descent = (double)face->descender / upem;
    if (fo->descent > 0) /* some fonts store hhea.descender positive */
        fo->descent = -fo->descent;

done:
    free(adv);
    FT_Done_Face(face);
    return st;
}

ipf_status ipf_fontset_open(const char *const *paths, size_t n, ipf_diags *d, ipf_fontset **out)
{
    *out = NULL;
    if (n == 0) {
        ipf_diag_add(d, "-", 0, IPF_SEV_ERROR, "FONT-LOAD", "没有指定字体");
        return IPF_ERR_USAGE;
    }
    ipf_fontset *fs = calloc(1, sizeof *fs);
    if (!fs)
        return IPF_ERR_NOMEM;
    fs->fonts = calloc(n, sizeof *fs->fonts);
    if (!fs->fonts) {
        free(fs);
        return IPF_ERR_NOMEM;
    }
    fs->n = n;

    /* A library of our own: FT_Library is not safe to share between threads
     * while faces are opened, and we need it only for these few calls. */
    FT_Library lib;
    if (FT_Init_FreeType(&lib) != 0) {
        ipf_fontset_free(fs);
        return IPF_ERR_NOMEM;
    }
    ipf_status st = IPF_OK;
    for (size_t i = 0; i < n; i++) {
        fs->fonts[i].path = strdup(paths[i]);
        if (!fs->fonts[i].path) {
            st = IPF_ERR_NOMEM;
            break;
        }
        /* Every font is tried, so that one run reports every bad file. */
        ipf_status fst = load_font(lib, paths[i], &fs->fonts[i], d);
        if (fst == IPF_ERR_NOMEM) {
            st = fst;
            break;
        }
        if (fst != IPF_OK)
            st = fst;
    }
    FT_Done_FreeType(lib);
    if (st != IPF_OK) {
        ipf_fontset_free(fs);
        return st;
    }
    *out = fs;
    return IPF_OK;
}

void ipf_fontset_free(ipf_fontset *fs)
{
    if (!fs)
        return;
    for (size_t i = 0; i < fs->n; i++)
        free(fs->fonts[i].path);
    free(fs->fonts);
    free(fs);
}

size_t ipf_fontset_count(const ipf_fontset *fs)
{
    return fs ? fs->n : 0;
}

const char *ipf_fontset_path(const ipf_fontset *fs, size_t i)
{
    return fs && i < fs->n ? fs->fonts[i].path : NULL;
}

static int covers(const font *fo, uint32_t cp)
{
    return cp < BMP_SIZE && (fo->covered[cp / 64] >> (cp % 64) & 1);
}

int ipf_fontset_font_for(const ipf_fontset *fs, uint32_t cp)
{
    if (!fs)
        return -1;
    for (size_t i = 0; i < fs->n; i++)
        if (covers(&fs->fonts[i], cp))
            return (int)i;
    return -1;
}

double ipf_fontset_advance(const ipf_fontset *fs, size_t i, uint32_t cp)
{
    if (!fs || i >= fs->n || !covers(&fs->fonts[i], cp))
        return 0;
    return fs->fonts[i].width[cp] / 1000.0;
}

int ipf_fontset_ink(const ipf_fontset *fs, size_t i, uint32_t cp, double *left, double *right)
{
    if (!fs || i >= fs->n)
        return 0;
    /* Called for every character typeset: most are no mark at all, and the
     * marks lie in three short ranges (quotes, CJK marks, full-width forms). */
    if (cp < 0x2018 || (cp > 0x201D && cp < 0x3001) || (cp > 0x3017 && cp < 0xFF01) || cp > 0xFF5D)
        return 0;
    for (size_t k = 0; k < sizeof ink_cps / sizeof *ink_cps; k++)
        if (ink_cps[k] == cp && fs->fonts[i].ink_l[k] < fs->fonts[i].ink_r[k]) {
            *left = fs->fonts[i].ink_l[k] / 1000.0;
            *right = fs->fonts[i].ink_r[k] / 1000.0;
            return 1;
        }
    return 0;
}

double ipf_fontset_ascent(const ipf_fontset *fs, size_t i)
{
    return fs && i < fs->n ? fs->fonts[i].ascent : 0;
}

double ipf_fontset_descent(const ipf_fontset *fs, size_t i)
{
    return fs && i < fs->n ? fs->fonts[i].descent : 0;
}
