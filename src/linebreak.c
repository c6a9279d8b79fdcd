/* linebreak.c: Chinese line breaking by W3C clreq / GB/T 15834.
 *
 * One paragraph goes through four passes, each linear in its length:
 *
 *   1. classify every code point once (clreq table, width class, grapheme
 *      joining, white space, mandatory breaks) and build prefix sums of the
 *      advances, so that the width of any range costs O(1);
 *   2. take ICU's UAX #14 opportunities for the level's locale;
 *   3. tailor them with clreq: the prohibitions of the level, 破折号 and 省略号
 *      kept whole, and the quotes and brackets between Chinese characters
 *      decided by clreq rather than by UAX #14;
 *   4. fill lines greedily with the real widths: a segment that would
 *      straddle the line end is first squeezed in by compressing punctuation
 *      ("先挤进") and only then pushed to the next line ("后推出"); a segment
 *      wider than any line is cut where it must be.
 *
 * docs/line-breaking.md states the rules of each level and why. */
#include "linebreak.h"
#include "buf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>

/* Widths are sums of doubles; a line that is full to the last bit must not
 * be rejected because of rounding, and 1e-6 pt is far below any device. */
#define EPS 1e-6

/* ICU indexes UTF-16 text with int32_t, and one code point needs at most two
 * units. */
#define MAX_CPS ((size_t)(INT32_MAX / 2 - 1))

/* Per-code-point classes. */
enum {
    F_NOSTART = 1u << 0,    /* may not start a line (basic and above) */
    F_NOEND = 1u << 1,      /* may not end a line (basic and above) */
    F_SOLIDUS = 1u << 2,    /* 分隔号: may not end a line either (GB and above) */
    F_CMP_R = 1u << 3,      /* ink on the left half: the right half may be trimmed */
    F_CMP_L = 1u << 4,      /* ink on the right half: the left half may be trimmed */
    F_PUNCT = 1u << 5,      /* in the clreq table below */
    F_NOSTRETCH = 1u << 6,  /* 连接号, 分隔号: justification leaves the gaps around them */
    F_SPACE = 1u << 7,      /* white space, dropped at a break */
    F_WIDE = 1u << 8,       /* East Asian Wide or Fullwidth */
    F_JOIN_PREV = 1u << 9,  /* continues the previous grapheme cluster */
    F_JOIN_NEXT = 1u << 10, /* the next code point continues its cluster */
    F_FORCED = 1u << 11,    /* a mandatory break */
    F_CMP_OK = 1u << 12,    /* F_CMP_R or F_CMP_L, and full width in this paragraph */
    F_ZWJ = 1u << 13,       /* ZERO WIDTH JOINER: joins a following pictograph */
    F_PICTO = 1u << 14,     /* Extended_Pictographic */
    F_PAUSE = 1u << 15,     /* 、，；： (compressed before 。？！) */
    F_STOP = 1u << 16       /* 。？！． (a sentence's pause: compressed last) */
};

/* The state of the boundary before a code point, as far as 破折号 and 省略号
 * are concerned. */
enum {
    UB_NONE = 0,
    UB_START,   /* a dash or ellipsis run begins here */
    UB_BETWEEN, /* between two whole units of one run (——|——) */
    UB_INNER    /* inside a unit: never a break */
};

struct ipf_line_breaker {
    ipf_lb_level level;
    UBreakIterator *bi; /* NULL at IPF_LB_NONE */
    /* Buffers reused from paragraph to paragraph; they only grow. */
    size_t cap; /* code points the buffers hold */
    UChar *u16;
    int32_t *u16cp;     /* code point index of each UTF-16 offset */
    uint32_t *fl;       /* F_* of each code point */
    unsigned char *ub;  /* UB_* of the boundary before each code point */
    unsigned char *brk; /* 1: a break is allowed before this code point */
    double *cut;        /* what is trimmed off each mark on its line, in points */
    double *half;       /* what a mark may give up at most: its blank half, or less
                           where the font's ink reaches into that half */
    size_t *nxt;        /* next opportunity (or block end) after each code point */
    double *pre;        /* pre[i]: sum of adv[0..i) */
    /* Adjacent marks are always compressed (clreq 3.1.6.2): pair[i] says
     * which of the pair (i-1, i) loses its blank half (PAIR_*), ap[i] is the
     * sum of those savings over the pairs (k-1, k) with 1 <= k < i. */
    unsigned char *pair;
    double *ap;
    /* mpre[i]: sum over [0..i) of what a lone mark in mid-line may give up
     * when its line needs squeezing (at most MID_CUT of an em each). */
    double *mpre;
    unsigned char *code; /* 1: i is inside a long code (a soft break before it) */
    /* classify() of each BMP code point met so far, with CLS_KNOWN set: its
     * ICU look-ups were a fifth of the breaker's time.  NULL until the first
     * paragraph (and where it could not be had: then classify() each time). */
    uint32_t *cls;
};

#define CLS_KNOWN (1u << 31)

enum { PAIR_NONE = 0, PAIR_FIRST, PAIR_SECOND };

/* A lone mark inside a line gives up at most this much of an em, so that it
 * still reads as a Chinese mark (half width reads as ASCII ",").  The same
 * limit as jlreq's for 行中の約物, and the line-end mark keeps its half. */
#define MID_CUT 0.25
/* Justification never adds more than this much of an em between two
 * characters (a looser line reads as spaced-out text). */
#define MAX_GAP 0.25
/* A run of ASCII letters and digits this long, with a digit in it, is a code
 * (a registration number, a 统一社会信用代码), not a word: it may break
 * between its characters rather than leave a loose line. */
#define CODE_MIN 8

/* The state of one call of ipf_line_breaker_break(). */
typedef struct para {
    ipf_line_breaker *lb;
    const uint32_t *cps;
    const double *adv;
    size_t n;
    double max;
    double em; /* the advance of a Han character here (0: none seen) */
    ipf_broken *out;
    ipf_lb_opts o;
} para;

