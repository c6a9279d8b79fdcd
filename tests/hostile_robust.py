#!/usr/bin/python3
"""Hostile input, second round (issue 11; docs/threat-model.md says what
each check stands for).  Shares its assertions with hostile_checks.py.

Usage: hostile_robust.py CASE IPFORMS REPO_ROOT [CC]

Every case asserts what a clerk would notice: the exact diagnostic lines,
the exit code, a PDF that holds every character, nothing written on failure.
Expected diagnostics live in tests/hostile/expected/robust-CASE.expected;
HOSTILE_REGEN=1 rewrites them (review the diff before committing).
Exit 0 pass, 1 fail, 77 skipped."""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostile_checks as H  # noqa: E402

from ipftest import in_pages  # noqa: E402

from hostile_checks import (fail, skip, run, q, expect_lines, expect_exact, expect_rc,  # noqa: E402
                            expect_unchanged, pdftotext, squash, sample_tree, SAMPLE, HEAD)

FONT = "fonts/FandolFang-Regular.ttf"


def exp_file(repo, case):
    return os.path.join(repo, f"tests/hostile/expected/robust-{case}.expected")


def save(t, tmp, name):
    t.write(os.path.join(tmp, name), encoding="UTF-8", xml_declaration=True)


def render(ipf, cwd, *args, out="out", **kw):
    os.makedirs(os.path.join(cwd, out), exist_ok=True)
    return run([ipf, "render", "-o", out, *args], cwd=cwd, **kw)


# ------------------------------------------------------------------ 1 font

def case_covering_font(ipf, repo, tmp):
    """An office font that covers every character of the form (仿宋_GB2312
    is the usual one): the fallback font is then never used.  Here the
    bundled FangSong itself is given as --font, so the template's font is
    the unused fallback; render and blank must work under the sanitizers."""
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    font = os.path.join(repo, FONT)
    r = render(ipf, tmp, "--font", font, "filing.xml")
    expect_rc(r, 0, "render --font")
    expect_exact(r.stderr, [], "render --font")
    text = squash(pdftotext(os.path.join(tmp, "out", "filing.pdf")))
    for s in ("重庆嘉陵科技大学图书馆", "国家知识产权信息公共服务网点备案表"):
        if s not in text:
            fail(f"render --font: {s} missing from the PDF")
    r = run([ipf, "blank", "--font", font, "-o", "out", "national-filing"], cwd=tmp)
    expect_rc(r, 0, "blank --font")
    # Both as --font and as the template's own: the same face twice.
    r = run([ipf, "validate", "--font", font, "--font", font, "filing.xml"], cwd=tmp)
    expect_rc(r, 0, "validate --font twice")
    # Every valid sample of every form, and every blank form, the same way.
    os.makedirs(os.path.join(tmp, "all"))
    by_form = {}
    for p in valid_samples(repo):
        by_form.setdefault(os.path.basename(os.path.dirname(p)), []).append(p)
    for form_dir, paths in by_form.items():  # one directory each: names repeat across forms
        os.makedirs(os.path.join(tmp, "all", form_dir))
        r = run([ipf, "render", "--font", font, "-o", os.path.join("all", form_dir), *paths], cwd=tmp)
        expect_rc(r, 0, f"render the {form_dir} samples --font")
    forms = [l.split()[0] for l in run([ipf, "forms"], cwd=tmp).stdout.splitlines() if l.strip()]
    for f in forms:
        r = run([ipf, "blank", "--font", font, "-o", "all", f], cwd=tmp)
        expect_rc(r, 0, f"blank {f} --font")
    print(f"a font covering everything, as --font: render, blank and validate clean; "
          f"{len(valid_samples(repo))} samples and {len(forms)} blank forms too")


# --------------------------------------------------------- 2 blank-looking

BLANKS = {
    "ideographic": "\u3000\u3000",
    "nbsp": "\u00a0",
    "en-em": "\u2002\u2003\u2009",
    "zero-width": "\u200b\u200c\u200d\u2060\ufeff",
    "mixed": " \u3000\t\u00a0\u202f\u205f\u200b ",
}


def case_blank_looking(ipf, repo, tmp):
    """Required fields holding only characters that print as nothing are
    not filled: each is reported as missing, exactly as an empty one."""
    t = sample_tree(repo)
    r = t.getroot()
    inst = r.find(q("institution"))
    kinds = list(BLANKS.values())
    fields = [r.find(q("cover")).find(q("applicant")), inst.find(q("name")),
              inst.find(q("category")), inst.find(q("address")),
              inst.find(q("contact")).find(q("phone")), inst.find(q("head")).find(q("name")),
              inst.find(q("service-objects"))]
    for k, el in enumerate(fields):
        el.text = kinds[k % len(kinds)]
    for s in inst.find(q("services")).findall(q("service")):
        s.text = "\u3000"
    m = r.find(q("team")).findall(q("member"))[1]
    m.find(q("name")).text = "\u200b"
    for p in m.find(q("profile")).findall(q("p")):
        p.text = "\u3000\u00a0"
    # The schema side says "not filled" for the same characters.
    inst.find(q("staff")).set("total", "\u3000")
    r.find(q("cover")).find(q("recommender")).set("kind", "\u00a0")
    save(t, tmp, "blank.xml")
    r = run([ipf, "validate", "blank.xml"], cwd=tmp)
    expect_rc(r, 1, "validate")
    expect_lines(r.stderr, exp_file(repo, "blank-looking"), "blank-looking")
    n = r.stderr.count("未填写")
    if not H.REGEN and n < len(fields) + 2:
        fail(f"only {n} fields reported as not filled")


# ------------------------------------------------ libxml2 never speaks itself

