/* rules.h: a jurisdiction's rules, as data.
 *
 * A rule file (templates/<form>/rules.xml, schema templates/schema/rules.xsd)
 * lists rules; each has a code, a severity, the 条款 it rests on, a context
 * (XPath selecting the nodes it applies to), an assertion (XPath 1.0,
 * evaluated with each context node as ".") and a Chinese message that may
 * embed values as {xpath}.  Every failing context node gives one diagnostic
 * at that node's line.  Extension functions available in every expression
 * (namespace urn:ipforms:functions, prefix ipf):
 *   ipf:chars(node-set?)     characters excluding all white space (the
 *                            office's 字数; U+3000 counts as white space)
 *   ipf:matches(str, re)     XSD regular expression match of the whole string
 *   ipf:date-le(a, b)        ISO dates compared (a <= b); false when either
 *                            is not a valid YYYY-MM-DD
 *   ipf:quote(x)             “x” with white space collapsed, or '' when x
 *                            has no text (names in messages)
 * The file may also hold <setting name=".." value=".." type=".."/> entries
 * (due dates, thresholds), $name in expressions; a typed setting (number,
 * date, regex) is checked when the file is loaded. */
#ifndef IPF_RULES_H
#define IPF_RULES_H

#include <libxml/tree.h>

#include "diag.h"

typedef struct ipf_ruleset ipf_ruleset;

/* Errors in the rule file (bad XPath, unknown severity, ...) name the rule
 * file and line (an included file's, for what it holds); status
 * IPF_ERR_TEMPLATE.  Owner: caller.
 *
 * A rule file may <include href="…"/> others (relative to itself, nesting
 * and cycles checked): their namespaces, sources, settings and rules come
 * first, the including file's settings override theirs (keeping their type
 * unless given), <remove code="…"/> drops an included rule, and its own
 * rules are added.  ipf_ruleset_load_for also checks that the file's
 * form="" is form (the template using it): a rule file copied for a new
 * form and not renamed is refused. */
ipf_status ipf_ruleset_load(const char *path, ipf_diags *d, ipf_ruleset **out);
ipf_status ipf_ruleset_load_for(const char *path, const char *form, ipf_diags *d,
                                ipf_ruleset **out);
void ipf_ruleset_free(ipf_ruleset *rs);

/* Checks every rule against doc; all problems are reported.  IPF_OK when no
 * error was found (warnings allowed), IPF_INVALID otherwise.  Thread-safe. */
ipf_status ipf_ruleset_check(const ipf_ruleset *rs, xmlDocPtr doc, const char *file, ipf_diags *d);

size_t ipf_ruleset_count(const ipf_ruleset *rs);
/* A setting's value, or NULL. */
const char *ipf_ruleset_setting(const ipf_ruleset *rs, const char *name);
/* Every setting in turn, for the templates ($name): i < count. */
size_t ipf_ruleset_setting_count(const ipf_ruleset *rs);
const char *ipf_ruleset_setting_name(const ipf_ruleset *rs, size_t i);
const char *ipf_ruleset_setting_value(const ipf_ruleset *rs, size_t i);

#endif
