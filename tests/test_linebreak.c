/* test_linebreak.c: clreq line breaking, from a table of cases and from
 * generated paragraphs.
 *
 *     test_linebreak DATA_DIR                every *.txt in DATA_DIR, then the rest
 *     test_linebreak DATA_DIR FILE.txt ...   those case files only
 *     test_linebreak DATA_DIR --generated    API, long runs, 100,000 characters, fuzz
 *
 * The case format is described at the top of DATA_DIR/prohibitions.txt.  All
 * cases use a monospace model at size 1 pt: East Asian Wide, Fullwidth and
 * Ambiguous characters (Han, full-width punctuation, “” … —) and ⋯ advance
 * 1 em, everything else half an em, combining marks nothing, and the two-
 * and three-em dashes 2 and 3 em.  Every result, from the table or generated,
 * also goes through check_result(), which asserts what a reader would see:
 * nothing lost or doubled, nothing past the line end, the positions add up,
 * and, where the text allows, the prohibitions of the level. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>

#include "linebreak.h"

#define TOL 1e-3

static int failures;
static int checks;
static const char *where = "?"; /* the case being run, for messages */

/* Copies src into dst[cap], cut if too long. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s: ", where);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

/* ---- text helpers ---- */

static size_t utf8_decode(const char *s, size_t len, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int k;
        if (c < 0x80) {
            cp = c;
            k = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            k = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            k = 2;
        } else {
            cp = c & 0x07;
            k = 3;
        }
        i++;
        for (int j = 0; j < k && i < len; j++, i++)
            cp = (cp << 6) | ((unsigned char)s[i] & 0x3F);
        out[n++] = cp;
    }
    return n;
}

static void utf8_put(uint32_t c, char **p)
{
    char *o = *p;
    if (c < 0x80) {
        *o++ = (char)c;
    } else if (c < 0x800) {
        *o++ = (char)(0xC0 | (c >> 6));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *o++ = (char)(0xE0 | (c >> 12));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (c >> 18));
        *o++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *o++ = (char)(0x80 | (c & 0x3F));
    }
    *p = o;
}

/* Renders lines as "a|b|c" (a bar or backslash in the text escaped) into a
 * new string. */
static char *render_lines(const uint32_t *cps, const ipf_broken *b)
{
    size_t cap = 16;
    for (size_t k = 0; k < b->nlines; k++)
        cap += (b->lines[k].end - b->lines[k].start) * 4 + 4;
    char *s = malloc(cap), *o = s;
    for (size_t k = 0; k < b->nlines; k++) {
        if (k)
            *o++ = '|';
        for (size_t i = b->lines[k].start; i < b->lines[k].end; i++) {
            if (cps[i] == '|' || cps[i] == '\\') {
                *o++ = '\\';
                *o++ = (char)cps[i];
            } else {
                utf8_put(cps[i], &o);
            }
        }
    }
    *o = 0;
    return s;
}

/* ---- the test's monospace model and its view of the rules ---- */

static double model_adv(uint32_t c)
{
    if (c == 0x2E3A)
        return 2;
    if (c == 0x22EF) /* East Asian Neutral, but full width in Chinese fonts */
        return 1;
    if (c == 0x2E3B)
        return 3;
    if (u_getIntPropertyValue((UChar32)c, UCHAR_GRAPHEME_CLUSTER_BREAK) == U_GCB_EXTEND ||
        c == 0x200B) /* a template's break point (ZERO WIDTH SPACE) */
        return 0;
    int ea = u_getIntPropertyValue((UChar32)c, UCHAR_EAST_ASIAN_WIDTH);
    return ea == U_EA_WIDE || ea == U_EA_FULLWIDTH || ea == U_EA_AMBIGUOUS ? 1.0 : 0.5;
}

static int in_set(uint32_t c, const char *set)
{
    static uint32_t buf[256];
    size_t n = utf8_decode(set, strlen(set), buf);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == c)
            return 1;
    return 0;
}

static const char OPENING[] = "（〔［｛《〈「『【〖〘〚〝｟“‘";
static const char CLOSING[] = "、，。．：；！？）〕］｝》〉」』】〗〙〛〞〟｠”’";
/* Marks no line may start with at basic and above, besides CLOSING. */
static const char NOSTART_MORE[] = "‼⁇⁈⁉～〜·・‧／";