DIAG_LINE = re.compile(r"^\S.*?(:\d+)?: (error|warning) [A-Z][A-Z0-9-]+ ")


def only_diagnostics(stderr, what):
    """Every stderr line is one of ours: file[:line]: error|warning CODE …"""
    bad = [l for l in stderr.splitlines() if not DIAG_LINE.match(l)]
    if bad:
        fail(f"{what}: stderr holds lines that are not diagnostics: {bad[:3]}")


def copy_templates(repo, tmp):
    shutil.copytree(os.path.join(repo, "templates"), os.path.join(tmp, "tpl"))
    return os.path.join(tmp, "tpl")


def edit(path, old, new, count=1):
    src = open(path, encoding="utf-8").read()
    if src.count(old) != count:
        fail(f"{path} no longer holds {count} × {old!r}")
    open(path, "w", encoding="utf-8").write(src.replace(old, new))
    return src[:src.index(old)].count("\n") + 1


def case_libxml2_silent(ipf, repo, tmp):
    """An XPath error in a template (a function nobody defines; ipf:chars and
    the other shared functions work in templates): our diagnostic with the
    template's line, and not a word of libxml2's own English on stderr."""
    tpl = copy_templates(repo, tmp)
    f = "national-filing/template.xml"
    line = edit(os.path.join(tpl, f), 'select="d:institution/d:address"',
                'select="ipf:no-such(d:institution/d:address)"')
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    want = [f'tpl/{f}:{line}: error TEMPLATE-XPATH select="ipf:no-such(d:institution/d:address)" '
            "无法求值（名称空间前缀未声明或函数不存在），此处内容无法填写"]
    r = render(ipf, tmp, "--templates", "tpl", "filing.xml")
    expect_rc(r, 2, "render")
    expect_exact(r.stderr, want, "render")
    r = run([ipf, "blank", "--templates", "tpl", "-o", "out", "national-filing"], cwd=tmp)
    expect_rc(r, 2, "blank")
    only_diagnostics(r.stderr, "blank")


# ------------------------------------------------------- 3 text dropped

def valid_samples(repo):
    """Every sample data file of every form (samples/<form>/*.xml), not the
    invalid ones: other forms join as their samples are added."""
    out = []
    for form in sorted(os.listdir(os.path.join(repo, "samples"))):
        d = os.path.join(repo, "samples", form)
        if form == "invalid" or not os.path.isdir(d):
            continue
        out += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".xml")]
    return out


DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def printed_forms(text):
    """How a value may be printed: as written, or a date as 2024年8月26日."""
    m = DATE.match(text)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return [f"{y}年{mo}月{d}日", text]
    return [text]


def template_names(repo):
    """Local names of the data elements some template selects (d:name in
    any select or expression of any template file).  An element no template
    names is one the form does not print by design (the national form's
    已获认定称号 is only checked by the rules)."""
    names = set()
    for root, _, files in os.walk(os.path.join(repo, "templates")):
        for n in files:
            if n.endswith(".xml") and n != "rules.xml" and n != "skeleton.xml":
                src = open(os.path.join(root, n), encoding="utf-8").read()
                names |= set(re.findall(r"\b[a-z]+:([A-Za-z][\w.-]*)", src))
    return names


def case_every_text_printed(ipf, repo, tmp):
    """Every text node of every valid sample reaches the PDF's text (as
    pdftotext -raw reads it, in content order; white space and pagination
    aside): nothing the data says is silently left out.  Only elements that
    no template names at all are exempt (not printed by design)."""
    samples = valid_samples(repo)
    if not samples:
        fail("no samples found")
    printed = template_names(repo)
    total = skipped = 0
    for path in samples:
        name = os.path.relpath(path, repo)
        os.makedirs(os.path.join(tmp, "out"), exist_ok=True)
        r = run([ipf, "render", "-o", os.path.join(tmp, "out"), path], cwd=repo)
        expect_rc(r, 0, f"render {name}")
        pdf = os.path.join(tmp, "out", os.path.basename(path)[:-4] + ".pdf")
        pages = [squash(p) for p in pdftotext(pdf, "-raw").split("\f")]
        missing = []
        root = ET.parse(path).getroot()
        parent = {c: p for p in root.iter() for c in p}
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue  # a comment or PI: its tail is counted with its parent
            pieces = [el.text] + [c.tail for c in el]
            for t in pieces:
                t = squash(t or "")
                if not t:
                    continue
                chain, o = [], el
                while o is not None:
                    chain.append(o.tag.split("}")[-1])
                    o = parent.get(o)
                if not any(n in printed for n in chain[:2]):
                    skipped += 1
                    continue
                total += 1
                if not any(in_pages(f, pages) for f in printed_forms(t)):
                    missing.append((chain[0], t[:40]))
        if missing:
            fail(f"{name}: {len(missing)} text(s) not in the PDF, e.g. {missing[:5]}")
        print(f"{name}: every text node in the PDF")
    print(f"{len(samples)} samples, {total} texts, all printed "
          f"({skipped} in elements no template names)")


def case_mixed_content(ipf, repo, tmp):
    """Text written beside <p> paragraphs (the schema's mixed content
    allows it) would be left out of the PDF: it is refused, naming the field
    and quoting the text; with --force the draft is still written."""
    t = sample_tree(repo)
    so = t.getroot().find(q("institution")).find(q("service-objects"))
    so.text = "校内师生"
    p = ET.SubElement(so, q("p"))
    p.text = "中小微企业"
    p.tail = "个人发明人"
    save(t, tmp, "mixed.xml")
    H.refused_both_ways(ipf, tmp, "mixed.xml",
                        lambda err, what: expect_lines(err, exp_file(repo, "mixed-content"),
                                                       f"mixed {what}"), 1, "mixed")


