/* fuzz_layout.c: untrusted text typeset into a form.
 *
 * The form is tests/fuzz/layout-form/template.xml: the national form's
 * constructs on two pages ($IPF_FUZZ_TEMPLATE names another, e.g.
 * templates/national-filing/template.xml).  The base document is
 * tests/fuzz/layout-form/base.xml (or $IPF_FUZZ_SAMPLE), every field short.
 * The input replaces the text of its fields: byte 0 holds flags,
 * the rest is split at 0xFF bytes (never part of UTF-8) into pieces, piece k
 * going to field k of the list below (modulo its length).  Pieces are made
 * legal XML text first (what the reader would have let through), so this
 * reaches layout exactly as `ipforms render --force` would.
 *   flags bit 0-1: the team is kept, repeated 3 or 8 times, or emptied
 *   flags bit 2:   every field gets the first piece, up to 256 bytes of it
 *                  (a uniform flood)
 *   flags bit 3:   the blank form instead (data NULL)
 *   flags bit 4-7: also write the PDF into memory (all four: 1 input in 16)
 *
 * Speed (docs/fuzzing.md): about 0.2 ms of CPU for a 1-byte input and 1,300
 * to 1,600 executions a second in CI's 60 s run under ASan + UBSan.  What
 * makes it: the base document is edited in place and put back, not copied;
 * one drawing, one layout and their buffers serve every input; caches the
 * engine keeps (XPath objects, ICU dictionaries, the PDF writer's glyphs)
 * are filled before the first input, so that an input frees what it
 * allocates (libFuzzer runs an input that does not again, then searches the
 * heap for leaks); a flood is cut to 256 bytes a field.
 *
 * Checked: layout succeeds; at least one page; every coordinate finite;
 * every text run valid UTF-8 in a font of the set; no text, line or box
 * leaves the page, and no text run leaves the body between the margins by
 * more than half an em (a compressed mark's blank half). */
#include <math.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "drawing.h"
#include "fontset.h"
#include "form.h"
#include "fuzz_common.h"
#include "layout.h"
#include "pdf.h"
#include "rules.h"
#include "xmldoc.h"

static ipf_form *form;
static ipf_ruleset *rules; /* the form's settings, as the engine binds them */
static ipf_fontset *fonts;
static ipf_layout *layout;
static ipf_pdf_writer *writer;
static xmlDocPtr base;

static const char *const fields[] = {
    "d:institution/d:name",
    "d:institution/d:platform/d:url",
    "d:foundation/d:p",
    "d:institution/d:address",
    "d:team/d:member/d:profile/d:p",
    "d:institution/d:contact/d:email",
    "d:cases/d:case/d:content/d:p",
    "d:institution/d:services/d:service",
    "d:development/d:p",
    "d:institution/d:service-objects",
    "d:cover/d:applicant",
    "d:cover/d:date",
    "d:institution/d:staff/@total",
    "d:team/d:member/d:name",
    "d:cases/d:case/d:name",
    "d:applicant-opinion/d:text",
    "d:institution/d:contact/d:phone",
    "d:cases/d:case/@kind",
};
#define NFIELDS (sizeof fields / sizeof *fields)
/* A flood puts at most this much of its piece in each field: eighteen
 * fields of up to 1 KiB were half the target's inputs and most of its
 * time; 256 bytes in every field still run the form over several pages. */
#define FLOOD_MAX 256

static ipf_drawing *drawing; /* cleared for each input, its buffers kept */

static char *from_env(const char *var, const char *rel)
{
    const char *env = getenv(var);
    if (env && *env)
        return strdup(env);
    return fuzz_repo_path(rel);
}

/* The pieces of one input as legal XML character data, one after the
 * other, each NUL-terminated: the text nodes of the fields point into it
 * (reserved whole at the start, so that it never moves during an input). */
static char *texts;
static size_t ntexts, captexts;
static uint32_t *cps;
static size_t capcps;

static void reserve_texts(size_t size)
{
    /* A stray byte becomes U+FFFD, three bytes: the most a byte can give. */
    size_t need = 3 * size + NFIELDS + 2;
    if (need > captexts) {
        free(texts);
        texts = malloc(need);
        captexts = need;
    }
    if (size + 1 > capcps) {
        free(cps);
        cps = malloc((size + 1) * sizeof *cps);
        capcps = size + 1;
    }
    if (!texts || !cps)
        abort();
    ntexts = 0;
}

