/* collate.h: putting a list's rows in the order an office publishes them.
 *
 * A template asks for an order on a <repeat>:
 *
 *   <repeat select="d:outlet" sort="number(d:region/@province-code); d:name"
 *           collation="zh" tailoring="../common/collation-zh-places.txt"
 *           group-by="d:region/@province-code">
 *
 * sort: keys separated by ";", each an XPath evaluated on the row's node.  A
 * key whose expression yields a number (number(), count(), sum()) compares
 * numerically, NaN (an empty or non-numeric value) last; any other key
 * compares as text, with ICU's collation for the locale named by
 * collation="…" (zh: pinyin) tailored by the rules in tailoring="…" (ICU
 * rule syntax; lines starting with # are comments), or by code point when no
 * collation is named.  Rows equal on every key keep their document order.
 *
 * group-by: consecutive rows with the same string value of this XPath form a
 * group (sort by the same key first, so each group is one run).
 *
 * Collators are opened once per sorter (one per layout engine, that is per
 * thread) and kept: building the pinyin tailoring costs milliseconds. */
#ifndef IPF_COLLATE_H
#define IPF_COLLATE_H

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "diag.h"

typedef struct ipf_collator ipf_collator;

/* Opens ICU's collator for locale with the extra rules of tailoring_path
 * (NULL: none).  Errors name the tailoring file and line (COLLATION-*). */
ipf_status ipf_collator_open(const char *locale, const char *tailoring_path, ipf_diags *d,
                             ipf_collator **out);
void ipf_collator_free(ipf_collator *c);
/* <0, 0, >0 as a sorts before, with or after b (UTF-8). */
int ipf_collate(const ipf_collator *c, const char *a, const char *b);

typedef struct ipf_sorter ipf_sorter;

ipf_status ipf_sorter_new(ipf_sorter **out);
void ipf_sorter_free(ipf_sorter *s);

/* The rows of a <repeat> in order, and where each group starts. */
typedef struct ipf_rows {
    xmlNodePtr *nodes; /* owned by the ipf_rows (ipf_rows_free) */
    size_t n;
    size_t *group_start; /* ngroups indices into nodes; one group of all when no group-by */
    size_t ngroups;
} ipf_rows;

/* Orders set by repeat's sort="…" and cuts it into groups by group-by="…",
 * evaluating in xp (its variables and namespaces are those of the layout).
 * An expression that does not compile or evaluate is a template error naming
 * the template file and the repeat's line.  out is overwritten. */
ipf_status ipf_rows_order(ipf_sorter *s, const xmlNode *repeat, xmlNodeSetPtr set,
                          xmlXPathContextPtr xp, ipf_diags *d, ipf_rows *out);
void ipf_rows_free(ipf_rows *r);

#endif
