#!/usr/bin/python3
"""End-to-end checks of ipforms as a clerk uses it: the command, the PDF it
writes, and what poppler's tools read back from that PDF.

Usage: render_checks.py CHECK IPFORMS REPO_ROOT [ARGS]
Each check prints what it found and exits non-zero on the first failure.

The one manifest format of the render tests is samples/<form>/MANIFEST, one
per form (its samples and its blank form), read by manifest() below, which
lists the keys; tests/cmake/render.cmake makes a render test of every sample
beside a MANIFEST and a blank test of its form, and manifest.every-form
fails for a catalogue form without one or a sample it does not name."""
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

from ipftest import fail, in_pages, run, squash

NS = {"d": "urn:ipforms:data:1"}
# Marks that must never start a line (clreq / GB/T 15834): 点号 and closing marks.
NO_START = "，。、；：？！）」』》〉】〕’”"
NO_END = "（「『《〈【〔‘“"


def pdftotext(pdf, layout=False):
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [pdf, "-"]
    r = run(args)
    if r.returncode != 0:
        fail(f"pdftotext failed: {r.stderr}")
    if r.stderr.strip():
        fail(f"pdftotext printed warnings: {r.stderr.strip()[:300]}")
    return r.stdout


def clean_text(text):
    """The text without what pagination adds: page numbers and the headings
    and labels repeated with （续） on continuation pages."""
    keep = []
    for line in text.split("\n"):
        t = line.strip()
        if re.fullmatch(r"—\s*\d+\s*—|第\s*\d+\s*页[\s\u3000]*(共\s*\d+\s*页)?", t):
            continue
        if t.endswith("（续）"):
            continue
        keep.append(line)
    return squash("\n".join(keep))


def pages(pdf):
    r = run(["pdfinfo", pdf])
    m = re.search(r"^Pages:\s+(\d+)", r.stdout, re.M)
    if not m:
        fail(f"pdfinfo: {r.stderr}")
    return int(m.group(1)), r.stdout


def check_fonts(pdf):
    r = run(["pdffonts", pdf])
    rows = r.stdout.strip().split("\n")[2:]
    if not rows:
        fail("no fonts in PDF")
    for row in rows:
        cols = row.split()
        # name type... emb sub uni object ID
        emb, sub, uni = cols[-5], cols[-4], cols[-3]
        if (emb, sub, uni) != ("yes", "yes", "yes"):
            fail(f"font not embedded as a subset with Unicode map: {row}")
        if not re.match(r"^[A-Z]{6}\+", cols[0]):
            fail(f"subset font name lacks its tag: {row}")
    print(f"fonts ok: {len(rows)} embedded subset font(s)")


def check_line_starts(text):
    bad = []
    for line in text.split("\n"):
        t = line.strip()
        if t and t[0] in NO_START:
            bad.append(t)
        if t and t[-1] in NO_END:
            bad.append(t)
    # Lines of pdftotext's non-layout output are the typeset lines of one
    # cell, so a forbidden mark at a line edge is a line-breaking bug.
    if bad:
        fail("lines start with a closing mark or end with an opening mark:\n  " + "\n  ".join(bad[:10]))
    print("line edges ok")


def present(text, item):
    """item is in text whole, or — for a short label wrapped in a narrow cell
    whose first line pdftotext joined with the neighbouring cell's line — in
    order within a short stretch starting at its first characters."""
    if item in text:
        return True
    start = text.find(item[:3])
    while start >= 0:
        window, k = text[start:start + 12 * len(item)], 0
        for ch in window:
            if k < len(item) and ch == item[k]:
                k += 1
        if k == len(item):
            return True
        start = text.find(item[:3], start + 1)
    return False


def assert_present_in_order(raw, layout, items, what, head=4):
    """Every item whole in pdftotext's text (a cell's lines stay together
    there), and the items in the form's order in -layout text, which keeps
    rows top to bottom and cells left to right; there a multi-line cell is
    interleaved with its neighbours, so order is judged by each item's start
    (its first head characters; labels pass 3, for a balanced label breaks
    as 服务事|项清单)."""
    for it in items:
        if not present(raw, it):
            fail(f"{what} missing: {it[:60]}")
    assert_in_order(layout, [it[:head] for it in items], what)


def assert_in_order(text, items, what):
    """Each item after the previous one; in a row whose cells are centred
    vertically, a taller neighbour starts a line or two higher, so the search
    starts two lines above the previous item."""
    pos = 0
    for it in items:
        i = text.find(it, pos)
        if i < 0:
            j = text.find(it)
            where = "missing" if j < 0 else f"out of order (found at {j}, expected after {pos})"
            fail(f"{what} {where}: {it[:60]}")
        back = i
        for _ in range(3):
            back = text.rfind("\n", 0, back) if back > 0 else 0
            back = max(back, 0)
        pos = max(pos, back)
    print(f"{len(items)} {what} present and in order")


def render(ipf, args, outdir, env=None):
    r = run([ipf] + args + ["-o", outdir], env=env)
    return r


LIST_KEYS = ("contains", "sample-contains", "blank-contains", "absent", "sample-absent",
             "blank-absent")


