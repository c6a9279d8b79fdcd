/* collate.c: ICU collation with a tailoring file, and the order and groups
 * of a <repeat>'s rows. */
#include "collate.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>
#include <unicode/ucol.h>
#include <unicode/ustring.h>

#include "path.h"
#include "buf.h"
#include "xmldoc.h"

#define TAILORING_MAX (256u * 1024u)

/* A tailoring made only of "&X < Y < Z" chains (and [numericOrdering on])
 * is applied without rebuilding the locale's collation: building zh's pinyin
 * tailoring again with ucol_openRules costs about 0.4 s, which a list of any
 * length would pay.  Y is rewritten to X followed by U+FFFF (once for Y, twice
 * for Z …) before the sort key is made: U+FFFF has the highest primary weight
 * (CLDR root), so "X U+FFFF …" sorts after everything that starts with X and
 * before what follows X, which is where "&X < Y" puts Y.  Longest match wins,
 * as ICU's contractions do.  Any other rule takes the full ICU path. */
typedef struct rewrite {
    char *from, *to; /* UTF-8; to = anchor + n × U+FFFF */
} rewrite;

struct ipf_collator {
    UCollator *uc;
    rewrite *rw;
    size_t nrw;
};

static int rule_char(char ch)
{
    return ch && !strchr(" \t\r\n&<=[]'\\,;@!#|/", ch);
}

/* Parses the simple form into c->rw; -1 when the rules need full ICU. */
static int parse_simple(const char *rules, ipf_collator *c, int *numeric)
{
    const char *p = rules;
    size_t cap = 0;
    *numeric = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            return 0;
        if (strncmp(p, "[numericOrdering on]", 20) == 0) {
            *numeric = 1;
            p += 20;
            continue;
        }
        if (*p != '&')
            return -1;
        p++;
        const char *a = p;
        while (rule_char(*p))
            p++;
        size_t alen = (size_t)(p - a);
        if (!alen)
            return -1;
        int level = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != '<' || p[1] == '<')
                break;
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            const char *y = p;
            while (rule_char(*p))
                p++;
            if (p == y)
                return -1;
            level++;
            if (IPF_GROW(c->rw, cap, c->nrw + 1) < 0)
                return -1;
            rewrite *r = &c->rw[c->nrw];
            r->from = strndup(y, (size_t)(p - y));
            r->to = malloc(alen + 3 * (size_t)level + 1);
            if (!r->from || !r->to) {
                free(r->from);
                free(r->to);
                return -1;
            }
            c->nrw++;
            memcpy(r->to, a, alen);
            for (int k = 0; k < level; k++)
                memcpy(r->to + alen + 3 * (size_t)k, "\xEF\xBF\xBF", 3);
            r->to[alen + 3 * (size_t)level] = '\0';
        }
        if (*p && *p != '\n' && *p != '\r' && *p != '&')
            return -1;
    }
}

static void free_rewrites(ipf_collator *c)
{
    for (size_t i = 0; i < c->nrw; i++) {
        free(c->rw[i].from);
        free(c->rw[i].to);
    }
    free(c->rw);
    c->rw = NULL;
    c->nrw = 0;
}

/* s with every tailored string replaced by its anchor form (malloc'd). */
static char *rewritten(const ipf_collator *c, const char *s)
{
    ipf_buf out = {0};
    for (const char *p = s; !out.oom && *p;) {
        const rewrite *best = NULL;
        size_t bl = 0;
        for (size_t i = 0; i < c->nrw; i++) {
            if (c->rw[i].from[0] != *p)
                continue;
            size_t l = strlen(c->rw[i].from);
            if (l > bl && strncmp(p, c->rw[i].from, l) == 0) {
                best = &c->rw[i];
                bl = l;
            }
        }
        if (best)
            ipf_buf_str(&out, best->to);
        else
            ipf_buf_put(&out, p, 1);
        p += best ? bl : 1;
    }
    return ipf_buf_take(&out);
}

static UChar *to_utf16(const char *s, int32_t *len)
{
    UErrorCode ec = U_ZERO_ERROR;
    int32_t n = 0;
    u_strFromUTF8Lenient(NULL, 0, &n, s, -1, &ec);
    ec = U_ZERO_ERROR;
    UChar *u = malloc(((size_t)n + 1) * sizeof *u);
    if (!u)
        return NULL;
    u_strFromUTF8Lenient(u, n + 1, len, s, -1, &ec);
    if (U_FAILURE(ec)) {
        free(u);
        return NULL;
    }
    return u;
}

