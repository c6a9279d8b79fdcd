/* xpathfn.c: the ipf: XPath extension functions (contract: xpathfn.h). */
#include "xpathfn.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>

#include "utf8.h"

static double count_chars(const xmlChar *s)
{
    double n = 0;
    const char *p = (const char *)s;
    while (p && *p) {
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0) {
            p++;
            n++;
            continue;
        }
        if (!ipf_utf8_is_space(c))
            n++;
    }
    return n;
}

static ipf_xpathfn_env *env_of(xmlXPathParserContextPtr ctxt)
{
    return ctxt && ctxt->context ? ctxt->context->userData : NULL;
}

static void fn_chars(xmlXPathParserContextPtr ctxt, int nargs)
{
    double total = 0;
    if (nargs > 1) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    if (nargs == 0) {
        xmlChar *s = xmlXPathCastNodeToString(ctxt->context->node);
        total = count_chars(s);
        xmlFree(s);
    } else {
        xmlXPathObjectPtr o = valuePop(ctxt);
        if (!o) {
            XP_ERROR(XPATH_INVALID_OPERAND);
        }
        if (o->type == XPATH_NODESET || o->type == XPATH_XSLT_TREE) {
            for (int i = 0; o->nodesetval && i < o->nodesetval->nodeNr; i++) {
                xmlChar *s = xmlXPathCastNodeToString(o->nodesetval->nodeTab[i]);
                total += count_chars(s);
                xmlFree(s);
            }
        } else {
            xmlChar *s = xmlXPathCastToString(o);
            total = count_chars(s);
            xmlFree(s);
        }
        xmlXPathFreeObject(o);
    }
    valuePush(ctxt, xmlXPathNewFloat(total));
}

static void ignore_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

/* libxml2 prints a bad pattern's error on stderr unless a handler takes it;
 * the caller reports it in Chinese instead.  The handler is per thread
 * (libxml2 keeps it in thread-local storage) and is put back afterwards. */
xmlRegexpPtr ipf_regex_compile_quiet(const char *pattern)
{
    xmlStructuredErrorFunc prev = xmlStructuredError;
    void *prev_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(NULL, ignore_error);
    xmlRegexpPtr re = xmlRegexpCompile((const xmlChar *)pattern);
    xmlSetStructuredErrorFunc(prev_ctx, prev);
    return re;
}

static void fn_matches(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 2) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *pattern = xmlXPathPopString(ctxt);
    xmlChar *value = xmlXPathPopString(ctxt);
    if (ctxt->error || !pattern || !value) {
        xmlFree(pattern);
        xmlFree(value);
        return;
    }
    ipf_xpathfn_env *env = env_of(ctxt);
    int owned = 1;
    xmlRegexpPtr re = env && env->regex ? env->regex(env->ud, (const char *)pattern, &owned)
                                        : ipf_regex_compile_quiet((const char *)pattern);
    int ok = 0;
    if (!re) {
        if (env && !env->fnerr[0])
            snprintf(env->fnerr, sizeof env->fnerr,
                     "ipf:matches 的正则表达式“%s”无效（应为 XML Schema 正则表达式）",
                     (const char *)pattern);
        xmlFree(pattern);
        xmlFree(value);
        if (!env) {
            XP_ERROR(XPATH_INVALID_OPERAND); /* no env to explain it: an XPath error */
        }
        valuePush(ctxt, xmlXPathNewBoolean(0));
        return;
    }
    ok = xmlRegexpExec(re, value) == 1;
    if (owned)
        xmlRegFreeRegexp(re);
    xmlFree(pattern);
    xmlFree(value);
    valuePush(ctxt, xmlXPathNewBoolean(ok));
}

int ipf_date_parse(const char *s, long *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    int y, m, d;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return -1;
        } else if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
    }
    for (const char *t = s + 10; *t; t++)
        if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > days[m - 1] + (m == 2 && leap))
        return -1;
    *out = (long)y * 10000 + m * 100 + d;
    return 0;
}

