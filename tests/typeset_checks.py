#!/usr/bin/python3
"""Typesetting checks on the glyph positions of rendered PDFs, for every form.

Usage:
  typeset_checks.py all IPFORMS REPO     every valid sample under samples/ and
                                         every form's blank PDF
  typeset_checks.py pdf FILE.pdf ...     the given PDFs (for looking at one)
  typeset_checks.py flow IPFORMS REPO    tests/data/templates/flow-test with page
                                         breaks shifted through every line
  typeset_checks.py selftest             each check on synthetic lines

The glyphs are read back with mutool's structured text (mupdf-tools), which
gives each character's origin and advance.  What is asserted, on every line
of every page (docs/line-breaking.md says why):

  pairs    no two adjacent full-width marks (，“  ）：  》《  ）（ ...) are both
           at full width: together they take at most 1.75 em;
  lone     no lone mark in mid-line is set in under 0.6 em;
  loose    justification adds at most 1/4 em between two Chinese characters
           (lines of six or more, so that letter-spaced titles are not read
           as justified lines);
  widows   no paragraph leaves its single last line at the head of a page
           (a short, unindented line under a page that ended full), and no
           paragraph leaves its indented first line alone at a page's foot;
  cover    every （盖章） on the first page starts at the same x (the cover's
           fill-in lines are as long as the longest);
  lonechar no line holds a single character under a line of its paragraph
           (服务事项清|单, 主|任);
  unit     no line ends in a digit over a line starting with the Chinese
           character that follows it (2023|年, 1|套).

Exit 0 when all hold, 1 with one line per problem, 77 when mutool is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CLOSING = set("、，。．：；！？）〕］｝》〉」』】〗〙〛”’")
OPENING = set("（〔［｛《〈「『【〖〘〚“‘")
MARKS = CLOSING | OPENING
TOL = 0.03  # em


def is_cjk(ch):
    o = ord(ch)
    return (0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFF60 or
            0x2018 <= o <= 0x201D)


def is_han(ch):
    o = ord(ch)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF


class Glyph:
    __slots__ = ("c", "x", "adv", "y", "size")

    def __init__(self, c, x, adv, y, size):
        self.c, self.x, self.adv, self.y, self.size = c, x, adv, y, size


def pages(pdf):
    """Lines of glyphs per page: [[ [Glyph...], ...], ...].  mutool's lines
    are cut where a gap of 1.5 em or more shows two cells side by side."""
    out = subprocess.run(["mutool", "draw", "-q", "-F", "stext", "-o", "-", pdf],
                         capture_output=True, check=True).stdout
    root = ET.fromstring(out)
    result = []
    for page in root.iter("page"):
        lines = []
        for line in page.iter("line"):
            cur = []
            for font in line.iter("font"):
                size = float(font.get("size"))
                for ch in font.iter("char"):
                    q = [float(v) for v in ch.get("quad").split()]
                    g = Glyph(ch.get("c"), float(ch.get("x")), q[2] - q[0], float(ch.get("y")),
                              size)
                    if cur and (g.x - (cur[-1].x + cur[-1].adv) > 1.5 * size or
                                abs(g.y - cur[-1].y) > 0.3 * size):
                        lines.append(cur)
                        cur = []
                    cur.append(g)
            if cur:
                lines.append(cur)
        result.append(lines)
    return result


def line_gap(ln):
    """The justification gap of a line: the median extra space between two
    Han characters (all gaps of a justified line are equal), else 0."""
    gaps = sorted(b.x - (a.x + a.adv) for a, b in zip(ln, ln[1:]) if is_han(a.c) and is_han(b.c))
    return max(gaps[len(gaps) // 2], 0) if gaps else 0


def text(ln):
    return "".join(g.c for g in ln)


def check_line(ln, where, problems):
    if len(ln) < 3:
        return
    em = ln[0].size
    g = line_gap(ln)
    for i in range(1, len(ln) - 1):
        m = ln[i]
        if m.c not in MARKS or m.adv < 0.9 * em:
            continue
        p = ln[i - 1]
        # Adjacent pair (m, n) with text on both sides.
        if i + 2 < len(ln) and ln[i + 1].c in MARKS and ln[i + 1].adv >= 0.9 * em and \
                p.c not in MARKS and ln[i + 2].c not in MARKS:
            room = ln[i + 2].x - (p.x + p.adv) - 3 * g
            if room > 1.75 * em + TOL * em:
                problems.append(f"{where}: pairs: {m.c}{ln[i + 1].c} set {room / em:.2f} em wide "
                                f"in “{text(ln)[max(0, i - 6):i + 8]}”")
        n = ln[i + 1]
        if p.c in MARKS or n.c in MARKS:
            continue
        room = n.x - (p.x + p.adv) - 2 * g
        if room < 0.6 * em - TOL * em:
            problems.append(f"{where}: lone: {m.c} set {room / em:.2f} em wide in "
                            f"“{text(ln)[max(0, i - 6):i + 6]}”")
    if sum(1 for x in ln if is_cjk(x.c)) >= 6:
        for a, b in zip(ln, ln[1:]):
            if not (is_cjk(a.c) and is_cjk(b.c)):
                continue
            extra = b.x - (a.x + a.adv)
            # 0.9 em and more is an undrawn 　 (职　务), not justification.
            if 0.25 * em + TOL * em < extra < 0.9 * em:
                problems.append(f"{where}: loose: {extra / em:.2f} em between {a.c} and {b.c} "
                                f"in “{text(ln)[:30]}”")
                break


PAGE_NUMBER = re.compile(r"^[—\-–]\s*\d+\s*[—\-–]$")


def column_stack(lines, last):
    """The lines above `last` in its cell: consecutive baselines a line's pitch
    apart whose left edges lie within 2.5 em of its own."""
    em = last[0].size
    stack = [last]
    cur = last
    for ln in sorted(lines, key=lambda l: -l[0].y):
        if ln is cur or ln[0].y >= cur[0].y:
            continue
        dy = cur[0].y - ln[0].y
        if dy > 2.5 * em:
            break
        if dy > 0.9 * em and abs(ln[0].x - last[0].x) <= 2.5 * em and ln[0].size == em:
            stack.append(ln)
            cur = ln
    return stack


def check_pages(pg, name, problems):
    """Widows and orphans where a cell's paragraphs run from one page onto
    the next."""
    for k in range(len(pg) - 1):
        body = [ln for ln in pg[k] if not PAGE_NUMBER.match(text(ln).strip())]
        nxt = [ln for ln in pg[k + 1] if not PAGE_NUMBER.match(text(ln).strip())]
        if not body or not nxt:
            continue
        bottom = max(body, key=lambda l: l[0].y)
        em = bottom[0].size
        stack = column_stack(body, bottom)
        if len(stack) < 3:
            continue
        left = min(l[0].x for l in stack)
        right = max(l[-1].x + l[-1].adv for l in stack)
        # Only a column of running text: at least 8 em wide, with two full
        # (justified) lines; labels and short cells are not paragraphs.
        if right - left < 8 * em or len(bottom) < 8 or \
                sum(1 for l in stack if l[-1].x + l[-1].adv >= right - 1.0 * em) < 2:
            continue
        full = bottom[-1].x + bottom[-1].adv >= right - 1.0 * em
        indented = bottom[0].x >= left + 1.5 * em
        if indented and full:
            problems.append(f"{name} p{k + 1}: orphan: a paragraph's first line alone at the "
                            f"foot: “{text(bottom)[:30]}”")
        if not full:
            continue
        # The continuation: the topmost line of the next page in the same
        # column, not a repeated heading.
        cont = [l for l in nxt if abs(l[0].x - left) <= 0.5 * em and "（续）" not in text(l)
                and l[0].size == em]
        if not cont:
            continue
        top = min(cont, key=lambda l: l[0].y)
        after = [l for l in nxt if 0.9 * em < l[0].y - top[0].y <= 2.5 * em and
                 abs(l[0].x - left) <= 2.5 * em and l[0].size == em]
        short = top[-1].x + top[-1].adv < right - 1.5 * em
        ends = not after or min(after, key=lambda l: l[0].y)[0].x >= left + 1.5 * em
        # A label beside it that is not a repeated one ("…（续）") means a
        # new row begins there (a case's 名称), not a continued cell.
        new_row = any(abs(l[0].y - top[0].y) <= 0.5 * em and l[-1].x < left and
                      "（续）" not in text(l) for l in nxt)
        if short and ends and not new_row:
            problems.append(f"{name} p{k + 2}: widow: a paragraph's last line alone at the "
                            f"head: “{text(top)[:30]}”")


def rows_of(lines):
    """A page's lines grouped into rows (the same baseline, within 0.3 em),
    top to bottom, each as its text in reading order."""
    rows = []
    for ln in sorted(lines, key=lambda l: (l[0].y, l[0].x)):
        if rows and abs(ln[0].y - rows[-1][0]) <= 0.3 * ln[0].size:
            rows[-1][1].append(ln)
        else:
            rows.append((ln[0].y, [ln]))
    return ["".join(text(l) for l in sorted(r, key=lambda l: l[0].x)).replace(" ", "")
            for _, r in rows]


def check_headings(pg, name, problems):
    """A table heading or section title never ends a page with nothing under
    it: when a table continues on the next page under repeated headings
    (its title marked （续）), the foot of this page must not be those same
    headings, printed there for nothing.  Read from the text, so only for
    filled documents: a blank form's rows under its headings hold none."""
    if name.startswith("blank-"):
        return
    for k in range(len(pg) - 1):
        body = rows_of([l for l in pg[k] if not PAGE_NUMBER.match(text(l).strip())])
        top = rows_of([l for l in pg[k + 1] if not PAGE_NUMBER.match(text(l).strip())])
        if not body or not top or "（续）" not in top[0]:
            continue
        top = [t.replace("（续）", "") for t in top]
        for j in range(1, min(len(body), len(top), 4) + 1):
            if body[-j:] == top[:j]:
                problems.append(f"{name} p{k + 1}: stranded heading at the foot, repeated over "
                                f"its rows on the next page: “{body[-j][:30]}”")
                break


