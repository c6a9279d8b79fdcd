/* xmldoc.c: safe XML reading for every kind of file ipforms reads. */
#include "xmldoc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#define DEFAULT_MAX_BYTES (16u * 1024u * 1024u)
#define DEFAULT_MAX_DEPTH 64
#define DEFAULT_MAX_TEXT (1024u * 1024u)

void ipf_xml_init(void)
{
    xmlInitParser();
}

long ipf_xml_line(const xmlNode *node)
{
    for (; node; node = node->parent) {
        if (node->type == XML_DOCUMENT_NODE)
            break;
        long line = xmlGetLineNo(node);
        if (line > 0)
            return line;
    }
    return 0;
}

typedef struct parse_report {
    ipf_diags *d;
    const char *name;
    int reported;
} parse_report;

/* libxml2's messages end with a newline and are English; we keep the text as
 * a detail after a Chinese sentence that says what kind of problem it is. */
static void on_parse_error(void *ctx, xmlErrorPtr err)
{
    parse_report *r = ctx;
    if (!err || err->level == XML_ERR_WARNING || r->reported >= 20)
        return;
    char detail[512] = "";
    if (err->message) {
        snprintf(detail, sizeof detail, "%s", err->message);
        for (char *c = detail; *c; c++)
            if (*c == '\n')
                *c = ' ';
        size_t n = strlen(detail);
        while (n > 0 && (detail[n - 1] == '\n' || detail[n - 1] == ' '))
            detail[--n] = '\0';
    }
    const char *code = "XML-MALFORMED";
    const char *what = "XML 格式错误";
    switch (err->code) {
    case XML_ERR_DOCUMENT_EMPTY:
        code = "XML-EMPTY";
        what = "文件为空或没有 XML 内容";
        break;
    case XML_ERR_INVALID_CHAR:
    case XML_ERR_INVALID_ENCODING:
    case XML_ERR_UNKNOWN_ENCODING:
    case XML_ERR_UNSUPPORTED_ENCODING:
        code = "XML-ENCODING";
        what = "含有非法字符或不是有效的 UTF-8 编码（控制字符、NUL 或编码错误）";
        break;
    case XML_ERR_DOCUMENT_END:
    case XML_ERR_TAG_NOT_FINISHED:
    case XML_ERR_LTSLASH_REQUIRED:
    case XML_ERR_GT_REQUIRED:
        code = "XML-TRUNCATED";
        what = "文件不完整（可能被截断）或标签未闭合";
        break;
    case XML_ERR_USER_STOP:
        return; /* our own limit checks report the cause */
    default:
        if (err->code >= 1 && strstr(detail, "Char 0x") != NULL) {
            code = "XML-ENCODING";
            what = "含有 XML 不允许的字符（控制字符或 NUL）";
        }
        break;
    }
    ipf_diag_add(r->d, r->name, err->line, IPF_SEV_ERROR, code, "%s：%s", what, detail);
    r->reported++;
}

static void ignore_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* Depth and text-length limits are checked on the tree: the parser's own
 * limits are far larger than any form needs. */
static int check_limits(const xmlNode *node, int depth, const ipf_xml_limits *lim,
                        const char *name, ipf_diags *d)
{
    for (; node; node = node->next) {
        if (node->type == XML_ELEMENT_NODE) {
            if (depth > lim->max_depth) {
                ipf_diag_add(d, name, ipf_xml_line(node), IPF_SEV_ERROR, "XML-TOO-DEEP",
                             "元素嵌套超过 %d 层的上限", lim->max_depth);
                return -1;
            }
            if (check_limits(node->children, depth + 1, lim, name, d) < 0)
                return -1;
        } else if ((node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) &&
                   node->content) {
            size_t len = strlen((const char *)node->content);
            if (len > lim->max_text) {
                ipf_diag_add(d, name, ipf_xml_line(node), IPF_SEV_ERROR, "XML-TEXT-TOO-LONG",
                             "一段文字长 %zu 字节，超过 %zu 字节的上限", len, lim->max_text);
                return -1;
            }
        }
    }
    return 0;
}