static void fn_date_le(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 2) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *b = xmlXPathPopString(ctxt);
    xmlChar *a = xmlXPathPopString(ctxt);
    long da, db;
    int ok = a && b && ipf_date_parse((const char *)a, &da) == 0 &&
             ipf_date_parse((const char *)b, &db) == 0 && da <= db;
    xmlFree(a);
    xmlFree(b);
    if (ctxt->error)
        return;
    valuePush(ctxt, xmlXPathNewBoolean(ok));
}

/* Days since 0000-03-01 in the proleptic Gregorian calendar. */
static long day_number(long ymd)
{
    long y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    if (m < 3) {
        y--;
        m += 12;
    }
    return 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 1;
}

static void fn_days_between(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 2) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *b = xmlXPathPopString(ctxt);
    xmlChar *a = xmlXPathPopString(ctxt);
    long da, db;
    double v = NAN;
    if (a && b && ipf_date_parse((const char *)a, &da) == 0 &&
        ipf_date_parse((const char *)b, &db) == 0)
        v = (double)(day_number(db) - day_number(da));
    xmlFree(a);
    xmlFree(b);
    if (ctxt->error)
        return;
    valuePush(ctxt, xmlXPathNewFloat(v));
}

/* ipf:quote(x): the text of x, white space collapsed, between “ and ”, or
 * the empty string when there is no text.  Messages name a person or a
 * case this way without printing an empty “” for one not yet filled in.  A
 * long text is cut (with ……) inside the marks, so that the closing mark
 * survives the length limit on interpolated values. */
#define QUOTE_SHOWN 40
static void fn_quote(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 1) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *v = xmlXPathPopString(ctxt);
    if (ctxt->error || !v) {
        xmlFree(v);
        return;
    }
    char *text = ipf_utf8_excerpt((const char *)v, QUOTE_SHOWN);
    xmlFree(v);
    char *out = text ? malloc(strlen(text) + sizeof "“”") : NULL;
    if (!out) {
        free(text);
        XP_ERROR(XPATH_MEMORY_ERROR);
    }
    if (text[0])
        snprintf(out, strlen(text) + sizeof "“”", "“%s”", text);
    else
        out[0] = '\0';
    free(text);
    valuePush(ctxt, xmlXPathNewString((const xmlChar *)out));
    free(out);
}

/* ipf:format-number(x, picture): see xpathfn.h.  Only what forms print:
 * grouping, fixed and optional decimals, a minimum of integer digits. */
static void fn_format_number(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs < 1 || nargs > 2) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *pic = nargs == 2 ? xmlXPathPopString(ctxt) : NULL;
    double x = xmlXPathPopNumber(ctxt);
    if (ctxt->error) {
        xmlFree(pic);
        return;
    }
    const char *p = pic ? (const char *)pic : "0.######";
    int group = 0, min_int = 0, min_dec = 0, max_dec = 0, after = 0;
    for (; *p; p++) {
        if (*p == '.')
            after = 1;
        else if (*p == ',' && !after)
            group = 1;
        else if (*p == '0')
            after ? (min_dec++, max_dec++) : min_int++;
        else if (*p == '#' && after)
            max_dec++;
    }
    xmlFree(pic);
    if (max_dec > 12)
        max_dec = 12;
    if (min_dec > max_dec)
        min_dec = max_dec;
    if (min_int > 30)
        min_int = 30;
    if (isnan(x) || fabs(x) >= 1e21) {
        valuePush(ctxt, xmlXPathNewString((const xmlChar *)(isnan(x) ? "" : "∞")));
        return;
    }
    char digits[64];
    snprintf(digits, sizeof digits, "%.*f", max_dec, fabs(x));
    char *dot = strchr(digits, '.');
    size_t ilen = dot ? (size_t)(dot - digits) : strlen(digits);
    size_t dlen = dot ? strlen(dot + 1) : 0;
    while (dlen > (size_t)min_dec && dot[dlen] == '0')
        dlen--;
    int negative = x < 0;
    for (size_t i = 0; i < ilen && negative; i++)
        negative = digits[i] == '0' ? negative : 2;
    for (size_t i = 0; i < dlen && negative == 1; i++)
        negative = dot[1 + i] == '0' ? 1 : 2;
    char out[128];
    size_t n = 0;
    if (negative == 2)
        out[n++] = '-';
    const char *ip = digits;
    if (ilen == 1 && digits[0] == '0' && min_int == 0 && dlen > 0) {
        ilen = 0; /* .5 for '#.#', as XSLT; '0.#' keeps the zero */
    }
    size_t pad = (size_t)min_int > ilen ? (size_t)min_int - ilen : 0, total = pad + ilen;
    for (size_t i = 0; i < total; i++) {
        out[n++] = i < pad ? '0' : ip[i - pad];
        size_t left = total - i - 1;
        if (group && left > 0 && left % 3 == 0)
            out[n++] = ',';
    }
    if (dlen > 0) {
        out[n++] = '.';
        memcpy(out + n, dot + 1, dlen);
        n += dlen;
    }
    if (n == 0)
        out[n++] = '0';
    out[n] = '\0';
    valuePush(ctxt, xmlXPathNewString((const xmlChar *)out));
}

