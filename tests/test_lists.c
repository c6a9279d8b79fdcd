/* test_lists.c: CSV in and out (src/csv.c), collation with the place-name
 * tailoring (src/collate.c), outlet-name keys and credit codes (collect.c).
 * Usage: test_lists CASE TEMPLATES_DIR DATA_DIR */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "collate.h"
#include "csv.h"
#include "ipforms.h"
#include "load.h"

static const char *tdir, *ddir;

/* The diagnostics as one string: code and line of each. */
static int has_diag(ipf_diags *d, const char *code, long line, const char *needle)
{
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (strcmp(g->code, code) == 0 && (line < 0 || g->line == line) &&
            (!needle || strstr(g->message, needle)))
            return 1;
    }
    return 0;
}

static void dump(ipf_diags *d)
{
    ipf_diags_print(d, stderr);
}

static void roster(const char *file, const char *encoding)
{
    ipf_diags *d = ipf_diags_new();
    ipf_csv *c = NULL;
    char *p = path_in(ddir, file);
    ipf_status st = ipf_csv_read_file(p, d, &c);
    EXPECT(st == IPF_OK, "%s read: %s", file, ipf_status_str(st));
    if (c) {
        EXPECT(strcmp(ipf_csv_encoding(c), encoding) == 0, "%s: detected %s, want %s", file,
               ipf_csv_encoding(c), encoding);
        EXPECT(ipf_csv_fields(c) == 7, "%s: %zu fields", file, ipf_csv_fields(c));
        EXPECT(strcmp(ipf_csv_field(c, 0, 0), "地区") == 0, "%s: heading “%s”", file,
               ipf_csv_field(c, 0, 0));
        EXPECT(strcmp(ipf_csv_field(c, 1, 1), "长春理工科技大学图书馆") == 0, "%s: “%s”", file,
               ipf_csv_field(c, 1, 1));
        /* a quoted field with "" inside */
        int seen = 0;
        for (size_t r = 1; r < ipf_csv_records(c); r++)
            seen |= strcmp(ipf_csv_field(c, r, 5), "=HYPERLINK(\"http://evil\")") == 0;
        EXPECT(seen || strcmp(file, "roster-utf8.csv") != 0, "%s: quoted field with \"\"", file);
    }
    if (st != IPF_OK)
        dump(d);
    ipf_csv_free(c);
    free(p);
    ipf_diags_free(d);
}

static void broken(const char *file, const char *code, long line, const char *needle)
{
    ipf_diags *d = ipf_diags_new();
    ipf_csv *c = NULL;
    char *p = path_in(ddir, file);
    ipf_status st = ipf_csv_read_file(p, d, &c);
    EXPECT(st == IPF_INVALID && !c, "%s: status %s", file, ipf_status_str(st));
    EXPECT(has_diag(d, code, line, needle), "%s: no %s at line %ld with “%s”", file, code, line,
           needle ? needle : "");
    if (!has_diag(d, code, line, needle))
        dump(d);
    ipf_csv_free(c);
    free(p);
    ipf_diags_free(d);
}

static void case_read(void)
{
    roster("roster-utf8.csv", "UTF-8");
    roster("roster-bom.csv", "UTF-8 (BOM)");
    roster("roster-gb18030.csv", "GB18030");
    broken("roster-latin1.csv", "CSV-ENCODING", 2, "另存为");
    broken("roster-quote.csv", "CSV-QUOTE", 2, "引号");
    broken("roster-fields.csv", "CSV-FIELDS", 2, "有 3 列");
    const char utf16[] = "\xFF\xFE\x30\x57";
    ipf_diags *d = ipf_diags_new();
    ipf_csv *c;
    EXPECT(ipf_csv_read_memory(utf16, 4, "u16.csv", d, &c) == IPF_INVALID, "UTF-16 refused");
    EXPECT(has_diag(d, "CSV-ENCODING", 1, "UTF-16"), "UTF-16 named");
    ipf_diags_free(d);
    /* line numbers count the lines of quoted fields */
    d = ipf_diags_new();
    const char multi[] = "a,b\n\"x\ny\",1\n\"z\"q,2\n";
    EXPECT(ipf_csv_read_memory(multi, strlen(multi), "m.csv", d, &c) == IPF_INVALID, "quote");
    EXPECT(has_diag(d, "CSV-QUOTE", 4, NULL), "text after a closing quote on line 4");
    ipf_diags_free(d);
}

