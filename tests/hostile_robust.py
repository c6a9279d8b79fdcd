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
    print("a font covering everything, as --font: render, blank and validate clean")


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
                'select="ipf:nonesuch(d:institution/d:address)"')
    shutil.copy(os.path.join(repo, SAMPLE), os.path.join(tmp, "filing.xml"))
    want = [f'tpl/{f}:{line}: error TEMPLATE-XPATH select="ipf:nonesuch(d:institution/d:address)" '
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


def longest_prefix_in(rest, page):
    lo, hi = 0, len(rest)  # rest[:lo] is in page; find the largest such lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if rest[:mid] in page:
            lo = mid
        else:
            hi = mid - 1
    return lo


def in_pages(t, pages):
    """t is printed, possibly continued over following pages (where the
    repeated headings, labels and page numbers come in between)."""
    for k in range(len(pages)):
        rest, j = t, k
        while j < len(pages):
            n = longest_prefix_in(rest, pages[j])
            if n == len(rest):
                return True
            if n == 0:
                break
            rest, j = rest[n:], j + 1
    return False


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


CASES = {
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
