/* hpdf_memcpy.c: libharu's byte copy, done by the C library.
 *
 * libharu 2.3.0 copies every byte it streams (each finished stream into its
 * object, then the whole document into the output) with HPDF_MemCpy, a loop
 * of one byte at a time: 14 % of a form's instructions.  Its 39 calls inside
 * libhpdf go through the PLT, so this definition, exported by the
 * executable, takes their place (ELF symbol interposition) with the same
 * contract: copy n bytes, return out + n.  memmove, as the loop copies
 * forward and a caller could hand it overlapping buffers. */
#include <hpdf.h>
#include <hpdf_utils.h>
#include <string.h>

#include "hpdf_memcpy.h"

HPDF_BYTE *HPDF_MemCpy(HPDF_BYTE *out, const HPDF_BYTE *in, HPDF_UINT n)
{
    if (n)
        memmove(out, in, n);
    return out + n;
}

void ipf_hpdf_memcpy_link(void) {}