def manifest(repo, form):
    """samples/<form>/MANIFEST: what a clerk would check on this form's PDFs.
    Lines "key value…" (# starts a comment):
      title TEXT               a sample's PDF title starts with it (the blank
                               form's title is the template's title=)
      pages SAMPLE.xml N       page count of that sample's PDF
      blank-pages N            page count of the blank form
      contains TEXT            every PDF of the form shows it (blank included)
      sample-contains TEXT     every sample's PDF shows it
      blank-contains TEXT      the blank form shows it
      absent TEXT              no PDF of the form shows it (another form's
                               issuer or wording, an unresolved {$…})
      sample-absent TEXT       no sample's PDF shows it
      blank-absent TEXT        the blank form does not show it
    TEXT is compared with all white space removed (pdftotext breaks lines).
    Page counts were read off the PNG pages once and fixed here: a layout
    change that moves a page break fails and is looked at again."""
    path = os.path.join(repo, "samples", form, "MANIFEST")
    m = {"pages": {}}
    for k in LIST_KEYS:
        m[k] = []
    if not os.path.exists(path):
        fail(f"{path} missing: every form needs a manifest beside its samples")
    with open(path, encoding="utf-8") as fh:
        for no, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, rest = line.partition(" ")
            rest = rest.strip()
            if key == "pages":
                name, _, n = rest.rpartition(" ")
                m["pages"][name.strip()] = int(n)
            elif key in ("title",):
                m[key] = rest
            elif key == "blank-pages":
                m[key] = int(rest)
            elif key in LIST_KEYS:
                if not rest:
                    fail(f"{path}:{no}: {key} with no text")
                m[key].append(squash(rest))
            else:
                fail(f"{path}:{no}: unknown key {key}")
    for k in ("title", "blank-pages"):  # noqa: the two every form has
        if k not in m:
            fail(f"{path}: no {k} line")
    return m


def page_texts(pdf):
    return [clean_text(p) for p in pdftotext(pdf).split("\f")]


def assert_words(pdf, items, what):
    """Every item present (whole, or continued across a page break) and the
    items in the template's order in -layout text (rows top to bottom, cells
    left to right; a multi-line cell is interleaved with its neighbours there,
    so order is judged by each item's first characters)."""
    text = clean_text(pdftotext(pdf))
    pages = page_texts(pdf)
    layout = clean_text(pdftotext(pdf, layout=True))
    items = [it for it in items if it.replace(BREAK, "")]
    for it in (i.replace(BREAK, "") for i in items):
        # (a letter-spaced label such as 合　计 is one word only in -layout text)
        if not present(text, it) and not in_pages(it, pages) and it not in layout:
            fail(f"{what} missing: {it[:60]}")
    # a narrow cell wraps a label after three characters or at its <br/>
    assert_in_order(layout, [it.split(BREAK)[0][:3] for it in items], what)


def form_of_sample(sample):
    return os.path.basename(os.path.dirname(os.path.abspath(sample)))


def check_render(ipf, repo, sample):
    form = form_of_sample(sample)
    m = manifest(repo, form)
    name = os.path.basename(sample)
    if name not in m["pages"]:
        fail(f"samples/{form}/MANIFEST has no 'pages {name} N' line")
    with tempfile.TemporaryDirectory() as tmp:
        r = render(ipf, ["render", sample], tmp)
        if r.returncode != 0:
            fail(f"render exit {r.returncode}: {r.stderr}")
        if r.stderr.strip() and ": warning " in r.stderr:
            fail(f"a published sample should be clean: {r.stderr}")
        pdf = os.path.join(tmp, name[:-4] + ".pdf")
        n, info = pages(pdf)
        print(f"pages: {n}")
        if n != m["pages"][name]:
            fail(f"expected {m['pages'][name]} pages (samples/{form}/MANIFEST), got {n}")
        if not re.search(r"^Creator:\s+ipforms", info, re.M):
            fail("Creator is not ipforms:\n" + info)
        if not re.search(r"^Title:\s+" + re.escape(m["title"]), info, re.M):
            fail(f"Title does not start with {m['title']}:\n" + info)
        check_fonts(pdf)
        labels, values = form_words(repo, form, sample)
        assert_words(pdf, labels, "labels")
        assert_words(pdf, values, "data values")
        assert_shown(pdf, m["contains"] + m["sample-contains"], m["absent"] + m["sample-absent"],
                     "PDF")
        check_line_starts(pdftotext(pdf))
        leftovers = [f for f in os.listdir(tmp) if f != os.path.basename(pdf)]
        if leftovers:
            fail(f"temporary files left behind: {leftovers}")


def assert_shown(pdf, must, never, what):
    """The manifest's words: every one of must is in the PDF's text, none of
    never is (page numbers included: a manifest may ask for them)."""
    text = squash(pdftotext(pdf))
    for w in must:
        if w not in text:
            fail(f"{what} lacks {w}")
    for w in never:
        if w in text:
            fail(f"{what} shows {w}, which the manifest says it must not")