int ipf_lb_level_parse(const char *s)
{
    static const char *const names[] = {"none", "basic", "gb", "strict"};
    if (!s)
        return -1;
    for (int lv = 0; lv < 4; lv++) {
        const char *a = s, *b = names[lv];
        while (*a && *b) {
            char c = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
            if (c != *b)
                break;
            a++;
            b++;
        }
        if (!*a && !*b)
            return lv;
    }
    return -1;
}

const char *ipf_lb_level_name(ipf_lb_level level)
{
    switch (level) {
    case IPF_LB_NONE:
        return "none";
    case IPF_LB_BASIC:
        return "basic";
    case IPF_LB_GB:
        return "GB";
    case IPF_LB_STRICT:
        return "strict";
    }
    return "?";
}

ipf_status ipf_line_breaker_new(ipf_lb_level level, ipf_line_breaker **out)
{
    /* basic is CSS line-break:loose, GB is normal, strict is strict; the
     * differences that matter here are listed in docs/line-breaking.md. */
    static const char *const locales[] = {NULL, "zh@lb=loose", "zh@lb=normal", "zh@lb=strict"};
    if (!out)
        return IPF_ERR_USAGE;
    *out = NULL;
    if ((int)level < IPF_LB_NONE || (int)level > IPF_LB_STRICT)
        return IPF_ERR_USAGE;
    ipf_line_breaker *lb = calloc(1, sizeof *lb);
    if (!lb)
        return IPF_ERR_NOMEM;
    lb->level = level;
    if (level != IPF_LB_NONE) {
        UErrorCode err = U_ZERO_ERROR;
        lb->bi = ubrk_open(UBRK_LINE, locales[level], NULL, 0, &err);
        if (U_FAILURE(err)) {
            if (lb->bi)
                ubrk_close(lb->bi);
            free(lb);
            return err == U_MEMORY_ALLOCATION_ERROR ? IPF_ERR_NOMEM : IPF_ERR_INTERNAL;
        }
    }
    *out = lb;
    return IPF_OK;
}

static void free_buffers(ipf_line_breaker *lb)
{
    free(lb->u16);
    free(lb->u16cp);
    free(lb->fl);
    free(lb->ub);
    free(lb->brk);
    free(lb->cut);
    free(lb->half);
    free(lb->nxt);
    free(lb->pre);
    free(lb->pair);
    free(lb->ap);
    free(lb->mpre);
    free(lb->code);
}

void ipf_line_breaker_free(ipf_line_breaker *lb)
{
    if (!lb)
        return;
    if (lb->bi)
        ubrk_close(lb->bi);
    free_buffers(lb);
    free(lb->cls);
    free(lb);
}

void ipf_broken_free(ipf_broken *b)
{
    if (!b)
        return;
    free(b->lines);
    free(b->x);
    free(b->w);
    memset(b, 0, sizeof *b);
}

/* Grows every buffer to hold n code points; all or nothing, so that a failed
 * growth leaves the breaker usable. */
static int reserve(ipf_line_breaker *lb, size_t n)
{
    if (n <= lb->cap)
        return 0;
    size_t cap = lb->cap * 2 > n ? lb->cap * 2 : n;
    if (cap < 256)
        cap = 256;
    if (cap > MAX_CPS)
        cap = MAX_CPS;
    ipf_line_breaker nb = *lb;
    nb.u16 = malloc((2 * cap + 1) * sizeof *nb.u16);
    nb.u16cp = malloc((2 * cap + 1) * sizeof *nb.u16cp);
    nb.fl = malloc(cap * sizeof *nb.fl);
    nb.ub = malloc((cap + 1) * sizeof *nb.ub);
    nb.brk = malloc((cap + 1) * sizeof *nb.brk);
    nb.cut = malloc(cap * sizeof *nb.cut);
    nb.half = malloc(cap * sizeof *nb.half);
    nb.nxt = malloc(cap * sizeof *nb.nxt);
    nb.pre = malloc((cap + 1) * sizeof *nb.pre);
    nb.pair = malloc((cap + 1) * sizeof *nb.pair);
    nb.ap = malloc((cap + 1) * sizeof *nb.ap);
    nb.mpre = malloc((cap + 1) * sizeof *nb.mpre);
    nb.code = malloc((cap + 1) * sizeof *nb.code);
    if (!nb.u16 || !nb.u16cp || !nb.fl || !nb.ub || !nb.brk || !nb.cut || !nb.half || !nb.nxt ||
        !nb.pre || !nb.pair || !nb.ap || !nb.mpre || !nb.code) {
        free_buffers(&nb);
        return -1;
    }
    free_buffers(lb);
    nb.cap = cap;
    *lb = nb;
    return 0;
}

/* The clreq table: which marks may not start or end a line, and which half
 * of a full-width mark is blank (in Simplified Chinese fonts 点号 sit in the
 * left half like closing marks).  ASCII punctuation is left to UAX #14,
 * which already keeps it with its word and knows numbers like 1,000.5. */
