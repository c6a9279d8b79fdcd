/* fuzz_xml.c: a data file from outside the office, read and validated.
 *
 * The input is the bytes of a data file.  It goes through the reader with
 * its limits (ipf_xml_read_memory) and, when it parses, through everything
 * `ipforms validate` runs for the national form: root and form check, the
 * XSD, the rules and the font coverage.  Checked besides "no crash, no leak,
 * no undefined behaviour": a failure is always explained by at least one
 * error, success never comes with one, and every diagnostic is a clean line
 * (fuzz_check_diags). */
#include <libxml/parser.h>

#include "fontset.h"
#include "form.h"
#include "fuzz_common.h"
#include "rules.h"
#include "schema.h"
#include "validate.h"
#include "xmldoc.h"

static ipf_form *form;
static ipf_schema *schema;
static ipf_ruleset *rules;
static ipf_fontset *fonts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ipf_diags *d = fuzz_setup_begin();
    char *tpl = fuzz_repo_path("templates/national-filing/template.xml");
    fuzz_setup_check(ipf_form_load(tpl, d, &form) == IPF_OK, tpl, d);
    free(tpl);
    fuzz_setup_check(ipf_form_schema_path(form) &&
                         ipf_schema_load(ipf_form_schema_path(form), d, &schema) == IPF_OK,
                     "the national schema", d);
    fuzz_setup_check(ipf_form_rules_path(form) &&
                         ipf_ruleset_load(ipf_form_rules_path(form), d, &rules) == IPF_OK,
                     "the national rules", d);
    fuzz_setup_check(ipf_form_font_count(form) > 0, "a font in the template", d);
    char rel[256];
    snprintf(rel, sizeof rel, "fonts/%s", ipf_form_font_name(form, 0));
    char *font = fuzz_repo_path(rel);
    const char *paths[1] = {font};
    fuzz_setup_check(ipf_fontset_open(paths, 1, d, &fonts) == IPF_OK, font, d);
    free(font);
    ipf_diags_free(d);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const name = "fuzz.xml";
    ipf_diags *d = ipf_diags_new();
    if (!d)
        return 0;
    xmlDocPtr doc = (xmlDocPtr)1;
    ipf_status st = ipf_xml_read_memory((const char *)data, size, name, NULL, d, &doc);
    if (st == IPF_OK) {
        if (!doc)
            fuzz_fail("read succeeded without a document");
        if (ipf_diags_errors(d) != 0)
            fuzz_fail("read succeeded with %zu error(s)", ipf_diags_errors(d));
        size_t before = ipf_diags_errors(d);
        st = ipf_validate_document(form, schema, rules, fonts, doc, name, d);
        if (st == IPF_OK && ipf_diags_errors(d) != before)
            fuzz_fail("validation passed with %zu error(s)", ipf_diags_errors(d) - before);
        if (st == IPF_INVALID && ipf_diags_errors(d) == before)
            fuzz_fail("validation failed without a diagnostic");
        if (st != IPF_OK && st != IPF_INVALID && st != IPF_ERR_NOMEM)
            fuzz_fail("validation returned status %d", (int)st);
        xmlFreeDoc(doc);
    } else {
        if (doc)
            fuzz_fail("failed read (status %d) left a document", (int)st);
        if (st != IPF_INVALID && st != IPF_ERR_NOMEM)
            fuzz_fail("read of bytes returned status %d", (int)st);
        if (st == IPF_INVALID && ipf_diags_errors(d) == 0)
            fuzz_fail("read failed without a diagnostic");
    }
    fuzz_check_diags(d, name);
    ipf_diags_free(d);
    return 0;
}
