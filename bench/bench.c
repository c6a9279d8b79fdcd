/* bench.c: how fast ipforms renders, in one process.
 *
 * Usage: ipforms-bench [-n N] [--templates DIR] FILE.xml
 * Renders FILE N times through the library (validation, layout and PDF
 * writing with font embedding, all in memory) and prints the first run
 * (which includes loading the template, schema, rules and fonts) apart from
 * the steady state a batch sees: ms per form and the PDF's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipforms.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int n = 100;
    const char *file = NULL, *templates = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--templates") == 0 && i + 1 < argc)
            templates = argv[++i];
        else
            file = argv[i];
    }
    if (!file || n < 1) {
        fputs("usage: ipforms-bench [-n N] [--templates DIR] FILE.xml\n", stderr);
        return 2;
    }
    ipf_diags *d = ipf_diags_new();
    ipf_engine_options opt = {0};
    opt.templates_dir = templates;
    opt.date = -1;
    ipf_engine *e;
    double t0 = now_ms();
    if (ipf_engine_new(&opt, d, &e) != IPF_OK) {
        ipf_diags_print(d, stderr);
        return 2;
    }
    double first = 0, total = 0;
    size_t size = 0;
    for (int i = 0; i < n; i++) {
        double a = now_ms();
        unsigned char *pdf;
        size_t len;
        ipf_status st = ipf_engine_render_memory(e, file, &pdf, &len, d);
        double b = now_ms();
        if (st != IPF_OK) {
            ipf_diags_print(d, stderr);
            return 2;
        }
        free(pdf);
        size = len;
        if (i == 0)
            first = b - t0;
        else
            total += b - a;
        ipf_diags_clear(d);
    }
    printf("file: %s\n", file);
    printf("first form (engine setup, template, schema, rules, fonts): %.1f ms\n", first);
    if (n > 1)
        printf("steady state over %d forms: %.2f ms per form\n", n - 1, total / (n - 1));
    printf("PDF size: %zu bytes (%.1f KiB)\n", size, size / 1024.0);
    ipf_engine_free(e);
    ipf_diags_free(d);
    return 0;
}
