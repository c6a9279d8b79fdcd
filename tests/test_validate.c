/* test_validate: the checks before printing, through the library itself.
 *
 *     test_validate REPO_ROOT
 *
 * Loads the national form's template, schema, rules and font as the engine
 * does, then validates documents built in memory from the samples, and
 * asserts what a clerk reads: which problems are reported (all of them in
 * one run), at which line, with which code and severity, whether the data
 * counts as valid, and how the rule engine counts 字数 (ipf:chars).
 * Scratch rule files go to a fresh directory under $TMPDIR (or /tmp) that is
 * removed at the end. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, strdup */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "fontset.h"
#include "form.h"
#include "rules.h"
#include "schema.h"
#include "validate.h"
#include "xmldoc.h"

#include "check.h"
#include "load.h"

#define MEM_NAME "mem.xml"

static const char *repo;
static char scratch[4096];
/* What the test wrote under scratch, files and directories, removed in
 * reverse order at the end. */
static char *made[32];
static int nmade;
static ipf_form *form;
static ipf_schema *schema;
static ipf_ruleset *rules;
static ipf_fontset *fonts;

/* ---------- helpers ---------- */

/* The whole file as a NUL-terminated string; exits when it cannot be read
 * (the test cannot say anything useful without its inputs). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void spill(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static char *sample(const char *rel)
{
    char *p = path_in(repo, rel);
    char *s = slurp(p);
    free(p);
    return s;
}

/* s with the first occurrence of old replaced by new (s is freed).  A
 * missing old means the sample changed under the test: that is a failure. */
static char *replace(char *s, const char *old, const char *new)
{
    char *at = strstr(s, old);
    EXPECT(at != NULL, "sample text not found: %s", old);
    if (!at)
        return s;
    size_t n = strlen(s) - strlen(old) + strlen(new) + 1;
    char *r = malloc(n);
    if (!r) {
        perror("malloc");
        exit(2);
    }
    snprintf(r, n, "%.*s%s%s", (int)(at - s), s, new, at + strlen(old));
    free(s);
    return r;
}

/* The 1-based line of the first occurrence of needle in text, or 0. */
static long line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at)
        return 0;
    long line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    return line;
}

/* Validates xml as the engine does (the given rules, the national schema and
 * font); diagnostics sorted as the CLI prints them. */
static ipf_status check_with(const ipf_ruleset *rs, const char *xml, ipf_diags *d)
{
    xmlDocPtr doc = NULL;
    ipf_status st = ipf_xml_read_memory(xml, strlen(xml), MEM_NAME, NULL, d, &doc);
    if (st == IPF_OK)
        st = ipf_validate_document(form, schema, rs, fonts, doc, MEM_NAME, d);
    xmlFreeDoc(doc);
    ipf_diags_sort(d);
    return st;
}

static ipf_status check(const char *xml, ipf_diags *d)
{
    return check_with(rules, xml, d);
}

static void dump(const ipf_diags *d)
{
    fprintf(stderr, "  diagnostics (%zu):\n", ipf_diags_count(d));
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        char *s = ipf_diag_format(ipf_diags_get(d, i));
        fprintf(stderr, "    %s\n", s ? s : "?");
        free(s);
    }
}

/* The diagnostic with this code (the n-th, 0-based), or NULL. */
static const ipf_diag *find(const ipf_diags *d, const char *code, int n)
{
    for (size_t i = 0; i < ipf_diags_count(d); i++) {
        const ipf_diag *g = ipf_diags_get(d, i);
        if (strcmp(g->code, code) == 0 && n-- == 0)
            return g;
    }
    return NULL;
}

/* Asserts one diagnostic: code, severity, line and words its message must
 * hold (the field's Chinese name, the article), NULL-terminated. */
static void expect(const ipf_diags *d, const char *code, ipf_severity sev, long line, ...)
{
    const ipf_diag *g = find(d, code, 0);
    EXPECT(g != NULL, "no %s diagnostic", code);
    if (!g) {
        dump(d);
        return;
    }
    EXPECT(g->severity == sev, "%s: severity %d, expected %d", code, (int)g->severity, (int)sev);
    EXPECT(g->line == line, "%s: line %ld, expected %ld (%s)", code, g->line, line, g->message);
    EXPECT(strcmp(g->file, MEM_NAME) == 0, "%s: file %s", code, g->file);
    va_list ap;
    va_start(ap, line);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        EXPECT(strstr(g->message, w) != NULL, "%s: message lacks “%s”: %s", code, w, g->message);
    va_end(ap);
}

