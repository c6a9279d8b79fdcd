/* fuzz_linebreak.c: the clreq line breaker on any text and any width.
 *
 * Input: byte 0 chooses the level (bits 0-1), justification (bit 2) and how
 * advances are made (bits 3-4: the real font at 14pt; pseudo-random per code
 * point, zero included; every advance equal; the font with a huge first
 * character); bytes 1-2 the line width (0 to 655.35pt, in 1/100 pt); the
 * rest is text, decoded leniently so that surrogates and values above
 * U+10FFFF reach the breaker too.
 *
 * Checked for every input (docs/fuzzing.md explains each):
 *   - lines are in order, inside the text, and do not overlap;
 *   - what lies outside every line is only white space dropped at a break
 *     or a mandatory break character, and no line contains a mandatory
 *     break;
 *   - no line is wider than the width, unless it is a single grapheme
 *     cluster that is wider on its own;
 *   - within a line the glyphs advance: each starts where the previous one
 *     ended or later (a compressed opening mark is drawn half an advance
 *     early, its ink in the half it keeps), nothing starts left of the line
 *     or ends right of its width;
 *   - breaking the same paragraph again with the same breaker gives the
 *     same result (buffers are reused between paragraphs). */
#include <math.h>

#include <unicode/uchar.h>

#include "fontset.h"
#include "fuzz_common.h"
#include "linebreak.h"

#define EPS     1e-6
#define MAX_CPS 20000

static ipf_line_breaker *breakers[4];
static ipf_fontset *fonts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int lv = 0; lv < 4; lv++)
        fuzz_setup_check(ipf_line_breaker_new((ipf_lb_level)lv, &breakers[lv]) == IPF_OK,
                         "a line breaker", NULL);
    ipf_diags *d = ipf_diags_new();
    char *font = fuzz_repo_path("fonts/FandolFang-Regular.ttf");
    const char *paths[1] = {font};
    fuzz_setup_check(d && ipf_fontset_open(paths, 1, d, &fonts) == IPF_OK, font, d);
    free(font);
    ipf_diags_free(d);
    return 0;
}

static int is_forced(uint32_t c)
{
    return (c >= 0x0A && c <= 0x0D) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* White space the breaker may drop at a break (linebreak.c classify()). */
static int is_space(uint32_t c)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || is_forced(c))
        return 0;
    return c == 0x09 ||
           (u_charType((UChar32)c) == U_SPACE_SEPARATOR && c != 0xA0 && c != 0x2007 && c != 0x202F);
}

/* Opening brackets and quotes: compressed, they keep their right half. */
static int is_opening(uint32_t c)
{
    static const uint32_t open[] = {0xFF08, 0xFF3B, 0xFF5B, 0x3008, 0x300A, 0x300C,
                                    0x300E, 0x3010, 0x3014, 0x3016, 0x3018, 0x301A,
                                    0x301D, 0xFF5F, 0xFF62, 0x2018, 0x201C};
    for (size_t i = 0; i < sizeof open / sizeof *open; i++)
        if (open[i] == c)
            return 1;
    return 0;
}

/* Whether code point i continues the grapheme cluster of i - 1, by the same
 * subset of UAX #29 as linebreak.c (no Hangul or regional-indicator pairs). */
static int gcb(uint32_t c)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return U_GCB_OTHER; /* classify() gives such a value no class at all */
    return u_getIntPropertyValue((UChar32)c, UCHAR_GRAPHEME_CLUSTER_BREAK);
}

static int joins_prev(const uint32_t *cps, size_t i)
{
    uint32_t a = cps[i - 1], b = cps[i];
    int ga = gcb(a), gb = gcb(b);
    if (gb == U_GCB_EXTEND || gb == U_GCB_SPACING_MARK || gb == U_GCB_ZWJ || ga == U_GCB_PREPEND)
        return 1;
    return ga == U_GCB_ZWJ && b <= 0x10FFFF && !(b >= 0xD800 && b <= 0xDFFF) &&
           u_hasBinaryProperty((UChar32)b, UCHAR_EXTENDED_PICTOGRAPHIC);
}

