/* fuzz_common.h: what the fuzz targets share.
 *
 * Each target defines LLVMFuzzerInitialize (loads what a real run loads once:
 * the national template, schema, rules and font, from the repository the
 * target was built in) and LLVMFuzzerTestOneInput.  The same sources build
 * two ways: with libFuzzer (-DIPF_FUZZ=ON, clang) to search, and with
 * replay_main.c to replay the checked-in corpus and regressions in every
 * ctest run.  A broken invariant calls fuzz_fail(), which aborts: libFuzzer
 * and the replay driver both report that as a crash. */
#ifndef IPF_FUZZ_COMMON_H
#define IPF_FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "utf8.h"
#include "xmldoc.h"

#ifndef IPF_FUZZ_REPO
#error "IPF_FUZZ_REPO (the repository root) must be defined by the build"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
static inline void
fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* A setup failure (missing template, font...) is not a finding: say what is
 * missing and stop before any input is run. */
static inline void fuzz_setup_check(int ok, const char *what, ipf_diags *d)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz setup failed: %s\n", what);
    if (d)
        ipf_diags_print(d, stderr);
    exit(2);
}

/* What every target's LLVMFuzzerInitialize starts with: libxml2 set up as
 * ipforms sets it up, and a diagnostics sink for the setup (the caller's to
 * free). */
static inline ipf_diags *fuzz_setup_begin(void)
{
    ipf_xml_init();
    ipf_diags *d = ipf_diags_new();
    fuzz_setup_check(d != NULL, "no memory", NULL);
    return d;
}

/* repo/rel in a malloc'd string. */
static inline char *fuzz_repo_path(const char *rel)
{
    size_t n = strlen(IPF_FUZZ_REPO) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", IPF_FUZZ_REPO, rel);
    return p;
}

/* Every diagnostic a clerk could see is one line of valid UTF-8 with a
 * stable code: no control characters (a newline in a message would forge a
 * further "file:line: error" line), no cut multi-byte sequence. */
static inline void fuzz_check_diags(const ipf_diags *d, const char *file)
{
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (!g || !g->code || !g->message || !g->file)
            fuzz_fail("diagnostic %zu has a NULL field", i);
        if (file && strcmp(g->file, file) != 0 && g->file[0] != '/')
            fuzz_fail("diagnostic %zu names file \"%s\", expected \"%s\"", i, g->file, file);
        if (g->line < 0)
            fuzz_fail("diagnostic %zu has line %ld", i, g->line);
        if (g->severity != IPF_SEV_ERROR && g->severity != IPF_SEV_WARNING)
            fuzz_fail("diagnostic %zu has severity %d", i, (int)g->severity);
        if (!g->code[0])
            fuzz_fail("diagnostic %zu has an empty code", i);
        for (const char *c = g->code; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-'))
                fuzz_fail("diagnostic code \"%s\" is not [A-Z0-9-]+", g->code);
        if (!g->message[0])
            fuzz_fail("diagnostic %s has an empty message", g->code);
        for (const char *p = g->message; *p;) {
            uint32_t c;
            if (ipf_utf8_next(&p, &c) < 0)
                fuzz_fail("diagnostic %s: message is not valid UTF-8 at byte %zu: %s", g->code,
                          (size_t)(p - g->message), g->message);
            if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029)
                fuzz_fail("diagnostic %s: message holds control character U+%04X: %s", g->code,
                          (unsigned)c, g->message);
        }
        char *s = ipf_diag_format(g);
        if (!s)
            fuzz_fail("ipf_diag_format returned NULL");
        free(s);
    }
}

/* Decodes bytes as UTF-8 leniently into code points: a well-formed lead byte
 * and continuation bytes give their value even when it is overlong, a
 * surrogate or above U+10FFFF (the line breaker must cope with any uint32);
 * a stray byte gives U+FFFD.  Returns the count written to out (room for
 * len entries). */
static inline size_t fuzz_decode_lenient(const uint8_t *s, size_t len, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint8_t b = s[i];
        int more = b < 0x80 ? 0 : b >= 0xF0 && b < 0xF8 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : -1;
        if (more < 0 || i + (size_t)more >= len) {
            out[n++] = 0xFFFD;
            i++;
            continue;
        }
        uint32_t c = more == 0 ? b : more == 1 ? b & 0x1Fu : more == 2 ? b & 0x0Fu : b & 0x07u;
        int ok = 1;
        for (int k = 1; k <= more; k++) {
            if ((s[i + (size_t)k] & 0xC0) != 0x80) {
                ok = 0;
                break;
            }
            c = (c << 6) | (s[i + (size_t)k] & 0x3Fu);
        }
        if (!ok) {
            out[n++] = 0xFFFD;
            i++;
            continue;
        }
        out[n++] = c;
        i += (size_t)more + 1;
    }
    return n;
}

#endif
