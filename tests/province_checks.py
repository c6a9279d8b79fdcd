#!/usr/bin/python3
"""Proof that forms are data (issue 7): an imaginary province's filing form
is made from the Inner Mongolia one with files only — copied into a
temporary templates directory beside the rest of templates/ (so its base,
the national form, resolves), given a new id, title and issuer — and the
same ipforms binary lists, validates, renders it and prints its blank form
through --templates.  No rebuild, no C.

usage: province_checks.py IPFORMS REPO
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ipftest import fail

SOURCE = "nm-filing"
NEW_ID = "dongting-filing"
OLD_ISSUER = "内蒙古自治区市场监督管理局（知识产权局）"
NEW_ISSUER = "洞庭省知识产权局"
OLD_REGION = "内蒙古自治区"
NEW_REGION = "洞庭省"
NEW_TITLE = "洞庭省知识产权信息公共服务网点备案表"
SAMPLE = "samples/nm-filing/imust-library.xml"


def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def rewrite(path, pairs):
    text = open(path, encoding="utf-8").read()
    for old, new in pairs:
        if old not in text:
            fail(f"{path} no longer holds {old!r}")
        text = text.replace(old, new)
    open(path, "w", encoding="utf-8").write(text)


def main():
    ipf, repo = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        tpl = os.path.join(tmp, "templates")
        shutil.copytree(os.path.join(repo, "templates"), tpl)
        new_dir = os.path.join(tpl, NEW_ID)
        shutil.copytree(os.path.join(tpl, SOURCE), new_dir)
        rewrite(os.path.join(new_dir, "template.xml"),
                [(f'id="{SOURCE}"', f'id="{NEW_ID}"'), (OLD_ISSUER, NEW_ISSUER),
                 (OLD_REGION, NEW_REGION)])
        rewrite(os.path.join(new_dir, "rules.xml"), [(f'form="{SOURCE}"', f'form="{NEW_ID}"')])
        data = os.path.join(tmp, "dongting.xml")
        shutil.copy(os.path.join(repo, SAMPLE), data)
        rewrite(data, [(f'form="{SOURCE}"', f'form="{NEW_ID}"'), ("包头钢铁科技学院", "洞庭湖科技学院")])

        r = run([ipf, "--templates", tpl, "forms"], tmp)
        if r.returncode != 0 or r.stderr:
            fail(f"forms: exit {r.returncode}: {r.stderr}")
        line = [l for l in r.stdout.splitlines() if l.split()[:1] == [NEW_ID]]
        if not line or NEW_TITLE not in line[0]:
            fail(f"forms does not list {NEW_ID} with its title:\n{r.stdout}")
        if not any(l.split()[:1] == [SOURCE] for l in r.stdout.splitlines()):
            fail(f"{SOURCE} itself is no longer listed beside its copy")

        r = run([ipf, "--templates", tpl, "validate", data], tmp)
        if r.returncode != 0 or r.stderr:
            fail(f"validate: exit {r.returncode}: {r.stderr}")

        out = os.path.join(tmp, "out")
        os.mkdir(out)
        r = run([ipf, "--templates", tpl, "render", "-o", out, data], tmp)
        pdf = os.path.join(out, "dongting.pdf")
        if r.returncode != 0 or not os.path.exists(pdf):
            fail(f"render: exit {r.returncode}: {r.stderr}")
        r = run([ipf, "--templates", tpl, "blank", "-o", out, NEW_ID], tmp)
        blank = os.path.join(out, f"blank-{NEW_ID}.pdf")
        if r.returncode != 0 or not os.path.exists(blank):
            fail(f"blank: exit {r.returncode}: {r.stderr}")

        for path, what in ((pdf, "sample"), (blank, "blank form")):
            text = run(["pdftotext", "-enc", "UTF-8", path, "-"], tmp).stdout
            flat = re.sub(r"\s+", "", text)
            for want in ("洞庭省知识产权信息", "公共服务网点备案表", NEW_ISSUER, "2025年制", "填表说明",
                         "一、机构基本情况", "八、备案部门意见", "重点产业信息分析"):
                if want not in flat:
                    fail(f"{what}: {want!r} not printed")
            if OLD_ISSUER in flat or (path == blank and OLD_REGION in flat):
                fail(f"{what}: still prints {OLD_REGION}")
            info = run(["pdfinfo", path], tmp).stdout
            pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
            if pages < 6:
                fail(f"{what}: {pages} pages")
            print(f"{what}: {pages} pages, new title and issuer printed, base sections inherited")
        if "洞庭湖科技学院" not in re.sub(r"\s+", "", run(["pdftotext", "-enc", "UTF-8", pdf, "-"], tmp).stdout):
            fail("the sample's own data is not printed")

        # The province's rules are Inner Mongolia's (included national rules,
        # 专职 ≥ 3): a filing with 2 full-time staff is refused by the copy too.
        rewrite(data, [('total="9" full-time="4" part-time="5"', 'total="9" full-time="2" part-time="7"')])
        r = run([ipf, "--templates", tpl, "validate", data], tmp)
        if r.returncode != 1 or "应不少于3人" not in r.stderr:
            fail(f"the copied rules do not apply: exit {r.returncode}: {r.stderr}")

        # A mistake in the base is the base's: said once, with its line, however
        # many forms extend it (national → Inner Mongolia, Xinjiang, the province).
        rewrite(os.path.join(tpl, "national-filing", "template.xml"),
                [('<vspace height="42mm"/>', '<vspace-x height="42mm"/>')])
        r = run([ipf, "--templates", tpl, "validate", data,
                 os.path.join(repo, "samples/nm-filing/imust-library.xml"),
                 os.path.join(repo, "samples/xj-filing/changji-stinfo.xml")], tmp)
        if r.stderr.count("TEMPLATE-BROKEN") != 3:
            fail("each form on the broken base should be refused as TEMPLATE-BROKEN:\n" + r.stderr)
        base_lines = [l for l in r.stderr.splitlines() if "national-filing/template.xml:" in l
                      and "vspace-x" in l]
        if len(base_lines) != 1:
            fail(f"the base template's mistake should be reported once, got {len(base_lines)}:\n"
                 + r.stderr)
    print("an imaginary province from files only: listed, validated, rendered, blank form; "
          "a base's mistake reported once")


main()