static ipf_xml_limits effective(const ipf_xml_limits *in)
{
    ipf_xml_limits l = {DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_TEXT};
    if (in) {
        if (in->max_bytes)
            l.max_bytes = in->max_bytes;
        if (in->max_depth)
            l.max_depth = in->max_depth;
        if (in->max_text)
            l.max_text = in->max_text;
    }
    return l;
}

ipf_status ipf_xml_read_memory(const char *buf, size_t len, const char *name,
                               const ipf_xml_limits *limits, ipf_diags *d, xmlDocPtr *out)
{
    *out = NULL;
    ipf_xml_limits lim = effective(limits);
    if (len > lim.max_bytes) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-TOO-LARGE",
                     "文件大小 %zu 字节，超过 %zu 字节的上限", len, lim.max_bytes);
        return IPF_INVALID;
    }
    if (len == 0) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-EMPTY", "文件为空");
        return IPF_INVALID;
    }
    if (len > (size_t)INT32_MAX) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-TOO-LARGE", "文件过大");
        return IPF_INVALID;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return IPF_ERR_NOMEM;
    parse_report rep = {d, name, 0};
    size_t before = ipf_diags_errors(d);
    xmlSetStructuredErrorFunc(&rep, on_parse_error);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
    /* NONET: never fetch anything; no NOENT/DTDLOAD/DTDATTR: entities are not
     * substituted and no external subset is read. */
    int options = XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, "UTF-8", options);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlSetGenericErrorFunc(NULL, NULL);
    /* A namespace error (xmlns="..." not a URI, an undeclared prefix) leaves
     * the document well-formed but is reported as an error: any error
     * reported refuses the document, so success never comes with one. */
    int wellformed = ctxt->wellFormed && ctxt->nsWellFormed && ipf_diags_errors(d) == before;
    xmlFreeParserCtxt(ctxt);
    if (!doc || !wellformed) {
        if (ipf_diags_errors(d) == before)
            ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-MALFORMED", "XML 格式错误，无法解析");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (doc->intSubset || doc->extSubset) {
        ipf_diag_add(d, name, doc->intSubset ? ipf_xml_line((xmlNodePtr)doc->intSubset) : 0,
                     IPF_SEV_ERROR, "XML-DOCTYPE",
                     "不允许使用 DOCTYPE 声明（文档类型定义和实体声明会带来安全风险），请删除");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (!xmlDocGetRootElement(doc)) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-EMPTY", "文件中没有根元素");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (check_limits(doc->children, 1, &lim, name, d) < 0) {
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    *out = doc;
    return IPF_OK;
}

ipf_status ipf_xml_read_file(const char *path, const ipf_xml_limits *limits, ipf_diags *d,
                             xmlDocPtr *out)
{
    *out = NULL;
    ipf_xml_limits lim = effective(limits);
    struct stat st;
    if (stat(path, &st) != 0) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-NOT-FOUND", "%s",
                     errno == ENOENT ? "文件不存在" : "文件无法访问（权限不足或路径有误）");
        return IPF_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-IS-DIR", "这是一个目录，不是 XML 文件");
        return IPF_ERR_IO;
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > lim.max_bytes) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "XML-TOO-LARGE",
                     "文件大小 %lld 字节，超过 %zu 字节的上限", (long long)st.st_size,
                     lim.max_bytes);
        return IPF_INVALID;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "无法打开文件（%s）",
                     errno == EACCES ? "没有读取权限" : strerror(errno));
        return IPF_ERR_IO;
    }
    /* Read with a bound rather than trusting st_size (pipes, growing files). */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    size_t len = 0;
    char *buf = malloc(cap);
    ipf_status status = IPF_OK;
    while (buf) {
        if (len == cap) {
            if (cap > lim.max_bytes)
                break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (!buf) {
        status = IPF_ERR_NOMEM;
    } else if (ferror(f)) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "读取文件失败：%s", strerror(errno));
        status = IPF_ERR_IO;
    }
    fclose(f);
    if (status == IPF_OK)
        status = ipf_xml_read_memory(buf, len, path, limits, d, out);
    free(buf);
    return status;
}
