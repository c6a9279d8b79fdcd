/* main.c: the ipforms command, a thin layer over the library (ipforms.h,
 * batch.h).
 *
 * Options may stand before or after the command and are parsed once, here;
 * "--" ends them, so that a data file called "-x.xml" can be named.
 * Exit codes: 0 all valid, 1 some data invalid, 2 usage or system error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "batch.h"
#include "ipforms.h"
#include "naming.h"
#include "version.h"

#define MAX_FONT_OPTIONS 8

static void usage(FILE *o)
{
    fputs("用法: ipforms [选项] 命令 [参数]\n"
          "\n"
          "命令:\n"
          "  validate FILE|DIR...      检查数据文件，列出所有问题\n"
          "  render [-o DIR] FILE|DIR... 检查并生成 PDF（默认写在数据文件旁边）\n"
          "  blank [-o DIR] FORM       生成供手工填写的空白表单\n"
          "  init FORM                 输出带逐项说明的 XML 填写模板\n"
          "  forms                     列出可用的表单\n"
          "  list [--year Y] [--date D] [--csv-encoding gb18030] FILE...\n"
          "                            由名单、CSV 名册或备案表生成网点名单 PDF 和 CSV\n"
          "  rollup --year Y --roster 名册 SUMMARY...\n"
          "                            年度工作总结汇总表 PDF 和 CSV\n"
          "\n"
          "选项:\n"
          "  -o, --output DIR          PDF 的输出目录\n"
          "  -j, --jobs N              并行处理的进程数（默认为 CPU 核数）\n"
          "  --files-from FILE         从文件（- 为标准输入）逐行读取数据文件名\n"
          "  --name PATTERN            按数据命名 PDF，如 '{d:institution/d:name}'（见 "
          "docs/batch.md）\n"
          "  --report FILE             每份输入一行 JSON 的处理报告\n"
          "  --combine FILE.pdf        另生成一份包含全部文件的打印用 PDF\n"
          "  --timeout SECONDS         每份文件的处理时限（默认 120 秒）\n"
          "  --progress, --no-progress 是否显示进度行（默认仅在终端上显示）\n"
          "  --force                   数据有错误时仍然排版（供查看草稿）\n"
          "  --pdfa                    生成 PDF/A-1b 归档格式\n"
          "  --font FILE.ttf           优先使用的字体（如单位自有的仿宋_GB2312），可重复\n"
          "  --templates DIR           模板目录（默认 $IPFORMS_TEMPLATES 或内置目录）\n"
          "  --no-date                 不写入日期，相同输入得到逐字节相同的 PDF\n"
          "                            （也可设置 SOURCE_DATE_EPOCH）\n"
          "  -q, --quiet               只输出问题\n"
          "  --                        其后都是文件名（即使以 - 开头）\n"
          "  -h, --help                显示本帮助\n"
          "  --version                 显示版本\n"
          "\n"
          "诊断信息格式: 文件:行: error|warning 代码 说明\n"
          "退出码: 0 全部成功, 1 有数据有误, 2 用法或系统错误、有文件失败或未处理\n",
          o);
}

typedef struct cli {
    const char *outdir, *templates, *files_from, *report, *combine, *name;
    const char *fonts[MAX_FONT_OPTIONS];
    size_t nfonts;
    int force, pdfa, no_date, quiet, jobs, progress;
    double timeout;
    const char *cmd;
    char **args; /* the command's arguments, NULL-terminated */
    size_t nargs;
    /* list and rollup */
    const char *year, *date, *issuer, *form_id;
    char **rosters; /* --roster, NULL-terminated */
    size_t nrosters;
    int csv_charset; /* 0 UTF-8, 1 GB18030 */
} cli;

static long long pdf_date(const cli *c)
{
    if (c->no_date)
        return -1;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (*end == '\0' && v >= 0)
            return v;
    }
    return (long long)time(NULL);
}

static int worst(int a, ipf_status st)
{
    int code = ipf_status_exit_code(st);
    return code > a ? code : a;
}

static int check_outdir(const char *dir, ipf_diags *d)
{
    struct stat st;
    if (!dir)
        return 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        ipf_diag_add(d, dir, 0, IPF_SEV_ERROR, "IO-OUTPUT-DIR", "输出目录不存在或不是目录");
        return -1;
    }
    return 0;
}

static int cmd_forms(const cli *c, ipf_engine *e, ipf_diags *d)
{
    (void)c;
    ipf_status st = ipf_engine_load_all(e, d);
    for (size_t i = 0; i < ipf_engine_form_count(e); i++) {
        const ipf_form *f = ipf_engine_form(e, i);
        printf("%-28s %-6s %s\n", ipf_form_id(f), ipf_form_edition(f), ipf_form_title(f));
    }
    /* The others are listed, but a template that failed to load is an
     * installation problem the office must see in the exit code. */
    return st != IPF_OK || ipf_diags_errors(d) > 0 ? 2 : 0;
}