/* ---------- the tests ---------- */

/* The published samples are clean: no error, no warning. */
static void test_valid_samples(void)
{
    static const char *const names[] = {"samples/national-filing/annotated.xml",
                                        "samples/national-filing/chongqing-university-library.xml"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *xml = sample(names[i]);
        ipf_diags *d = ipf_diags_new();
        ipf_status st = check(xml, d);
        EXPECT(st == IPF_OK, "%s: status %s", names[i], ipf_status_str(st));
        EXPECT(ipf_diags_count(d) == 0, "%s: %zu diagnostics", names[i], ipf_diags_count(d));
        if (ipf_diags_count(d))
            dump(d);
        ipf_diags_free(d);
        free(xml);
    }
}

/* One run reports every problem: structure (XSD), rules and font coverage
 * together, each at the line of the element at fault; a field that is
 * missing altogether is reported at the element that should hold it. */
static void test_all_problems_at_once(void)
{
    char *x = sample("samples/national-filing/annotated.xml");
    /* 封面: 备案机构 left empty, 填报日期 written the Chinese way */
    x = replace(x, "<applicant>中国茶产业知识产权促进会</applicant>", "<applicant></applicant>");
    x = replace(x, "<date>2024-09-10</date>", "<date>2024年9月10日</date>");
    /* 机构性质 with a character no bundled font has (U+20000, outside the BMP) */
    x = replace(x, "<nature>社会团体</nature>", "<nature>社会团体\xF0\xA0\x80\x80</nature>");
    /* 地址 deleted, and an element the form does not have */
    x = replace(x, "<address>北京市东城区安定门外大街138号9层</address>",
                "<wechat>中国茶知产</wechat>");
    /* a full-width ＠ in 邮箱 */
    x = replace(x, "<email>service@teaip.org.cn</email>", "<email>service＠teaip.org.cn</email>");
    /* 专职 4 (< 5) and 总数 8 != 4 + 3; the team still lists 5 专职 (a warning) */
    x = replace(x, "<staff total=\"8\" full-time=\"5\" part-time=\"3\"/>",
                "<staff total=\"8\" full-time=\"4\" part-time=\"3\"/>");
    /* 人员类别 outside its fixed choices */
    x = replace(x, "<member role=\"兼职\">", "<member role=\"顾问\">");

    ipf_diags *d = ipf_diags_new();
    ipf_status st = check(x, d);
    EXPECT(st == IPF_INVALID, "status %s", ipf_status_str(st));

    expect(d, "NAT-REQ-APPLICANT", IPF_SEV_ERROR, line_of(x, "<applicant></applicant>"), "备案机构",
           "封面", NULL);
    expect(d, "SCHEMA-TYPE", IPF_SEV_ERROR, line_of(x, "<date>2024年9月10日"), "填报日期",
           "2024年9月10日", NULL);
    expect(d, "FONT-MISSING-GLYPH", IPF_SEV_ERROR, line_of(x, "<nature>"), "机构性质", "U+20000",
           NULL);
    expect(d, "NAT-REQ-ADDRESS", IPF_SEV_ERROR, line_of(x, "<institution>"), "地址", "第一部分",
           NULL);
    expect(d, "SCHEMA-UNEXPECTED", IPF_SEV_ERROR, line_of(x, "<wechat>"), "<wechat>",
           "机构基本情况", NULL);
    expect(d, "NAT-EMAIL", IPF_SEV_ERROR, line_of(x, "<email>"), "邮箱", "service＠teaip.org.cn",
           NULL);
    expect(d, "NAT-STAFF-FULL-TIME-MIN", IPF_SEV_ERROR, line_of(x, "<staff "), "专职服务人员数量",
           "4人", "5人", "第五条（一）", NULL);
    expect(d, "NAT-STAFF-SUM", IPF_SEV_ERROR, line_of(x, "<staff "), "总服务人员数量", "8人", "7人",
           NULL);
    expect(d, "NAT-TEAM-FULL-TIME-EXCESS", IPF_SEV_WARNING, line_of(x, "<team>"),
           "服务团队人员情况", NULL);
    /* member roles are a rule setting (member-roles), not an XSD enumeration */
    expect(d, "NAT-MEMBER-ROLE", IPF_SEV_ERROR, line_of(x, "<member role=\"顾问\">"), "人员类别",
           "顾问", "专职", NULL);

    /* nothing else, and in line order (as printed) */
    EXPECT(ipf_diags_count(d) == 10, "%zu diagnostics, expected 10", ipf_diags_count(d));
    EXPECT(ipf_diags_errors(d) == 9, "%zu errors, expected 9", ipf_diags_errors(d));
    EXPECT(ipf_diags_warnings(d) == 1, "%zu warnings, expected 1", ipf_diags_warnings(d));
    for (size_t i = 1; i < ipf_diags_count(d); i++)
        EXPECT(ipf_diags_get(d, i - 1)->line <= ipf_diags_get(d, i)->line, "not in line order");
    if (expectations_failed)
        dump(d);
    ipf_diags_free(d);
    free(x);
}

