/* test_fontset: what layout and validation learn from the fonts, checked
 * against what a reader of the PDF would see.
 *
 *     test_fontset REPO_ROOT
 *
 * Runs in the current directory (it writes one scratch file there).  Checks
 * that need a file this machine may lack (the Fandol OTF, DejaVu Sans, a TTC)
 * say so and are left out; the rest always run. */
#include <hpdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fontset.h"

#include "check.h"

static char font_path[4096];
static const char *otf_path =
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolFang-Regular.otf";

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static unsigned u16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned long u32(const unsigned char *p)
{
    return (unsigned long)u16(p) << 16 | u16(p + 2);
}

/* The (3,1) format-4 cmap subtable of a TrueType file, or NULL. */
static const unsigned char *cmap4(const unsigned char *ttf, size_t len)
{
    unsigned ntables = u16(ttf + 4);
    for (unsigned i = 0; i < ntables && 12 + 16 * (i + 1) <= len; i++) {
        const unsigned char *rec = ttf + 12 + 16 * i;
        if (memcmp(rec, "cmap", 4) != 0)
            continue;
        const unsigned char *cmap = ttf + u32(rec + 8);
        for (unsigned j = 0; j < u16(cmap + 2); j++) {
            const unsigned char *enc = cmap + 4 + 8 * j;
            const unsigned char *sub = cmap + u32(enc + 4);
            if (u16(enc) == 3 && u16(enc + 2) == 1 && u16(sub) == 4)
                return sub;
        }
    }
    return NULL;
}

/* Looks cp up the way libharu 2.3.0 does (HPDF_TTFontDef_GetGlyphid,
 * including its adding idDelta to a 0 from glyphIdArray).  *seg is the index
 * of the segment whose range holds cp, or -1. */
static unsigned libharu_glyph(const unsigned char *sub, unsigned cp, int *seg)
{
    unsigned n = u16(sub + 6) / 2;
    const unsigned char *ends = sub + 14, *starts = ends + 2 * n + 2;
    const unsigned char *deltas = starts + 2 * n, *offsets = deltas + 2 * n;
    *seg = -1;
    for (unsigned i = 0; i < n; i++) {
        if (cp > u16(ends + 2 * i))
            continue;
        if (cp < u16(starts + 2 * i))
            return 0;
        *seg = (int)i;
        unsigned ro = u16(offsets + 2 * i);
        if (ro == 0)
            return (cp + u16(deltas + 2 * i)) & 0xFFFF;
        const unsigned char *g = offsets + 2 * i + ro + 2 * (cp - u16(starts + 2 * i));
        return (u16(g) + u16(deltas + 2 * i)) & 0xFFFF;
    }
    return 0;
}

static ipf_fontset *open_fonts(const char *const *paths, size_t n, ipf_diags *d, ipf_status *st)
{
    ipf_fontset *fs = NULL;
    *st = ipf_fontset_open(paths, n, d, &fs);
    return fs;
}

/* A file that is not a usable font gives exactly one FONT-LOAD error naming
 * it, whose message contains `hint`. */
static void expect_rejected(const char *path, const char *hint)
{
    ipf_diags *d = ipf_diags_new();
    ipf_status st;
    ipf_fontset *fs = open_fonts(&path, 1, d, &st);
    EXPECT(st == IPF_ERR_FONT, "%s: status %d", path, st);
    EXPECT(fs == NULL, "%s: a fontset came back despite the error", path);
    EXPECT(ipf_diags_count(d) == 1, "%s: %zu diagnostics", path, ipf_diags_count(d));
    if (ipf_diags_count(d) >= 1) {
        const ipf_diag *g = ipf_diags_get(d, 0);
        EXPECT(strcmp(g->code, "FONT-LOAD") == 0, "code %s", g->code);
        EXPECT(g->severity == IPF_SEV_ERROR, "severity %d", g->severity);
        EXPECT(strcmp(g->file, path) == 0, "file %s", g->file);
        EXPECT(strstr(g->message, path) != NULL, "message does not name the file: %s", g->message);
        EXPECT(strstr(g->message, hint) != NULL, "message lacks \"%s\": %s", hint, g->message);
        printf("  %s -> %s\n", path, g->message);
    }
    ipf_fontset_free(fs);
    ipf_diags_free(d);
}

