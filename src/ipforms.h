/* ipforms.h: the library's front door, used by the CLI, tests and benchmarks.
 *
 * An engine is created once per process (or per thread) and holds everything
 * that can be prepared once: the catalogue of form templates, and per form
 * (loaded on first use) its schema, rules, fonts and PDF writer.  Each call
 * then handles one document.
 *
 *     ipf_engine *e;  ipf_engine_new(&opts, diags, &e);
 *     ipf_engine_validate(e, "filing.xml", diags);          -- check only
 *     ipf_engine_render(e, "filing.xml", "out/x.pdf", diags);
 *     ipf_engine_free(e);
 *
 * Every problem goes to the diagnostics sink; the status says what kind of
 * failure it was (see diag.h for how statuses map to exit codes). */
#ifndef IPF_IPFORMS_H
#define IPF_IPFORMS_H

#include <stdio.h>

#include "diag.h"
#include "form.h"

typedef struct ipf_engine_options {
    /* Directory holding <form-id>/template.xml; NULL: $IPFORMS_TEMPLATES, or
     * the templates/ directory ipforms was built with. */
    const char *templates_dir;
    /* Fonts that take precedence over the template's (an office's licensed
     * 仿宋_GB2312, say); the template's fonts remain as fallbacks. */
    const char *const *fonts;
    size_t nfonts;
    long long date; /* PDF dates: seconds since the epoch, or -1 for none */
    int pdfa;       /* write PDF/A-1b */
    int force;      /* render even when validation found errors */
} ipf_engine_options;

typedef struct ipf_engine ipf_engine;

ipf_status ipf_engine_new(const ipf_engine_options *opt, ipf_diags *d, ipf_engine **out);
void ipf_engine_free(ipf_engine *e);

/* The forms found, in a stable order (by id).  Owned by the engine. */
size_t ipf_engine_form_count(const ipf_engine *e);
const ipf_form *ipf_engine_form(const ipf_engine *e, size_t i);
const ipf_form *ipf_engine_find_form(const ipf_engine *e, const char *id);

/* Reads and checks a data file.  IPF_OK valid (warnings allowed),
 * IPF_INVALID with diagnostics, or a system error status. */
ipf_status ipf_engine_validate(ipf_engine *e, const char *path, ipf_diags *d);

/* Validates, then writes the PDF to out_path (atomically).  With errors and
 * without force, nothing is written and IPF_INVALID is returned. */
ipf_status ipf_engine_render(ipf_engine *e, const char *path, const char *out_path,
                             ipf_diags *d);

/* The same into memory (caller frees *pdf); for benchmarks and tests. */
ipf_status ipf_engine_render_memory(ipf_engine *e, const char *path, unsigned char **pdf,
                                    size_t *len, ipf_diags *d);

/* The empty form to fill by hand. */
ipf_status ipf_engine_render_blank(ipf_engine *e, const char *form_id, const char *out_path,
                                   ipf_diags *d);

/* Writes a skeleton data file for form_id with a comment on every field. */
ipf_status ipf_engine_skeleton(ipf_engine *e, const char *form_id, FILE *out, ipf_diags *d);

#endif
