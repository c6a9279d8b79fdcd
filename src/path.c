/* path.c: file names beside files, and stems (path.h). */
#define _POSIX_C_SOURCE 200809L
#include "path.h"

#include <stdlib.h>
#include <string.h>

char *ipf_path_beside(const char *file, const char *rel)
{
    if (rel[0] == '/')
        return strdup(rel);
    const char *slash = strrchr(file, '/');
    size_t dl = slash ? (size_t)(slash - file) + 1 : 0;
    size_t rl = strlen(rel);
    char *p = malloc(dl + rl + 1);
    if (p) {
        memcpy(p, file, dl);
        memcpy(p + dl, rel, rl + 1);
    }
    return p;
}

char *ipf_path_stem(const char *path, const char *ext)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), el = strlen(ext);
    if (n > el && strcmp(base + n - el, ext) == 0)
        n -= el;
    return strndup(base, n);
}
