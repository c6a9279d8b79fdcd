/* batch.h: many documents at once, in parallel, with progress and a report.
 *
 *     ipf_batch_inputs(args, n, files_from, &list, d);  -- FILE, DIR (*.xml), list
 *     ipf_batch_run(engine, &opt, list, &result);
 *
 * Work is done by worker processes forked once the catalogue is loaded
 * (they share it copy-on-write); a single input is handled in-process.  The
 * parent hands out inputs in order, arbitrates output names (the first input
 * in input order keeps a name; a later one that would overwrite it fails
 * with OUTPUT-COLLISION), prints each document's diagnostics in input order
 * as soon as it and those before it are done, and replaces a worker that
 * crashes or passes the per-file time limit (that input fails, named).
 *
 * SIGINT and SIGTERM stop the batch: nothing new is started, documents being
 * worked on are finished, the report lists what was not done.  No temporary
 * file is left (atomic.h).  A second signal stops the workers at once.
 *
 * Output goes to the streams given; the run's outcome is the result's
 * exit code (0 all rendered or valid, 1 some invalid, 2 some failed or not
 * done). */
#ifndef IPF_BATCH_H
#define IPF_BATCH_H

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "ipforms.h"

typedef struct ipf_batch_options {
    int render;               /* 0: validate only */
    int jobs;                 /* worker processes; 0: the number of cores */
    const char *out_dir;      /* NULL: beside each data file */
    const char *name_pattern; /* NULL: the data file's name (naming.h) */
    const char *report_path;  /* one JSON line per input, or NULL */
    const char *combine_path; /* one PDF of every rendered document, or NULL */
    int quiet;                /* only problems */
    int progress;             /* -1: when err is a terminal; 0 never; 1 always */
    double timeout;           /* seconds per input; 0: 120 */
    FILE *out;                /* a line per document done */
    FILE *err;                /* diagnostics, progress, the summary */
} ipf_batch_options;

typedef struct ipf_batch_result {
    size_t total, ok, invalid, failed, not_done;
    int exit_code;
} ipf_batch_result;

/* The inputs named by args: files as given, directories searched (with
 * their subdirectories, in name order) for *.xml, and with files_from ("-"
 * for stdin) one path per line.  *out is a NULL-terminated array the caller
 * frees with ipf_batch_inputs_free.  IPF_ERR_IO, reported, when files_from
 * or a directory cannot be read. */
ipf_status ipf_batch_inputs(char *const *args, size_t n, const char *files_from, char ***out,
                            size_t *count, ipf_diags *d);
void ipf_batch_inputs_free(char **list);

/* Runs the batch.  Diagnostics go to opt->err as they come. */
ipf_status ipf_batch_run(ipf_engine *e, const ipf_batch_options *opt, char *const *inputs, size_t n,
                         ipf_batch_result *res);

#endif
