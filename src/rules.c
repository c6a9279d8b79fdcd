/* rules.c: a jurisdiction's rules, as data (format: docs/rules.md).
 *
 * Loading checks the rule file against templates/schema/rules.xsd (found
 * beside the templates: <rules dir>/../schema/rules.xsd), then every XPath
 * expression three ways, each problem named with the rule file and line:
 *   - by a scan of its tokens: every function must exist, every namespace
 *     prefix must be declared, every $variable must be a <setting>, and an
 *     element name without a prefix is refused (in XPath 1.0 it would never
 *     match the data, which is in a namespace);
 *   - by libxml2's compiler (syntax);
 *   - by one evaluation against an empty document (argument counts and types,
 *     regular expressions given to ipf:matches).
 *
 * Checking: every expression is compiled once per concurrent caller.  libxml2
 * writes into a compiled expression while evaluating it (it caches function
 * lookups), so a set of compiled expressions is used by one thread at a time:
 * sets are kept in a pool and a new one is compiled only when all are busy.
 * Each check uses a fresh xmlXPathContext with the namespaces, the extension
 * functions and the settings as variables. */
#include "rules.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlregexp.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "path.h"
#include "schema.h"
#include "buf.h"
#include "utf8.h"
#include "xmldoc.h"
#include "xpathfn.h"

#define RULES_NS       "urn:ipforms:rules:1"
#define FUNCTIONS_NS   IPF_FUNCTIONS_NS
#define DEFAULT_CLAUSE "（依据{clause}）"
#define VALUE_SHOWN    60 /* characters of an interpolated value */
#define REGEX_CACHE    32

/* ---------- the rule set ---------- */

typedef struct nsdecl {
    char *prefix, *uri;
} nsdecl;

typedef struct setting {
    char *name, *value;
    char *type;       /* as written, or NULL (text) */
    const char *file; /* where it was (last) set */
    long line;
} setting;

typedef struct source {
    char *id, *title;
} source;

typedef struct part {
    char *text; /* literal text, or NULL for an expression */
    int expr;   /* index into the expression table */
} part;

typedef struct rule {
    char *code;
    ipf_severity sev;
    const char *file; /* one of the ruleset's files */
    long line;
    char *suffix; /* the cited clauses, formatted */
    /* What the suffix is made of, kept so that a <source> retitled by an
     * including file also retitles the clauses of the included rules. */
    char **cite_src, **cite_text; /* per <clause>: source id (or NULL), text */
    size_t ncites, capsrc, captext;
    char *clause_format;
    int context, assert_, locate; /* expression indices; locate -1 when absent */
    part *parts;
    size_t nparts;
} rule;

typedef struct expr {
    char *src;
    const char *file; /* one of the ruleset's files */
    long line;
} expr;

typedef struct regex_entry {
    char *pattern;
    xmlRegexpPtr re;
} regex_entry;

/* One thread's compiled expressions and regular expressions. */
typedef struct evalset {
    xmlXPathCompExprPtr *comp;
    regex_entry regex[REGEX_CACHE];
    int nregex;
    struct evalset *next;
} evalset;

#define MAX_RULE_FILES    16 /* a file and what it includes, transitively */
#define MAX_INCLUDE_DEPTH 8

struct ipf_ruleset {
    char *path;
    char *files[MAX_RULE_FILES]; /* files[0] is path's copy; then the included */
    int nfiles;
    nsdecl *ns;
    size_t nns, capns;
    setting *settings;
    size_t nsettings, capsettings;
    source *sources;
    size_t nsources, capsources;
    rule *rules;
    size_t nrules, caprules;
    expr *exprs;
    size_t nexprs, capexprs;
    pthread_mutex_t lock;
    evalset *pool;
};

static void free_evalset(evalset *es, size_t nexprs)
{
    if (!es)
        return;
    for (size_t i = 0; es->comp && i < nexprs; i++)
        if (es->comp[i])
            xmlXPathFreeCompExpr(es->comp[i]);
    free(es->comp);
    for (int i = 0; i < es->nregex; i++) {
        free(es->regex[i].pattern);
        xmlRegFreeRegexp(es->regex[i].re);
    }
    free(es);
}

static void free_cites(rule *r)
{
    for (size_t k = 0; k < r->ncites; k++) {
        free(r->cite_src[k]);
        free(r->cite_text[k]);
    }
    free(r->cite_src);
    free(r->cite_text);
    free(r->clause_format);
    r->cite_src = r->cite_text = NULL;
    r->ncites = r->capsrc = r->captext = 0;
    r->clause_format = NULL;
}

static void free_rule(rule *r)
{
    free_cites(r);
    free(r->code);
    free(r->suffix);
    for (size_t k = 0; k < r->nparts; k++)
        free(r->parts[k].text);
    free(r->parts);
}

void ipf_ruleset_free(ipf_ruleset *rs)
{
    if (!rs)
        return;
    for (evalset *es = rs->pool, *next; es; es = next) {
        next = es->next;
        free_evalset(es, rs->nexprs);
    }
    pthread_mutex_destroy(&rs->lock);
    for (size_t i = 0; i < rs->nns; i++) {
        free(rs->ns[i].prefix);
        free(rs->ns[i].uri);
    }
    for (size_t i = 0; i < rs->nsettings; i++) {
        free(rs->settings[i].name);
        free(rs->settings[i].value);
        free(rs->settings[i].type);
    }
    for (size_t i = 0; i < rs->nsources; i++) {
        free(rs->sources[i].id);
        free(rs->sources[i].title);
    }
    for (size_t i = 0; i < rs->nrules; i++)
        free_rule(&rs->rules[i]);
    for (size_t i = 0; i < rs->nexprs; i++)
        free(rs->exprs[i].src);
    free(rs->ns);
    free(rs->settings);
    free(rs->sources);
    free(rs->rules);
    free(rs->exprs);
    for (int i = 0; i < rs->nfiles; i++)
        free(rs->files[i]);
    free(rs->path);
    free(rs);
}

size_t ipf_ruleset_count(const ipf_ruleset *rs)
{
    return rs ? rs->nrules : 0;
}

const char *ipf_ruleset_setting(const ipf_ruleset *rs, const char *name)
{
    for (size_t i = 0; rs && name && i < rs->nsettings; i++)
        if (strcmp(rs->settings[i].name, name) == 0)
            return rs->settings[i].value;
    return NULL;
}