static unsigned punct_class(uint32_t c)
{
    switch (c) {
    /* 点号 within a sentence: 顿号 逗号 分号 冒号 */
    case 0x3001:
    case 0xFF0C:
    case 0xFF1B:
    case 0xFF1A:
        return F_NOSTART | F_CMP_R | F_PUNCT | F_PAUSE;
    /* 点号 ending a sentence: 句号 全角句点 叹号 问号 */
    case 0x3002:
    case 0xFF0E:
    case 0xFF01:
    case 0xFF1F:
        return F_NOSTART | F_CMP_R | F_PUNCT | F_STOP;
    /* closing brackets, 书名号 and quotes */
    case 0xFF09:
    case 0xFF3D:
    case 0xFF5D:
    case 0x3009:
    case 0x300B:
    case 0x300D:
    case 0x300F:
    case 0x3011:
    case 0x3015:
    case 0x3017:
    case 0x3019:
    case 0x301B:
    case 0x301E:
    case 0x301F:
    case 0xFF60:
    case 0xFF63:
    case 0x2019:
    case 0x201D:
        return F_NOSTART | F_CMP_R | F_PUNCT;
    /* opening brackets, 书名号 and quotes */
    case 0xFF08:
    case 0xFF3B:
    case 0xFF5B:
    case 0x3008:
    case 0x300A:
    case 0x300C:
    case 0x300E:
    case 0x3010:
    case 0x3014:
    case 0x3016:
    case 0x3018:
    case 0x301A:
    case 0x301D:
    case 0xFF5F:
    case 0xFF62:
    case 0x2018:
    case 0x201C:
        return F_NOEND | F_CMP_L | F_PUNCT;
    /* 连接号 other than the lone em dash (handled with the runs): en dash,
     * hyphens, 浪纹线 */
    case 0x2010:
    case 0x2011:
    case 0x2013:
    case 0xFF0D:
    case 0xFF5E:
    case 0x301C:
    case 0x30A0:
        return F_NOSTART | F_PUNCT | F_NOSTRETCH;
    /* stacked 问号/叹号 (clreq "exclamatory question marks"), centred, so
     * not compressed */
    case 0x203C:
    case 0x2047:
    case 0x2048:
    case 0x2049:
    /* 间隔号 */
    case 0x00B7:
    case 0x2027:
    case 0x30FB:
    case 0xFF65:
        return F_NOSTART | F_PUNCT;
    /* 分隔号; the ASCII solidus joins it between Chinese characters */
    case 0xFF0F:
        return F_NOSTART | F_SOLIDUS | F_PUNCT | F_NOSTRETCH;
    case '-':
        return F_NOSTRETCH;
    default:
        return 0;
    }
}

/* Runs that form 破折号 and 省略号: 1 for characters that make a unit in pairs
 * (one U+2014 alone is 一字线, a 连接号; one U+2026 alone is still read as an
 * ellipsis), 2 for the two- and three-em dashes that are a unit each. */
static int unit_kind(uint32_t c)
{
    switch (c) {
    case 0x2014:
    case 0x2015:
    case 0x2026:
    case 0x22EF:
        return 1;
    case 0x2E3A:
    case 0x2E3B:
        return 2;
    default:
        return 0;
    }
}

static int is_forced(uint32_t c)
{
    return (c >= 0x0A && c <= 0x0D) || c == 0x85 || c == 0x2028 || c == 0x2029;
}

static uint32_t classify(uint32_t c)
{
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    uint32_t f = punct_class(c);
    UChar32 u = (UChar32)c;
    if (is_forced(c))
        f |= F_FORCED;
    else if (c == 0x09 ||
             (u_charType(u) == U_SPACE_SEPARATOR && c != 0xA0 && c != 0x2007 && c != 0x202F))
        f |= F_SPACE; /* the no-break spaces are not break points, so never dropped */
    int ea = u_getIntPropertyValue(u, UCHAR_EAST_ASIAN_WIDTH);
    if (ea == U_EA_WIDE || ea == U_EA_FULLWIDTH)
        f |= F_WIDE;
    switch (u_getIntPropertyValue(u, UCHAR_GRAPHEME_CLUSTER_BREAK)) {
    case U_GCB_EXTEND:
    case U_GCB_SPACING_MARK:
        f |= F_JOIN_PREV;
        break;
    case U_GCB_ZWJ:
        f |= F_JOIN_PREV | F_ZWJ;
        break;
    case U_GCB_PREPEND:
        f |= F_JOIN_NEXT;
        break;
    default:
        break;
    }
    if (u_hasBinaryProperty(u, UCHAR_EXTENDED_PICTOGRAPHIC))
        f |= F_PICTO;
    return f;
}

/* The advance of a CJK character in this paragraph: the median of the first
 * few wide letters (Han, kana), else of any wide characters.  Compression is
 * for full-width marks only, and "full width" is relative to the font the
 * caller measured with; 0 when there is nothing to compare with. */
static double em_of(const para *p)
{
    double v[63];
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (size_t i = 0; i < p->n && k < 63; i++) {
            uint32_t f = p->lb->fl[i];
            if (!(f & F_WIDE) || p->adv[i] <= 0)
                continue;
            if (pass == 0 && ((f & F_PUNCT) || !u_isalpha((UChar32)p->cps[i])))
                continue;
            size_t j = k++;
            while (j > 0 && v[j - 1] > p->adv[i]) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = p->adv[i];
        }
        if (k)
            return v[k / 2];
    }
    return 0;
}

/* Whether i starts a grapheme cluster (UAX #29, without the Hangul syllable
 * and regional-indicator pairing rules, which Chinese forms do not need). */
static int grapheme_ok(const ipf_line_breaker *lb, size_t i)
{
    uint32_t a = lb->fl[i - 1], b = lb->fl[i];
    return !(b & F_JOIN_PREV) && !(a & F_JOIN_NEXT) && !((a & F_ZWJ) && (b & F_PICTO));
}

/* Whether the level forbids code point i to start a line or i - 1 to end
 * one; i is a boundary inside the paragraph. */
static int prohibited(const ipf_line_breaker *lb, size_t i)
{
    if (lb->level == IPF_LB_NONE)
        return 0;
    if (lb->fl[i] & F_NOSTART)
        return 1;
    if (lb->level == IPF_LB_STRICT && (lb->ub[i] == UB_START || lb->ub[i] == UB_BETWEEN))
        return 1;
    if (lb->fl[i - 1] & F_NOEND)
        return 1;
    return lb->level >= IPF_LB_GB && (lb->fl[i - 1] & F_SOLIDUS);
}

/* The tailored decision for the boundary before code point i (0 < i < n);
 * lb->brk[i] holds ICU's opinion on entry. */