/* A problem inside one of several repeated elements points at that one:
 * the empty 姓名 of the 4th member, the missing 实施时间 of the 2nd case. */
static void test_lines_in_repeats(void)
{
    char *x = sample("samples/national-filing/annotated.xml");
    x = replace(x, "<name>何思雨</name>", "<name></name>");
    x = replace(x, "<period>2022年3月—2023年9月</period>", "");
    ipf_diags *d = ipf_diags_new();
    check(x, d);
    expect(d, "NAT-REQ-MEMBER-NAME", IPF_SEV_ERROR, line_of(x, "<name></name>"), "第4名成员",
           "姓名", NULL);
    /* the 2nd case is the one whose <case> opens before 某茶区… */
    long case2 = line_of(x, "<name>某茶区地理标志证明商标申请和使用管理指导</name>") - 1;
    expect(d, "NAT-REQ-CASE-PERIOD", IPF_SEV_ERROR, case2, "第2个典型案例", "实施时间", NULL);
    EXPECT(ipf_diags_count(d) == 2, "%zu diagnostics, expected 2", ipf_diags_count(d));
    ipf_diags_free(d);
    free(x);
}

/* Warnings alone leave the data valid: status OK, no error. */
static void test_warnings_only(void)
{
    char *x = sample("samples/national-filing/annotated.xml");
    x = replace(x, "<category>行业组织</category>", "<category>学会</category>");
    x = replace(x, "<ip-type>专利</ip-type>", "<ip-type>植物新品种</ip-type>");
    ipf_diags *d = ipf_diags_new();
    ipf_status st = check(x, d);
    EXPECT(st == IPF_OK, "warnings only: status %s", ipf_status_str(st));
    EXPECT(ipf_diags_errors(d) == 0, "%zu errors", ipf_diags_errors(d));
    EXPECT(ipf_diags_warnings(d) == 2, "%zu warnings, expected 2", ipf_diags_warnings(d));
    expect(d, "NAT-CATEGORY", IPF_SEV_WARNING, line_of(x, "<category>"), "学会", "第二条", NULL);
    expect(d, "NAT-IP-TYPE-OTHER", IPF_SEV_WARNING, line_of(x, "植物新品种"), "植物新品种", NULL);
    ipf_diags_free(d);
    free(x);
}

/* A rule file of our own in the scratch directory (its schema is found in
 * the templates directory ipforms was built with). */
static void remember(char *path)
{
    if (nmade < (int)(sizeof made / sizeof *made))
        made[nmade++] = path;
    else
        free(path);
}

/* mkdir -p below scratch: rel is relative to it. */
static char *make_dirs(const char *rel)
{
    char *dir = path_in(scratch, rel);
    for (char *p = dir + strlen(scratch) + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (access(dir, F_OK) != 0) {
                if (mkdir(dir, 0700) != 0) {
                    perror(dir);
                    exit(2);
                }
                remember(strdup(dir));
            }
            *p = c;
            if (!c)
                break;
        }
    }
    return dir;
}

static void clean_scratch(void)
{
    while (nmade > 0) {
        char *p = made[--nmade];
        if (remove(p) != 0)
            perror(p);
        free(p);
    }
    if (rmdir(scratch) != 0)
        perror(scratch);
}

/* A rule file of our own in the scratch directory (its schema is found in
 * the templates directory ipforms was built with). */
static ipf_ruleset *load_rules_text(const char *name, const char *text, ipf_diags *d,
                                    ipf_status *st)
{
    char *dir = make_dirs(name);
    char *path = path_in(dir, "rules.xml");
    spill(path, text);
    ipf_ruleset *rs = NULL;
    *st = ipf_ruleset_load(path, d, &rs);
    remember(path);
    free(dir);
    return rs;
}

/* ipf:chars counts what Word's 字数统计 calls 字符数（不计空格）: every
 * character but white space (ASCII space, tab, line breaks, the full-width
 * space U+3000, no-break space), punctuation included, one per character
 * whether Chinese or Latin.  The message prints the counts. */
