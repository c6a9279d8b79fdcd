/* pdf.h: writing a drawing as PDF with libharu.
 *
 * The writer holds what can be prepared once per process (font file paths,
 * the ToUnicode CMap, the sRGB profile for PDF/A) and makes one HPDF_Doc per
 * document, so separate threads may each use their own writer.
 *
 * Files are written to a temporary name in the target directory and renamed
 * into place: a reader never sees a partial PDF, and an existing good PDF is
 * only replaced by a complete new one. */
#ifndef IPF_PDF_H
#define IPF_PDF_H

#include <stddef.h>

#include "diag.h"
#include "drawing.h"
#include "fontset.h"

/* The most pages one PDF can have: libharu keeps every page in one /Kids
 * array of at most HPDF_LIMIT_MAX_ARRAY entries (pdf.c asserts the two
 * agree).  Validation counts pages against it for documents that could come
 * near (validate.c). */
#define IPF_PDF_MAX_PAGES 32767

typedef struct ipf_pdf_options {
    /* Seconds since the epoch for CreationDate/ModDate; -1 writes no dates,
     * which with the rest of the writer gives byte-identical output for
     * identical input.  The CLI takes it from SOURCE_DATE_EPOCH or the clock. */
    long long date;
    int pdfa; /* non-zero: PDF/A-1b (XMP metadata, sRGB output intent) */
} ipf_pdf_options;

typedef struct ipf_pdf_writer ipf_pdf_writer;

/* fonts must outlive the writer. */
ipf_status ipf_pdf_writer_new(const ipf_fontset *fonts, ipf_diags *d, ipf_pdf_writer **out);
void ipf_pdf_writer_free(ipf_pdf_writer *w);

/* Writes dr to path atomically.  On failure nothing new is left on disk. */
ipf_status ipf_pdf_write_file(ipf_pdf_writer *w, const ipf_drawing *dr, const ipf_pdf_options *opt,
                              const char *path, ipf_diags *d);

/* The same; sync 0 skips the fsync, for a batch that syncs once at the end
 * (atomic.h). */
ipf_status ipf_pdf_write_file_sync(ipf_pdf_writer *w, const ipf_drawing *dr,
                                   const ipf_pdf_options *opt, const char *path, int sync,
                                   ipf_diags *d);

/* Writes dr into a malloc'd buffer; the caller frees *buf. */
ipf_status ipf_pdf_write_memory(ipf_pdf_writer *w, const ipf_drawing *dr,
                                const ipf_pdf_options *opt, unsigned char **buf, size_t *len,
                                ipf_diags *d);

#endif
