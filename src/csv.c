/* csv.c: RFC 4180 rosters in (UTF-8, UTF-8 with BOM or GB18030), lists out. */
#include "csv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unicode/ucnv.h>

#include "atomic.h"
#include "buf.h"
#include "utf8.h"

#define CSV_MAX_BYTES  (64u * 1024u * 1024u)
#define CSV_MAX_FIELDS 256

struct ipf_csv {
    char *text;     /* decoded UTF-8; fields are NUL-terminated inside it */
    size_t *fields; /* offsets into text, nrec * nfields */
    long *lines;    /* first line of each record */
    size_t nrec, nfields, cap;
    const char *encoding;
};

static const char HOW_TO_SAVE[] = "请在 Excel 或 WPS 中用“另存为 → CSV UTF-8（逗号分隔）”重新保存";

/* The line holding byte off of buf. */
static long line_at(const char *buf, size_t off)
{
    long line = 1;
    for (size_t i = 0; i < off; i++)
        if (buf[i] == '\n')
            line++;
    return line;
}

/* Offset of the first byte that is not valid UTF-8, or len when all are. */
static size_t utf8_invalid_at(const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        if ((unsigned char)*p < 0x80) {
            p++;
            continue;
        }
        uint32_t cp;
        const char *q = p;
        if (ipf_utf8_next(&q, &cp) < 0 || q > end)
            return (size_t)(p - buf);
        p = q;
    }
    return len;
}

/* GB18030 → UTF-8 with ICU, stopping at the first byte sequence GB18030 does
 * not define.  Returns the converted text (malloc'd, NUL-terminated), or NULL
 * with *bad set to the offending offset (or SIZE_MAX when out of memory). */
static char *from_gb18030(const char *buf, size_t len, size_t *bad)
{
    UErrorCode ec = U_ZERO_ERROR;
    UConverter *cv = ucnv_open("GB18030", &ec);
    if (U_FAILURE(ec)) {
        *bad = SIZE_MAX;
        return NULL;
    }
    ucnv_setToUCallBack(cv, UCNV_TO_U_CALLBACK_STOP, NULL, NULL, NULL, &ec);
    UChar *u = malloc((len + 1) * sizeof *u * 2);
    char *out = NULL;
    if (!u) {
        ucnv_close(cv);
        *bad = SIZE_MAX;
        return NULL;
    }
    UChar *t = u;
    const char *s = buf;
    ucnv_toUnicode(cv, &t, u + len * 2 + 1, &s, buf + len, NULL, 1, &ec);
    if (U_FAILURE(ec)) {
        /* s is past the bad bytes; back up over what ICU kept as invalid. */
        char errb[32];
        int8_t elen = sizeof errb;
        UErrorCode e2 = U_ZERO_ERROR;
        ucnv_getInvalidChars(cv, errb, &elen, &e2);
        size_t at = (size_t)(s - buf);
        *bad = at >= (size_t)elen ? at - (size_t)elen : 0;
        ucnv_close(cv);
        free(u);
        return NULL;
    }
    ucnv_close(cv);
    int32_t ulen = (int32_t)(t - u);
    out = malloc((size_t)ulen * 3 + 1);
    if (out) {
        char *o = out;
        for (int32_t i = 0; i < ulen; i++) {
            uint32_t cp = u[i];
            if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < ulen && u[i + 1] >= 0xDC00 &&
                u[i + 1] < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
                i++;
            }
            o += ipf_utf8_encode(cp, o);
        }
        *o = '\0';
    } else {
        *bad = SIZE_MAX;
    }
    free(u);
    return out;
}

/* Bytes that are valid UTF-8 and valid GB18030 at once: a short GB18030
 * roster whose every Chinese character happens to look like a two-byte UTF-8
 * sequence (专 is D7 A8, Hebrew ר in UTF-8).  UTF-8 Chinese text has
 * three-byte sequences; so when the UTF-8 reading has none but some two-byte
 * ones, and the GB18030 reading is all Han characters and CJK punctuation
 * beyond ASCII, the file is taken as GB18030. */
static int gb18030_rather(const char *buf, size_t len)
{
    int two = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)buf[i];
        if (b >= 0xE0)
            return 0;
        if (b >= 0xC0)
            two = 1;
    }
    if (!two)
        return 0;
    size_t bad;
    char *t = from_gb18030(buf, len, &bad);
    if (!t)
        return 0;
    int han = 1;
    for (const char *p = t; *p && han;) {
        uint32_t cp;
        if (ipf_utf8_next(&p, &cp) < 0)
            han = 0;
        else if (cp >= 0x80 && !((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                                 (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFFEF)))
            han = 0;
    }
    free(t);
    return han;
}