static void test_coverage_and_widths(const ipf_fontset *fs)
{
    /* 中 is the ordinary case: covered by the primary font, one em wide. */
    EXPECT(ipf_fontset_font_for(fs, 0x4E2D) == 0, "中 not covered");
    EXPECT(ipf_fontset_advance(fs, 0, 0x4E2D) == 1.0, "中 advance %g em",
           ipf_fontset_advance(fs, 0, 0x4E2D));

    /* What the forms print: full-width punctuation and the check-box
     * squares.  ☑ (U+2611) and ✓ are missing from Fandol, so check marks are
     * drawn as vector art and are not listed. */
    static const unsigned needed[] = {0xFF0C, 0x3002, 0x3001, 0xFF1B, 0xFF1A, 0xFF1F, 0xFF01,
                                      0xFF08, 0xFF09, 0x300A, 0x300B, 0x300C, 0x300D, 0x300E,
                                      0x300F, 0x3010, 0x3011, 0x3014, 0x3015, 0x2014, 0x2026,
                                      0x00B7, 0x25A1, 0x25A0, 0x3000};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        EXPECT(ipf_fontset_font_for(fs, needed[i]) == 0, "U+%04X not covered", needed[i]);
        EXPECT(ipf_fontset_advance(fs, 0, needed[i]) == 1.0, "U+%04X advance %g em", needed[i],
               ipf_fontset_advance(fs, 0, needed[i]));
    }
    EXPECT(ipf_fontset_font_for(fs, 'A') == 0, "A not covered");
    EXPECT(ipf_fontset_advance(fs, 0, 'A') > 0.3 && ipf_fontset_advance(fs, 0, 'A') < 1.0,
           "A advance %g em", ipf_fontset_advance(fs, 0, 'A'));

    /* Beyond the BMP libharu drops the character without a trace, so it is
     * never covered, even by a font that has it. */
    EXPECT(ipf_fontset_font_for(fs, 0x20000) == -1, "U+20000 covered");
    EXPECT(ipf_fontset_advance(fs, 0, 0x20000) == 0, "U+20000 has a width");
    EXPECT(ipf_fontset_font_for(fs, 0x110000) == -1, "U+110000 covered");

    /* Out-of-range font indexes answer 0 rather than crash. */
    EXPECT(ipf_fontset_advance(fs, 99, 0x4E2D) == 0, "advance of font 99");
    EXPECT(ipf_fontset_ascent(fs, 99) == 0, "ascent of font 99");
    EXPECT(ipf_fontset_path(fs, 99) == NULL, "path of font 99");

    /* Line height: FandolFang's ascent 0.88 and descent -0.12 make one em. */
    double asc = ipf_fontset_ascent(fs, 0), desc = ipf_fontset_descent(fs, 0);
    EXPECT(asc > 0.7 && asc < 1.1, "ascent %g", asc);
    EXPECT(desc < 0 && desc > -0.4, "descent %g", desc);

    /* Ink of the marks, which the line breaker trims only where blank:
     * ， sits in the left half, （ in the right, FandolFang's ？ in the
     * middle; a Han character is not a mark. */
    double l, r;
    EXPECT(ipf_fontset_ink(fs, 0, 0xFF0C, &l, &r) && r < 0.5 && l >= 0, "， ink %g..%g", l, r);
    EXPECT(ipf_fontset_ink(fs, 0, 0xFF08, &l, &r) && l > 0.5, "（ ink %g..%g", l, r);
    EXPECT(ipf_fontset_ink(fs, 0, 0xFF1F, &l, &r) && l < 0.5 && r > 0.5, "？ ink %g..%g", l, r);
    EXPECT(!ipf_fontset_ink(fs, 0, 0x4E2D, &l, &r), "中 has mark ink");
    EXPECT(!ipf_fontset_ink(fs, 99, 0xFF0C, &l, &r), "ink of font 99");
}

/* The committed font's cmap, read as libharu reads it: few segments (libharu
 * scans them linearly for all 65,536 code points in every document), and a
 * code point inside a segment that the font lacks maps to glyph 0, which the
 * fontset must call "not covered". */