/* Out of memory is said, never a silent exit 2: here for what fails before
 * or around the files (each file's own result says it for that file). */
static void nomem_line(void)
{
    fputs("ipforms: error NOMEM 内存不足；请关闭其他程序后重试\n", stderr);
}

static void say_nomem(ipf_status st, ipf_diags *d)
{
    if (st != IPF_ERR_NOMEM)
        return;
    for (size_t i = 0; i < ipf_diags_count(d); i++)
        if (strstr(ipf_diags_get(d, i)->message, "内存不足"))
            return;
    if (ipf_diags_oom(d))
        return; /* printing d says so */
    ipf_diag_add(d, "ipforms", 0, IPF_SEV_ERROR, "NOMEM", "内存不足；请关闭其他程序后重试");
    if (ipf_diags_count(d) == 0)
        nomem_line();
}

static int cmd_check(const cli *c, ipf_engine *e, ipf_diags *d)
{
    int render = strcmp(c->cmd, "render") == 0;
    if (c->nargs < 1 && !c->files_from) {
        fprintf(stderr, "ipforms: %s 需要至少一个数据文件或目录\n", c->cmd);
        return 2;
    }
    if (render && check_outdir(c->outdir, d) < 0)
        return 2;
    if (c->name && ipf_name_pattern_check(c->name, d) != IPF_OK)
        return 2;
    char **inputs = NULL;
    size_t n = 0;
    ipf_status st = ipf_batch_inputs(c->args, c->nargs, c->files_from, &inputs, &n, d);
    if (st != IPF_OK) {
        say_nomem(st, d);
        ipf_batch_inputs_free(inputs);
        return 2;
    }
    if (n == 0) {
        fprintf(stderr, "ipforms: %s: 没有找到数据文件（*.xml）\n", c->cmd);
        ipf_batch_inputs_free(inputs);
        return 2;
    }
    ipf_batch_options o;
    memset(&o, 0, sizeof o);
    o.render = render;
    o.jobs = c->jobs;
    o.out_dir = c->outdir;
    o.name_pattern = c->name;
    o.report_path = c->report;
    o.combine_path = c->combine;
    o.quiet = c->quiet;
    o.progress = c->progress;
    o.timeout = c->timeout;
    o.out = stdout;
    o.err = stderr;
    ipf_batch_result res;
    /* Problems found so far (the catalogue's) come before the documents'. */
    ipf_diags_print(d, stderr);
    ipf_diags_clear(d);
    st = ipf_batch_run(e, &o, inputs, n, &res);
    ipf_batch_inputs_free(inputs);
    say_nomem(st, d);
    return worst(res.exit_code, st);
}

static int cmd_blank(const cli *c, ipf_engine *e, ipf_diags *d)
{
    if (c->nargs != 1) {
        fputs("ipforms: blank 需要一个表单名称（见 ipforms forms）\n", stderr);
        return 2;
    }
    if (check_outdir(c->outdir, d) < 0)
        return 2;
    const char *dir = c->outdir ? c->outdir : ".";
    char *safe = ipf_name_safe(c->args[0]);
    size_t len = strlen(dir) + (safe ? strlen(safe) : 0) + 12;
    char *out = safe ? malloc(len) : NULL;
    if (out)
        snprintf(out, len, "%s/blank-%s.pdf", dir, safe);
    free(safe);
    ipf_status st = out ? ipf_engine_render_blank(e, c->args[0], out, d) : IPF_ERR_NOMEM;
    if (st == IPF_OK && !c->quiet) {
        char *pin = ipf_printable(c->args[0]), *pout = ipf_printable(out);
        printf("%s → %s\n", pin ? pin : "?", pout ? pout : "?");
        free(pin);
        free(pout);
    }
    free(out);
    return worst(0, st);
}

static int cmd_init(const cli *c, ipf_engine *e, ipf_diags *d)
{
    if (c->nargs != 1) {
        fputs("ipforms: init 需要一个表单名称（见 ipforms forms）\n", stderr);
        return 2;
    }
    return worst(0, ipf_engine_skeleton(e, c->args[0], stdout, d));
}

/* ipforms list / rollup: the library (collect.h) makes the PDF and the CSV
 * beside it, named after the form (or rollup / outlet-list) and the year. */