def check_cover(lines, name, problems):
    """The cover's fill-in lines end in one column: every （盖章） on the
    first page starts at the same x, whatever the length of the names."""
    xs = []
    for ln in lines:
        t = text(ln)
        k = t.find("（盖章）")
        if k >= 0:
            xs.append((ln[k].x, t[:k]))
    if xs and max(x for x, _ in xs) - min(x for x, _ in xs) > 0.5:
        problems.append(f"{name} p1: cover: （盖章） at " +
                        ", ".join(f"{x:.1f} after “{t[-8:]}”" for x, t in xs))


def check_lone_chars(lines, where, problems):
    """No line holds one character alone (with or without marks) under a line
    of its own paragraph: 服务事项清|单, 知识产权信息服务部主|任.  The line
    above is the one a pitch higher that overlaps it; a column of single
    characters (a narrow 序号 cell) is not a paragraph."""
    for ln in lines:
        t = [g for g in ln if g.c not in MARKS and not g.c.isspace()]
        if len(t) != 1 or not is_han(t[0].c):
            continue
        em = ln[0].size
        x0, x1 = ln[0].x, ln[-1].x + ln[-1].adv
        for up in lines:
            dy = ln[0].y - up[0].y
            if up is ln or not (0.9 * em < dy < 1.9 * em) or up[0].size != em:
                continue
            u0, u1 = up[0].x, up[-1].x + up[-1].adv
            if u1 <= x0 or u0 >= x1:
                continue
            if sum(1 for g in up if is_han(g.c)) >= 2:
                problems.append(f"{where}: lonechar: “{text(ln)}” alone under “{text(up)[-12:]}”")
            break