size_t ipf_ruleset_setting_count(const ipf_ruleset *rs)
{
    return rs ? rs->nsettings : 0;
}
const char *ipf_ruleset_setting_name(const ipf_ruleset *rs, size_t i)
{
    return rs && i < rs->nsettings ? rs->settings[i].name : NULL;
}
const char *ipf_ruleset_setting_value(const ipf_ruleset *rs, size_t i)
{
    return rs && i < rs->nsettings ? rs->settings[i].value : NULL;
}

static const char *ns_uri(const ipf_ruleset *rs, const char *prefix, size_t len)
{
    for (size_t i = rs->nns; i-- > 0;)
        if (strlen(rs->ns[i].prefix) == len && strncmp(rs->ns[i].prefix, prefix, len) == 0)
            return rs->ns[i].uri;
    if (len == 3 && strncmp(prefix, "ipf", 3) == 0)
        return FUNCTIONS_NS;
    return NULL;
}

/* ---------- extension functions (xpathfn.c) ---------- */

typedef struct evalstate {
    ipf_xpathfn_env env; /* first: the functions find it as userData */
    const ipf_ruleset *rs;
    evalset *es;
    char err[400]; /* the first XPath error of the current evaluation */
    int over;      /* the XPath budget ran out */
    int nomem;     /* an allocation failed (XPATH_MEMORY_ERROR) */
} evalstate;

/* ipf:matches' patterns, compiled once per evaluation set. */
static xmlRegexpPtr regex_for(void *ud, const char *pattern, int *owned)
{
    evalstate *st = ud;
    *owned = 0;
    evalset *es = st ? st->es : NULL;
    for (int i = 0; es && i < es->nregex; i++)
        if (strcmp(es->regex[i].pattern, pattern) == 0)
            return es->regex[i].re;
    xmlRegexpPtr re = ipf_regex_compile_quiet(pattern);
    if (!re)
        return NULL;
    if (es && es->nregex < REGEX_CACHE) {
        char *p = strdup(pattern);
        if (p) {
            es->regex[es->nregex].pattern = p;
            es->regex[es->nregex].re = re;
            es->nregex++;
            return re;
        }
    }
    *owned = 1;
    return re;
}

/* ---------- evaluation contexts ---------- */

static void on_xpath_error(void *data, xmlErrorPtr e)
{
    evalstate *st = data;
    if (st && e && e->code == XML_XPATH_EXPRESSION_OK + XPATH_OP_LIMIT_EXCEEDED)
        st->over = 1;
    if (st && e && e->code == XML_XPATH_EXPRESSION_OK + XPATH_MEMORY_ERROR)
        st->nomem = 1;
    if (!st || !e || st->err[0])
        return;
    snprintf(st->err, sizeof st->err, "%s", e->message ? e->message : "XPath error");
    for (char *c = st->err; *c; c++)
        if (*c == '\n')
            *c = ' ';
    size_t n = strlen(st->err);
    while (n > 0 && st->err[n - 1] == ' ')
        st->err[--n] = '\0';
}

static xmlXPathObjectPtr lookup_setting(void *data, const xmlChar *name, const xmlChar *ns_uri)
{
    const ipf_ruleset *rs = data;
    if (ns_uri)
        return NULL;
    const char *v = ipf_ruleset_setting(rs, (const char *)name);
    return v ? xmlXPathNewString((const xmlChar *)v) : NULL;
}

static xmlXPathContextPtr new_context(const ipf_ruleset *rs, xmlDocPtr doc, evalstate *st)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    if (!ctx)
        return NULL;
    ctx->userData = st;
    ctx->error = on_xpath_error;
    int bad = 0;
    bad |= ipf_xpathfn_register(ctx);
    for (size_t i = 0; i < rs->nns; i++)
        bad |= xmlXPathRegisterNs(ctx, (const xmlChar *)rs->ns[i].prefix,
                                  (const xmlChar *)rs->ns[i].uri);
    xmlXPathRegisterVariableLookup(ctx, lookup_setting, (void *)rs);
    if (bad) {
        xmlXPathFreeContext(ctx);
        return NULL;
    }
    return ctx;
}

/* Compiles every expression; NULL if one fails (with diagnostics when d). */
static evalset *compile_all(const ipf_ruleset *rs, ipf_diags *d)
{
    evalset *es = calloc(1, sizeof *es);
    if (!es)
        return NULL;
    es->comp = calloc(rs->nexprs ? rs->nexprs : 1, sizeof *es->comp);
    evalstate st = {.env = {.regex = regex_for}, .rs = rs, .es = es};
    st.env.ud = &st;
    xmlXPathContextPtr ctx = es->comp ? new_context(rs, NULL, &st) : NULL;
    if (!ctx) {
        free_evalset(es, rs->nexprs);
        return NULL;
    }
    int bad = 0;
    for (size_t i = 0; i < rs->nexprs; i++) {
        st.err[0] = '\0';
        es->comp[i] = xmlXPathCtxtCompile(ctx, (const xmlChar *)rs->exprs[i].src);
        if (!es->comp[i]) {
            bad = 1;
            if (d) {
                int at = ctx->lastError.int1;
                ipf_diag_add(d, rs->exprs[i].file, rs->exprs[i].line, IPF_SEV_ERROR, "RULES-XPATH",
                             "XPath 表达式有语法错误（%s，约在第 %d 个字符处）：%s",
                             st.err[0] ? st.err : "无法编译", at + 1, rs->exprs[i].src);
            }
        }
    }
    xmlXPathFreeContext(ctx);
    if (bad) {
        free_evalset(es, rs->nexprs);
        return NULL;
    }
    return es;
}

static evalset *take_set(ipf_ruleset *rs)
{
    pthread_mutex_lock(&rs->lock);
    evalset *es = rs->pool;
    if (es)
        rs->pool = es->next;
    pthread_mutex_unlock(&rs->lock);
    if (!es)
        es = compile_all(rs, NULL);
    if (es)
        es->next = NULL;
    return es;
}

static void give_back(ipf_ruleset *rs, evalset *es)
{
    pthread_mutex_lock(&rs->lock);
    es->next = rs->pool;
    rs->pool = es;
    pthread_mutex_unlock(&rs->lock);
}

/* ---------- checking a document ---------- */

static long node_line(const xmlNode *n)
{
    if (!n || n->type == XML_NAMESPACE_DECL)
        return 0;
    if (n->type == XML_DOCUMENT_NODE)
        return ipf_xml_line(xmlDocGetRootElement((xmlDocPtr)n));
    return ipf_xml_line(n);
}