# ------------------------------------------------------------ 4 line numbers

def line_of(text, needle, nth=1):
    i = -1
    for _ in range(nth):
        i = text.index(needle, i + 1)
    return text[:i].count("\n") + 1


def case_big_lines(ipf, repo, tmp):
    """Past line 65,535 (libxml2's short line numbers) every problem keeps
    its real line: a rule, a schema error, a character reference and a
    malformed tag, each some 70,000 lines down."""
    src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
    pad = "\n" * 70000
    src = src.replace("  <institution>", pad + "  <institution>", 1)
    src = src.replace("<name>重庆嘉陵科技大学图书馆</name>", "<name></name>", 1)
    src = src.replace("<nature>事业单位</nature>", "<nature>事业单位</nature>\n    <colour>蓝</colour>", 1)
    open(os.path.join(tmp, "big.xml"), "w", encoding="utf-8").write(src)
    want = [f"big.xml:{line_of(src, '<name></name>')}: error NAT-REQ-NAME “一、机构基本情况”中的“名称”未填写"
            "（依据《国家知识产权信息公共服务网点备案表》第一部分）",
            f"big.xml:{line_of(src, '<colour>')}: error SCHEMA-UNEXPECTED 不应出现的元素 <colour>"
            "（位于“机构基本情况”中）"]
    r = run([ipf, "validate", "big.xml"], cwd=tmp)
    expect_rc(r, 1, "validate")
    got = [l for l in r.stderr.splitlines()]
    for w in want:
        if not any(g.startswith(w) for g in got):
            fail(f"big-lines: expected a line starting {w!r}, got:\n" + r.stderr)
    for g in got:
        if ":65535:" in g:
            fail(f"big-lines: {g}")
    print(f"problems at lines {line_of(src, '<name></name>')} and {line_of(src, '<colour>')} reported there")
    # Well-formedness and character errors past the line too.
    for name, edit, code, what in (("ref.xml", "<address>&#x1b;", "XML-CONTROL-CHAR", "control-char ref"),
                                   ("mal.xml", "<address><", "XML-", "malformed")):
        bad = src.replace("<address>", edit, 1)
        open(os.path.join(tmp, name), "w", encoding="utf-8").write(bad)
        r = run([ipf, "validate", name], cwd=tmp)
        expect_rc(r, 1, what)
        if not r.stderr.startswith(f"{name}:{line_of(bad, edit)}: error {code}"):
            fail(f"big-lines {what}: {r.stderr}")
    print("parse errors past line 65,535 at their lines")


def case_cr_only(ipf, repo, tmp):
    """A file with CR-only line endings (old Mac editors) reports every
    problem at the same line as the LF file, and renders the same."""
    t = sample_tree(repo)
    t.getroot().find(q("institution")).find(q("name")).text = ""
    t.getroot().find(q("institution")).find(q("contact")).find(q("email")).text = "not-an-email"
    save(t, tmp, "lf.xml")
    lf = open(os.path.join(tmp, "lf.xml"), "rb").read()
    open(os.path.join(tmp, "cr.xml"), "wb").write(lf.replace(b"\n", b"\r"))
    open(os.path.join(tmp, "crlf.xml"), "wb").write(lf.replace(b"\n", b"\r\n"))
    want = run([ipf, "validate", "lf.xml"], cwd=tmp)
    expect_rc(want, 1, "lf")
    if len(want.stderr.splitlines()) < 2 or ":1: " in want.stderr:
        fail(f"cr-only: unexpected LF diagnostics {want.stderr}")
    for name in ("cr.xml", "crlf.xml"):
        r = run([ipf, "validate", name], cwd=tmp)
        expect_rc(r, 1, name)
        expect_exact(r.stderr, want.stderr.replace("lf.xml", name).splitlines(), name)
    # A malformed CR-only file: the error's line too.
    src = open(os.path.join(repo, SAMPLE), "rb").read().replace(b"<address>", b"<address><", 1)
    line = src[:src.index(b"<address><")].count(b"\n") + 1
    open(os.path.join(tmp, "bad.xml"), "wb").write(src.replace(b"\n", b"\r"))
    r = run([ipf, "validate", "bad.xml"], cwd=tmp)
    expect_rc(r, 1, "malformed cr")
    if not r.stderr.startswith(f"bad.xml:{line}: error XML-"):
        fail(f"cr-only malformed: {r.stderr}")
    print("CR-only and CRLF files report the LF file's lines")


# ------------------------------------------------- 5 all problems, no flood