/* The piece as legal XML character data, in texts. */
static const char *xml_text(const uint8_t *s, size_t len)
{
    char *out = texts + ntexts;
    size_t n = fuzz_decode_lenient(s, len, cps), o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        if (c == 9 || c == 10 || c == 13 || (c >= 0x20 && c <= 0xD7FF) ||
            (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF))
            o += ipf_utf8_encode(c, out + o);
    }
    out[o] = '\0';
    ntexts += o + 1;
    return out;
}

/* The base document is changed in place for each input and put back after
 * (copying it cost a sixth of the target's allocations, and every
 * allocation is dear under ASan): a node whose text an input replaced keeps
 * its own children aside here until restore_base(), and so does an emptied
 * team.  The text that replaces them is a text node of text_nodes[], made
 * once, whose content points into texts. */
static struct saved {
    xmlNodePtr n, children, last;
} saved[NFIELDS + 1];
static size_t nsaved;
static xmlNodePtr text_nodes[NFIELDS + 1];

/* n without its children (an element's content or an attribute's value),
 * set aside in saved[]; 1 when they already were. */
static int detach_children(xmlNodePtr n)
{
    for (size_t i = 0; i < nsaved; i++)
        if (saved[i].n == n)
            return 1;
    if (nsaved == sizeof saved / sizeof *saved)
        abort();
    saved[nsaved++] = (struct saved){n, n->children, n->last};
    n->children = n->last = NULL;
    return 0;
}

static void restore_base(void)
{
    while (nsaved > 0) {
        struct saved *v = &saved[--nsaved];
        if (v->n->children) { /* our text node */
            v->n->children->parent = NULL;
            v->n->children->content = NULL;
        }
        v->n->children = v->children;
        v->n->last = v->last;
    }
}

/* The element's content, or the attribute's value, becomes the text. */
static void set_text(xmlNodePtr n, const char *text)
{
    if (detach_children(n)) {
        if (n->children)
            n->children->content = (xmlChar *)text;
        return;
    }
    xmlNodePtr t = text_nodes[nsaved - 1];
    t->content = (xmlChar *)text;
    t->parent = n;
    n->children = n->last = t;
}

/* The first node, in document order, that the path (steps "d:name" for
 * data elements, a last "@name" for an attribute) reaches from n.  A walk
 * rather than XPath: evaluating the paths cost a sixth of the target's
 * allocations, and every allocation is dear under ASan. */
static xmlNodePtr find_path(xmlNodePtr n, const char *path)
{
    if (*path == '@') {
        xmlAttrPtr a = xmlHasProp(n, (const xmlChar *)path + 1);
        return a ? (xmlNodePtr)a : NULL;
    }
    if (strncmp(path, "d:", 2) == 0)
        path += 2;
    const char *slash = strchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || !c->ns ||
            !xmlStrEqual(c->ns->href, (const xmlChar *)"urn:ipforms:data:1") ||
            strncmp((const char *)c->name, path, len) != 0 || c->name[len] != '\0')
            continue;
        if (!slash)
            return c;
        xmlNodePtr r = find_path(c, slash + 1);
        if (r)
            return r;
    }
    return NULL;
}

static void set_field(xmlNodePtr root, size_t f, const char *text)
{
    xmlNodePtr n = find_path(root, fields[f]);
    if (n)
        set_text(n, text);
}

/* The team emptied (its members, and the blanks between them, set aside by
 * detach_children), or 3 or 8 copies of its first member, made once,
 * appended until undo_team(). */
static xmlNodePtr member_copies[8];
static int team_copies;

static xmlNodePtr first_member(xmlNodePtr root, xmlNodePtr *team)
{
    xmlNodePtr t = find_path(root, "d:team");
    xmlNodePtr m = t ? t->children : NULL;
    while (m && !(m->type == XML_ELEMENT_NODE && xmlStrEqual(m->name, (const xmlChar *)"member")))
        m = m->next;
    *team = t;
    return m;
}

static void team(xmlNodePtr root, int how)
{
    xmlNodePtr t, m = first_member(root, &t);
    if (!m)
        return;
    if (how == 3) {
        detach_children(t);
        return;
    }
    team_copies = how == 1 ? 3 : 8;
    for (int i = 0; i < team_copies; i++)
        xmlAddChild(t, member_copies[i]);
}

static void undo_team(void)
{
    for (int i = team_copies; i-- > 0;)
        xmlUnlinkNode(member_copies[i]);
    team_copies = 0;
}

