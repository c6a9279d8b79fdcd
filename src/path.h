/* path.h: file names as the catalogue and the outputs use them.
 *
 * Templates name their companion files (sources, region tables, collation
 * tailorings) relative to themselves, and outputs are named after their
 * inputs; both need the same small string work on '/'-separated paths. */
#ifndef IPF_PATH_H
#define IPF_PATH_H

/* rel as it stands beside file: rel itself when absolute, else file's
 * directory (nothing when file has none) followed by rel.  Owner: the
 * caller; NULL when out of memory. */
char *ipf_path_beside(const char *file, const char *rel);

/* The last component of path without a trailing ext (".xml", ".pdf"), when
 * it has it and something before it.  Owner: the caller; NULL when out of
 * memory. */
char *ipf_path_stem(const char *path, const char *ext);

#endif
