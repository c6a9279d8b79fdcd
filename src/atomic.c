/* atomic.c: temporary file, rename, and the sweep of what a killed run left. */
#define _GNU_SOURCE /* syncfs */
#include "atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

#define STALE_SECONDS 3600
#define TMP_EXTRA     32 /* ".", ".ipf", pid, "-", 6 random, ".tmp" */

static void io_error(ipf_diags *d, const char *path, ipf_file_kind kind, const char *what, int e)
{
    const char *why = e == ENOENT    ? "目录不存在"
                      : e == EACCES  ? "没有写入权限"
                      : e == EPERM   ? "没有写入权限"
                      : e == ENOSPC  ? "磁盘空间不足"
                      : e == EDQUOT  ? "磁盘配额已满"
                      : e == EROFS   ? "文件系统只读"
                      : e == ENOTDIR ? "路径中的某一部分不是目录"
                      : e == EISDIR  ? "目标是一个目录"
                      : e == EFBIG ? "文件超过了允许的大小（ulimit -f 或文件系统的限制）"
                      : e == EIO          ? "磁盘读写出错"
                      : e == ENAMETOOLONG ? "文件名过长"
                                          : NULL;
    const char *code = kind == IPF_FILE_CSV     ? "CSV-WRITE"
                       : kind == IPF_FILE_OTHER ? "FILE-WRITE"
                                                : "PDF-WRITE";
    const char *noun = kind == IPF_FILE_CSV     ? " CSV 文件"
                       : kind == IPF_FILE_OTHER ? "文件"
                                                : " PDF 文件";
    ipf_diag_add(d, path, 0, IPF_SEV_ERROR, code, "无法写入%s“%s”：%s（%s）", noun, path,
                 why ? why : strerror(e), what);
}

/* The longest name one directory entry may have there. */
static size_t name_max(const char *path, size_t dirlen)
{
    char *dir = dirlen ? strndup(path, dirlen) : strdup(".");
    long m = dir ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    return m > 0 ? (size_t)m : 255;
}

/* Bytes of base that fit in max, not cutting a UTF-8 sequence. */
static size_t utf8_cut(const char *base, size_t max)
{
    size_t n = strlen(base);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)base[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Creates the temporary file exclusively, mode 0666 less the umask
 * (mkstemp would give 0600, wrong for a form others must read).  The name
 * is shortened so that a target name that fits the file system still fits
 * with the suffix. */
static int make_temp(const char *path, char **tmp_out)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t max = name_max(path, dirlen ? dirlen - 1 : 0);
    size_t keep = utf8_cut(base, max > TMP_EXTRA ? max - TMP_EXTRA : 1);
    size_t cap = dirlen + keep + TMP_EXTRA + 8;
    char *tmp = malloc(cap);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long seed = (unsigned long long)ts.tv_nsec ^
                              ((unsigned long long)getpid() << 20) ^
                              (unsigned long long)(uintptr_t)tmp;
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull + attempt;
        char rnd[7];
        unsigned long long x = seed >> 16;
        for (int i = 0; i < 6; i++) {
            rnd[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[x % 36];
            x /= 36;
        }
        rnd[6] = '\0';
        snprintf(tmp, cap, "%.*s.%.*s.ipf%ld-%s.tmp", (int)dirlen, path, (int)keep, base,
                 (long)getpid(), rnd);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(tmp);
    errno = e;
    return -1;
}

ipf_status ipf_atomic_write(const char *path, const ipf_chunk *chunks, size_t n, int sync,
                            ipf_diags *d)
{
    return ipf_atomic_write_kind(path, IPF_FILE_PDF, chunks, n, sync, d);
}

ipf_status ipf_atomic_write_kind(const char *path, ipf_file_kind kind, const ipf_chunk *chunks,
                                 size_t n, int sync, ipf_diags *d)
{
    /* From the temporary file's creation to its rename or removal, the
     * signals that ask us to stop wait: the file is then either complete
     * under its name or gone. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);
    char *tmp = NULL;
    int fd = make_temp(path, &tmp);
    if (fd < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        io_error(d, path, kind, "创建临时文件", e);
        return e == ENOMEM ? IPF_ERR_NOMEM : IPF_ERR_IO;
    }
    const char *what = "写入";
    int failed = 0, e = 0;
    for (size_t i = 0; i < n && !failed; i++)
        if (chunks[i].len && ipf_write_all(fd, chunks[i].data, chunks[i].len) < 0) {
            failed = 1;
            e = errno;
        }
    if (!failed && sync && fsync(fd) != 0) {
        failed = 1;
        e = errno;
        what = "同步到磁盘";
    }
    if (close(fd) != 0 && !failed) {
        failed = 1;
        e = errno;
        what = "关闭";
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        e = errno;
        what = "替换为新文件";
    }
    if (failed)
        unlink(tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(tmp);
    if (failed) {
        io_error(d, path, kind, what, e);
        return IPF_ERR_IO;
    }
    return IPF_OK;
}

/* ".<name>.ipf<pid>-xxxxxx.tmp": returns the pid, 0 when the name is not ours
 * in this form, -1 when it is the older ".<name>.xxxxxx.tmp". */
static long our_temp(const char *name)
{
    size_t n = strlen(name);
    if (name[0] != '.' || n < 13 || strcmp(name + n - 4, ".tmp") != 0)
        return 0;
    const char *rnd = name + n - 10; /* 6 random characters */
    for (int i = 0; i < 6; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789", rnd[i]) || !rnd[i])
            return 0;
    if (rnd[-1] == '.')
        return n >= 16 && strncmp(rnd - 5, ".pdf.", 5) == 0 ? -1 : 0;
    if (rnd[-1] != '-')
        return 0;
    const char *p = rnd - 1;
    while (p > name && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p == rnd - 1 || p - name < 5 || strncmp(p - 4, ".ipf", 4) != 0)
        return 0;
    return strtol(p, NULL, 10);
}

size_t ipf_atomic_sweep(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    size_t removed = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        long pid = our_temp(de->d_name);
        if (pid == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        int old = now - st.st_mtime > STALE_SECONDS;
        int gone = pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
        if ((old || gone) && unlinkat(dirfd(dh), de->d_name, 0) == 0)
            removed++;
    }
    closedir(dh);
    return removed;
}

ipf_status ipf_sync_dirs(const char *const *dirs, size_t n, ipf_diags *d)
{
    dev_t *done = calloc(n ? n : 1, sizeof *done);
    size_t ndone = 0;
    ipf_status st = IPF_OK;
    for (size_t i = 0; i < n; i++) {
        int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            if (fd >= 0)
                close(fd);
            io_error(d, dirs[i], IPF_FILE_PDF, "同步到磁盘", errno);
            st = IPF_ERR_IO;
            continue;
        }
        int seen = 0;
        for (size_t k = 0; done && k < ndone; k++)
            seen |= done[k] == sb.st_dev;
        if (!seen) {
            if (syncfs(fd) != 0) {
                io_error(d, dirs[i], IPF_FILE_PDF, "同步到磁盘", errno);
                st = IPF_ERR_IO;
            }
            if (done)
                done[ndone++] = sb.st_dev;
        }
        close(fd);
    }
    free(done);
    return st;
}