def check_blank(ipf, repo, form):
    m = manifest(repo, form)
    with tempfile.TemporaryDirectory() as tmp:
        r = render(ipf, ["blank", form], tmp)
        if r.returncode != 0:
            fail(f"blank exit {r.returncode}: {r.stderr}")
        pdf = os.path.join(tmp, f"blank-{form}.pdf")
        n, info = pages(pdf)
        print(f"pages: {n}")
        if n != m["blank-pages"]:
            fail(f"expected {m['blank-pages']} pages (samples/{form}/MANIFEST), got {n}")
        title = template_of(repo, form).get("title")
        if not re.search(r"^Title:\s+" + re.escape(title) + r"\s*$", info, re.M):
            fail(f"the blank form's Title is not the form's title {title}:\n" + info)
        check_fonts(pdf)
        labels, _ = form_words(repo, form)
        assert_words(pdf, labels, "labels")
        assert_shown(pdf, m["contains"] + m["blank-contains"], m["absent"] + m["blank-absent"],
                     "blank form")


COLLECTION_KINDS = {"list", "rollup"}


def check_manifests(ipf, repo):
    """Every form the catalogue lists has samples/<form>/MANIFEST naming a
    page count for each of its samples, and at least one sample: a form is
    added with its files under templates/ and samples/, and the render tests
    pick it up."""
    r = run([ipf, "forms", "--templates", os.path.join(repo, "templates")])
    if r.returncode != 0:
        fail(f"forms: {r.stderr}")
    forms = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    # A list or roll-up is made from many documents (ipforms list / rollup,
    # tested by their own checks), not from one sample.
    forms = [f for f in forms if template_of(repo, f).get("kind") not in COLLECTION_KINDS]
    for form in forms:
        m = manifest(repo, form)
        d = os.path.join(repo, "samples", form)
        samples = sorted(f for f in os.listdir(d) if f.endswith(".xml"))
        if not samples:
            fail(f"samples/{form}/ has no sample")
        for s in samples:
            if s not in m["pages"]:
                fail(f"samples/{form}/MANIFEST: no 'pages {s} N'")
        for s in m["pages"]:
            if s not in samples:
                fail(f"samples/{form}/MANIFEST names {s}, which does not exist")
    print(f"{len(forms)} forms, each with samples and a manifest")


def check_deterministic(ipf, repo, sample):
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        outs = []
        for d in (a, b):
            r = run([ipf, "render", "--no-date", "-o", d, sample])
            if r.returncode != 0:
                fail(r.stderr)
            with open(os.path.join(d, os.path.basename(sample)[:-4] + ".pdf"), "rb") as fh:
                outs.append(fh.read())
        if outs[0] != outs[1]:
            fail("two renders with --no-date differ")
        env = dict(os.environ, SOURCE_DATE_EPOCH="1724976000")
        outs = []
        for d in (a, b):
            r = run([ipf, "render", "-o", d, sample], env=env)
            with open(os.path.join(d, os.path.basename(sample)[:-4] + ".pdf"), "rb") as fh:
                outs.append(fh.read())
        if outs[0] != outs[1]:
            fail("two renders with SOURCE_DATE_EPOCH differ")
        _, info = pages(os.path.join(a, os.path.basename(sample)[:-4] + ".pdf"))
        if "2024" not in info:
            fail("SOURCE_DATE_EPOCH date not in document info:\n" + info)
        print(f"byte-identical: {len(outs[0])} bytes")


def check_golden(ipf, repo, sample):
    """ipforms validate on an invalid sample prints exactly SAMPLE.expected."""
    rel = os.path.relpath(sample, repo)
    r = run([ipf, "validate", rel], cwd=repo)
    expected_file = sample[:-4] + ".expected"
    with open(expected_file, encoding="utf-8") as fh:
        want = fh.read().strip().split("\n")
    got = r.stderr.strip().split("\n")
    if got != want:
        fail("diagnostics differ\n--- expected\n" + "\n".join(want) + "\n--- got\n" + "\n".join(got))
    # Warnings alone leave the data valid (exit 0); one error makes it invalid.
    want_rc = 1 if any(": error " in line for line in want) else 0
    if r.returncode != want_rc:
        fail(f"exit code {r.returncode}, expected {want_rc}")
    if os.listdir(os.path.dirname(sample)) and any(f.endswith(".pdf") for f in os.listdir(os.path.dirname(sample))):
        fail("a PDF was written next to an invalid sample")
    print(f"{len(want)} diagnostic(s) as expected, exit {want_rc}")


def check_render_refuses_invalid(ipf, repo, sample):
    with tempfile.TemporaryDirectory() as tmp:
        r = render(ipf, ["render", sample], tmp)
        if r.returncode != 1:
            fail(f"render of invalid data exited {r.returncode}, expected 1")
        if os.listdir(tmp):
            fail(f"files written for invalid data: {os.listdir(tmp)}")
    print("invalid data: exit 1, nothing written")