static void report_eval_error(const ipf_ruleset *rs, const rule *r, int ei, evalstate *st,
                              ipf_diags *d, const char *what)
{
    const expr *x = &rs->exprs[ei];
    if (st->over || st->nomem)
        return; /* ipf_ruleset_check says the budget or the memory ran out */
    ipf_diag_add(d, x->file, x->line, IPF_SEV_ERROR, "RULES-EVAL",
                 "规则 %s 的表达式无法计算（%s）：%s", r->code,
                 st->env.fnerr[0] ? st->env.fnerr
                 : st->err[0]     ? st->err
                                  : what,
                 x->src);
}

static void prepare(xmlXPathContextPtr ctx, evalstate *st, xmlNodePtr node, int size, int pos)
{
    ctx->node = node;
    ctx->contextSize = size;
    ctx->proximityPosition = pos;
    st->err[0] = '\0';
    st->env.fnerr[0] = '\0';
}

/* Expression e of rule r evaluated at node (position pos of size), or NULL
 * when it failed, which is reported. */
static xmlXPathObjectPtr eval_at(const ipf_ruleset *rs, const rule *r, int e, evalset *es,
                                 xmlXPathContextPtr ctx, evalstate *st, xmlNodePtr node, int size,
                                 int pos, ipf_diags *d)
{
    prepare(ctx, st, node, size, pos);
    xmlXPathObjectPtr o = xmlXPathCompiledEval(es->comp[e], ctx);
    if (!o || st->err[0] || st->env.fnerr[0]) {
        xmlXPathFreeObject(o);
        report_eval_error(rs, r, e, st, d, "计算失败");
        return NULL;
    }
    return o;
}

/* Checks one rule; returns -1 when an expression could not be evaluated. */
static int check_rule(const ipf_ruleset *rs, const rule *r, evalset *es, xmlXPathContextPtr ctx,
                      evalstate *st, xmlDocPtr doc, const char *file, ipf_diags *d)
{
    xmlXPathObjectPtr set = eval_at(rs, r, r->context, es, ctx, st, (xmlNodePtr)doc, 1, 1, d);
    if (!set)
        return -1;
    if (set->type != XPATH_NODESET) {
        xmlXPathFreeObject(set);
        st->err[0] = '\0';
        report_eval_error(rs, r, r->context, st, d,
                          "适用对象应选出节点，而不是数值、字符串或布尔值");
        return -1;
    }
    int n = set->nodesetval ? set->nodesetval->nodeNr : 0;
    int status = 0;
    for (int i = 0; i < n && status == 0; i++) {
        xmlNodePtr node = set->nodesetval->nodeTab[i];
        prepare(ctx, st, node, n, i + 1);
        int ok = xmlXPathCompiledEvalToBoolean(es->comp[r->assert_], ctx);
        if (ok < 0 || st->err[0] || st->env.fnerr[0]) {
            report_eval_error(rs, r, r->assert_, st, d, "计算失败");
            status = -1;
            break;
        }
        if (ok)
            continue;
        long line = node_line(node);
        if (r->locate >= 0) {
            xmlXPathObjectPtr at = eval_at(rs, r, r->locate, es, ctx, st, node, n, i + 1, d);
            if (!at) {
                status = -1;
                break;
            }
            if (at->type == XPATH_NODESET && at->nodesetval && at->nodesetval->nodeNr > 0) {
                long l = node_line(at->nodesetval->nodeTab[at->nodesetval->nodeNr - 1]);
                if (l > 0)
                    line = l;
            }
            xmlXPathFreeObject(at);
        }
        ipf_buf msg = {0};
        for (size_t k = 0; k < r->nparts && status == 0; k++) {
            const part *p = &r->parts[k];
            if (p->text) {
                ipf_buf_str(&msg, p->text);
                continue;
            }
            xmlXPathObjectPtr v = eval_at(rs, r, p->expr, es, ctx, st, node, n, i + 1, d);
            if (!v) {
                status = -1;
                break;
            }
            xmlChar *s = xmlXPathCastToString(v);
            /* one line, at most VALUE_SHOWN characters, invisible ones shown
             * ([全角空格]): a value differing from an allowed one only in
             * white space shows the difference */
            ipf_buf_excerpt_visible(&msg, (const char *)s, VALUE_SHOWN);
            xmlFree(s);
            xmlXPathFreeObject(v);
        }
        if (status == 0) {
            if (msg.oom)
                status = -2;
            else
                ipf_diag_add(d, file, line, r->sev, r->code, "%s%s", msg.s ? msg.s : "", r->suffix);
        }
        free(msg.s);
    }
    xmlXPathFreeObject(set);
    return status;
}

ipf_status ipf_ruleset_check(const ipf_ruleset *crs, xmlDocPtr doc, const char *file, ipf_diags *d)
{
    /* The pool is the only thing a check changes, under the lock. */
    ipf_ruleset *rs = (ipf_ruleset *)crs;
    size_t before = ipf_diags_errors(d);
    evalset *es = take_set(rs);
    if (!es)
        return IPF_ERR_NOMEM;
    evalstate st = {.env = {.regex = regex_for}, .rs = rs, .es = es};
    st.env.ud = &st;
    xmlXPathContextPtr ctx = new_context(rs, doc, &st);
    if (!ctx) {
        give_back(rs, es);
        return IPF_ERR_NOMEM;
    }
    ipf_status status = IPF_OK;
    /* Data can make a rule's XPath slow (a rule comparing every node with
     * every other); the work per document is bounded and the end said. */
    ipf_xml_bound_xpath(ctx);
    for (size_t i = 0; i < rs->nrules; i++) {
        if (check_rule(rs, &rs->rules[i], es, ctx, &st, doc, file, d) == -2)
            status = IPF_ERR_NOMEM;
        if (ipf_xml_xpath_exhausted(ctx)) {
            ipf_diag_add(d, rs->path, rs->rules[i].line, IPF_SEV_ERROR, "RULES-LIMIT",
                         "规则 %s 的求值使这份文件的规则检查超过了 %lu 步的上限，"
                         "这条及其后的规则未能检查；请把规则的 XPath 写得具体些",
                         rs->rules[i].code, (unsigned long)IPF_XPATH_BUDGET);
            status = IPF_ERR_TEMPLATE;
            break;
        }
    }
    xmlXPathFreeContext(ctx);
    give_back(rs, es);
    if (status != IPF_OK)
        return status;
    return ipf_diags_errors(d) > before ? IPF_INVALID : IPF_OK;
}

/* ---------- loading ---------- */

