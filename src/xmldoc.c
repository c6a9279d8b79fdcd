/* xmldoc.c: safe XML reading for every kind of file ipforms reads. */
#include "xmldoc.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#define DEFAULT_MAX_BYTES      (16u * 1024u * 1024u)
#define DEFAULT_MAX_DEPTH      64
#define DEFAULT_MAX_TEXT       (1024u * 1024u)
#define DEFAULT_MAX_NODES      100000u
#define DEFAULT_MAX_ATTRS      64
#define DEFAULT_MAX_ATTR_VALUE (64u * 1024u)

/* libxml2 prints what no handler takes ("parser error : out of memory",
 * "xmlXPathCompOpEval: function chars bound to undefined prefix ipf") on
 * stderr, in English, around our diagnostics.  Every error we care about is
 * taken by a structured handler where it happens and said in Chinese; the
 * rest is silenced here, once, for this thread and every thread started
 * later (libxml2 keeps the handler per thread). */
static void ignore_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

void ipf_xml_init(void)
{
    xmlInitParser();
    xmlThrDefSetGenericErrorFunc(NULL, ignore_generic);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
}

/* libxml2 keeps a node's line in an unsigned short: from line 65,535 on,
 * every element says 65535.  The real line of such an element is kept in
 * its psvi field (on_start), which neither our XSD validation nor XPath
 * uses; text nodes get theirs from libxml2 itself (XML_PARSE_BIG_LINES). */
#define SHORT_LINE_MAX 65535

static long element_line(const xmlNode *node)
{
    if (node->type == XML_ELEMENT_NODE && node->line == SHORT_LINE_MAX && node->psvi)
        return (long)(intptr_t)node->psvi;
    return xmlGetLineNo(node);
}

void ipf_xml_bound_xpath(xmlXPathContextPtr ctx)
{
    ctx->opLimit = IPF_XPATH_BUDGET;
    ctx->opCount = 0;
}

int ipf_xml_xpath_exhausted(const xmlXPathContext *ctx)
{
    return ctx->opLimit != 0 && ctx->opCount >= ctx->opLimit;
}

void ipf_xml_copy_lines(const xmlNode *from, xmlNode *to)
{
    for (; from && to; from = from->next, to = to->next) {
        if (from->type != to->type)
            return;
        if (from->type == XML_ELEMENT_NODE) {
            if (from->line == SHORT_LINE_MAX)
                to->psvi = from->psvi;
            ipf_xml_copy_lines(from->children, to->children);
        }
    }
}

long ipf_xml_line(const xmlNode *node)
{
    for (; node; node = node->parent) {
        if (node->type == XML_DOCUMENT_NODE)
            break;
        long line = element_line(node);
        if (line > 0)
            return line;
    }
    return 0;
}

/* What one parse knows while it runs: where diagnostics go, and the limits
 * checked as the parser reads (so a deep or huge document is stopped early
 * rather than built first and measured later). */
typedef struct parse_state {
    ipf_diags *d;
    const char *name;
    const char *buf; /* the bytes parsed, for quoting a character reference */
    size_t len;
    ipf_xml_limits lim;
    xmlParserCtxtPtr ctxt;
    int reported; /* parse errors reported so far */
    int stopped;  /* we stopped the parser: the document is refused */
    int depth;    /* current element nesting */
    size_t nodes; /* elements, attributes, comments and PIs so far */
    size_t run;   /* bytes of text since the last tag */
} parse_state;

void ipf_xml_error_text(const xmlError *err, char *buf, size_t size)
{
    if (size == 0)
        return;
    snprintf(buf, size, "%s", err && err->message ? err->message : "");
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = ' ';
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
}

static const char *control_name(uint32_t c);

/* The value of the character reference at p ("&#27;", "&#x1B;"), its
 * length in *n; -1 when p holds none, 0x110000 for anything larger. */
static long char_ref_at(const char *p, const char *end, size_t *n)
{
    const char *q = p + 2;
    if (end - p < 4 || p[0] != '&' || p[1] != '#')
        return -1;
    int hex = *q == 'x';
    q += hex;
    long v = 0;
    const char *digits = q;
    for (; q < end && *q != ';'; q++) {
        int dv = *q >= '0' && *q <= '9'          ? *q - '0'
                 : hex && *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                 : hex && *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
                                                 : -1;
        if (dv < 0)
            return -1;
        if (v <= 0x110000)
            v = v * (hex ? 16 : 10) + dv;
    }
    if (q >= end || q == digits)
        return -1;
    *n = (size_t)(q + 1 - p);
    return v > 0x110000 ? 0x110000 : v;
}

