/* csv.h: rosters in, published lists out, as offices keep them in Excel or WPS.
 *
 * Reading (RFC 4180): fields separated by commas, records by CRLF or LF,
 * quoted fields with "" for a quote and line breaks inside quotes.  The
 * encoding is found from the bytes, not asked for: a UTF-8 BOM, else valid
 * UTF-8, else GB18030 (what Excel on a Chinese Windows writes for "CSV（逗号
 * 分隔）"), converted with ICU's ucnv.  (Bytes valid in both with no
 * three-byte UTF-8 sequence, whose GB18030 reading is all Han, are GB18030:
 * a Chinese roster in UTF-8 has three-byte sequences in its very headings.)  Anything else (UTF-16, bytes valid in
 * neither) and every malformed record is an error naming the line and saying
 * how to save the file instead.  Fully empty lines are skipped; every other
 * record must have as many fields as the first (the headings).
 *
 * Writing: UTF-8 with a BOM (so that Excel opens it as UTF-8) or GB18030,
 * every field quoted per RFC 4180 when it holds a comma, quote or line break,
 * records ended by CRLF.  A field that begins with = + - @, a tab or a CR is
 * prefixed with an apostrophe, so that a spreadsheet shows it as text rather
 * than running it as a formula (OWASP "CSV injection"). */
#ifndef IPF_CSV_H
#define IPF_CSV_H

#include <stddef.h>

#include "diag.h"

/* ------------------------------------------------------------ reading */

typedef struct ipf_csv ipf_csv;

/* Reads a CSV file.  On success *out holds every record (the first one is the
 * headings); owner: caller, ipf_csv_free().  On failure *out is NULL and the
 * diagnostics (code CSV-*) name the line. */
ipf_status ipf_csv_read_file(const char *path, ipf_diags *d, ipf_csv **out);
/* The same for bytes in memory; name is used in diagnostics. */
ipf_status ipf_csv_read_memory(const char *buf, size_t len, const char *name, ipf_diags *d,
                               ipf_csv **out);
void ipf_csv_free(ipf_csv *c);

size_t ipf_csv_records(const ipf_csv *c); /* headings included */
size_t ipf_csv_fields(const ipf_csv *c);  /* per record (all have the same) */
/* A field as UTF-8, never NULL; valid while c lives. */
const char *ipf_csv_field(const ipf_csv *c, size_t record, size_t field);
/* The file line where a record begins, for diagnostics. */
long ipf_csv_line(const ipf_csv *c, size_t record);
/* "UTF-8", "UTF-8 (BOM)" or "GB18030": what was detected. */
const char *ipf_csv_encoding(const ipf_csv *c);

/* ------------------------------------------------------------ writing */

typedef enum ipf_csv_charset { IPF_CSV_UTF8_BOM = 0, IPF_CSV_GB18030 = 1 } ipf_csv_charset;

/* "utf-8" / "gb18030" (any case) → charset; -1 for anything else. */
int ipf_csv_charset_parse(const char *name);

typedef struct ipf_csv_writer ipf_csv_writer;

ipf_status ipf_csv_writer_new(ipf_csv_charset cs, ipf_csv_writer **out);
void ipf_csv_writer_free(ipf_csv_writer *w);
/* Appends one field (UTF-8) to the current record. */
ipf_status ipf_csv_put(ipf_csv_writer *w, const char *utf8);
/* Ends the current record. */
ipf_status ipf_csv_end_record(ipf_csv_writer *w);
/* The file so far in the chosen charset; valid until the next call on w.
 * A character GB18030 cannot hold does not exist (it covers all of Unicode),
 * so conversion fails only on memory. */
ipf_status ipf_csv_bytes(ipf_csv_writer *w, const unsigned char **buf, size_t *len);
/* Writes the file atomically (temporary name in the same directory, then
 * renamed): an existing file is only replaced by a complete new one. */
ipf_status ipf_csv_write_file(ipf_csv_writer *w, const char *path, ipf_diags *d);

#endif
