/* xpathfn.h: the ipf: XPath extension functions, shared by rule files and
 * templates, so that what a rule checks and what a form prints are computed
 * alike.  Namespace urn:ipforms:functions, prefix ipf (predeclared):
 *   ipf:chars(node-set?)        characters excluding all white space (the
 *                               office's 字数; U+3000 counts as white space)
 *   ipf:matches(str, re)        XSD regular expression match of the whole string
 *   ipf:date-le(a, b)           ISO dates compared (a <= b); false when either
 *                               is not a valid YYYY-MM-DD
 *   ipf:days-between(a, b)      days from date a to date b (b - a), NaN when
 *                               either is not a valid YYYY-MM-DD
 *   ipf:quote(x)                “x” with white space collapsed, or '' when x
 *                               has no text (names in messages)
 *   ipf:format-number(x, pic?)  x as text: pic is like XSLT's, e.g. '#,##0.00'
 *                               (digits after the point: 0 always, # when
 *                               needed; a comma groups by three); default
 *                               '0.######'; '' for NaN
 *   ipf:in-list(x, list)        x (white space trimmed) is one of list's items,
 *                               separated by | (the form regex settings use)
 *
 * A context using them may set ctx->userData to an ipf_xpathfn_env (as the
 * first member of its own state) to get ipf:matches' complaints about a bad
 * pattern and a regular-expression cache; without one, patterns are compiled
 * per call and complaints become XPath errors. */
#ifndef IPF_XPATHFN_H
#define IPF_XPATHFN_H

#include <stddef.h>

#include <libxml/xmlregexp.h>
#include <libxml/xpath.h>

#define IPF_FUNCTIONS_NS "urn:ipforms:functions"

typedef struct ipf_xpathfn_env {
    /* A compiled pattern, or NULL if it does not compile; *owned: the
     * caller frees it.  NULL: compiled per call. */
    xmlRegexpPtr (*regex)(void *ud, const char *pattern, int *owned);
    void *ud;
    char fnerr[400]; /* the first complaint of a function since it was cleared */
} ipf_xpathfn_env;

/* Registers every function on ctx and binds prefix ipf.  0, or -1 when out
 * of memory. */
int ipf_xpathfn_register(xmlXPathContextPtr ctx);

/* Whether ipf:name exists (for load-time checks of expressions), and the
 * names for messages ("ipf:chars()、ipf:matches()…"). */
int ipf_xpathfn_exists(const char *name, size_t len);
const char *ipf_xpathfn_list(void);

/* A scan of an expression's tokens, before libxml2 sees it, for what XPath
 * accepts but can never mean in ipforms: every function must exist (XPath
 * 1.0's or an ipf: one), every prefix must be declared, every $variable
 * known (when has_variable is given), and an element name without a prefix
 * is refused (in XPath 1.0 it would never match the data, which is in a
 * namespace).  Each problem is reported through report(); returns their
 * number.  Syntax errors are left to the compiler. */
typedef enum ipf_names_problem {
    IPF_NAMES_VAR_PREFIXED,      /* a: the variable's name */
    IPF_NAMES_VAR_UNKNOWN,       /* a: the variable's name */
    IPF_NAMES_FUNCTION_UNKNOWN,  /* a: the function's name (no prefix) */
    IPF_NAMES_FUNCTION_PREFIX,   /* a: an undeclared prefix, b: the function */
    IPF_NAMES_EXTENSION_UNKNOWN, /* a: the prefix, b: the function */
    IPF_NAMES_PREFIX_UNDECLARED, /* a: the prefix of a name test */
    IPF_NAMES_ELEMENT_UNPREFIXED /* a: the element name */
} ipf_names_problem;

typedef struct ipf_xpath_names {
    /* the URI bound to prefix, or NULL (ipf is always bound) */
    const char *(*namespace_uri)(void *ud, const char *prefix, size_t len);
    /* whether $name exists; NULL: not checked */
    int (*has_variable)(void *ud, const char *name, size_t len);
    void (*report)(void *ud, ipf_names_problem what, const char *a, size_t alen, const char *b,
                   size_t blen);
    void *ud;
} ipf_xpath_names;

int ipf_xpath_check_names(const char *src, const ipf_xpath_names *names);

/* Text with {expression} parts: a template's text and attributes, a rule's
 * message.  {{ and }} stand for one brace; within the braces a brace may be
 * quoted ('}' or "}").  ipf_interp_next() returns the piece that begins at
 * *pos and moves *pos past it; what the expression means is the caller's.
 * A stray "}" or an unclosed "{" ends the scan (*pos is left at it). */
typedef enum ipf_interp_kind {
    IPF_INTERP_END,         /* no more text */
    IPF_INTERP_LITERAL,     /* text up to the next {expression} (braces still doubled) */
    IPF_INTERP_EXPR,        /* the expression between the braces */
    IPF_INTERP_EMPTY,       /* {} or a brace pair holding only white space */
    IPF_INTERP_STRAY_CLOSE, /* a "}" that closes nothing */
    IPF_INTERP_UNCLOSED     /* a "{" with no "}" */
} ipf_interp_kind;

typedef struct ipf_interp_piece {
    ipf_interp_kind kind;
    const char *text; /* LITERAL: the raw text; EXPR: the expression */
    size_t len;
} ipf_interp_piece;

ipf_interp_kind ipf_interp_next(const char **pos, ipf_interp_piece *piece);

/* What is wrong with a piece of kind EMPTY, STRAY_CLOSE or UNCLOSED, as the
 * rest of a sentence "…中<this>" naming the text (with how to write a brace
 * itself); NULL for the other kinds. */
const char *ipf_interp_problem(ipf_interp_kind kind);

/* A literal piece's n bytes at s into out (n + 1 bytes), {{ and }} as one
 * brace, NUL-terminated; returns the length written. */
size_t ipf_interp_unescape(const char *s, size_t n, char *out);

/* YYYY-MM-DD with a real month and day (white space around allowed):
 * 0 and the date as yyyymmdd, or -1. */
int ipf_date_parse(const char *s, long *ymd);

/* A regular expression compiled without libxml2 printing anything. */
xmlRegexpPtr ipf_regex_compile_quiet(const char *pattern);

#endif