static int forbidden_char(long c)
{
    return (c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) || (c >= 0x7F && c <= 0x9F) ||
           c == 0xFFFE || c == 0xFFFF || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF;
}

static void say_char_ref(ipf_diags *d, const char *name, long line, const char *ref, size_t n,
                         long v)
{
    if (v > 0x10FFFF)
        ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                     "字符引用“%.*s”超出了 Unicode 的范围（最大为 U+10FFFF），不是任何字符，请删除",
                     (int)(n > 40 ? 40 : n), ref);
    else if (v >= 0xD800 && v <= 0xDFFF)
        ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                     "字符引用“%.*s”是 UTF-16 代理码位 U+%04lX，不是字符，请删除",
                     (int)(n > 40 ? 40 : n), ref, v);
    else
        ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                     "字符引用“%.*s”表示控制字符 U+%04lX（%s），XML 文件中不允许出现，请删除",
                     (int)(n > 40 ? 40 : n), ref, v, control_name((uint32_t)v));
}

/* The first forbidden character reference on the given line. */
static void bad_char_ref(const parse_state *r, long line)
{
    const char *p = r->buf, *end = r->buf + r->len;
    for (long l = 1; p < end && l < line; p++)
        l += *p == '\n';
    const char *odd = NULL; /* a reference written wrongly */
    for (; p < end && *p != '\n'; p++) {
        size_t n;
        long v = *p == '&' ? char_ref_at(p, end, &n) : -1;
        if (v >= 0 && forbidden_char(v)) {
            say_char_ref(r->d, r->name, line, p, n, v);
            return;
        }
        if (v < 0 && !odd && end - p >= 2 && p[0] == '&' && p[1] == '#')
            odd = p;
    }
    if (odd) {
        size_t n = 2;
        while (odd + n < end && n < 24 && odd[n] != ';' && odd[n] != '<' && odd[n] != '\n')
            n++;
        n += odd + n < end && odd[n] == ';';
        ipf_diag_add(r->d, r->name, line, IPF_SEV_ERROR, "XML-MALFORMED",
                     "字符引用“%.*s”的写法不对：应为 &#十进制数字; 或 &#x十六进制数字;", (int)n,
                     odd);
        return;
    }
    ipf_diag_add(r->d, r->name, line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                 "这一行的字符引用（&#...;）表示 XML 文件中不允许的字符，请删除");
}

/* libxml2's messages end with a newline and are English; we keep the text as
 * a detail after a Chinese sentence that says what kind of problem it is.
 * Only the first error is reported: without recovery the parser's later
 * errors are consequences of the first (an unclosed tag is followed by a
 * mismatched end tag and by "premature end of data"). */