static int is_forced(uint32_t c)
{
    return (c >= 0x0A && c <= 0x0D) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static int is_space(uint32_t c)
{
    return c == ' ' || c == '\t' || c == 0x3000;
}

static int joins_prev(uint32_t c)
{
    int g = u_getIntPropertyValue((UChar32)c, UCHAR_GRAPHEME_CLUSTER_BREAK);
    return g == U_GCB_EXTEND || g == U_GCB_ZWJ || g == U_GCB_SPACING_MARK;
}

/* Whether a gap next to c may grow when a line is justified. */
static int expandable(uint32_t c)
{
    int ea = u_getIntPropertyValue((UChar32)c, UCHAR_EAST_ASIAN_WIDTH);
    return ea == U_EA_WIDE || ea == U_EA_FULLWIDTH || is_space(c) || in_set(c, OPENING) ||
           in_set(c, CLOSING) || in_set(c, NOSTART_MORE);
}

/* Whether justification leaves the gaps on both sides of c alone: 连接号,
 * 分隔号, and (this test does not track runs) every dash and ellipsis. */
static int rigid(uint32_t c)
{
    return in_set(c, "-‐‑–—―－～〜゠／/…⋯⸺⸻");
}

/* ---- the invariants every result must keep ---- */

typedef struct run {
    ipf_lb_level level;
    const uint32_t *cps;
    const double *adv;
    size_t n;
    double max;
    int justify;
    int rules; /* also assert the prohibitions (the text never needs an emergency cut) */
} run;

/* Whether a break at i (between i-1 and i) splits 破折号 or 省略号. */
static int splits_unit(const run *r, size_t i, int *start_of_unit)
{
    *start_of_unit = 0;
    uint32_t c = r->cps[i];
    if (c != 0x2014 && c != 0x2026 && c != 0x22EF && c != 0x2E3A)
        return 0;
    if (c == 0x2E3A) {
        *start_of_unit = 1;
        return 0;
    }
    size_t a = i, b = i;
    while (a > 0 && r->cps[a - 1] == c)
        a--;
    while (b < r->n && r->cps[b] == c)
        b++;
    if (c == 0x2014 && b - a == 1)
        return 0; /* 一字线 */
    *start_of_unit = 1;
    return i > a && ((i - a) % 2 != 0 || b - i < 2);
}

/* The advance of a Han character in this paragraph, as the breaker finds
 * it: the median of the first wide letters, else of any wide characters. */
static double para_em(const run *r)
{
    for (int pass = 0; pass < 2; pass++) {
        double v[63];
        size_t k = 0;
        for (size_t i = 0; i < r->n && k < 63; i++) {
            int ea = u_getIntPropertyValue((UChar32)r->cps[i], UCHAR_EAST_ASIAN_WIDTH);
            if ((ea != U_EA_WIDE && ea != U_EA_FULLWIDTH) || r->adv[i] <= 0)
                continue;
            if (pass == 0 && !u_isalpha((UChar32)r->cps[i]))
                continue;
            size_t j = k++;
            while (j > 0 && v[j - 1] > r->adv[i]) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = r->adv[i];
        }
        if (k)
            return v[k / 2];
    }
    return 0; /* nothing to compare with: no mark is full width, no gap capped */
}

static int is_alnum_ascii(uint32_t c)
{
    return c < 0x80 && ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
}

/* Whether i lies inside a long code (8 or more ASCII letters and digits with
 * a digit), which may break between its characters. */
static int in_code(const run *r, size_t i)
{
    size_t a = i, b = i;
    while (a > 0 && is_alnum_ascii(r->cps[a - 1]))
        a--;
    while (b < r->n && is_alnum_ascii(r->cps[b]))
        b++;
    int digit = 0;
    for (size_t k = a; k < b; k++)
        digit |= r->cps[k] >= '0' && r->cps[k] <= '9';
    return digit && b - a >= 8 && i >= a + 2 && i + 2 <= b;
}

static void check_result(const run *r, const ipf_broken *b)
{
    const double em = para_em(r);
    checks++;
    const uint32_t *cps = r->cps;
    size_t n = r->n;
    if (b->nlines == 0) {
        fail("no lines");
        return;
    }
    size_t prev_end = 0;
    for (size_t k = 0; k < b->nlines; k++) {
        const ipf_line *l = &b->lines[k];
        if (l->start > l->end || l->end > n || l->start < prev_end) {
            fail("line %zu [%zu,%zu) out of order (previous end %zu)", k, l->start, l->end,
                 prev_end);
            return;
        }
        /* What lies between lines was dropped: spaces, and mandatory breaks,
         * one per gap (CR LF counts as one). */
        int forced = 0;
        for (size_t i = prev_end; i < l->start; i++) {
            if (is_forced(cps[i])) {
                if (!(cps[i] == 0x0A && i > 0 && cps[i - 1] == 0x0D))
                    forced++;
            } else if (!is_space(cps[i])) {
                fail("U+%04X at %zu is on no line", (unsigned)cps[i], i);
            }
        }
        if (k > 0 && forced > 1)
            fail("two mandatory breaks between lines %zu and %zu", k - 1, k);
        if (k == 0 && forced)
            fail("a mandatory break before the first line");
        for (size_t i = l->start; i < l->end; i++)
            if (is_forced(cps[i]))
                fail("mandatory break U+%04X inside line %zu", (unsigned)cps[i], k);
        prev_end = l->end;
    }
    for (size_t i = prev_end; i < n; i++)
        if (!is_space(cps[i]))
            fail("U+%04X at %zu after the last line", (unsigned)cps[i], i);

    for (size_t k = 0; k < b->nlines; k++) {
        const ipf_line *l = &b->lines[k];
        int forced_before = k == 0, forced_after = k + 1 == b->nlines;
        if (k > 0)
            for (size_t i = b->lines[k - 1].end; i < l->start; i++)
                forced_before |= is_forced(cps[i]);
        if (k + 1 < b->nlines)
            for (size_t i = l->end; i < b->lines[k + 1].start; i++)
                forced_after |= is_forced(cps[i]);
        if (l->start == l->end) {
            if (!forced_before || !forced_after)
                fail("empty line %zu at a soft break", k);
            if (fabs(l->width) > TOL)
                fail("empty line %zu has width %g", k, l->width);
            continue;
        }
        /* Spaces at a soft break belong to neither line. */
        if (!forced_after && is_space(cps[l->end - 1]))
            fail("line %zu ends with a space at a soft break", k);
        if (!forced_before && is_space(cps[l->start]) &&
            !(l->start + 1 < n && joins_prev(cps[l->start + 1]))) /* " ́" is a character */
            fail("line %zu starts with a space after a soft break", k);

        size_t clusters = 0;
        for (size_t i = l->start; i < l->end; i++)
            clusters += i == l->start ||
                        !(joins_prev(cps[i]) ||
                          (cps[i - 1] == 0x200D &&
                           u_hasBinaryProperty((UChar32)cps[i], UCHAR_EXTENDED_PICTOGRAPHIC)));
        if (l->width > r->max + TOL && clusters > 1)
            fail("line %zu is %g wide, more than %g", k, l->width, r->max);

        /* Positions: every glyph sits where the previous one ended, plus any
         * justification gap; a compressed opening mark is drawn half an
         * advance early. */
        double right = 0, widest_gap = 0;
        int last = forced_after;
        for (size_t i = l->start; i < l->end; i++) {
            double a = r->adv[i], w = b->w[i], x = b->x[i];
            int compressed = fabs(w - a) > TOL;
            int mark = in_set(cps[i], OPENING) || in_set(cps[i], CLOSING);
            if (compressed && !(w > a / 2 - TOL && w < a && mark)) {
                fail("U+%04X at %zu drawn %g wide for an advance of %g", (unsigned)cps[i], i, w, a);
                return;
            }
            /* A lone mark in mid-line gives up at most 1/4 em (at
             * half it reads as ASCII punctuation). */
            int neighbour =
                (i > l->start && (in_set(cps[i - 1], OPENING) || in_set(cps[i - 1], CLOSING))) ||
                (i + 1 < l->end && (in_set(cps[i + 1], OPENING) || in_set(cps[i + 1], CLOSING)));
            if (compressed && i > l->start && i + 1 < l->end && !neighbour &&
                w < a - 0.25 * em - TOL)
                fail("lone mark U+%04X in mid-line at %zu set %g wide", (unsigned)cps[i], i, w);
            /* Adjacent full-width marks are always compressed: one loses the
             * blank between them. */
            if (em > 0 && i > l->start && a >= 0.9 * em && r->adv[i - 1] >= 0.9 * em &&
                (in_set(cps[i - 1], OPENING) || in_set(cps[i - 1], CLOSING)) && mark &&
                (in_set(cps[i], OPENING) || in_set(cps[i - 1], CLOSING)) && !compressed &&
                fabs(b->w[i - 1] - r->adv[i - 1]) < TOL)
                fail("adjacent marks U+%04X U+%04X at %zu both at full width", (unsigned)cps[i - 1],
                     (unsigned)cps[i], i);
            double left = x + (compressed && in_set(cps[i], OPENING) ? a - w : 0);
            if (i == l->start
                    ? fabs(left) > TOL
                    : (left < right - TOL || ((last || !r->justify) && fabs(left - right) > TOL))) {
                fail("line %zu: U+%04X at %zu starts at %g, previous ends at %g", k,
                     (unsigned)cps[i], i, left, right);
                return;
            }
            /* No loose line: justification adds at most 1/4 em between two
             * characters (a word space may grow to half an em). */
            if (i > l->start && !is_space(cps[i - 1])) {
                double g = left - right;
                if (g > widest_gap)
                    widest_gap = g;
                if (em > 0 && g > 0.25 * em + TOL)
                    fail("line %zu: %g pt added before U+%04X at %zu", k, g, (unsigned)cps[i], i);
            }
            right = left + w;
        }
        if (fabs(right - l->width) > TOL)
            fail("line %zu: width %g but its glyphs end at %g", k, l->width, right);
        /* A justified line is full, if it has a gap next to Chinese or a
         * space (Latin letters are never spaced apart). */
        int gap = 0;
        for (size_t i = l->start + 1; i < l->end && !gap; i++)
            gap = (expandable(cps[i - 1]) || expandable(cps[i])) && !rigid(cps[i - 1]) &&
                  !rigid(cps[i]) && !is_space(cps[i]); /* a space grows after it */
        /* ... or every gap next to Chinese grew by the most it may. */
        if (r->justify && !last && gap && clusters > 1 && fabs(l->width - r->max) > TOL &&
            l->width < r->max && (em <= 0 || fabs(widest_gap - 0.25 * em) > TOL))
            fail("line %zu is justified to %g, not %g", k, l->width, r->max);
    }

    /* Soft breaks. */
    for (size_t k = 0; k + 1 < b->nlines; k++) {
        size_t e = b->lines[k].end, s = b->lines[k + 1].start;
        int forced = 0;
        for (size_t i = e; i < s; i++)
            forced |= is_forced(cps[i]);
        if (forced || b->lines[k].start == e || s == b->lines[k + 1].end)
            continue; /* a mandatory break, or an empty line */
        size_t i = b->lines[k + 1].start;
        if (i < n && joins_prev(cps[i]))
            fail("a grapheme cluster split before %zu", i);
        if (!r->rules)
            continue;
        int unit_start;
        if (e == s && splits_unit(r, i, &unit_start))
            fail("破折号/省略号 split at %zu", i);
        if (r->level == IPF_LB_NONE)
            continue;
        uint32_t first = cps[s], lastc = cps[e - 1];
        if (in_set(first, CLOSING) || in_set(first, NOSTART_MORE))
            fail("line %zu starts with a prohibited mark U+%04X", k + 1, (unsigned)first);
        if (in_set(lastc, OPENING))
            fail("line %zu ends with an opening mark U+%04X", k, (unsigned)lastc);
        if (r->level >= IPF_LB_GB && lastc == 0xFF0F)
            fail("line %zu ends with 分隔号", k);
        splits_unit(r, s, &unit_start);
        if (r->level == IPF_LB_STRICT && unit_start)
            fail("line %zu starts with 破折号/省略号 at strict", k + 1);
        if (e == s && !in_code(r, s) && first < 0x80 && lastc < 0x80 && first > ' ' &&
            lastc > ' ' && ((first >= '0' && first <= '9') || (first | 0x20) >= 'a') &&
            ((lastc >= '0' && lastc <= '9') || (lastc | 0x20) >= 'a') &&
            ((first | 0x20) <= 'z' || first <= '9') && ((lastc | 0x20) <= 'z' || lastc <= '9'))
            fail("a Latin word or number split between lines %zu and %zu", k, k + 1);
    }
}

/* ---- the case table ---- */

typedef struct expect_row {
    int line; /* 1-based */
    double v[512];
    size_t nv;
} expect_row;

typedef struct tcase {
    char name[256];
    int line_no;
    int levels[4];
    int nlevels;
    double width;
    int justify;
    int rules;
    ipf_lb_opts opts; /* lonely, balance, marked */
    uint32_t text[4096];
    size_t ntext;
    char lines[8192];
    int has_lines;
    expect_row xs[8], ws[8];
    size_t nxs, nws;
    double lw[64];
    size_t nlw;
    uint32_t adv_cp[8]; /* advance overrides for this case */
    double adv_v[8];
    size_t nadv;
    uint32_t ink_cp[8]; /* ink extents for this case: the glyph's ink spans [l, r] em */
    double ink_l[8], ink_r[8];
    size_t nink;
} tcase;

/* Unescapes \n \r \s \t \| \\ \u{XXXX} in place. */
static void unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\' || !p[1]) {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 's':
            *o++ = ' ';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            unsigned long v = strtoul(p + 2, &p, 16); /* p + 2 skips "u{" */
            utf8_put((uint32_t)v, &o);
            break; /* p is on the closing brace */
        }
        default: /* \| stays escaped for the line splitter; \\ too */
            *o++ = '\\';
            *o++ = *p;
            break;
        }
    }
    *o = 0;
}