static void test_chars(void)
{
    static const char rule_file[] =
        "<rules xmlns=\"urn:ipforms:rules:1\" form=\"t\" clause-format=\"\">\n"
        "  <namespace prefix=\"d\" uri=\"urn:ipforms:data:1\"/>\n"
        "  <source id=\"t\" title=\"测试\"/>\n"
        "  <rule code=\"T-CHARS\" severity=\"warning\">\n"
        "    <clause source=\"t\">一</clause>\n"
        "    <context>/d:filing/d:foundation</context>\n"
        "    <assert>false()</assert>\n"
        "    <message>{ipf:chars(.)}|{ipf:chars()}|{ipf:chars(d:p[1])}|{ipf:chars(d:p[2])}|"
        "{ipf:chars(d:p)}|{ipf:chars('\xE3\x80\x80"
        "a b\xE3\x80\x80')}|{ipf:chars(d:none)}"
        "</message>\n"
        "  </rule>\n"
        "  <rule code=\"T-QUOTE\" severity=\"warning\">\n"
        "    <clause source=\"t\">二</clause>\n"
        "    <context>/d:filing/d:foundation</context>\n"
        "    <assert>false()</assert>\n"
        "    <message>[{ipf:quote(d:none)}][{ipf:quote('  a \t b ')}][{ipf:quote(d:p[1])}]"
        "[{ipf:quote('"
        "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十"
        "多出')}]</message>\n"
        "  </rule>\n"
        "</rules>\n";
    ipf_diags *d = ipf_diags_new();
    ipf_status st;
    ipf_ruleset *rs = load_rules_text("chars", rule_file, d, &st);
    EXPECT(st == IPF_OK && rs, "test rule file: %s", ipf_status_str(st));
    if (!rs) {
        dump(d);
        ipf_diags_free(d);
        return;
    }
    /* p[1]: 中文， (3) ABC (3) def (3) x<NBSP>y (2)                    = 11
     * p[2]: <tab>全角 (2) <U+3000> 空格。(3) <CR LF> “引号”(4) ——(2)
     *       破折号(3) ……(2) ！(1) 2024年(5) <U+3000><U+3000>          = 22
     * the line breaks and indentation between the <p> count nothing    = 33 */
    static const char data[] =
        "<filing xmlns=\"urn:ipforms:data:1\" form=\"national-filing\">\n"
        "  <foundation>\n"
        "    <p>中文，ABC def x\xC2\xA0y</p>\n"
        "    <p>\t全角\xE3\x80\x80空格。\r\n“引号”——破折号……！2024年\xE3\x80\x80\xE3\x80\x80</p>\n"
        "  </foundation>\n"
        "</filing>\n";
    ipf_diags_clear(d);
    xmlDocPtr doc = NULL;
    st = ipf_xml_read_memory(data, strlen(data), MEM_NAME, NULL, d, &doc);
    EXPECT(st == IPF_OK, "chars data: %s", ipf_status_str(st));
    if (doc) {
        st = ipf_ruleset_check(rs, doc, MEM_NAME, d);
        EXPECT(st == IPF_OK, "a warning only: %s", ipf_status_str(st));
        const ipf_diag *g = find(d, "T-CHARS", 0);
        EXPECT(g != NULL, "no T-CHARS diagnostic");
        if (g)
            EXPECT(strcmp(g->message, "33|33|11|22|33|2|0") == 0,
                   "ipf:chars counts %s, expected 33|33|11|22|33|2|0", g->message);
        EXPECT(g && g->line == 2, "T-CHARS at line %ld, expected 2 (<foundation>)",
               g ? g->line : 0);
        /* ipf:quote: nothing for no text, white space collapsed, long text cut
         * inside the marks */
        g = find(d, "T-QUOTE", 0);
        static const char want_quote[] = "[][“a b”][“中文，ABC def x y”]"
                                         "[“一二三四五六七八九十一二三四五六七八九十一二三四五六七"
                                         "八九十一二三四五六七八九十……”]";
        EXPECT(g && strcmp(g->message, want_quote) == 0, "ipf:quote gives %s",
               g ? g->message : "nothing");
        xmlFreeDoc(doc);
    }
    ipf_ruleset_free(rs);
    ipf_diags_free(d);
}

/* NAT-DEADLINE: off by default; with the round's deadline set in the rule
 * file, a later 填报日期 is a warning (the data stays valid) and the deadline
 * itself is still on time.  A deadline written wrongly is reported against
 * the rule file when it is loaded, not on every filing. */
