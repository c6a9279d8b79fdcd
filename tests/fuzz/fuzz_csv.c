/* fuzz_csv.c: a CSV roster from an office's spreadsheet, read and written back.
 *
 * The input is the bytes of a roster.  Checked besides "no crash, no leak,
 * no undefined behaviour":
 *   - a refusal is explained by at least one error and yields no table;
 *     success comes with no error (fuzz_check_diags: every diagnostic a
 *     clean line);
 *   - every field is valid UTF-8 without NUL, every record has the headings'
 *     number of fields, records' lines never decrease;
 *   - written back as CSV (UTF-8 with BOM) and read again, the table is the
 *     same but for the apostrophe put before a field beginning with
 *     = + - @, tab or CR; written as GB18030 and read again, the same. */
#include "csv.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int risky(const char *s)
{
    return s[0] && strchr("=+-@\t\r", s[0]) != NULL;
}

/* Writes c in charset cs, reads it back, compares with c. */
static void round_trip(const ipf_csv *c, ipf_csv_charset cs)
{
    ipf_csv_writer *w;
    if (ipf_csv_writer_new(cs, &w) != IPF_OK)
        abort();
    size_t nr = ipf_csv_records(c), nf = ipf_csv_fields(c);
    for (size_t r = 0; r < nr; r++) {
        for (size_t f = 0; f < nf; f++)
            if (ipf_csv_put(w, ipf_csv_field(c, r, f)) != IPF_OK)
                abort();
        if (ipf_csv_end_record(w) != IPF_OK)
            abort();
    }
    const unsigned char *b;
    size_t n;
    if (ipf_csv_bytes(w, &b, &n) != IPF_OK)
        abort();
    /* GB18030 bytes that are valid UTF-8 too are ambiguous without a BOM
     * (csv.h): only the reading must not fail then. */
    int ambiguous = 0;
    if (cs == IPF_CSV_GB18030) {
        const char *p = (const char *)b, *end = p + n;
        ambiguous = 1;
        char *z = malloc(n + 1);
        if (!z)
            abort();
        memcpy(z, b, n);
        z[n] = '\0';
        for (p = z, end = z + n; p < end && ambiguous;) {
            uint32_t cp;
            if (ipf_utf8_next(&p, &cp) < 0 || cp == 0)
                ambiguous = 0;
        }
        free(z);
    }
    ipf_diags *d = ipf_diags_new();
    ipf_csv *back = NULL;
    ipf_status st = ipf_csv_read_memory((const char *)b, n, "back.csv", d, &back);
    /* A record of one empty field is an empty line, which the reader skips. */
    size_t kept = 0;
    for (size_t r = 0; r < nr; r++)
        kept += !(nf == 1 && ipf_csv_field(c, r, 0)[0] == '\0');
    if (ambiguous) {
        if (kept && st != IPF_OK)
            fuzz_fail("GB18030 output (valid UTF-8 too) does not read back");
    } else if (kept == 0) {
        if (st == IPF_OK)
            fuzz_fail("a table of empty lines read back as %zu records", ipf_csv_records(back));
    } else {
        if (st != IPF_OK) {
            ipf_diags_print(d, stderr);
            fuzz_fail("the writer's output (charset %d) does not read back", (int)cs);
        }
        if (ipf_csv_records(back) != kept || ipf_csv_fields(back) != nf)
            fuzz_fail("read back %zu x %zu, wrote %zu x %zu", ipf_csv_records(back),
                      ipf_csv_fields(back), kept, nf);
        size_t rb = 0;
        for (size_t r = 0; r < nr; r++) {
            if (nf == 1 && ipf_csv_field(c, r, 0)[0] == '\0')
                continue;
            for (size_t f = 0; f < nf; f++) {
                const char *o = ipf_csv_field(c, r, f), *g = ipf_csv_field(back, rb, f);
                int ok = risky(o) ? g[0] == '\'' && strcmp(g + 1, o) == 0 : strcmp(g, o) == 0;
                if (!ok)
                    fuzz_fail("record %zu field %zu: wrote \"%s\", read \"%s\"", r, f, o, g);
            }
            rb++;
        }
    }
    ipf_csv_free(back);
    ipf_diags_free(d);
    ipf_csv_writer_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    ipf_diags *d = ipf_diags_new();
    if (!d)
        abort();
    ipf_csv *c = NULL;
    ipf_status st = ipf_csv_read_memory((const char *)data, size, "roster.csv", d, &c);
    fuzz_check_diags(d, "roster.csv");
    if (st != IPF_OK) {
        if (c)
            fuzz_fail("refused (%s) but a table was returned", ipf_status_str(st));
        if (st != IPF_ERR_NOMEM && ipf_diags_errors(d) == 0)
            fuzz_fail("refused (%s) without an error", ipf_status_str(st));
    } else {
        if (ipf_diags_errors(d) != 0)
            fuzz_fail("accepted with %zu errors", ipf_diags_errors(d));
        long prev = 0;
        for (size_t r = 0; r < ipf_csv_records(c); r++) {
            if (ipf_csv_line(c, r) < prev || ipf_csv_line(c, r) < 1)
                fuzz_fail("record %zu at line %ld after line %ld", r, ipf_csv_line(c, r), prev);
            prev = ipf_csv_line(c, r);
            for (size_t f = 0; f < ipf_csv_fields(c); f++) {
                const char *p = ipf_csv_field(c, r, f);
                while (*p) {
                    uint32_t cp;
                    if (ipf_utf8_next(&p, &cp) < 0)
                        fuzz_fail("record %zu field %zu is not valid UTF-8", r, f);
                }
            }
        }
        round_trip(c, IPF_CSV_UTF8_BOM);
        round_trip(c, IPF_CSV_GB18030);
    }
    ipf_csv_free(c);
    ipf_diags_free(d);
    return 0;
}