static int is_trim(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void fn_in_list(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs != 2) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *list = xmlXPathPopString(ctxt);
    xmlChar *value = xmlXPathPopString(ctxt);
    if (ctxt->error || !list || !value) {
        xmlFree(list);
        xmlFree(value);
        return;
    }
    const char *v = (const char *)value;
    while (is_trim(*v))
        v++;
    size_t vlen = strlen(v);
    while (vlen > 0 && is_trim(v[vlen - 1]))
        vlen--;
    int found = 0;
    for (const char *p = (const char *)list; !found;) {
        const char *bar = strchr(p, '|');
        const char *e = bar ? bar : p + strlen(p);
        const char *a = p;
        while (a < e && is_trim(*a))
            a++;
        const char *z = e;
        while (z > a && is_trim(z[-1]))
            z--;
        found = (size_t)(z - a) == vlen && strncmp(a, v, vlen) == 0 && vlen > 0;
        if (!bar)
            break;
        p = bar + 1;
    }
    xmlFree(list);
    xmlFree(value);
    valuePush(ctxt, xmlXPathNewBoolean(found));
}

/* ipf:filled(x): whether x (the string value of its first node, as
 * string() reads it, or of the context node) has a visible character.  A
 * field of ideographic spaces, NBSPs or zero-width characters prints blank,
 * so it is not filled (utf8.h: one notion of white space). */
static void fn_filled(xmlXPathParserContextPtr ctxt, int nargs)
{
    if (nargs > 1) {
        XP_ERROR(XPATH_INVALID_ARITY);
    }
    xmlChar *s =
        nargs == 0 ? xmlXPathCastNodeToString(ctxt->context->node) : xmlXPathPopString(ctxt);
    if (ctxt->error) {
        xmlFree(s);
        return;
    }
    int filled = ipf_utf8_is_filled((const char *)s);
    xmlFree(s);
    valuePush(ctxt, xmlXPathNewBoolean(filled));
}

static const struct {
    const char *name;
    xmlXPathFunction fn;
} functions[] = {
    {"chars", fn_chars},     {"matches", fn_matches},
    {"date-le", fn_date_le}, {"days-between", fn_days_between},
    {"quote", fn_quote},     {"format-number", fn_format_number},
    {"in-list", fn_in_list}, {"filled", fn_filled},
};
#define NFUNCTIONS (sizeof functions / sizeof functions[0])

int ipf_xpathfn_register(xmlXPathContextPtr ctx)
{
    int bad = xmlXPathRegisterNs(ctx, (const xmlChar *)"ipf", (const xmlChar *)IPF_FUNCTIONS_NS);
    for (size_t i = 0; i < NFUNCTIONS; i++)
        bad |= xmlXPathRegisterFuncNS(ctx, (const xmlChar *)functions[i].name,
                                      (const xmlChar *)IPF_FUNCTIONS_NS, functions[i].fn);
    return bad ? -1 : 0;
}