static void run_case(ipf_line_breaker **breakers, const tcase *tc)
{
    static double adv[4096], bl[4096], br[4096];
    for (size_t i = 0; i < tc->ntext; i++) {
        adv[i] = model_adv(tc->text[i]);
        for (size_t k = 0; k < tc->nadv; k++)
            if (tc->text[i] == tc->adv_cp[k])
                adv[i] = tc->adv_v[k];
        bl[i] = br[i] = -1;
        for (size_t k = 0; k < tc->nink; k++)
            if (tc->text[i] == tc->ink_cp[k]) {
                bl[i] = tc->ink_l[k];
                br[i] = adv[i] - tc->ink_r[k];
            }
    }
    for (int li = 0; li < tc->nlevels; li++) {
        static char wh[400];
        ipf_lb_level level = (ipf_lb_level)tc->levels[li];
        snprintf(wh, sizeof wh, "%s (line %d) at %s", tc->name, tc->line_no,
                 ipf_lb_level_name(level));
        where = wh;
        ipf_broken b = {0};
        ipf_lb_opts o = tc->opts;
        o.justify = tc->justify;
        if (tc->nink)
            o.blank_l = bl, o.blank_r = br;
        ipf_status st = ipf_line_breaker_break_opts(breakers[level], tc->text, adv, tc->ntext,
                                                    tc->width, &o, &b);
        if (st != IPF_OK) {
            fail("status %d", (int)st);
            continue;
        }
        run r = {level, tc->text, adv, tc->ntext, tc->width, tc->justify, tc->rules};
        check_result(&r, &b);
        char *got = render_lines(tc->text, &b);
        if (tc->has_lines && strcmp(got, tc->lines) != 0)
            fail("lines\n    expected %s\n    got      %s", tc->lines, got);
        free(got);
        for (size_t k = 0; k < tc->nxs + tc->nws; k++) {
            const expect_row *row = k < tc->nxs ? &tc->xs[k] : &tc->ws[k - tc->nxs];
            const double *arr = k < tc->nxs ? b.x : b.w;
            const char *what = k < tc->nxs ? "x" : "w";
            if (row->line < 1 || (size_t)row->line > b.nlines) {
                fail("%s of line %d: there are %zu lines", what, row->line, b.nlines);
                continue;
            }
            const ipf_line *l = &b.lines[row->line - 1];
            if (l->end - l->start != row->nv) {
                fail("%s of line %d: %zu values for %zu characters", what, row->line, row->nv,
                     l->end - l->start);
                continue;
            }
            for (size_t j = 0; j < row->nv; j++)
                if (fabs(arr[l->start + j] - row->v[j]) > TOL)
                    fail("%s of character %zu on line %d: expected %g, got %g", what, j + 1,
                         row->line, row->v[j], arr[l->start + j]);
        }
        for (size_t k = 0; k < tc->nlw; k++)
            if (k >= b.nlines || fabs(b.lines[k].width - tc->lw[k]) > TOL)
                fail("width of line %zu: expected %g, got %g", k + 1, tc->lw[k],
                     k < b.nlines ? b.lines[k].width : NAN);
        ipf_broken_free(&b);
    }
}