static int decide(const para *p, size_t i)
{
    const ipf_line_breaker *lb = p->lb;
    if (lb->ub[i] == UB_INNER || !grapheme_ok(lb, i))
        return 0;
    if (lb->level == IPF_LB_NONE)
        return 1;
    if (lb->ub[i] == UB_BETWEEN)
        return lb->level < IPF_LB_STRICT;
    if (prohibited(lb, i))
        return 0;
    uint32_t a = lb->fl[i - 1], b = lb->fl[i];
    if ((a | b) & F_SPACE)
        return lb->brk[i];
    /* Between Chinese characters the clreq table is the authority: UAX #14
     * (Unicode 15) forbids any break around “ ” ‘ ’ and before …, which
     * would glue a quotation or an ellipsis to the word before it. */
    if (((a | b) & F_PUNCT) && (a & (F_WIDE | F_PUNCT)) && (b & (F_WIDE | F_PUNCT)))
        return 1;
    if (!lb->brk[i])
        return 0;
    /* A number keeps the Chinese character after it: 2023|年, 1|套, 80|万元
     * read as a number torn from its unit or counter (a break before the
     * number is still allowed). */
    uint32_t pc = p->cps[i - 1];
    if (((pc >= '0' && pc <= '9') || (pc >= 0xFF10 && pc <= 0xFF19)) && (b & F_WIDE) &&
        !(b & (F_PUNCT | F_SPACE)) && u_isalpha((UChar32)p->cps[i]))
        return 0;
    if (lb->level == IPF_LB_BASIC) {
        /* The loose locale lets ￥ and ％ leave their number; a quantity split
         * from its unit reads as two things, so keep them at every level. */
        int la = u_getIntPropertyValue((UChar32)p->cps[i - 1], UCHAR_LINE_BREAK);
        int lbb = u_getIntPropertyValue((UChar32)p->cps[i], UCHAR_LINE_BREAK);
        if ((la == U_LB_PREFIX_NUMERIC && lbb == U_LB_NUMERIC) ||
            (la == U_LB_NUMERIC && lbb == U_LB_POSTFIX_NUMERIC))
            return 0;
    }
    return 1;
}

/* Marks the 破折号/省略号 runs: which boundaries are inside a unit, between
 * two units, or start a run. */
static void mark_units(para *p)
{
    ipf_line_breaker *lb = p->lb;
    size_t n = p->n;
    memset(lb->ub, UB_NONE, n + 1);
    for (size_t i = 0; i < n;) {
        uint32_t c = p->cps[i];
        int kind = unit_kind(c);
        if (!kind) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && (kind == 2 ? unit_kind(p->cps[j]) == 2 : p->cps[j] == c))
            j++;
        size_t len = j - i;
        if (kind == 1 && len == 1 && (c == 0x2014 || c == 0x2015)) {
            lb->fl[i] |= F_NOSTART | F_PUNCT | F_NOSTRETCH; /* 一字线 */
            i = j;
            continue;
        }
        lb->ub[i] = UB_START;
        for (size_t k = i; k < j; k++)
            lb->fl[k] |= F_PUNCT;
        for (size_t k = 1; k < len; k++) {
            /* Pairs from the start of the run; an odd last character stays
             * with the pair before it. */
            int between = kind == 2 || (k % 2 == 0 && len - k >= 2);
            lb->ub[i + k] = between ? UB_BETWEEN : UB_INNER;
        }
        i = j;
    }
}

/* Fills lb->brk[1..n-1] with the opportunities of the level. */
static ipf_status find_opportunities(para *p)
{
    ipf_line_breaker *lb = p->lb;
    size_t n = p->n;
    memset(lb->brk, 0, n + 1);
    if (lb->bi && n > 1) {
        /* One UTF-16 copy per paragraph, with the way back to code points. */
        int32_t len = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t c = p->cps[i];
            if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                c = 0xFFFD;
            if (c >= 0x10000) {
                lb->u16cp[len] = (int32_t)i;
                lb->u16[len++] = (UChar)(0xD7C0 + (c >> 10));
                lb->u16cp[len] = (int32_t)i;
                lb->u16[len++] = (UChar)(0xDC00 | (c & 0x3FF));
            } else {
                lb->u16cp[len] = (int32_t)i;
                lb->u16[len++] = (UChar)c;
            }
        }
        lb->u16cp[len] = (int32_t)n;
        UErrorCode err = U_ZERO_ERROR;
        ubrk_setText(lb->bi, lb->u16, len, &err);
        if (U_FAILURE(err))
            return IPF_ERR_INTERNAL;
        ubrk_first(lb->bi);
        for (int32_t pos = ubrk_next(lb->bi); pos != UBRK_DONE; pos = ubrk_next(lb->bi))
            if (pos > 0 && pos < len)
                lb->brk[lb->u16cp[pos]] = 1;
        /* Do not leave ICU pointing into a buffer that may be reallocated. */
        static const UChar empty[1] = {0};
        ubrk_setText(lb->bi, empty, 0, &err);
    }
    for (size_t i = 1; i < n; i++)
        lb->brk[i] = (unsigned char)decide(p, i);
    return IPF_OK;
}

static int is_url_delim(uint32_t c)
{
    return c < 0x80 && c && strchr("/.-?&=_#~:;,@+%", (int)c) != NULL;
}

/* Whether an emergency cut before i keeps to the level's prohibitions, with
 * the ASCII ones UAX #14 would otherwise have enforced. */
static int cut_ok(const para *p, size_t i)
{
    if (p->lb->level == IPF_LB_NONE)
        return 1;
    if (prohibited(p->lb, i))
        return 0;
    uint32_t a = p->cps[i - 1], b = p->cps[i];
    if (b < 0x80 && b && strchr(",.;:!?)]}%", (int)b))
        return 0;
    return !(a < 0x80 && a && strchr("([{", (int)a));
}

/* A segment [pos, e) wider than any line must be cut.  Returns the cut in
 * (pos, e) that fills the line from s best, or pos for none.  On a line that
 * already holds text, only a cut after a URL delimiter is worth making (else
 * the segment starts the next line: "邮箱：" stays whole, "paten|ts" is
 * avoided); on an empty line, after a URL delimiter if that keeps at least
 * half the room, else anywhere the prohibitions allow, else outside
 * 破折号/省略号, else at any grapheme boundary. */