int ipf_xpathfn_exists(const char *name, size_t len)
{
    for (size_t i = 0; i < NFUNCTIONS; i++)
        if (strlen(functions[i].name) == len && strncmp(functions[i].name, name, len) == 0)
            return 1;
    return 0;
}

const char *ipf_xpathfn_list(void)
{
    return "ipf:chars()、ipf:matches()、ipf:date-le()、ipf:days-between()、ipf:quote()、"
           "ipf:format-number()、ipf:in-list() 和 ipf:filled()";
}

/* ---------- the names in an expression ---------- */

/* The URI of prefix: ipf is predeclared. */
static const char *ns_of(const ipf_xpath_names *L, const char *prefix, size_t len)
{
    const char *uri = L->namespace_uri ? L->namespace_uri(L->ud, prefix, len) : NULL;
    if (!uri && len == 3 && strncmp(prefix, "ipf", 3) == 0)
        return IPF_FUNCTIONS_NS;
    return uri;
}

static int is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_name_char(unsigned char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* clang-format off */
static const char *const core_functions[] = {
    "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string",
    "concat", "starts-with", "contains", "substring-before", "substring-after", "substring",
    "string-length", "normalize-space", "translate", "boolean", "not", "true", "false", "lang",
    "number", "sum", "floor", "ceiling", "round"};
/* clang-format on */

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
            return 1;
    return 0;
}

