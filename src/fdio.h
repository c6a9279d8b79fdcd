/* fdio.h: whole reads and writes on a file descriptor.
 *
 * write(2) and read(2) may move fewer bytes than asked, on pipes above all,
 * and may be interrupted by a signal; the output files (atomic.c) and the
 * pipes between a batch or a roll-up and its workers (batch.c, collect.c)
 * all need every byte or a failure. */
#ifndef IPF_FDIO_H
#define IPF_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes: 0, or -1 with errno set (EIO when nothing could be
 * written and the system gave no reason). */
int ipf_write_all(int fd, const void *buf, size_t n);

/* Reads exactly n bytes: 0, or -1 at end of file or on error. */
int ipf_read_all(int fd, void *buf, size_t n);

/* fork(2) with two pipes, one towards the child and one back: the child's
 * pid (0 in the child), or -1 with nothing left open.  Each side keeps only
 * its own ends: in the parent *down is written and *up read, in the child
 * *down is read and *up written.  Flush stdio before, or the child writes
 * what was buffered once more. */
pid_t ipf_fork_piped(int *down, int *up);

#endif