static void check(const uint32_t *cps, const double *adv, size_t n, double max, const ipf_broken *b,
                  int level, int justify)
{
    size_t prev_end = 0;
    for (size_t li = 0; li < b->nlines; li++) {
        const ipf_line *l = &b->lines[li];
        if (l->start > l->end || l->end > n)
            fuzz_fail("line %zu is [%zu, %zu) in a text of %zu", li, l->start, l->end, n);
        if (l->start < prev_end)
            fuzz_fail("line %zu starts at %zu, before the end %zu of the line before", li, l->start,
                      prev_end);
        for (size_t i = prev_end; i < l->start; i++)
            if (!is_space(cps[i]) && !is_forced(cps[i]))
                fuzz_fail("level %d: U+%04X at %zu (before line %zu) is on no line", level,
                          (unsigned)cps[i], i, li);
        double w = l->width;
        if (!isfinite(w) || w < -EPS)
            fuzz_fail("line %zu has width %g", li, w);
        int single = l->end > l->start;
        for (size_t i = l->start + 1; i < l->end && single; i++)
            single = joins_prev(cps, i);
        if (w > max + EPS && !single)
            fuzz_fail("level %d: line %zu [%zu, %zu) is %.9g wide, the width is %.9g", level, li,
                      l->start, l->end, w, max);
        double ink_end = 0;
        for (size_t i = l->start; i < l->end; i++) {
            if (is_forced(cps[i]))
                fuzz_fail("line %zu contains the mandatory break U+%04X at %zu", li,
                          (unsigned)cps[i], i);
            double x = b->x[i], dw = b->w[i];
            if (!isfinite(x) || !isfinite(dw) || dw < -EPS || dw > adv[i] + EPS)
                fuzz_fail("code point %zu: x %g, drawn width %g, advance %g", i, x, dw, adv[i]);
            double start = x;
            if (dw < adv[i] - EPS && is_opening(cps[i]))
                start = x + (adv[i] - dw); /* its ink is the right half */
            double tol = EPS * (1 + fabs(x) + adv[i]);
            if (start < ink_end - tol)
                fuzz_fail("level %d justify %d: code point %zu (U+%04X) starts at %.9g, before "
                          "the end %.9g of the one before",
                          level, justify, i, (unsigned)cps[i], start, ink_end);
            ink_end = start + dw;
        }
        if (ink_end > w + EPS * (1 + w) && !single)
            fuzz_fail("line %zu: glyphs end at %.9g, past its width %.9g", li, ink_end, w);
        prev_end = l->end;
    }
    for (size_t i = prev_end; i < n; i++)
        if (!is_space(cps[i]) && !is_forced(cps[i]))
            fuzz_fail("level %d: U+%04X at %zu (after the last line) is on no line", level,
                      (unsigned)cps[i], i);
}

static int same(const ipf_broken *a, const ipf_broken *b, size_t n)
{
    if (a->nlines != b->nlines)
        return 0;
    for (size_t i = 0; i < a->nlines; i++)
        if (a->lines[i].start != b->lines[i].start || a->lines[i].end != b->lines[i].end ||
            a->lines[i].width != b->lines[i].width)
            return 0;
    for (size_t li = 0; li < a->nlines; li++)
        for (size_t i = a->lines[li].start; i < a->lines[li].end && i < n; i++)
            if (a->x[i] != b->x[i] || a->w[i] != b->w[i])
                return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int level = data[0] & 3, justify = (data[0] >> 2) & 1, mode = (data[0] >> 3) & 3;
    double max = (double)((unsigned)data[1] << 8 | data[2]) / 100.0;
    data += 3;
    size -= 3;
    if (size > MAX_CPS)
        size = MAX_CPS;
    uint32_t *cps = malloc((size ? size : 1) * sizeof *cps);
    double *adv = malloc((size ? size : 1) * sizeof *adv);
    if (!cps || !adv)
        abort();
    size_t n = fuzz_decode_lenient(data, size, cps);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        switch (mode) {
        case 0:
        case 3: {
            int f = c <= 0xFFFF ? ipf_fontset_font_for(fonts, c) : -1;
            adv[i] = f >= 0 ? ipf_fontset_advance(fonts, (size_t)f, c) * 14.0 : 14.0;
            if (mode == 3 && i == 0)
                adv[i] = 1e6;
            break;
        }
        case 1: {
            uint32_t h = c * 2654435761u;
            adv[i] = (double)(h >> 24) / 8.0; /* 0 to 31.875 */
            break;
        }
        default:
            adv[i] = 7.0;
            break;
        }
    }
    ipf_broken b, again;
    ipf_status st = ipf_line_breaker_break(breakers[level], cps, adv, n, max, justify, &b);
    if (st != IPF_OK)
        fuzz_fail("break returned status %d for %zu code points", (int)st, n);
    check(cps, adv, n, max, &b, level, justify);
    st = ipf_line_breaker_break(breakers[level], cps, adv, n, max, justify, &again);
    if (st != IPF_OK || !same(&b, &again, n))
        fuzz_fail("breaking the same paragraph twice gave different lines");
    ipf_broken_free(&again);
    ipf_broken_free(&b);
    free(cps);
    free(adv);
    return 0;
}
