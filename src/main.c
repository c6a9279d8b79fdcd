/* main.c: the ipforms command, a thin layer over the library (ipforms.h).
 *
 * Exit codes: 0 all valid, 1 some data invalid, 2 usage or system error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "csv.h"
#include "ipforms.h"
#include "version.h"

static void usage(FILE *o)
{
    fputs("用法: ipforms [选项] 命令 [参数]\n"
          "\n"
          "命令:\n"
          "  validate FILE...          检查数据文件，列出所有问题\n"
          "  render [-o DIR] FILE...   检查并生成 PDF（默认写在数据文件旁边）\n"
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
          "  --force                   数据有错误时仍然排版（供查看草稿）\n"
          "  --pdfa                    生成 PDF/A-1b 归档格式\n"
          "  --font FILE.ttf           优先使用的字体（如单位自有的仿宋_GB2312），可重复\n"
          "  --templates DIR           模板目录（默认 $IPFORMS_TEMPLATES 或内置目录）\n"
          "  --no-date                 不写入日期，相同输入得到逐字节相同的 PDF\n"
          "                            （也可设置 SOURCE_DATE_EPOCH）\n"
          "  -q, --quiet               只输出错误和警告\n"
          "  -h, --help                显示本帮助\n"
          "  --version                 显示版本\n"
          "\n"
          "诊断信息格式: 文件:行: error|warning 代码 说明\n"
          "退出码: 0 全部有效, 1 数据有误, 2 用法或系统错误\n",
          o);
}

typedef struct cli {
    const char *outdir;
    const char *templates;
    const char *fonts[8];
    size_t nfonts;
    int force, pdfa, no_date, quiet;
} cli;

/* out/<name of the data file without .xml>.pdf */
static char *output_path(const char *dir, const char *input, const char *fallback_name)
{
    const char *base = input ? strrchr(input, '/') : NULL;
    base = base ? base + 1 : (input ? input : fallback_name);
    size_t blen = strlen(base);
    if (blen > 4 && strcmp(base + blen - 4, ".xml") == 0)
        blen -= 4;
    char *d = NULL;
    if (!dir) {
        const char *slash = input ? strrchr(input, '/') : NULL;
        d = slash ? strndup(input, (size_t)(slash - input)) : strdup(".");
        dir = d;
    }
    size_t n = strlen(dir) + blen + 6;
    char *p = dir ? malloc(n) : NULL;
    if (p)
        snprintf(p, n, "%s/%.*s.pdf", dir, (int)blen, base);
    free(d);
    return p;
}

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

/* ipforms list / rollup: their own options, then the library (collect.c). */
static ipf_status run_collect(ipf_engine *e, const cli *c, int argc, char **argv, ipf_diags *d)
{
    int rollup = argv[0][0] == 'r';
    ipf_list_options o = {0};
    const char **in = calloc((size_t)argc + 1, sizeof *in),
               **sums = calloc((size_t)argc + 1, sizeof *sums);
    if (!in || !sums) {
        free(in);
        free(sums);
        return IPF_ERR_NOMEM;
    }
    ipf_status st = IPF_OK;
    for (int i = 1; i < argc && st == IPF_OK; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--year") == 0 && more)
            o.year = argv[++i];
        else if (strcmp(a, "--date") == 0 && more)
            o.date = argv[++i];
        else if (strcmp(a, "--issuer") == 0 && more)
            o.issuer = argv[++i];
        else if (strcmp(a, "--form") == 0 && more)
            o.form_id = argv[++i];
        else if (strcmp(a, "--roster") == 0 && more && rollup)
            in[o.ninputs++] = argv[++i];
        else if (strcmp(a, "--csv-encoding") == 0 && more) {
            o.csv_charset = ipf_csv_charset_parse(argv[++i]);
            if (o.csv_charset < 0) {
                fprintf(stderr, "ipforms: --csv-encoding 只能是 utf-8 或 gb18030\n");
                st = IPF_ERR_USAGE;
            }
        } else if (rollup)
            sums[o.nsummaries++] = a;
        else
            in[o.ninputs++] = a;
    }
    /* The year of the title: --year, else that of --date. */
    char year[8] = "";
    if (!o.year && o.date && strlen(o.date) >= 4) {
        snprintf(year, sizeof year, "%.4s", o.date);
        o.year = year;
    }
    if (st == IPF_OK && (o.ninputs == 0 || (rollup && !o.year))) {
        fprintf(stderr,
                rollup
                    ? "ipforms: rollup 需要 --year 年度、至少一个 --roster 名册和年度工作总结文件\n"
                    : "ipforms: list 需要至少一个名单、CSV 名册或备案表文件\n");
        st = IPF_ERR_USAGE;
    }
    if (st == IPF_OK && check_outdir(c->outdir, d) < 0)
        st = IPF_ERR_USAGE;
    char base[256];
    snprintf(base, sizeof base, "%s%s%s",
             o.form_id ? o.form_id
             : rollup  ? "rollup"
                       : "outlet-list",
             o.year ? "-" : "", o.year ? o.year : "");
    char *pdf = NULL, *csv = NULL;
    if (st == IPF_OK) {
        pdf = output_path(c->outdir ? c->outdir : ".", NULL, base);
        csv = pdf ? strdup(pdf) : NULL;
        if (csv)
            strcpy(csv + strlen(csv) - 3, "csv");
        o.pdf_path = pdf;
        o.csv_path = csv;
        o.inputs = in;
        o.summaries = sums;
        st = pdf && csv ? (rollup ? ipf_engine_rollup(e, &o, d) : ipf_engine_list(e, &o, d))
                        : IPF_ERR_NOMEM;
        if (st == IPF_OK && !c->quiet)
            printf("→ %s\n→ %s\n", pdf, csv);
    }
    free(pdf);
    free(csv);
    free(in);
    free(sums);
    return st;
}