static int parse_row(char *v, expect_row *row)
{
    char *end;
    row->line = (int)strtol(v, &end, 10);
    row->nv = 0;
    for (;;) {
        char *p = end;
        double d = strtod(p, &end);
        if (end == p)
            break;
        if (row->nv == sizeof row->v / sizeof row->v[0])
            return -1;
        row->v[row->nv++] = d;
    }
    return row->line > 0 ? 0 : -1;
}

/* Returns the number of cases run, or -1 if the file is unreadable. */
static int run_file(ipf_line_breaker **breakers, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        where = path;
        fail("cannot open");
        return -1;
    }
    static tcase tc;
    int in_case = 0, ncases = 0, line_no = 0;
    char buf[16384];
    for (;;) {
        char *got = fgets(buf, sizeof buf, f);
        if (got)
            line_no++;
        size_t len = got ? strlen(buf) : 0;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        if (!got || strncmp(buf, "case ", 5) == 0) {
            if (in_case) {
                if (!tc.has_lines) {
                    where = tc.name;
                    fail("no expected lines");
                }
                run_case(breakers, &tc);
                ncases++;
            }
            if (!got)
                break;
            memset(&tc, 0, sizeof tc);
            copy_str(tc.name, sizeof tc.name, buf + 5);
            tc.line_no = line_no;
            tc.levels[0] = IPF_LB_GB;
            tc.nlevels = 1;
            tc.justify = 1;
            tc.rules = 1;
            tc.width = -1;
            in_case = 1;
            continue;
        }
        if (len == 0 || buf[0] == '#')
            continue;
        char *sp = strchr(buf, ' ');
        char *key = buf, *v = sp ? sp + 1 : buf + len;
        if (sp)
            *sp = 0;
        static char wh[4200];
        snprintf(wh, sizeof wh, "%s:%d", path, line_no);
        where = wh;
        if (!in_case) {
            fail("'%s' outside a case", key);
            continue;
        }
        if (strcmp(key, "level") == 0) {
            tc.nlevels = 0;
            for (char *t = strtok(v, " "); t && tc.nlevels < 4; t = strtok(NULL, " ")) {
                int lv = ipf_lb_level_parse(t);
                if (lv < 0)
                    fail("unknown level %s", t);
                else
                    tc.levels[tc.nlevels++] = lv;
            }
        } else if (strcmp(key, "width") == 0) {
            tc.width = strtod(v, NULL);
        } else if (strcmp(key, "justify") == 0) {
            tc.justify = atoi(v);
        } else if (strcmp(key, "lonely") == 0) {
            tc.opts.no_lone_last = atoi(v);
        } else if (strcmp(key, "balance") == 0) {
            tc.opts.balance = atoi(v);
        } else if (strcmp(key, "marked") == 0) {
            tc.opts.marked_breaks = atoi(v);
        } else if (strcmp(key, "emergency") == 0) {
            tc.rules = 0; /* the text cannot be broken without breaking a rule */
        } else if (strcmp(key, "text") == 0) {
            unescape(v);
            /* "\|" and "\\" mean themselves in the text */
            char *o = v;
            for (char *p = v; *p; p++) {
                if (*p == '\\' && (p[1] == '|' || p[1] == '\\'))
                    p++;
                *o++ = *p;
            }
            *o = 0;
            tc.ntext = utf8_decode(v, strlen(v), tc.text);
        } else if (strcmp(key, "lines") == 0) {
            unescape(v);
            copy_str(tc.lines, sizeof tc.lines, v);
            tc.has_lines = 1;
        } else if (strcmp(key, "x") == 0 && tc.nxs < 8) {
            if (parse_row(v, &tc.xs[tc.nxs++]) != 0)
                fail("bad x row");
        } else if (strcmp(key, "w") == 0 && tc.nws < 8) {
            if (parse_row(v, &tc.ws[tc.nws++]) != 0)
                fail("bad w row");
        } else if (strcmp(key, "ink") == 0 && tc.nink < 8) {
            char *sp2 = strchr(v, ' ');
            uint32_t c[8];
            if (!sp2 || utf8_decode(v, (size_t)(sp2 - v), c) != 1) {
                fail("ink wants one character and two numbers");
                continue;
            }
            char *end;
            tc.ink_cp[tc.nink] = c[0];
            tc.ink_l[tc.nink] = strtod(sp2 + 1, &end);
            tc.ink_r[tc.nink++] = strtod(end, NULL);
        } else if (strcmp(key, "advance") == 0 && tc.nadv < 8) {
            char *sp2 = strchr(v, ' ');
            uint32_t c[8];
            if (!sp2 || utf8_decode(v, (size_t)(sp2 - v), c) != 1) {
                fail("advance wants one character and a number");
                continue;
            }
            tc.adv_cp[tc.nadv] = c[0];
            tc.adv_v[tc.nadv++] = strtod(sp2 + 1, NULL);
        } else if (strcmp(key, "widths") == 0) {
            char *end = v;
            for (;;) {
                char *p = end;
                double d = strtod(p, &end);
                if (end == p || tc.nlw == 64)
                    break;
                tc.lw[tc.nlw++] = d;
            }
        } else {
            fail("unknown key '%s'", key);
        }
        if (strcmp(key, "width") == 0 && tc.width < 0)
            fail("bad width");
    }
    fclose(f);
    if (ncases == 0) {
        where = path;
        fail("no cases");
    }
    return ncases;
}

