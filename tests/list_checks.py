#!/usr/bin/python3
"""End-to-end checks of ipforms list and ipforms rollup (docs/lists.md).

Usage: list_checks.py CASE IPFORMS REPO WORKDIR

The PDF is read back with pdftotext (one page per form feed), the CSV as
bytes.  Each case asserts what a clerk would see: the order of the rows, the
headings on every page, the page numbers, what the spreadsheet gets.
"""
import os
import re
import shutil
import subprocess
import sys

CASE, IPF, REPO, WORK = sys.argv[1:5]
DATA = os.path.join(REPO, "tests", "data", "lists")
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(args, **kw):
    return subprocess.run([IPF] + args, capture_output=True, text=True, timeout=120, **kw)


def fresh(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def pages(pdf):
    if not shutil.which("pdftotext"):
        sys.exit(77)
    out = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True,
                         check=True).stdout
    return [p for p in out.split("\f") if p.strip()]


def csv_rows(path, encoding="utf-8-sig"):
    import csv
    import io
    with open(path, "rb") as f:
        raw = f.read()
    return raw, list(csv.reader(io.StringIO(raw.decode(encoding), newline="")))


def list_of(inputs, outdir, extra=()):
    r = run(["list", "-o", outdir, "--year", "2024", "--date", "2024-12-20", "--no-date",
             *extra, *inputs])
    return r, os.path.join(outdir, "outlet-list-2024.pdf"), os.path.join(outdir,
                                                                        "outlet-list-2024.csv")


def in_order(seq, wanted, what):
    pos = []
    for w in wanted:
        hits = [i for i, s in enumerate(seq) if w in s]
        check(hits, f"{what}: “{w}” not found")
        pos.append(hits[0] if hits else -1)
    check(pos == sorted(pos), f"{what}: order {wanted} came out as positions {pos}")


def lines_of(pdf):
    """The PDF's non-empty text lines, spaces taken out."""
    return [l.replace(" ", "") for l in "".join(pages(pdf)).split("\n") if l.strip()]


def write_doc(path, xml):
    """A data document at path, XML declaration first."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + xml)
    return path


def render_one(doc, outdir, what):
    """ipforms render of one document into outdir: the PDFs it wrote."""
    r = run(["render", "-q", "--no-date", "-o", outdir, doc])
    check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr}")
    return r, [os.path.join(outdir, f) for f in os.listdir(outdir) if f.endswith(".pdf")]


def templates_with(name, extra=None):
    """A fresh copy of the shipped templates, with tests/data/lists/templates/EXTRA
    beside them when given, as an office adds its own form."""
    tpl = fresh(name)
    shutil.rmtree(tpl)
    shutil.copytree(os.path.join(REPO, "templates"), tpl)
    if extra:
        shutil.copytree(os.path.join(DATA, "templates", extra), os.path.join(tpl, extra))
    return tpl


def grouped_list(name, data):
    """ipforms list of DATA/data with the grouped-test form: the run, the output
    directory and the PDF's lines (lines_of)."""
    tpl = templates_with(name + "-templates", "grouped-test")
    out = fresh(name)
    r = run(["list", "--templates", tpl, "--form", "grouped-test", "-o", out, "--no-date",
             os.path.join(DATA, data)])
    pdf = os.path.join(out, "grouped-test.pdf")
    lines = lines_of(pdf) if os.path.exists(pdf) else []
    return r, out, lines


