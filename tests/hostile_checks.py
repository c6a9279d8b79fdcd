#!/usr/bin/python3
"""Hostile and broken input, layout extremes and output safety (issue 4;
docs/threat-model.md says what each check stands for).

Usage: hostile_checks.py CLASS CASE IPFORMS REPO_ROOT

  xml CASE       tests/hostile/data/CASE.xml through validate and render
  limit CASE     inputs made at test time: too-large, at-size-limit, too-deep,
                 text-too-long, too-many-nodes, too-many-attributes, device,
                 many-bad-lines, file-name, directory, missing
  layout CASE    long-url, digit-run, tall-cell, staff-500, empty-fields,
                 tenfold, missing-glyph
  template CASE  a copy of templates/ with one thing broken, via --templates
  output CASE    missing-dir, dir-is-file, unwritable-dir, read-only-fs,
                 disk-full, file-size-limit, keep-existing, open-elsewhere,
                 target-is-dir

Every case asserts the exact diagnostic lines (file:line: error CODE message),
the exit code, and what is left in the output directory: nothing but what
was there before, byte for byte, when a render fails.  Expected diagnostics
live in tests/hostile/data/CASE.expected (committed inputs) and
tests/hostile/expected/CLASS-CASE.expected (inputs made here); paths in them
are relative, as each command runs in the directory holding its input.
With HOSTILE_REGEN=1 the expected files are rewritten instead of compared
(review the diff before committing it).
Exit 0 pass, 1 fail, 77 skipped (a tool or kernel feature is missing)."""
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET

from ipftest import fail, run, squash  # noqa: F401 (hostile_robust.py takes them from here too)

NS = "urn:ipforms:data:1"
TNS = "urn:ipforms:template:1"
SAMPLE = "samples/national-filing/chongqing-university-library.xml"
MM = 72 / 25.4
REGEN = os.environ.get("HOSTILE_REGEN") == "1"


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


def q(tag):
    return "{%s}%s" % (NS, tag)


# ---------------------------------------------------------------- assertions

def expect_lines(got_stderr, expected_file, what, line=None):
    """stderr must be exactly the expected file's lines.  With line given,
    "{line}" in the expected file stands for it (the line a broken template
    was broken at, also where a message names it: "第 {line} 行"), so editing
    a template does not break the test."""
    got = got_stderr.rstrip("\n").split("\n") if got_stderr.strip() else []
    if REGEN and line is not None:
        got = [g.replace(f":{line}: ", ":{line}: ", 1).replace(f"第 {line} 行", "第 {line} 行")
               for g in got]
    if REGEN:
        os.makedirs(os.path.dirname(expected_file), exist_ok=True)
        with open(expected_file, "w", encoding="utf-8") as fh:
            fh.write("".join(l + "\n" for l in got))
        print(f"regenerated {expected_file}")
        return
    with open(expected_file, encoding="utf-8") as fh:
        want = fh.read().rstrip("\n").split("\n")
    if line is not None:
        want = [w.replace(":{line}: ", f":{line}: ").replace("第 {line} 行", f"第 {line} 行")
                for w in want]
    if got != want:
        fail(f"{what}: diagnostics differ\n--- expected ({expected_file})\n" + "\n".join(want) +
             "\n--- got\n" + "\n".join(got))
    print(f"{what}: {len(want)} diagnostic line(s) exactly as expected")


def expect_exact(got_stderr, want, what):
    got = got_stderr.rstrip("\n").split("\n") if got_stderr.strip() else []
    if got != want:
        fail(f"{what}: diagnostics differ\n--- expected\n" + "\n".join(want) + "\n--- got\n" +
             "\n".join(got))
    print(f"{what}: {len(want)} diagnostic line(s) exactly as expected")


def expect_rc(r, want, what):
    if r.returncode < 0:
        fail(f"{what}: killed by signal {-r.returncode}\n{r.stderr[-2000:]}")
    if r.returncode != want:
        fail(f"{what}: exit {r.returncode}, expected {want}\n{r.stderr[-2000:]}")
    if "Sanitizer" in r.stderr or "runtime error:" in r.stderr:
        fail(f"{what}: sanitizer report\n{r.stderr[-3000:]}")


def snapshot(d):
    """Name → bytes of every entry of a directory (None for a directory)."""
    out = {}
    for n in os.listdir(d):
        p = os.path.join(d, n)
        out[n] = None if os.path.isdir(p) else open(p, "rb").read()
    return out


def named_variant(repo, tmp, sub, name):
    """The realistic sample with another institution name, as tmp/sub/filing.xml."""
    t = sample_tree(repo)
    t.getroot().find(q("institution")).find(q("name")).text = name
    os.mkdir(os.path.join(tmp, sub))
    t.write(os.path.join(tmp, sub, "filing.xml"), encoding="UTF-8", xml_declaration=True)


def expect_unchanged(d, before, what):
    after = snapshot(d)
    if set(after) != set(before):
        fail(f"{what}: {d} now holds {sorted(set(after) - set(before))} "
             f"and lacks {sorted(set(before) - set(after))}")
    for n in before:
        if before[n] != after[n]:
            fail(f"{what}: {n} was changed")
    print(f"{what}: output directory as before ({len(before)} entr{'y' if len(before) == 1 else 'ies'}, "
          "no temporary or partial file)")


