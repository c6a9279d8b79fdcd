#!/usr/bin/python3
"""ipforms init FORM, for every form the catalogue lists: the generated
skeleton is well-formed, names its form (and edition, when the template has
one), carries the form's title and a comment per field, has every {$setting}
resolved, and validates with nothing but "still to be filled in" diagnostics.

usage: skeleton_checks.py IPFORMS REPO
"""
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from ipftest import fail

TPL = "{urn:ipforms:template:1}"
# What an untouched skeleton may be told: a field or an item not filled in
# yet.  Anything else (a format error, a wrong choice, a limit) means the
# generator wrote a value the clerk did not.
REQUIRED_KIND = re.compile(r"未填写|未注明|没有|应不少于|应至少|现为“”")


# Texts that the rule settings put into a skeleton's comments.
SETTING_TEXTS = {
    "national-filing": ["不少于 5 人", "不超过 1000 字", "省级知识产权局、行业主管部门"],
    "nm-filing": ["不少于 3 人", "基础服务、重点产业信息分析、中小微企业服务"],
    "xj-filing": ["不少于 3 人", "地（州、市）市场监督管理局（知识产权局）"],
    "xj-summary": ["下一年度工作计划", "次年1月10日前"],
    "shenyang-summary": ["1000字左右", "1—3个，每个500字左右", "当年12月底前"],
}


def run(args, cwd):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def template_attr(repo, form_id, name):
    """An attribute of the form's template, following extends= to its base."""
    path = os.path.join(repo, "templates", form_id, "template.xml")
    for _ in range(8):
        root = ET.parse(path).getroot()
        if root.get(name):
            return root.get(name)
        base = root.get("extends")
        if not base:
            return None
        path = os.path.normpath(os.path.join(os.path.dirname(path), base))
    return None


def main():
    ipf, repo = sys.argv[1], sys.argv[2]
    r = run([ipf, "forms"], repo)
    if r.returncode != 0:
        fail(f"forms: {r.stderr}")
    ids = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    if not ids:
        fail("no forms listed")
    with tempfile.TemporaryDirectory() as tmp:
        for form_id in ids:
            r = run([ipf, "init", form_id], repo)
            if r.returncode != 0:
                fail(f"init {form_id}: exit {r.returncode}: {r.stderr}")
            text = r.stdout
            try:
                root = ET.fromstring(text.encode())
            except ET.ParseError as e:
                fail(f"init {form_id}: not well-formed: {e}")
            if root.get("form") != form_id:
                fail(f"init {form_id}: root form=\"{root.get('form')}\"")
            edition = template_attr(repo, form_id, "edition")
            if edition and root.get("edition") != edition:
                fail(f"init {form_id}: root edition=\"{root.get('edition')}\", template {edition}")
            title = template_attr(repo, form_id, "title")
            if title and title not in text.split("-->")[0]:
                fail(f"init {form_id}: header comment does not name {title}")
            if "{$" in text:
                fail(f"init {form_id}: unresolved setting: "
                     + text[text.index("{$"):text.index("{$") + 40])
            # A limit quoted in a comment is the form's own setting: the national
            # skeleton asks for 5 full-time staff, Inner Mongolia's for 3.
            for want in SETTING_TEXTS.get(form_id, ()):
                if want not in text:
                    fail(f"init {form_id}: {want!r} not in the skeleton (from rules.xml)")
            elements = sum(1 for _ in root.iter())
            comments = text.count("<!--")
            if comments < elements * 0.6:
                fail(f"init {form_id}: {comments} comments for {elements} elements")
            path = os.path.join(tmp, f"{form_id}.xml")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            v = run([ipf, "validate", path], repo)
            lines = [l for l in v.stderr.splitlines() if l.strip()]
            if v.returncode != 1 or not lines:
                fail(f"init {form_id}: an empty skeleton should be invalid "
                     f"(exit {v.returncode}): {v.stderr[:300]}")
            for l in lines:
                m = re.match(r"^.*?:\d+: (error|warning) (\S+) (.*)$", l)
                if not m:
                    fail(f"init {form_id}: unexpected output: {l}")
                if "REQ" not in m.group(2) and not REQUIRED_KIND.search(m.group(3)):
                    fail(f"init {form_id}: the skeleton itself is wrong, not just empty: {l}")
            print(f"{form_id}: {elements} elements, {comments} comments, "
                  f"{len(lines)} 'to fill in' diagnostics")


main()
