/* liberr.h: a library's error number as a clerk can act on it.
 *
 * libharu, FreeType and libxml2 report failures as numbers (and libxml2 as
 * English text).  Each function here says, in Chinese, what happened and
 * what to do; the number itself goes after it as a detail for whoever
 * maintains the installation.  The strings are static; never NULL. */
#ifndef IPF_LIBERR_H
#define IPF_LIBERR_H

/* A libharu error number (hpdf_error.h). */
const char *ipf_hpdf_error_text(unsigned long code);

/* A FreeType error number (fterrdef.h), for a font file. */
const char *ipf_ft_error_text(int err);

/* A libxml2 error number (xmlerror.h) of a failure that is not about the
 * data itself (an internal error of a check). */
const char *ipf_xml_error_code_text(int code);

#endif