def check_cli(ipf, repo):
    r = run([ipf, "forms"])
    if r.returncode != 0 or "national-filing" not in r.stdout or "国家知识产权信息公共服务网点备案表" not in r.stdout:
        fail(f"forms: {r.returncode} {r.stdout} {r.stderr}")
    r = run([ipf, "--version"])
    if r.returncode != 0 or not re.match(r"ipforms \d+\.\d+\.\d+", r.stdout):
        fail(f"--version: {r.stdout}")
    r = run([ipf, "--help"])
    if r.returncode != 0 or "validate" not in r.stdout or "render" not in r.stdout:
        fail("--help does not list the commands")
    for bad in (["frobnicate"], ["--bogus", "forms"], ["render"], ["blank"], ["blank", "no-such-form"]):
        r = run([ipf] + bad)
        if r.returncode != 2:
            fail(f"{bad}: exit {r.returncode}, expected 2 ({r.stderr})")
    r = run([ipf, "blank", "-o", "/tmp", "no-such-form"])
    if "FORM-UNKNOWN" not in r.stderr:
        fail(f"unknown form not named: {r.stderr}")
    # init: a skeleton with a comment per field that is well-formed XML, and
    # that validation then asks the clerk to fill in.
    r = run([ipf, "init", "national-filing"])
    if r.returncode != 0:
        fail(f"init: {r.stderr}")
    root = ET.fromstring(r.stdout.encode())
    if root.tag != "{urn:ipforms:data:1}filing":
        fail(f"init root is {root.tag}")
    if r.stdout.count("<!--") < 25:
        fail("init skeleton has too few comments")
    with tempfile.TemporaryDirectory() as tmp:
        sk = os.path.join(tmp, "new.xml")
        with open(sk, "w", encoding="utf-8") as fh:
            fh.write(r.stdout)
        v = run([ipf, "validate", sk])
        if v.returncode != 1 or "error" not in v.stderr:
            fail(f"an empty skeleton should be invalid: {v.returncode} {v.stderr[:300]}")
    print("forms, --version, --help, usage errors, init ok")


def check_font_option(ipf, repo, sample, font):
    """--font puts an office's font first; the bundled FangSong stays as the
    fallback for what that font cannot draw."""
    if not os.path.exists(font):
        print(f"SKIP: {font} not installed")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        r = run([ipf, "render", "--font", font, "-o", tmp, sample])
        if r.returncode != 0:
            fail(r.stderr)
        pdf = os.path.join(tmp, os.path.basename(sample)[:-4] + ".pdf")
        fonts = run(["pdffonts", pdf]).stdout
        base = os.path.splitext(os.path.basename(font))[0].split("-")[0]
        if base not in fonts or "FandolFang" not in fonts:
            fail("expected the given font and the FangSong fallback:\n" + fonts)
        check_fonts(pdf)
        text = clean_text(pdftotext(pdf))
        if squash("重庆嘉陵科技大学图书馆") not in text:
            fail("Chinese text lost with --font")
    print("--font with fallback ok")