static int run(const cli *c, int argc, char **argv)
{
    const char *cmd = argv[0];
    ipf_diags *d = ipf_diags_new();
    if (!d)
        return 2;
    ipf_engine_options opt = {0};
    opt.templates_dir = c->templates;
    opt.fonts = c->fonts;
    opt.nfonts = c->nfonts;
    opt.date = pdf_date(c);
    opt.pdfa = c->pdfa;
    opt.force = c->force;
    ipf_engine *e = NULL;
    int rc = 0;
    ipf_status st = ipf_engine_new(&opt, d, &e);
    if (st != IPF_OK) {
        ipf_diags_print(d, stderr);
        ipf_diags_free(d);
        return 2;
    }
    if (strcmp(cmd, "forms") == 0) {
        for (size_t i = 0; i < ipf_engine_form_count(e); i++) {
            const ipf_form *f = ipf_engine_form(e, i);
            printf("%-28s %-6s %s\n", ipf_form_id(f), ipf_form_edition(f), ipf_form_title(f));
        }
        /* The others are listed, but a template that failed to load is an
         * installation problem the office must see in the exit code. */
        if (ipf_diags_errors(d) > 0)
            rc = 2;
    } else if (strcmp(cmd, "validate") == 0 || strcmp(cmd, "render") == 0) {
        int render = cmd[0] == 'r';
        if (argc < 2) {
            fprintf(stderr, "ipforms: %s 需要至少一个数据文件\n", cmd);
            rc = 2;
        } else if (render && check_outdir(c->outdir, d) < 0) {
            rc = 2;
        }
        /* A file that cannot be read is reported and the others are still
         * checked: the exit code is the worst of all. */
        int usage_error = rc == 2;
        for (int i = 1; i < argc && !usage_error; i++) {
            size_t before = ipf_diags_count(d);
            if (render) {
                char *out = output_path(c->outdir, argv[i], NULL);
                st = out ? ipf_engine_render(e, argv[i], out, d) : IPF_ERR_NOMEM;
                char *pin = ipf_printable(argv[i]), *pout = ipf_printable(out);
                if (st == IPF_OK && !c->quiet)
                    printf("%s → %s\n", pin ? pin : "?", pout ? pout : "?");
                else if (st == IPF_INVALID && c->force && !c->quiet)
                    printf("%s → %s（数据有误，已强制排版）\n", pin ? pin : "?", pout ? pout : "?");
                free(pin);
                free(pout);
                free(out);
            } else {
                st = ipf_engine_validate(e, argv[i], d);
                char *pin = ipf_printable(argv[i]);
                if (st == IPF_OK && !c->quiet)
                    printf("%s: 通过检查\n", pin ? pin : "?");
                free(pin);
            }
            rc = worst(rc, st);
            (void)before;
        }
    } else if (strcmp(cmd, "blank") == 0) {
        if (argc != 2) {
            fputs("ipforms: blank 需要一个表单名称（见 ipforms forms）\n", stderr);
            rc = 2;
        } else if (check_outdir(c->outdir, d) < 0) {
            rc = 2;
        } else {
            char name[256];
            snprintf(name, sizeof name, "blank-%s", argv[1]);
            char *out = output_path(c->outdir ? c->outdir : ".", NULL, name);
            st = out ? ipf_engine_render_blank(e, argv[1], out, d) : IPF_ERR_NOMEM;
            if (st == IPF_OK && !c->quiet)
                printf("%s → %s\n", argv[1], out);
            free(out);
            rc = worst(rc, st);
        }
    } else if (strcmp(cmd, "list") == 0 || strcmp(cmd, "rollup") == 0) {
        rc = worst(rc, run_collect(e, c, argc, argv, d));
    } else if (strcmp(cmd, "init") == 0) {
        if (argc != 2) {
            fputs("ipforms: init 需要一个表单名称（见 ipforms forms）\n", stderr);
            rc = 2;
        } else {
            rc = worst(rc, ipf_engine_skeleton(e, argv[1], stdout, d));
        }
    } else {
        fprintf(stderr, "ipforms: 未知命令“%s”\n\n", cmd);
        usage(stderr);
        rc = 2;
    }
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

int main(int argc, char **argv)
{
    /* Past a file-size limit (ulimit -f) the kernel would kill us with
     * SIGXFSZ in the middle of writing the temporary PDF, leaving it behind;
     * ignored, the write fails with EFBIG, which is reported and cleaned up
     * like a full disk. */
    signal(SIGXFSZ, SIG_IGN);
    cli c = {0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("ipforms %s\n", IPF_VERSION);
            return 0;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            c.outdir = argv[++i];
        } else if (strcmp(a, "--templates") == 0 && i + 1 < argc) {
            c.templates = argv[++i];
        } else if (strcmp(a, "--font") == 0 && i + 1 < argc) {
            if (c.nfonts == 8) {
                fputs("ipforms: --font 最多 8 个\n", stderr);
                return 2;
            }
            c.fonts[c.nfonts++] = argv[++i];
        } else if (strcmp(a, "--force") == 0) {
            c.force = 1;
        } else if (strcmp(a, "--pdfa") == 0) {
            c.pdfa = 1;
        } else if (strcmp(a, "--no-date") == 0) {
            c.no_date = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            c.quiet = 1;
        } else {
            fprintf(stderr, "ipforms: 未知选项或缺少参数：%s\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    /* Options may also follow the command: ipforms render -o out x.xml */
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    char **rest = argv + i;
    int nrest = argc - i;
    char **args = malloc(sizeof *args * (size_t)(nrest + 1));
    if (!args)
        return 2;
    int n = 0;
    args[n++] = rest[0];
    for (int k = 1; k < nrest; k++) {
        const char *a = rest[k];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && k + 1 < nrest)
            c.outdir = rest[++k];
        else if (strcmp(a, "--font") == 0 && k + 1 < nrest && c.nfonts < 8)
            c.fonts[c.nfonts++] = rest[++k];
        else if (strcmp(a, "--templates") == 0 && k + 1 < nrest)
            c.templates = rest[++k];
        else if (strcmp(a, "--force") == 0)
            c.force = 1;
        else if (strcmp(a, "--pdfa") == 0)
            c.pdfa = 1;
        else if (strcmp(a, "--no-date") == 0)
            c.no_date = 1;
        else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
            c.quiet = 1;
        else if (a[0] == '-' && a[1] != '\0' && strcmp(rest[0], "list") != 0 &&
                 strcmp(rest[0], "rollup") != 0) {
            fprintf(stderr, "ipforms: 未知选项或缺少参数：%s\n", a);
            free(args);
            return 2;
        } else
            args[n++] = rest[k];
    }
    args[n] = NULL;
    int rc = run(&c, n, args);
    free(args);
    return rc;
}