typedef struct loadctx {
    ipf_ruleset *rs;
    const char *path;      /* the file being read: one of rs->files */
    const char *want_form; /* the template id the top file's form="" must be */
    ipf_diags *d;
    int bad;
    int oom;
} loadctx;

static int is_rules_el(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns &&
           strcmp((const char *)n->ns->href, RULES_NS) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

/* An attribute's value, or NULL when it is absent; a copy that could not be
 * made sets L->oom (the attribute is there, memory is not). */
static char *get_attr(loadctx *L, const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    char *r = v ? strdup((const char *)v) : NULL;
    if (v && !r)
        L->oom = 1;
    xmlFree(v);
    return r;
}

static char *text_of(loadctx *L, const xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *r = strdup(v ? (const char *)v : "");
    if (!r)
        L->oom = 1;
    xmlFree(v);
    return r;
}

static int add_expr(loadctx *L, const char *src, long line)
{
    ipf_ruleset *rs = L->rs;
    if (IPF_GROW(rs->exprs, rs->capexprs, rs->nexprs + 1) != 0) {
        L->oom = 1;
        return -1;
    }
    rs->exprs[rs->nexprs].src = strdup(src);
    rs->exprs[rs->nexprs].file = L->path;
    rs->exprs[rs->nexprs].line = line;
    if (!rs->exprs[rs->nexprs].src) {
        L->oom = 1;
        return -1;
    }
    return (int)rs->nexprs++;
}

/* ---------- the names in an expression (xpathfn.c scans) ---------- */

typedef struct names_ctx {
    loadctx *L;
    long line;
} names_ctx;

static const char *names_ns(void *ud, const char *prefix, size_t len)
{
    names_ctx *n = ud;
    return ns_uri(n->L->rs, prefix, len);
}

static int names_var(void *ud, const char *name, size_t len)
{
    names_ctx *n = ud;
    const ipf_ruleset *rs = n->L->rs;
    for (size_t i = 0; i < rs->nsettings; i++)
        if (strlen(rs->settings[i].name) == len && strncmp(rs->settings[i].name, name, len) == 0)
            return 1;
    return 0;
}

/* Every problem the scan finds is a RULES-XPATH error at the expression's line. */
static void names_error(const names_ctx *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void names_error(const names_ctx *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ipf_diag_vadd(n->L->d, n->L->path, n->line, IPF_SEV_ERROR, "RULES-XPATH", fmt, ap);
    va_end(ap);
}

static void names_report(void *ud, ipf_names_problem what, const char *a, size_t alen,
                         const char *b, size_t blen)
{
    names_ctx *n = ud;
    int al = (int)alen, bl = (int)blen;
    switch (what) {
    case IPF_NAMES_VAR_PREFIXED:
        names_error(n, "变量不能带命名空间前缀：$%.*s…（设置用 $名称 引用）", al, a);
        break;
    case IPF_NAMES_VAR_UNKNOWN:
        names_error(n,
                    "未定义的变量 $%.*s：规则文件中没有 <setting name=\"%.*s\">"
                    "（注意：$名称 后面紧跟的“-”会被当作名称的一部分，减号前后请加空格）",
                    al, a, al, a);
        break;
    case IPF_NAMES_FUNCTION_UNKNOWN:
        names_error(n,
                    "未知的函数 %.*s()：XPath 1.0 没有这个函数（扩展函数要写 "
                    "ipf: 前缀，如 ipf:chars()）",
                    al, a);
        break;
    case IPF_NAMES_FUNCTION_PREFIX:
        names_error(n, "未声明的命名空间前缀 %.*s（函数 %.*s:%.*s()）", al, a, al, a, bl, b);
        break;
    case IPF_NAMES_EXTENSION_UNKNOWN:
        names_error(n, "未知的函数 %.*s:%.*s()：扩展函数只有 %s", al, a, bl, b, ipf_xpathfn_list());
        break;
    case IPF_NAMES_PREFIX_UNDECLARED:
        names_error(n,
                    "未声明的命名空间前缀 %.*s：请在规则文件中加 <namespace prefix=\"%.*s\" "
                    "uri=\"…\"/>",
                    al, a, al, a);
        break;
    case IPF_NAMES_ELEMENT_UNPREFIXED:
        names_error(n,
                    "元素名 %.*s 缺少命名空间前缀：数据在命名空间中，XPath 1.0 "
                    "里不带前缀的名称什么也选不到，应写作 d:%.*s 之类",
                    al, a, al, a);
        break;
    }
}

/* The token scan described at the top of the file.  Reports and returns the
 * number of problems. */
static int check_names(loadctx *L, const char *src, long line)
{
    names_ctx n = {L, line};
    ipf_xpath_names names = {names_ns, names_var, names_report, &n};
    return ipf_xpath_check_names(src, &names);
}

static int add_checked_expr(loadctx *L, const xmlNode *el, const char *what)
{
    char *src = text_of(L, el);
    long line = ipf_xml_line(el);
    if (!src) {
        L->oom = 1;
        return -1;
    }
    const char *t = src;
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
        t++;
    if (!*t) {
        ipf_diag_add(L->d, L->path, line, IPF_SEV_ERROR, "RULES-XPATH", "%s是空的", what);
        L->bad = 1;
        free(src);
        return -1;
    }
    if (check_names(L, src, line))
        L->bad = 1;
    int i = add_expr(L, src, line);
    free(src);
    return i;
}

/* The literal text of a message as one line: a run of white space that
 * holds a line break (the XML's indentation) disappears between Chinese
 * characters and becomes one space between ASCII ones; any other run becomes
 * one space.  Caller frees. */
static char *tidy_literal(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            out[w++] = s[i++];
            continue;
        }
        int newline = 0;
        size_t j = i;
        for (; j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r'); j++)
            newline |= s[j] == '\n' || s[j] == '\r';
        int at_edge = i == 0 || j == n;
        unsigned char before = i ? (unsigned char)s[i - 1] : 0,
                      after = j < n ? (unsigned char)s[j] : 0;
        if (!newline || (!at_edge && before < 0x80 && after < 0x80))
            out[w++] = ' ';
        i = j;
    }
    out[w] = '\0';
    return out;
}

static int add_part(loadctx *L, rule *r, char *text, int expr)
{
    void *np = realloc(r->parts, (r->nparts + 1) * sizeof *r->parts);
    if (!np) {
        free(text);
        L->oom = 1;
        return -1;
    }
    r->parts = np;
    r->parts[r->nparts].text = text;
    r->parts[r->nparts++].expr = expr;
    return 0;
}

/* Adds literal text (with {{ and }} unescaped) as a part. */
static int add_literal(loadctx *L, rule *r, const char *s, size_t n)
{
    char *raw = malloc(n + 1);
    if (!raw) {
        L->oom = 1;
        return -1;
    }
    size_t w = ipf_interp_unescape(s, n, raw);
    char *t = tidy_literal(raw, w);
    free(raw);
    if (!t) {
        L->oom = 1;
        return -1;
    }
    if (!*t) {
        free(t);
        return 0;
    }
    return add_part(L, r, t, -1);
}

/* Splits a message into text and {expression} parts. */
static int parse_message(loadctx *L, rule *r, const xmlNode *el)
{
    char *m = text_of(L, el);
    long line = ipf_xml_line(el);
    if (!m) {
        L->oom = 1;
        return -1;
    }
    int bad = 0;
    ipf_interp_piece pc;
    for (const char *p = m; !L->oom && !bad && ipf_interp_next(&p, &pc) != IPF_INTERP_END;) {
        switch (pc.kind) {
        case IPF_INTERP_STRAY_CLOSE:
        case IPF_INTERP_UNCLOSED:
        case IPF_INTERP_EMPTY:
            ipf_diag_add(L->d, L->path, line, IPF_SEV_ERROR, "RULES-MESSAGE",
                         "规则 %s 的提示信息中%s", r->code, ipf_interp_problem(pc.kind));
            bad = 1;
            break;
        case IPF_INTERP_LITERAL:
            add_literal(L, r, pc.text, pc.len);
            break;
        default: {
            char *x = strndup(pc.text, pc.len);
            if (!x) {
                L->oom = 1;
                break;
            }
            if (check_names(L, x, line))
                bad = 1;
            int i = add_expr(L, x, line);
            if (i >= 0)
                add_part(L, r, NULL, i);
            free(x);
        }
        }
    }
    free(m);
    if (bad)
        L->bad = 1;
    return bad ? -1 : 0;
}

static const char *source_title(const ipf_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->nsources; i++)
        if (strcmp(rs->sources[i].id, id) == 0)
            return rs->sources[i].title;
    return NULL;
}

