/* fuzz_template.c: a hand-edited form template.
 *
 * Templates are trusted (they come with ipforms or from the office), but they
 * are edited by hand, and a slip must give a diagnostic naming the template
 * file and line, never a crash.  ipf_form_load() reads a path, so each input
 * is written to <tmp>/national-filing/template.xml (<tmp> under
 * $IPF_FUZZ_TMPDIR, else /dev/shm when it exists, else /tmp); no
 * ../schema/template.xsd sits beside it, so the loader's own checks (spans,
 * lengths, XPath, line-breaking level) are what runs, on
 * inputs the XSD would have refused as well.  A template that loads is then
 * laid out as the blank form with the real font, which walks every element
 * the layout knows.
 *
 * Invariants: a failed load names the template file in an error and says
 * IPF_ERR_TEMPLATE (or NOMEM); a successful one has no error; every
 * diagnostic is a clean line; the blank layout gives at least one page and
 * only finite coordinates. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "drawing.h"
#include "fontset.h"
#include "form.h"
#include "fuzz_common.h"
#include "layout.h"
#include "xmldoc.h"

static char dir[4096], sub[4200], path[4300];
static ipf_fontset *fonts;
static ipf_layout *layout;

static void cleanup(void)
{
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ipf_xml_init();
    /* run.sh names its own temporary directory, so that nothing is left
     * behind when an input aborts before the atexit() cleanup. */
    struct stat st;
    const char *tmp = getenv("IPF_FUZZ_TMPDIR");
    if (!tmp || !*tmp)
        tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/ipf-fuzz-template-XXXXXX", tmp);
    fuzz_setup_check(mkdtemp(dir) != NULL, "a temporary directory", NULL);
    snprintf(sub, sizeof sub, "%s/national-filing", dir);
    fuzz_setup_check(mkdir(sub, 0700) == 0, sub, NULL);
    snprintf(path, sizeof path, "%s/template.xml", sub);
    atexit(cleanup);
    ipf_diags *d = ipf_diags_new();
    fuzz_setup_check(d != NULL, "no memory", NULL);
    char *font = fuzz_repo_path("fonts/FandolFang-Regular.ttf");
    const char *paths[1] = {font};
    fuzz_setup_check(ipf_fontset_open(paths, 1, d, &fonts) == IPF_OK, font, d);
    free(font);
    fuzz_setup_check(ipf_layout_new(&layout) == IPF_OK, "a layout engine", d);
    ipf_diags_free(d);
    return 0;
}

static void check_drawing(const ipf_drawing *dr)
{
    size_t np = ipf_drawing_page_count(dr);
    if (np == 0)
        fuzz_fail("the blank form laid out to no page");
    for (size_t p = 0; p < np; p++) {
        double w, h;
        ipf_drawing_page_size(dr, p, &w, &h);
        if (!isfinite(w) || !isfinite(h) || w <= 0 || h <= 0)
            fuzz_fail("page %zu has size %g x %g", p, w, h);
        size_t n;
        const ipf_draw_item *it = ipf_drawing_items(dr, p, &n);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(it[i].x) || !isfinite(it[i].y) || !isfinite(it[i].x2) ||
                !isfinite(it[i].y2) || !isfinite(it[i].size) || !isfinite(it[i].char_space))
                fuzz_fail("page %zu item %zu (kind %d) has a non-finite coordinate", p, i,
                          (int)it[i].kind);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fuzz_fail("cannot write %s", path);
    if (size && fwrite(data, 1, size, f) != size)
        fuzz_fail("cannot write %s", path);
    if (fclose(f) != 0)
        fuzz_fail("cannot write %s", path);
    ipf_diags *d = ipf_diags_new();
    if (!d)
        return 0;
    ipf_form *form = NULL;
    ipf_status st = ipf_form_load(path, d, &form);
    fuzz_check_diags(d, path);
    if (st == IPF_OK) {
        if (!form)
            fuzz_fail("load succeeded without a form");
        if (ipf_diags_errors(d) != 0)
            fuzz_fail("load succeeded with %zu error(s)", ipf_diags_errors(d));
        const ipf_page_geom *g = ipf_form_page(form);
        if (!isfinite(g->width) || !isfinite(g->height) || !isfinite(g->top) ||
            !isfinite(g->bottom) || !isfinite(g->left) || !isfinite(g->right))
            fuzz_fail("page geometry is not finite");
        (void)ipf_form_id(form);
        (void)ipf_form_title(form);
        for (size_t i = 0; i < ipf_form_font_count(form); i++)
            if (!ipf_form_font_name(form, i))
                fuzz_fail("font %zu has no name", i);
        ipf_drawing *dr = ipf_drawing_new();
        if (dr) {
            ipf_diags_clear(d);
            st = ipf_layout_document(layout, form, fonts, NULL, "blank", dr, d);
            if (st == IPF_OK)
                check_drawing(dr);
            else if (st != IPF_ERR_NOMEM && ipf_diags_errors(d) == 0)
                fuzz_fail("blank layout failed (status %d) without a diagnostic", (int)st);
            fuzz_check_diags(d, NULL);
            ipf_drawing_free(dr);
        }
        ipf_form_free(form);
    } else {
        if (form)
            fuzz_fail("failed load (status %d) left a form", (int)st);
        if (st != IPF_ERR_TEMPLATE && st != IPF_ERR_NOMEM)
            fuzz_fail("failed load returned status %d, expected IPF_ERR_TEMPLATE", (int)st);
        int named = 0;
        for (size_t i = 0; i < ipf_diags_count(d); i++) {
            const ipf_diag *g = ipf_diags_get(d, i);
            named |= g->severity == IPF_SEV_ERROR && strcmp(g->file, path) == 0;
        }
        if (st == IPF_ERR_TEMPLATE && !named)
            fuzz_fail("failed load has no error naming the template file");
    }
    ipf_diags_free(d);
    return 0;
}
