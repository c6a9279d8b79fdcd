/* ipforms.h: the library's front door, used by the CLI, tests and benchmarks.
 *
 * An engine holds two things.  The catalogue: form templates, schemas,
 * rules and fonts, each read only when a document (or a command) first
 * needs it, then kept read-only; a schema or font file shared by several
 * forms is loaded once.  So start-up costs the same with 1 form or 50.  And
 * one document's working state (layout and PDF-writer scratch, reused from
 * one document to the next).  One engine serves one thread; a batch
 * (batch.h) forks worker processes after loading, which share the
 * catalogue copy-on-write.  Each call handles one document.
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

/* Reads every template of the catalogue (for `forms`): templates are
 * otherwise read one by one as data names them.  Broken ones are reported
 * (the others stay usable) and duplicates warned about. */
ipf_status ipf_engine_load_all(ipf_engine *e, ipf_diags *d);

/* The forms loaded so far (all of them after ipf_engine_load_all), in a
 * stable order (by id) after ipf_engine_load_all.  Owned by the engine. */
size_t ipf_engine_form_count(const ipf_engine *e);
const ipf_form *ipf_engine_form(const ipf_engine *e, size_t i);
/* Loads the form's template if needed; NULL when there is none. */
const ipf_form *ipf_engine_find_form(ipf_engine *e, const char *id, ipf_diags *d);

/* Loads what documents like path need (its form's template, schema, rules,
 * fonts and writer) without checking path: a batch calls it before forking
 * so that workers share the loaded catalogue. */
ipf_status ipf_engine_prepare(ipf_engine *e, const char *path, ipf_diags *d);

/* Reads and checks a data file.  IPF_OK valid (warnings allowed),
 * IPF_INVALID with diagnostics, or a system error status. */
ipf_status ipf_engine_validate(ipf_engine *e, const char *path, ipf_diags *d);

/* Validates, then writes the PDF to out_path (atomically).  With errors and
 * without force, nothing is written and IPF_INVALID is returned. */
ipf_status ipf_engine_render(ipf_engine *e, const char *path, const char *out_path, ipf_diags *d);

/* One render with control over its output. */
typedef struct ipf_render_request {
    const char *input;
    const char *out_path;     /* the PDF's path; NULL: out_dir and name_pattern */
    const char *out_dir;      /* NULL: the data file's directory */
    const char *name_pattern; /* NULL: the data file's name (naming.h) */
    /* Called with the chosen path before anything is written; non-zero
     * refuses it (claim reports why) and the render fails with IPF_ERR_IO. */
    int (*claim)(void *ctx, const char *out_path, ipf_diags *d);
    void *claim_ctx;
    int no_sync;   /* skip the fsync: the caller syncs once (atomic.h) */
    char *written; /* out: the path written, or NULL; the caller frees it */
} ipf_render_request;

ipf_status ipf_engine_render_request(ipf_engine *e, ipf_render_request *rq, ipf_diags *d);

/* The same into memory (caller frees *pdf); for benchmarks and tests. */
ipf_status ipf_engine_render_memory(ipf_engine *e, const char *path, unsigned char **pdf,
                                    size_t *len, ipf_diags *d);

/* One PDF of several documents for printing: their pages in the order
 * given, an outline entry per document (titles[i], a path whose name
 * without .pdf is shown, or NULL for the data file's), fonts embedded once.
 * Documents must share one set of fonts; others are left out, warned. */
ipf_status ipf_engine_combine(ipf_engine *e, const char *const *inputs, const char *const *titles,
                              size_t n, const char *out_path, ipf_diags *d);

/* The empty form to fill by hand. */
ipf_status ipf_engine_render_blank(ipf_engine *e, const char *form_id, const char *out_path,
                                   ipf_diags *d);

/* Writes a skeleton data file for form_id with a comment on every field. */
ipf_status ipf_engine_skeleton(ipf_engine *e, const char *form_id, FILE *out, ipf_diags *d);

/* ------------------------------------------------------------ documents
 * made from many: published lists and roll-ups (collect.c, docs/lists.md).
 *
 * Both build one data document in memory (its form's schema under
 * templates/schema/) from many inputs, check it like any data file, lay it
 * out with its template, and write the rows of the template's csv="true"
 * table as CSV.  How CSV columns, filings and summaries become rows is data:
 * templates/<form>/sources.xml. */

/* The node limit a form's template declares for its documents (<data
 * max-nodes>), 0 when it declares none (the reader's default applies). */
size_t ipf_engine_max_nodes(const ipf_form *f);

/* Checks doc (its root's form="" names the form) and, when out_path is not
 * NULL, writes its PDF.  name stands for the document in diagnostics.  doc
 * stays the caller's. */
ipf_status ipf_engine_render_doc(ipf_engine *e, xmlDocPtr doc, const char *name,
                                 const char *out_path, ipf_diags *d);

/* A setting of form_id's rule file (a due date, say), or NULL. */
const char *ipf_engine_setting(ipf_engine *e, const char *form_id, const char *name,
                               ipf_diags *d);

typedef struct ipf_list_options {
    const char *form_id;             /* the list's form; NULL: "outlet-list" */
    const char *const *inputs;       /* list documents, CSV rosters, filings, mixed */
    size_t ninputs;
    const char *const *summaries;    /* rollup only: annual summaries */
    size_t nsummaries;
    const char *pdf_path, *csv_path; /* either may be NULL (not written) */
    int csv_charset;                 /* ipf_csv_charset: 0 UTF-8 with BOM, 1 GB18030 */
    const char *year;                /* 2024: the title's year, the roll-up's year */
    const char *date;                /* publication date YYYY-MM-DD; NULL: none */
    const char *issuer;              /* NULL: sources.xml's */
    int jobs;                        /* rollup: processes reading the summaries; 0 the cores */
} ipf_list_options;

/* ipforms list: the outlet list (网点名单) as PDF and CSV. */
ipf_status ipf_engine_list(ipf_engine *e, const ipf_list_options *o, ipf_diags *d);

/* ipforms rollup: the roll-up of annual summaries (年度工作总结汇总表) against
 * the roster given as inputs; form_id NULL: "rollup". */
ipf_status ipf_engine_rollup(ipf_engine *e, const ipf_list_options *o, ipf_diags *d);

/* The outlet-matching name: full-width forms U+FF01–FF5E folded to ASCII
 * (（）→ ()), every white space (ASCII, U+3000, NBSP) removed.  Caller frees. */
char *ipf_outlet_name_key(const char *name);

/* GB 32100-2015: 18 characters from 0-9 and A-Z without I O S V Z, the last a
 * check character over the first 17 (weights 3^i mod 31).  1 valid, 0 not. */
int ipf_credit_code_valid(const char *code);

#endif