def check_header_rows(ipf, repo, templates):
    """A form that exists only as files (tests/data/templates/ledger-test),
    rendered through --templates: a landscape ledger of 120 rows whose column
    headings repeat at the top of every page, under the continued section
    heading, with every row present once and in order."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "ledger.xml")
        with open(data, "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<ledger xmlns="urn:test:ledger" form="ledger-test">\n')
            for i in range(1, 121):
                fh.write(f"<entry><date>2024-{1 + i % 12:02d}-{1 + i % 28:02d}</date>"
                         f"<what>第{i}条服务记录：为企业提供专利检索与分析服务。</what></entry>\n")
            fh.write("</ledger>\n")
        r = run([ipf, "render", "--templates", templates, "-o", tmp, data])
        if r.returncode != 0:
            fail(f"render exited {r.returncode}: {r.stderr}")
        pdf = os.path.join(tmp, "ledger.pdf")
        n, info = pages(pdf)
        if n < 3:
            fail(f"120 rows on {n} page(s): expected the table to continue over several")
        m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info)
        if not m or float(m.group(1)) <= float(m.group(2)):
            fail("not landscape: " + (m.group(0) if m else info))
        for p in range(1, n + 1):
            t = squash(run(["pdftotext", "-f", str(p), "-l", str(p), pdf, "-"]).stdout)
            head = "季度工作台账（续）" if p > 1 else "季度工作台账"
            if not t.startswith(head + "序号日期服务内容"):
                fail(f"page {p} does not start with the heading and column headings: {t[:40]}")
        text = squash(pdftotext(pdf))
        pos = 0
        for i in range(1, 121):
            k = text.find(f"第{i}条服务记录", pos)
            if k < 0:
                fail(f"row {i} missing or out of order")
            if text.count(f"第{i}条服务记录") != 1:
                fail(f"row {i} printed more than once")
            pos = k
    print(f"{n} landscape pages, headings repeated on each, 120 rows in order")


def check_editions(ipf, repo, form, sample):
    """One form held in two editions (a copy of its directory with
    edition="2099" in the template): ipforms forms lists both, data naming an
    edition gets that one, data naming none or an edition not held gets
    DATA-EDITION naming the form, the edition asked for and the editions held."""
    with tempfile.TemporaryDirectory() as tmp:
        tdir = os.path.join(tmp, "templates")
        shutil.copytree(os.path.join(repo, "templates"), tdir)
        new = os.path.join(tdir, form + "-next")
        shutil.copytree(os.path.join(tdir, form), new)
        tpl = os.path.join(new, "template.xml")
        with open(tpl, encoding="utf-8") as fh:
            t = fh.read()
        old = re.search(r'edition="([^"]+)"', t).group(1)
        t2 = re.sub(r'edition="[^"]+"', 'edition="2099"', t, count=1)
        t2 = t2.replace(f"{old}年制", "2099年制")
        with open(tpl, "w", encoding="utf-8") as fh:
            fh.write(t2)
        r = run([ipf, "forms", "--templates", tdir])
        rows = [l.split() for l in r.stdout.splitlines() if l.split() and l.split()[0] == form]
        if r.returncode != 0 or [x[1] for x in rows] != [old, "2099"]:
            fail(f"forms should list {form} in editions {old} and 2099: {r.stdout} {r.stderr}")
        with open(sample, encoding="utf-8") as fh:
            data = fh.read()
        if f'edition="{old}"' not in data:
            fail(f"{sample} does not name edition {old}")
        # the named edition is the one used: its cover says so
        r = run([ipf, "render", "--templates", tdir, "-o", tmp, sample])
        if r.returncode != 0:
            fail(f"render with two editions: {r.stderr}")
        text = squash(pdftotext(os.path.join(tmp, os.path.basename(sample)[:-4] + ".pdf")))
        if "2099年制" in text or f"{old}年制" not in text:
            fail(f"data naming edition {old} was not rendered with that edition's template")
        for variant, what in ((data.replace(f' edition="{old}"', ""), "none"),
                              (data.replace(f'edition="{old}"', 'edition="1999"'), "1999")):
            f = os.path.join(tmp, "v.xml")
            with open(f, "w", encoding="utf-8") as fh:
                fh.write(variant)
            r = run([ipf, "validate", "--templates", tdir, f])
            if r.returncode != 1 or "DATA-EDITION" not in r.stderr or form not in r.stderr \
                    or old not in r.stderr or "2099" not in r.stderr:
                fail(f"edition {what}: expected DATA-EDITION naming {form}, {old}, 2099: {r.stderr}")
            if what == "1999" and "1999" not in r.stderr:
                fail(f"DATA-EDITION does not name the edition asked for: {r.stderr}")
        # with one edition held, data without edition is still accepted
        f = os.path.join(tmp, "v.xml")
        with open(f, "w", encoding="utf-8") as fh:
            fh.write(data.replace(f' edition="{old}"', ""))
        r = run([ipf, "validate", "--templates", os.path.join(repo, "templates"), f])
        if r.returncode != 0:
            fail(f"one edition held: data without edition refused: {r.stderr}")
    print(f"{form}: editions {old} and 2099 held, the named one used, DATA-EDITION otherwise")


# ---------- the form's own words, derived from its template ----------

TNS = "urn:ipforms:template:1"
T = "{%s}" % TNS
DATA_NS = "urn:ipforms:data:1"
ROOT_SINGLETONS = {"data", "info", "page", "fonts", "typography", "page-numbers", "styles"}


def _etree():
    try:
        from lxml import etree
    except ImportError:
        print("SKIP: python3-lxml not installed (tools/deps.sh installs it)")
        sys.exit(77)
    return etree


def built_template(path, depth=0):
    """The template as the loader builds it: extends= resolved with
    replace/remove/insert of named parts and root settings replaced
    (docs/templates.md, "Extending a template")."""
    etree = _etree()
    root = etree.parse(path).getroot()
    base_ref = root.get("extends")
    if not base_ref or depth > 8:
        return root
    base = built_template(os.path.join(os.path.dirname(path), base_ref), depth + 1)
    for a, v in root.attrib.items():
        if a not in ("extends", "abstract"):
            base.set(a, v)
    if "abstract" in base.attrib and "abstract" not in root.attrib:
        del base.attrib["abstract"]

    def named(name):
        found = base.xpath("//t:*[@name = $n]", namespaces={"t": TNS}, n=name)
        if not found:
            fail(f"{path}: no part named {name} in the base")
        return found[0]

    def part(el):
        """A named section stands for its heading and the rows after it."""
        if el.tag != T + "section":
            return [el]
        out = [el]
        for sib in el.itersiblings():
            if sib.tag == T + "section":
                break
            out.append(sib)
        return out

    for child in root:
        if not isinstance(child.tag, str):
            continue
        kind = etree.QName(child).localname
        if kind in ROOT_SINGLETONS or kind == "namespace":
            for old in base.findall(T + kind):
                if kind != "namespace" or old.get("prefix") == child.get("prefix"):
                    base.remove(old)
            base.append(child.__copy__())
        elif kind == "replace":
            target = named(child.get("name"))
            parent, at = target.getparent(), target.getparent().index(target)
            for el in part(target):
                parent.remove(el)
            for k, el in enumerate(c for c in child if isinstance(c.tag, str)):
                parent.insert(at + k, el.__copy__())
        elif kind == "remove":
            target = named(child.get("name"))
            for el in part(target):
                el.getparent().remove(el)
        elif kind == "insert":
            ref = child.get("after") or child.get("before")
            target = named(ref)
            if child.get("after"):
                last = part(target)[-1]
                parent, at = last.getparent(), last.getparent().index(last) + 1
            else:
                parent, at = target.getparent(), target.getparent().index(target)
            for k, el in enumerate(c for c in child if isinstance(c.tag, str)):
                parent.insert(at + k, el.__copy__())
        else:
            base.append(child.__copy__())
    return base


def template_of(repo, form):
    return built_template(os.path.join(repo, "templates", form, "template.xml"))


def rule_settings(repo, form, tpl):
    """The rule file's settings, as templates see them ($name)."""
    etree = _etree()
    data = tpl.find(T + "data")
    rules = data.get("rules") if data is not None else None
    if not rules:
        return {}
    path = os.path.join(repo, "templates", form, rules)
    out = {}
    try:
        doc = etree.parse(path)
    except (OSError, etree.XMLSyntaxError):
        return out
    for s in doc.getroot().iter("{urn:ipforms:rules:1}setting"):
        out[s.get("name")] = s.get("value", "")
    return out