def case_many_unexpected(ipf, repo, tmp):
    """A parent with many unexpected children: the first 20 named, each at
    its line, then one line counting the rest; unknown names, misplaced
    known ones, 45,000 on one line: never silence, never a flood, fast."""
    src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
    anchor = "<nature>事业单位</nature>"
    line0 = line_of(src, anchor)

    def variant(name, extra):
        open(os.path.join(tmp, name), "w", encoding="utf-8").write(
            src.replace(anchor, anchor + "\n" + extra, 1))

    variant("unknown.xml", "    <colour>蓝</colour>\n" * 50)
    r = run([ipf, "validate", "unknown.xml"], cwd=tmp)
    expect_rc(r, 1, "unknown")
    lines = r.stderr.splitlines()
    named = [l for l in lines if "不应出现的元素 <colour>" in l]
    if [int(l.split(":")[1]) for l in named] != list(range(line0 + 1, line0 + 21)):
        fail(f"unknown: named lines {[l.split(':')[1] for l in named]}")
    want = f"unknown.xml:{line0 + 21}: error SCHEMA-UNEXPECTED 从这一行起另有 30 处不应出现的元素，未逐一列出"
    if want not in lines:
        fail(f"unknown: no summary {want!r} in\n" + r.stderr)
    print("50 unknown children: 20 named, then 另有 30 处")

    variant("misplaced.xml", "    <address>重庆</address>\n" * 25)
    r = run([ipf, "validate", "misplaced.xml"], cwd=tmp)
    expect_rc(r, 1, "misplaced")
    named = [l for l in r.stderr.splitlines() if "“地址”（<address>）不应出现在此处" in l]
    more = [l for l in r.stderr.splitlines() if "另有" in l and "不应出现的元素" in l]
    if len(named) != 20 or len(more) != 1 or int(re.search(r"另有 (\d+) 处", more[0]).group(1)) < 5:
        fail(f"misplaced: {len(named)} named, summary {more}\n" + r.stderr)
    print("25 misplaced known children: 20 named, then the count")

    variant("flood.xml", "<colour/>" * 45000)
    r = run([ipf, "validate", "flood.xml"], cwd=tmp, timeout=60)
    expect_rc(r, 1, "flood")
    n = len(r.stderr.splitlines())
    if n > 40 or "另有 44980 处不应出现的元素" not in r.stderr:
        fail(f"flood: {n} lines\n" + r.stderr[:3000])
    variant("slow.xml", "<address>x</address>\n" * 40000)
    r = run([ipf, "validate", "slow.xml"], cwd=tmp, timeout=120)
    expect_rc(r, 1, "slow")
    if len(r.stderr.splitlines()) > 40 or "未再逐一检查" not in r.stderr:
        fail(f"slow: \n" + r.stderr[:3000])
    print("45,000 unknown on one line and 40,000 misplaced: a few lines each, the rest counted")


def case_glyph_flood(ipf, repo, tmp):
    """17 characters no font has, each 20,000 times over many fields: each
    reported once (with its count), no line more; past 20 distinct
    characters one line counts the rest."""
    t = sample_tree(repo)
    root = t.getroot()
    chars = [chr(0xE000 + i) for i in range(17)]
    services = root.find(q("institution")).find(q("services"))
    for s in services.findall(q("service")):
        services.remove(s)
    for i in range(400):
        ET.SubElement(services, q("service")).text = "服务" + "".join(chars) * 50
    save(t, tmp, "glyphs.xml")
    r = run([ipf, "validate", "glyphs.xml"], cwd=tmp, timeout=120)
    expect_rc(r, 1, "glyphs")
    lines = [l for l in r.stderr.splitlines() if "FONT-MISSING-GLYPH" in l]
    if len(lines) != 17 or any("（全文共 20000 处）" not in l for l in lines):
        fail(f"glyphs: {len(lines)} lines, e.g. {lines[:2]}")
    print("17 missing characters × 20,000: 17 lines, each with its count")
    for s in services.findall(q("service"))[1:]:
        services.remove(s)
    services.find(q("service")).text = "".join(chr(0xE000 + i) for i in range(30))
    save(t, tmp, "many.xml")
    r = run([ipf, "validate", "many.xml"], cwd=tmp)
    expect_rc(r, 1, "many")
    lines = [l for l in r.stderr.splitlines() if "FONT-MISSING-GLYPH" in l]
    if len(lines) != 21 or "另有 10 个字符（共 10 处）" not in lines[-1]:
        fail(f"many: {len(lines)} lines\n" + r.stderr)
    print("30 distinct missing characters: 20 named, then 另有 10 个字符")


# ------------------------------------------------------ 6 hangs, unbounded

def case_fifo(ipf, repo, tmp):
    """A FIFO (or a socket) never blocks validate or render: refused at
    once (exit 2), and the next file of the batch is still checked."""
    os.mkfifo(os.path.join(tmp, "pipe.xml"))
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "good.xml"))
    want = ["pipe.xml: error IO-NOT-REGULAR 这是管道（FIFO），不是普通文件："
            "它可能永远等不到结尾，请先把数据保存为文件再检查"]
    for cmd in (["validate"], ["render", "-o", "out"]):
        os.makedirs(os.path.join(tmp, "out"), exist_ok=True)
        try:
            r = run([ipf, *cmd, "pipe.xml", "good.xml"], cwd=tmp, timeout=20)
        except subprocess.TimeoutExpired:
            fail(f"{cmd[0]} blocked on a FIFO")
        expect_rc(r, 2, cmd[0])
        # the batch's closing count line (docs/batch.md) follows the diagnostics
        lines = r.stderr.splitlines()
        if not lines or not lines[-1].startswith("ipforms: 共 2 份"):
            fail(f"{cmd[0]}: no closing count line: {r.stderr}")
        expect_exact("\n".join(lines[:-1]) + "\n", want, cmd[0])
    if sorted(os.listdir(os.path.join(tmp, "out"))) != ["good.pdf"]:
        fail(f"fifo: out holds {os.listdir(os.path.join(tmp, 'out'))}")
    print("a FIFO refused at once, the good file after it rendered")