def check_unit_breaks(lines, where, problems):
    """No number is torn from the Chinese character after it at a line end
    (2023|年, 1|套): a line ending in a digit over a line starting with Han
    one line's pitch below (under 1.9 em: the next row of a table is
    further, by its cells' padding)."""
    for ln in lines:
        if not ln[-1].c.isdigit() or not ln[-1].c.isascii():
            continue
        em = ln[-1].size
        x0, x1 = ln[0].x, ln[-1].x + ln[-1].adv
        below = [l for l in lines if l is not ln and 0.9 * em < l[0].y - ln[0].y < 1.9 * em and
                 l[0].size == em and l[0].x < x1 and l[-1].x + l[-1].adv > x0]
        if below:
            nxt = min(below, key=lambda l: (l[0].y, abs(l[0].x - x0)))
            if is_han(nxt[0].c) and abs(nxt[0].x - x0) < 2.5 * em:
                problems.append(f"{where}: unit: “{text(ln)[-8:]}|{text(nxt)[:4]}”")


def check_pdf(pdf, problems):
    name = os.path.basename(pdf)
    pg = pages(pdf)
    if pg:
        check_cover(pg[0], name, problems)
    for k, lines in enumerate(pg):
        for ln in lines:
            check_line(ln, f"{name} p{k + 1}", problems)
        check_lone_chars(lines, f"{name} p{k + 1}", problems)
        check_unit_breaks(lines, f"{name} p{k + 1}", problems)
    check_pages(pg, name, problems)
    check_headings(pg, name, problems)
    return len(pg)