/* Parses c->text in place: field text is compacted (quotes removed, ""
 * folded) and NUL-terminated. */
static ipf_status parse(ipf_csv *c, const char *name, ipf_diags *d)
{
    char *r = c->text, *w = c->text;
    long line = 1;
    size_t recfields[CSV_MAX_FIELDS];
    size_t nf = 0;
    long recline = 1;
    int errors = 0;
    for (;;) {
        /* One field. */
        size_t start = (size_t)(w - c->text);
        long fline = line;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0') {
                    ipf_diag_add(d, name, fline, IPF_SEV_ERROR, "CSV-QUOTE",
                                 "第 %ld 行的引号字段一直没有结束（缺少配对的英文双引号 \"）；"
                                 "请检查这一格，字段内的引号要写成两个 \"\"",
                                 fline);
                    return IPF_INVALID;
                }
                if (*r == '"') {
                    if (r[1] == '"') {
                        *w++ = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                if (*r == '\n')
                    line++;
                *w++ = *r++;
            }
            if (*r != ',' && *r != '\n' && *r != '\r' && *r != '\0') {
                ipf_diag_add(d, name, line, IPF_SEV_ERROR, "CSV-QUOTE",
                             "第 %ld 行第 %zu 列：引号结束后又有文字；整格都应在引号内，"
                             "字段内的引号要写成两个 \"\"",
                             line, nf + 1);
                return IPF_INVALID;
            }
        } else {
            while (*r && *r != ',' && *r != '\n' && !(*r == '\r' && r[1] == '\n')) {
                if (*r == '"') {
                    ipf_diag_add(d, name, line, IPF_SEV_ERROR, "CSV-QUOTE",
                                 "第 %ld 行第 %zu 列：不在引号内的字段中出现了英文双引号；"
                                 "请把整格放在引号内，并把其中的引号写成两个 \"\"",
                                 line, nf + 1);
                    return IPF_INVALID;
                }
                *w++ = *r++;
            }
        }
        if (nf == CSV_MAX_FIELDS) {
            ipf_diag_add(d, name, recline, IPF_SEV_ERROR, "CSV-FIELDS",
                         "第 %ld 行超过 %d 列；名册不应有这么多列，请检查分隔符", recline,
                         CSV_MAX_FIELDS);
            return IPF_INVALID;
        }
        recfields[nf++] = start;
        char sep = *r;
        *w++ = '\0';
        if (sep == ',') {
            r++;
            continue;
        }
        /* End of a record: \r\n, \n or the end of the text. */
        /* sep was read before the NUL went in: w may stand where r stood. */
        if (sep == '\r') {
            r++;
            if (*r == '\n')
                r++;
            line++;
        } else if (sep == '\n') {
            r++;
            line++;
        }
        int empty = nf == 1 && c->text[recfields[0]] == '\0';
        if (!empty) {
            if (c->nrec == 0) {
                c->nfields = nf;
            } else if (nf != c->nfields) {
                ipf_diag_add(d, name, recline, IPF_SEV_ERROR, "CSV-FIELDS",
                             "第 %ld 行有 %zu 列，表头（第 %ld 行）有 %zu 列；请检查这一行的"
                             "逗号，含逗号的内容要放在英文双引号内",
                             recline, nf, c->lines[0], c->nfields);
                errors++;
            }
            if (!errors) {
                /* fields (nfields per record) and lines grow side by side */
                size_t capf = c->cap, capl = c->cap;
                if (ipf_grow((void **)&c->fields, &capf, c->nrec + 1,
                             c->nfields * sizeof *c->fields) < 0 ||
                    IPF_GROW(c->lines, capl, c->nrec + 1) < 0)
                    return IPF_ERR_NOMEM;
                c->cap = capf;
                memcpy(c->fields + c->nrec * c->nfields, recfields, nf * sizeof *recfields);
                c->lines[c->nrec++] = recline;
            }
        }
        nf = 0;
        recline = line;
        if (*r == '\0')
            break;
    }
    if (errors)
        return IPF_INVALID;
    if (c->nrec == 0) {
        ipf_diag_add(d, name, 0, IPF_SEV_ERROR, "CSV-EMPTY",
                     "文件是空的：名册的第一行应是表头（如 网点名称,地区,…）");
        return IPF_INVALID;
    }
    return IPF_OK;
}

static ipf_status read_terminated(const char *buf, size_t len, const char *name, ipf_diags *d,
                                  ipf_csv **out);

