#!/usr/bin/python3
"""Makes N realistic, varied data files for the benchmarks.

Usage: gen.py [-n N] [--seed S] [--invalid PERCENT] [--form FORM] OUTDIR

Each document starts from a form's realistic sample and varies what differs
between real filings: the institution and its people, how many staff and
team members, how long each narrative is (paragraphs dropped or repeated
within the form's limits), how many cases, and the punctuation (quotes,
book-title marks, dashes, ellipses, enumeration commas), so that line
breaking and font subsets differ from one document to the next.  With
--invalid, that share of the documents breaks one rule (an e-mail, a staff
count), as real rounds have a few.  Deterministic for a given seed.

A form is a function below (FORMS); the national filing and the test-only
ledger exist today.  Every other form is generated the same way from its
sample: add its function when the form lands.
"""
import argparse
import html
import copy
import os
import random
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NS = "urn:ipforms:data:1"
Q = "{%s}" % NS

CITIES = ["重庆", "成都", "西安", "武汉", "长沙", "南昌", "合肥", "郑州", "济南", "太原",
          "石家庄", "沈阳", "长春", "哈尔滨", "呼和浩特", "乌鲁木齐", "兰州", "西宁", "银川",
          "昆明", "贵阳", "南宁", "海口", "广州", "福州", "杭州", "南京", "苏州", "宁波", "青岛"]
KINDS = [("理工大学", "图书馆"), ("科技大学", "图书馆"), ("师范大学", "图书馆"),
         ("市科技情报研究所", "知识产权信息服务中心"), ("市图书馆", "知识产权信息服务部"),
         ("高新区管委会", "知识产权服务中心"), ("市知识产权服务中心", "信息服务部"),
         ("工业技术研究院", "专利信息中心")]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬浩然宇航晓雯志远俊"
PUNCT = [("，", "；"), ("。", "。"), ("“", "《"), ("”", "》"), ("—", "——"), ("、", "、")]
INSERTS = ["（详见附件）", "……", "——", "“一站式”", "《专利法》", "、", "（试行）"]


def person(rng):
    n = rng.choice(SURNAMES) + rng.choice(GIVEN)
    if rng.random() < 0.6:
        n += rng.choice(GIVEN)
    return n


def vary_text(rng, text, inserts=True):
    """Punctuation and small insertions that keep the length about the same."""
    out = []
    for ch in text:
        if ch == "，" and rng.random() < 0.08:
            ch = "；"
        out.append(ch)
        if inserts and ch == "。" and rng.random() < 0.15:
            out.append(rng.choice(INSERTS))
    return "".join(out)


def vary_paras(rng, parent, keep_min=1, max_chars=None, inserts=True):
    ps = [p for p in parent if p.tag == Q + "p"]
    if not ps:
        return
    k = rng.randint(keep_min, len(ps))
    for p in ps[k:]:
        parent.remove(p)
    for p in parent:
        if p.tag == Q + "p" and p.text:
            p.text = vary_text(rng, p.text, inserts)
    if max_chars:
        while sum(len((p.text or "").strip()) for p in parent) > max_chars * 0.95 and len(parent) > 1:
            parent.remove(list(parent)[-1])


def national(rng, base, invalid):
    root = copy.deepcopy(base)
    inst = root.find(Q + "institution")
    city = rng.choice(CITIES)
    org, unit = rng.choice(KINDS)
    org_name = city + org
    inst.find(Q + "name").text = org_name + unit
    root.find(Q + "cover/" + Q + "applicant").text = org_name
    head = person(rng)
    inst.find(Q + "head/" + Q + "name").text = head
    inst.find(Q + "contact/" + Q + "name").text = person(rng)
    inst.find(Q + "address").text = f"{city}市{rng.choice('东西南北中')}区{rng.choice(['大学路', '科技路', '创新大道', '高新大道'])}{rng.randint(1, 999)}号"
    team = root.find(Q + "team")
    members = list(team)
    full = [m for m in members if m.get("role") == "专职"]
    # 5 to 10 full-time members (the form needs at least 5), reusing profiles.
    want = rng.randint(5, 10)
    for m in full:
        team.remove(m)
    for i in range(want):
        m = copy.deepcopy(full[i % len(full)])
        m.find(Q + "name").text = person(rng)
        vary_paras(rng, m.find(Q + "profile"), inserts=False)
        team.append(m)
    members[0].find(Q + "name").text = head
    part = rng.randint(1, 6)
    staff = inst.find(Q + "staff")
    staff.set("full-time", str(want))
    staff.set("part-time", str(part))
    staff.set("total", str(want + part))
    vary_paras(rng, root.find(Q + "foundation"), 2, 1000)
    vary_paras(rng, root.find(Q + "development"), 3, 1500)
    cases = root.find(Q + "cases")
    allc = list(cases)
    # keep the basic case and 1-2 special ones
    for c in allc[1 + rng.randint(1, len(allc) - 1):]:
        cases.remove(c)
    for c in cases:
        vary_paras(rng, c.find(Q + "content"))
    if invalid:
        if rng.random() < 0.5:
            inst.find(Q + "contact/" + Q + "email").text = "service#" + rng.choice(CITIES) + ".cn"
        else:
            staff.set("total", str(want + part + 1))
    return root