/* ---- generated tests ---- */

static void break_or_fail(ipf_line_breaker *lb, const uint32_t *cps, const double *adv, size_t n,
                          double max, int justify, ipf_broken *b)
{
    ipf_status st = ipf_line_breaker_break(lb, cps, adv, n, max, justify, b);
    if (st != IPF_OK)
        fail("status %d", (int)st);
}

static void test_api(void)
{
    where = "api";
    const char *names[] = {"none", "basic", "GB", "strict"};
    for (int lv = 0; lv < 4; lv++) {
        if (ipf_lb_level_parse(names[lv]) != lv)
            fail("parse %s", names[lv]);
        if (strcmp(ipf_lb_level_name((ipf_lb_level)lv), names[lv]) != 0)
            fail("name of %d", lv);
    }
    if (ipf_lb_level_parse("gb") != IPF_LB_GB || ipf_lb_level_parse("STRICT") != IPF_LB_STRICT)
        fail("level names are case-insensitive");
    if (ipf_lb_level_parse("GB/T") != -1 || ipf_lb_level_parse("") != -1 ||
        ipf_lb_level_parse(NULL) != -1 || ipf_lb_level_parse("loose") != -1)
        fail("unknown level names are -1");

    ipf_line_breaker *lb = NULL;
    if (ipf_line_breaker_new((ipf_lb_level)7, &lb) != IPF_ERR_USAGE || lb)
        fail("an unknown level is a usage error");
    if (ipf_line_breaker_new(IPF_LB_GB, &lb) != IPF_OK || !lb) {
        fail("new");
        return;
    }
    uint32_t cps[3] = {0x4E00, 0xFF0C, 0x4E8C};
    double adv[3] = {1, 1, 1};
    ipf_broken b = {0};
    if (ipf_line_breaker_break(lb, cps, adv, 3, NAN, 1, &b) != IPF_ERR_USAGE)
        fail("a NaN width is a usage error");
    if (ipf_line_breaker_break(lb, cps, adv, 3, -1, 1, &b) != IPF_ERR_USAGE)
        fail("a negative width is a usage error");
    adv[1] = -1;
    if (ipf_line_breaker_break(lb, cps, adv, 3, 10, 1, &b) != IPF_ERR_USAGE)
        fail("a negative advance is a usage error");
    adv[1] = 1;
    if (ipf_line_breaker_break(lb, NULL, adv, 3, 10, 1, &b) != IPF_ERR_USAGE)
        fail("NULL text is a usage error");
    if (b.lines || b.x || b.w || b.nlines)
        fail("a failed call leaves an empty result");
    if (ipf_line_breaker_break(lb, cps, adv, 3, 10, 1, NULL) != IPF_ERR_USAGE)
        fail("NULL result is a usage error");

    /* An empty paragraph is one empty line, like an empty cell. */
    break_or_fail(lb, NULL, NULL, 0, 10, 1, &b);
    if (b.nlines != 1 || b.lines[0].start != 0 || b.lines[0].end != 0 || b.lines[0].width != 0)
        fail("empty paragraph: %zu lines", b.nlines);
    ipf_broken_free(&b);
    ipf_broken_free(&b); /* freeing twice is harmless */
    ipf_broken_free(NULL);

    /* Infinite width: one line, never justified. */
    break_or_fail(lb, cps, adv, 3, INFINITY, 1, &b);
    if (b.nlines != 1 || fabs(b.lines[0].width - 3) > TOL)
        fail("infinite width: %zu lines", b.nlines);
    ipf_broken_free(&b);
    ipf_line_breaker_free(lb);
    ipf_line_breaker_free(NULL);
}

