/* naming.c: output file names, from the data file or from the data. */
#include "naming.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "path.h"
#include "buf.h"
#include "utf8.h"

static int windows_device(const char *s)
{
    static const char *const names[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
    size_t n = strcspn(s, ".");
    while (n > 0 && s[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return 1;
    if (n == 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0) && s[3] >= '0' &&
        s[3] <= '9')
        return 1;
    return 0;
}

char *ipf_name_safe(const char *s)
{
    size_t cap = strlen(s) * 3 + 2;
    char *out = malloc(cap), *o = out;
    if (!out)
        return NULL;
    int space = 0;
    for (const char *p = s; *p;) {
        const char *q = p;
        uint32_t cp;
        if (ipf_utf8_next(&q, &cp) != 0) {
            cp = '_';
            q = p + 1;
        }
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x3000 || cp == 0xA0) {
            space = 1;
            p = q;
            continue;
        }
        if (space && o > out)
            *o++ = ' ';
        space = 0;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 ||
            cp == 0xFEFF || (cp < 0x80 && strchr("\\/:*?\"<>|", (int)cp)))
            cp = '_';
        if (o == out && cp == '.')
            cp = '_';
        /* Keep within IPF_NAME_MAX, whole characters only. */
        char enc[4];
        size_t n = ipf_utf8_encode(cp, enc);
        if ((size_t)(o - out) + n > IPF_NAME_MAX)
            break;
        memcpy(o, enc, n);
        o += n;
        p = q;
    }
    while (o > out && (o[-1] == '.' || o[-1] == ' '))
        o--;
    *o = '\0';
    if (windows_device(out)) {
        memmove(out + 1, out, strlen(out) + 1);
        out[0] = '_';
        if (strlen(out) > IPF_NAME_MAX)
            out[IPF_NAME_MAX] = '\0';
    }
    return out;
}

/* Walks a pattern: calls part() for each literal run and each {expr}. */
typedef int (*part_fn)(void *ctx, int is_expr, const char *s, size_t n);

static int walk(const char *pattern, part_fn part, void *ctx)
{
    const char *p = pattern;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (part(ctx, 0, p, 1) != 0)
                return -1;
            p += 2;
        } else if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end)
                return -2;
            if (part(ctx, 1, p + 1, (size_t)(end - p - 1)) != 0)
                return -1;
            p = end + 1;
        } else {
            size_t n = strcspn(p, "{}");
            if (n == 0)
                return -2; /* a lone "}" */
            if (part(ctx, 0, p, n) != 0)
                return -1;
            p += n;
        }
    }
    return 0;
}

typedef struct check_ctx {
    ipf_diags *d;
    const char *pattern;
} check_ctx;

static int check_part(void *vc, int is_expr, const char *s, size_t n)
{
    check_ctx *c = vc;
    if (!is_expr)
        return 0;
    char *expr = strndup(s, n);
    if (!expr)
        return -1;
    xmlXPathCompExprPtr comp = xmlXPathCompile((const xmlChar *)expr);
    if (!comp) {
        ipf_diag_add(c->d, "--name", 0, IPF_SEV_ERROR, "NAME-PATTERN",
                     "文件名模式中的表达式“%s”不是有效的 XPath", expr);
        free(expr);
        return -1;
    }
    xmlXPathFreeCompExpr(comp);
    free(expr);
    return 0;
}

static void quiet(void *ctx, xmlErrorPtr err)
{
    (void)ctx;
    (void)err;
}

ipf_status ipf_name_pattern_check(const char *pattern, ipf_diags *d)
{
    check_ctx c = {d, pattern};
    xmlSetStructuredErrorFunc(NULL, quiet);
    int r = walk(pattern, check_part, &c);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (r == -2)
        ipf_diag_add(d, "--name", 0, IPF_SEV_ERROR, "NAME-PATTERN",
                     "文件名模式“%s”中的花括号不成对（字面的花括号写作 {{ 或 }}）", pattern);
    return r == 0 ? IPF_OK : IPF_ERR_USAGE;
}

typedef struct eval_ctx {
    xmlXPathContextPtr xp;
    ipf_buf out;
} eval_ctx;

static int eval_part(void *vc, int is_expr, const char *s, size_t n)
{
    eval_ctx *c = vc;
    if (!is_expr)
        return ipf_buf_put(&c->out, s, n);
    char *expr = strndup(s, n);
    if (!expr)
        return -1;
    xmlXPathObjectPtr r = xmlXPathEvalExpression((const xmlChar *)expr, c->xp);
    free(expr);
    xmlChar *v = r ? xmlXPathCastToString(r) : NULL;
    xmlXPathFreeObject(r);
    int rc = v ? ipf_buf_str(&c->out, (const char *)v) : 0;
    xmlFree(v);
    return rc;
}

ipf_status ipf_output_name(const ipf_form *form, xmlDocPtr doc, const char *input, const char *dir,
                           const char *pattern, char **out, ipf_diags *d)
{
    *out = NULL;
    char *stem = ipf_path_stem(input, ".xml");
    char *owned_dir = NULL;
    if (!dir) {
        const char *slash = strrchr(input, '/');
        owned_dir = slash ? strndup(input, (size_t)(slash - input)) : strdup(".");
        dir = owned_dir;
    }
    char *name = NULL;
    ipf_status st = stem && dir ? IPF_OK : IPF_ERR_NOMEM;
    if (st == IPF_OK && pattern && doc) {
        eval_ctx c = {0};
        c.xp = xmlXPathNewContext(doc);
        if (!c.xp) {
            st = IPF_ERR_NOMEM;
        } else {
            c.xp->node = xmlDocGetRootElement(doc);
            ipf_form_register_namespaces(form, c.xp);
            xmlXPathRegisterVariable(c.xp, (const xmlChar *)"file",
                                     xmlXPathNewString((const xmlChar *)stem));
            xmlSetStructuredErrorFunc(NULL, quiet);
            int r = walk(pattern, eval_part, &c);
            xmlSetStructuredErrorFunc(NULL, NULL);
            xmlXPathFreeContext(c.xp);
            if (r == -2 || (r != 0 && c.out.s)) {
                st = ipf_name_pattern_check(pattern, d);
                if (st == IPF_OK)
                    st = IPF_ERR_NOMEM;
            } else if (r != 0) {
                st = IPF_ERR_NOMEM;
            } else {
                name = ipf_name_safe(c.out.s ? c.out.s : "");
                if (!name)
                    st = IPF_ERR_NOMEM;
                else if (!*name) {
                    ipf_diag_add(d, input, 0, IPF_SEV_WARNING, "NAME-EMPTY",
                                 "按文件名模式得到的文件名为空，改用数据文件的名称");
                    free(name);
                    name = NULL;
                }
            }
            free(c.out.s);
        }
    }
    if (st == IPF_OK) {
        const char *n = name ? name : stem;
        size_t len = strlen(dir) + strlen(n) + 6;
        *out = malloc(len);
        if (*out)
            snprintf(*out, len, "%s/%s.pdf", dir, n);
        else
            st = IPF_ERR_NOMEM;
    }
    free(name);
    free(stem);
    free(owned_dir);
    return st;
}