/* The tailoring file without its comment lines (# first), as UTF-16. */
static ipf_status read_tailoring(const char *path, ipf_diags *d, UChar **out, int32_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "COLLATION-FILE",
                     "无法读取模板指定的排序规则文件（%s）", strerror(errno));
        return IPF_ERR_TEMPLATE;
    }
    char *buf = malloc(TAILORING_MAX + 1);
    size_t n = buf ? fread(buf, 1, TAILORING_MAX + 1, f) : 0;
    fclose(f);
    if (!buf)
        return IPF_ERR_NOMEM;
    if (n > TAILORING_MAX) {
        free(buf);
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "COLLATION-FILE", "排序规则文件超过 256 KiB");
        return IPF_ERR_TEMPLATE;
    }
    buf[n] = '\0';
    /* Comment lines become empty lines, so ICU's error offsets keep their line. */
    int bol = 1, comment = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            bol = 1;
            comment = 0;
            continue;
        }
        if (bol && buf[i] == '#')
            comment = 1;
        if (buf[i] != ' ' && buf[i] != '\t')
            bol = 0;
        if (comment)
            buf[i] = ' ';
    }
    *out = to_utf16(buf, len);
    free(buf);
    if (!*out) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "COLLATION-FILE", "排序规则文件不是 UTF-8 文本");
        return IPF_ERR_TEMPLATE;
    }
    return IPF_OK;
}

ipf_status ipf_collator_open(const char *locale, const char *tailoring_path, ipf_diags *d,
                             ipf_collator **out)
{
    *out = NULL;
    UErrorCode ec = U_ZERO_ERROR;
    UCollator *base = ucol_open(locale, &ec);
    if (U_FAILURE(ec)) {
        ipf_diag_add(d, tailoring_path ? tailoring_path : locale, 0, IPF_SEV_ERROR,
                     "COLLATION-LOCALE", "ICU 没有“%s”的排序规则", locale);
        return IPF_ERR_TEMPLATE;
    }
    UCollator *uc = base;
    ipf_collator *c = calloc(1, sizeof *c);
    if (!c) {
        ucol_close(base);
        return IPF_ERR_NOMEM;
    }
    if (tailoring_path) {
        UChar *extra;
        int32_t elen;
        ipf_status st = read_tailoring(tailoring_path, d, &extra, &elen);
        if (st != IPF_OK) {
            ucol_close(base);
            free(c);
            return st;
        }
        char *u8 = malloc((size_t)elen * 3 + 1);
        int numeric = 0;
        if (u8) {
            UErrorCode e8 = U_ZERO_ERROR;
            u_strToUTF8(u8, elen * 3 + 1, NULL, extra, elen, &e8);
            if (U_FAILURE(e8) || parse_simple(u8, c, &numeric) < 0)
                free_rewrites(c);
            else
                elen = -1; /* done: no ICU rebuild */
        }
        free(u8);
        if (elen < 0) {
            free(extra);
            if (numeric) {
                UErrorCode ea = U_ZERO_ERROR;
                ucol_setAttribute(base, UCOL_NUMERIC_COLLATION, UCOL_ON, &ea);
            }
            c->uc = base;
            *out = c;
            return IPF_OK;
        }
        /* The locale's own tailoring (pinyin for zh) first, ours after it:
         * later rules win, so a corrected reading overrides ICU's. */
        int32_t blen = 0;
        const UChar *brules = ucol_getRules(base, &blen);
        UChar *rules = malloc(((size_t)blen + (size_t)elen + 2) * sizeof *rules);
        if (!rules) {
            free(extra);
            ucol_close(base);
            free(c);
            return IPF_ERR_NOMEM;
        }
        memcpy(rules, brules, (size_t)blen * sizeof *rules);
        rules[blen] = '\n';
        memcpy(rules + blen + 1, extra, (size_t)elen * sizeof *rules);
        int32_t rlen = blen + 1 + elen;
        UParseError pe;
        ec = U_ZERO_ERROR;
        uc = ucol_openRules(rules, rlen, UCOL_DEFAULT, UCOL_DEFAULT_STRENGTH, &pe, &ec);
        free(rules);
        if (U_FAILURE(ec)) {
            /* pe.line counts rules, not lines; find the file line of the offset. */
            long line = 1;
            int32_t at = pe.offset - blen - 1;
            for (int32_t i = 0; i < at && i < elen; i++)
                if (extra[i] == '\n')
                    line++;
            ipf_diag_add(d, tailoring_path, at >= 0 ? line : 0, IPF_SEV_ERROR, "COLLATION-RULES",
                         "排序规则有误（ICU：%s）；规则写法见 ICU 文档“Collation Customization”，"
                         "如 &夏 < 厦",
                         u_errorName(ec));
            free(extra);
            ucol_close(base);
            free(c);
            return IPF_ERR_TEMPLATE;
        }
        free(extra);
        ucol_close(base);
    }
    c->uc = uc;
    *out = c;
    return IPF_OK;
}