static void on_parse_error(void *ctx, xmlErrorPtr err)
{
    parse_state *r = ctx;
    if (!err || err->level == XML_ERR_WARNING || r->reported >= 1 || r->stopped)
        return;
    char detail[512];
    ipf_xml_error_text(err, detail, sizeof detail);
    const char *code = "XML-MALFORMED";
    const char *what = "XML 格式错误";
    switch (err->code) {
    case XML_ERR_DOCUMENT_EMPTY:
        code = "XML-EMPTY";
        what = "文件为空或没有 XML 内容";
        break;
    case XML_ERR_INVALID_HEX_CHARREF:
    case XML_ERR_INVALID_DEC_CHARREF:
    case XML_ERR_INVALID_CHARREF:
        if (strstr(detail, "CharRef") != NULL) { /* digits past U+10FFFF overflow */
            bad_char_ref(r, err->line);
            r->reported++;
            return;
        }
        break;
    case XML_ERR_INVALID_CHAR:
        if (strstr(detail, "xmlParseCharRef") != NULL) {
            /* &#27; and the like: the raw bytes were fine (scan_chars).
             * libxml2 says "value 0" for one past U+10FFFF, so the
             * reference is read again from the line itself. */
            bad_char_ref(r, err->line);
            r->reported++;
            return;
        }
        /* fall through */
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

static long current_line(const parse_state *s)
{
    return s->ctxt->input ? s->ctxt->input->line : 0;
}

static void stop(parse_state *s)
{
    s->stopped = 1;
    xmlStopParser(s->ctxt);
}

/* A DOCTYPE is refused as soon as it is seen, before its internal subset
 * (where entity declarations live) is even parsed: nothing of a billion
 * laughs or an external entity is ever expanded or fetched. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    (void)name;
    (void)ext_id;
    (void)sys_id;
    parse_state *s = ((xmlParserCtxtPtr)ctx)->_private;
    ipf_diag_add(s->d, s->name, current_line(s), IPF_SEV_ERROR, "XML-DOCTYPE",
                 "不允许使用 DOCTYPE 声明（文档类型定义和实体声明会带来安全风险），请删除");
    stop(s);
}

/* Counts n more nodes; past the limit the parse stops (a file of 16 MiB
 * of "<a/>" would otherwise become four million nodes and gigabytes). */
static int nodes_ok(parse_state *s, size_t n)
{
    s->nodes += n;
    if (s->nodes <= s->lim.max_nodes)
        return 1;
    ipf_diag_add(s->d, s->name, current_line(s), IPF_SEV_ERROR, "XML-TOO-MANY-NODES",
                 "元素、属性和注释共超过 %zu 个的上限", s->lim.max_nodes);
    stop(s);
    return 0;
}

static void on_comment(void *ctx, const xmlChar *value)
{
    if (nodes_ok(((xmlParserCtxtPtr)ctx)->_private, 1))
        xmlSAX2Comment(ctx, value);
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    if (nodes_ok(((xmlParserCtxtPtr)ctx)->_private, 1))
        xmlSAX2ProcessingInstruction(ctx, target, data);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri,
                     int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                     int nb_defaulted, const xmlChar **attributes)
{
    parse_state *s = ((xmlParserCtxtPtr)ctx)->_private;
    s->run = 0;
    if (++s->depth > s->lim.max_depth) {
        ipf_diag_add(s->d, s->name, current_line(s), IPF_SEV_ERROR, "XML-TOO-DEEP",
                     "元素 <%s> 处的嵌套超过 %d 层的上限", (const char *)localname,
                     s->lim.max_depth);
        stop(s);
        return;
    }
    if (!nodes_ok(s, 1 + (size_t)nb_attributes))
        return;
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
    xmlNodePtr el = s->ctxt->node;
    long line = current_line(s);
    if (el && el->type == XML_ELEMENT_NODE && line >= SHORT_LINE_MAX)
        el->psvi = (void *)(intptr_t)line;
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    parse_state *s = ((xmlParserCtxtPtr)ctx)->_private;
    s->run = 0;
    s->depth--;
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* A limit as a person reads it: "16 MiB", "1 MiB", "64 KiB", "100 字节". */
static const char *human_size(size_t n, char *buf, size_t cap)
{
    if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
        snprintf(buf, cap, "%zu MiB", n / (1024 * 1024));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", n / 1024);
    else
        snprintf(buf, cap, "%zu 字节", n);
    return buf;
}

/* Text between two tags, counted as it arrives (libxml2 hands it over in
 * pieces). */
static int text_ok(parse_state *s, int len)
{
    s->run += (size_t)len;
    if (s->run <= s->lim.max_text)
        return 1;
    xmlNodePtr in = s->ctxt->node;
    char human[32];
    ipf_diag_add(s->d, s->name, in ? ipf_xml_line(in) : current_line(s), IPF_SEV_ERROR,
                 "XML-TEXT-TOO-LONG", "元素 <%s> 中的一段文字超过 %zu 字节（%s）的上限",
                 in ? (const char *)in->name : "?", s->lim.max_text,
                 human_size(s->lim.max_text, human, sizeof human));
    stop(s);
    return 0;
}

static void on_characters(void *ctx, const xmlChar *ch, int len)
{
    if (text_ok(((xmlParserCtxtPtr)ctx)->_private, len))
        xmlSAX2Characters(ctx, ch, len);
}

static void on_cdata(void *ctx, const xmlChar *ch, int len)
{
    if (text_ok(((xmlParserCtxtPtr)ctx)->_private, len))
        xmlSAX2CDataBlock(ctx, ch, len);
}

/* The name of a character XML forbids, for the message. */
static const char *control_name(uint32_t c)
{
    static const char *c0[32] = {"NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL",
                                 "BS",  "HT",  "LF",  "VT",  "FF",  "CR",  "SO",  "SI",
                                 "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB",
                                 "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US"};
    if (c < 32)
        return c0[c];
    if (c == 0x7F)
        return "DEL";
    if (c >= 0x80 && c <= 0x9F)
        return "C1 控制字符";
    return "非字符";
}

#define MAX_SCAN_REPORTS 20

/* Whether the XML declaration names an encoding other than UTF-8 (GBK,
 * GB2312, GB18030 are what Chinese offices' editors write); copies its name. */
static int declared_other(const char *buf, size_t len, char *enc, size_t cap)
{
    size_t n = len < 200 ? len : 200;
    if (n < 5 || memcmp(buf, "<?xml", 5) != 0)
        return 0;
    const char *end = memchr(buf, '>', n);
    const char *e = end ? buf : NULL;
    for (; e && e + 9 < end; e++)
        if (memcmp(e, "encoding", 8) == 0)
            break;
    if (!e || e + 9 >= end)
        return 0;
    e += 8;
    while (e < end && (*e == ' ' || *e == '='))
        e++;
    if (e >= end || (*e != '"' && *e != '\''))
        return 0;
    char q = *e++;
    size_t k = 0;
    while (e < end && *e != q && k + 1 < cap) {
        unsigned char c = (unsigned char)*e++;
        if (c < 0x21 || c > 0x7E)
            return 0;
        enc[k++] = (char)c;
    }
    enc[k] = '\0';
    return k > 0 && strcasecmp(enc, "UTF-8") != 0 && strcasecmp(enc, "UTF8") != 0;
}

/* Checks the bytes before libxml2 sees them: every line with bytes that are
 * not UTF-8 or with a control character (C0 but tab, LF and CR; DEL; C1;
 * U+FFFE/U+FFFF) is reported with its line and column, in Chinese, naming
 * the byte or character.  libxml2 would stop at the first and, for a NUL,
 * mistake it for the end of the file.  C1 and DEL are legal XML 1.0 but
 * never belong in a form and print as nothing or garbage. */
static int scan_chars(const char *buf, size_t len, const char *name, ipf_diags *d)
{
    char enc[32];
    const unsigned char *s = (const unsigned char *)buf;
    long line = 1, col = 1, reported_line = 0;
    int reports = 0;
    size_t more = 0;
    long more_line = 0; /* the first line not listed */
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        size_t need = b < 0x80             ? 1
                      : (b & 0xE0) == 0xC0 ? 2
                      : (b & 0xF0) == 0xE0 ? 3
                      : (b & 0xF8) == 0xF0 ? 4
                                           : 0;
        uint32_t cp = 0;
        int bad = 0; /* 1 not UTF-8, 2 forbidden character, 3 cut off at the end */
        if (need == 0) {
            bad = 1;
        } else if (i + need > len) {
            bad = 3;
            for (size_t k = i + 1; k < len; k++)
                if ((s[k] & 0xC0) != 0x80)
                    bad = 1;
        } else {
            const char *p = buf + i;
            if (ipf_utf8_next(&p, &cp) != 0)
                bad = 1;
            else if ((cp < 0x20 && cp != 0x09 && cp != 0x0A && cp != 0x0D) ||
                     (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
                bad = 2;
        }
        if (bad && line != reported_line) {
            if (reports == MAX_SCAN_REPORTS) {
                if (more++ == 0)
                    more_line = line;
            } else if (bad == 3) {
                ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-TRUNCATED",
                             "文件在第 %ld 列的一个多字节 UTF-8 字符中间结束（文件可能被截断）",
                             col);
            } else if (bad == 1 && i == 0 && len >= 2 &&
                       ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
                ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-ENCODING",
                             "文件是 UTF-16 编码；ipforms 只接受 UTF-8 编码的文件，请另存为 UTF-8");
                return 1; /* every later byte would be reported too */
            } else if (bad == 1 && declared_other(buf, len, enc, sizeof enc)) {
                ipf_diag_add(
                    d, name, line, IPF_SEV_ERROR, "XML-ENCODING",
                    "文件声明为 %s 编码，本行第 %ld 列起就不是 UTF-8；ipforms 只接受 UTF-8 "
                    "编码的文件，请用“另存为 UTF-8”转换，并把声明改为 "
                    "encoding=\"UTF-8\"",
                    enc, col);
                return 1; /* a whole file in GBK: one message, not one per line */
            } else if (bad == 1) {
                ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-ENCODING",
                             "第 %ld 列有不是 UTF-8 编码的字节 0x%02X：文件须以 UTF-8 编码保存"
                             "（如为 GBK/GB18030，请用“另存为 UTF-8”转换）",
                             col, b);
            } else {
                ipf_diag_add(d, name, line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                             "第 %ld 列有控制字符 U+%04X（%s），XML 文件中不允许出现，请删除", col,
                             (unsigned)cp, control_name(cp));
            }
            if (reports < MAX_SCAN_REPORTS)
                reports++;
            reported_line = line;
        } else if (bad && reports == MAX_SCAN_REPORTS) {
            if (more++ == 0)
                more_line = line;
        }
        if (bad == 3)
            break;
        size_t step = bad == 1 ? 1 : need;
        if (b == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += step;
    }
    if (more)
        ipf_diag_add(d, name, more_line, IPF_SEV_ERROR, "XML-ENCODING",
                     "从这一行起另有 %zu 处编码错误或控制字符，未逐一列出", more);
    return reports;
}

/* Skips from p past the terminator term (or to the end). */
static size_t skip_past(const char *buf, size_t len, size_t p, const char *term, long *line)
{
    size_t tl = strlen(term);
    for (; p < len; p++) {
        if (p + tl <= len && memcmp(buf + p, term, tl) == 0)
            return p + tl;
        if (buf[p] == '\n')
            (*line)++;
    }
    return len;
}

/* libxml2 2.9 looks for a duplicate attribute by comparing each with all
 * before it, so one start tag with a million attributes costs 10^12 steps
 * before any callback of ours runs.  This linear pass counts the "=" outside
 * quotes in every tag first (comments, CDATA, PIs and declarations skipped)
 * and refuses a tag with too many. */
static int attrs_ok(const char *buf, size_t len, const char *name, const ipf_xml_limits *lim,
                    ipf_diags *d)
{
    int max = lim->max_attrs;
    long line = 1;
    for (size_t p = 0; p < len;) {
        if (buf[p] != '<') {
            if (buf[p] == '\n')
                line++;
            p++;
        } else if (len - p >= 4 && memcmp(buf + p, "<!--", 4) == 0) {
            p = skip_past(buf, len, p + 4, "-->", &line);
        } else if (len - p >= 9 && memcmp(buf + p, "<![CDATA[", 9) == 0) {
            p = skip_past(buf, len, p + 9, "]]>", &line);
        } else if (len - p >= 2 && (buf[p + 1] == '?' || buf[p + 1] == '!')) {
            p = skip_past(buf, len, p + 2, buf[p + 1] == '?' ? "?>" : ">", &line);
        } else {
            long tag_line = line;
            int n = 0;
            char quote = 0;
            size_t tag = p + 1, value = 0, attr = 0, attr_end = 0;
            for (p++; p < len; p++) {
                char t = buf[p];
                if (t == '\n')
                    line++;
                if (quote) {
                    if (t != quote)
                        continue;
                    quote = 0;
                    /* libxml2 2.9 needs minutes and gigabytes for one
                     * attribute of a few MiB: refused here, from the bytes. */
                    if (p - value > lim->max_attr_value) {
                        size_t tl = strcspn(buf + tag, " \t\r\n/>");
                        char human[32];
                        ipf_diag_add(d, name, tag_line, IPF_SEV_ERROR, "XML-ATTRIBUTE-TOO-LONG",
                                     "元素 <%.*s> 的属性 %.*s 的值超过 %zu 字节（%s）的上限",
                                     (int)(tl > 64 ? 64 : tl), buf + tag,
                                     (int)(attr_end - attr > 64 ? 64 : attr_end - attr), buf + attr,
                                     lim->max_attr_value,
                                     human_size(lim->max_attr_value, human, sizeof human));
                        return 0;
                    }
                } else if (t == '"' || t == '\'') {
                    quote = t;
                    value = p + 1;
                } else if (t == '=') {
                    n++;
                    attr_end = p;
                    while (attr_end > tag &&
                           (buf[attr_end - 1] == ' ' || buf[attr_end - 1] == '\t' ||
                            buf[attr_end - 1] == '\n' || buf[attr_end - 1] == '\r'))
                        attr_end--;
                    attr = attr_end;
                    while (attr > tag && !strchr(" \t\r\n", buf[attr - 1]))
                        attr--;
                } else if (t == '>' || t == '<') {
                    break;
                }
            }
            if (n > max) {
                ipf_diag_add(d, name, tag_line, IPF_SEV_ERROR, "XML-TOO-MANY-ATTRIBUTES",
                             "一个元素有 %d 个属性，超过 %d 个的上限", n, max);
                return 0;
            }
            if (p < len && buf[p] == '>')
                p++;
        }
    }
    return 1;
}

/* DEL and the C1 controls are legal XML 1.0, so libxml2 takes "&#x85;" and
 * "&#127;" without a word; raw, scan_chars refuses them, and written as a
 * reference they print as nothing or garbage just the same.  Every such
 * reference outside comments, CDATA and PIs is reported with its line and
 * its own spelling.  Returns how many. */
static size_t c1_refs(const char *buf, size_t len, const char *name, ipf_diags *d)
{
    size_t found = 0, more = 0;
    long line = 1, more_line = 0;
    for (size_t p = 0; p < len;) {
        if (buf[p] == '\n') {
            line++;
            p++;
        } else if (buf[p] == '<' && len - p >= 4 && memcmp(buf + p, "<!--", 4) == 0) {
            p = skip_past(buf, len, p + 4, "-->", &line);
        } else if (buf[p] == '<' && len - p >= 9 && memcmp(buf + p, "<![CDATA[", 9) == 0) {
            p = skip_past(buf, len, p + 9, "]]>", &line);
        } else if (buf[p] == '<' && len - p >= 2 && buf[p + 1] == '?') {
            p = skip_past(buf, len, p + 2, "?>", &line);
        } else if (buf[p] == '&') {
            size_t n = 1;
            long v = char_ref_at(buf + p, buf + len, &n);
            if (v >= 0x7F && v <= 0x9F) {
                if (found++ < MAX_SCAN_REPORTS)
                    say_char_ref(d, name, line, buf + p, n, v);
                else if (more++ == 0)
                    more_line = line;
            }
            p += v >= 0 ? n : 1;
        } else {
            p++;
        }
    }
    if (more)
        ipf_diag_add(d, name, more_line, IPF_SEV_ERROR, "XML-CONTROL-CHAR",
                     "从这一行起另有 %zu 处表示控制字符的字符引用，未逐一列出", more);
    return found;
}

/* Byte order marks libxml2 would misread: a UTF-32 file starts with the
 * bytes of a UTF-16 one (FF FE 00 00), and a file saved twice by a BOM-
 * adding editor starts with two UTF-8 BOMs, which libxml2 reports as "no
 * XML content".  Each is named for what it is. */
static int bom_ok(const char *buf, size_t len, const char *name, ipf_diags *d)
{
    const unsigned char *b = (const unsigned char *)buf;
    if (len >= 4 && ((b[0] == 0xFF && b[1] == 0xFE && b[2] == 0 && b[3] == 0) ||
                     (b[0] == 0 && b[1] == 0 && b[2] == 0xFE && b[3] == 0xFF))) {
        ipf_diag_add(d, name, 1, IPF_SEV_ERROR, "XML-ENCODING",
                     "文件是 UTF-32 编码（%s）；ipforms 只接受 UTF-8 编码的文件，请另存为 UTF-8",
                     b[0] == 0xFF ? "小端序" : "大端序");
        return 0;
    }
    size_t n = 0;
    while (len >= 3 * (n + 1) && memcmp(buf + 3 * n, "\xEF\xBB\xBF", 3) == 0)
        n++;
    if (n > 1) {
        ipf_diag_add(d, name, 1, IPF_SEV_ERROR, "XML-ENCODING",
                     "文件开头有 %zu 个 UTF-8 字节顺序标记（BOM，EF BB BF），最多只能有一个：请用"
                     "编辑器另存为“UTF-8”（无 BOM）",
                     n);
        return 0;
    }
    return 1;
}

static int only_blank(const char *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (; i < len; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
            return 0;
    return 1;
}

static ipf_xml_limits effective(const ipf_xml_limits *in)
{
    ipf_xml_limits l = {DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_TEXT,
                        DEFAULT_MAX_NODES, DEFAULT_MAX_ATTRS, DEFAULT_MAX_ATTR_VALUE};
    if (in) {
        if (in->max_nodes)
            l.max_nodes = in->max_nodes;
        if (in->max_attrs)
            l.max_attrs = in->max_attrs;
        if (in->max_attr_value)
            l.max_attr_value = in->max_attr_value;
        if (in->max_bytes)
            l.max_bytes = in->max_bytes;
        if (in->max_depth)
            l.max_depth = in->max_depth;
        if (in->max_text)
            l.max_text = in->max_text;
    }
    return l;
}

static void too_large(ipf_diags *d, const char *name, unsigned long long size, size_t max)
{
    char human[32];
    ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-TOO-LARGE",
                 "文件大小 %llu 字节，超过 %zu 字节（%s）的上限", size, max,
                 human_size(max, human, sizeof human));
}

static ipf_status read_memory(const char *buf, size_t len, const char *name,
                              const ipf_xml_limits *limits, ipf_diags *d, xmlDocPtr *out);

/* Running out of memory is said where the file is named, so that it never
 * reads as a broken file (XML-MALFORMED, TEMPLATE-BROKEN) or passes in
 * silence (tests/oom_checks.py). */
static ipf_status nomem(ipf_status st, const char *name, ipf_diags *d)
{
    if (st == IPF_ERR_NOMEM)
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "NOMEM",
                     "读取这个文件时内存不足，未能读完；请关闭其他程序后重试");
    return st;
}

ipf_status ipf_xml_read_memory(const char *buf, size_t len, const char *name,
                               const ipf_xml_limits *limits, ipf_diags *d, xmlDocPtr *out)
{
    return nomem(read_memory(buf, len, name, limits, d, out), name, d);
}

static ipf_status read_memory(const char *buf, size_t len, const char *name,
                              const ipf_xml_limits *limits, ipf_diags *d, xmlDocPtr *out)
{
    *out = NULL;
    ipf_xml_limits lim = effective(limits);
    if (len > lim.max_bytes || len > (size_t)INT32_MAX) {
        too_large(d, name, len, lim.max_bytes);
        return IPF_INVALID;
    }
    if (len == 0) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-EMPTY", "文件为空");
        return IPF_INVALID;
    }
    /* Old Mac editors end lines with a lone CR.  XML reads it as a line feed
     * (XML 1.0 §2.11), but libxml2 and our scans count only LF, so every
     * problem would be reported at line 1: such a file is read as the same
     * text with LF. */
    char *lf = NULL;
    for (const char *cr = memchr(buf, '\r', len); cr;
         cr = memchr(cr + 1, '\r', len - (size_t)(cr + 1 - buf))) {
        if ((size_t)(cr + 1 - buf) < len && cr[1] == '\n')
            continue;
        if (!lf) {
            lf = malloc(len);
            if (!lf)
                return IPF_ERR_NOMEM;
            memcpy(lf, buf, len);
        }
        lf[cr - buf] = '\n';
        if ((size_t)(cr + 1 - buf) >= len)
            break;
    }
    if (lf) {
        ipf_status st = read_memory(lf, len, name, limits, d, out);
        free(lf);
        return st;
    }
    if (!bom_ok(buf, len, name, d) || scan_chars(buf, len, name, d) > 0)
        return IPF_INVALID;
    if (!attrs_ok(buf, len, name, &lim, d))
        return IPF_INVALID;
    if (only_blank(buf, len)) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-EMPTY", "文件只有空白字符，没有 XML 内容");
        return IPF_INVALID;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return IPF_ERR_NOMEM;
    parse_state st = {d, name, buf, len, lim, ctxt, 0, 0, 0, 0, 0};
    ctxt->_private = &st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->characters = on_characters;
    ctxt->sax->ignorableWhitespace = on_characters;
    ctxt->sax->cdataBlock = on_cdata;
    ctxt->sax->comment = on_comment;
    ctxt->sax->processingInstruction = on_pi;
    size_t before = ipf_diags_errors(d);
    xmlSetStructuredErrorFunc(&st, on_parse_error);
    xmlSetGenericErrorFunc(NULL, ignore_generic);
    /* NONET: never fetch anything; no NOENT/DTDLOAD/DTDATTR: entities are not
     * substituted and no external subset is read (and a DOCTYPE stops the
     * parse anyway, see on_internal_subset). */
    /* HUGE lifts libxml2's own caps (10 MB of input, 10 MB of text), which
     * would refuse a file under our 16 MiB limit with "Huge input lookup";
     * our limits above are the stricter ones and bound depth and text. */
    /* BIG_LINES: text nodes past line 65,535 keep their real line. */
    int options = XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR | XML_PARSE_HUGE |
                  XML_PARSE_BIG_LINES;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, "UTF-8", options);
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlSetGenericErrorFunc(NULL, ignore_generic); /* silent, as ipf_xml_init left it */
    /* A namespace error (xmlns="..." not a URI, an undeclared prefix) leaves
     * the document well-formed but is reported as an error: any error
     * reported refuses the document, so success never comes with one. */
    int wellformed = ctxt->wellFormed && ctxt->nsWellFormed && ipf_diags_errors(d) == before;
    xmlFreeParserCtxt(ctxt);
    if (!doc || !wellformed || st.stopped) {
        if (ipf_diags_errors(d) == before)
            ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-MALFORMED", "XML 格式错误，无法解析");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (doc->intSubset || doc->extSubset) { /* not reached: on_internal_subset stops first */
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-DOCTYPE",
                     "不允许使用 DOCTYPE 声明（文档类型定义和实体声明会带来安全风险），请删除");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (!xmlDocGetRootElement(doc)) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "XML-EMPTY", "文件中没有根元素");
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    if (c1_refs(buf, len, name, d) > 0) {
        xmlFreeDoc(doc);
        return IPF_INVALID;
    }
    /* The name a document was read as, so that a file it names (a template's
     * tailoring file) is found beside it.  Set after parsing: the parser
     * itself must never resolve anything against it. */
    if (!doc->URL && name)
        doc->URL = xmlStrdup((const xmlChar *)name);
    *out = doc;
    return IPF_OK;
}