static void test_deadline(void)
{
    char *text = sample("templates/national-filing/rules.xml");
    static const char off[] = "name=\"submission-deadline\" type=\"date\" value=\"\"";
    EXPECT(strstr(text, off) != NULL, "rules.xml: submission-deadline is not empty by default");
    char *good = replace(strdup(text), off,
                         "name=\"submission-deadline\" type=\"date\" value=\"2024-08-30\"");
    char *bad = replace(strdup(text), off,
                        "name=\"submission-deadline\" type=\"date\" value=\"2024/08/30\"");
    free(text);

    /* the national rules include ../common/contact-patterns.xml */
    char *common = make_dirs("deadline/common");
    char *patterns = path_in(common, "contact-patterns.xml");
    char *shared = sample("templates/common/contact-patterns.xml");
    spill(patterns, shared);
    remember(patterns);
    free(shared);
    free(common);

    ipf_diags *d = ipf_diags_new();
    ipf_status st;
    ipf_ruleset *rs = load_rules_text("deadline/national-filing", good, d, &st);
    EXPECT(st == IPF_OK && rs, "rules with a deadline: %s", ipf_status_str(st));
    char *x = sample("samples/national-filing/chongqing-university-library.xml");
    static const struct {
        const char *date;
        int late;
    } cases[] = {{"2024-08-26", 0}, {"2024-08-30", 0}, {"2024-08-31", 1}, {"2025-01-02", 1}};
    for (size_t i = 0; rs && i < sizeof cases / sizeof *cases; i++) {
        char want[64];
        snprintf(want, sizeof want, "<date>%s</date>", cases[i].date);
        char *xi = replace(strdup(x), "<date>2024-08-26</date>", want);
        ipf_diags_clear(d);
        st = check_with(rs, xi, d);
        EXPECT(st == IPF_OK, "%s: status %s (a late date is only a warning)", cases[i].date,
               ipf_status_str(st));
        EXPECT(ipf_diags_count(d) == (size_t)cases[i].late, "%s: %zu diagnostics", cases[i].date,
               ipf_diags_count(d));
        if (cases[i].late)
            expect(d, "NAT-DEADLINE", IPF_SEV_WARNING, line_of(xi, "<date>"), cases[i].date,
                   "2024-08-30", "二（二）", NULL);
        free(xi);
    }
    ipf_ruleset_free(rs);
    free(x);

    ipf_diags_clear(d);
    rs = load_rules_text("bad-deadline/national-filing", bad, d, &st);
    EXPECT(st == IPF_ERR_TEMPLATE && !rs, "a malformed deadline should refuse the rule file: %s",
           ipf_status_str(st));
    const ipf_diag *g = find(d, "RULES-SETTING", 0);
    EXPECT(g && strstr(g->message, "submission-deadline") && strstr(g->message, "2024/08/30") &&
               line_of(bad, "name=\"submission-deadline\"") == g->line,
           "RULES-SETTING naming the setting and its line");
    if (!g)
        dump(d);
    ipf_ruleset_free(rs);
    ipf_diags_free(d);
    free(good);
    free(bad);
}

/* ---------- setup ---------- */

static void load_national(void)
{
    ipf_diags *d = ipf_diags_new();
    char *tpl = path_in(repo, "templates/national-filing/template.xml");
    char *font = path_in(repo, "fonts/FandolFang-Regular.ttf");
    const char *fontv[1] = {font};
    ipf_status st = load_form(tpl, d, &form, &schema, &rules);
    if (st == IPF_OK)
        st = ipf_fontset_open(fontv, 1, d, &fonts);
    if (st != IPF_OK) {
        fprintf(stderr, "cannot load the national form: %s\n", ipf_status_str(st));
        ipf_diags_print(d, stderr);
        exit(2);
    }
    EXPECT(ipf_ruleset_count(rules) >= 40, "only %zu national rules", ipf_ruleset_count(rules));
    free(tpl);
    free(font);
    ipf_diags_free(d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_validate REPO_ROOT\n");
        return 2;
    }
    repo = argv[1];
    ipf_xml_init();
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/ipforms-test-validate-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 2;
    }
    load_national();

    test_valid_samples();
    test_all_problems_at_once();
    test_lines_in_repeats();
    test_warnings_only();
    test_chars();
    test_deadline();

    ipf_fontset_free(fonts);
    ipf_ruleset_free(rules);
    ipf_schema_free(schema);
    ipf_form_free(form);
    clean_scratch();
    if (expectations_failed) {
        fprintf(stderr, "%d failure(s)\n", expectations_failed);
        return 1;
    }
    printf("validate: all checks passed\n");
    return 0;
}