ipf_status ipf_csv_read_memory(const char *buf, size_t len, const char *name, ipf_diags *d,
                               ipf_csv **out)
{
    /* The decoder reads a sequence to its end: a multi-byte character cut
     * off by the end of the bytes must meet a NUL, not what lies beyond. */
    *out = NULL;
    char *own = malloc(len + 1);
    if (!own)
        return IPF_ERR_NOMEM;
    memcpy(own, buf, len);
    own[len] = '\0';
    ipf_status st = read_terminated(own, len, name, d, out);
    free(own);
    return st;
}

static ipf_status read_terminated(const char *buf, size_t len, const char *name, ipf_diags *d,
                                  ipf_csv **out)
{
    *out = NULL;
    if (len >= 2 && (((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                     ((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF))) {
        ipf_diag_add(d, name, 1, IPF_SEV_ERROR, "CSV-ENCODING",
                     "文件是 UTF-16 编码（Excel 的“Unicode 文本”），不是 CSV；%s", HOW_TO_SAVE);
        return IPF_INVALID;
    }
    const void *nul = memchr(buf, '\0', len);
    if (nul) {
        ipf_diag_add(d, name, line_at(buf, (size_t)((const char *)nul - buf)), IPF_SEV_ERROR,
                     "CSV-ENCODING", "第 %ld 行含有空字符（0x00），不是文本 CSV；%s",
                     line_at(buf, (size_t)((const char *)nul - buf)), HOW_TO_SAVE);
        return IPF_INVALID;
    }
    ipf_csv *c = calloc(1, sizeof *c);
    if (!c)
        return IPF_ERR_NOMEM;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
        buf += 3;
        len -= 3;
        c->encoding = "UTF-8 (BOM)";
    }
    size_t bad = utf8_invalid_at(buf, len);
    if (bad == len && !c->encoding && gb18030_rather(buf, len)) {
        c->text = from_gb18030(buf, len, &bad);
        c->encoding = "GB18030";
        if (!c->text) {
            ipf_csv_free(c);
            return IPF_ERR_NOMEM;
        }
    } else if (bad == len) {
        if (!c->encoding)
            c->encoding = "UTF-8";
        c->text = malloc(len + 1);
        if (c->text) {
            memcpy(c->text, buf, len);
            c->text[len] = '\0';
        }
    } else if (c->encoding) {
        /* A BOM says UTF-8: GB18030 would be a guess against the file's word. */
        ipf_diag_add(d, name, line_at(buf, bad), IPF_SEV_ERROR, "CSV-ENCODING",
                     "文件开头标明是 UTF-8，但第 %ld 行含有不是 UTF-8 的字节；%s",
                     line_at(buf, bad), HOW_TO_SAVE);
        ipf_csv_free(c);
        return IPF_INVALID;
    } else {
        size_t gbad = 0;
        c->text = from_gb18030(buf, len, &gbad);
        c->encoding = "GB18030";
        if (!c->text && gbad != SIZE_MAX) {
            long l = line_at(buf, bad > gbad ? bad : gbad);
            ipf_diag_add(
                d, name, l, IPF_SEV_ERROR, "CSV-ENCODING",
                "第 %ld 行含有既不是 UTF-8 也不是 GB18030（GBK）的字节，无法识别文件编码；%s", l,
                HOW_TO_SAVE);
            ipf_csv_free(c);
            return IPF_INVALID;
        }
    }
    if (!c->text) {
        ipf_csv_free(c);
        return IPF_ERR_NOMEM;
    }
    ipf_status st = parse(c, name, d);
    if (st != IPF_OK) {
        ipf_csv_free(c);
        return st;
    }
    *out = c;
    return IPF_OK;
}

ipf_status ipf_csv_read_file(const char *path, ipf_diags *d, ipf_csv **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "无法读取名册文件（%s）",
                     f ? "不是普通文件" : strerror(errno));
        if (f)
            fclose(f);
        return IPF_ERR_IO;
    }
    if ((unsigned long long)st.st_size > CSV_MAX_BYTES) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "CSV-SIZE", "名册文件超过 %u MiB 的上限",
                     CSV_MAX_BYTES / 1024u / 1024u);
        fclose(f);
        return IPF_INVALID;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (!buf) {
        fclose(f);
        return IPF_ERR_NOMEM;
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) {
        ipf_diag_add(d, path, 0, IPF_SEV_ERROR, "IO-READ", "读取名册文件时出错");
        free(buf);
        return IPF_ERR_IO;
    }
    buf[len] = '\0';
    ipf_status s = read_terminated(buf, len, path, d, out);
    free(buf);
    return s;
}

void ipf_csv_free(ipf_csv *c)
{
    if (!c)
        return;
    free(c->text);
    free(c->fields);
    free(c->lines);
    free(c);
}

size_t ipf_csv_records(const ipf_csv *c)
{
    return c->nrec;
}

size_t ipf_csv_fields(const ipf_csv *c)
{
    return c->nfields;
}