def pdftotext(pdf, *opts):
    r = run(["pdftotext", "-enc", "UTF-8", *opts, pdf, "-"])
    if r.returncode != 0:
        fail(f"pdftotext {pdf}: {r.stderr}")
    return r.stdout


def page_count(pdf):
    r = run(["pdfinfo", pdf])
    m = re.search(r"^Pages:\s+(\d+)", r.stdout, re.M)
    if r.returncode != 0 or not m:
        fail(f"pdfinfo {pdf}: {r.stderr}")
    return int(m.group(1))


def clean_text(text):
    """pdftotext's text without what pagination adds: page numbers and the
    headings and labels repeated with （续） on continuation pages."""
    keep = []
    for line in text.split("\n"):
        t = line.strip()
        if re.fullmatch(r"—\s*\d+\s*—", t) or t.endswith("（续）"):
            continue
        keep.append(line)
    return squash("\n".join(keep))


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


def words(pdf):
    """[(page, xmin, ymin, xmax, ymax, text, page_w, page_h)] in content order."""
    html = pdftotext(pdf, "-bbox")
    out, page, pw, ph = [], 0, 0, 0
    for line in html.split("\n"):
        m = PAGE.search(line)
        if m:
            page += 1
            pw, ph = float(m.group(1)), float(m.group(2))
            continue
        m = WORD.search(line)
        if m:
            x0, y0, x1, y1 = (float(m.group(i)) for i in range(1, 5))
            t = m.group(5).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            t = t.replace("&quot;", '"').replace("&apos;", "'")
            out.append((page, x0, y0, x1, y1, t, pw, ph))
    return out


class Geometry:
    """The national template's text block and its first table's column
    edges, read from the template so a hand edit of widths keeps the
    checks honest."""

    def __init__(self, repo):
        t = ET.parse(os.path.join(repo, "templates/national-filing/template.xml")).getroot()
        page = t.find("{%s}page" % TNS)
        self.width, self.height = 595.276, 841.89
        mm = lambda v: float(v[:-2]) * MM
        self.left, self.right = mm(page.get("margin-left")), mm(page.get("margin-right"))
        self.top, self.bottom = mm(page.get("margin-top")), mm(page.get("margin-bottom"))
        self.tables = []
        for table in t.iter("{%s}table" % TNS):
            cols = table.get("columns").split()
            fixed = sum(mm(c) for c in cols if c.endswith("mm"))
            frs = sum(float(c[:-2]) for c in cols if c.endswith("fr"))
            rest = self.width - self.left - self.right - fixed
            x = [self.left]
            for c in cols:
                x.append(x[-1] + (mm(c) if c.endswith("mm") else rest * float(c[:-2]) / frs))
            self.tables.append(x)
        self.colx = self.tables[0]


# A closing mark at a line's end (an opening one at its start) is set half
# width (clreq 标点挤压): its em box may stick out by half an em, its ink not.
CLOSING = "，。、；：？！）」』》〉】〕’”"
OPENING = "（「『《〈【〔‘“"


def within(x0, x1, size, t, left, right):
    """A word between left and right, but for half-width punctuation."""
    half = size / 2
    return (x0 >= left - 0.5 - (half if t[:1] in OPENING else 0) and
            x1 <= right + 0.5 + (half if t[-1:] in CLOSING else 0))


def check_inside_page(ws, geo, what):
    """No glyph outside the page's text block; only the page numbers sit in
    the bottom margin."""
    bad = []
    for (p, x0, y0, x1, y1, t, pw, ph) in ws:
        if not within(x0, x1, y1 - y0, t, geo.left, pw - geo.right) or y0 < 0 or y1 > ph:
            bad.append((p, x0, y0, x1, y1, t[:30]))
        elif y1 > ph - geo.bottom + 0.5 and not re.fullmatch(r"—|\d+", t):
            bad.append((p, x0, y0, x1, y1, t[:30]))
    if bad:
        fail(f"{what}: {len(bad)} word(s) outside the text block, e.g. {bad[:3]}")
    print(f"{what}: all {len(ws)} words inside the text block")


def cell_text(ws, geo, x0, x1, alphabet):
    """The words lying between x0 and x1 (a cell's columns) made only of
    characters in alphabet, joined in content order; page numbers (in the
    bottom margin) are left out.  Fails when such a word crosses the cell's
    edges."""
    out = []
    for (p, a, b, c, e, t, pw, ph) in ws:
        if e > ph - geo.bottom or not t or any(ch not in alphabet for ch in t):
            continue
        if c < x0 or a > x1:
            continue
        if not within(a, c, e - b, t, x0, x1):
            fail(f"word on page {p} crosses the cell edge [{x0:.1f}, {x1:.1f}]: "
                 f"[{a:.1f}, {c:.1f}] {t[:40]}")
        out.append(t)
    return "".join(out)


# ------------------------------------------------------------ running ipforms

def ipf_validate(ipf, cwd, *files, extra=()):
    return run([ipf, "validate", *extra, *files], cwd=cwd)


def ipf_render(ipf, cwd, outdir, *files, extra=(), **kw):
    return run([ipf, "render", "-o", outdir, *extra, *files], cwd=cwd, **kw)


