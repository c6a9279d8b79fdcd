/* load.h: what the C unit tests that read the repository's files share: a
 * path under a directory, and a form loaded with the schema and rules its
 * template names (the chain ipforms itself follows, engine.c). */
#ifndef IPF_TEST_LOAD_H
#define IPF_TEST_LOAD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "form.h"
#include "rules.h"
#include "schema.h"

/* dir/rel, newly allocated; exits (status 2) when out of memory, as a test
 * cannot say anything useful without its inputs. */
static inline char *path_in(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* The template at tpl, then its schema, then its rules, stopping at the
 * first that fails (its status; d says why).  What was loaded is the
 * caller's to free, also on failure. */
static inline ipf_status load_form(const char *tpl, ipf_diags *d, ipf_form **form,
                                   ipf_schema **schema, ipf_ruleset **rules)
{
    ipf_status st = ipf_form_load(tpl, d, form);
    if (st == IPF_OK)
        st = ipf_schema_load(ipf_form_schema_path(*form), d, schema);
    if (st == IPF_OK)
        st = ipf_ruleset_load(ipf_form_rules_path(*form), d, rules);
    return st;
}

#endif
