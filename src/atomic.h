/* atomic.h: writing an output file so that a reader never sees a partial one.
 *
 * The bytes go to a hidden temporary file in the target directory,
 *
 *     .<name>.ipf<pid>-<6 random>.tmp
 *
 * (the name shortened when the whole would not fit the file system's limit
 * on one name), which is then renamed over the target.  SIGINT, SIGTERM and
 * SIGHUP are held back from creating the temporary file until the rename is
 * done or the file removed, so a signal never leaves one behind; only
 * SIGKILL or a power cut can, and ipf_atomic_sweep() removes those at the
 * next run into that directory.
 *
 * Durability: by default the file is fsync'ed before the rename
 * (IPF_ATOMIC_SYNC).  A batch may skip that per file and call
 * ipf_sync_dirs() once at the end, before it reports success
 * (docs/batch.md says what is promised). */
#ifndef IPF_ATOMIC_H
#define IPF_ATOMIC_H

#include <stddef.h>

#include "diag.h"

typedef struct ipf_chunk {
    const unsigned char *data;
    size_t len;
} ipf_chunk;

/* What a file is, as a failure to write it names it: PDF-WRITE "PDF 文件",
 * CSV-WRITE "CSV 文件", or FILE-WRITE "文件" (a --report). */
typedef enum ipf_file_kind { IPF_FILE_PDF, IPF_FILE_CSV, IPF_FILE_OTHER } ipf_file_kind;

/* Writes the chunks, in order, to path atomically.  sync: fsync the file
 * before the rename.  Problems are reported against path, as the kind of
 * file it is. */
ipf_status ipf_atomic_write_kind(const char *path, ipf_file_kind kind, const ipf_chunk *chunks,
                                 size_t n, int sync, ipf_diags *d);

/* The same for a PDF. */
ipf_status ipf_atomic_write(const char *path, const ipf_chunk *chunks, size_t n, int sync,
                            ipf_diags *d);

/* Removes stale temporary files of ours from dir: names in the form above
 * whose process is gone, or older than an hour (another machine's, on a
 * shared directory), and the older form ".<name>.XXXXXX.tmp" once older
 * than an hour.  Returns how many were removed; problems are ignored. */
size_t ipf_atomic_sweep(const char *dir);

/* Flushes the file systems holding these directories to disk (syncfs, one
 * call per distinct file system).  IPF_ERR_IO, reported as PDF-WRITE (the
 * directories hold a batch's PDFs), when one fails. */
ipf_status ipf_sync_dirs(const char *const *dirs, size_t n, ipf_diags *d);

#endif