static void case_write(void)
{
    ipf_csv_writer *w;
    EXPECT(ipf_csv_writer_new(IPF_CSV_UTF8_BOM, &w) == IPF_OK, "writer");
    const char *cells[] = {"=1+1", "+86",        "-5",         "@SUM(A1)", "\tx", "\rx",
                           "a,b",  "say \"hi\"", "two\nlines", "厦门",     ""};
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        ipf_csv_put(w, cells[i]);
    ipf_csv_end_record(w);
    const unsigned char *b;
    size_t n;
    ipf_csv_bytes(w, &b, &n);
    const char want[] = "\xEF\xBB\xBF\"'=1+1\",\"'+86\",\"'-5\",\"'@SUM(A1)\",\"'\tx\",\"'\rx\","
                        "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",厦门,\r\n";
    EXPECT(n == strlen(want) && memcmp(b, want, n) == 0, "UTF-8 output: %.*s", (int)n, b);
    ipf_csv_writer_free(w);

    EXPECT(ipf_csv_writer_new(IPF_CSV_GB18030, &w) == IPF_OK, "writer");
    ipf_csv_put(w, "厦门");
    ipf_csv_put(w, "𠀀");
    ipf_csv_end_record(w);
    ipf_csv_bytes(w, &b, &n);
    /* 厦 = CF C3, 门 = C3 C5 in GB2312; U+20000 = 95 32 82 36.  The file's
     * first field is quoted when it begins beyond ASCII: GB18030 text may
     * begin with EF BB BF, which readers take for a UTF-8 BOM. */
    const char gb[] = "\"\xCF\xC3\xC3\xC5\",\x95\x32\x82\x36\r\n";
    EXPECT(n == strlen(gb) && memcmp(b, gb, n) == 0, "GB18030 output (%zu bytes)", n);
    /* and back: the reader detects it */
    ipf_diags *d = ipf_diags_new();
    ipf_csv *c;
    EXPECT(ipf_csv_read_memory((const char *)b, n, "gb.csv", d, &c) == IPF_OK, "read back");
    if (c) {
        EXPECT(strcmp(ipf_csv_field(c, 0, 1), "𠀀") == 0, "supplementary plane round trip");
        ipf_csv_free(c);
    }
    ipf_diags_free(d);
    ipf_csv_writer_free(w);
}