BREAK = "\ue000"  # where a label breaks (<br/>, <wbr/>): order is judged before it
WORDY = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
DATE_RE = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def _shown(value, fmt):
    if fmt == "date-zh":
        m = DATE_RE.match(value)
        if m:
            y, mo, d = (int(g) for g in m.groups())
            return f"{y}年{mo}月{d}日"
    return value


class Oracle:
    """Walks a built template in its order and lists what the PDF must show:
    with data, the data's values wherever a select prints them; without data
    (blank form) the labels, headings and fixed texts only."""

    def __init__(self, tpl, settings, doc=None):
        self.tpl, self.settings, self.doc = tpl, settings, doc
        self.ns = {"d": DATA_NS}
        for n in tpl.findall(T + "namespace"):
            self.ns[n.get("prefix")] = n.get("uri")
        data = tpl.find(T + "data")
        if data is not None and data.get("namespace"):
            self.ns["d"] = data.get("namespace")
        self.labels, self.values = [], []

    def text(self, s, interpolate=True):
        """Literal text with {$setting} filled in; other {…} cut off."""
        if not s:
            return ""
        s = re.sub(r"\{\$([\w.-]+)\}", lambda m: self.settings.get(m.group(1), m.group(0)), s)
        s = s.split("{", 1)[0] if "{" in s.replace("{{", "") else s.replace("{{", "{").replace("}}", "}")
        return squash(s)

    def xp(self, expr, ctx, n):
        etree = _etree()
        try:
            return ctx.xpath(expr, namespaces=self.ns, n=n)
        except etree.XPathError:
            return None  # an ipf: function or a setting lxml cannot see: not checked here

    def strings(self, res, fmt=None, paras=False):
        out = []
        if isinstance(res, list):
            for node in res:
                if isinstance(node, str):
                    out.append(node)
                    continue
                ps = node.findall("{%s}p" % self.ns["d"]) if hasattr(node, "findall") else []
                if ps:
                    out += ["".join(p.itertext()) for p in ps]
                else:
                    out.append("".join(node.itertext()) if hasattr(node, "itertext") else str(node))
        elif isinstance(res, bool):
            pass
        elif isinstance(res, float):
            out.append(("%d" % res) if res == int(res) else repr(res))
        elif res is not None:
            out.append(str(res))
        return [s for s in (squash(_shown(x, fmt)) for x in out) if s]

    def walk(self, el, ctx, n, blank):
        if not isinstance(el.tag, str):
            return
        tag = el.tag[len(T):] if el.tag.startswith(T) else el.tag
        when = el.get("when")
        if when and (blank or ctx is None):
            return  # printed or not as the data decides: nothing to expect of a blank
        if when:
            r = self.xp("boolean(%s)" % when, ctx, n)
            if r is False:
                return
        if tag in ("info", "styles", "fonts", "typography", "page", "page-numbers", "data",
                   "namespace", "check", "vspace", "vfill", "br", "wbr"):
            return
        if tag == "section":
            self.labels.append(self.text(el.get("title")))
            if el.get("note"):
                self.labels.append(self.text(el.get("note")))
            return
        if tag in ("label", "p", "cell"):
            # the fixed words around the fields: "经办人：", "（盖章）", "准予备案"
            if not when:
                pieces, cur = [], [el.text or ""]
                for c in el:
                    if not isinstance(c.tag, str):
                        cur.append(c.tail or "")
                    elif c.tag in (T + "br", T + "wbr"):
                        cur.append(BREAK + (c.tail or ""))
                    elif c.tag in (T + "field", T + "check"):
                        pieces.append("".join(cur))
                        cur = [c.tail or ""]
                    else:
                        pieces.append("".join(cur))
                        cur = [c.tail or ""]
                pieces.append("".join(cur))
                for x in pieces:
                    t = self.text(x)
                    if WORDY.search(t):
                        self.labels.append(t)
            for c in el:
                self.walk(c, ctx, n, blank)
            return
        if tag in ("field", "value", "paragraphs", "list"):
            if not blank and ctx is not None and el.get("select"):
                self.values += self.strings(self.xp(el.get("select"), ctx, n), el.get("format"),
                                            tag != "field")
            return
        if tag in ("repeat", "each"):
            if blank or ctx is None:
                if tag == "repeat" and int(el.get("blank-count", "1")) > 0:
                    for c in el:
                        self.walk(c, None, n, True)
                return
            nodes = self.xp(el.get("select"), ctx, n) or []
            for k, node in enumerate(nodes if isinstance(nodes, list) else [], 1):
                for c in el:
                    self.walk(c, node, k, False)
            return
        for c in el:
            self.walk(c, ctx, n, blank)

    def run(self):
        ctx = self.doc.getroot() if self.doc is not None else None
        for c in self.tpl:
            self.walk(c, ctx, 0, ctx is None)
        return [x for x in self.labels if x], self.values