int ipf_xpath_check_names(const char *src, const ipf_xpath_names *L)
{
    const char *p = src;
    int operand_before = 0; /* XPath 3.7: whether a * or a name here is an operator */
    int after_attr = 0;     /* the last token was @ or attribute:: */
    int problems = 0;
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p++;
            continue;
        }
        if (c == '"' || c == '\'') {
            const char *e = strchr(p + 1, c);
            if (!e)
                return problems; /* the compiler reports it */
            p = e + 1;
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9')) {
            while ((*p >= '0' && *p <= '9') || *p == '.')
                p++;
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        if (c == '$') {
            const char *s = ++p;
            while (is_name_char((unsigned char)*p))
                p++;
            size_t len = (size_t)(p - s);
            if (*p == ':' && is_name_start((unsigned char)p[1])) {
                L->report(L->ud, IPF_NAMES_VAR_PREFIXED, s, len, NULL, 0);
                problems++;
                for (p++; is_name_char((unsigned char)*p);)
                    p++; /* the rest of the name is not a name test */
            } else if (L->has_variable && !L->has_variable(L->ud, s, len)) {
                L->report(L->ud, IPF_NAMES_VAR_UNKNOWN, s, len, NULL, 0);
                problems++;
            }
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        if (c == '@') {
            p++;
            operand_before = 0;
            after_attr = 1;
            continue;
        }
        if (c == '(' || c == '[' || c == ',') {
            p++;
            operand_before = 0;
            after_attr = 0;
            continue;
        }
        if (c == ')' || c == ']') {
            p++;
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        if (c == ':' && p[1] == ':') {
            p += 2;
            operand_before = 0;
            continue; /* after_attr stays as the axis name set it */
        }
        if (c == '.') {
            p += p[1] == '.' ? 2 : 1;
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        if (c == '*') {
            p++;
            operand_before = !operand_before; /* multiply, or a name test */
            after_attr = 0;
            continue;
        }
        if (is_name_start(c)) {
            const char *s = p;
            while (is_name_char((unsigned char)*p))
                p++;
            size_t len = (size_t)(p - s);
            if (operand_before) { /* and, or, div, mod */
                operand_before = 0;
                after_attr = 0;
                continue;
            }
            const char *prefix = NULL, *local = s;
            size_t plen = 0, llen = len;
            int star = 0;
            if (*p == ':' && p[1] != ':') {
                prefix = s;
                plen = len;
                if (p[1] == '*') {
                    star = 1;
                    p += 2;
                    local = NULL;
                    llen = 0;
                } else {
                    local = ++p;
                    while (is_name_char((unsigned char)*p))
                        p++;
                    llen = (size_t)(p - local);
                }
            }
            const char *q = p;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            if (!star && *q == '(') {
                static const char *const node_types[] = {"comment", "text",
                                                         "processing-instruction", "node"};
                if (!prefix && in_list(node_types, 4, local, llen)) {
                    /* a node type test */
                } else if (!prefix) {
                    if (!in_list(core_functions, sizeof core_functions / sizeof *core_functions,
                                 local, llen)) {
                        L->report(L->ud, IPF_NAMES_FUNCTION_UNKNOWN, local, llen, NULL, 0);
                        problems++;
                    }
                } else {
                    const char *uri = ns_of(L, prefix, plen);
                    if (!uri) {
                        L->report(L->ud, IPF_NAMES_FUNCTION_PREFIX, prefix, plen, local, llen);
                        problems++;
                    } else if (strcmp(uri, IPF_FUNCTIONS_NS) != 0 ||
                               !ipf_xpathfn_exists(local, llen)) {
                        L->report(L->ud, IPF_NAMES_EXTENSION_UNKNOWN, prefix, plen, local, llen);
                        problems++;
                    }
                }
                operand_before = 0; /* the ( follows */
                after_attr = 0;
                continue;
            }
            if (!star && q[0] == ':' && q[1] == ':') {
                after_attr = !prefix && llen == 9 && strncmp(local, "attribute", 9) == 0;
                operand_before = 0;
                continue;
            }
            /* a name test */
            if (prefix && !ns_of(L, prefix, plen)) {
                L->report(L->ud, IPF_NAMES_PREFIX_UNDECLARED, prefix, plen, NULL, 0);
                problems++;
            } else if (!prefix && !after_attr) {
                L->report(L->ud, IPF_NAMES_ELEMENT_UNPREFIXED, local, llen, NULL, 0);
                problems++;
            }
            operand_before = 1;
            after_attr = 0;
            continue;
        }
        /* operators: / // | + - = != < <= > >= */
        p++;
        if ((c == '!' || c == '<' || c == '>') && *p == '=')
            p++;
        else if (c == '/' && *p == '/')
            p++;
        operand_before = 0;
        after_attr = 0;
    }
    return problems;
}

static int doubled(const char *p)
{
    return (p[0] == '{' || p[0] == '}') && p[1] == p[0];
}

const char *ipf_interp_problem(ipf_interp_kind kind)
{
    switch (kind) {
    case IPF_INTERP_STRAY_CLOSE:
        return "有多余的“}”（花括号本身请写作 }}）";
    case IPF_INTERP_UNCLOSED:
        return "“{”没有对应的“}”（花括号本身请写作 {{）";
    case IPF_INTERP_EMPTY:
        return "有空的 {}";
    default:
        return NULL;
    }
}

ipf_interp_kind ipf_interp_next(const char **pos, ipf_interp_piece *piece)
{
    const char *p = *pos;
    piece->text = p;
    piece->len = 0;
    if (!*p)
        return piece->kind = IPF_INTERP_END;
    if (*p == '}' && !doubled(p))
        return piece->kind = IPF_INTERP_STRAY_CLOSE;
    if (*p == '{' && !doubled(p)) {
        const char *e = p + 1;
        char quote = 0;
        while (*e && (quote || *e != '}')) {
            if (quote && *e == quote)
                quote = 0;
            else if (!quote && (*e == '\'' || *e == '"'))
                quote = *e;
            e++;
        }
        if (!*e)
            return piece->kind = IPF_INTERP_UNCLOSED;
        piece->text = p + 1;
        piece->len = (size_t)(e - p - 1);
        *pos = e + 1;
        piece->kind = IPF_INTERP_EMPTY;
        for (const char *c = p + 1; c < e; c++)
            if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
                piece->kind = IPF_INTERP_EXPR;
        return piece->kind;
    }
    while (*p && ((*p != '{' && *p != '}') || doubled(p)))
        p += doubled(p) ? 2 : 1;
    piece->len = (size_t)(p - piece->text);
    *pos = p;
    return piece->kind = IPF_INTERP_LITERAL;
}

size_t ipf_interp_unescape(const char *s, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        out[w++] = s[i];
        if (i + 1 < n && doubled(s + i))
            i++;
    }
    out[w] = '\0';
    return w;
}