static void case_collate(void)
{
    ipf_diags *d = ipf_diags_new();
    char *t = path_in(tdir, "common/collation-zh-places.txt");
    ipf_collator *c = NULL, *plain = NULL;
    EXPECT(ipf_collator_open("zh", t, d, &c) == IPF_OK, "tailored collator");
    EXPECT(ipf_collator_open("zh", NULL, d, &plain) == IPF_OK, "plain collator");
    if (c && plain) {
        /* ICU alone: 长 zhang, 厦 sha. */
        EXPECT(ipf_collate(plain, "长沙", "郑州") < 0 && ipf_collate(plain, "长沙", "张家口") > 0,
               "ICU reads 长 as zhang");
        /* Tailored: cháng, xià, bèng, lù, yuè, pān, shàn, yán. */
        EXPECT(ipf_collate(c, "长春", "成都") < 0, "长春 under chang, before 成都");
        EXPECT(ipf_collate(c, "常州", "长沙") < 0 && ipf_collate(c, "长沙", "大连") < 0,
               "长沙 between 常州 and 大连");
        EXPECT(ipf_collate(c, "西安", "厦门") < 0 && ipf_collate(c, "厦门", "仙桃") < 0,
               "厦门 under xia");
        EXPECT(ipf_collate(c, "北京", "蚌埠") < 0 && ipf_collate(c, "蚌埠", "亳州") < 0,
               "蚌埠 under beng");
        EXPECT(ipf_collate(c, "泸州", "六安") < 0 && ipf_collate(c, "六盘水", "泸州") < 0,
               "六安 under lu, 六盘水 still liu");
        EXPECT(ipf_collate(c, "岳阳", "乐清") < 0 && ipf_collate(c, "乐山", "李沧") < 0,
               "乐清 yue, 乐山 le");
        EXPECT(ipf_collate(c, "第2中心", "第11中心") < 0, "numeric ordering");
    }
    /* The fast path (rewriting before the key) orders as ICU's own
     * tailoring does: a copy of the file with one rule the fast path does not
     * take (a secondary difference) is built by ICU in full. */
    const char *full = "/tmp/ipf-test-full-rules.txt";
    FILE *in = fopen(t, "r"), *of = fopen(full, "w");
    int ch;
    while (in && of && (ch = fgetc(in)) != EOF)
        fputc(ch, of);
    if (of)
        fputs("\n&z << ʐ\n", of);
    if (in)
        fclose(in);
    if (of)
        fclose(of);
    ipf_collator *icu = NULL;
    EXPECT(ipf_collator_open("zh", full, d, &icu) == IPF_OK, "full ICU tailoring");
    const char *names[] = {"长春", "长沙", "长子县", "成都",   "常州", "大连",    "厦门",
                           "西安", "夏津", "仙桃",   "蚌埠",   "北京", "六安",    "六盘水",
                           "泸州", "乐清", "乐山",   "岳阳",   "番禺", "潘家园",  "单县",
                           "善化", "铅山", "盐城",   "张家口", "重庆", "第2中心", "第11中心",
                           "浚县", "荥阳", "涡阳"};
    size_t nn = sizeof names / sizeof *names;
    for (size_t i = 0; c && icu && i < nn; i++)
        for (size_t j = 0; j < nn; j++) {
            int a = ipf_collate(c, names[i], names[j]), b = ipf_collate(icu, names[i], names[j]);
            EXPECT((a > 0) - (a < 0) == (b > 0) - (b < 0), "%s vs %s: fast %d, ICU %d", names[i],
                   names[j], a, b);
        }
    ipf_collator_free(icu);
    remove(full);
    ipf_collator_free(c);
    ipf_collator_free(plain);
    free(t);
    /* A broken rule names the file and its line. */
    const char *bad = "/tmp/ipf-test-bad-rules.txt";
    FILE *f = fopen(bad, "w");
    fputs("# comment\n&夏 < 厦\n&[bogus < x\n", f);
    fclose(f);
    EXPECT(ipf_collator_open("zh", bad, d, &c) == IPF_ERR_TEMPLATE, "bad rules refused");
    EXPECT(has_diag(d, "COLLATION-RULES", 3, NULL), "line 3 named");
    if (!has_diag(d, "COLLATION-RULES", 3, NULL))
        dump(d);
    remove(bad);
    ipf_diags_free(d);
}

static void case_keys(void)
{
    char *k1 = ipf_outlet_name_key(" 重庆嘉陵科技大学（图书馆） ");
    char *k2 = ipf_outlet_name_key("重庆嘉陵科技大学　(图书馆)");
    EXPECT(strcmp(k1, k2) == 0, "“%s” = “%s”", k1, k2);
    EXPECT(strcmp(k1, "重庆嘉陵科技大学(图书馆)") == 0, "key “%s”", k1);
    free(k1);
    free(k2);
    /* GB 32100-2015 examples: a valid code, and one digit changed */
    EXPECT(ipf_credit_code_valid("91350100M000100Y43"), "valid code");
    EXPECT(!ipf_credit_code_valid("91350100M000100Y44"), "wrong check character");
    EXPECT(!ipf_credit_code_valid("91350100M000100Y4"), "17 characters");
    EXPECT(!ipf_credit_code_valid("91350100I000100Y43"), "I is not in the set");
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: test_lists CASE TEMPLATES DATA\n");
        return 2;
    }
    tdir = argv[2];
    ddir = argv[3];
    if (strcmp(argv[1], "read") == 0)
        case_read();
    else if (strcmp(argv[1], "write") == 0)
        case_write();
    else if (strcmp(argv[1], "collate") == 0)
        case_collate();
    else if (strcmp(argv[1], "keys") == 0)
        case_keys();
    else {
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    return case_failed;
}