static size_t emergency_cut(const para *p, size_t s, size_t pos, size_t e, int empty)
{
    const ipf_line_breaker *lb = p->lb;
    const double *pre = lb->pre;
    double room = p->max - (pre[pos] - pre[s]);
    size_t kmax = pos;
    while (kmax < e && pre[kmax + 1] - pre[s] <= p->max + EPS)
        kmax++;
    if (kmax >= e)
        kmax = e - 1;
    size_t any = 0, valid = 0, good = 0;
    for (size_t c = kmax; c > pos; c--) {
        if (!grapheme_ok(lb, c))
            continue;
        if (!any)
            any = c;
        if (lb->ub[c] == UB_INNER)
            continue;
        if (!valid)
            valid = c;
        if (!cut_ok(p, c))
            continue;
        if (!good)
            good = c;
        if (empty && pre[c] - pre[pos] < room / 2)
            break;
        if (is_url_delim(p->cps[c - 1]) && !is_url_delim(p->cps[c]))
            return c;
    }
    if (!empty)
        return pos;
    return good ? good : valid ? valid : any ? any : pos;
}

/* The end of the grapheme cluster that starts at i, within [i, be). */
static size_t grapheme_end(const ipf_line_breaker *lb, size_t i, size_t be)
{
    size_t j = i + 1;
    while (j < be && !grapheme_ok(lb, j))
        j++;
    return j;
}

/* How the gap before code point i may grow in justification (clreq 行内调整,
 * 拉伸处理的优先顺序): Western word spaces first, then the gaps that touch
 * Chinese; never inside 破折号/省略号, next to 连接号 or 分隔号, or between
 * two Latin letters or digits. */
enum { GAP_NONE, GAP_WORD, GAP_CJK };

static int gap_kind(const ipf_line_breaker *lb, size_t i)
{
    uint32_t a = lb->fl[i - 1], b = lb->fl[i];
    if (lb->ub[i] == UB_INNER || ((a | b) & F_NOSTRETCH))
        return GAP_NONE;
    if (b & F_SPACE) /* a space grows by the gap after it, not twice */
        return GAP_NONE;
    if (a & F_SPACE)
        return GAP_WORD;
    return (a | b) & (F_WIDE | F_PUNCT) ? GAP_CJK : GAP_NONE;
}

/* What a full-width mark gives up at most in mid-line (0 for the others). */
static double mid_cap(const para *p, size_t i)
{
    if (!(p->lb->fl[i] & F_CMP_OK))
        return 0;
    return fmin(p->lb->half[i], p->em * MID_CUT);
}

/* The width of [s, e) set on one line before any squeezing: the advances,
 * less the blank half of one mark of each adjacent pair inside the range,
 * which is always trimmed. */
static double natural(const para *p, size_t s, size_t e)
{
    const ipf_line_breaker *lb = p->lb;
    double w = lb->pre[e] - lb->pre[s];
    if (e > s + 1)
        w -= lb->ap[e] - lb->ap[s + 1];
    return w;
}

/* How much more [s, e) can give up when its line needs squeezing: half of a
 * closing mark or 点号 ending the line and of an opening mark starting it,
 * MID_CUT of every other full-width mark not already trimmed in a pair.
 * (A mark trimmed by a pair whose partner is on the other line can only be
 * at one of the two ends, which the corrections cover exactly.) */
static double squeeze(const para *p, size_t s, size_t e)
{
    const ipf_line_breaker *lb = p->lb;
    if (e <= s)
        return 0;
    const double *m = lb->mpre;
    double q = m[e] - m[s];
    size_t j = e - 1;
    if ((lb->fl[j] & F_CMP_OK) && (lb->fl[j] & F_CMP_R))
        q += lb->half[j] - (m[j + 1] - m[j]);
    if (s != j && (lb->fl[s] & F_CMP_OK) && (lb->fl[s] & F_CMP_L))
        q += lb->half[s] - (m[s + 1] - m[s]);
    return q;
}

/* Squeezes [s, e) by need more than its natural width, in clreq's order
 * (行内调整, 挤压处理的优先顺序): the mark ending the line to half, an opening
 * mark starting it to half (adjacent pairs are already trimmed), then the
 * lone marks in mid-line, shared evenly within each group and never by more
 * than MID_CUT each: brackets and quotes first, then 、，；：, and last
 * 。？！, which end a sentence. */
static void choose_compression(const para *p, size_t s, size_t e, double need)
{
    ipf_line_breaker *lb = p->lb;
    const uint32_t *fl = lb->fl;
    double got = 0;
    size_t j = e - 1;
    if ((fl[j] & F_CMP_OK) && (fl[j] & F_CMP_R) && lb->cut[j] == 0) {
        lb->cut[j] = lb->half[j];
        got += lb->cut[j];
    }
    if (got < need - EPS && s != j && (fl[s] & F_CMP_OK) && (fl[s] & F_CMP_L) && lb->cut[s] == 0) {
        lb->cut[s] = lb->half[s];
        got += lb->cut[s];
    }
    for (int g = 0; g < 3 && got < need - EPS; g++) {
        /* All caps are equal (every full-width mark is ≥ 0.9 em), so one
         * even share fills the group; a second round mops up rounding. */
        for (int round = 0; round < 4 && got < need - EPS; round++) {
            size_t cnt = 0;
            for (size_t i = s; i < e; i++) {
                uint32_t f = fl[i];
                int grp = (f & F_STOP) ? 2 : (f & F_PAUSE) ? 1 : 0;
                if ((f & F_CMP_OK) && grp == g && lb->cut[i] < mid_cap(p, i) - EPS)
                    cnt++;
            }
            if (!cnt)
                break;
            double share = (need - got) / (double)cnt;
            for (size_t i = s; i < e; i++) {
                uint32_t f = fl[i];
                int grp = (f & F_STOP) ? 2 : (f & F_PAUSE) ? 1 : 0;
                double room = mid_cap(p, i) - lb->cut[i];
                if (!(f & F_CMP_OK) || grp != g || room < EPS)
                    continue;
                double add = fmin(share, room);
                lb->cut[i] += add;
                got += add;
            }
        }
    }
}