const char *ipf_csv_field(const ipf_csv *c, size_t record, size_t field)
{
    if (record >= c->nrec || field >= c->nfields)
        return "";
    return c->text + c->fields[record * c->nfields + field];
}

long ipf_csv_line(const ipf_csv *c, size_t record)
{
    return record < c->nrec ? c->lines[record] : 0;
}

const char *ipf_csv_encoding(const ipf_csv *c)
{
    return c->encoding;
}

/* ------------------------------------------------------------ writing */

struct ipf_csv_writer {
    ipf_csv_charset cs;
    ipf_buf out; /* UTF-8, BOM first */
    int infield; /* fields in the current record so far */
    unsigned char *conv;
    size_t convlen;
};

int ipf_csv_charset_parse(const char *name)
{
    if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        return IPF_CSV_UTF8_BOM;
    if (strcasecmp(name, "gb18030") == 0)
        return IPF_CSV_GB18030;
    return -1;
}

static int put(ipf_csv_writer *w, const char *s, size_t n)
{
    return ipf_buf_put(&w->out, s, n);
}

ipf_status ipf_csv_writer_new(ipf_csv_charset cs, ipf_csv_writer **out)
{
    *out = NULL;
    ipf_csv_writer *w = calloc(1, sizeof *w);
    if (!w)
        return IPF_ERR_NOMEM;
    w->cs = cs;
    if (cs == IPF_CSV_UTF8_BOM && put(w, "\xEF\xBB\xBF", 3) < 0) {
        free(w);
        return IPF_ERR_NOMEM;
    }
    *out = w;
    return IPF_OK;
}

void ipf_csv_writer_free(ipf_csv_writer *w)
{
    if (!w)
        return;
    free(w->out.s);
    free(w->conv);
    free(w);
}

ipf_status ipf_csv_put(ipf_csv_writer *w, const char *s)
{
    if (!s)
        s = "";
    int e = 0;
    if (w->infield++)
        e |= put(w, ",", 1);
    /* A leading = + - @ (or tab, CR) would make Excel or WPS evaluate the cell:
     * an apostrophe makes it text there, and a reader sees what it is. */
    int neutralise = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    /* In GB18030 a file may begin with the bytes EF BB BF (0xEFBB, 0xBF..),
     * which every reader, ours included, takes for a UTF-8 BOM: a file's
     * first field that begins beyond ASCII is quoted, so it begins with ". */
    int first_gb = w->cs != IPF_CSV_UTF8_BOM && w->out.len == 0 && (unsigned char)s[0] >= 0x80;
    int quote = neutralise || first_gb || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        e |= put(w, "\"", 1);
    if (neutralise)
        e |= put(w, "'", 1);
    for (const char *p = s; *p && !e; p++) {
        if (*p == '"')
            e |= put(w, "\"\"", 2);
        else
            e |= put(w, p, 1);
    }
    if (quote)
        e |= put(w, "\"", 1);
    return e ? IPF_ERR_NOMEM : IPF_OK;
}

ipf_status ipf_csv_end_record(ipf_csv_writer *w)
{
    w->infield = 0;
    return put(w, "\r\n", 2) < 0 ? IPF_ERR_NOMEM : IPF_OK;
}

ipf_status ipf_csv_bytes(ipf_csv_writer *w, const unsigned char **buf, size_t *len)
{
    if (w->cs == IPF_CSV_UTF8_BOM) {
        *buf = (const unsigned char *)w->out.s;
        *len = w->out.len;
        return IPF_OK;
    }
    UErrorCode ec = U_ZERO_ERROR;
    free(w->conv);
    w->conv = NULL;
    size_t cap = w->out.len * 2 + 16;
    w->conv = malloc(cap);
    if (!w->conv)
        return IPF_ERR_NOMEM;
    int32_t n = ucnv_convert("GB18030", "UTF-8", (char *)w->conv, (int32_t)cap, w->out.s,
                             (int32_t)w->out.len, &ec);
    if (U_FAILURE(ec))
        return ec == U_MEMORY_ALLOCATION_ERROR ? IPF_ERR_NOMEM : IPF_ERR_INTERNAL;
    w->convlen = (size_t)n;
    *buf = w->conv;
    *len = w->convlen;
    return IPF_OK;
}

ipf_status ipf_csv_write_file(ipf_csv_writer *w, const char *path, ipf_diags *d)
{
    const unsigned char *b;
    size_t n;
    ipf_status st = ipf_csv_bytes(w, &b, &n);
    if (st != IPF_OK)
        return st;
    ipf_chunk c = {b, n};
    return ipf_atomic_write_kind(path, IPF_FILE_CSV, &c, 1, 1, d);
}