static size_t append_utf8(uint32_t *out, size_t n, const char *s)
{
    return n + utf8_decode(s, strlen(s), out + n);
}

/* A run with no opportunity wider than the line still breaks, into lines as
 * full as the width allows. */
static void test_long_runs(ipf_line_breaker **breakers)
{
    enum { N = 5000 };
    static uint32_t cps[N];
    static double adv[N];
    struct {
        const char *what;
        uint32_t c;
        double adv, max;
        size_t per_line;
    } runs[] = {
        {"5,000 digits", '0', 0.5, 10, 20},
        {"5,000 digits, width not a multiple", '7', 0.5, 10.3, 20},
        {"a 5,000-letter word", 'a', 0.5, 7, 14},
        {"5,000 katakana middle dots (no-start, not compressible)", 0x30FB, 1, 10, 10},
        {"5,000 ideographs", 0x5B57, 14, 14 * 28, 28},
    };
    for (size_t t = 0; t < sizeof runs / sizeof runs[0]; t++) {
        for (int lv = 0; lv < 4; lv++) {
            char wh[200];
            snprintf(wh, sizeof wh, "%s at %s", runs[t].what, ipf_lb_level_name((ipf_lb_level)lv));
            where = wh;
            for (size_t i = 0; i < N; i++) {
                cps[i] = runs[t].c == '0' ? (uint32_t)('0' + i % 10) : runs[t].c;
                adv[i] = runs[t].adv;
            }
            ipf_broken b = {0};
            break_or_fail(breakers[lv], cps, adv, N, runs[t].max, 1, &b);
            run r = {(ipf_lb_level)lv, cps, adv, N, runs[t].max, 1, 0};
            check_result(&r, &b);
            size_t want = (N + runs[t].per_line - 1) / runs[t].per_line;
            if (b.nlines != want)
                fail("%zu lines, expected %zu", b.nlines, want);
            for (size_t k = 0; k + 1 < b.nlines; k++) {
                if (b.lines[k].end - b.lines[k].start != runs[t].per_line) {
                    fail("line %zu holds %zu, expected %zu", k, b.lines[k].end - b.lines[k].start,
                         runs[t].per_line);
                    break;
                }
            }
            ipf_broken_free(&b);
        }
    }
}

/* A word wider than many lines followed by as many spaces: the spaces are
 * dropped at the break, the word fills its lines. */
static void test_word_and_spaces(ipf_line_breaker *lb)
{
    enum { N = 5000 };
    static uint32_t cps[N];
    static double adv[N];
    where = "2,500 letters, 2,499 spaces, b";
    for (size_t i = 0; i < N; i++) {
        cps[i] = i < N / 2 ? 'a' : i + 1 < N ? ' ' : 'b';
        adv[i] = 0.5;
    }
    ipf_broken b = {0};
    break_or_fail(lb, cps, adv, N, 10, 1, &b);
    run r = {IPF_LB_GB, cps, adv, N, 10, 1, 0};
    check_result(&r, &b);
    if (b.nlines != N / 2 / 20 + 1 || b.lines[b.nlines - 1].start != N - 1)
        fail("%zu lines, expected %d, the last one \"b\"", b.nlines, N / 2 / 20 + 1);
    ipf_broken_free(&b);
}