if CASE == "pdf":
    out = fresh("pdf")
    r, pdf, csvp = list_of([os.path.join(DATA, "roster-utf8.csv")], out)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    ps = pages(pdf)
    check(len(ps) >= 3, f"{len(ps)} pages, want at least 3")
    tpl = open(os.path.join(REPO, "templates", "outlet-list", "template.xml"),
               encoding="utf-8").read()
    total = "{pages}" in tpl
    for i, p in enumerate(ps, 1):
        flat = p.replace(" ", "")
        for h in ("序号", "地区", "网点名称", "机构类别", "地址", "联系电话", "服务事项", "有效期"):
            check(h in flat, f"page {i}: heading {h} missing")
        want = f"第{i}页共{len(ps)}页" if total else f"第{i}页"
        check(want in flat, f"page {i}: “{want}” missing")
    check("2024年度国家知识产权信息公共服务网点名单" in ps[0].replace(" ", ""), "title on page 1")
    check("国家知识产权局" in ps[0] and "2024年12月20日" in ps[0], "issuer and date on page 1")
    text = "".join(ps).replace(" ", "")
    lines = text.split("\n")
    # Provinces in GB/T 2260 order, 兵团 after 新疆.
    in_order(lines, ["北京理工信息研究院", "河北第1知识", "辽宁省大连市", "吉林省长春市", "福建省福州市",
                     "湖南省长沙市", "重庆嘉陵", "新疆大学", "石河子大学"], "PDF province order")
    # Within 吉林 and 福建: pinyin with place-name readings (长 cháng, 厦 xià);
    # ICU alone would put 长春 last (zhang) and 厦门 before 武夷 (sha).
    in_order(lines, ["长春理工", "吉林化工", "四平知识", "延边大学"], "PDF 吉林 names")
    in_order(lines, ["福州大学", "宁德师范", "莆田学院", "泉州知识", "三明学院", "武夷学院", "厦门大学",
                     "漳州市知识"], "PDF 福建 names")
    # 序号 runs on across groups and pages: the CSV has the same rows in the same order.
    raw, rows = csv_rows(csvp)
    names = [row[2] for row in rows[1:]]
    check([row[0] for row in rows[1:]] == [str(i) for i in range(1, len(rows))], "CSV 序号 1..N")
    check(names.index("长春理工科技大学图书馆") < names.index("吉林化工学院图书馆"), "CSV 长春 first")
    check(names.index("武夷学院图书馆") < names.index("厦门大学图书馆"), "CSV 武夷 before 厦门")
    check(len(rows) - 1 == 90, f"CSV has {len(rows) - 1} outlets, want 90")

elif CASE == "csv":
    out = fresh("csv")
    r, pdf, csvp = list_of([os.path.join(DATA, "roster-utf8.csv")], out)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    raw, rows = csv_rows(csvp)
    check(raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM first")
    check(b"\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n"), "CRLF records")
    check(rows[0] == ["序号", "地区", "网点名称", "机构类别", "地址", "联系电话", "服务事项", "有效期"],
          f"headings {rows[0]}")
    by = {row[2]: row for row in rows[1:]}
    check(by["新疆大学图书馆"][6] == "'=HYPERLINK(\"http://evil\")", "= neutralised")
    check(by["沈阳工业大学图书馆"][6] == "'+86 专利检索", "+ neutralised")
    check(by["大连理工大学图书馆"][6] == "'-检索, 分析", "- neutralised, comma kept")
    check(by["重庆嘉陵科技大学图书馆"][6] == "'@专利导航", "@ neutralised")
    check('"\'=HYPERLINK(""http://evil"")"'.encode() in raw, "RFC 4180 quoting of the quote")
    check(by["长春理工科技大学图书馆"][1] == "吉林省长春市", "region printed from the table")
    # GB18030 for older Excel: no BOM, decodes as GB18030, same rows.
    out2 = fresh("csv-gb")
    r, pdf2, csv2 = list_of([os.path.join(DATA, "roster-utf8.csv")], out2,
                            ["--csv-encoding", "gb18030"])
    check(r.returncode == 0, f"gb18030 exit {r.returncode}: {r.stderr}")
    raw2, rows2 = csv_rows(csv2, "gb18030")
    check(not raw2.startswith(b"\xef\xbb\xbf"), "no BOM in GB18030")
    check(rows2 == rows, "GB18030 CSV has the same rows")
    r = run(["list", "-o", out2, "--csv-encoding", "latin1", os.path.join(DATA, "roster-utf8.csv")])
    check(r.returncode == 2 and "gb18030" in r.stderr, "unknown --csv-encoding is a usage error")

elif CASE == "rosters":
    # The same roster in three encodings gives the same rows.
    results = []
    for name in ("roster-bom.csv", "roster-gb18030.csv"):
        out = fresh(name)
        r, pdf, csvp = list_of([os.path.join(DATA, name)], out)
        check(r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr}")
        results.append(csv_rows(csvp)[1] if r.returncode == 0 else None)
    check(results[0] == results[1] and results[0] and len(results[0]) > 5,
          "BOM and GB18030 rosters give the same CSV")
    # Broken rosters: a clear error with the line, nothing written.
    for name, line, code, words in (("roster-latin1.csv", 2, "CSV-ENCODING", "另存为"),
                                    ("roster-quote.csv", 2, "CSV-QUOTE", "引号"),
                                    ("roster-fields.csv", 2, "CSV-FIELDS", "列")):
        out = fresh(name)
        r, pdf, csvp = list_of([os.path.join(DATA, name)], out)
        check(r.returncode == 1, f"{name}: exit {r.returncode}")
        want = f"{name}:{line}: error {code} "
        check(want in r.stderr and words in r.stderr, f"{name}: want “{want}…{words}”, got {r.stderr}")
        check(os.listdir(out) == [], f"{name}: left {os.listdir(out)}")