def case_attribute_too_long(ipf, repo, tmp):
    """A 16 MiB attribute value (libxml2 2.9 needed 52 s and 1.5 GB): refused
    from the bytes in well under a second, naming the element, the
    attribute and the limit; one at the limit is parsed as usual."""
    src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
    head = '<staff total="9"'
    big = src.replace(head, '<staff total="' + "9" * (16 * 1024 * 1024 - len(src.encode()) - 100) + '"', 1)
    open(os.path.join(tmp, "attr.xml"), "w", encoding="utf-8").write(big)
    line = line_of(src, head)
    H.refused_both_ways(ipf, tmp, "attr.xml", [
        f"attr.xml:{line}: error XML-ATTRIBUTE-TOO-LONG 元素 <staff> 的属性 total 的值超过 65536 字节"
        "（64 KiB）的上限"], 1, "attribute")
    ok = src.replace("<name>陈志远</name>", '<name x="' + "a" * 65536 + '">陈志远</name>', 1)
    open(os.path.join(tmp, "limit.xml"), "w", encoding="utf-8").write(ok)
    r = run([ipf, "validate", "limit.xml"], cwd=tmp, timeout=60)
    if "XML-ATTRIBUTE-TOO-LONG" in r.stderr or "SCHEMA-UNEXPECTED" not in r.stderr:
        fail(f"an attribute of exactly 64 KiB: {r.stderr[:500]}")
    print("16 MiB attribute refused at once; 64 KiB accepted by the reader")


CUBIC = "count(//node()[count(//node()[count(//node()) &gt; 0]) &gt; 0])"


def case_template_budget(ipf, repo, tmp):
    """Nested broad selects in a template (//node() in a repeat, a cubic
    count inside): layout stops at the XPath budget with a diagnostic naming
    it and the template line, exits 2, writes nothing; in seconds."""
    tpl = copy_templates(repo, tmp)
    f = os.path.join(tpl, "national-filing/template.xml")
    edit(f, '<repeat name="cases" select="d:cases/d:case" blank-count="2">', '<repeat name="cases" select="//node()" blank-count="2">')
    line = edit(f, '<value span="3" select="d:name"/></row>', f'<value span="3" select="{CUBIC}"/></row>')
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    os.makedirs(os.path.join(tmp, "out"))
    r = run([ipf, "render", "--templates", "tpl", "-o", "out", "filing.xml"], cwd=tmp, timeout=120)
    expect_rc(r, 2, "render")
    expect_exact(r.stderr, [
        f"tpl/national-filing/template.xml:{line}: error TEMPLATE-LIMIT 模板的求值超过了每份文件 "
        "100000000 步的上限（如 //node() 这样宽泛的选择套在循环中），已停止排版；请把 select 写得具体些"],
        "render")
    expect_unchanged(os.path.join(tmp, "out"), {}, "render")


def case_rules_budget(ipf, repo, tmp):
    """A rule whose XPath is cubic in the data: the rule check stops at the
    budget, names the rule, the limit and its line; the data is not counted
    as valid (exit 2: the rule file must be fixed)."""
    tpl = copy_templates(repo, tmp)
    f = os.path.join(tpl, "national-filing/rules.xml")
    line = edit(f, "<assert>ipf:filled(d:institution/d:address)</assert>",
                f"<assert>{CUBIC} &gt; 0</assert>")
    src = open(f, encoding="utf-8").read()
    rule_line = src[:src.rindex("<rule ", 0, src.index(CUBIC))].count("\n") + 1
    code = re.search(r'<rule code="([A-Z0-9-]+)"', src[src.rindex("<rule ", 0, src.index(CUBIC)):]).group(1)
    # 600 services: some 2,000 nodes, 10^10 steps for the cubic rule.
    t = sample_tree(repo)
    services = t.getroot().find(q("institution")).find(q("services"))
    for i in range(600):
        ET.SubElement(services, q("service")).text = f"服务{i}"
    save(t, tmp, "filing.xml")
    r = run([ipf, "validate", "--templates", "tpl", "filing.xml"], cwd=tmp, timeout=120)
    expect_rc(r, 2, "validate")
    expect_exact(r.stderr, [
        f"tpl/national-filing/rules.xml:{rule_line}: error RULES-LIMIT 规则 {code} 的求值使这份文件的规则检查"
        "超过了 100000000 步的上限，这条及其后的规则未能检查；请把规则的 XPath 写得具体些"], "validate")
    del line


# ------------------------------------------------ 7 library limits as codes

