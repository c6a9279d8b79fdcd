/* xmldoc.h: reading XML safely, for data, templates, schemas and rules alike.
 *
 * Data files come from outside the office, so every document is parsed with no
 * network, no DTD loading and no entity substitution; a document that declares
 * a DOCTYPE is refused (a filing has no use for one, and it is the door to
 * XXE and entity-expansion attacks).  Parse errors become diagnostics with the
 * file and line.  Line numbers of elements stay available through
 * xmlGetLineNo() (large files included). */
#ifndef IPF_XMLDOC_H
#define IPF_XMLDOC_H

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "diag.h"

/* The limits bound what a hostile file can cost: memory stays within a small
 * multiple of max_bytes + max_nodes * (size of a node), time linear in the
 * file (docs/threat-model.md). */
typedef struct ipf_xml_limits {
    size_t max_bytes;      /* largest file accepted; 0 = default (16 MiB) */
    int max_depth;         /* deepest element nesting; 0 = default (64) */
    size_t max_text;       /* longest text between two tags, in bytes; 0 = default (1 MiB) */
    size_t max_nodes;      /* elements, attributes, comments and PIs; 0 = default (100,000) */
    int max_attrs;         /* attributes of one element; 0 = default (64) */
    size_t max_attr_value; /* bytes of one attribute value; 0 = default (64 KiB) */
} ipf_xml_limits;

/* Reads and parses path.  On success *out is a document the caller frees with
 * xmlFreeDoc().  On failure *out is NULL, diagnostics say why (code XML-*),
 * and the status is IPF_INVALID (malformed or over a limit) or IPF_ERR_IO
 * (missing, unreadable, a directory).  limits may be NULL. */
ipf_status ipf_xml_read_file(const char *path, const ipf_xml_limits *limits, ipf_diags *d,
                             xmlDocPtr *out);

/* Reads a definition of ours (a template, a rule file, a schema) at path,
 * named by the file from at from_line (from NULL: one given directly).  On
 * failure the reader's diagnostics stand, a named file's also an error code
 * at the naming line, "无法读取 <what> <path>" (not when out of memory), and
 * the status is IPF_ERR_NOMEM or IPF_ERR_TEMPLATE: the definitions are
 * broken, not the data. */
ipf_status ipf_xml_read_definition(const char *path, const char *from, long from_line,
                                   const char *code, const char *what, ipf_diags *d,
                                   xmlDocPtr *out);

/* The same for bytes in memory; name is used in diagnostics. */
ipf_status ipf_xml_read_memory(const char *buf, size_t len, const char *name,
                               const ipf_xml_limits *limits, ipf_diags *d, xmlDocPtr *out);

/* Once per process, before threads: libxml2 never prints its own (English)
 * errors on stderr, in this thread or any later one. */
void ipf_xml_init(void);

/* The line of a node for diagnostics: its own, or the nearest ancestor's. */
long ipf_xml_line(const xmlNode *node);

/* The work one document may cost the XPath of a template or of the rules,
 * in libxml2's operations (a step or a node visited): the 3,000-member
 * filing needs under 300,000; a select as broad as //node() nested in
 * loops would need 10^15.  Past it evaluation fails and the caller says
 * so, naming this limit. */
#define IPF_XPATH_BUDGET 100000000ul

/* Starts ctx's budget for one document. */
void ipf_xml_bound_xpath(xmlXPathContextPtr ctx);

/* Whether ctx's budget is spent (its evaluations now fail). */
int ipf_xml_xpath_exhausted(const xmlXPathContext *ctx);

/* After xmlCopyDoc/xmlDocCopyNode: gives the copy of from (same shape) the
 * line numbers past 65,535 that ipf_xml_line reads, which libxml2 does not
 * copy. */
void ipf_xml_copy_lines(const xmlNode *from, xmlNode *to);

/* libxml2's message of err as one line (newlines made spaces, no trailing
 * space), cut to fit buf; "" when there is none.  Messages are English and
 * go after a Chinese sentence as a detail. */
void ipf_xml_error_text(const xmlError *err, char *buf, size_t size);

#endif
