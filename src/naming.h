/* naming.h: where a document's PDF goes.
 *
 * By default beside the data (or in the output directory) under the data
 * file's name, .xml replaced by .pdf.  With a name pattern the name comes
 * from the data: literal text with XPath expressions in braces, evaluated
 * against the document's root with the form's namespace prefixes and $file
 * (the data file's name without .xml), e.g.
 *
 *     --name '{d:institution/d:name}-{$file}'
 *
 * "{{" and "}}" stand for braces.  The result is made safe for Windows and
 * Linux file systems alike (ipf_name_safe). */
#ifndef IPF_NAMING_H
#define IPF_NAMING_H

#include <libxml/tree.h>

#include "diag.h"
#include "form.h"

/* The longest name ipf_name_safe gives, in bytes, before ".pdf": room for
 * the suffix a batch adds and for the temporary file's, within 255. */
#define IPF_NAME_MAX 200

/* *out: dir/<name>.pdf, newly allocated.  dir NULL: the data file's
 * directory.  pattern NULL: the data file's name.  IPF_ERR_USAGE, reported,
 * for a pattern that does not compile. */
ipf_status ipf_output_name(const ipf_form *form, xmlDocPtr doc, const char *input, const char *dir,
                           const char *pattern, char **out, ipf_diags *d);

/* Checks a pattern's expressions compile (before a batch starts). */
ipf_status ipf_name_pattern_check(const char *pattern, ipf_diags *d);

/* s as a file name: no path separators, no characters Windows refuses
 * (\ / : * ? " < > | and control characters), malformed UTF-8 replaced,
 * white space runs as one space, no leading dot or space, no trailing dot
 * or space, not a Windows device name (CON, NUL, COM1, ...), at most
 * IPF_NAME_MAX bytes cut at a character boundary.  "" stays "".  Caller
 * frees; NULL when out of memory. */
char *ipf_name_safe(const char *s);

#endif