def case_page_limit(ipf, repo, tmp):
    """A filing that passes every other check but whose layout needs more
    pages than libharu can hold (32,767: one /Kids array) is reported by
    validate itself, at the line of the field with the most text, naming it
    and the page count (issue 11: limits that data can reach are reported by
    validate); render refuses it the same way and writes nothing, and
    render --force stops before building the PDF (was: "libharu 报告错误
    0x1001").  A long document well under the limit is laid out and passes."""
    import copy
    t = sample_tree(repo)
    cases = t.getroot().find(q("cases"))
    first = cases.findall(q("case"))[0]
    # 349,000 characters (just under the 1 MiB text limit) in the narrow
    # 实施时间 column, 15 times: some 34,000 pages in a 15.7 MB file.
    first.find(q("period")).text = "二" * 349000
    for _ in range(14):
        cases.append(copy.deepcopy(first))
    save(t, tmp, "pages.xml")
    # Laying out 34,000 pages takes about 80 s under ASan on a loaded
    # machine: more than the default per-file limit (120 s) leaves.
    src = open(os.path.join(tmp, "pages.xml"), encoding="utf-8").read()
    line = line_of(src, "二二二二")
    want = re.compile(r"pages.xml:%d: error PDF-TOO-MANY-PAGES 排版结果共 (\d+) 页，超过 PDF 生成库每份"
                      r"文件 32767 页的上限，无法生成 PDF；内容最多的是“实施时间”（349000 字）；请精简内容，"
                      r"或把数据分成几份分别生成\n" % line)
    r = run([ipf, "validate", "--timeout", "600", "pages.xml"], cwd=tmp, timeout=400)
    expect_rc(r, 1, "validate")
    m = want.fullmatch(r.stderr)
    if not m or int(m.group(1)) <= 32767:
        fail(f"page-limit (validate): {r.stderr[:2000]}")
    pages = m.group(1)
    os.makedirs(os.path.join(tmp, "out"))
    r = run([ipf, "render", "--timeout", "600", "-o", "out", "pages.xml"], cwd=tmp, timeout=400)
    expect_rc(r, 1, "render")
    if not want.fullmatch(r.stderr.split("\n", 1)[0] + "\n"):
        fail(f"page-limit (render): {r.stderr[:2000]}")
    expect_unchanged(os.path.join(tmp, "out"), {}, "render")
    r = run([ipf, "render", "--timeout", "600", "--force", "-o", "out", "pages.xml"], cwd=tmp, timeout=400)
    expect_rc(r, 2, "render --force")
    tail = re.compile(r"out/pages.pdf: error PDF-TOO-MANY-PAGES 排版结果共 %s 页，超过 PDF 生成库每份文件 "
                      r"32767 页的上限，未生成 PDF；请精简内容，或把数据分成几份分别生成" % pages)
    if not any(tail.fullmatch(l) for l in r.stderr.splitlines()):
        fail(f"page-limit (render --force): {r.stderr[:2000]}")
    expect_unchanged(os.path.join(tmp, "out"), {}, "render --force")
    # Long but printable: past the threshold that asks for a page count
    # (16,383 characters and elements), a few hundred pages: valid.
    t = sample_tree(repo)
    t.getroot().find(q("cases")).findall(q("case"))[0].find(q("period")).text = "二" * 20000
    save(t, tmp, "long.xml")
    r = run([ipf, "validate", "--timeout", "600", "long.xml"], cwd=tmp, timeout=400)
    expect_rc(r, 0, "validate long.xml")
    print(f"{pages} pages: reported by validate at line {line}, refused by render before writing")


def case_truncated_font(ipf, repo, tmp):
    """A font file cut short (a copy broken off): a Chinese message naming
    the file, its size and where it should end, not a FreeType number;
    at any length; through --font and through the template's <font>."""
    font = open(os.path.join(repo, FONT), "rb").read()
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    for n in (100, 5000, 1000000, len(font) - 1):
        open(os.path.join(tmp, "cut.ttf"), "wb").write(font[:n])
        r = render(ipf, tmp, "--font", "cut.ttf", "filing.xml")
        expect_rc(r, 2, f"--font cut at {n}")
        got = r.stderr.strip().splitlines()
        if (len(got) != 1 or not got[0].startswith(f"cut.ttf: error FONT-LOAD 字体文件“cut.ttf”不完整：文件只有 {n} 字节")
                or "FreeType" in got[0] or "请重新复制一份完整的字体文件" not in got[0]):
            fail(f"truncated at {n}: {r.stderr}")
        if os.listdir(os.path.join(tmp, "out")):
            fail("a PDF was written with a broken font")
    print("a font cut at 100, 5000, 10^6 and size-1 bytes: said so in Chinese")
    # Not a font at all: FreeType's number comes with a sentence.
    open(os.path.join(tmp, "junk.ttf"), "wb").write(b"this is not a font, just text\n" * 10)
    r = render(ipf, tmp, "--font", "junk.ttf", "filing.xml")
    expect_rc(r, 2, "junk font")
    if "请确认这是 TrueType 字体" not in r.stderr:
        fail(f"junk font: {r.stderr}")


# ------------------------------------------------------ 9 misleading messages

def case_visible_difference(ipf, repo, tmp):
    """A value that differs from an allowed one only in white space shows
    the difference ([空格], [全角空格]) in schema and rule messages alike;
    an element from another namespace (or none) is named with its
    namespace, not as a wrong name."""
    src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
    src = src.replace('role="专职"', 'role="专职\u3000"', 1)
    src = src.replace('kind="省级知识产权局"', 'kind="省级知识产权局\u3000"', 1)
    src = src.replace("<category>高校</category>", "<category>高校\u00a0</category>", 1)
    src = src.replace("<address>", '<x:address xmlns:x="urn:example:other">', 1).replace(
        "</address>", "</x:address>", 1)
    src = src.replace("<nature>事业单位</nature>", '<nature xmlns="">事业单位</nature>', 1)
    open(os.path.join(tmp, "ws.xml"), "w", encoding="utf-8").write(src)
    r = run([ipf, "validate", "ws.xml"], cwd=tmp)
    expect_rc(r, 1, "validate")
    expect_lines(r.stderr, exp_file(repo, "visible-difference"), "visible-difference")


def case_no_forms(ipf, repo, tmp):
    """--templates naming a directory that holds no form (empty, or the
    samples directory by mistake) is the office's setup: TEMPLATE-DIR,
    exit 2, for validate, render, blank and forms alike; not DATA-FORM."""
    os.mkdir(os.path.join(tmp, "empty"))
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    for d in ("empty", os.path.join(repo, "samples")):
        want = [f"{d}: error TEMPLATE-DIR 模板目录中没有任何表单（没有“表单名/template.xml”）："
                "请检查 --templates 或 IPFORMS_TEMPLATES 是否指向 ipforms 的 templates 目录"]
        for cmd in (["validate", "filing.xml"], ["render", "-o", "out", "filing.xml"],
                    ["blank", "-o", "out", "national-filing"], ["forms"]):
            os.makedirs(os.path.join(tmp, "out"), exist_ok=True)
            r = run([ipf, cmd[0], "--templates", d, *cmd[1:]], cwd=tmp)
            expect_rc(r, 2, f"{cmd[0]} --templates {d}")
            expect_exact(r.stderr, want, f"{cmd[0]} --templates {os.path.basename(d)}")
        if os.listdir(os.path.join(tmp, "out")):
            fail("no-forms: something was written")