static void parse_rule(loadctx *L, const xmlNode *el, const char *clause_format)
{
    ipf_ruleset *rs = L->rs;
    if (IPF_GROW(rs->rules, rs->caprules, rs->nrules + 1) != 0) {
        L->oom = 1;
        return;
    }
    rule *r = &rs->rules[rs->nrules++];
    memset(r, 0, sizeof *r);
    r->line = ipf_xml_line(el);
    r->file = L->path;
    r->context = r->assert_ = r->locate = -1;
    r->code = get_attr(L, el, "code");
    char *sev = get_attr(L, el, "severity");
    if (!r->code || !*r->code) {
        free(r->code);
        r->code = strdup("?");
        ipf_diag_add(L->d, L->path, r->line, IPF_SEV_ERROR, "RULES-FILE", "规则缺少 code 属性");
        L->bad = 1;
    }
    if (sev && strcmp(sev, "error") == 0)
        r->sev = IPF_SEV_ERROR;
    else if (sev && strcmp(sev, "warning") == 0)
        r->sev = IPF_SEV_WARNING;
    else {
        ipf_diag_add(L->d, L->path, r->line, IPF_SEV_ERROR, "RULES-FILE",
                     "规则 %s 的 severity 应为 error 或 warning，现为“%s”", r->code,
                     sev ? sev : "");
        L->bad = 1;
    }
    free(sev);
    for (size_t i = 0; i + 1 < rs->nrules; i++)
        if (r->code && strcmp(rs->rules[i].code, r->code) == 0 && strcmp(r->code, "?") != 0) {
            if (rs->rules[i].file == r->file)
                ipf_diag_add(L->d, L->path, r->line, IPF_SEV_ERROR, "RULES-FILE",
                             "规则代码 %s 重复（第 %ld 行已用过）", r->code, rs->rules[i].line);
            else
                ipf_diag_add(L->d, L->path, r->line, IPF_SEV_ERROR, "RULES-FILE",
                             "规则代码 %s 与包含的 %s:%ld 重复（要替换那条规则，先写 <remove "
                             "code=\"%s\"/>）",
                             r->code, rs->rules[i].file, rs->rules[i].line, r->code);
            L->bad = 1;
            break;
        }
    int oom = 0, nclause = 0, have_message = 0;
    for (const xmlNode *c = el->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!is_rules_el(c, NULL)) {
            ipf_diag_add(L->d, L->path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                         "规则 %s 中不应有元素 <%s>", r->code, (const char *)c->name);
            L->bad = 1;
            continue;
        }
        const char *k = (const char *)c->name;
        if (!strcmp(k, "clause")) {
            char *text = text_of(L, c);
            char *src = get_attr(L, c, "source");
            if (src && !source_title(rs, src)) {
                ipf_diag_add(L->d, L->path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                             "规则 %s 引用了未定义的依据文件 source=\"%s\"（应先写 <source "
                             "id=\"%s\" title=\"…\"/>）",
                             r->code, src, src);
                L->bad = 1;
            }
            nclause++;
            char *t = text;
            size_t n = 0;
            if (text) {
                /* trim */
                while (*t == ' ' || *t == '\n' || *t == '\t' || *t == '\r')
                    t++;
                n = strlen(t);
                while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\n' || t[n - 1] == '\t' ||
                                 t[n - 1] == '\r'))
                    n--;
            }
            if (IPF_GROW(r->cite_src, r->capsrc, r->ncites + 1) != 0 ||
                IPF_GROW(r->cite_text, r->captext, r->ncites + 1) != 0) {
                oom = 1;
            } else {
                r->cite_src[r->ncites] = src;
                r->cite_text[r->ncites] = strndup(t ? t : "", n);
                src = NULL;
                if (!r->cite_text[r->ncites++])
                    oom = 1;
            }
            free(text);
            free(src);
        } else if (!strcmp(k, "context")) {
            r->context = add_checked_expr(L, c, "适用对象（context）");
        } else if (!strcmp(k, "assert")) {
            r->assert_ = add_checked_expr(L, c, "检查条件（assert）");
        } else if (!strcmp(k, "locate")) {
            r->locate = add_checked_expr(L, c, "报告位置（locate）");
        } else if (!strcmp(k, "message")) {
            have_message = 1;
            parse_message(L, r, c);
        } else {
            ipf_diag_add(L->d, L->path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                         "规则 %s 中不应有元素 <%s>", r->code, k);
            L->bad = 1;
        }
    }
    if (r->context < 0 || r->assert_ < 0 || !have_message || !nclause) {
        if (!L->bad)
            ipf_diag_add(L->d, L->path, r->line, IPF_SEV_ERROR, "RULES-FILE",
                         "规则 %s 应有 <clause>、<context>、<assert> 和 <message>", r->code);
        L->bad = 1;
    }
    /* the suffix is made once every file is read (recite) */
    r->clause_format = strdup(clause_format);
    if (!r->clause_format)
        oom = 1;
    if (oom)
        L->oom = 1;
}