def form_words(repo, form, sample=None):
    """(labels, values) the PDF of sample (or the blank form) must show, in order."""
    etree = _etree()
    tpl = template_of(repo, form)
    doc = etree.parse(sample) if sample else None
    return Oracle(tpl, rule_settings(repo, form, tpl), doc).run()


# ---------- nothing under src/ names a jurisdiction, a form label or a limit ----------

# Words every form uses and the engine's own messages need for their own
# things (a file's 名称, a date type's 日期, the anyURI type's 网址, the region
# table's 地区, a summary's 年度 in roll-up messages): not form labels.
ENGINE_WORDS = {"名称", "日期", "网址", "序号", "年度", "地区"}
C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
C_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
# A form's limit as a form words it (不超过1000字, 不少于5人, 1000字左右, 3名以上);
# the engine's own bounds (最多 8 个字体, 65,534个字符) are not limits of a form.
LIMIT = re.compile(r"(?:不超过|不少于|至少)[0-9０-９]+(?:字|人|个|名|分)|"
                   r"[0-9０-９]+(?:字|人|个|名|分)(?:左右|以上|以下|以内)")


def short_names(place):
    """沈阳市 → 沈阳, 内蒙古自治区 → 内蒙古, 新疆维吾尔自治区 → 新疆."""
    out = {place}
    for suffix in ("维吾尔自治区", "回族自治区", "壮族自治区", "自治区", "市", "省"):
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            out.add(place[: -len(suffix)])
    return out


def check_src_neutral(ipf, repo):
    etree = _etree()
    anywhere, labels = set(), set()
    tdir = os.path.join(repo, "templates")
    for root, _, files in os.walk(tdir):
        for n in files:
            path = os.path.join(root, n)
            if n == "template.xml" or (n.endswith(".xml") and os.path.basename(root) == "common"):
                try:
                    tpl = built_template(path)
                except etree.XMLSyntaxError:
                    continue
                if tpl.tag != T + "form":
                    continue
                for a in ("title", "issuer"):  # (an id is a directory name, not a word of the form)
                    if tpl.get(a):
                        anywhere.add(tpl.get(a))
                if tpl.get("jurisdiction"):
                    anywhere |= short_names(tpl.get("jurisdiction"))
                for el in tpl.iter(T + "label", T + "section", T + "p"):
                    s = el.get("title") if el.tag == T + "section" else "".join(el.itertext())
                    s = squash(s or "")
                    # a label distinctive of a form (单位总人数, 专职服务人员数量), not a
                    # word any document uses (页数, 备案表, 网点名称)
                    if len(re.findall(r"[\u4e00-\u9fff]", s)) >= 5:
                        labels.add(s)
            elif n == "rules.xml":
                doc = etree.parse(path).getroot()
                for el in doc.iter("{urn:ipforms:rules:1}source"):
                    anywhere.add(el.get("title"))
                for el in doc.iter("{urn:ipforms:rules:1}rule"):
                    anywhere.add(el.get("code"))
    anywhere = {t for t in anywhere if t and len(t) >= 2}
    labels -= ENGINE_WORDS
    bad = []
    srcdir = os.path.join(repo, "src")
    for n in sorted(os.listdir(srcdir)):
        if not n.endswith((".c", ".h")):
            continue
        text = open(os.path.join(srcdir, n), encoding="utf-8").read()
        for t in sorted(anywhere):
            for m in re.finditer(re.escape(t), text):
                bad.append(f"src/{n}:{text.count(chr(10), 0, m.start()) + 1}: names {t}")
        code = C_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for m in C_STRING.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            lit = squash(m.group(1))
            for t in labels:
                if t in lit:
                    bad.append(f"src/{n}:{line}: form label {t} in \"{lit[:40]}\"")
            for lm in LIMIT.finditer(lit):
                bad.append(f"src/{n}:{line}: a limit {lm.group(0)} in \"{lit[:40]}\"")
    if bad:
        fail("src/ must hold mechanisms only (forms are data):\n  " + "\n  ".join(bad[:30]))
    print(f"src/ names none of {len(anywhere)} jurisdiction and form words, "
          f"{len(labels)} labels, or any limit")