def render_all(ipf, repo, outdir):
    pdfs = []
    samples = []
    for base, dirs, files in os.walk(os.path.join(repo, "samples")):
        dirs[:] = sorted(d for d in dirs if d != "invalid")
        samples += [os.path.join(base, f) for f in sorted(files) if f.endswith(".xml")]
    for s in samples:
        r = subprocess.run([ipf, "render", "-o", outdir, s], capture_output=True, text=True)
        if r.returncode != 0:
            # Some samples need options of their own (batch, lists): their own
            # tests render them; here only what renders plainly is read.
            print(f"skip {os.path.relpath(s, repo)}: {r.stderr.strip()[:120]}")
            continue
    forms = subprocess.run([ipf, "forms"], capture_output=True, text=True, check=True).stdout
    for line in forms.splitlines():
        if line.split():
            subprocess.run([ipf, "blank", "-o", outdir, line.split()[0]], capture_output=True)
    for f in sorted(os.listdir(outdir)):
        if f.endswith(".pdf"):
            pdfs.append(os.path.join(outdir, f))
    return pdfs


def selftest():
    """The checks on synthetic lines, so that each is known to fail on the
    defect it names (the review's examples at 84780f6)."""
    def line(t, y=100, x0=0, gaps=None):
        out, x = [], x0
        for i, ch in enumerate(t):
            w = gaps[i] if gaps and i in gaps else 0
            x += w
            out.append(Glyph(ch, x, 14, y, 14))
            x += 14
        return out
    cases = [
        ("pairs", line("名称，“推荐部门”填写")),  # ，“ both full: 2 em
        ("lone", line("以外，表格")),  # shifted below: ， at 0.5 em
        ("loose", line("一二三四五六七八", gaps={k: 6 for k in range(1, 8)})),
    ]
    lone = cases[1][1]
    for g in lone[3:]:
        g.x -= 7
    ok = True
    for what, ln in cases:
        problems = []
        check_line(ln, "selftest", problems)
        if not any(f": {what}:" in p for p in problems):
            print(f"FAIL selftest: {what} not detected in {text(ln)}")
            ok = False
    good = []
    check_line(line("一二三四五六七八九十"), "selftest", good)
    check_line(line("一二，三四", gaps={}), "selftest", good)
    if good:
        print("FAIL selftest: clean lines flagged: " + "; ".join(good))
        ok = False
    # A page ending in a full line, the next page starting with a short
    # unindented line and then an indented one: a widow.
    col = [line("一" * 20, y=700 + 20 * k) for k in range(3)]
    nxt = [line("枢纽。", y=100), line("二" * 18, y=120, x0=28)]
    problems = []
    check_pages([col, nxt], "selftest", problems)
    if not any("widow" in p for p in problems):
        print("FAIL selftest: widow not detected")
        ok = False
    col2 = [line("一" * 20, y=680), line("一" * 20, y=700), line("二" * 18, y=720, x0=28)]
    problems = []
    check_pages([col2, [line("三" * 20, y=100)]], "selftest", problems)
    if not any("orphan" in p for p in problems):
        print("FAIL selftest: orphan not detected")
        ok = False
    # A section title and its column headings at the foot, repeated (续)
    # over the rows on the next page: stranded.
    foot = [line("一" * 20, y=660), line("二、开展情况", y=690), line("年度", y=720),
            line("咨询次数", y=720, x0=100)]
    head = [line("二、开展情况（续）", y=100), line("年度", y=130), line("咨询次数", y=130, x0=100),
            line("2021", y=160)]
    problems = []
    check_headings([foot, head], "selftest", problems)
    ok_stranded = any("stranded" in p for p in problems)
    problems = []
    check_headings([foot[:1], head], "selftest", problems)
    if not ok_stranded or problems:
        print("FAIL selftest: stranded heading")
        ok = False
    problems = []
    check_lone_chars([line("服务事项清", y=100), line("单", y=120)], "selftest", problems)
    ok_lone = any("lonechar" in p for p in problems)
    problems = []
    check_lone_chars([line("序", y=100), line("号", y=120)], "selftest", problems)
    if not ok_lone or problems:
        print("FAIL selftest: lonechar")
        ok = False
    problems = []
    check_unit_breaks([line("增长到2023", y=100), line("年的3850万元", y=120)], "selftest", problems)
    if not any("unit" in p for p in problems):
        print("FAIL selftest: unit")
        ok = False
    print("selftest: every check fails on its defect" if ok else "selftest failed")
    return ok