static void test_cmap_layout(const ipf_fontset *fs)
{
    size_t len = 0;
    unsigned char *ttf = slurp(font_path, &len);
    EXPECT(ttf != NULL, "cannot read %s", font_path);
    if (!ttf)
        return;
    const unsigned char *sub = cmap4(ttf, len);
    EXPECT(sub != NULL, "no (3,1) format-4 cmap");
    if (sub) {
        unsigned segs = u16(sub + 6) / 2;
        EXPECT(segs <= 64, "%u cmap segments: libharu would scan them 65,536 times per PDF", segs);
        int seg;
        /* 丂 U+4E02 lies between 一 and 丁 on one side and 七 on the other. */
        unsigned gid = libharu_glyph(sub, 0x4E02, &seg);
        EXPECT(seg >= 0, "U+4E02 is not inside a segment; pick another gap code point");
        EXPECT(gid == 0, "libharu maps U+4E02 to glyph %u", gid);
        EXPECT(ipf_fontset_font_for(fs, 0x4E02) == -1, "U+4E02 counted as covered");
        EXPECT(ipf_fontset_advance(fs, 0, 0x4E02) == 0, "U+4E02 has a width");
        gid = libharu_glyph(sub, 0x4E2D, &seg);
        EXPECT(gid != 0, "libharu maps 中 to glyph 0");

        /* Every BMP code point: the fontset and libharu agree on coverage. */
        unsigned disagree = 0, first = 0;
        for (unsigned cp = 0; cp < 0xFFFF; cp++) {
            int covered = libharu_glyph(sub, cp, &seg) != 0;
            if (covered != (ipf_fontset_font_for(fs, cp) == 0) && disagree++ == 0)
                first = cp;
        }
        EXPECT(disagree == 0, "%u code points disagree with libharu, first U+%04X", disagree,
               first);
    }
    free(ttf);
}

static void on_hpdf_error(HPDF_STATUS e, HPDF_STATUS detail, void *user)
{
    (void)user;
    fprintf(stderr, "libharu error 0x%04X (detail %u)\n", (unsigned)e, (unsigned)detail);
}

/* Loads a font into a fresh libharu document. */
static HPDF_Font libharu_font(HPDF_Doc pdf, const char *path)
{
    HPDF_UseUTFEncodings(pdf);
    HPDF_SetCurrentEncoder(pdf, "UTF-8");
    const char *name = HPDF_LoadTTFontFromFile(pdf, path, HPDF_TRUE);
    EXPECT(name != NULL, "libharu cannot load %s", path);
    HPDF_Font font = name ? HPDF_GetFont(pdf, name, "UTF-8") : NULL;
    EXPECT(font != NULL, "HPDF_GetFont");
    return font;
}

/* The widths layout uses must be the ones libharu writes into the PDF's /W
 * array, or justified and right-aligned lines end in the wrong place.
 * libharu truncates advance * 1000 / unitsPerEm; that only shows with a
 * unitsPerEm that does not divide 1000, such as DejaVu's 2048. */
static void check_widths(const ipf_fontset *fs, size_t i)
{
    /* Asking libharu for a width marks the glyph for embedding, so this
     * document, which asks for all of them, is never saved. */
    HPDF_Doc pdf = HPDF_New(on_hpdf_error, NULL);
    HPDF_Font font = pdf ? libharu_font(pdf, ipf_fontset_path(fs, i)) : NULL;
    if (font) {
        unsigned bad = 0, first = 0, n = 0;
        for (unsigned cp = 0x20; cp < 0xFFFF; cp++) {
            if (ipf_fontset_font_for(fs, cp) != (int)i)
                continue;
            long ours = (long)(ipf_fontset_advance(fs, i, cp) * 1000 + 0.5);
            n++;
            if (HPDF_Font_GetUnicodeWidth(font, (HPDF_UNICODE)cp) != ours && bad++ == 0)
                first = cp;
        }
        EXPECT(bad == 0, "%s: %u of %u widths differ from libharu's, first U+%04X",
               ipf_fontset_path(fs, i), bad, n, first);
    }
    HPDF_Free(pdf);
}

/* A font the fontset accepts must load and embed in libharu. */
static void test_libharu_agrees(const ipf_fontset *fs)
{
    check_widths(fs, 0);
    HPDF_Doc pdf = HPDF_New(on_hpdf_error, NULL);
    HPDF_Font font = pdf ? libharu_font(pdf, font_path) : NULL;
    if (font) {
        HPDF_Page page = HPDF_AddPage(pdf);
        HPDF_Page_BeginText(page);
        HPDF_Page_SetFontAndSize(page, font, 14);
        HPDF_Page_TextOut(page, 50, 700, "中文，□■");
        HPDF_Page_EndText(page);
        EXPECT(HPDF_SaveToStream(pdf) == HPDF_OK, "HPDF_SaveToStream");
        EXPECT(HPDF_GetStreamSize(pdf) > 1000, "PDF of %u bytes",
               (unsigned)HPDF_GetStreamSize(pdf));
        EXPECT(HPDF_GetError(pdf) == HPDF_OK, "libharu error 0x%04X", (unsigned)HPDF_GetError(pdf));
    }
    HPDF_Free(pdf);
}