def refused_both_ways(ipf, cwd, rel, expected, rc, what, extra=()):
    """validate and render print the same diagnostics, exit rc, and render
    leaves the output directory empty."""
    r = ipf_validate(ipf, cwd, rel, extra=extra)
    expect_rc(r, rc, f"{what} validate")
    if callable(expected):
        expected(r.stderr, "validate")
    else:
        expect_exact(r.stderr, expected, f"{what} validate")
    with tempfile.TemporaryDirectory() as out:
        r2 = ipf_render(ipf, cwd, out, rel, extra=extra)
        expect_rc(r2, rc, f"{what} render")
        if r2.stderr != r.stderr:
            fail(f"{what}: render's diagnostics differ from validate's:\n{r2.stderr}")
        if r2.stdout.strip():
            fail(f"{what}: render claims success: {r2.stdout}")
        expect_unchanged(out, {}, f"{what} render")


# ---------------------------------------------------------------- class: xml

def check_xml(ipf, repo, case):
    data = os.path.join(repo, "tests/hostile/data")
    rel = f"tests/hostile/data/{case}.xml"
    before = sorted(os.listdir(data))
    expected = os.path.join(data, case + ".expected")
    refused_both_ways(ipf, repo, rel, lambda err, what: expect_lines(err, expected, f"{case} {what}"),
                      1, case)
    if sorted(os.listdir(data)) != before:
        fail("files were written next to the hostile data")


# -------------------------------------------------------------- class: limit

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<filing xmlns="urn:ipforms:data:1" form="national-filing">\n'
MIB = 1024 * 1024


def padded_sample(repo, size):
    """The sample grown to exactly size bytes by a comment before its end."""
    src = open(os.path.join(repo, SAMPLE), "rb").read()
    end = src.rindex(b"</filing>")
    line = b"<!--" + b"x" * 1000 + b"-->\n"
    n = (size - len(src)) // len(line)
    rest = size - len(src) - n * len(line)
    return src[:end] + line * n + b" " * rest + src[end:]


