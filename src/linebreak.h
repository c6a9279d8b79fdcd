/* linebreak.h: Chinese line breaking by W3C clreq / GB/T 15834.
 *
 * Break opportunities come from ICU's UAX #14 iterator; the clreq tailoring
 * (which marks may not start or end a line, —— and …… never split, the
 * strictness level) is ours.  The choice of breaks uses the real advance
 * widths: compress punctuation first, then push characters to the next line
 * ("先挤进，后推出"); punctuation never hangs past the line end.  A run with no
 * opportunity at all (a long URL or digit run) is broken where it must be,
 * so nothing ever overflows.
 *
 * A breaker holds ICU state: one per thread, reused for every paragraph. */
#ifndef IPF_LINEBREAK_H
#define IPF_LINEBREAK_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

typedef enum ipf_lb_level {
    IPF_LB_NONE = 0, /* no prohibitions: any character boundary may break */
    IPF_LB_BASIC,    /* only the basic 禁则 (点号 and closing marks, opening marks) */
    IPF_LB_GB,       /* GB/T 15834 practice; the default */
    IPF_LB_STRICT    /* also the small and iteration marks, and the like */
} ipf_lb_level;

/* Parses "none" / "basic" / "GB" / "strict" (case-insensitive); -1 if unknown. */
int ipf_lb_level_parse(const char *s);
const char *ipf_lb_level_name(ipf_lb_level level);

typedef struct ipf_line_breaker ipf_line_breaker;

ipf_status ipf_line_breaker_new(ipf_lb_level level, ipf_line_breaker **out);
void ipf_line_breaker_free(ipf_line_breaker *lb);

/* One line of a broken paragraph: code points [start, end) of the input.
 * Spaces at a break are dropped (they belong to neither line). */
typedef struct ipf_line {
    size_t start, end;
    double width; /* width actually used, <= max_width unless one character alone is wider */
} ipf_line;

/* The result of breaking one paragraph.  Owner: the caller, through
 * ipf_broken_free(). */
typedef struct ipf_broken {
    ipf_line *lines;
    size_t nlines;
    /* x[i]: left edge of code point i within its line, in points, after
     * compression and justification (points not on any line: undefined).
     * A compressed opening mark keeps only the right part of its advance,
     * so its x is left of where its space begins by what it gave up. */
    double *x;
    /* w[i]: the drawn advance of code point i after compression (adv[i]
     * less what the mark gave up: half in a pair or at a line end, at most
     * 1/4 em for a lone mark in mid-line); adv[i] otherwise. */
    double *w;
    /* Room in lines and in x and w, for ipf_line_breaker_break_into(). */
    size_t cap_lines, cap_cps;
} ipf_broken;

/* Breaks cps[0..n) into lines no wider than max_width points.  adv[i] is the
 * natural advance of cps[i] in points.  U+000A in the input is a forced break.
 * When justify is non-zero, every line but the last (and lines ending in a
 * forced break) is justified to max_width by spreading the spare width over
 * the gaps between characters; gaps inside a Latin word or number, inside
 * —— and ……, and next to 连接号 and 分隔号 never grow, so a line with no
 * other gap (a piece of a long URL) stays short.  docs/line-breaking.md has
 * the rules. */
ipf_status ipf_line_breaker_break(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                  size_t n, double max_width, int justify, ipf_broken *out);

/* Options of one call.  Zero is the plain behaviour of
 * ipf_line_breaker_break(). */
typedef struct ipf_lb_opts {
    int justify;       /* as for ipf_line_breaker_break() */
    int no_lone_last;  /* a paragraph's last line never holds one character alone
                          when the line before can give it its last segment (孤字) */
    int balance;       /* lines as even as they can be: the paragraph is set at the
                          narrowest width that gives as many lines (labels) */
    int marked_breaks; /* if the text holds U+200B, break only after one (a
                          template's stated break points); a piece still too wide
                          is cut as any unbreakable run is */
    /* Optional, n entries each, in points: the blank space left and right of
     * each glyph's ink (negative: unknown).  A mark then gives up at most
     * the blank on its trimmed side, never ink; NULL: half its advance. */
    const double *blank_l, *blank_r;
} ipf_lb_opts;

ipf_status ipf_line_breaker_break_opts(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                       size_t n, double max_width, const ipf_lb_opts *opts,
                                       ipf_broken *out);
/* As ipf_line_breaker_break_opts(), but out is zeroed or holds an earlier
 * result, whose buffers are reused (grown when too small): a typesetter
 * breaking paragraph after paragraph allocates nothing once they are large
 * enough.  After IPF_ERR_USAGE out holds no lines but keeps its buffers;
 * after any other error it is freed.  Free it with ipf_broken_free() when
 * done. */
ipf_status ipf_line_breaker_break_into(ipf_line_breaker *lb, const uint32_t *cps, const double *adv,
                                       size_t n, double max_width, const ipf_lb_opts *opts,
                                       ipf_broken *out);
void ipf_broken_free(ipf_broken *b);

#endif