static int cmd_collect(const cli *c, ipf_engine *e, ipf_diags *d)
{
    int rollup = strcmp(c->cmd, "rollup") == 0;
    ipf_list_options o;
    memset(&o, 0, sizeof o);
    o.year = c->year;
    o.date = c->date;
    o.issuer = c->issuer;
    o.form_id = c->form_id;
    o.csv_charset = c->csv_charset;
    o.jobs = c->jobs;
    o.inputs = rollup ? (const char *const *)c->rosters : (const char *const *)c->args;
    o.ninputs = rollup ? c->nrosters : c->nargs;
    o.summaries = rollup ? (const char *const *)c->args : NULL;
    o.nsummaries = rollup ? c->nargs : 0;
    /* The year of the title: --year, else that of --date. */
    char year[8] = "";
    if (!o.year && o.date && strlen(o.date) >= 4) {
        snprintf(year, sizeof year, "%.4s", o.date);
        o.year = year;
    }
    if (o.ninputs == 0 || (rollup && !o.year)) {
        fputs(rollup
                  ? "ipforms: rollup 需要 --year 年度、至少一个 --roster 名册和年度工作总结文件\n"
                  : "ipforms: list 需要至少一个名单、CSV 名册或备案表文件\n",
              stderr);
        return 2;
    }
    if (check_outdir(c->outdir, d) < 0)
        return 2;
    const char *dir = c->outdir ? c->outdir : ".";
    char *base = ipf_name_safe(o.form_id ? o.form_id : rollup ? "rollup" : "outlet-list");
    size_t len = strlen(dir) + (base ? strlen(base) : 0) + (o.year ? strlen(o.year) : 0) + 16;
    char *pdf = base ? malloc(len) : NULL, *csv = pdf ? malloc(len) : NULL;
    ipf_status st = IPF_ERR_NOMEM;
    if (csv) {
        snprintf(pdf, len, "%s/%s%s%s.pdf", dir, base, o.year ? "-" : "", o.year ? o.year : "");
        snprintf(csv, len, "%s/%s%s%s.csv", dir, base, o.year ? "-" : "", o.year ? o.year : "");
        o.pdf_path = pdf;
        o.csv_path = csv;
        st = rollup ? ipf_engine_rollup(e, &o, d) : ipf_engine_list(e, &o, d);
        if (st == IPF_OK && !c->quiet) {
            char *pp = ipf_printable(pdf), *pc = ipf_printable(csv);
            printf("→ %s\n→ %s\n", pp ? pp : "?", pc ? pc : "?");
            free(pp);
            free(pc);
        }
    }
    free(base);
    free(pdf);
    free(csv);
    return worst(0, st);
}

/* The commands: each a thin call into the library. */
static const struct command {
    const char *name;
    int (*run)(const cli *c, ipf_engine *e, ipf_diags *d);
} commands[] = {
    {"validate", cmd_check}, {"render", cmd_check}, {"blank", cmd_blank},    {"init", cmd_init},
    {"forms", cmd_forms},    {"list", cmd_collect}, {"rollup", cmd_collect},
};

static int run(const cli *c)
{
    const struct command *cmd = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(commands[i].name, c->cmd) == 0)
            cmd = &commands[i];
    if (!cmd) {
        char *p = ipf_printable(c->cmd);
        fprintf(stderr, "ipforms: 未知命令“%s”\n\n", p ? p : "?");
        free(p);
        usage(stderr);
        return 2;
    }
    ipf_diags *d = ipf_diags_new();
    if (!d) {
        nomem_line();
        return 2;
    }
    ipf_engine_options opt = {0};
    opt.templates_dir = c->templates;
    opt.fonts = c->fonts;
    opt.nfonts = c->nfonts;
    opt.date = pdf_date(c);
    opt.pdfa = c->pdfa;
    opt.force = c->force;
    ipf_engine *e = NULL;
    int rc = 2;
    ipf_status est = ipf_engine_new(&opt, d, &e);
    if (est == IPF_OK)
        rc = cmd->run(c, e, d);
    else
        say_nomem(est, d);
    ipf_diags_sort(d);
    ipf_diags_print(d, stderr);
    ipf_engine_free(e);
    ipf_diags_free(d);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "ipforms: 写标准输出失败：%s\n", strerror(errno));
        return 2;
    }
    return rc;
}