def check_limit(ipf, repo, case):
    with tempfile.TemporaryDirectory() as tmp:
        w = lambda name, data: open(os.path.join(tmp, name), "wb").write(data)
        if case == "too-large":
            w("big.xml", padded_sample(repo, 16 * MIB + 1))
            refused_both_ways(ipf, tmp, "big.xml", [
                "big.xml: error XML-TOO-LARGE 文件大小 16777217 字节，超过 16777216 字节（16 MiB）的上限"],
                1, case)
        elif case == "at-size-limit":
            w("limit.xml", padded_sample(repo, 16 * MIB))
            r = ipf_validate(ipf, tmp, "limit.xml")
            expect_rc(r, 0, case)
            expect_exact(r.stderr, [], case)
        elif case == "too-deep":
            w("deep.xml", (HEAD + "<institution>" + "<x>" * 63 + "</x>" * 63 +
                           "</institution>\n</filing>\n").encode())
            refused_both_ways(ipf, tmp, "deep.xml", [
                "deep.xml:3: error XML-TOO-DEEP 元素 <x> 处的嵌套超过 64 层的上限"], 1, case)
            # Far past libxml2's own limit (256): still our message, no crash.
            w("deeper.xml", (HEAD + "<x>" * 100000 + "</x>" * 100000 + "\n</filing>\n").encode())
            refused_both_ways(ipf, tmp, "deeper.xml", [
                "deeper.xml:3: error XML-TOO-DEEP 元素 <x> 处的嵌套超过 64 层的上限"], 1, case)
        elif case == "text-too-long":
            w("long.xml", (HEAD + "  <institution>\n    <name>" + "长" * (MIB // 3 + 1) +
                           "</name>\n  </institution>\n</filing>\n").encode())
            refused_both_ways(ipf, tmp, "long.xml", [
                "long.xml:4: error XML-TEXT-TOO-LONG 元素 <name> 中的一段文字超过 1048576 字节（1 MiB）的上限"],
                1, case)
        elif case == "too-many-nodes":
            w("nodes.xml", (HEAD + "<a/>\n" * 100000 + "</filing>\n").encode())
            refused_both_ways(ipf, tmp, "nodes.xml", [
                "nodes.xml:100001: error XML-TOO-MANY-NODES 元素、属性和注释共超过 100000 个的上限"],
                1, case)
        elif case == "too-many-attributes":
            attrs = lambda n: " ".join(f'a{i:x}=""' for i in range(n))
            w("attrs.xml", (HEAD + f"  <institution {attrs(65)}/>\n</filing>\n").encode())
            refused_both_ways(ipf, tmp, "attrs.xml", [
                "attrs.xml:3: error XML-TOO-MANY-ATTRIBUTES 一个元素有 65 个属性，超过 64 个的上限"], 1, case)
            # libxml2 2.9 checks duplicates quadratically: a million
            # attributes would take hours; refused before parsing, at once.
            w("million.xml", (HEAD + f"<institution {attrs(1000000)}/>\n</filing>\n").encode())
            r = run([ipf, "validate", "million.xml"], cwd=tmp, timeout=60)
            expect_rc(r, 1, case + " million")
            expect_exact(r.stderr, [
                "million.xml:3: error XML-TOO-MANY-ATTRIBUTES 一个元素有 1000000 个属性，超过 64 个的上限"],
                case + " million")
        elif case == "device":
            # Endless input of unknown size: read up to the limit, no further.
            if not os.path.exists("/dev/zero"):
                skip("no /dev/zero")
            refused_both_ways(ipf, tmp, "/dev/zero", [
                "/dev/zero: error XML-TOO-LARGE 文件超过 16777216 字节（16 MiB）的上限，已停止读取"], 1, case)
        elif case == "many-bad-lines":
            # Every bad line up to 20 is listed, then how many more.
            body = HEAD.encode() + b"".join(b"  <!-- \xff line -->\n" for _ in range(30)) + b"</filing>\n"
            w("bad.xml", body)
            want = [f"bad.xml:{n}: error XML-ENCODING 第 8 列有不是 UTF-8 编码的字节 0xFF：文件须以 UTF-8 "
                    "编码保存（如为 GBK/GB18030，请用“另存为 UTF-8”转换）" for n in range(3, 23)]
            want.append("bad.xml:23: error XML-ENCODING 从这一行起另有 10 处编码错误或控制字符，未逐一列出")
            refused_both_ways(ipf, tmp, "bad.xml", want, 1, case)
        elif case == "file-name":
            # An attachment's name chosen by the applicant cannot forge a
            # diagnostic line or talk to the terminal.
            w("evil\nfake.xml: error OK 通过\x1b[31m.xml", b"")
            refused_both_ways(ipf, tmp, "evil\nfake.xml: error OK 通过\x1b[31m.xml", [
                "evil\\x0Afake.xml: error OK 通过\\x1B[31m.xml: error XML-EMPTY 文件为空"], 1, case)
            # A valid file with such a name: what is printed on success is
            # escaped too.
            bad = "ok\n\x1b[2Jname.xml"
            shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, bad))
            r = ipf_validate(ipf, tmp, bad)
            expect_rc(r, 0, case + " valid")
            if r.stdout != "ok\\x0A\\x1B[2Jname.xml: 通过检查\n":
                fail(f"{case}: stdout not escaped: {r.stdout!r}")
            os.mkdir(os.path.join(tmp, "out"))
            r = ipf_render(ipf, tmp, "out", bad)
            expect_rc(r, 0, case + " render")
            if "\x1b" in r.stdout or r.stdout.count("\n") != 1:
                fail(f"{case}: render stdout not escaped: {r.stdout!r}")
        elif case == "directory":
            os.mkdir(os.path.join(tmp, "folder.xml"))
            refused_both_ways(ipf, tmp, "folder.xml", [
                "folder.xml: error IO-IS-DIR 这是一个目录，不是 XML 文件"], 2, case)
        elif case == "missing":
            refused_both_ways(ipf, tmp, "nowhere.xml", [
                "nowhere.xml: error IO-NOT-FOUND 文件不存在"], 2, case)
            # One unreadable file does not stop the others: all are reported.
            shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "good.xml"))
            os.mkdir(os.path.join(tmp, "out"))
            r = ipf_render(ipf, tmp, "out", "nowhere.xml", "good.xml")
            expect_rc(r, 2, case + " with a good file")
            expect_exact(r.stderr, ["nowhere.xml: error IO-NOT-FOUND 文件不存在",
                                    "ipforms: 共 2 份：已生成 1，数据有误 0，失败 1"], case + " batch")
            if sorted(os.listdir(os.path.join(tmp, "out"))) != ["good.pdf"]:
                fail(f"the good file was not rendered: {os.listdir(os.path.join(tmp, 'out'))}")
            print("missing file reported, the next file still rendered")
        else:
            fail(f"unknown case {case}")


# ------------------------------------------------------------- class: layout

def sample_tree(repo):
    ET.register_namespace("", NS)
    return ET.parse(os.path.join(repo, SAMPLE))


def numbered(n, tag):
    """n characters (as ipf:chars counts them) of numbered sentences, so a
    lost, doubled or reordered line shows."""
    out, i = "", 0
    while len(out) < n:
        i += 1
        out += f"{tag}第{i:04d}句知识产权信息服务。"
    return out[:n]


def set_paragraph(el, text):
    for c in list(el):
        el.remove(c)
    el.text = None
    ET.SubElement(el, q("p")).text = text


def render_ok(ipf, tmp, name, force=False, rc=0, expected=None):
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    r = ipf_render(ipf, tmp, "out", name, extra=["--force"] if force else [])
    expect_rc(r, rc, f"render {name}")
    if expected is not None:
        expect_lines(r.stderr, expected, f"render {name}")
    elif r.stderr.strip():
        fail(f"unexpected diagnostics: {r.stderr}")
    pdf = os.path.join(out, name[:-4] + ".pdf")
    if sorted(os.listdir(out)) != [os.path.basename(pdf)]:
        fail(f"output directory holds {os.listdir(out)}")
    return pdf


def base_pages(ipf, repo, tmp):
    """Pages of the unchanged sample, rendered in a directory of its own."""
    base = os.path.join(tmp, "base")
    os.mkdir(base)
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(base, "base.xml"))
    return page_count(render_ok(ipf, base, "base.xml"))


