/* utf8.c */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

int ipf_utf8_next(const char **p, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0];
    int n;
    if (c < 0x80) {
        *cp = c;
        *p += 1;
        return 0;
    } else if ((c & 0xE0) == 0xC0) {
        c &= 0x1F;
        n = 1;
    } else if ((c & 0xF0) == 0xE0) {
        c &= 0x0F;
        n = 2;
    } else if ((c & 0xF8) == 0xF0) {
        c &= 0x07;
        n = 3;
    } else {
        return -1;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    *p += n + 1;
    return 0;
}

size_t ipf_utf8_encode(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t ipf_utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int is_ws(uint32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *ipf_utf8_excerpt(const char *v, size_t max_chars)
{
    const char *p = v ? v : "";
    /* Each shown character takes at most 4 bytes plus a space before it. */
    size_t cap = strlen(p) < max_chars * 5 ? strlen(p) : max_chars * 5;
    char *out = malloc(cap + sizeof "……"), *o = out;
    if (!out)
        return NULL;
    size_t shown = 0;
    int space = 0;
    while (*p) {
        const char *start = p;
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0) {
            p++;
            continue;
        }
        if (is_ws(c)) {
            space = shown > 0;
            continue;
        }
        if (shown >= max_chars) {
            memcpy(o, "……", strlen("……"));
            o += strlen("……");
            break;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        memcpy(o, start, (size_t)(p - start));
        o += p - start;
        shown++;
    }
    *o = '\0';
    return out;
}