void ipf_collator_free(ipf_collator *c)
{
    if (!c)
        return;
    ucol_close(c->uc);
    free_rewrites(c);
    free(c);
}

static uint8_t *sort_key(const ipf_collator *c, const char *s, size_t *len);

int ipf_collate(const ipf_collator *c, const char *a, const char *b)
{
    if (c->nrw) {
        size_t la, lb;
        uint8_t *ka = sort_key(c, a, &la), *kb = sort_key(c, b, &lb);
        int r = ka && kb ? memcmp(ka, kb, la < lb ? la : lb) : strcmp(a, b);
        if (ka && kb && r == 0 && la != lb)
            r = la < lb ? -1 : 1;
        free(ka);
        free(kb);
        return r < 0 ? -1 : r > 0;
    }
    UErrorCode ec = U_ZERO_ERROR;
    UCollationResult r = ucol_strcollUTF8(c->uc, a, -1, b, -1, &ec);
    if (U_FAILURE(ec))
        return strcmp(a, b);
    return r == UCOL_LESS ? -1 : r == UCOL_GREATER ? 1 : 0;
}

/* A sort key: bytes comparable with memcmp (ICU's sort key, or the UTF-8
 * itself, whose byte order is code point order). */
static uint8_t *sort_key(const ipf_collator *c, const char *s, size_t *len)
{
    if (!c) {
        *len = strlen(s);
        uint8_t *k = malloc(*len + 1);
        if (k)
            memcpy(k, s, *len + 1);
        return k;
    }
    /* Tailored: the rewritten string's key, then the original's, so that
     * strings the rewriting makes equal are still told apart. */
    char *rw = c->nrw ? rewritten(c, s) : NULL;
    if (c->nrw && !rw)
        return NULL;
    if (rw && strcmp(rw, s) == 0) { /* nothing tailored: the key alone */
        free(rw);
        rw = NULL;
    }
    const char *parts[2] = {rw ? rw : s, rw ? s : NULL};
    uint8_t *k = NULL;
    size_t n = 0;
    for (int i = 0; i < 2 && parts[i]; i++) {
        int32_t ulen = 0;
        UChar *u = to_utf16(parts[i], &ulen);
        if (!u) {
            free(k);
            free(rw);
            return NULL;
        }
        int32_t m = ucol_getSortKey(c->uc, u, ulen, NULL, 0);
        uint8_t *k2 = realloc(k, n + (size_t)m + 1);
        if (!k2) {
            free(u);
            free(k);
            free(rw);
            return NULL;
        }
        k = k2;
        ucol_getSortKey(c->uc, u, ulen, k + n, m);
        n += (size_t)m;
        free(u);
    }
    free(rw);
    *len = n;
    return k;
}

/* ------------------------------------------------------------ sorter */

typedef struct coll_slot {
    char *locale, *tailoring;
    ipf_collator *c;
} coll_slot;

struct ipf_sorter {
    coll_slot slots[8];
    size_t nslots;
};

ipf_status ipf_sorter_new(ipf_sorter **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? IPF_OK : IPF_ERR_NOMEM;
}

void ipf_sorter_free(ipf_sorter *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nslots; i++) {
        free(s->slots[i].locale);
        free(s->slots[i].tailoring);
        ipf_collator_free(s->slots[i].c);
    }
    free(s);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static ipf_status get_collator(ipf_sorter *s, const char *locale, const char *tailoring,
                               ipf_diags *d, const ipf_collator **out)
{
    for (size_t i = 0; i < s->nslots; i++)
        if (same(s->slots[i].locale, locale) && same(s->slots[i].tailoring, tailoring)) {
            *out = s->slots[i].c;
            return s->slots[i].c ? IPF_OK : IPF_ERR_TEMPLATE;
        }
    ipf_collator *c = NULL;
    ipf_status st = ipf_collator_open(locale, tailoring, d, &c);
    if (st == IPF_ERR_NOMEM)
        return st;
    if (s->nslots < sizeof s->slots / sizeof s->slots[0]) {
        coll_slot *sl = &s->slots[s->nslots++];
        sl->locale = strdup(locale);
        sl->tailoring = tailoring ? strdup(tailoring) : NULL;
        sl->c = c; /* NULL after a failure: reported once, not per document */
    } else {
        ipf_collator_free(c);
        c = NULL;
        st = st == IPF_OK ? IPF_ERR_TEMPLATE : st;
    }
    *out = c;
    return st;
}

