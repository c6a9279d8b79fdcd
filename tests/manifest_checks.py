#!/usr/bin/python3
"""Render tests as data: a manifest beside a sample says what a clerk sees
in its PDF, so adding a form adds files under samples/ only.

  samples/<form>/<name>.manifest   for samples/<form>/<name>.xml
  samples/<form>/blank.manifest    for `ipforms blank <form>`

Lines are "key: value"; a line starting with # is a comment:
  pages:   the page count, fixed after looking at the PNG pages
  title:   the start of the PDF's Title
  strings: texts that must be printed, in this order, separated by " | "
           (white space is ignored when comparing, as pdftotext breaks lines)
  present: texts that must be printed, in any order (pdftotext may read a
           cover field's （盖章） or a cell's second line out of order)
  absent:  texts that must not be printed, separated by " | "

usage: manifest_checks.py IPFORMS REPO MANIFEST
"""
import os
import re
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, cwd=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def read_manifest(path):
    m = {}
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        if not _:
            fail(f"{path}: not key: value: {raw!r}")
        m.setdefault(key.strip(), []).append(value.strip())
    return m


def squash(s):
    return re.sub(r"\s+", "", s)


def main():
    ipf, repo, manifest = sys.argv[1], sys.argv[2], sys.argv[3]
    m = read_manifest(manifest)
    form_dir = os.path.dirname(manifest)
    form = os.path.basename(form_dir)
    stem = os.path.basename(manifest)[:-len(".manifest")]
    with tempfile.TemporaryDirectory() as tmp:
        if stem == "blank":
            r = run([ipf, "blank", "-q", "-o", tmp, form], repo)
            pdf = os.path.join(tmp, f"blank-{form}.pdf")
        else:
            sample = os.path.join(form_dir, stem + ".xml")
            if not os.path.exists(sample):
                fail(f"{manifest}: no {sample}")
            r = run([ipf, "render", "-q", "-o", tmp, sample], repo)
            pdf = os.path.join(tmp, stem + ".pdf")
        if r.returncode != 0 or r.stderr or not os.path.exists(pdf):
            fail(f"{manifest}: exit {r.returncode}: {r.stderr}")
        info = run(["pdfinfo", pdf]).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
        if "pages" in m and pages != int(m["pages"][0]):
            fail(f"{manifest}: {pages} pages, the manifest says {m['pages'][0]} "
                 "(look at the PNG pages, then fix the manifest)")
        if "title" in m:
            t = re.search(r"^Title:\s+(.*)$", info, re.M)
            if not t or not t.group(1).startswith(m["title"][0]):
                fail(f"{manifest}: Title is {t.group(1) if t else None!r}")
        text = squash(run(["pdftotext", "-enc", "UTF-8", pdf, "-"]).stdout)
        at = 0
        for line in m.get("strings", []):
            for want in (w.strip() for w in line.split("|")):
                if not want:
                    continue
                i = text.find(squash(want), at)
                if i < 0:
                    where = "at all" if squash(want) not in text else "after the previous string"
                    fail(f"{manifest}: {want!r} not printed {where}")
                at = i + len(squash(want))
        for line in m.get("present", []):
            for want in (w.strip() for w in line.split("|")):
                if want and squash(want) not in text:
                    fail(f"{manifest}: {want!r} not printed")
        for line in m.get("absent", []):
            for bad in (w.strip() for w in line.split("|")):
                if bad and squash(bad) in text:
                    fail(f"{manifest}: {bad!r} printed")
    print(f"{manifest}: {pages} pages, title and strings as the manifest says")


main()