def case_zero_fr(ipf, repo, tmp):
    """A 0fr column is reported as a share that must be positive, with the
    template's line, not as a width that "cannot be recognised"."""
    tpl = copy_templates(repo, tmp)
    line = edit(os.path.join(tpl, "national-filing/template.xml"),
                '<table columns="30mm 28mm 24mm 24mm 25mm 1fr">', '<table columns="30mm 28mm 24mm 24mm 25mm 0fr">')
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    r = run([ipf, "validate", "--templates", "tpl", "filing.xml"], cwd=tmp)
    expect_rc(r, 2, "validate")
    want = (f"tpl/national-filing/template.xml:{line}: error TEMPLATE-COLUMNS 表格第 6 列的宽度“0fr”："
            "fr 前的份数应大于 0 且不超过 1000000，现为 0")
    if want not in r.stderr.splitlines():
        fail(f"zero-fr: {r.stderr}")


# ------------------------------------------- 10 templates that cannot typeset

TYPESETTING = [
    # (text in template.xml, replacement, expected diagnostic after "file:line: error ")
    ('margin-left="28mm"', 'margin-left="-5mm"',
     'TEMPLATE-PAGE 页边距 margin-left="-5mm" 是负数：文字会印到纸张以外'),
    ('<typography size="14pt"', '<typography size="0pt"',
     "TEMPLATE-TYPESETTING <typography> 的字号 size=\"0pt\"（0.0 磅）无法印刷：应在 4 磅到 300 磅之间"),
    ('line-height="1.45" line-breaking="GB"', 'line-height="0.01" line-breaking="GB"',
     "TEMPLATE-TYPESETTING <typography> 的行距 line-height=\"0.01\" 不可用：应为字号的倍数，在 0.8 到 10 之间"
     "（如 1.45），否则各行文字重叠或散开"),
    ('<table columns="30mm 28mm 24mm 24mm 25mm 1fr">', '<table columns="30mm 28mm 3mm 24mm 25mm 1fr">',
     "TEMPLATE-COLUMNS 表格第 3 列（3mm）只有 3.0 mm 宽，放不下一个 14 磅的字：连同两侧的内边距至少应为 8.1 mm"),
    ('letter-spacing="0.5em">备案表</p>', 'letter-spacing="-2em">备案表</p>',
     "TEMPLATE-TYPESETTING <p> 的字距 letter-spacing=\"-2em\" 过小：字符会互相重叠甚至倒排，应大于 -0.5em"),
]


def case_template_typesetting(ipf, repo, tmp):
    """Values that load but cannot typeset (negative margin, zero font
    size, near-zero line height, a column narrower than a character,
    letter-spacing of -2 em) are refused with the template's file:line by
    validate, render and blank alike (exit 2, nothing written)."""
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    for k, (old, new, want) in enumerate(TYPESETTING):
        d = os.path.join(tmp, f"t{k}")
        shutil.copytree(os.path.join(repo, "templates"), d)
        f = os.path.join(d, "national-filing/template.xml")
        src = open(f, encoding="utf-8").read()
        # libxml2 gives an element the line where its start tag ends.
        line = src[:src.index(">", src.index(old))].count("\n") + 1
        edit(f, old, new)
        wl = f"t{k}/national-filing/template.xml:{line}: error {want}"
        os.makedirs(os.path.join(tmp, "out"), exist_ok=True)
        for cmd in (["validate", "filing.xml"], ["render", "-o", "out", "filing.xml"],
                    ["blank", "-o", "out", "national-filing"]):
            r = run([ipf, cmd[0], "--templates", f"t{k}", *cmd[1:]], cwd=tmp)
            expect_rc(r, 2, f"{new} {cmd[0]}")
            if wl not in r.stderr.splitlines():
                fail(f"{new} {cmd[0]}: expected\n{wl}\ngot\n{r.stderr}")
        if os.listdir(os.path.join(tmp, "out")):
            fail(f"{new}: wrote {os.listdir(os.path.join(tmp, 'out'))}")
        print(f"refused: {new}")


def case_template_font_no_cjk(ipf, repo, tmp):
    """A template font without CJK glyphs (DejaVu Sans) cannot draw the
    form's own labels: blank, render and validate refuse the form, naming
    the missing characters once each with the template's line (exit 2)."""
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.exists(dejavu):
        skip("fonts-dejavu-core not installed")
    tpl = copy_templates(repo, tmp)
    edit(os.path.join(tpl, "national-filing/template.xml"), '<font file="FandolFang-Regular.ttf"/>',
         f'<font file="{dejavu}"/>')
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    os.makedirs(os.path.join(tmp, "out"))
    for cmd in (["blank", "-o", "out", "national-filing"], ["render", "-o", "out", "filing.xml"],
                ["validate", "filing.xml"]):
        r = run([ipf, cmd[0], "--templates", "tpl", *cmd[1:]], cwd=tmp)
        expect_rc(r, 2, cmd[0])
        lines = r.stderr.splitlines()
        glyph = [l for l in lines if "FONT-MISSING-GLYPH 模板要印的文字中有字符" in l]
        if len(glyph) != 20 or not any("另有" in l for l in lines):
            fail(f"{cmd[0]}: {len(glyph)} glyph lines\n" + r.stderr[:3000])
        if not all(l.startswith("tpl/national-filing/template.xml:") for l in glyph):
            fail(f"{cmd[0]}: not at the template's lines")
    if os.listdir(os.path.join(tmp, "out")):
        fail("a PDF was written")
    # With a covering --font the same template works: the labels can be drawn.
    r = run([ipf, "blank", "--templates", "tpl", "--font", os.path.join(repo, FONT), "-o", "out",
             "national-filing"], cwd=tmp)
    expect_rc(r, 0, "blank --font")