/* Formats every rule's suffix, its clause_format with {clause} replaced by
 * what it cites, with the sources as they finally are: an including file's
 * <source> of the same id retitles what the included rules cite.  Returns
 * -1 when out of memory. */
static int recite(ipf_ruleset *rs)
{
    for (size_t i = 0; i < rs->nrules; i++) {
        rule *r = &rs->rules[i];
        if (!r->clause_format)
            continue;
        ipf_buf clauses = {0}, suffix = {0};
        ipf_buf_put(&clauses, "", 0);
        for (size_t k = 0; k < r->ncites; k++) {
            const char *title = r->cite_src[k] ? source_title(rs, r->cite_src[k]) : "";
            if (k)
                ipf_buf_str(&clauses, "、");
            ipf_buf_str(&clauses, title ? title : "");
            ipf_buf_str(&clauses, r->cite_text[k]);
        }
        ipf_buf_put(&suffix, "", 0);
        for (const char *p = r->clause_format; *p;) {
            const char *hit = strstr(p, "{clause}");
            if (!hit) {
                ipf_buf_str(&suffix, p);
                break;
            }
            ipf_buf_put(&suffix, p, (size_t)(hit - p));
            ipf_buf_put(&suffix, clauses.s ? clauses.s : "", clauses.len);
            p = hit + strlen("{clause}");
        }
        int oom = clauses.oom || suffix.oom;
        free(clauses.s);
        if (oom) {
            free(suffix.s);
            return -1;
        }
        free(r->suffix);
        r->suffix = suffix.s;
    }
    return 0;
}

/* A <setting type="…">: the value is checked once at load, so that a typo in
 * a threshold or a deadline is reported against the rule file instead of
 * turning into a wrong warning on every filing (a date that does not parse
 * makes ipf:date-le false, a number that does not parse makes every
 * comparison false).  Returns 0 when the value fits its type. */
static int check_setting(loadctx *L, const xmlNode *el, const char *name, const char *value,
                         const char *type)
{
    const char *want = NULL;
    if (!type || !strcmp(type, "text")) {
        /* anything goes */
    } else if (!strcmp(type, "number")) {
        const char *p = value;
        int digits = 0;
        if (*p == '-')
            p++;
        for (; *p >= '0' && *p <= '9'; p++)
            digits++;
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++)
                digits++;
        if (!digits || *p)
            want = "数字（阿拉伯数字，如 5）";
    } else if (!strcmp(type, "date")) {
        long ymd;
        if (*value && ipf_date_parse(value, &ymd) != 0)
            want = "日期，格式为“年-月-日”（如 2024-08-30；留空表示不检查）";
    } else if (!strcmp(type, "regex")) {
        xmlRegexpPtr re = ipf_regex_compile_quiet(value);
        if (!re)
            want = "XML Schema 正则表达式";
        xmlRegFreeRegexp(re);
    } else {
        ipf_diag_add(L->d, L->path, ipf_xml_line(el), IPF_SEV_ERROR, "RULES-SETTING",
                     "设置 %s 的类型应为 text、number、date 或 regex，现为“%s”", name, type);
        return -1;
    }
    if (!want)
        return 0;
    ipf_diag_add(L->d, L->path, ipf_xml_line(el), IPF_SEV_ERROR, "RULES-SETTING",
                 "设置 %s 的值应为%s，现为“%s”", name, want, value);
    return -1;
}

static char *rules_xsd_path(const char *rules_path)
{
    char *p = ipf_path_beside(rules_path, "../schema/rules.xsd");
    if (!p)
        return NULL;
    if (access(p, R_OK) == 0)
        return p;
    free(p);
#ifdef IPF_TEMPLATES_DIR
    if (access(IPF_TEMPLATES_DIR "/schema/rules.xsd", R_OK) == 0)
        return strdup(IPF_TEMPLATES_DIR "/schema/rules.xsd");
#endif
    return NULL;
}

/* One evaluation of every expression on an empty document: argument counts,
 * argument types and regular expressions are checked here. */
static void trial_run(loadctx *L, evalset *es)
{
    ipf_ruleset *rs = L->rs;
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root =
        doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"ipforms-rule-check", NULL) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        L->oom = 1;
        return;
    }
    xmlDocSetRootElement(doc, root);
    evalstate st = {.env = {.regex = regex_for}, .rs = rs, .es = es};
    st.env.ud = &st;
    xmlXPathContextPtr ctx = new_context(rs, doc, &st);
    if (!ctx) {
        xmlFreeDoc(doc);
        L->oom = 1;
        return;
    }
    for (size_t i = 0; i < rs->nexprs; i++) {
        prepare(ctx, &st, root, 1, 1);
        xmlXPathObjectPtr o = xmlXPathCompiledEval(es->comp[i], ctx);
        if (st.nomem) {
            L->oom = 1;
        } else if (!o || st.err[0] || st.env.fnerr[0]) {
            ipf_diag_add(L->d, rs->exprs[i].file, rs->exprs[i].line, IPF_SEV_ERROR, "RULES-XPATH",
                         "XPath 表达式无法计算（%s）：%s",
                         st.env.fnerr[0] ? st.env.fnerr
                         : st.err[0]     ? st.err
                                         : "计算失败",
                         rs->exprs[i].src);
            L->bad = 1;
        }
        xmlXPathFreeObject(o);
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        const rule *r = &rs->rules[i];
        prepare(ctx, &st, (xmlNodePtr)doc, 1, 1);
        xmlXPathObjectPtr o = xmlXPathCompiledEval(es->comp[r->context], ctx);
        if (o && o->type != XPATH_NODESET) {
            ipf_diag_add(L->d, rs->exprs[r->context].file, rs->exprs[r->context].line,
                         IPF_SEV_ERROR, "RULES-XPATH",
                         "规则 %s 的适用对象（context）应选出节点，而不是数值、字符串或布尔值：%s",
                         r->code, rs->exprs[r->context].src);
            L->bad = 1;
        }
        xmlXPathFreeObject(o);
    }
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
}

