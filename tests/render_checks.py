#!/usr/bin/python3
"""End-to-end checks of ipforms as a clerk uses it: the command, the PDF it
writes, and what poppler's tools read back from that PDF.

Usage: render_checks.py CHECK IPFORMS REPO_ROOT [ARGS]
Each check prints what it found and exits non-zero on the first failure."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

NS = {"d": "urn:ipforms:data:1"}
# Marks that must never start a line (clreq / GB/T 15834): 点号 and closing marks.
NO_START = "，。、；：？！）」』》〉】〕’”"
NO_END = "（「『《〈【〔‘“"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def pdftotext(pdf, layout=False):
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [pdf, "-"]
    r = run(args)
    if r.returncode != 0:
        fail(f"pdftotext failed: {r.stderr}")
    if r.stderr.strip():
        fail(f"pdftotext printed warnings: {r.stderr.strip()[:300]}")
    return r.stdout


def squash(s):
    return re.sub(r"\s+", "", s)


def clean_text(text):
    """The text without what pagination adds: page numbers and the headings
    and labels repeated with （续） on continuation pages."""
    keep = []
    for line in text.split("\n"):
        t = line.strip()
        if re.fullmatch(r"—\s*\d+\s*—", t):
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


def para_texts(el):
    ps = el.findall("d:p", NS)
    if ps:
        return ["".join(p.itertext()) for p in ps]
    t = "".join(el.itertext())
    return [t] if t.strip() else []


def expected_in_order(sample):
    """The data's text in the order the form prints it."""
    root = ET.parse(sample).getroot()
    f = lambda path: root.findall(path, NS)
    out = []
    for path in ["d:institution/d:name", "d:institution/d:category", "d:institution/d:nature",
                 "d:institution/d:address", "d:institution/d:platform/d:name",
                 "d:institution/d:platform/d:url", "d:institution/d:head/d:name",
                 "d:institution/d:head/d:title", "d:institution/d:contact/d:name",
                 "d:institution/d:contact/d:title", "d:institution/d:contact/d:phone",
                 "d:institution/d:contact/d:email", "d:institution/d:service-objects"]:
        for el in f(path):
            out += para_texts(el)
    for el in f("d:institution/d:services/d:service"):
        out += para_texts(el)
    for el in f("d:foundation"):
        out += para_texts(el)
    for m in f("d:team/d:member"):
        out += para_texts(m.find("d:name", NS))
        for el in m.findall("d:profile", NS):
            out += para_texts(el)
    for el in f("d:development"):
        out += para_texts(el)
    for c in f("d:cases/d:case"):
        out += para_texts(c.find("d:name", NS))
        out += para_texts(c.find("d:period", NS))
        out += para_texts(c.find("d:content", NS))
    return [s for s in (squash(x) for x in out) if s]


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


def labels(repo):
    with open(os.path.join(repo, "tests/data/national-filing.labels"), encoding="utf-8") as fh:
        return [squash(l) for l in fh if l.strip() and not l.startswith("#")]


def render(ipf, args, outdir, env=None):
    r = run([ipf] + args + ["-o", outdir], env=env)
    return r


def check_render(ipf, repo, sample, want_pages):
    with tempfile.TemporaryDirectory() as tmp:
        r = render(ipf, ["render", sample], tmp)
        if r.returncode != 0:
            fail(f"render exit {r.returncode}: {r.stderr}")
        pdf = os.path.join(tmp, os.path.basename(sample)[:-4] + ".pdf")
        n, info = pages(pdf)
        print(f"pages: {n}")
        if not want_pages:
            fail("no expected page count for this sample in tests/cmake/render.cmake")
        if n != int(want_pages):
            fail(f"expected {want_pages} pages, got {n}")
        if not re.search(r"^Creator:\s+ipforms", info, re.M):
            fail("Creator is not ipforms:\n" + info)
        if not re.search(r"^Title:\s+国家知识产权信息公共服务网点备案表", info, re.M):
            fail("Title missing or not Chinese:\n" + info)
        check_fonts(pdf)
        raw = pdftotext(pdf)
        text = clean_text(raw)
        layout = clean_text(pdftotext(pdf, layout=True))
        assert_present_in_order(text, layout, labels(repo), "labels", 3)
        assert_present_in_order(text, layout, expected_in_order(sample), "data paragraphs")
        check_line_starts(raw)
        leftovers = [f for f in os.listdir(tmp) if f != os.path.basename(pdf)]
        if leftovers:
            fail(f"temporary files left behind: {leftovers}")


def check_blank(ipf, repo, form, want_pages):
    with tempfile.TemporaryDirectory() as tmp:
        r = render(ipf, ["blank", form], tmp)
        if r.returncode != 0:
            fail(f"blank exit {r.returncode}: {r.stderr}")
        pdf = os.path.join(tmp, f"blank-{form}.pdf")
        n, _ = pages(pdf)
        print(f"pages: {n}")
        if want_pages and n != int(want_pages):
            fail(f"expected {want_pages} pages, got {n}")
        check_fonts(pdf)
        text = clean_text(pdftotext(pdf))
        layout = clean_text(pdftotext(pdf, layout=True))
        assert_present_in_order(text, layout, labels(repo), "labels", 3)
        for must in ["经办人：", "负责人：", "日期：", "（盖章）", "准予备案，有效期三年", "不予备案"]:
            if must not in text:
                fail(f"blank form lacks {must}")
        print("signature blocks and decision boxes present")


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


if __name__ == "__main__":
    check, ipf, repo = sys.argv[1:4]
    args = sys.argv[4:]
    {
        "render": lambda: check_render(ipf, repo, *args),
        "blank": lambda: check_blank(ipf, repo, *args),
        "deterministic": lambda: check_deterministic(ipf, repo, *args),
        "golden": lambda: check_golden(ipf, repo, *args),
        "refuse": lambda: check_render_refuses_invalid(ipf, repo, *args),
        "cli": lambda: check_cli(ipf, repo),
        "font": lambda: check_font_option(ipf, repo, *args),
        "header-rows": lambda: check_header_rows(ipf, repo, *args),
        "editions": lambda: check_editions(ipf, repo, *args),
    }[check]()