/* A deterministic generator, so a failure can be reproduced. */
static uint32_t rng_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

static int same_result(const ipf_broken *a, const ipf_broken *b)
{
    if (a->nlines != b->nlines)
        return 0;
    for (size_t k = 0; k < a->nlines; k++)
        if (a->lines[k].start != b->lines[k].start || a->lines[k].end != b->lines[k].end ||
            a->lines[k].width != b->lines[k].width)
            return 0;
    for (size_t k = 0; k < a->nlines; k++)
        for (size_t i = a->lines[k].start; i < a->lines[k].end; i++)
            if (a->x[i] != b->x[i] || a->w[i] != b->w[i])
                return 0;
    return 1;
}

/* Form-like prose with every kind of mark.  Punctuation never doubles up,
 * dashes and ellipses do not chain, and Latin and numbers end in a space or
 * a Han character (UAX #14 rightly glues "100％WIPO" into one word), so no
 * segment is wider than 8.5 em: at 9 em and more no emergency cut is ever
 * needed and every prohibition must hold. */
static size_t gen_prose(uint32_t *cps, size_t want)
{
    static const char *const pieces[] = {
        "知识产权信息公共服务网点",
        "，",
        "。",
        "、",
        "；",
        "：",
        "？",
        "！",
        "“专利导航”",
        "‘检索’",
        "（含软硬件条件）",
        "《标点符号用法》",
        "「数据库」",
        "——",
        "……",
        "WIPO ",
        " PATENTSCOPE ",
        "2024年",
        "第3.5条",
        "100％的",
        "https://www.cnipa.gov.cn/col/index.html的",
        "诺尔曼·白求恩",
        "国家知识产权局",
        "服务对象包括高校、科研院所和中小企业",
        "1949—2024年",
        "分析/评议",
        "々",
        "ぁ",
    };
    size_t n = 0;
    while (n < want) {
        size_t k = rnd(sizeof pieces / sizeof pieces[0]);
        if (k >= 1 && k <= 7 && !(n > 0 && cps[n - 1] >= 0x4E00 && cps[n - 1] <= 0x9FFF))
            continue;
        if ((k == 13 || k == 14) && n > 0 && (cps[n - 1] == 0x2014 || cps[n - 1] == 0x2026))
            continue;
        n = append_utf8(cps, n, pieces[k]);
    }
    return n;
}

/* 100,000 characters at each level: every prohibition holds and nothing is
 * lost.  A quadratic breaker would take minutes here. */
static void test_big_paragraph(ipf_line_breaker **breakers)
{
    enum { N = 100000 };
    static uint32_t cps[N + 64];
    static double adv[N + 64];
    rng_state = 2024;
    size_t n = gen_prose(cps, N);
    for (size_t i = 0; i < n; i++)
        adv[i] = 14 * model_adv(cps[i]);
    for (int lv = 0; lv < 4; lv++) {
        char wh[200];
        snprintf(wh, sizeof wh, "100,000 characters at %s", ipf_lb_level_name((ipf_lb_level)lv));
        where = wh;
        ipf_broken b = {0}, again = {0};
        break_or_fail(breakers[lv], cps, adv, n, 14 * 28, 1, &b);
        run r = {(ipf_lb_level)lv, cps, adv, n, 14 * 28, 1, 1};
        check_result(&r, &b);
        /* Greedy filling: lines are nearly full on average (the longest
         * segment here is 8.5 em of a 28 em line). */
        double used = 0;
        for (size_t k = 0; k < b.nlines; k++)
            for (size_t i = b.lines[k].start; i < b.lines[k].end; i++)
                used += adv[i];
        if (used < 0.9 * (double)b.nlines * 14 * 28)
            fail("lines are only %.0f%% full", 100 * used / ((double)b.nlines * 14 * 28));
        /* The breaker is reused: the same paragraph after another one gives
         * the same lines. */
        ipf_broken other = {0};
        break_or_fail(breakers[lv], cps + 7, adv + 7, 500, 14 * 9, 0, &other);
        break_or_fail(breakers[lv], cps, adv, n, 14 * 28, 1, &again);
        if (!same_result(&b, &again))
            fail("a reused breaker gave a different result");
        /* And into the buffers of earlier results, smaller and larger. */
        ipf_lb_opts o = {0};
        o.justify = 1;
        if (ipf_line_breaker_break_into(breakers[lv], cps, adv, n, 14 * 28, &o, &other) != IPF_OK ||
            !same_result(&b, &other))
            fail("breaking into a smaller earlier result gave a different result");
        if (ipf_line_breaker_break_into(breakers[lv], cps, adv, 500, 14 * 9, &o, &again) !=
                IPF_OK ||
            ipf_line_breaker_break_into(breakers[lv], cps, adv, n, 14 * 28, &o, &again) != IPF_OK ||
            !same_result(&b, &again))
            fail("breaking into a larger earlier result gave a different result");
        ipf_broken_free(&other);
        ipf_broken_free(&again);
        ipf_broken_free(&b);
    }
    /* Short paragraphs at every width from 9 em, every level. */
    rng_state = 99;
    for (int iter = 0; iter < 2000; iter++) {
        size_t m = gen_prose(cps, 1 + rnd(300));
        double max = 9 + rnd(220) / 10.0;
        ipf_lb_level lv = (ipf_lb_level)rnd(4);
        char wh[200];
        snprintf(wh, sizeof wh, "prose %d at %s, width %g", iter, ipf_lb_level_name(lv), max);
        where = wh;
        for (size_t i = 0; i < m; i++)
            adv[i] = model_adv(cps[i]);
        ipf_broken b = {0};
        int before = failures;
        break_or_fail(breakers[lv], cps, adv, m, max, 1, &b);
        run r = {lv, cps, adv, m, max, 1, 1};
        check_result(&r, &b);
        if (failures > before) {
            char *s = render_lines(cps, &b);
            fprintf(stderr, "  result: %s\n", s);
            free(s);
            ipf_broken_free(&b);
            return;
        }
        ipf_broken_free(&b);
    }
}