elif CASE == "sources":
    # A list document and a filing feed the same list; a 10,000-row list
    # document is within its form's node limit (a filing of as many nodes is not).
    out = fresh("sources")
    doc = os.path.join(out, "list.xml")
    with open(doc, "w", encoding="utf-8") as f:
        f.write('<outlet-list xmlns="urn:ipforms:data:1" form="outlet-list">\n'
                '<title>测试名单</title><issuer>辽宁省知识产权局</issuer>\n')
        for i in range(10000):
            f.write(f'<outlet><region>辽宁省沈阳市</region><name>沈阳第{i}网点</name>'
                    f'<category>高校</category><address>沈阳市和平区{i}号</address>'
                    f'<phone>024-1234567</phone><services>专利检索</services>'
                    f'<valid>2024年—2026年</valid></outlet>\n')
        f.write('</outlet-list>\n')
    r = run(["validate", doc])
    check(r.returncode == 0, f"10,000-row list document: exit {r.returncode}: {r.stderr[:300]}")
    small = os.path.join(out, "small.xml")
    with open(small, "w", encoding="utf-8") as f:
        f.write('<outlet-list xmlns="urn:ipforms:data:1" form="outlet-list">'
                '<title>测试名单</title>'
                '<outlet><region>辽宁</region><name>大连海事网点</name></outlet></outlet-list>')
    filing = os.path.join(REPO, "samples", "national-filing", "chongqing-university-library.xml")
    r, pdf, csvp = list_of([small, filing], out)
    check(r.returncode == 0, f"list document + filing: exit {r.returncode}: {r.stderr}")
    raw, rows = csv_rows(csvp)
    check(len(rows) == 3, f"{len(rows) - 1} rows, want 2")
    check(rows[1][1:3] == ["辽宁", "大连海事网点"], f"list document row {rows[1]}")
    # A municipality's level below is its 区 (GB/T 2260 500106).
    check(rows[2][1] == "重庆市沙坪坝区", f"filing region from its address: {rows[2][1]}")
    check(rows[2][2] == "重庆嘉陵科技大学图书馆", f"filing name {rows[2]}")
    check("专利、商标、地理标志信息查询检索" in rows[2][6] and "；" in rows[2][6],
          "filing services joined with ；")
    check(rows[0][0] == "序号" and "测试名单" in "".join(pages(pdf)).replace(" ", ""),
          "title from the list document")

elif CASE == "grouped":
    # group-by with a heading before and a subtotal ($group) after each group,
    # groups in GB/T 2260 prefecture order, 序号 running across groups.
    r, out, lines = grouped_list("grouped", "grouped.xml")
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    want = ["序号网点名称机构类别", "【沈阳市】", "1东北大学图书馆高校", "2沈阳工业大学图书馆高校",
            "3沈阳市知识产权服务中心公共服务机构", "小计3家，其中高校2家", "【大连市】",
            "4大连海事大学图书馆高校", "小计1家，其中高校1家", "【鞍山市】", "5鞍山科技学院图书馆高校",
            "小计1家，其中高校1家", "总计5家"]
    check(lines[:len(want)] == want, f"grouped rows: {lines}")
    raw, rows = csv_rows(os.path.join(out, "grouped-test.csv"))
    check([r[1] for r in rows[1:6]] == ["东北大学图书馆", "沈阳工业大学图书馆", "沈阳市知识产权服务中心",
                                        "大连海事大学图书馆", "鞍山科技学院图书馆"],
          f"CSV: the rows without group rows: {rows}")
    check(rows[-1] == ["总计5家", "", ""], f"CSV total row {rows[-1]}")

elif CASE == "grouped-hubei":
    # Prefecture level in a province other than 辽宁, 内蒙古 and 新疆: 地级市
    # (written with or without 市), an 自治州 by its short name (恩施州), a
    # 省直辖县级 unit (仙桃市 429004) after the four-digit codes; the headings
    # and the 地区 are the table's names.
    r, out, lines = grouped_list("grouped-hubei", "grouped-hubei.xml")
    check(r.returncode == 0 and "LIST-REGION" not in r.stderr,
          f"exit {r.returncode}: {r.stderr}")
    want = ["序号网点名称机构类别", "【武汉市】", "1华中科技大学图书馆高校", "2武汉大学图书馆高校",
            "小计2家，其中高校2家", "【宜昌市】", "3三峡大学图书馆高校", "小计1家，其中高校1家",
            "【襄阳市】", "4湖北文理学院图书馆高校", "小计1家，其中高校1家",
            "【恩施土家族苗族自治州】", "5恩施州知识产权服务中心公共服务机构", "6湖北民族大学图书馆高校",
            "小计2家，其中高校1家", "【仙桃市】", "7仙桃市科技信息中心公共服务机构",
            "小计1家，其中高校0家"]
    check(lines[:len(want)] == want, f"grouped rows: {lines}")
    check(lines[-1] == "总计7家", f"total last: {lines[-1:]}")

