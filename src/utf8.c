/* utf8.c */
#include "utf8.h"

#include <stdio.h>
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

int ipf_utf8_is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           c == 0x180E || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
           (c >= 0x205F && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0x3000 ||
           c == 0xFEFF;
}

int ipf_utf8_is_filled(const char *s)
{
    for (const char *p = s; p && *p;) {
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0)
            return 1;
        if (!ipf_utf8_is_space(c))
            return 1;
    }
    return 0;
}

const char *ipf_utf8_space_name(uint32_t c)
{
    switch (c) {
    case 0x20:
        return "空格";
    case 0x09:
        return "制表符";
    case 0x0A:
    case 0x0D:
    case 0x85:
    case 0x2028:
    case 0x2029:
        return "换行";
    case 0xA0:
    case 0x202F:
        return "不换行空格";
    case 0x3000:
        return "全角空格";
    case 0x200B:
        return "零宽空格";
    case 0xFEFF:
        return "零宽不换行空格";
    default:
        return NULL;
    }
}

/* The two excerpts share their walk: the characters of v (malformed bytes
 * skipped) until max_chars are shown, then "……".  Plain, a run of white
 * space is not shown but becomes one space before the next character;
 * visible, each white-space character is shown by name, except one plain
 * space between two visible characters. */
static char *excerpt(const char *v, size_t max_chars, int visible)
{
    const char *p = v ? v : "";
    /* A shown character takes at most 4 bytes plus a space before it, or,
     * visible, 23 bytes ("[零宽不换行空格]"). */
    size_t len = strlen(p);
    size_t cap = visible ? (len < max_chars ? len : max_chars) * 24
                         : (len < max_chars * 5 ? len : max_chars * 5);
    char *out = malloc(cap + sizeof "……"), *o = out;
    if (!out)
        return NULL;
    size_t shown = 0;
    int space = 0;        /* plain: white space since the last shown character */
    int prev_visible = 0; /* visible: the last character was not white space */
    while (*p) {
        const char *start = p;
        uint32_t c;
        if (ipf_utf8_next(&p, &c) < 0) {
            p++;
            continue;
        }
        if (!visible && ipf_utf8_is_space(c)) {
            space = shown > 0;
            continue;
        }
        if (shown >= max_chars) {
            memcpy(o, "……", strlen("……"));
            o += strlen("……");
            break;
        }
        if (visible) {
            /* One plain space between two visible characters reads as itself. */
            const char *after = p;
            uint32_t n = 0;
            int inner = c == ' ' && prev_visible && *after && ipf_utf8_next(&after, &n) == 0 &&
                        !ipf_utf8_is_space(n);
            prev_visible = !ipf_utf8_is_space(c);
            if (ipf_utf8_is_space(c) && !inner) {
                const char *name = ipf_utf8_space_name(c);
                o += name ? sprintf(o, "[%s]", name) : sprintf(o, "[U+%04X]", (unsigned)c);
                shown++;
                continue;
            }
        } else if (space) {
            *o++ = ' ';
            space = 0;
        }
        memcpy(o, start, (size_t)(p - start));
        o += p - start;
        shown++;
    }
    *o = '\0';
    return out;
}

char *ipf_utf8_excerpt(const char *v, size_t max_chars)
{
    return excerpt(v, max_chars, 0);
}

char *ipf_utf8_excerpt_visible(const char *v, size_t max_chars)
{
    return excerpt(v, max_chars, 1);
}