static const char *attr(const xmlNode *n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (!a->ns && strcmp((const char *)a->name, name) == 0 && a->children)
            return (const char *)a->children->content;
    return NULL;
}

/* The tailoring path resolved against the file the <repeat> stands in. */
static char *resolve(const xmlNode *n, const char *rel)
{
    if (!n->doc || !n->doc->URL)
        return strdup(rel);
    return ipf_path_beside((const char *)n->doc->URL, rel);
}

typedef struct key {
    double num;
    uint8_t *bytes; /* NULL: numeric */
    size_t len;
} key;

typedef struct sort_ctx {
    key *keys; /* n * nkeys */
    size_t nkeys;
} sort_ctx;

static int cmp_rows(const sort_ctx *c, size_t a, size_t b)
{
    for (size_t k = 0; k < c->nkeys; k++) {
        const key *x = &c->keys[a * c->nkeys + k], *y = &c->keys[b * c->nkeys + k];
        if (!x->bytes && !y->bytes) {
            int xn = isnan(x->num), yn = isnan(y->num);
            if (xn != yn)
                return xn - yn;
            if (!xn && x->num != y->num)
                return x->num < y->num ? -1 : 1;
            continue;
        }
        if (!x->bytes || !y->bytes)
            return x->bytes ? 1 : -1; /* numbers before text when a key mixes them */
        size_t m = x->len < y->len ? x->len : y->len;
        int r = memcmp(x->bytes, y->bytes, m);
        if (r)
            return r;
        if (x->len != y->len)
            return x->len < y->len ? -1 : 1;
    }
    return 0;
}

/* Stable merge sort of indices (qsort is not stable, qsort_r not portable). */
static void merge_sort(const sort_ctx *c, size_t *ix, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(c, ix, tmp, h);
    merge_sort(c, ix + h, tmp, n - h);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        tmp[o++] = cmp_rows(c, ix[j], ix[i]) < 0 ? ix[j++] : ix[i++];
    while (i < h)
        tmp[o++] = ix[i++];
    while (j < n)
        tmp[o++] = ix[j++];
    memcpy(ix, tmp, n * sizeof *ix);
}

static void template_error(ipf_diags *d, const xmlNode *rep, const char *what, const char *expr)
{
    ipf_diag_add(d, rep->doc && rep->doc->URL ? (const char *)rep->doc->URL : "template",
                 ipf_xml_line(rep), IPF_SEV_ERROR, "TEMPLATE-XPATH",
                 "<repeat> 的 %s=\"%s\" 无法编译或求值，行无法排序或分组", what, expr);
}

static xmlXPathObjectPtr eval_on(xmlXPathCompExprPtr c, xmlXPathContextPtr xp, xmlNodePtr n)
{
    xp->node = n;
    return xmlXPathCompiledEval(c, xp);
}

