/* diag.h: status codes and the diagnostics sink.
 *
 * Every module reports problems by adding them to an ipf_diags and returns an
 * ipf_status; nothing below main() prints or exits.  A diagnostic prints as
 *
 *     file:line: error|warning CODE message
 *
 * (line 0 means "the file as a whole" and prints as "file: error CODE ...").
 * Messages are Chinese and name the field, so a clerk can act on them. */
#ifndef IPF_DIAG_H
#define IPF_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes of the CLI follow these: 0 valid, 1 invalid data, 2 usage or
 * system error.  ipf_status_exit_code() maps the rest onto 2. */
typedef enum ipf_status {
    IPF_OK = 0,
    IPF_INVALID = 1,      /* the data broke a rule; diagnostics say which */
    IPF_ERR_USAGE = 2,    /* bad command line or unknown form */
    IPF_ERR_IO = 3,       /* a file could not be read or written */
    IPF_ERR_NOMEM = 4,    /* allocation failed */
    IPF_ERR_TEMPLATE = 5, /* a template, schema or rule file is broken */
    IPF_ERR_FONT = 6,     /* a font could not be loaded */
    IPF_ERR_PDF = 7,      /* libharu reported an error */
    IPF_ERR_INTERNAL = 8
} ipf_status;

const char *ipf_status_str(ipf_status st);

/* s as it may be printed: malformed UTF-8 and control characters as "\xNN",
 * as in every diagnostic (a file name can hold a newline or an escape).
 * Returns a new string the caller frees, or NULL when out of memory. */
char *ipf_printable(const char *s);
int ipf_status_exit_code(ipf_status st);

typedef enum ipf_severity { IPF_SEV_WARNING = 1, IPF_SEV_ERROR = 2 } ipf_severity;

/* One diagnostic.  All strings are owned by the ipf_diags that holds it. */
typedef struct ipf_diag {
    const char *file; /* as given by the caller, never NULL ("-" for stdin) */
    long line;        /* 1-based; 0 when the problem has no line */
    ipf_severity severity;
    const char *code;    /* stable, upper-case, e.g. "NAT-STAFF-MIN" */
    const char *message; /* UTF-8, Chinese, names the field */
} ipf_diag;

/* A growing list of diagnostics.  Opaque; the caller owns it. */
typedef struct ipf_diags ipf_diags;

ipf_diags *ipf_diags_new(void);
void ipf_diags_free(ipf_diags *d);
void ipf_diags_clear(ipf_diags *d);

/* Adds one diagnostic; the strings are copied.  fmt is printf-style.
 * Allocation failure is remembered (ipf_diags_oom) rather than lost silently. */
void ipf_diag_add(ipf_diags *d, const char *file, long line, ipf_severity sev, const char *code,
                  const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
void ipf_diag_vadd(ipf_diags *d, const char *file, long line, ipf_severity sev, const char *code,
                   const char *fmt, va_list ap);

size_t ipf_diags_count(const ipf_diags *d);
const ipf_diag *ipf_diags_get(const ipf_diags *d, size_t i);
size_t ipf_diags_errors(const ipf_diags *d);
size_t ipf_diags_warnings(const ipf_diags *d);
int ipf_diags_oom(const ipf_diags *d);

/* Stable sort by file (first-seen order), then line; equal lines keep the
 * order in which they were added. */
void ipf_diags_sort(ipf_diags *d);

/* Writes every diagnostic, one per line, in the format above. */
void ipf_diags_print(const ipf_diags *d, FILE *out);
/* Formats one diagnostic into a newly allocated string (caller frees). */
char *ipf_diag_format(const ipf_diag *g);

#endif