/* The value of an option: "--opt=value", "-jN" or the next argument. */
static const char *value_of(const char *a, const char *name, int *i, int argc, char **argv,
                            int *bad)
{
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=' && name[1] == '-')
        return a + n + 1;
    if (a[n] != '\0') {
        if (name[1] != '-' && a[n]) /* -j4 */
            return a + n;
        return NULL;
    }
    if (*i + 1 >= argc) {
        *bad = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, cli *c)
{
    int dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int bad = 0;
        if (dashdash || a[0] != '-' || strcmp(a, "-") == 0) {
            if (!c->cmd)
                c->cmd = a;
            else
                c->args[c->nargs++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            dashdash = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("ipforms %s\n", IPF_VERSION);
            return 0;
        } else if ((v = value_of(a, "-o", &i, argc, argv, &bad)) ||
                   (v = value_of(a, "--output", &i, argc, argv, &bad))) {
            c->outdir = v;
        } else if ((v = value_of(a, "--templates", &i, argc, argv, &bad))) {
            c->templates = v;
        } else if ((v = value_of(a, "--files-from", &i, argc, argv, &bad))) {
            c->files_from = v;
        } else if ((v = value_of(a, "--report", &i, argc, argv, &bad))) {
            c->report = v;
        } else if ((v = value_of(a, "--combine", &i, argc, argv, &bad))) {
            c->combine = v;
        } else if ((v = value_of(a, "--name", &i, argc, argv, &bad))) {
            c->name = v;
        } else if ((v = value_of(a, "--timeout", &i, argc, argv, &bad))) {
            char *end;
            c->timeout = strtod(v, &end);
            if (*end || !(c->timeout > 0)) {
                fprintf(stderr, "ipforms: --timeout 需要正数秒数，而不是“%s”\n", v);
                return 2;
            }
        } else if ((v = value_of(a, "-j", &i, argc, argv, &bad)) ||
                   (v = value_of(a, "--jobs", &i, argc, argv, &bad))) {
            char *end;
            long j = strtol(v, &end, 10);
            if (*end || j < 1 || j > 1024) {
                fprintf(stderr, "ipforms: -j 需要 1 到 1024 之间的进程数，而不是“%s”\n", v);
                return 2;
            }
            c->jobs = (int)j;
        } else if ((v = value_of(a, "--year", &i, argc, argv, &bad))) {
            c->year = v;
        } else if ((v = value_of(a, "--date", &i, argc, argv, &bad))) {
            c->date = v;
        } else if ((v = value_of(a, "--issuer", &i, argc, argv, &bad))) {
            c->issuer = v;
        } else if ((v = value_of(a, "--form", &i, argc, argv, &bad))) {
            c->form_id = v;
        } else if ((v = value_of(a, "--roster", &i, argc, argv, &bad))) {
            c->rosters[c->nrosters++] = (char *)v;
        } else if ((v = value_of(a, "--csv-encoding", &i, argc, argv, &bad))) {
            if (strcmp(v, "gb18030") != 0 && strcmp(v, "utf-8") != 0) {
                fputs("ipforms: --csv-encoding 只能是 utf-8 或 gb18030\n", stderr);
                return 2;
            }
            c->csv_charset = strcmp(v, "gb18030") == 0;
        } else if ((v = value_of(a, "--font", &i, argc, argv, &bad))) {
            if (c->nfonts == MAX_FONT_OPTIONS) {
                fprintf(stderr, "ipforms: --font 最多 %d 个\n", MAX_FONT_OPTIONS);
                return 2;
            }
            c->fonts[c->nfonts++] = v;
        } else if (!bad && strcmp(a, "--force") == 0) {
            c->force = 1;
        } else if (!bad && strcmp(a, "--pdfa") == 0) {
            c->pdfa = 1;
        } else if (!bad && strcmp(a, "--no-date") == 0) {
            c->no_date = 1;
        } else if (!bad && strcmp(a, "--progress") == 0) {
            c->progress = 1;
        } else if (!bad && strcmp(a, "--no-progress") == 0) {
            c->progress = 0;
        } else if (!bad && (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)) {
            c->quiet = 1;
        } else {
            char *p = ipf_printable(a);
            fprintf(stderr, "ipforms: 未知选项或缺少参数：%s\n\n", p ? p : "?");
            free(p);
            usage(stderr);
            return 2;
        }
        if (bad) {
            char *p = ipf_printable(a);
            fprintf(stderr, "ipforms: 选项 %s 缺少参数\n", p ? p : "?");
            free(p);
            return 2;
        }
    }
    if (!c->cmd) {
        usage(stderr);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    /* Past a file-size limit (ulimit -f) the kernel would kill us with
     * SIGXFSZ in the middle of writing the temporary PDF, leaving it behind;
     * ignored, the write fails with EFBIG, which is reported and cleaned up
     * like a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    cli c;
    memset(&c, 0, sizeof c);
    c.progress = -1;
    c.args = calloc((size_t)argc + 1, sizeof *c.args);
    c.rosters = calloc((size_t)argc + 1, sizeof *c.rosters);
    if (!c.args || !c.rosters) {
        free(c.args);
        free(c.rosters);
        nomem_line();
        return 2;
    }
    int rc = parse(argc, argv, &c);
    if (rc < 0)
        rc = run(&c);
    free(c.args);
    free(c.rosters);
    return rc;
}