static void check_drawing(const ipf_drawing *dr)
{
    const ipf_page_geom *g = ipf_form_page(form);
    size_t np = ipf_drawing_page_count(dr);
    if (np == 0)
        fuzz_fail("no page");
    for (size_t p = 0; p < np; p++) {
        double pw, ph;
        ipf_drawing_page_size(dr, p, &pw, &ph);
        size_t n;
        const ipf_draw_item *it = ipf_drawing_items(dr, p, &n);
        for (size_t i = 0; i < n; i++) {
            const ipf_draw_item *d = &it[i];
            if (!isfinite(d->x) || !isfinite(d->y) || !isfinite(d->x2) || !isfinite(d->y2) ||
                !isfinite(d->size) || !isfinite(d->char_space) || !isfinite(d->line_width))
                fuzz_fail("page %zu item %zu (kind %d): non-finite value", p + 1, i, (int)d->kind);
            const double tol = 0.5;
            if (d->kind == IPF_DRAW_TEXT) {
                if (d->font < 0 || (size_t)d->font >= ipf_fontset_count(fonts))
                    fuzz_fail("page %zu item %zu: font %d", p + 1, i, d->font);
                double w = 0;
                size_t count = 0;
                for (const char *s = d->text; s < d->text + d->len;) {
                    uint32_t c;
                    if (ipf_utf8_next(&s, &c) < 0)
                        fuzz_fail("page %zu item %zu: text is not valid UTF-8", p + 1, i);
                    w += ipf_fontset_advance(fonts, (size_t)d->font, c) * d->size;
                    count++;
                }
                if (count > 1)
                    w += d->char_space * (double)(count - 1);
                double slack = d->size / 2 + tol;
                if (d->x < g->left - slack || d->x + w > pw - g->right + slack)
                    fuzz_fail("page %zu: text \"%.*s\" spans x %.2f to %.2f, the body is %.2f "
                              "to %.2f",
                              p + 1, (int)(d->len > 120 ? 120 : d->len), d->text, d->x, d->x + w,
                              g->left, pw - g->right);
                if (d->y < 0 || d->y > ph)
                    fuzz_fail("page %zu: text baseline y %.2f is off the page", p + 1, d->y);
            } else if (d->kind == IPF_DRAW_LINE) {
                if (fmin(d->x, d->x2) < -tol || fmax(d->x, d->x2) > pw + tol ||
                    fmin(d->y, d->y2) < -tol || fmax(d->y, d->y2) > ph + tol)
                    fuzz_fail("page %zu: line (%.2f,%.2f)-(%.2f,%.2f) leaves the page", p + 1, d->x,
                              d->y, d->x2, d->y2);
            } else {
                double w = d->kind == IPF_DRAW_RECT ? d->x2 : d->size;
                double h = d->kind == IPF_DRAW_RECT ? d->y2 : d->size;
                if (d->x < -tol || d->y < -tol || d->x + w > pw + tol || d->y + h > ph + tol)
                    fuzz_fail("page %zu: box at (%.2f,%.2f) %.2f x %.2f leaves the page", p + 1,
                              d->x, d->y, w, h);
            }
        }
    }
}

/* What the engine builds up once and keeps (libxml2's XPath object cache,
 * ICU's dictionaries for Thai, Lao, Khmer and Burmese, the PDF writer's
 * compressed glyphs, the buffers of layout and drawing) is built before the
 * first input: an input that grew it would allocate more than it frees,
 * and libFuzzer runs every such input again and then searches the whole
 * heap for a leak, which cost a tenth of the target's time. */
