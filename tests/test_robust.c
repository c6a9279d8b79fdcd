/* test_robust: a check that cannot run never lets a document pass.
 *
 *     test_robust REPO_ROOT
 *
 * libxml2 allocates through xmlMalloc and friends, which xmlMemSetup can
 * replace: here with allocators that fail from the n-th call on.  When the
 * schema or the rule check cannot even start, ipf_validate_document must
 * not say IPF_OK for the realistic sample: an unchecked document counted as
 * valid would be printed and filed (issue 7 item 8).  (A failure later in
 * the work is not tried: libxml2 2.9's schema validator and XPath evaluator
 * themselves crash when an allocation fails in the middle.)  libxml2's own
 * "out of memory" text must not reach stderr either (ipf_xml_init). */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlmemory.h>

#include "check.h"
#include "diag.h"
#include "form.h"
#include "liberr.h"
#include "load.h"
#include "rules.h"
#include "schema.h"
#include "validate.h"
#include "xmldoc.h"

static long countdown = -1; /* allocations left before failing; -1 never fail */
static long failed;         /* allocations refused */

static int refuse(void)
{
    if (countdown < 0)
        return 0;
    if (countdown > 0) {
        countdown--;
        return 0;
    }
    failed++;
    return 1;
}

static void *t_malloc(size_t n)
{
    return refuse() ? NULL : malloc(n);
}

static void *t_realloc(void *p, size_t n)
{
    return refuse() ? NULL : realloc(p, n);
}

static char *t_strdup(const char *s)
{
    return refuse() ? NULL : strdup(s);
}

/* A sentence in Chinese that also says what to do (after "；"). */
static int actionable(const char *t)
{
    int cjk = 0;
    for (const char *p = t; p && *p; p++)
        cjk |= (unsigned char)*p >= 0x80;
    return t && cjk && strstr(t, "；") != NULL;
}

/* Validates doc with allocations failing from the n-th on; returns the
 * status and sets *hit when an allocation was refused. */
static ipf_status validate_failing(const ipf_form *form, const ipf_schema *schema,
                                   const ipf_ruleset *rules, xmlDocPtr doc, long n, int *hit)
{
    ipf_diags *d = ipf_diags_new();
    failed = 0;
    countdown = n;
    ipf_status st = ipf_validate_document(form, schema, rules, NULL, doc, "sample.xml", d);
    countdown = -1;
    *hit = failed > 0;
    if (*hit && st != IPF_OK && ipf_diags_errors(d) == 0)
        EXPECT(0, "status %s after %ld allocations, but no diagnostic says why", ipf_status_str(st),
               n);
    ipf_diags_free(d);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_robust REPO_ROOT\n");
        return 2;
    }
    if (xmlMemSetup(free, t_malloc, t_realloc, t_strdup) != 0) {
        fprintf(stderr, "xmlMemSetup failed\n");
        return 2;
    }
    ipf_xml_init();
    const char *repo = argv[1];
    char *tpl = path_in(repo, "templates/national-filing/template.xml");
    char *data = path_in(repo, "samples/national-filing/chongqing-university-library.xml");
    ipf_diags *d = ipf_diags_new();
    ipf_form *form = NULL;
    ipf_schema *schema = NULL;
    ipf_ruleset *rules = NULL;
    xmlDocPtr doc = NULL;
    ipf_status st = load_form(tpl, d, &form, &schema, &rules);
    if (st == IPF_OK)
        st = ipf_xml_read_file(data, NULL, d, &doc);
    if (st != IPF_OK) {
        ipf_diags_print(d, stderr);
        return 2;
    }
    int hit = 0;
    EXPECT(validate_failing(form, schema, rules, doc, -1, &hit) == IPF_OK,
           "the sample is valid when memory suffices");

    /* Each phase alone, failing at once: the status says so. */
    st = validate_failing(form, NULL, rules, doc, 0, &hit);
    EXPECT(hit && st == IPF_ERR_NOMEM, "rules out of memory at once: %s", ipf_status_str(st));
    st = validate_failing(form, schema, NULL, doc, 0, &hit);
    EXPECT(hit && st == IPF_ERR_NOMEM, "schema out of memory at once: %s", ipf_status_str(st));

    /* Every library error number has a Chinese sentence with what to do. */
    for (unsigned long code = 0x1001; code <= 0x1090; code++) {
        const char *t = ipf_hpdf_error_text(code);
        EXPECT(actionable(t), "libharu 0x%04lX: %s", code, t ? t : "NULL");
    }
    for (int err = 0; err <= 0xBA; err++) {
        const char *t = ipf_ft_error_text(err);
        EXPECT(actionable(t), "FreeType %d: %s", err, t ? t : "NULL");
    }
    for (int code = -3; code <= 5000; code += 7) {
        const char *t = ipf_xml_error_code_text(code);
        EXPECT(actionable(t), "libxml2 %d: %s", code, t ? t : "NULL");
    }
    if (!case_failed)
        printf("robust: out of memory in the schema or the rules: not valid, and said so\n");
    xmlFreeDoc(doc);
    ipf_ruleset_free(rules);
    ipf_schema_free(schema);
    ipf_form_free(form);
    ipf_diags_free(d);
    free(tpl);
    free(data);
    return case_failed ? 1 : 0;
}