/* Reads and checks the structure of one rule file.  from/from_line: the
 * <include> naming it, for a file that cannot be read. */
static ipf_status read_rule_file(const char *path, const char *from, long from_line, ipf_diags *d,
                                 xmlDocPtr *out)
{
    *out = NULL;
    xmlDocPtr doc = NULL;
    ipf_status st = ipf_xml_read_definition(path, from, from_line, "RULES-INCLUDE",
                                            "<include> 指定的规则文件", d, &doc);
    if (st != IPF_OK)
        return st;
    /* The rule file's structure first. */
    char *xsd = rules_xsd_path(path);
    if (xsd) {
        ipf_schema *schema = NULL;
        st = ipf_schema_load(xsd, d, &schema);
        free(xsd);
        if (st != IPF_OK) {
            xmlFreeDoc(doc);
            return st;
        }
        st = ipf_schema_validate(schema, doc, path, d);
        ipf_schema_free(schema);
        if (st != IPF_OK) {
            xmlFreeDoc(doc);
            return st == IPF_ERR_NOMEM ? st : IPF_ERR_TEMPLATE;
        }
    }
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (!is_rules_el(root, "rules")) {
        ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "RULES-FILE",
                     "这不是规则文件：根元素应为 <rules xmlns=\"%s\">", RULES_NS);
        xmlFreeDoc(doc);
        return IPF_ERR_TEMPLATE;
    }
    *out = doc;
    return IPF_OK;
}

static setting *find_setting(ipf_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->nsettings; i++)
        if (strcmp(rs->settings[i].name, name) == 0)
            return &rs->settings[i];
    return NULL;
}

static void load_file(loadctx *L, const char *path, int depth, const char *from, long from_line);

/* <include href>: the included file's declarations and rules come first;
 * the including file's settings then override them. */
static void load_include(loadctx *L, const xmlNode *c, int depth)
{
    char *href = get_attr(L, c, "href");
    long line = ipf_xml_line(c);
    if (!href || !*href) {
        ipf_diag_add(L->d, L->path, line, IPF_SEV_ERROR, "RULES-INCLUDE",
                     "<include> 缺少 href 属性");
        L->bad = 1;
        free(href);
        return;
    }
    char *target = NULL;
    if (href[0] == '/') {
        target = strdup(href);
    } else {
        const char *slash = strrchr(L->path, '/');
        size_t dl = slash ? (size_t)(slash - L->path) : 1;
        size_t n = dl + strlen(href) + 2;
        target = malloc(n);
        if (target)
            snprintf(target, n, "%.*s/%s", (int)dl, slash ? L->path : ".", href);
    }
    free(href);
    if (!target) {
        L->oom = 1;
        return;
    }
    if (depth >= MAX_INCLUDE_DEPTH || L->rs->nfiles >= MAX_RULE_FILES) {
        ipf_diag_add(L->d, L->path, line, IPF_SEV_ERROR, "RULES-INCLUDE",
                     "规则文件包含（include）超过 %d 层或 %d 个文件", MAX_INCLUDE_DEPTH,
                     MAX_RULE_FILES);
        L->bad = 1;
        free(target);
        return;
    }
    struct stat want;
    for (int i = 0; stat(target, &want) == 0 && i < L->rs->nfiles; i++) {
        struct stat seen;
        if (stat(L->rs->files[i], &seen) == 0 && seen.st_dev == want.st_dev &&
            seen.st_ino == want.st_ino) {
            ipf_diag_add(L->d, L->path, line, IPF_SEV_ERROR, "RULES-INCLUDE",
                         "规则文件 %s 已经包含过（循环或重复的 include）", target);
            L->bad = 1;
            free(target);
            return;
        }
    }
    const char *saved = L->path;
    load_file(L, target, depth + 1, saved, line);
    L->path = saved;
    free(target);
}

/* One file's declarations, includes, removals and rules, in that order of
 * effect (see docs/rules.md, "Including another rule file"). */