static void test_errors(const char *repo)
{
    char path[4096];
    expect_rejected("no-such-dir/no-such-font.ttf", "不存在");

    snprintf(path, sizeof path, "%s/tests/CMakeLists.txt", repo);
    expect_rejected(path, "不是可识别的字体");

    expect_rejected(".", "目录");

    FILE *f = fopen("fontset-empty.ttf", "wb");
    if (f)
        fclose(f);
    expect_rejected("fontset-empty.ttf", "空");
    remove("fontset-empty.ttf");

    /* FreeType would open a WOFF file; libharu would not. */
    f = fopen("fontset-web.woff", "wb");
    if (f) {
        fputs("wOFF", f);
        for (int i = 0; i < 60; i++)
            fputc(0, f);
        fclose(f);
    }
    expect_rejected("fontset-web.woff", "WOFF");
    remove("fontset-web.woff");

    if (exists(otf_path))
        expect_rejected(otf_path, "make-font.py");
    else
        printf("  (no %s: CFF rejection not checked)\n", otf_path);

    const char *ttc = "/usr/share/fonts/truetype/arphic/uming.ttc";
    if (exists(ttc))
        expect_rejected(ttc, "TTC");

    /* Two bad fonts: both reported in one run, so a clerk fixes both at once. */
    ipf_diags *d = ipf_diags_new();
    const char *two[] = {"missing-a.ttf", font_path, "missing-b.ttf"};
    ipf_status st;
    ipf_fontset *fs = open_fonts(two, 3, d, &st);
    EXPECT(st == IPF_ERR_FONT && fs == NULL, "status %d", st);
    EXPECT(ipf_diags_errors(d) == 2, "%zu errors for two missing fonts", ipf_diags_errors(d));
    ipf_fontset_free(fs);
    ipf_diags_free(d);
}

static void test_fallback(void)
{
    const char *dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    ipf_diags *d = ipf_diags_new();
    ipf_status st;
    if (exists(dejavu)) {
        /* A Latin font first: it wins where it covers, Fandol fills in. */
        const char *paths[] = {dejavu, font_path};
        ipf_fontset *fs = open_fonts(paths, 2, d, &st);
        EXPECT(st == IPF_OK, "status %d", st);
        if (fs) {
            EXPECT(ipf_fontset_count(fs) == 2, "count %zu", ipf_fontset_count(fs));
            EXPECT(strcmp(ipf_fontset_path(fs, 1), font_path) == 0, "path 1");
            EXPECT(ipf_fontset_font_for(fs, 'A') == 0, "A from %d", ipf_fontset_font_for(fs, 'A'));
            EXPECT(ipf_fontset_font_for(fs, 0x4E2D) == 1, "中 from %d",
                   ipf_fontset_font_for(fs, 0x4E2D));
            EXPECT(ipf_fontset_advance(fs, 0, 0x4E2D) == 0, "DejaVu has a width for 中");
            check_widths(fs, 0);
        }
        ipf_fontset_free(fs);
    } else {
        printf("  (no %s: fallback order not checked)\n", dejavu);
    }
    /* The same font twice: the first always wins. */
    const char *twice[] = {font_path, font_path};
    ipf_fontset *fs = open_fonts(twice, 2, d, &st);
    EXPECT(st == IPF_OK && fs && ipf_fontset_font_for(fs, 0x4E2D) == 0, "twice");
    ipf_fontset_free(fs);
    ipf_diags_free(d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_fontset REPO_ROOT\n");
        return 2;
    }
    snprintf(font_path, sizeof font_path, "%s/fonts/FandolFang-Regular.ttf", argv[1]);

    ipf_diags *d = ipf_diags_new();
    ipf_status st;
    const char *paths[] = {font_path};
    ipf_fontset *fs = open_fonts(paths, 1, d, &st);
    EXPECT(st == IPF_OK, "opening %s: status %d", font_path, st);
    EXPECT(ipf_diags_count(d) == 0, "%zu diagnostics", ipf_diags_count(d));
    if (ipf_diags_count(d))
        ipf_diags_print(d, stderr);
    if (fs) {
        EXPECT(ipf_fontset_count(fs) == 1, "count");
        EXPECT(strcmp(ipf_fontset_path(fs, 0), font_path) == 0, "path");
        test_coverage_and_widths(fs);
        test_cmap_layout(fs);
        test_libharu_agrees(fs);
    }
    ipf_fontset_free(fs);
    ipf_diags_free(d);

    test_errors(argv[1]);
    test_fallback();

    if (expectations_failed) {
        fprintf(stderr, "test_fontset: %d check(s) failed\n", expectations_failed);
        return 1;
    }
    printf("test_fontset: all checks passed\n");
    return 0;
}