def check_layout(ipf, repo, case):
    geo = Geometry(repo)
    exp = os.path.join(repo, f"tests/hostile/expected/layout-{case}.expected")
    with tempfile.TemporaryDirectory() as tmp:
        t = sample_tree(repo)
        r = t.getroot()
        inst = r.find(q("institution"))
        save = lambda name: t.write(os.path.join(tmp, name), encoding="UTF-8", xml_declaration=True)
        if case in ("long-url", "digit-run"):
            if case == "long-url":
                # 5,000 characters without a break opportunity but after "/".
                s = "https://ipservice.jlust.edu.cn/" + "abcdefghij" * 500
                s = s[:5000]
                inst.find(q("platform")).find(q("url")).text = s
                x0, x1 = geo.colx[2], geo.colx[6]  # the URL spans columns 3-6
            else:
                s = "".join(str(i % 10) for i in range(5000))
                inst.find(q("address")).text = s
                x0, x1 = geo.colx[1], geo.colx[6]  # the address spans columns 2-6
            save("x.xml")
            v = ipf_validate(ipf, tmp, "x.xml")
            expect_rc(v, 0, "validate")
            pdf = render_ok(ipf, tmp, "x.xml")
            ws = words(pdf)
            check_inside_page(ws, geo, case)
            got = cell_text(ws, geo, x0, x1, set(s))
            if s not in got:
                i = next((k for k in range(min(len(s), len(got))) if s[k] != got[k]), None)
                fail(f"the 5,000 characters are not all in the cell, in order "
                     f"({len(got)} characters found, first difference at {i})")
            n, base = page_count(pdf), base_pages(ipf, repo, tmp)
            if n <= base:
                fail(f"{n} pages, no more than the sample's {base}: was the cell clipped?")
            print(f"all 5,000 characters inside columns [{x0:.1f}, {x1:.1f}] pt, "
                  f"continued over {n - base} more page(s)")
        elif case == "tall-cell":
            s = numbered(4000, "服务对象")
            inst.find(q("service-objects")).text = s
            save("x.xml")
            pdf = render_ok(ipf, tmp, "x.xml")
            n, base = page_count(pdf), base_pages(ipf, repo, tmp)
            if n < base + 3:
                fail(f"a 4,000-character cell gave {n} pages, the sample {base}")
            ws = words(pdf)
            check_inside_page(ws, geo, case)
            # By position: pdftotext would mix the label 服务对象 into the lines.
            if s not in cell_text(ws, geo, geo.colx[1], geo.colx[6], set(s)):
                fail("the cell's text is not complete and in order")
            print(f"one cell continued over {n - base} more pages, text complete")
        elif case == "staff-500":
            team = r.find(q("team"))
            members = team.findall(q("member"))
            for m in members[1:]:
                team.remove(m)
            names = []
            for i in range(500):
                m = ET.SubElement(team, q("member"), role="专职")
                names.append(f"成员{i + 1:03d}号")
                ET.SubElement(m, q("name")).text = names[-1]
                ET.SubElement(m, q("title")).text = "馆员"
                p = ET.SubElement(ET.SubElement(m, q("profile")), q("p"))
                p.text = f"{names[-1]}，专职从事专利信息检索和咨询服务。"
            inst.find(q("staff")).attrib.update({"total": "503", "full-time": "500", "part-time": "3"})
            save("x.xml")
            expect_rc(ipf_validate(ipf, tmp, "x.xml"), 0, "validate")
            pdf = render_ok(ipf, tmp, "x.xml")
            text = clean_text(pdftotext(pdf))
            pos = 0
            for k, nm in enumerate(names):
                i = text.find(f"{k + 2}．{nm}", pos)
                if i < 0:
                    fail(f"member {k + 2} {nm} missing or out of order")
                j = text.find(f"{nm}，专职从事专利信息检索和咨询服务。", i)
                if j < 0:
                    fail(f"profile of {nm} missing")
                pos = j
            check_inside_page(words(pdf), geo, case)
            print(f"500 members with profiles in order over {page_count(pdf)} pages")
        elif case == "empty-fields":
            for el in r.iter():
                if el is not r:
                    el.text = None if len(el) else ""
                    for k in el.attrib:
                        el.attrib[k] = ""
            save("empty.xml")
            v = ipf_validate(ipf, tmp, "empty.xml")
            expect_rc(v, 1, "validate")
            expect_lines(v.stderr, exp, "validate")
            if len(v.stderr.strip().split("\n")) < 40:
                fail("expected every empty required field to be reported at once")
            with tempfile.TemporaryDirectory() as out:
                r2 = ipf_render(ipf, tmp, out, "empty.xml")
                expect_rc(r2, 1, "render without --force")
                expect_unchanged(out, {}, "render without --force")
            pdf = render_ok(ipf, tmp, "empty.xml", force=True, rc=1, expected=exp)
            text = clean_text(pdftotext(pdf))
            for label in ["备案机构：", "一、机构基本情况", "三、服务团队人员情况", "八、备案部门意见"]:
                if label not in text:
                    fail(f"forced PDF lacks {label}")
            print(f"forced PDF of the empty filing: {page_count(pdf)} pages with the form's labels")
        elif case == "tenfold":
            texts = []
            for path, n in (("foundation", 10000), ("development", 15000)):
                texts.append(numbered(n, path[:2]))
                set_paragraph(r.find(q(path)), texts[-1])
            for k, m in enumerate(r.find(q("team")).findall(q("member"))):
                texts.append(numbered(2000, f"成员{k}"))
                set_paragraph(m.find(q("profile")), texts[-1])
            for k, c in enumerate(r.find(q("cases")).findall(q("case"))):
                texts.append(numbered(5000, f"案例{k}"))
                set_paragraph(c.find(q("content")), texts[-1])
            save("big.xml")
            v = ipf_validate(ipf, tmp, "big.xml")
            expect_rc(v, 1, "validate")
            expect_lines(v.stderr, exp, "validate")
            pdf = render_ok(ipf, tmp, "big.xml", force=True, rc=1, expected=exp)
            text = clean_text(pdftotext(pdf))
            ws = words(pdf)
            check_inside_page(ws, geo, case)
            cases = geo.tables[1]
            for k, s in enumerate(texts):
                # The cases' contents sit right of their labels, which
                # pdftotext would mix into the lines: read those by position.
                got = cell_text(ws, geo, cases[2], cases[-1], set(s)) if k >= len(texts) - 3 else text
                if s not in got:
                    fail(f"forced PDF lacks part of a {len(s)}-character text: {s[:20]}…")
            print(f"forced PDF typesets all {sum(map(len, texts))} characters, {page_count(pdf)} pages")
        elif case == "missing-glyph":
            inst.find(q("name")).text = "重庆嘉陵科技大学\U00020000图书馆\ue000"
            save("glyph.xml")
            refused_both_ways(ipf, tmp, "glyph.xml",
                              lambda err, what: expect_lines(err, exp, f"{case} {what}"), 1, case)
        else:
            fail(f"unknown case {case}")