PARA = ("本中心面向高校师生和区域中小微企业提供专利检索、分析与导航服务，"
        "每年举办知识产权信息素养讲座，并与地方知识产权局合作开展专利信息进园区活动。")


def flow(ipf, repo, problems):
    """tests/data/templates/flow-test rendered with a first paragraph of 1 to
    24 short lines before paragraphs of 2 to 5 lines, so that the page breaks
    of the page block and of the split table cell fall on every line of a
    paragraph: no variant may leave a widow or an orphan."""
    templates = os.path.join(repo, "tests/data/templates")
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(1, 25):
            body = ["<p>" + "第一段。" * (6 * k) + "</p>"]
            body += ["<p>" + PARA * (1 + j % 3) + "</p>" for j in range(22)]
            data = os.path.join(tmp, f"flow-{k:02d}.xml")
            with open(data, "w", encoding="utf-8") as fh:
                fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                         '<doc xmlns="urn:test:flow" form="flow-test">'
                         f'<text>{"".join(body)}</text><cell>{"".join(body)}</cell></doc>\n')
            r = subprocess.run([ipf, "render", "--templates", templates, "-o", tmp, data],
                               capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"flow-{k:02d}: render exited {r.returncode}: {r.stderr[:200]}")
                continue
            n = check_pdf(os.path.join(tmp, f"flow-{k:02d}.pdf"), problems)
            if n < 4:
                problems.append(f"flow-{k:02d}: {n} pages, expected the text to cross pages")
        print("24 flow variants read")


def main(argv):
    if argv[1:2] == ["selftest"]:
        return 0 if selftest() else 1
    if not shutil.which("mutool"):
        print("skip: mutool (mupdf-tools) missing")
        return 77
    problems = []
    if argv[1] == "flow":
        flow(argv[2], argv[3], problems)
    elif argv[1] == "all":
        with tempfile.TemporaryDirectory() as tmp:
            pdfs = render_all(argv[2], argv[3], tmp)
            if not pdfs:
                print("FAIL: nothing rendered")
                return 1
            for p in pdfs:
                n = check_pdf(p, problems)
                print(f"{os.path.basename(p)}: {n} pages read")
    else:
        for p in argv[2:]:
            check_pdf(p, problems)
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