def check_limits_follow_settings(ipf, repo):
    """For every form whose template prints a number setting ({$name} in a
    heading, hint or label), a copy of the templates with that setting
    changed prints the new value on the blank form: the limit a clerk reads
    is the one the rules check, written once in rules.xml."""
    etree = _etree()
    r = run([ipf, "forms", "--templates", os.path.join(repo, "templates")])
    forms = [l.split()[0] for l in r.stdout.splitlines() if l.strip()]
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        tdir = os.path.join(tmp, "templates")
        shutil.copytree(os.path.join(repo, "templates"), tdir)
        for form in forms:
            tpl = template_of(repo, form)
            data = tpl.find(T + "data")
            if data is None or not data.get("rules"):
                continue
            src = etree.tostring(tpl, encoding="unicode")
            rules_path = os.path.join(tdir, form, data.get("rules"))
            if not os.path.exists(rules_path):
                continue  # an inherited <data>: its rule file is the base's
            rules = open(rules_path, encoding="utf-8").read()
            for name in sorted(set(re.findall(r"\{\$([\w.-]+)\}", src))):
                m = re.search(r'<setting name="%s" type="number" value="([0-9]+)"/>' % re.escape(name), rules)
                if not m:
                    continue
                new = "97531"
                changed = rules.replace(m.group(0), m.group(0).replace(f'value="{m.group(1)}"', f'value="{new}"'))
                with open(rules_path, "w", encoding="utf-8") as fh:
                    fh.write(changed)
                try:
                    b = run([ipf, "blank", "--templates", tdir, "-o", tmp, form])
                    if b.returncode != 0:
                        fail(f"{form} with {name}={new}: {b.stderr}")
                    text = squash(pdftotext(os.path.join(tmp, f"blank-{form}.pdf")))
                    if new not in text:
                        fail(f"{form}: the template prints {{${name}}}, but the blank form does not "
                             f"show the changed setting ({name}={new})")
                finally:
                    with open(rules_path, "w", encoding="utf-8") as fh:
                        fh.write(rules)
                checked += 1
    if checked == 0:
        fail("no form prints a number setting")
    print(f"{checked} printed settings follow rules.xml")


def team_splits(ipf, templates, doc, tmp):
    """The team members of a Beijing application whose details row and 简介
    row start on different pages, read page by page with pdftotext: the
    details row's page is the first (from the team section on) showing the
    member's name outside the 简介, the 简介's the first showing its start."""
    r = run([ipf, "render", "--templates", templates, "-o", tmp, doc])
    if r.returncode != 0:
        fail(f"render exited {r.returncode}: {r.stderr}")
    pdf = os.path.join(tmp, os.path.basename(doc)[:-4] + ".pdf")
    pg = [squash(p) for p in pdftotext(pdf).split("\f")]
    os.remove(pdf)
    team = [i for i, t in enumerate(pg) if "三、服务团队人员情况" in t]
    if not team:
        fail("no team section in the PDF")
    root = ET.parse(doc).getroot()
    members = root.findall("d:team/d:member", NS)
    if len(members) < 2:
        fail(f"{doc}: fewer than two team members")
    split = []
    for m in members:
        name = m.find("d:name", NS).text.strip()
        start = squash("".join(m.find("d:profile", NS).itertext()))[:12]
        row = [i for i in range(team[0], len(pg)) if name in pg[i].replace(start, "")]
        intro = [i for i in range(team[0], len(pg)) if start in pg[i]]
        if not row or not intro:
            fail(f"{name}: details row or 简介 not found (pages {row}, {intro})")
        if row[0] != intro[0]:
            split.append(f"{name} (details on page {row[0] + 1}, 简介 from page {intro[0] + 1})")
    return split, len(members)


def check_keep_with_next(ipf, repo, *docs):
    """keep-with-next="true" on the Beijing application's details row: each
    team member's details and 简介 rows begin on the same page.  Each
    document is first rendered with the attribute taken out of a copy of the
    templates, where some member must split (else the document no longer
    tests anything), then with the real templates, where none may."""
    tpl = "beijing-application/template.xml"
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "templates")
        shutil.copytree(os.path.join(repo, "templates"), plain)
        path = os.path.join(plain, tpl)
        src = open(path, encoding="utf-8").read()
        if ' keep-with-next="true"' not in src:
            fail(f"templates/{tpl} no longer says keep-with-next")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(src.replace(' keep-with-next="true"', ""))
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        for doc in docs:
            split, _ = team_splits(ipf, plain, doc, out)
            if not split:
                fail(f"{doc}: no member splits even without keep-with-next; the test needs one")
            print(f"without keep-with-next: {'; '.join(split)}")
            split, n = team_splits(ipf, os.path.join(repo, "templates"), doc, out)
            if split:
                fail(f"{doc}: split despite keep-with-next: {'; '.join(split)}")
            print(f"{os.path.basename(doc)}: all {n} members' details and 简介 on one page")


if __name__ == "__main__":
    check, ipf, repo = sys.argv[1:4]
    args = sys.argv[4:]
    {
        "render": lambda: check_render(ipf, repo, *args),
        "manifests": lambda: check_manifests(ipf, repo),
        "src-neutral": lambda: check_src_neutral(ipf, repo),
        "limits": lambda: check_limits_follow_settings(ipf, repo),
        "blank": lambda: check_blank(ipf, repo, *args),
        "deterministic": lambda: check_deterministic(ipf, repo, *args),
        "golden": lambda: check_golden(ipf, repo, *args),
        "refuse": lambda: check_render_refuses_invalid(ipf, repo, *args),
        "cli": lambda: check_cli(ipf, repo),
        "font": lambda: check_font_option(ipf, repo, *args),
        "header-rows": lambda: check_header_rows(ipf, repo, *args),
        "keep-with-next": lambda: check_keep_with_next(ipf, repo, *args),
        "editions": lambda: check_editions(ipf, repo, *args),
    }[check]()