# ----------------------------------------------------------- class: template

BREAKS = {
    # case: (file under templates/, text to find, replacement)
    "malformed": ("national-filing/template.xml",
                  '<row><label>名称</label><value span="5" select="d:institution/d:name"/></row>',
                  '<row><label>名称</label><value span="5" select="d:institution/d:name"></row>'),
    "unknown-element": ("national-filing/template.xml", '<vspace height="42mm"/>', '<vspace-x height="42mm"/>'),
    "bad-xpath": ("national-filing/rules.xml",
                  "<assert>ipf:filled(d:cover/d:applicant)</assert>",
                  "<assert>ipf:filled(d:cover/d:applicant</assert>"),
    "unknown-setting": ("national-filing/rules.xml", "{$foundation-max}", "{$foundation-limit}"),
    "column-widths": ("national-filing/template.xml", '<table columns="30mm 28mm 24mm 24mm 25mm 1fr">',
                      '<table columns="60mm 28mm 24mm 24mm 25mm 1fr">'),
    "span-beyond": ("national-filing/template.xml",
                    '<row><label>地址</label><value span="5"', '<row><label>地址</label><value span="6"'),
    "missing-font": ("national-filing/template.xml", '<font file="FandolFang-Regular.ttf"/>',
                     '<font file="FangSong_GB2312.ttf"/>'),
    "missing-schema": ("national-filing/template.xml", 'schema="../schema/filing.xsd"',
                       'schema="../schema/filing-2024.xsd"'),
    # a loop's var= used before (outside) its loop: refused at load, not at layout
    "loop-variable-outside": ("national-filing/template.xml", '<each select="d:team/d:member">',
                              '<p>第{$m}人</p><each select="d:team/d:member" var="m">'),
}


def copy_national_templates(repo, dst):
    """A copy of templates/ with the national form and what it reads only:
    forms that extend it (nm-filing, xj-filing) would repeat its breakage
    with their own lines, which is not what these cases are about."""
    keep = {"national-filing", "schema", "common"}
    src = os.path.join(repo, "templates")
    shutil.copytree(src, dst, ignore=lambda d, names: [n for n in names if d == src and n not in keep])


def break_template(repo, tmp, f, old, new, hint=""):
    """The national templates copied to tmp/tpl, with the one old in f
    replaced by new; returns the line old stood on."""
    copy_national_templates(repo, os.path.join(tmp, "tpl"))
    path = os.path.join(tmp, "tpl", f)
    src = open(path, encoding="utf-8").read()
    if src.count(old) != 1:
        fail(f"{f} no longer holds exactly one {old!r}{hint}")
    open(path, "w", encoding="utf-8").write(src.replace(old, new))
    return src[:src.index(old)].count("\n") + 1


def check_undeclared_prefix(ipf, repo):
    """A select with a prefix the template never declared compiles, and only
    fails when laid out: render and blank say so with the template's line
    (it used to leave the field blank without a word); nothing is written."""
    f = "national-filing/template.xml"
    old = '<value span="5" select="d:institution/d:address"/>'
    with tempfile.TemporaryDirectory() as tmp:
        line = break_template(repo, tmp, f, old, old.replace("d:inst", "x:inst"))
        want = [f'tpl/{f}:{line}: error TEMPLATE-XPATH select="x:institution/d:address" '
                "无法求值（名称空间前缀未声明或函数不存在），此处内容无法填写"]
        shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
        os.mkdir(os.path.join(tmp, "out"))
        for args in (["render", "filing.xml"], ["blank", "national-filing"]):
            r = run([ipf, args[0], "--templates", "tpl", "-o", "out", args[1]], cwd=tmp)
            expect_rc(r, 2, "undeclared-prefix " + args[0])
            expect_exact(r.stderr, want, "undeclared-prefix " + args[0])
            if os.listdir(os.path.join(tmp, "out")):
                fail(f"undeclared-prefix {args[0]} wrote {os.listdir(os.path.join(tmp, 'out'))}")