static ipf_status emit(para *p, size_t s, size_t e, double need, int last)
{
    ipf_line_breaker *lb = p->lb;
    ipf_broken *out = p->out;
    if (IPF_GROW(out->lines, out->cap_lines, out->nlines + 1) < 0)
        return IPF_ERR_NOMEM;
    for (size_t i = s; i < e; i++)
        lb->cut[i] = 0;
    /* Adjacent marks, every time: the blank between them goes. */
    for (size_t i = s + 1; i < e; i++) {
        if (lb->pair[i] == PAIR_FIRST)
            lb->cut[i - 1] = lb->half[i - 1];
        else if (lb->pair[i] == PAIR_SECOND)
            lb->cut[i] = lb->half[i];
    }
    if (need > EPS && e > s)
        choose_compression(p, s, e, need);
    double pen = 0;
    size_t nword = 0, ncjk = 0;
    for (size_t i = s; i < e; i++) {
        double a = p->adv[i], c = lb->cut[i];
        /* An opening mark's ink is on its right: it is drawn early by what
         * it gives up, so the ink stays where it was. */
        out->x[i] = (c > 0 && (lb->fl[i] & F_CMP_L)) ? pen - c : pen;
        out->w[i] = a - c;
        pen += a - c;
        if (i > s) {
            int g = gap_kind(lb, i);
            nword += g == GAP_WORD;
            ncjk += g == GAP_CJK;
        }
    }
    double spare = p->max - pen;
    if (p->o.justify && !last && spare > EPS && isfinite(spare) && nword + ncjk) {
        /* Word spaces grow first, to half a Han character each, so the
         * Chinese keeps its even rhythm; the rest goes evenly into the gaps
         * next to Chinese, never more than MAX_GAP of an em each (the line
         * then stays short by the rest rather than look spaced out), or
         * into the word spaces when there are none.  A line of Latin cut
         * out of a long URL has no gap and stays ragged: letter-spacing it
         * would be worse. */
        double word = 0, cjk = 0;
        if (nword) {
            word = spare / (double)nword;
            if (ncjk && p->em > 0 && word > p->em / 2)
                word = p->em / 2;
        }
        if (ncjk) {
            cjk = (spare - word * (double)nword) / (double)ncjk;
            if (p->em > 0 && cjk > p->em * MAX_GAP)
                cjk = p->em * MAX_GAP;
        }
        double shift = 0;
        for (size_t i = s + 1; i < e; i++) {
            int g = gap_kind(lb, i);
            shift += g == GAP_WORD ? word : g == GAP_CJK ? cjk : 0;
            out->x[i] += shift;
        }
        pen += shift;
    }
    ipf_line *l = &out->lines[out->nlines++];
    l->start = s;
    l->end = e;
    l->width = pen;
    return IPF_OK;
}

/* Whether [s, e) set as a justified line would open its gaps by more than
 * MAX_GAP of an em. */
static int loose(const para *p, size_t s, size_t e)
{
    size_t ncjk = 0;
    for (size_t i = s + 1; i < e; i++)
        ncjk += gap_kind(p->lb, i) == GAP_CJK;
    double spare = p->max - natural(p, s, e);
    return ncjk && p->em > 0 && spare > p->em * MAX_GAP * (double)ncjk + EPS;
}

/* A segment [pos, e) is about to go to the next line, leaving [s, pos) on
 * this one.  If that line would be loose and the segment holds a long code,
 * the code is cut instead, as far into it as fits; 0 if not. */
static size_t code_cut(const para *p, size_t s, size_t cend, size_t pos, size_t e)
{
    if (!p->o.justify || cend <= s || !loose(p, s, cend))
        return 0;
    for (size_t k = e - 1; k > pos; k--)
        if (p->lb->code[k] && natural(p, s, k) <= p->max + EPS)
            return k;
    return 0;
}

/* Skips the white space at a break; a space carrying a combining mark is a
 * visible character and stays. */
static size_t skip_spaces(const ipf_line_breaker *lb, size_t i, size_t be)
{
    while (i < be && (lb->fl[i] & F_SPACE) && (i + 1 >= be || grapheme_ok(lb, i + 1)))
        i++;
    return i;
}

/* Breaks the block [bs, be), which holds no mandatory break.  Its last line
 * ends at a mandatory break or at the end of the paragraph, so it is never
 * justified. */
