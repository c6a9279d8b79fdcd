/* fdio.h: whole reads and writes on a file descriptor.
 *
 * write(2) and read(2) may move fewer bytes than asked, on pipes above all,
 * and may be interrupted by a signal; the output files (atomic.c) and the
 * pipes between a batch or a roll-up and its workers (batch.c, collect.c)
 * all need every byte or a failure. */
#ifndef IPF_FDIO_H
#define IPF_FDIO_H

#include <stddef.h>

/* Writes all n bytes: 0, or -1 with errno set (EIO when nothing could be
 * written and the system gave no reason). */
int ipf_write_all(int fd, const void *buf, size_t n);

/* Reads exactly n bytes: 0, or -1 at end of file or on error. */
int ipf_read_all(int fd, void *buf, size_t n);

#endif