def case_required_attribute(ipf, repo, tmp):
    """Where the schema itself says a field is required (an attribute with
    use="required"), a value of characters that print as nothing is not
    filled either: SCHEMA-MISSING, naming the field."""
    tpl = copy_templates(repo, tmp)
    edit(os.path.join(tpl, "schema/common.xsd"), '<xs:attribute name="role" type="d:Text">',
         '<xs:attribute name="role" type="d:Text" use="required">')
    src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
    src = src.replace('role="专职"', 'role="\u3000\u200b"', 1)
    open(os.path.join(tmp, "role.xml"), "w", encoding="utf-8").write(src)
    line = line_of(src, 'role="\u3000\u200b"')
    r = run([ipf, "validate", "--templates", "tpl", "role.xml"], cwd=tmp)
    expect_rc(r, 1, "validate")
    want = f"role.xml:{line}: error SCHEMA-MISSING 人员类别未填写（只有空白字符）"
    if want not in r.stderr.splitlines():
        fail(f"required-attribute: expected {want!r} in\n{r.stderr}")


def case_required_element(ipf, repo, tmp):
    """Where the schema says an element must have content (a type with
    xs:minLength 1: the outlet list's 网点名称, common.xsd's d:FilledText), a
    value of only U+3000, NBSP, U+2003 or U+200B prints blank and is not
    filled: SCHEMA-MISSING at its line, naming the field in Chinese, the
    blank characters shown; an empty one is "未填写" too, not a length."""
    src = open(os.path.join(repo, "samples/outlet-list/liaoning-2024.xml"), encoding="utf-8").read()
    names = re.findall(r"<name>([^<]*)</name>", src)
    values = ["\u3000\u3000", "\u00a0", "\u2003", "\u200b", ""]
    if len(names) < len(values):
        fail(f"the outlet-list sample has only {len(names)} names")
    want = []
    shown = {"\u3000\u3000": "[全角空格][全角空格]", "\u00a0": "[不换行空格]", "\u2003": "[U+2003]",
             "\u200b": "[零宽空格]"}
    for old, new in zip(names, values):
        src = src.replace(f"<name>{old}</name>", f"<name>{new}</name>", 1)
        line = line_of(src, f"<name>{new}</name>")
        msg = f"网点名称未填写（只有空白字符“{shown[new]}”）" if new else "网点名称未填写"
        want.append(f"list.xml:{line}: error SCHEMA-MISSING {msg}")
    open(os.path.join(tmp, "list.xml"), "w", encoding="utf-8").write(src)
    r = run([ipf, "validate", "list.xml"], cwd=tmp)
    expect_rc(r, 1, "validate list.xml")
    expect_exact(r.stderr, want, "required-element (outlet list)")
    # A form's own schema asking for content through common.xsd's type.
    tpl = copy_templates(repo, tmp)
    edit(os.path.join(tpl, "schema/filing.xsd"), '<xs:element name="name" type="d:Text" minOccurs="0">',
         '<xs:element name="name" type="d:FilledText" minOccurs="0">')
    for k, blank in enumerate(values[:4]):
        text = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
        text, n = re.subn(r"(<institution>\s*<name>)[^<]*(</name>)", lambda m: m.group(1) + blank + m.group(2),
                          text, count=1)
        if n != 1:
            fail("the sample has no institution name")
        open(os.path.join(tmp, f"f{k}.xml"), "w", encoding="utf-8").write(text)
        line = line_of(text, f"<name>{blank}</name>")
        r = run([ipf, "validate", "--templates", "tpl", f"f{k}.xml"], cwd=tmp)
        expect_rc(r, 1, f"validate f{k}.xml")
        mine = [l for l in r.stderr.splitlines() if "SCHEMA-" in l]
        expect_exact("\n".join(mine) + "\n", [f"f{k}.xml:{line}: error SCHEMA-MISSING "
                                              f"机构名称未填写（只有空白字符“{shown[blank]}”）"],
                     f"required-element (FilledText, {shown[blank]})")
    print("blank-looking required elements: SCHEMA-MISSING for U+3000, NBSP, U+2003, U+200B and empty")


CASES = {
    "required-element": case_required_element,
    "required-attribute": case_required_attribute,
    "template-typesetting": case_template_typesetting,
    "template-font-no-cjk": case_template_font_no_cjk,
    "visible-difference": case_visible_difference,
    "no-forms": case_no_forms,
    "zero-fr": case_zero_fr,
    "page-limit": case_page_limit,
    "truncated-font": case_truncated_font,
    "fifo": case_fifo,
    "attribute-too-long": case_attribute_too_long,
    "template-budget": case_template_budget,
    "rules-budget": case_rules_budget,
    "many-unexpected": case_many_unexpected,
    "glyph-flood": case_glyph_flood,
    "big-lines": case_big_lines,
    "cr-only": case_cr_only,
    "every-text-printed": case_every_text_printed,
    "mixed-content": case_mixed_content,
    "libxml2-silent": case_libxml2_silent,
    "covering-font": case_covering_font,
    "blank-looking": case_blank_looking,
}


if __name__ == "__main__":
    case, ipf, repo = sys.argv[1:4]
    ipf = os.path.abspath(ipf)
    repo = os.path.abspath(repo)
    for tool in ("pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            skip(f"{tool} (poppler-utils) not installed")
    if case not in CASES:
        fail(f"unknown case {case}")
    with tempfile.TemporaryDirectory() as tmp:
        CASES[case](ipf, repo, tmp)
