/* test_xpathfn.c: the shared XPath functions and the scan of names
 * (src/xpathfn.c), from the case tables in tests/data/xpathfn.
 *
 * Usage: test_xpathfn DIR values.txt|names.txt|interp.txt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "check.h"
#include "xmldoc.h"
#include "xpathfn.h"

static void quiet(void *data, xmlErrorPtr e)
{
    (void)data;
    (void)e;
}

/* Each line "a<TAB>b"; comments and blank lines skipped. */
static int run_table(const char *path, void (*one)(const char *a, const char *b, int line))
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 2;
    }
    char buf[1024];
    int line = 0, cases = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        buf[strcspn(buf, "\n")] = '\0';
        if (!buf[0] || buf[0] == '#')
            continue;
        char *tab = strchr(buf, '\t');
        if (!tab) {
            fprintf(stderr, "%s:%d: no tab\n", path, line);
            case_failed = 1;
            continue;
        }
        *tab = '\0';
        one(buf, tab + 1, line);
        cases++;
    }
    fclose(f);
    printf("%d cases from %s\n", cases, path);
    return case_failed || cases == 0;
}

static xmlDocPtr doc;

static void value_case(const char *expr, const char *want, int line)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    EXPECT(ctx && ipf_xpathfn_register(ctx) == 0, "a context");
    if (!ctx)
        return;
    ctx->error = quiet;
    ctx->node = xmlDocGetRootElement(doc);
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
    int failed = !o || ctx->lastError.code != 0;
    if (strcmp(want, "!error") == 0) {
        EXPECT(failed, "line %d: %s should fail", line, expr);
    } else {
        xmlChar *s = o ? xmlXPathCastToString(o) : NULL;
        EXPECT(!failed && s && strcmp((const char *)s, want) == 0, "line %d: %s = [%s], want [%s]",
               line, expr, s ? (const char *)s : "(error)", want);
        xmlFree(s);
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(ctx);
}

static const char *ns(void *ud, const char *prefix, size_t len)
{
    (void)ud;
    if (len == 1 && (prefix[0] == 'd' || prefix[0] == 'l'))
        return "urn:test";
    return NULL;
}

static int var(void *ud, const char *name, size_t len)
{
    (void)ud;
    return (len == 1 && name[0] == 'n') || (len == 5 && strncmp(name, "limit", 5) == 0);
}

static void report(void *ud, ipf_names_problem what, const char *a, size_t alen, const char *b,
                   size_t blen)
{
    static const char *const kinds[] = {"variable-prefixed", "variable",  "function",
                                        "function-prefix",   "extension", "prefix",
                                        "unprefixed"};
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%s:%.*s%s%.*s", n ? " " : "", kinds[what], (int)alen, a,
             b ? ":" : "", (int)blen, b ? b : "");
}

static void names_case(const char *expr, const char *want, int line)
{
    char got[512] = "";
    ipf_xpath_names names = {ns, var, report, got};
    int n = ipf_xpath_check_names(expr, &names);
    const char *shown = n ? got : "none";
    EXPECT(strcmp(shown, want) == 0, "line %d: %s gives [%s], want [%s]", line, expr, shown, want);
}

/* The pieces ipf_interp_next() finds, as "lit:TEXT" (unescaped), "expr:X",
 * "empty", "stray" or "unclosed", separated by " | ". */
static void interp_case(const char *text, const char *want, int line)
{
    char got[1024] = "";
    size_t n = 0;
    ipf_interp_piece pc;
    const char *p = text;
    for (ipf_interp_kind k; (k = ipf_interp_next(&p, &pc)) != IPF_INTERP_END && n < 900;) {
        char lit[512];
        const char *sep = n ? " | " : "";
        if (k == IPF_INTERP_LITERAL && pc.len < sizeof lit) {
            ipf_interp_unescape(pc.text, pc.len, lit);
            n += (size_t)snprintf(got + n, sizeof got - n, "%slit:%s", sep, lit);
        } else if (k == IPF_INTERP_EXPR) {
            n +=
                (size_t)snprintf(got + n, sizeof got - n, "%sexpr:%.*s", sep, (int)pc.len, pc.text);
        } else {
            const char *name = k == IPF_INTERP_EMPTY         ? "empty"
                               : k == IPF_INTERP_STRAY_CLOSE ? "stray"
                               : k == IPF_INTERP_UNCLOSED    ? "unclosed"
                                                             : "?";
            n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", sep, name);
            if (k != IPF_INTERP_EMPTY)
                break; /* the scan ends there */
        }
    }
    EXPECT(strcmp(got, want) == 0, "line %d: %s gives [%s], want [%s]", line, text, got, want);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_xpathfn DIR values.txt|names.txt\n");
        return 2;
    }
    ipf_xml_init();
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], argv[2]);
    doc = xmlReadMemory("<r xmlns='urn:test'/>", 21, "empty.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        return 2;
    int rc = strcmp(argv[2], "names.txt") == 0    ? run_table(path, names_case)
             : strcmp(argv[2], "interp.txt") == 0 ? run_table(path, interp_case)
                                                  : run_table(path, value_case);
    xmlFreeDoc(doc);
    return rc;
}
