/* fdio.c: whole reads and writes on a file descriptor (fdio.h). */
#define _POSIX_C_SOURCE 200809L
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

int ipf_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ipf_read_all(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

pid_t ipf_fork_piped(int *down, int *up)
{
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0)
        return -1;
    if (pipe(from_child) != 0) {
        close(to_child[0]);
        close(to_child[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        errno = e;
        return -1;
    }
    close(pid == 0 ? to_child[1] : to_child[0]);
    close(pid == 0 ? from_child[0] : from_child[1]);
    *down = pid == 0 ? to_child[0] : to_child[1];
    *up = pid == 0 ? from_child[1] : from_child[0];
    return pid;
}