elif CASE == "title-block":
    # The title block of the list and of the roll-up stands above the table
    # unruled (<cell border="none">), as a published 名单's does: on page 1 the
    # topmost long horizontal rule is below the title's ink, and the title is
    # centred on the table.  Read from the rendered page, as a clerk sees it.
    if not shutil.which("pdftoppm"):
        sys.exit(77)

    def first_page(pdf):
        raw = subprocess.run(["pdftoppm", "-r", "50", "-gray", "-f", "1", "-l", "1", pdf],
                             capture_output=True, check=True).stdout
        # PGM (P5): magic, width height, maxval, then one byte per pixel.
        parts = raw.split(maxsplit=4)
        w, h = int(parts[1]), int(parts[2])
        px = parts[4][-w * h:]
        return w, h, [px[y * w:(y + 1) * w] for y in range(h)]

    def title_and_frame(pdf, what):
        w, h, rows = first_page(pdf)
        dark = [[v < 128 for v in r] for r in rows]
        rule = next((y for y in range(h) if sum(dark[y]) > 0.6 * w), None)
        check(rule is not None, f"{what}: no table rule on page 1")
        if rule is None:
            return
        xs = [x for x in range(w) if dark[rule][x]]
        left, right = xs[0], xs[-1]
        ink = [(x, y) for y in range(rule) for x in range(w) if dark[y][x]]
        check(ink, f"{what}: nothing above the table's top rule: the title is inside a frame")
        if not ink:
            return
        check(not any(dark[y][left] or dark[y][right] for y in range(min(y for _, y in ink), rule)),
              f"{what}: the table's side rules reach up beside the title")
        x0, x1 = min(x for x, _ in ink), max(x for x, _ in ink)
        check(abs((x0 + x1) / 2 - (left + right) / 2) <= 3,
              f"{what}: title centred at {(x0 + x1) / 2}, table at {(left + right) / 2}")

    out = fresh("title-block")
    r, pdf, csvp = list_of([os.path.join(DATA, "roster-utf8.csv")], out)
    check(r.returncode == 0, f"list: exit {r.returncode}: {r.stderr}")
    title_and_frame(pdf, "list")
    roster = os.path.join(out, "roster.csv")
    open(roster, "w", encoding="utf-8-sig", newline="").write(
        "所在地区,单位名称\r\n重庆市,重庆嘉陵科技大学图书馆\r\n")
    r = run(["rollup", "-o", out, "--year", "2024", "--no-date", "--roster", roster,
             os.path.join(REPO, "samples", "national-summary", "cqu-library-2024.xml")])
    check(r.returncode == 0, f"rollup: exit {r.returncode}: {r.stderr}")
    if r.returncode == 0:
        title_and_frame(os.path.join(out, "rollup-2024.pdf"), "rollup")

    # A border the language does not have is refused when the template is
    # loaded, with its file and line, and nothing is written.
    tpl = templates_with("title-block-templates")
    tp = os.path.join(tpl, "outlet-list", "template.xml")
    text = open(tp, encoding="utf-8").read()
    line = text[:text.index('border="none"')].count("\n") + 1
    open(tp, "w", encoding="utf-8").write(text.replace('border="none"', 'border="dotted"', 1))
    bad = fresh("title-block-bad")
    r = run(["list", "--templates", tpl, "-o", bad, "--year", "2024", "--no-date",
             os.path.join(DATA, "roster-utf8.csv")])
    check(r.returncode != 0 and f"template.xml:{line}: error TEMPLATE-STRUCTURE" in r.stderr
          and "border" in r.stderr, f"border=\"dotted\": exit {r.returncode}: {r.stderr}")
    check(os.listdir(bad) == [], f"nothing written: {os.listdir(bad)}")
    # (A form that cannot be found is a diagnostic, not a crash.)
    for cmd in (["list", "--form", "nonesuch"], ["rollup", "--form", "nonesuch", "--year", "2024",
                                                 "--roster", os.path.join(DATA, "roster-utf8.csv")]):
        r = run([*cmd, "-o", bad, os.path.join(DATA, "roster-utf8.csv")])
        check(r.returncode == 2 and "FORM-UNKNOWN" in r.stderr, f"{cmd}: exit {r.returncode}: {r.stderr}")