static ipf_status fill_block(para *p, size_t bs, size_t be)
{
    ipf_line_breaker *lb = p->lb;
    const double max = p->max;
    if (bs == be)
        return emit(p, bs, bs, 0, 1);
    /* Next opportunity after each code point, so that a segment cut by
     * several emergency breaks is not rescanned from each cut. */
    size_t nb = be;
    for (size_t i = be; i-- > bs;) {
        lb->nxt[i] = nb;
        if (i > bs && lb->brk[i])
            nb = i;
    }
    size_t s = bs;
    /* The segment last trimmed of its white space: a segment cut into many
     * lines must not have the same spaces rescanned for each. */
    size_t seg_q = bs, seg_e = bs;
    for (;;) {
        size_t pos = s, cend = s; /* accepted up to pos; its text ends at cend */
        for (;;) {
            if (pos >= be)
                return emit(p, s, cend, 0, 1);
            size_t q = lb->nxt[pos];
            if (q != seg_q) {
                seg_q = seg_e = q;
                while (seg_e > pos && (lb->fl[seg_e - 1] & F_SPACE))
                    seg_e--;
            }
            size_t e = seg_e > pos ? seg_e : pos;
            if (e == pos) { /* only white space: it fits, or it is dropped */
                pos = q;
                continue;
            }
            double w = natural(p, s, e);
            if (w <= max + EPS) {
                pos = q;
                cend = e;
                continue;
            }
            ipf_status st;
            /* 先挤进: the segment straddles the line end (its first character
             * would still fit); compression may pull all of it in. */
            size_t g = grapheme_end(lb, pos, e);
            if (pos == s || natural(p, s, g) <= max + EPS) {
                if (w - squeeze(p, s, e) <= max + EPS) {
                    size_t ns = skip_spaces(lb, q, be);
                    if ((st = emit(p, s, e, w - max, ns >= be)) != IPF_OK || ns >= be)
                        return st;
                    s = ns;
                    break;
                }
            }
            double alone = natural(p, pos, e) - squeeze(p, pos, e);
            if (alone <= max + EPS && pos > s) {
                /* A long code would leave this line loose: cut the code. */
                size_t k = code_cut(p, s, cend, pos, e);
                if (k) {
                    if ((st = emit(p, s, k, 0, 0)) != IPF_OK)
                        return st;
                    s = k;
                    break;
                }
                /* 后推出: the segment goes to the next line whole.  (pos == s
                 * was squeezed in above; testing it again guarantees
                 * progress.)  A line of white space only was white space at
                 * a break. */
                if (cend > s && (st = emit(p, s, cend, 0, 0)) != IPF_OK)
                    return st;
                s = skip_spaces(lb, pos, be); /* U+3000 may begin a segment */
                break;
            }
            /* No line can hold the segment: cut it, filling this line. */
            size_t k = emergency_cut(p, s, pos, e, cend == s);
            if (k == pos) {
                if (cend > s && (st = emit(p, s, cend, 0, 0)) != IPF_OK)
                    return st;
                if (pos > s) {
                    s = skip_spaces(lb, pos, be);
                    break;
                }
                k = g; /* one cluster wider than the line stands alone */
            }
            /* A segment may hold white space UAX #14 would not break at
             * (" ：", "a ）"); if the cut falls there it is still dropped. */
            size_t le = k;
            while (le > s && (lb->fl[le - 1] & F_SPACE))
                le--;
            size_t ns = skip_spaces(lb, k, be);
            if (le == s && ns < be) { /* the cut took only white space */
                s = ns;
                break;
            }
            if ((st = emit(p, s, le, 0, ns >= be)) != IPF_OK || ns >= be)
                return st;
            s = ns;
            break;
        }
    }
}

/* Whether line l holds at most one character that is not a mark or a space
 * (clreq 3.4.4 孤字: "任" or "任。" alone on a paragraph's last line). */
static int lone(const para *p, const ipf_line *l)
{
    size_t letters = 0;
    for (size_t i = l->start; i < l->end && letters < 2; i++)
        if (p->adv[i] > 0 && !(p->lb->fl[i] & (F_PUNCT | F_SPACE | F_JOIN_PREV)))
            letters++;
    return l->end > l->start && letters < 2;
}

/* Breaks the block [bs, be), which holds no mandatory break; with
 * no_lone_last, a last line of one character takes the last segment of the
 * line before it along, if both then fit and the line before keeps two
 * characters. */
static ipf_status break_block(para *p, size_t bs, size_t be)
{
    size_t first = p->out->nlines;
    ipf_status st = fill_block(p, bs, be);
    ipf_broken *out = p->out;
    if (st != IPF_OK || !p->o.no_lone_last || out->nlines < first + 2)
        return st;
    ipf_line prev = out->lines[out->nlines - 2], last = out->lines[out->nlines - 1];
    if (!lone(p, &last))
        return IPF_OK;
    const ipf_line_breaker *lb = p->lb;
    for (size_t k = prev.end - 1; k > prev.start; k--) {
        if (!lb->brk[k])
            continue;
        size_t ke = k;
        while (ke > prev.start && (lb->fl[ke - 1] & F_SPACE))
            ke--;
        size_t ns = skip_spaces(lb, k, be);
        ipf_line head = {prev.start, ke, 0};
        if (lone(p, &head) || natural(p, ns, last.end) > p->max + EPS)
            return IPF_OK;
        out->nlines -= 2;
        if ((st = emit(p, prev.start, ke, 0, 0)) != IPF_OK)
            return st;
        return emit(p, ns, last.end, 0, 1);
    }
    return IPF_OK;
}

/* One pass over the paragraph at width max (the buffers are set up). */
static ipf_status break_all(para *p)
{
    ipf_line_breaker *lb = p->lb;
    ipf_broken *out = p->out;
    out->nlines = 0;
    ipf_status st = IPF_OK;
    size_t bs = 0;
    for (size_t i = 0; st == IPF_OK && i <= p->n; i++) {
        if (i < p->n && !(lb->fl[i] & F_FORCED))
            continue;
        st = break_block(p, bs, i);
        if (i < p->n && p->cps[i] == 0x0D && i + 1 < p->n && p->cps[i + 1] == 0x0A)
            i++; /* CR LF is one break */
        bs = i + 1;
    }
    return st;
}

/* Long codes: runs of ASCII letters and digits of at least CODE_MIN with a
 * digit; a soft break is allowed inside, two characters from either end. */
static void mark_codes(para *p)
{
    ipf_line_breaker *lb = p->lb;
    memset(lb->code, 0, p->n + 1);
    if (lb->level == IPF_LB_NONE)
        return;
    for (size_t i = 0; i < p->n;) {
        size_t j = i;
        int digit = 0;
        while (j < p->n && p->cps[j] < 0x80 &&
               ((p->cps[j] | 0x20) >= 'a' && (p->cps[j] | 0x20) <= 'z' ? 1
                : p->cps[j] >= '0' && p->cps[j] <= '9'                 ? (digit = 1)
                                                                       : 0))
            j++;
        if (j == i) {
            i++;
            continue;
        }
        if (digit && j - i >= CODE_MIN)
            for (size_t k = i + 2; k + 2 <= j; k++)
                lb->code[k] = 1;
        i = j;
    }
}