static void load_file(loadctx *L, const char *path, int depth, const char *from, long from_line)
{
    ipf_ruleset *rs = L->rs;
    xmlDocPtr doc = NULL;
    ipf_status st = read_rule_file(path, from, from_line, L->d, &doc);
    if (st != IPF_OK) {
        if (st == IPF_ERR_NOMEM)
            L->oom = 1;
        L->bad = 1;
        return;
    }
    char *copy = strdup(path);
    if (!copy) {
        xmlFreeDoc(doc);
        L->oom = 1;
        return;
    }
    int me = rs->nfiles++;
    rs->files[me] = copy;
    L->path = copy;
    ipf_diags *d = L->d;
    const xmlNode *root = xmlDocGetRootElement(doc);
    if (me == 0 && L->want_form) {
        char *form = get_attr(L, root, "form");
        if (!form || strcmp(form, L->want_form) != 0) {
            ipf_diag_add(d, path, ipf_xml_line(root), IPF_SEV_ERROR, "RULES-FORM",
                         form ? "规则文件写明 form=\"%s\"，但使用它的模板是“%s”（复制的规则文件"
                                "要改 form=，或改用 <include> 引用原文件）"
                              : "规则文件缺少 form=\"%s%s\"（使用它的模板的编号）",
                         form ? form : "", L->want_form);
            L->bad = 1;
        }
        free(form);
    }
    char *clause_format = get_attr(L, root, "clause-format");

    for (const xmlNode *c = root->children; c && !L->oom; c = c->next)
        if (is_rules_el(c, "include")) {
            load_include(L, c, depth);
            L->path = copy;
        }

    /* Declarations next, wherever they are, so rules may use them. */
    size_t first_own_source = rs->nsources;
    for (const xmlNode *c = root->children; c && !L->oom; c = c->next) {
        if (is_rules_el(c, "namespace")) {
            if (IPF_GROW(rs->ns, rs->capns, rs->nns + 1) != 0) {
                L->oom = 1;
                break;
            }
            rs->ns[rs->nns].prefix = get_attr(L, c, "prefix");
            rs->ns[rs->nns].uri = get_attr(L, c, "uri");
            if (!rs->ns[rs->nns].prefix || !rs->ns[rs->nns].uri) {
                free(rs->ns[rs->nns].prefix);
                free(rs->ns[rs->nns].uri);
                ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                             "<namespace> 应有 prefix 和 uri 属性");
                L->bad = 1;
                continue;
            }
            rs->nns++;
        } else if (is_rules_el(c, "setting")) {
            char *name = get_attr(L, c, "name"), *value = get_attr(L, c, "value");
            char *type = get_attr(L, c, "type");
            if (!name || !value) {
                ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                             "<setting> 应有 name 和 value 属性");
                L->bad = 1;
                free(name);
                free(value);
                free(type);
                continue;
            }
            setting *old = find_setting(rs, name);
            if (old && old->file == copy) {
                ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                             "设置 %s 重复定义（第 %ld 行已定义）", name, old->line);
                L->bad = 1;
                free(name);
                free(value);
                free(type);
                continue;
            }
            /* An override keeps the included setting's type unless it says. */
            if (!type && old && old->type && !(type = strdup(old->type))) {
                free(name);
                free(value);
                L->oom = 1;
                break;
            }
            if (check_setting(L, c, name, value, type) != 0)
                L->bad = 1; /* reported; the rest of the file is still checked */
            if (old) {
                free(old->value);
                free(old->type);
                free(name);
                old->value = value;
                old->type = type;
                old->file = copy;
                old->line = ipf_xml_line(c);
                continue;
            }
            if (IPF_GROW(rs->settings, rs->capsettings, rs->nsettings + 1) != 0) {
                free(name);
                free(value);
                free(type);
                L->oom = 1;
                break;
            }
            setting *s = &rs->settings[rs->nsettings++];
            s->name = name;
            s->value = value;
            s->type = type;
            s->file = copy;
            s->line = ipf_xml_line(c);
        } else if (is_rules_el(c, "source")) {
            char *id = get_attr(L, c, "id"), *title = get_attr(L, c, "title");
            size_t at = rs->nsources;
            for (size_t i = 0; id && i < rs->nsources; i++)
                if (strcmp(rs->sources[i].id, id) == 0)
                    at = i;
            if (!id || !title || at >= first_own_source) {
                if (!id || !title || at < rs->nsources) {
                    ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                                 id && title ? "依据文件 id=\"%s\" 重复定义"
                                             : "<source> 应有 id 和 title 属性%s",
                                 id && title ? id : "");
                    L->bad = 1;
                    free(id);
                    free(title);
                    continue;
                }
            }
            if (at < rs->nsources) { /* the included file's source, retitled */
                free(rs->sources[at].title);
                rs->sources[at].title = title;
                free(id);
                continue;
            }
            if (IPF_GROW(rs->sources, rs->capsources, rs->nsources + 1) != 0) {
                free(id);
                free(title);
                L->oom = 1;
                break;
            }
            rs->sources[rs->nsources].id = id;
            rs->sources[rs->nsources++].title = title;
        }
    }
    /* Removals apply to what the includes brought. */
    for (const xmlNode *c = root->children; c && !L->oom; c = c->next) {
        if (!is_rules_el(c, "remove"))
            continue;
        char *code = get_attr(L, c, "code");
        size_t i = 0;
        while (code && i < rs->nrules && strcmp(rs->rules[i].code, code) != 0)
            i++;
        if (!code || i == rs->nrules) {
            ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-INCLUDE",
                         "<remove code=\"%s\"/>：包含的规则文件中没有这条规则", code ? code : "");
            L->bad = 1;
        } else {
            free_rule(&rs->rules[i]);
            memmove(&rs->rules[i], &rs->rules[i + 1], (rs->nrules - i - 1) * sizeof *rs->rules);
            rs->nrules--;
        }
        free(code);
    }
    for (const xmlNode *c = root->children; c && !L->oom; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || is_rules_el(c, "namespace") ||
            is_rules_el(c, "setting") || is_rules_el(c, "source") || is_rules_el(c, "title") ||
            is_rules_el(c, "include") || is_rules_el(c, "remove"))
            continue;
        if (is_rules_el(c, "rule"))
            parse_rule(L, c, clause_format ? clause_format : DEFAULT_CLAUSE);
        else {
            ipf_diag_add(d, path, ipf_xml_line(c), IPF_SEV_ERROR, "RULES-FILE",
                         "规则文件中不应有元素 <%s>", (const char *)c->name);
            L->bad = 1;
        }
    }
    free(clause_format);
    xmlFreeDoc(doc);
}

ipf_status ipf_ruleset_load(const char *path, ipf_diags *d, ipf_ruleset **out)
{
    return ipf_ruleset_load_for(path, NULL, d, out);
}

ipf_status ipf_ruleset_load_for(const char *path, const char *form, ipf_diags *d, ipf_ruleset **out)
{
    *out = NULL;
    ipf_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs || pthread_mutex_init(&rs->lock, NULL) != 0) {
        free(rs);
        return IPF_ERR_NOMEM;
    }
    rs->path = strdup(path);
    /* The loader's complaints are kept aside: when an allocation fails half
     * way, what it then finds missing is not the file's fault, and one line
     * saying memory ran out replaces them (tests/oom_checks.py). */
    ipf_diags *ld = ipf_diags_new();
    loadctx L = {.rs = rs, .d = ld, .path = path, .want_form = form};
    if (!rs->path || !ld)
        L.oom = 1;
    else
        load_file(&L, path, 0, NULL, 0);
    if (!L.oom && !L.bad && recite(rs) != 0)
        L.oom = 1;

    if (!L.oom && !L.bad) {
        size_t said = ipf_diags_count(ld);
        evalset *es = compile_all(rs, ld);
        if (!es && ipf_diags_count(ld) == said)
            L.oom = 1; /* a syntax error is always said: this was memory */
        else if (!es)
            L.bad = 1;
        else {
            trial_run(&L, es);
            /* the trial filled the regex cache with whatever it met: start clean */
            for (int i = 0; i < es->nregex; i++) {
                free(es->regex[i].pattern);
                xmlRegFreeRegexp(es->regex[i].re);
            }
            es->nregex = 0;
            rs->pool = es;
        }
    }
    if (ld && ipf_diags_oom(ld))
        L.oom = 1;
    if (L.oom)
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "NOMEM",
                     "读取规则文件时内存不足，未能读完；请关闭其他程序后重试");
    for (size_t i = 0; !L.oom && i < ipf_diags_count(ld); i++) {
        const ipf_diag *g = ipf_diags_get(ld, i);
        ipf_diag_add(d, g->file, g->line, g->severity, g->code, "%s", g->message);
    }
    ipf_diags_free(ld);
    if (L.oom || L.bad) {
        ipf_ruleset_free(rs);
        return L.oom ? IPF_ERR_NOMEM : IPF_ERR_TEMPLATE;
    }
    *out = rs;
    return IPF_OK;
}