elif CASE == "rollup-samples":
    # The shipped summaries of five jurisdictions, each against its own due
    # date (national and 内蒙古 01-31 of the next year, 新疆 01-10, 北京 and
    # 沈阳 12-31 of the same year), one of them made late, one outlet missing.
    out = fresh("rollup-samples")
    S = os.path.join(REPO, "samples")
    sums = [os.path.join(S, p) for p in ("beijing-summary/bjstinfo-2024.xml",
                                         "national-summary/cqu-library-2024.xml",
                                         "nm-summary/imu-library-2024.xml",
                                         "shenyang-summary/shenyang-ligong-library-2024.xml",
                                         "xj-summary/xjau-library-2024.xml")]
    with open(sums[2], encoding="utf-8") as f:
        late = f.read().replace("内蒙古工业大学图书馆", "内蒙古大学图书馆").replace(
            "<date>2025-01-22</date>", "<date>2025-02-10</date>")
    lp = os.path.join(out, "imu-late.xml")
    open(lp, "w", encoding="utf-8").write(late)
    roster = os.path.join(out, "roster.csv")
    open(roster, "w", encoding="utf-8-sig", newline="").write(
        "所在地区,单位名称,联系电话\r\n"
        "新疆维吾尔自治区乌鲁木齐市,新疆农业大学图书馆,0991-0000001\r\n"
        "重庆市,重庆大学图书馆,023-00000002\r\n"
        "辽宁省沈阳市,沈阳理工大学图书馆,024-00000003\r\n"
        "辽宁省大连市,大连海事大学图书馆,0411-00000004\r\n"
        "内蒙古自治区呼和浩特市,内蒙古工业大学图书馆,0471-00000005\r\n"
        "内蒙古自治区呼和浩特市,内蒙古大学图书馆,0471-00000006\r\n"
        "北京市,北京市科学技术情报研究所,010-00000007\r\n")
    r = run(["rollup", "-o", out, "--year", "2024", "--no-date", "--roster", roster, *sums, lp])
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    check("imu-late.xml:" in r.stderr and "NM-SUM-DUE" in r.stderr,
          f"the late summary's own rule warns: {r.stderr}")
    raw, rows = csv_rows(os.path.join(out, "rollup-2024.csv"))
    got = [(row[2], row[3], row[4]) for row in rows[1:-1]]
    want = [("北京市科学技术情报研究所", "2024-12-16", "按时"),
            ("内蒙古大学图书馆", "2025-02-10", "逾期"),
            ("内蒙古工业大学图书馆", "2025-01-22", "按时"),
            ("大连海事大学图书馆", "", "未报送"),
            ("沈阳理工大学图书馆", "2024-12-20", "按时"),
            ("重庆大学图书馆", "2025-01-17", "按时"),
            ("新疆农业大学图书馆", "2025-01-08", "按时")]
    check(got == want, f"rows in region order with their statuses: {got}")
    cq = [row for row in rows if row[2] == "重庆大学图书馆"][0]
    check(cq[5:] == ["2315", "684", "41", "41", "5860", "8", "348", "2"], f"重庆 statistics {cq[5:]}")
    check(rows[-1][0] == "合计：网点7家，按时报送5家，逾期1家，未报送1家", f"totals {rows[-1][0]}")

