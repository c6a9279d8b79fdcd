/* hpdf_memcpy.h: see hpdf_memcpy.c. */
#ifndef IPF_HPDF_MEMCPY_H
#define IPF_HPDF_MEMCPY_H

/* Does nothing; calling it links the faster HPDF_MemCpy into the program
 * (a static library's member is only linked when something refers to it). */
void ipf_hpdf_memcpy_link(void);

#endif
