/* test_atomic.c: writes that a signal cannot leave half done (src/atomic.c).
 *
 * A second thread fires SIGTERM at the writing thread as fast as it can
 * while it writes files of a few megabytes.  The handler looks into the
 * directory (with the raw getdents64 system call, which is safe in a signal
 * handler): if the signals were not held back while a temporary file
 * exists, some would arrive in the middle of a write and find one.  Also: a
 * name of 250 bytes, whose temporary name would not fit in 255, is written;
 * the sweep removes a dead process's temporary file and keeps the rest. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "check.h"

static int dir_fd;
static atomic_int signals_seen, temp_seen, done_writing;
static pthread_t writer;

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static void on_term(int sig)
{
    (void)sig;
    char buf[4096];
    lseek(dir_fd, 0, SEEK_SET);
    long n;
    while ((n = syscall(SYS_getdents64, dir_fd, buf, sizeof buf)) > 0)
        for (long at = 0; at < n;) {
            struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + at);
            size_t len = strlen(e->d_name);
            if (len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0)
                atomic_fetch_add(&temp_seen, 1);
            at += e->d_reclen;
        }
    atomic_fetch_add(&signals_seen, 1);
}

static void *fire(void *arg)
{
    (void)arg;
    while (!atomic_load(&done_writing)) {
        pthread_kill(writer, SIGTERM);
        usleep(50);
    }
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/ipf-atomic-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    size_t big = 4u << 20;
    unsigned char *data = malloc(big);
    memset(data, 'x', big);
    ipf_chunk c[4] = {{data, big / 4}, {data, big / 4}, {data, big / 4}, {data, big / 4}};
    ipf_diags *d = ipf_diags_new();
    writer = pthread_self();
    pthread_t t;
    pthread_create(&t, NULL, fire, NULL);
    char path[512];
    int written = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(path, sizeof path, "%s/f%02d.pdf", dir, i);
        written += ipf_atomic_write(path, c, 4, i % 2, d) == IPF_OK;
    }
    atomic_store(&done_writing, 1);
    pthread_join(t, NULL);
    EXPECT(written == 60, "all 60 files written (%d)", written);
    EXPECT(atomic_load(&signals_seen) > 0, "signals arrived");
    EXPECT(atomic_load(&temp_seen) == 0,
           "no signal arrived while a temporary file existed (%d of %d did)",
           atomic_load(&temp_seen), atomic_load(&signals_seen));
    printf("%d signals during 60 writes, none while a temporary file existed\n",
           atomic_load(&signals_seen));

    /* A name that fits, though name + temporary suffix would not. */
    char name[251];
    memset(name, 'n', 246);
    strcpy(name + 246, ".pdf");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    EXPECT(ipf_atomic_write(path, c, 1, 1, d) == IPF_OK, "a 250-byte name written");
    struct stat sb;
    EXPECT(stat(path, &sb) == 0 && (size_t)sb.st_size == big / 4, "and it is whole");

    /* The sweep: a dead process's temporary file goes, others stay. */
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char stale[600], live[600], other[600];
    snprintf(stale, sizeof stale, "%s/.a.pdf.ipf%ld-abc123.tmp", dir, (long)dead);
    snprintf(live, sizeof live, "%s/.b.pdf.ipf%ld-abc123.tmp", dir, (long)getppid());
    snprintf(other, sizeof other, "%s/.c.pdf.tmp", dir);
    const char *make[3] = {stale, live, other};
    for (int i = 0; i < 3; i++)
        close(open(make[i], O_WRONLY | O_CREAT, 0644));
    EXPECT(ipf_atomic_sweep(dir) == 1, "one file swept");
    EXPECT(access(stale, F_OK) != 0, "the dead process's temporary file removed");
    EXPECT(access(live, F_OK) == 0, "a running process's temporary file kept");
    EXPECT(access(other, F_OK) == 0, "a name not ours kept");

    for (int i = 0; i < 3; i++)
        unlink(make[i]);
    unlink(path);
    for (int i = 0; i < 60; i++) {
        snprintf(path, sizeof path, "%s/f%02d.pdf", dir, i);
        unlink(path);
    }
    close(dir_fd);
    rmdir(dir);
    ipf_diags_free(d);
    free(data);
    return case_failed;
}