elif CASE == "rollup":
    # A test summary form (its due date --01-31 in its rule file) beside the
    # shipped templates, as an office adds its own.
    tpl = templates_with("rollup-templates", "test-summary")
    out = fresh("rollup")
    rd = os.path.join(DATA, "rollup")
    sums = ["shenyang.xml", "dalian.xml", "changchun.xml", "unknown.xml", "shenyang-again.xml",
            "xiamen-2023.xml"]
    r = run(["rollup", "--templates", tpl, "-o", out, "--year", "2024", "--no-date",
             "--roster", "roster.csv", *sums], cwd=rd)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    warn = r.stderr
    check("shenyang-again.xml: warning ROLLUP-DUPLICATE" in warn and "shenyang.xml" in warn,
          "duplicate named with both files")
    check("xiamen-2023.xml: warning ROLLUP-YEAR" in warn, "another year warned")
    check("unknown.xml: warning ROLLUP-UNKNOWN" in warn and "不在名册的网点" in warn,
          "unknown outlet warned")
    check(warn.count("warning") == 3, f"exactly three warnings: {warn}")
    raw, rows = csv_rows(os.path.join(out, "rollup-2024.csv"))
    check(rows[0][:5] == ["序号", "地区", "网点名称", "报送日期", "报送情况"], f"headings {rows[0]}")
    status = {row[2]: (row[3], row[4], row[5:]) for row in rows[1:-1]}
    # on time (≤ 2025-01-31), late, matched across bracket widths and spaces,
    # matched by credit code under another name, missing, missing by year.
    check(status.get("沈阳工业大学图书馆", ("",))[:2] == ("2025-01-20", "按时"),
          f"沈阳 on time, the first of two: {status.get('沈阳工业大学图书馆')}")
    check(status.get("大连理工大学图书馆（知识产权信息服务中心）", ("",))[:2] == ("2025-02-10", "逾期"),
          "大连 late, matched by normalised name")
    check(status.get("长春理工科技大学图书馆", ("",))[:2] == ("2025-01-05", "按时"),
          "长春 matched by credit code")
    check(status.get("厦门大学图书馆", ("", ""))[1] == "未报送", "厦门 missing (2023 summary only)")
    check(status.get("长沙市知识产权公共服务中心", ("", ""))[1] == "未报送", "长沙 missing")
    check(status["沈阳工业大学图书馆"][2] == ["120", "40", "5", "6", "300", "", "", ""],
          f"沈阳 statistics {status['沈阳工业大学图书馆'][2]}")
    total = rows[-1]
    check(total[0] == "合计：网点5家，按时报送2家，逾期1家，未报送2家", f"status counts: {total[0]}")
    check(total[5:] == ["260", "80", "8", "11", "500", "0", "0", "0"], f"column sums: {total[5:]}")
    text = "".join(pages(os.path.join(out, "rollup-2024.pdf"))).replace(" ", "")
    check("2024年度知识产权信息公共服务网点年度工作总结汇总表" in text, "title")
    miss = text[text.find("未报送年度工作总结的网点"):]
    check("厦门大学图书馆" in miss and "长沙市知识产权公共服务中心" in miss and
          "沈阳工业大学" not in miss, "missing outlets listed apart")
    check("合计：网点5家，按时报送2家，逾期1家，未报送2家" in text, "totals in the PDF")
    # A wrong credit code is an error naming the field; nothing is written.
    bad = os.path.join(out, "bad-code.xml")
    with open(os.path.join(rd, "changchun.xml"), encoding="utf-8") as f:
        open(bad, "w", encoding="utf-8").write(f.read().replace("91350100M000100Y43",
                                                                 "91350100M000100Y44"))
    out2 = fresh("rollup-bad")
    r = run(["rollup", "--templates", tpl, "-o", out2, "--year", "2024", "--no-date",
             "--roster", os.path.join(rd, "roster.csv"), bad])
    check(r.returncode == 1, f"bad code: exit {r.returncode}")
    check("bad-code.xml:3: error ROLLUP-CREDIT-CODE" in r.stderr and "统一社会信用代码" in r.stderr,
          f"bad code named: {r.stderr}")
    check(os.listdir(out2) == [], f"nothing written: {os.listdir(out2)}")
    # … and in the roster, with the roster's line.
    badr = os.path.join(out, "roster-badcode.csv")
    open(badr, "w", encoding="utf-8").write("网点名称,统一社会信用代码\n甲网点,91350100M000100Y40\n")
    out3 = fresh("rollup-bad-roster")
    r = run(["rollup", "--templates", tpl, "-o", out3, "--year", "2024", "--no-date",
             "--roster", badr, os.path.join(rd, "shenyang.xml")])
    check(r.returncode == 1 and "roster-badcode.csv:2: error ROLLUP-CREDIT-CODE" in r.stderr,
          f"roster code named with its line: {r.returncode} {r.stderr}")
    check(os.listdir(out3) == [], f"nothing written: {os.listdir(out3)}")