ipf_status ipf_line_breaker_break_into(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                       size_t n, double max_width, const ipf_lb_opts *opts,
                                       ipf_broken *out)
{
    if (!out)
        return IPF_ERR_USAGE;
    out->nlines = 0;
    if (!lb || !opts || (n > 0 && (!cps || !adv)) || isnan(max_width) || max_width < 0 ||
        n > MAX_CPS)
        return IPF_ERR_USAGE;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(adv[i]) || adv[i] < 0)
            return IPF_ERR_USAGE;
    if (reserve(lb, n + 1) != 0)
        return IPF_ERR_NOMEM;
    para p = {lb, cps, adv, n, max_width, 0, out, *opts};
    /* x and w grow side by side; both exist even for an empty paragraph */
    size_t capx = out->cap_cps, capw = out->cap_cps;
    if (IPF_GROW(out->x, capx, n ? n : 1) < 0 || IPF_GROW(out->w, capw, n ? n : 1) < 0) {
        ipf_broken_free(out);
        return IPF_ERR_NOMEM;
    }
    out->cap_cps = capx;
    /* Points on no line are undefined, but the same input gives the same
     * bytes whatever the buffers held before. */
    memset(out->x, 0, (n ? n : 1) * sizeof *out->x);
    memset(out->w, 0, (n ? n : 1) * sizeof *out->w);
    if (!lb->cls)
        lb->cls = calloc(0x10000, sizeof *lb->cls);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c < 0x10000 && lb->cls) {
            if (!(lb->cls[c] & CLS_KNOWN))
                lb->cls[c] = classify(c) | CLS_KNOWN;
            lb->fl[i] = lb->cls[c] & ~CLS_KNOWN;
        } else {
            lb->fl[i] = classify(c);
        }
    }
    /* The ASCII solidus is a 分隔号 when it stands next to Chinese; inside a
     * URL or "and/or" it stays Latin and UAX #14 handles it. */
    for (size_t i = 0; i < n; i++)
        if (cps[i] == '/' &&
            ((i > 0 && (lb->fl[i - 1] & F_WIDE)) || (i + 1 < n && (lb->fl[i + 1] & F_WIDE))))
            lb->fl[i] |= F_NOSTART | F_SOLIDUS | F_PUNCT | F_NOSTRETCH;
    mark_units(&p);
    double em = p.em = em_of(&p);
    for (size_t i = 0; i < n; i++) {
        lb->half[i] = adv[i] / 2;
        if (!(lb->fl[i] & (F_CMP_R | F_CMP_L)) || !(em > 0) || adv[i] < 0.9 * em)
            continue;
        /* Where the caller knows the glyph's ink, only blank space goes: a
         * centred ？ gives up a third of an em, not half. */
        const double *blank = (lb->fl[i] & F_CMP_R) ? opts->blank_r : opts->blank_l;
        if (blank && blank[i] >= 0 && blank[i] < lb->half[i])
            lb->half[i] = blank[i];
        if (lb->half[i] >= 0.1 * em)
            lb->fl[i] |= F_CMP_OK;
    }
    /* Adjacent pairs: the blank that lies between the two marks goes, so
     * that each bracket stays against the text it encloses (。” trims 。,
     * ，“ trims “, ）（ trims （, 》《 trims 《).  A mark is trimmed by at
     * most one pair: an opening mark only as the second, a closing one only
     * as the first. */
    lb->pair[0] = PAIR_NONE;
    for (size_t i = 1; i < n; i++) {
        uint32_t a = lb->fl[i - 1], b = lb->fl[i];
        lb->pair[i] = !(a & F_CMP_OK) || !(b & F_CMP_OK) ? PAIR_NONE
                      : (b & F_CMP_L)                    ? PAIR_SECOND
                      : (a & F_CMP_R)                    ? PAIR_FIRST
                                                         : PAIR_NONE;
    }
    lb->pre[0] = lb->ap[0] = lb->ap[1] = lb->mpre[0] = 0;
    for (size_t i = 0; i < n; i++) {
        lb->pre[i + 1] = lb->pre[i] + adv[i];
        int paired =
            (lb->pair[i] == PAIR_SECOND && i > 0) || (i + 1 < n && lb->pair[i + 1] == PAIR_FIRST);
        lb->mpre[i + 1] = lb->mpre[i] + (paired ? 0 : mid_cap(&p, i));
        if (i >= 1) {
            double save = lb->pair[i] == PAIR_FIRST    ? lb->half[i - 1]
                          : lb->pair[i] == PAIR_SECOND ? lb->half[i]
                                                       : 0;
            lb->ap[i + 1] = lb->ap[i] + save;
        }
        lb->cut[i] = 0;
    }
    ipf_status st = find_opportunities(&p);
    if (st == IPF_OK && opts->marked_breaks) {
        int marked = 0;
        for (size_t i = 0; i < n && !marked; i++)
            marked = cps[i] == 0x200B;
        for (size_t i = 1; marked && i < n; i++)
            if (cps[i - 1] != 0x200B)
                lb->brk[i] = 0;
    }
    mark_codes(&p);
    if (st == IPF_OK)
        st = break_all(&p);
    if (st == IPF_OK && opts->balance && out->nlines > 1) {
        /* Even lines: the narrowest width that still gives as many lines. */
        size_t k = out->nlines;
        double lo = 0, hi = max_width;
        for (int it = 0; it < 30 && hi - lo > 0.01 && st == IPF_OK; it++) {
            p.max = (lo + hi) / 2;
            st = break_all(&p);
            if (out->nlines == k)
                hi = p.max;
            else
                lo = p.max;
        }
        p.max = hi;
        if (st == IPF_OK)
            st = break_all(&p);
    }
    if (st != IPF_OK)
        ipf_broken_free(out);
    return st;
}

ipf_status ipf_line_breaker_break_opts(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                       size_t n, double max_width, const ipf_lb_opts *opts,
                                       ipf_broken *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    return ipf_line_breaker_break_into(lb, cps, adv, n, max_width, opts, out);
}

ipf_status ipf_line_breaker_break(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                  size_t n, double max_width, int justify, ipf_broken *out)
{
    ipf_lb_opts o = {0};
    o.justify = justify;
    return ipf_line_breaker_break_opts(lb, cps, adv, n, max_width, &o, out);
}