/* Random strings from an alphabet of everything awkward: the invariants
 * must hold at every width, including widths narrower than a character. */
static void test_fuzz(ipf_line_breaker **breakers)
{
    static const char *const alphabet[] = {
        "一",
        "二",
        "，",
        "。",
        "、",
        "（",
        "）",
        "“",
        "”",
        "‘",
        "’",
        "《",
        "》",
        "—",
        "…",
        "⸺",
        "a",
        "b",
        "1",
        " ",
        "　",
        "\n",
        "\r",
        "/",
        "／",
        "々",
        "ぁ",
        "ー",
        "·",
        "‼",
        "-",
        ".",
        "e\xcc\x81",
        "\xf0\x9f\x98\x80",
        "\xe2\x80\x8d",
        "％",
        "￥",
        ":",
    };
    const size_t na = sizeof alphabet / sizeof alphabet[0];
    static const double widths[] = {0, 0.4, 1, 1.5, 2, 3, 4.5, 7, 12.25};
    uint32_t cps[512];
    double adv[512], bl[512], br[512];
    rng_state = 7;
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = 0, want = rnd(60);
        while (n < want)
            n = append_utf8(cps, n, alphabet[rnd((uint32_t)na)]);
        int prop = rnd(3) == 0;
        for (size_t i = 0; i < n; i++)
            adv[i] = model_adv(cps[i]) * (prop ? 0.6 + rnd(80) / 100.0 : 1.0);
        ipf_lb_level lv = (ipf_lb_level)rnd(4);
        double max = widths[rnd(sizeof widths / sizeof widths[0])];
        int justify = (int)rnd(2);
        char wh[100];
        snprintf(wh, sizeof wh, "fuzz %d at %s, width %g", iter, ipf_lb_level_name(lv), max);
        where = wh;
        ipf_broken b = {0};
        int before = failures;
        /* The composition options too: every result keeps the invariants
         * (balanced lines are justified to the balanced width, not max). */
        ipf_lb_opts o = {0};
        o.justify = justify;
        o.no_lone_last = (int)rnd(2);
        o.balance = !justify && rnd(4) == 0;
        o.marked_breaks = rnd(4) == 0;
        if (rnd(3) == 0) { /* a font's ink: each side keeps 12-60 % blank */
            for (size_t i = 0; i < n; i++) {
                bl[i] = adv[i] * (0.12 + rnd(49) / 100.0);
                br[i] = adv[i] * (0.12 + rnd(49) / 100.0);
            }
            o.blank_l = bl;
            o.blank_r = br;
        }
        if (ipf_line_breaker_break_opts(breakers[lv], cps, adv, n, max, &o, &b) != IPF_OK)
            fail("status");
        run r = {lv, cps, adv, n, max, justify, 0};
        check_result(&r, &b);
        if (failures > before) {
            char *s = render_lines(cps, &b);
            fprintf(stderr, "  result: %s\n  input:", s);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, " %04X", (unsigned)cps[i]);
            fputc('\n', stderr);
            free(s);
            ipf_broken_free(&b);
            return;
        }
        ipf_broken_free(&b);
    }
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR [FILE.txt ... | --generated]\n", argv[0]);
        return 2;
    }
    ipf_line_breaker *breakers[4] = {NULL, NULL, NULL, NULL};
    for (int lv = 0; lv < 4; lv++) {
        if (ipf_line_breaker_new((ipf_lb_level)lv, &breakers[lv]) != IPF_OK) {
            fprintf(stderr, "cannot create a line breaker\n");
            return 2;
        }
    }
    const char *dir = argv[1];
    int generated = argc == 2, ncases = 0, nfiles = 0;
    char path[4096];
    if (argc == 2) {
        DIR *d = opendir(dir);
        char *names[256];
        size_t nn = 0;
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL && nn < 256)
            if (has_suffix(de->d_name, ".txt"))
                names[nn++] = strdup(de->d_name);
        if (d)
            closedir(d);
        qsort(names, nn, sizeof names[0], cmp_str);
        for (size_t i = 0; i < nn; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            int c = run_file(breakers, path);
            ncases += c > 0 ? c : 0;
            nfiles++;
            free(names[i]);
        }
        if (nfiles == 0) {
            where = dir;
            fail("no case files");
        }
    }
    for (int a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--generated") == 0) {
            generated = 1;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, argv[a]);
        int c = run_file(breakers, path);
        ncases += c > 0 ? c : 0;
        nfiles++;
    }
    if (generated) {
        test_api();
        test_long_runs(breakers);
        test_word_and_spaces(breakers[IPF_LB_GB]);
        test_big_paragraph(breakers);
        test_fuzz(breakers);
    }
    for (int lv = 0; lv < 4; lv++)
        ipf_line_breaker_free(breakers[lv]);
    printf("%d case(s) from %d file(s), %d result(s) checked, %d failure(s)\n", ncases, nfiles,
           checks, failures);
    return failures ? 1 : 0;
}