static ipf_status read_file(const char *path, const ipf_xml_limits *limits, ipf_diags *d,
                            xmlDocPtr *out);

ipf_status ipf_xml_read_file(const char *path, const ipf_xml_limits *limits, ipf_diags *d,
                             xmlDocPtr *out)
{
    return nomem(read_file(path, limits, d, out), path, d);
}

ipf_status ipf_xml_read_definition(const char *path, const char *from, long from_line,
                                   const char *code, const char *what, ipf_diags *d, xmlDocPtr *out)
{
    ipf_status st = ipf_xml_read_file(path, NULL, d, out);
    if (st == IPF_OK || st == IPF_ERR_NOMEM)
        return st;
    if (from)
        ipf_diag_add(d, from, from_line, IPF_SEV_ERROR, code, "无法读取 %s %s", what, path);
    return IPF_ERR_TEMPLATE;
}

static ipf_status read_file(const char *path, const ipf_xml_limits *limits, ipf_diags *d,
                            xmlDocPtr *out)
{
    *out = NULL;
    ipf_xml_limits lim = effective(limits);
    /* Opened without blocking and examined through the descriptor: opening
     * a FIFO for reading would otherwise wait for a writer forever (and
     * stall a whole batch); a device that has nothing to read says EAGAIN
     * instead of hanging. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat sb;
        if (e == ENOENT || e == ENOTDIR)
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-NOT-FOUND", "%s", "文件不存在");
        else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-IS-DIR", "这是一个目录，不是 XML 文件");
        else if (e == EACCES)
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "无法打开文件（没有读取权限）");
        else
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "无法打开文件（%s）", strerror(e));
        return IPF_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "无法读取文件信息（%s）",
                     strerror(errno));
        close(fd);
        return IPF_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-IS-DIR", "这是一个目录，不是 XML 文件");
        close(fd);
        return IPF_ERR_IO;
    }
    if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-NOT-REGULAR",
                     "这是%s，不是普通文件：它可能永远等不到结尾，请先把数据保存为文件再检查",
                     S_ISFIFO(st.st_mode) ? "管道（FIFO）" : "套接字");
        close(fd);
        return IPF_ERR_IO;
    }
    if (S_ISREG(st.st_mode) && (size_t)st.st_size > lim.max_bytes) {
        too_large(d, path, (unsigned long long)st.st_size, lim.max_bytes);
        close(fd);
        return IPF_INVALID;
    }
    if (S_ISREG(st.st_mode)) /* a regular file never blocks; reads as usual */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return IPF_ERR_NOMEM;
    }
    /* Read with a bound rather than trusting st_size (pipes, growing files). */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    size_t len = 0;
    char *buf = malloc(cap);
    ipf_status status = IPF_OK;
    while (buf) {
        if (len == cap) {
            if (cap > lim.max_bytes)
                break; /* one byte over the limit is enough to refuse */
            size_t ncap = cap * 2 > lim.max_bytes + 1 ? lim.max_bytes + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (!buf) {
        status = IPF_ERR_NOMEM;
    } else if (ferror(f)) {
        int e = errno;
        if (e == EAGAIN || e == EWOULDBLOCK)
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-NOT-REGULAR",
                         "这是一个设备，现在没有可读的数据：请先把数据保存为普通文件再检查");
        else
            ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "读取文件失败：%s", strerror(e));
        status = IPF_ERR_IO;
    }
    fclose(f);
    if (status == IPF_OK && len > lim.max_bytes) {
        /* A device, pipe or growing file: its size is unknown, say so. */
        char human[32];
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "XML-TOO-LARGE",
                     "文件超过 %zu 字节（%s）的上限，已停止读取", lim.max_bytes,
                     human_size(lim.max_bytes, human, sizeof human));
        status = IPF_INVALID;
    }
    if (status == IPF_OK)
        status = read_memory(buf, len, path, limits, d, out);
    free(buf);
    return status;
}