static void warm_up(ipf_diags *d)
{
    static const char text[] = "某大学 Example 2024-08-26 https://ip.example.edu.cn/ "
                               "กรุงเทพ ພາສາລາວ ភាសាខ្មែរ မြန်မာ 中文，“引号”。（括号）——……";
    static const uint8_t flags[] = {0xF6, 0xF5, 0xF2, 0xF3, 0xF8};
    uint8_t in[sizeof text]; /* the flags, then the text without its NUL */
    memcpy(in + 1, text, sizeof text - 1);
    for (size_t i = 0; i < sizeof flags; i++) {
        in[0] = flags[i];
        LLVMFuzzerTestOneInput(in, sizeof in);
    }
    /* Every character of the font in one PDF. */
    ipf_drawing_clear(drawing);
    fuzz_setup_check(ipf_drawing_add_page(drawing, 595, 842) == 0, "a page", NULL);
    char run[100 * 4];
    size_t len = 0, chars = 0, runs = 0;
    for (uint32_t c = 0x20; c < 0x30000; c++) {
        if (c < 0xD800 || c > 0xDFFF) {
            if (ipf_fontset_font_for(fonts, c) == 0) {
                len += ipf_utf8_encode(c, run + len);
                chars++;
            }
        }
        if (chars == 100 || (c == 0x2FFFF && chars > 0)) {
            double y = 20 + (double)(runs++ % 80) * 10;
            fuzz_setup_check(ipf_drawing_text(drawing, 20, y, 0, 8, 0, 0, run, len) == 0,
                             "the font's characters", NULL);
            len = chars = 0;
        }
    }
    unsigned char *pdf = NULL;
    size_t n = 0;
    ipf_pdf_options o = {-1, 0};
    fuzz_setup_check(ipf_pdf_write_memory(writer, drawing, &o, &pdf, &n, d) == IPF_OK,
                     "a PDF of every character", d);
    free(pdf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ipf_diags *d = fuzz_setup_begin();
    char *tpl = from_env("IPF_FUZZ_TEMPLATE", "tests/fuzz/layout-form/template.xml");
    fuzz_setup_check(ipf_form_load(tpl, d, &form) == IPF_OK, tpl, d);
    if (ipf_form_rules_path(form)) /* the small form has no rules, the national one has */
        fuzz_setup_check(ipf_ruleset_load(ipf_form_rules_path(form), d, &rules) == IPF_OK &&
                             ipf_form_bind_rules(form, rules, d) == IPF_OK,
                         tpl, d);
    free(tpl);
    char *font = fuzz_repo_path("fonts/FandolFang-Regular.ttf");
    const char *paths[1] = {font};
    fuzz_setup_check(ipf_fontset_open(paths, 1, d, &fonts) == IPF_OK, font, d);
    free(font);
    fuzz_setup_check(ipf_layout_new(&layout) == IPF_OK, "a layout engine", d);
    fuzz_setup_check(ipf_pdf_writer_new(fonts, d, &writer) == IPF_OK, "a PDF writer", d);
    char *sample = from_env("IPF_FUZZ_SAMPLE", "tests/fuzz/layout-form/base.xml");
    fuzz_setup_check(sample && ipf_xml_read_file(sample, NULL, d, &base) == IPF_OK, "the sample",
                     d);
    free(sample);
    drawing = ipf_drawing_new();
    fuzz_setup_check(drawing != NULL, "a drawing", NULL);
    for (size_t i = 0; i < sizeof text_nodes / sizeof *text_nodes; i++) {
        text_nodes[i] = xmlNewDocText(base, NULL);
        fuzz_setup_check(text_nodes[i] != NULL, "a text node", NULL);
    }
    xmlNodePtr t, m = first_member(xmlDocGetRootElement(base), &t);
    for (size_t i = 0; m && i < sizeof member_copies / sizeof *member_copies; i++) {
        member_copies[i] = xmlDocCopyNode(m, base, 1);
        fuzz_setup_check(member_copies[i] != NULL, "a team member", NULL);
    }
    warm_up(d);
    ipf_diags_free(d);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0];
    data++;
    size--;
    xmlDocPtr doc = NULL;
    if (!(flags & 8)) {
        doc = base;
        xmlNodePtr root = xmlDocGetRootElement(doc);
        if (flags & 3)
            team(root, flags & 3);
        reserve_texts(size);
        size_t k = 0, start = 0;
        for (size_t i = 0; i <= size; i++) {
            if (i < size && data[i] != 0xFF)
                continue;
            size_t len = i - start;
            if ((flags & 4) && len > FLOOD_MAX)
                len = FLOOD_MAX;
            const char *t = xml_text(data + start, len);
            if (flags & 4) {
                for (size_t f = 0; f < NFIELDS; f++)
                    set_field(root, f, t);
                break;
            }
            set_field(root, k % NFIELDS, t);
            k++;
            start = i + 1;
        }
    }
    ipf_diags *d = ipf_diags_new();
    ipf_drawing *dr = drawing;
    if (!d)
        abort();
    ipf_drawing_clear(dr);
    ipf_status st = ipf_layout_document(layout, form, fonts, doc, "fuzz.xml", dr, d);
    if (st != IPF_OK)
        fuzz_fail("layout returned status %d", (int)st);
    fuzz_check_diags(d, "fuzz.xml");
    check_drawing(dr);
    if ((flags & 0xF0) == 0xF0) {
        unsigned char *pdf = NULL;
        size_t len = 0;
        ipf_pdf_options o = {-1, 0};
        st = ipf_pdf_write_memory(writer, dr, &o, &pdf, &len, d);
        if (st != IPF_OK)
            fuzz_fail("PDF writer returned status %d", (int)st);
        if (len < 8 || memcmp(pdf, "%PDF-", 5) != 0)
            fuzz_fail("PDF writer produced %zu bytes that are not a PDF", len);
        free(pdf);
    }
    ipf_diags_free(d);
    undo_team();
    restore_base();
    return 0;
}