elif CASE == "rollup-jobs":
    # rollup -j N reads the summaries in N worker processes: the PDF, the
    # CSV, the diagnostics (their order too) and the exit code are those of
    # -j1, with warnings (duplicate, unknown, another year) and, in a second
    # run, errors (a bad credit code, a summary that is not XML) among them.
    tpl = templates_with("rollup-jobs-templates", "test-summary")
    work = fresh("rollup-jobs")
    rd = os.path.join(DATA, "rollup")
    with open(os.path.join(rd, "shenyang.xml"), encoding="utf-8") as f:
        proto = f.read()
    roster = os.path.join(work, "roster.csv")
    lines = [open(os.path.join(rd, "roster.csv"), encoding="utf-8").read().rstrip("\n")]
    sums = [os.path.join(rd, n) for n in ("shenyang.xml", "dalian.xml", "changchun.xml",
                                          "unknown.xml", "shenyang-again.xml", "xiamen-2023.xml")]
    for i in range(40):
        name = f"第{i}号测试网点"
        if i % 7 != 3:  # every seventh is not on the roster (38 twice: both unknown)
            lines.append(f"辽宁省{['沈阳市', '大连市', '鞍山市'][i % 3]},{name},,024-0000{i:04d}")
        p = os.path.join(work, f"s{i:02d}.xml")
        body = proto.replace("沈阳工业大学图书馆", name).replace("2025-01-20",
                                                             f"2025-0{1 + i % 2}-{10 + i % 19}")
        if i % 11 == 5:  # a second summary for the same outlet
            sums.append(os.path.join(work, f"s{i:02d}-again.xml"))
            open(sums[-1], "w", encoding="utf-8").write(body)
        open(p, "w", encoding="utf-8").write(body.replace("<consultations>120",
                                                          f"<consultations>{i * 3}"))
        sums.append(p)
    open(roster, "w", encoding="utf-8").write("\n".join(lines) + "\n")

    def rollup(jobs, inputs, tag):
        out = fresh(f"rollup-jobs-{tag}-j{jobs}")
        r = run(["rollup", "-q", "-j", str(jobs), "--templates", tpl, "-o", out, "--year", "2024",
                 "--no-date", "--roster", roster, *inputs])
        files = {n: open(os.path.join(out, n), "rb").read() for n in sorted(os.listdir(out))}
        return r.returncode, r.stdout, r.stderr, files

    one = rollup(1, sums, "ok")
    check(one[0] == 0 and len(one[3]) == 2, f"-j1: exit {one[0]}, files {list(one[3])}: {one[2]}")
    check(one[2].count("ROLLUP-DUPLICATE") == 4 and one[2].count("ROLLUP-UNKNOWN") == 8,
          f"-j1 warnings: {one[2]}")
    for jobs in (2, 3, 8):
        other = rollup(jobs, sums, "ok")
        check(other[:3] == one[:3], f"-j{jobs}: exit and messages differ from -j1:\n{other[2]}")
        check(other[3] == one[3], f"-j{jobs}: PDF or CSV differ from -j1")

    bad = list(sums)
    with open(os.path.join(rd, "changchun.xml"), encoding="utf-8") as f:
        open(os.path.join(work, "bad-code.xml"), "w", encoding="utf-8").write(
            f.read().replace("91350100M000100Y43", "91350100M000100Y44"))
    open(os.path.join(work, "broken.xml"), "w", encoding="utf-8").write("<summary><date>")
    bad[10:10] = [os.path.join(work, "bad-code.xml")]
    bad[30:30] = [os.path.join(work, "broken.xml")]
    one = rollup(1, bad, "bad")
    check(one[0] != 0 and "ROLLUP-CREDIT-CODE" in one[2] and "broken.xml" in one[2]
          and one[3] == {}, f"-j1 with errors: exit {one[0]}: {one[2]}")
    for jobs in (2, 4):
        other = rollup(jobs, bad, "bad")
        check(other == one, f"-j{jobs} with errors differs from -j1:\n{other[2]}")

    # A roster with an error: the workers already reading are stopped and
    # only the roster's error is reported, as with -j1.
    good_roster = open(roster, encoding="utf-8").read()
    open(roster, "w", encoding="utf-8").write(good_roster + "辽宁省沈阳市,\"坏行\n")
    one = rollup(1, sums, "badroster")
    check(one[0] != 0 and "CSV-" in one[2] and "ROLLUP" not in one[2] and one[3] == {},
          f"-j1 with a broken roster: exit {one[0]}: {one[2]}")
    check(rollup(2, sums, "badroster") == one, "-j2 with a broken roster differs from -j1")
    open(roster, "w", encoding="utf-8").write(good_roster)

    # list: the CSV is made in a child while the PDF is written.
    def listing(jobs, inputs):
        out = fresh(f"list-jobs-j{jobs}")
        r = run(["list", "-q", "-j", str(jobs), "--year", "2024", "--no-date", "-o", out, *inputs])
        return r.returncode, r.stdout, r.stderr, {
            n: open(os.path.join(out, n), "rb").read() for n in sorted(os.listdir(out))}
    ins = [os.path.join(DATA, "roster-utf8.csv"), os.path.join(DATA, "roster-gb18030.csv")]
    one = listing(1, ins)
    check(one[0] == 0 and len(one[3]) == 2, f"list -j1: exit {one[0]}, {list(one[3])}: {one[2]}")
    check(listing(2, ins) == one, "list -j2 differs from -j1")