def ledger(rng, _base, invalid):
    root = ET.Element("{urn:test:ledger}ledger", {"form": "ledger-test"})
    for i in range(rng.randint(10, 200)):
        e = ET.SubElement(root, "{urn:test:ledger}entry")
        ET.SubElement(e, "{urn:test:ledger}date").text = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        ET.SubElement(e, "{urn:test:ledger}what").text = vary_text(
            rng, f"为{rng.choice(CITIES)}一家企业提供专利检索与分析服务。" * rng.randint(1, 4))
    return root


def html_of(doc):
    """The same text as a Writer document, for the LibreOffice comparison:
    fields as table rows, narrative as paragraphs, in 仿宋 at 14 pt."""
    out = ['<html><head><meta charset="utf-8"><style>body{font-family:"FandolFang",'
           '"FangSong";font-size:14pt} td{border:1px solid #000;padding:4px}</style>'
           '</head><body>']

    def local(tag):
        return tag.split("}")[-1]

    def walk(el, depth):
        kids = list(el)
        text = html.escape((el.text or "").strip())
        if local(el.tag) == "p":
            out.append(f"<p>{text}</p>")
        elif not kids:
            attrs = html.escape(" ".join(f"{k}={v}" for k, v in el.attrib.items()))
            out.append(f"<table><tr><td>{local(el.tag)}</td><td>{text} {attrs}</td></tr></table>")
        else:
            out.append(f"<h{min(depth, 6)}>{local(el.tag)}</h{min(depth, 6)}>")
            for k in kids:
                walk(k, depth + 1)

    walk(doc, 1)
    out.append("</body></html>")
    return "\n".join(out)


def generic(rng, base, invalid):
    """Any form, from one of its samples: the punctuation of every longer
    text varied, and some of each run of repeated elements (rows, members,
    cases, paragraphs) dropped, so documents differ in length and glyphs.
    Drops can break a form's minimum counts: --valid-only keeps only what
    ipforms accepts."""
    root = copy.deepcopy(base)

    def walk(el):
        kids = list(el)
        if el.text and len(el.text.strip()) > 20:
            el.text = vary_text(rng, el.text, inserts=False)
        by_tag = {}
        for k in kids:
            by_tag.setdefault(k.tag, []).append(k)
        for same in by_tag.values():
            if len(same) > 2:
                for k in same[rng.randint(2, len(same)):]:
                    el.remove(k)
        for k in el:
            walk(k)

    walk(root)
    return root


FORMS = {
    "national-filing": (national, "samples/national-filing/chongqing-university-library.xml"),
    "ledger-test": (ledger, None),
}


def samples_of_every_form():
    """(form, sample path) for every form with samples in the repository."""
    out = []
    base = os.path.join(REPO, "samples")
    for form in sorted(os.listdir(base)):
        d = os.path.join(base, form)
        if form == "invalid" or not os.path.isdir(d):
            continue
        out += [(form, os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".xml")]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--invalid", type=float, default=0.0, help="percent of invalid documents")
    ap.add_argument("--form", default="national-filing", choices=sorted(FORMS) + ["all"],
                    help="a form, or 'all': every form with samples, in turn")
    ap.add_argument("--valid-only", metavar="IPFORMS",
                    help="check each document with this ipforms and keep only valid ones")
    ap.add_argument("--html", action="store_true",
                    help="also write X.html beside X.xml (the LibreOffice comparison)")
    ap.add_argument("outdir")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    width = len(str(a.n))
    if a.form == "all":
        pool = samples_of_every_form()
        bases = {p: ET.parse(p).getroot() for _, p in pool}
    i = made = 0
    while made < a.n and i < a.n * 20:
        i += 1
        bad = rng.random() * 100 < a.invalid
        if a.form == "all":
            form, path = pool[made % len(pool)]
            ET.register_namespace("", bases[path].tag[1:].split("}")[0])
            doc = generic(rng, bases[path], bad)
        else:
            form = a.form
            fn, sample = FORMS[form]
            ET.register_namespace("", NS if form != "ledger-test" else "urn:test:ledger")
            doc = fn(rng, ET.parse(os.path.join(REPO, sample)).getroot() if sample else None, bad)
        name = os.path.join(a.outdir, f"{form}-{made:0{width}d}")
        ET.ElementTree(doc).write(name + ".xml", encoding="UTF-8", xml_declaration=True)
        if a.valid_only and not bad:
            import subprocess
            r = subprocess.run([a.valid_only, "validate", "-q", name + ".xml"],
                               capture_output=True)
            if r.returncode != 0:
                os.unlink(name + ".xml")
                continue
        if a.html:
            with open(name + ".html", "w", encoding="utf-8") as fh:
                fh.write(html_of(doc))
        made += 1
    print(f"{made} {a.form} documents in {a.outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