static ipf_status order(ipf_sorter *s, const xmlNode *rep, const char *spec, xmlXPathContextPtr xp,
                        ipf_diags *d, ipf_rows *r)
{
    const char *loc = attr(rep, "collation"), *tl = attr(rep, "tailoring");
    const ipf_collator *coll = NULL;
    ipf_status st = IPF_OK;
    if (loc) {
        char *tp = tl ? resolve(rep, tl) : NULL;
        if (tl && !tp)
            return IPF_ERR_NOMEM;
        st = get_collator(s, loc, tp, d, &coll);
        free(tp);
        if (st != IPF_OK)
            return st;
    }
    xmlXPathCompExprPtr comp[8];
    size_t nk = 0;
    char *copy = strdup(spec);
    if (!copy)
        return IPF_ERR_NOMEM;
    for (char *save = NULL, *k = strtok_r(copy, ";", &save); k; k = strtok_r(NULL, ";", &save)) {
        while (*k == ' ')
            k++;
        if (!*k)
            continue;
        if (nk == 8 || !(comp[nk] = xmlXPathCtxtCompile(xp, (const xmlChar *)k))) {
            template_error(d, rep, "sort", k);
            st = IPF_ERR_TEMPLATE;
            break;
        }
        nk++;
    }
    sort_ctx c = {NULL, nk};
    size_t *ix = NULL, *tmp = NULL;
    if (st == IPF_OK && nk > 0 && r->n > 1) {
        c.keys = calloc(r->n * nk, sizeof *c.keys);
        ix = malloc(r->n * sizeof *ix);
        tmp = malloc(r->n * sizeof *tmp);
        if (!c.keys || !ix || !tmp)
            st = IPF_ERR_NOMEM;
        for (size_t i = 0; i < r->n && st == IPF_OK; i++) {
            ix[i] = i;
            for (size_t k = 0; k < nk && st == IPF_OK; k++) {
                key *ky = &c.keys[i * nk + k];
                xmlXPathObjectPtr o = eval_on(comp[k], xp, r->nodes[i]);
                if (!o) {
                    template_error(d, rep, "sort", spec);
                    st = IPF_ERR_TEMPLATE;
                } else if (o->type == XPATH_NUMBER) {
                    ky->num = o->floatval;
                } else {
                    xmlChar *v = xmlXPathCastToString(o);
                    ky->bytes = v ? sort_key(coll, (const char *)v, &ky->len) : NULL;
                    if (!ky->bytes)
                        st = IPF_ERR_NOMEM;
                    xmlFree(v);
                }
                xmlXPathFreeObject(o);
            }
        }
        if (st == IPF_OK) {
            merge_sort(&c, ix, tmp, r->n);
            xmlNodePtr *sorted = malloc(r->n * sizeof *sorted);
            if (!sorted) {
                st = IPF_ERR_NOMEM;
            } else {
                for (size_t i = 0; i < r->n; i++)
                    sorted[i] = r->nodes[ix[i]];
                free(r->nodes);
                r->nodes = sorted;
            }
        }
    }
    if (c.keys)
        for (size_t i = 0; i < r->n * nk; i++)
            free(c.keys[i].bytes);
    free(c.keys);
    free(ix);
    free(tmp);
    for (size_t k = 0; k < nk; k++)
        xmlXPathFreeCompExpr(comp[k]);
    free(copy);
    return st;
}

static ipf_status groups(const xmlNode *rep, const char *expr, xmlXPathContextPtr xp, ipf_diags *d,
                         ipf_rows *r)
{
    xmlXPathCompExprPtr c = xmlXPathCtxtCompile(xp, (const xmlChar *)expr);
    if (!c) {
        template_error(d, rep, "group-by", expr);
        return IPF_ERR_TEMPLATE;
    }
    ipf_status st = IPF_OK;
    xmlChar *prev = NULL;
    r->ngroups = 0;
    for (size_t i = 0; i < r->n && st == IPF_OK; i++) {
        xmlXPathObjectPtr o = eval_on(c, xp, r->nodes[i]);
        xmlChar *v = o ? xmlXPathCastToString(o) : NULL;
        xmlXPathFreeObject(o);
        if (!o) {
            template_error(d, rep, "group-by", expr);
            st = IPF_ERR_TEMPLATE;
        } else if (!v) {
            st = IPF_ERR_NOMEM;
        } else if (!prev || strcmp((const char *)prev, (const char *)v) != 0) {
            r->group_start[r->ngroups++] = i;
            xmlFree(prev);
            prev = v;
            continue;
        }
        xmlFree(v);
    }
    xmlFree(prev);
    xmlXPathFreeCompExpr(c);
    return st;
}

ipf_status ipf_rows_order(ipf_sorter *s, const xmlNode *repeat, xmlNodeSetPtr set,
                          xmlXPathContextPtr xp, ipf_diags *d, ipf_rows *out)
{
    memset(out, 0, sizeof *out);
    size_t n = set ? (size_t)set->nodeNr : 0;
    out->nodes = malloc((n ? n : 1) * sizeof *out->nodes);
    out->group_start = malloc((n ? n : 1) * sizeof *out->group_start);
    if (!out->nodes || !out->group_start) {
        ipf_rows_free(out);
        return IPF_ERR_NOMEM;
    }
    if (n)
        memcpy(out->nodes, set->nodeTab, n * sizeof *out->nodes);
    out->n = n;
    out->group_start[0] = 0;
    out->ngroups = n ? 1 : 0;
    xmlNodePtr saved = xp->node;
    ipf_status st = IPF_OK;
    const char *spec = attr(repeat, "sort"), *gb = attr(repeat, "group-by");
    if (spec)
        st = order(s, repeat, spec, xp, d, out);
    if (st == IPF_OK && gb)
        st = groups(repeat, gb, xp, d, out);
    xp->node = saved;
    if (st != IPF_OK)
        ipf_rows_free(out);
    return st;
}

void ipf_rows_free(ipf_rows *r)
{
    free(r->nodes);
    free(r->group_start);
    memset(r, 0, sizeof *r);
}