elif CASE == "render-list":
    # ipforms render of a list document looks its regions up as ipforms list
    # does: the same PDF, byte for byte (groups in GB/T 2260 order, the
    # table's names); validate warns about a region the table does not know,
    # as list does.  A roll-up document rendered alone is looked up alike.
    out = fresh("render-list")
    doc = write_doc(os.path.join(out, "list.xml"),
        '<outlet-list xmlns="urn:ipforms:data:1" form="outlet-list">\n'
        '  <title>2024年度测试网点名单</title><issuer>测试局</issuer><date>2024-12-20</date>\n'
        '  <outlet><region>湖北恩施州</region><name>湖北民族大学图书馆</name></outlet>\n'
        '  <outlet><region>北京海淀区</region><name>北京理工信息研究院</name></outlet>\n'
        '  <outlet><region>辽宁沈阳</region><name>东北大学图书馆</name></outlet>\n'
        '  <outlet><region>新疆乌鲁木齐</region><name>新疆测试网点</name></outlet>\n'
        '  <outlet><region>新疆兵团第八师</region><name>兵团第八师测试网点</name></outlet>\n'
        '  <outlet><region>新疆生产建设兵团</region><name>石河子大学图书馆</name></outlet>\n'
        '</outlet-list>\n')
    la, lb = fresh("render-list-a"), fresh("render-list-b")
    r = run(["list", "-q", "--no-date", "--year", "2024", "-o", la, doc])
    check(r.returncode == 0, f"list: exit {r.returncode}: {r.stderr}")
    r2, got = render_one(doc, lb, "render")
    check(r.stderr == r2.stderr, f"the same messages: list {r.stderr!r}, render {r2.stderr!r}")
    check(len(got) == 1, f"render wrote {os.listdir(lb)}")
    check(os.path.exists(os.path.join(la, "outlet-list-2024.pdf")), f"list wrote {os.listdir(la)}")
    if got and os.path.exists(os.path.join(la, "outlet-list-2024.pdf")):
        same = open(got[0], "rb").read() == open(os.path.join(la, "outlet-list-2024.pdf"), "rb").read()
        check(same, "render and list give different PDFs for one list document")
        text = lines_of(got[0])
        # (Long region names wrap in their column: the order is read from the names.)
        in_order(text, ["北京市海淀区北京理工信息研究院", "辽宁省沈阳市东北大学图书馆", "湖北民族大学图书馆",
                        "新疆测试网点", "兵团第八师测试网点", "石河子大学图书馆"],
                 "render: groups in code order (新疆兵团 is 66, after 新疆), the table's names")
    # validate: the unknown region is the warning list gives.
    bad = os.path.join(out, "unknown.xml")
    open(bad, "w", encoding="utf-8").write(open(doc, encoding="utf-8").read().replace(
        "辽宁沈阳", "火星基地"))
    r = run(["validate", bad])
    check(r.returncode == 0 and "warning LIST-REGION" in r.stderr and "火星基地" in r.stderr,
          f"validate: exit {r.returncode}: {r.stderr}")
    # A roll-up document rendered alone: regions from the roster's table.
    rdoc = write_doc(os.path.join(out, "rollup.xml"),
        '<rollup xmlns="urn:ipforms:data:1" form="rollup"><title>测试汇总表</title>\n'
        '  <outlet><region>湖南长沙</region><name>长沙测试网点</name><report status="未报送"/></outlet>\n'
        '  <outlet><region>北京</region><name>北京测试网点</name><report status="未报送"/></outlet>\n'
        '</rollup>\n')
    _, got = render_one(rdoc, fresh("render-rollup"), "render rollup")
    if got:
        text = lines_of(got[0])
        in_order(text, ["北京测试网点", "湖南省长沙市"], "render rollup: looked up and ordered")

elif CASE == "blank-rollup":
    # The blank roll-up is filled by hand: its 合计 line leaves room for the
    # counts and prints no 0 (a count of no data), the sums stay empty, and
    # the empty row keeps its printed 序号.
    out = fresh("blank-rollup")
    r = run(["blank", "-q", "--no-date", "-o", out, "rollup"])
    check(r.returncode == 0, f"blank rollup: exit {r.returncode}: {r.stderr}")
    pdf = os.path.join(out, "blank-rollup.pdf")
    if os.path.exists(pdf):
        text = "".join(pages(pdf))
        total = next((l for l in text.split("\n") if "合计" in l), "")
        check("网点" in total and "家" in total, f"blank rollup: no 合计 line: {text!r}")
        check(not any(ch.isdigit() for ch in total), f"blank rollup prints numbers: {total!r}")
        check(re.search(r"网点\s{2,}家", total) is not None,
              f"blank rollup: no room to write the count: {total!r}")
        check(any(l.split()[:1] == ["1"] for l in text.split("\n")),
              f"blank rollup: the empty row lost its 序号: {text!r}")

else:
    print("unknown case", CASE, file=sys.stderr)
    sys.exit(2)

sys.exit(1 if failed else 0)