def check_template(ipf, repo, case):
    if case == "undeclared-prefix":
        return check_undeclared_prefix(ipf, repo)
    if case not in BREAKS:
        fail(f"unknown case {case}")
    f, old, new = BREAKS[case]
    exp = os.path.join(repo, f"tests/hostile/expected/template-{case}.expected")
    with tempfile.TemporaryDirectory() as tmp:
        line = break_template(repo, tmp, f, old, new, ": update BREAKS")
        shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
        refused_both_ways(ipf, tmp, "filing.xml",
                          lambda err, what: expect_lines(err, exp, f"{case} {what}", line), 2,
                          case,
                          extra=["--templates", "tpl"])
        # The blank form of a form whose template is broken: the template's
        # own errors first (and TEMPLATE-BROKEN when the template itself did
        # not load), never "no such form"; nothing written.
        os.mkdir(os.path.join(tmp, "out"))
        r = run([ipf, "blank", "--templates", "tpl", "-o", "out", "national-filing"], cwd=tmp)
        expect_rc(r, 2, case + " blank")
        if "FORM-UNKNOWN" in r.stderr or not r.stderr.startswith(f"tpl/{f}:"):
            fail(f"{case} blank: {r.stderr}")
        if os.listdir(os.path.join(tmp, "out")):
            fail(f"{case} blank wrote {os.listdir(os.path.join(tmp, 'out'))}")
        lines = open(exp, encoding="utf-8").read() if not REGEN else ""
        if not REGEN and f"tpl/{f}:" not in lines:
            fail(f"no diagnostic names tpl/{f}")


# ------------------------------------------------------------- class: output

OLD_PDF = b"%PDF-1.4\n% an earlier good render, which a failed one must not touch\n%%EOF\n"


def have_unshare():
    return shutil.which("unshare") and run(["unshare", "-rm", "true"]).returncode == 0


def in_private_mount(repo, ipf, case, opts):
    """Runs this script's output-ns step in a new user and mount namespace,
    where an unprivileged tmpfs can be mounted (read-only or tiny)."""
    if not have_unshare():
        skip("unshare -rm (user namespaces) is not available")
    r = run(["unshare", "-rm", sys.executable, __file__, "output-ns", case, ipf, repo, opts])
    print(r.stdout, end="")
    if r.returncode == 77:
        skip(f"{case}: {r.stdout.strip()}")
    if r.returncode != 0:
        fail(f"{case}: {r.stderr}")


def check_output_ns(ipf, repo, case, opts):
    """Inside the namespace: mount, render over an earlier PDF, check."""
    with tempfile.TemporaryDirectory() as tmp:
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        if case == "disk-full":
            if run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", mnt]).returncode != 0:
                skip("cannot mount a tmpfs")
            with open(os.path.join(mnt, "filing.pdf"), "wb") as fh:
                fh.write(OLD_PDF)
        else:
            if run(["mount", "-t", "tmpfs", "tmpfs", mnt]).returncode != 0:
                skip("cannot mount a tmpfs")
            with open(os.path.join(mnt, "filing.pdf"), "wb") as fh:
                fh.write(OLD_PDF)
            if run(["mount", "-o", "remount,ro", mnt]).returncode != 0:
                skip("cannot remount read-only")
        shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
        before = snapshot(mnt)
        r = ipf_render(ipf, tmp, "mnt", "filing.xml")
        expect_rc(r, 2, case)
        why = "磁盘空间不足（写入）" if case == "disk-full" else "文件系统只读（创建临时文件）"
        expect_exact(r.stderr, [f"mnt/filing.pdf: error PDF-WRITE 无法写入 PDF 文件“mnt/filing.pdf”：{why}"],
                     case)
        expect_unchanged(mnt, before, case)
        run(["umount", mnt])


def check_output(ipf, repo, case):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        line = lambda p, why: f"{p}: error PDF-WRITE 无法写入 PDF 文件“{p}”：{why}"
        if case == "missing-dir":
            r = ipf_render(ipf, tmp, "no-such-dir", "filing.xml")
            expect_rc(r, 2, case)
            expect_exact(r.stderr, ["no-such-dir: error IO-OUTPUT-DIR 输出目录不存在或不是目录"], case)
            if os.path.exists(os.path.join(tmp, "no-such-dir")):
                fail("the missing output directory was created")
        elif case == "dir-is-file":
            with open(os.path.join(tmp, "afile"), "wb") as fh:
                fh.write(b"keep me")
            r = ipf_render(ipf, tmp, "afile", "filing.xml")
            expect_rc(r, 2, case)
            expect_exact(r.stderr, ["afile: error IO-OUTPUT-DIR 输出目录不存在或不是目录"], case)
            if open(os.path.join(tmp, "afile"), "rb").read() != b"keep me":
                fail("the file given as output directory was changed")
        elif case == "unwritable-dir":
            # Permissions do not stop root, so a directory no one may create
            # files in: sysfs refuses every new file (EACCES) even to root.
            if not os.path.isdir("/sys/kernel"):
                skip("no /sys/kernel")
            r = ipf_render(ipf, tmp, "/sys/kernel", "filing.xml")
            expect_rc(r, 2, case)
            expect_exact(r.stderr, [line("/sys/kernel/filing.pdf", "没有写入权限（创建临时文件）")], case)
            leftovers = [n for n in os.listdir("/sys/kernel") if n.startswith((".filing", "filing"))]
            if leftovers:
                fail(f"left in /sys/kernel: {leftovers}")
        elif case == "read-only-fs":
            in_private_mount(repo, ipf, case, "")
            return
        elif case == "disk-full":
            # 16 KiB: the earlier PDF fits, the new one (some 280 KB) does not.
            in_private_mount(repo, ipf, case, "size=16k")
            return
        elif case == "file-size-limit":
            # ulimit -f: the write fails part way (EFBIG), as on a full disk,
            # without any privilege.
            with open(os.path.join(out, "filing.pdf"), "wb") as fh:
                fh.write(OLD_PDF)
            before = snapshot(out)
            lim = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
            r = ipf_render(ipf, tmp, "out", "filing.xml", preexec_fn=lim)
            expect_rc(r, 2, case)
            expect_exact(r.stderr, [line("out/filing.pdf", "文件超过了允许的大小（ulimit -f 或文件系统的限制）（写入）")], case)
            expect_unchanged(out, before, case)
        elif case == "keep-existing":
            # A good render, then invalid data under the same name: the
            # earlier PDF stays byte-identical, nothing else appears.
            r = ipf_render(ipf, tmp, "out", "filing.xml")
            expect_rc(r, 0, "first render")
            before = snapshot(out)
            named_variant(repo, tmp, "v2", "")
            r = ipf_render(ipf, tmp, "out", "v2/filing.xml")
            expect_rc(r, 1, case)
            expect_exact(r.stderr, [
                "v2/filing.xml:10: error NAT-REQ-NAME “一、机构基本情况”中的“名称”未填写"
                "（依据《国家知识产权信息公共服务网点备案表》第一部分）"], case)
            expect_unchanged(out, before, case)
            # A truncated file and a missing one under that name: the same.
            with open(os.path.join(tmp, "v2", "filing.xml"), "wb") as fh:
                fh.write(open(os.path.join(tmp, "filing.xml"), "rb").read()[:3000])
            r = ipf_render(ipf, tmp, "out", "v2/filing.xml")
            expect_rc(r, 1, case + " truncated")
            expect_unchanged(out, before, case + " truncated")
        elif case == "open-elsewhere":
            # A PDF viewer (or the print spooler) holds the earlier PDF open
            # while the clerk renders again.  On Linux the new file replaces
            # the name by rename(): the reader keeps the complete old file,
            # the name gets the complete new one; a failed render meanwhile
            # changes nothing.  (Windows-style locks do not exist here.)
            r = ipf_render(ipf, tmp, "out", "filing.xml")
            expect_rc(r, 0, "first render")
            old = open(os.path.join(out, "filing.pdf"), "rb").read()
            with open(os.path.join(out, "filing.pdf"), "rb") as held:
                named_variant(repo, tmp, "bad", "")
                r = ipf_render(ipf, tmp, "out", "bad/filing.xml")
                expect_rc(r, 1, case + " invalid while open")
                expect_unchanged(out, {"filing.pdf": old}, case + " invalid while open")
                named_variant(repo, tmp, "v2", "重新生成的机构名称")
                r = ipf_render(ipf, tmp, "out", "v2/filing.xml")
                expect_rc(r, 0, case + " re-render while open")
                if held.read() != old:
                    fail(f"{case}: the reader's open file changed under it")
            if sorted(os.listdir(out)) != ["filing.pdf"]:
                fail(f"{case}: left {sorted(os.listdir(out))}")
            text = run(["pdftotext", os.path.join(out, "filing.pdf"), "-"]).stdout
            if "重新生成的机构名称" not in text:
                fail(f"{case}: the new PDF is not in place")
        elif case == "target-is-dir":
            os.mkdir(os.path.join(out, "filing.pdf"))
            r = ipf_render(ipf, tmp, "out", "filing.xml")
            expect_rc(r, 2, case)
            expect_exact(r.stderr, [line("out/filing.pdf", "目标是一个目录（替换为新文件）")], case)
            expect_unchanged(out, {"filing.pdf": None}, case)
        else:
            fail(f"unknown case {case}")


if __name__ == "__main__":
    cls, case, ipf, repo = sys.argv[1:5]
    ipf = os.path.abspath(ipf)
    for tool in ("pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            skip(f"{tool} (poppler-utils) not installed")
    {
        "xml": lambda: check_xml(ipf, repo, case),
        "limit": lambda: check_limit(ipf, repo, case),
        "layout": lambda: check_layout(ipf, repo, case),
        "template": lambda: check_template(ipf, repo, case),
        "output": lambda: check_output(ipf, repo, case),
        "output-ns": lambda: check_output_ns(ipf, repo, case, sys.argv[5]),
    }[cls]()
