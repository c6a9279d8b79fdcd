#!/usr/bin/python3
"""Batch production through the ipforms command (issue 8, issue 11 items 10, 12).

Usage: batch_checks.py CASE IPFORMS REPO

Every case builds its inputs in a fresh temporary directory from the
national samples and the test-only ledger form, runs ipforms as a clerk
would, and asserts what the clerk sees: exit code, report lines, files on
disk (no temporary or partial file, nothing overwritten), terminal output.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ipftest import fail, squash

CASE, IPF, REPO = sys.argv[1], sys.argv[2], sys.argv[3]
SAMPLE = os.path.join(REPO, "samples/national-filing/chongqing-university-library.xml")
ANNOTATED = os.path.join(REPO, "samples/national-filing/annotated.xml")
INVALID = os.path.join(REPO, "samples/invalid/national-filing/bad-email.xml")
NAME = "重庆嘉陵科技大学图书馆"


def run(args, env=None, **kw):
    e = dict(os.environ)
    e.pop("IPFORMS_TEST_CRASH_ON", None)
    e.pop("IPFORMS_TEST_HANG_ON", None)
    e.update(env or {})
    return subprocess.run(args, capture_output=True, text=True, env=e, timeout=kw.pop("timeout", 300), **kw)


def leftovers(*dirs):
    """Hidden or temporary files: what an interrupted write would leave."""
    bad = []
    for d in dirs:
        for root, _, files in os.walk(d):
            bad += [os.path.join(root, f) for f in files if f.startswith(".") or f.endswith(".tmp")]
    return bad


def qpdf_ok(pdf):
    r = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    return r.returncode == 0


def text_of(pdf):
    return subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True).stdout


def variant(src, dst, name):
    """A copy of the sample whose institution is called name."""
    with open(src, encoding="utf-8") as fh:
        s = fh.read()
    s = s.replace(f"<name>{NAME}</name>", f"<name>{name}</name>", 1)
    with open(dst, "w", encoding="utf-8") as fh:
        fh.write(s)


def report(path):
    with open(path, encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    for r in lines:
        for k in ("input", "output", "status", "diagnostics"):
            if k not in r:
                fail(f"report line without {k}: {r}")
    return lines


def codes(line):
    return [d["code"] for d in line["diagnostics"]]


def case_mixed():
    """Valid, invalid, unreadable, not XML, colliding names and a crashing
    worker in one batch: each reported as such, in input order, the rest
    rendered; exit 2; nothing overwritten, nothing partial or temporary."""
    with tempfile.TemporaryDirectory() as tmp:
        a, b, out = (os.path.join(tmp, x) for x in ("a", "b", "out"))
        for d in (a, b, out):
            os.mkdir(d)
        shutil.copy(SAMPLE, os.path.join(a, "filing.xml"))
        shutil.copy(ANNOTATED, os.path.join(a, "crash.xml"))
        shutil.copy(INVALID, os.path.join(a, "invalid.xml"))
        with open(os.path.join(a, "garbage.xml"), "wb") as fh:
            fh.write(b"\x00\x01not xml at all")
        variant(SAMPLE, os.path.join(b, "filing.xml"), "第二个同名文件的网点")
        shutil.copy(ANNOTATED, os.path.join(b, "other.xml"))
        # An output of an earlier run that this batch does not produce stays.
        with open(os.path.join(out, "keep.pdf"), "wb") as fh:
            fh.write(b"%PDF-1.4 earlier\n")
        rep = os.path.join(tmp, "report.jsonl")
        seen = {}
        for jobs in ("2", "1"):
            for f in os.listdir(out):
                if f != "keep.pdf":
                    os.unlink(os.path.join(out, f))
            r = run([IPF, "render", "--no-date", "-j", jobs, "-o", out, "--report", rep,
                     a, b, os.path.join(tmp, "missing.xml")],
                    env={"IPFORMS_TEST_CRASH_ON": "crash.xml"}, cwd=tmp)
            if r.returncode != 2:
                fail(f"-j{jobs}: exit {r.returncode}, expected 2\n{r.stderr}")
            lines = report(rep)
            got = [(os.path.relpath(x["input"], tmp), x["status"]) for x in lines]
            want = [("a/crash.xml", "failed"), ("a/filing.xml", "rendered"),
                    ("a/garbage.xml", "invalid"), ("a/invalid.xml", "invalid"),
                    ("b/filing.xml", "failed"), ("b/other.xml", "rendered"),
                    ("missing.xml", "failed")]
            if got != want:
                fail(f"-j{jobs}: report\n{got}\nexpected\n{want}")
            if "WORKER-CRASH" not in codes(lines[0]):
                fail(f"crash not reported with its file: {lines[0]}")
            if "OUTPUT-COLLISION" not in codes(lines[4]) or "a/filing.xml" not in \
                    lines[4]["diagnostics"][0]["message"]:
                fail(f"collision not reported naming the first input: {lines[4]}")
            if "NAT-EMAIL" not in codes(lines[3]):
                fail(f"invalid data without its diagnostic: {lines[3]}")
            if "IO-NOT-FOUND" not in codes(lines[6]):
                fail(f"missing file: {lines[6]}")
            if lines[1]["output"] != os.path.join(out, "filing.pdf") or lines[4]["output"]:
                fail(f"outputs: {lines[1]['output']} {lines[4]['output']}")
            # stderr: the same problems in input order, then the counts.
            errs = [ln for ln in r.stderr.splitlines() if ": error " in ln]
            order = [ln.split(":")[0] for ln in errs]
            if order != sorted(order, key=lambda p: [w[0] for w in want].index(
                    os.path.relpath(os.path.join(tmp, p), tmp))):
                fail(f"diagnostics not in input order:\n{r.stderr}")
            if "共 7 份：已生成 2，数据有误 2，失败 3" not in r.stderr:
                fail(f"summary missing:\n{r.stderr}")
            if sorted(os.listdir(out)) != ["filing.pdf", "keep.pdf", "other.pdf"]:
                fail(f"outputs on disk: {sorted(os.listdir(out))}")
            t = squash(text_of(os.path.join(out, "filing.pdf")))
            if NAME not in t or "第二个同名文件的网点" in t:
                fail("filing.pdf is not the first input's: overwritten by the later one")
            with open(os.path.join(out, "keep.pdf"), "rb") as fh:
                if fh.read() != b"%PDF-1.4 earlier\n":
                    fail("an unrelated earlier output was touched")
            for f in ("filing.pdf", "other.pdf"):
                if not qpdf_ok(os.path.join(out, f)):
                    fail(f"{f} fails qpdf --check")
            if leftovers(tmp):
                fail(f"left behind: {leftovers(tmp)}")
            # Deterministic: the same bytes whatever the number of workers.
            for f in ("filing.pdf", "other.pdf"):
                with open(os.path.join(out, f), "rb") as fh:
                    data = fh.read()
                if seen.setdefault(f, data) != data:
                    fail(f"{f} differs between -j2 and -j1")
            print(f"-j{jobs}: 7 inputs reported as expected, exit 2, nothing overwritten or left")


def case_validate():
    """validate -j2 over a directory prints exactly what validating each file
    alone prints, in input order, and streams (no gathering)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(REPO, "samples/invalid/national-filing")
        names = sorted(f for f in os.listdir(src) if f.endswith(".xml"))
        for f in names:
            shutil.copy(os.path.join(src, f), tmp)
        shutil.copy(SAMPLE, os.path.join(tmp, "zz-valid.xml"))
        alone = []
        for f in sorted(os.listdir(tmp)):
            r = run([IPF, "validate", "-q", f], cwd=tmp)
            alone += r.stderr.splitlines()
        r = run([IPF, "validate", "-q", "-j2", "."], cwd=tmp)
        got = [ln for ln in r.stderr.splitlines() if not ln.startswith("ipforms: 共")]
        got = [re.sub(r"^\./", "", ln) for ln in got]
        if got != alone:
            fail("batch diagnostics differ from one file at a time:\n" +
                 "\n".join(got[:20]) + "\n---\n" + "\n".join(alone[:20]))
        if r.returncode != 1:
            fail(f"exit {r.returncode}, expected 1 (some invalid, none failed)")
        lst = os.path.join(tmp, "list.txt")
        with open(lst, "w") as fh:
            fh.write("zz-valid.xml\n")
        r = run([IPF, "validate", "--files-from", "-", "zz-valid.xml"], cwd=tmp,
                input="zz-valid.xml\n")
        if r.returncode != 0 or r.stdout.count("通过检查") != 2:
            fail(f"--files-from -: {r.returncode} {r.stdout} {r.stderr}")
        print(f"{len(alone)} diagnostics, same as one by one, in order; --files-from - read")


def case_signal():
    """SIGTERM in the middle of a batch: the batch stops, every finished PDF
    is whole (qpdf --check), no temporary file is left, the report lists
    every input as rendered or not done, exit 2."""
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "data"), os.path.join(tmp, "out")
        os.mkdir(data)
        os.mkdir(out)
        n = 80
        for i in range(n):
            shutil.copy(SAMPLE, os.path.join(data, f"f{i:03d}.xml"))
        rep = os.path.join(tmp, "report.jsonl")
        e = dict(os.environ)
        p = subprocess.Popen([IPF, "render", "-j2", "--no-date", "-o", out, "--report", rep, data],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        deadline = time.time() + 120
        while time.time() < deadline and p.poll() is None:
            if len([f for f in os.listdir(out) if f.endswith(".pdf")]) >= 3:
                break
            time.sleep(0.01)
        if p.poll() is not None:
            fail("the batch ended before it could be interrupted")
        p.send_signal(signal.SIGTERM)
        so, se = p.communicate(timeout=120)
        se = se.decode()
        if p.returncode != 2:
            fail(f"exit {p.returncode} after SIGTERM, expected 2\n{se}")
        pdfs = sorted(f for f in os.listdir(out) if f.endswith(".pdf"))
        if leftovers(tmp):
            fail(f"left behind: {leftovers(tmp)}")
        for f in pdfs:
            if not qpdf_ok(os.path.join(out, f)):
                fail(f"{f} fails qpdf --check after SIGTERM")
        lines = report(rep)
        if len(lines) != n:
            fail(f"report has {len(lines)} lines for {n} inputs")
        done = sorted(os.path.basename(x["output"]) for x in lines if x["status"] == "rendered")
        if done != pdfs:
            fail(f"report says rendered {len(done)}, on disk {len(pdfs)}")
        if not any(x["status"] == "not-done" for x in lines):
            fail("nothing reported as not done")
        if set(x["status"] for x in lines) - {"rendered", "not-done"}:
            fail(f"unexpected statuses: {set(x['status'] for x in lines)}")
        if "因中断未处理" not in se:
            fail(f"the summary does not say what was not done:\n{se[-500:]}")
        print(f"SIGTERM after {len(pdfs)} of {n}: all whole, none left, report complete")


def case_sweep():
    """Temporary files of a killed run (ours only) are removed by the next
    run into that directory; a file name that fits the file system renders
    although the temporary name is longer."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = os.path.join(out, f".filing.pdf.ipf{dead.pid}-abc123.tmp")
        old = os.path.join(out, ".filing.pdf.q1w2e3.tmp")
        fresh_old_style = os.path.join(out, ".x.pdf.zzzzzz.tmp")
        mine = os.path.join(out, ".notes.tmp")
        for f in (stale, old, fresh_old_style, mine):
            with open(f, "w") as fh:
                fh.write("partial")
        t = time.time() - 7200
        os.utime(old, (t, t))
        long_name = "很长的文件名" * 13 + "x" * 10 + ".xml"  # 244 bytes; + ".tmp" etc. > 255
        shutil.copy(SAMPLE, os.path.join(tmp, long_name))
        shutil.copy(SAMPLE, os.path.join(tmp, "filing.xml"))
        r = run([IPF, "render", "-q", "--no-date", "-o", out, long_name, "filing.xml"], cwd=tmp)
        if r.returncode != 0:
            fail(f"exit {r.returncode}: {r.stderr}")
        left = sorted(os.listdir(out))
        want = sorted([".notes.tmp", ".x.pdf.zzzzzz.tmp", "filing.pdf", long_name[:-4] + ".pdf"])
        if left != want:
            fail(f"after the sweep: {left}, expected {want}")
        print("stale temporary files of ours removed, others kept; a 248-byte name rendered")


def case_cli():
    """-- ends options (a file called -x.xml); options before and after the
    command behave alike; blank prints the output directory escaped."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(SAMPLE, os.path.join(tmp, "-x.xml"))
        r = run([IPF, "validate", "--", "-x.xml"], cwd=tmp)
        if r.returncode != 0 or "-x.xml: 通过检查" not in r.stdout:
            fail(f"-- -x.xml: {r.returncode} {r.stdout} {r.stderr}")
        r = run([IPF, "render", "-o", tmp, "--no-date", "--", "-x.xml"], cwd=tmp)
        if r.returncode != 0 or not os.path.exists(os.path.join(tmp, "-x.pdf")):
            fail(f"render -- -x.xml: {r.returncode} {r.stderr}")
        r = run([IPF, "validate", "-x.xml"], cwd=tmp)
        if r.returncode != 2 or "未知选项" not in r.stderr:
            fail(f"-x.xml without --: {r.returncode} {r.stderr}")
        fonts = ["--font", "/nonexistent.ttf"] * 9
        a = run([IPF] + fonts + ["forms"])
        b = run([IPF, "forms"] + fonts)
        if a.returncode != 2 or b.returncode != 2 or a.stderr != b.stderr:
            fail(f"a ninth --font before and after the command differ:\n{a.stderr}\n{b.stderr}")
        odd = os.path.join(tmp, "o\nd")
        os.mkdir(odd)
        r = run([IPF, "blank", "-o", odd, "national-filing"])
        if r.returncode != 0 or "o\\x0Ad" not in r.stdout or "\n" in r.stdout.rstrip("\n"):
            fail(f"blank output not escaped: {r.stdout!r}")
        r = run([IPF, "render", "-j", "0", "x.xml"])
        if r.returncode != 2:
            fail("-j 0 accepted")
        print("-- ends options; options parsed once; blank's output escaped")


def case_progress():
    """On a terminal: one progress line (done/total, rate, ETA) rewritten on
    stderr.  Otherwise a plain line per file.  -q: only problems."""
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "data"), os.path.join(tmp, "out")
        os.mkdir(data)
        os.mkdir(out)
        for i in range(6):
            shutil.copy(SAMPLE, os.path.join(data, f"f{i}.xml"))
        shutil.copy(INVALID, os.path.join(data, "zz-invalid.xml"))
        cmd = [IPF, "render", "-j2", "--no-date", "-o", out, data]
        # stderr on a pseudo-terminal, stdout a pipe.
        master, slave = pty.openpty()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        err = b""
        while True:
            ready, _, _ = select.select([master], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        so, _ = p.communicate(timeout=60)
        os.close(master)
        err = err.decode("utf-8", "replace")
        if p.returncode != 1:
            fail(f"exit {p.returncode}, expected 1")
        if not re.search(r"\r\x1b\[K7/7 +[\d.]+ 份/秒 +预计剩余 \d+:\d\d", err):
            fail(f"no final progress line on the terminal: {err!r}")
        if not re.search(r"\r\x1b\[K\d/7 ", err):
            fail(f"no progress line: {err!r}")
        if "zz-invalid.xml:30: error NAT-EMAIL" not in err:
            fail(f"the problem is not shown with the progress: {err!r}")
        if so.decode().count("→") != 6:
            fail(f"stdout (a pipe) should list the 6 PDFs: {so!r}")
        r = run(cmd)
        if "\r" in r.stderr or "\x1b" in r.stderr:
            fail(f"progress codes when stderr is not a terminal: {r.stderr!r}")
        if r.stdout.count("→") != 6 or len(r.stdout.splitlines()) != 6:
            fail(f"no plain line per file: {r.stdout!r}")
        r = run(cmd[:2] + ["-q"] + cmd[2:])
        if r.stdout or [ln for ln in r.stderr.splitlines() if "NAT-EMAIL" not in ln
                        and "共 7 份" not in ln]:
            fail(f"-q printed more than problems: {r.stdout!r} {r.stderr!r}")
        print("progress on a pty, a plain line per file otherwise, -q only problems")


def case_name():
    """--name takes the name from the data, safe on any file system; two
    documents of the same institution collide and the second is reported."""
    with tempfile.TemporaryDirectory() as tmp:
        data, out = os.path.join(tmp, "data"), os.path.join(tmp, "out")
        os.mkdir(data)
        os.mkdir(out)
        variant(SAMPLE, os.path.join(data, "a.xml"), "甲/乙:丙*网点?  CON")
        variant(SAMPLE, os.path.join(data, "b.xml"), "CON")
        variant(SAMPLE, os.path.join(data, "c.xml"), "甲/乙:丙*网点?  CON")
        rep = os.path.join(tmp, "r.jsonl")
        r = run([IPF, "render", "--no-date", "-o", out, "--report", rep,
                 "--name", "{d:institution/d:name}-{$file}", data])
        if r.returncode != 0:
            fail(f"exit {r.returncode}: {r.stderr}")
        got = sorted(os.listdir(out))
        want = sorted(["甲_乙_丙_网点_ CON-a.pdf", "CON-b.pdf", "甲_乙_丙_网点_ CON-c.pdf"])
        if got != want:
            fail(f"names {got}, expected {want}")
        r = run([IPF, "render", "--no-date", "-o", out, "--report", rep,
                 "--name", "{d:institution/d:name}", data])
        lines = report(rep)
        if r.returncode != 2 or [x["status"] for x in lines] != ["rendered", "rendered", "failed"]:
            fail(f"same institution twice: {r.returncode} {[x['status'] for x in lines]}")
        if os.path.basename(lines[1]["output"]) != "_CON.pdf":
            fail(f"a Windows device name was not made safe: {lines[1]['output']}")
        r = run([IPF, "render", "--name", "{d:institution/[}", data])
        if r.returncode != 2 or "NAME-PATTERN" not in r.stderr:
            fail(f"a broken pattern: {r.returncode} {r.stderr}")
        print("names from the data, made safe; a repeated name reported, not overwritten")


def case_timeout():
    """A worker stuck on one file is stopped after --timeout and replaced."""
    with tempfile.TemporaryDirectory() as tmp:
        for f in ("a", "b", "c", "d"):
            shutil.copy(SAMPLE, os.path.join(tmp, f + ".xml"))
        rep = os.path.join(tmp, "r.jsonl")
        r = run([IPF, "render", "-j2", "--timeout", "1", "--no-date", "--report", rep, tmp],
                env={"IPFORMS_TEST_HANG_ON": "b.xml"})
        lines = report(rep)
        st = [x["status"] for x in lines]
        if r.returncode != 2 or st != ["rendered", "failed", "rendered", "rendered"]:
            fail(f"timeout: exit {r.returncode}, {st}\n{r.stderr}")
        if "WORKER-TIMEOUT" not in codes(lines[1]):
            fail(f"timeout not named: {lines[1]}")
        if leftovers(tmp):
            fail(f"left behind: {leftovers(tmp)}")
        print("a stuck file stopped after 1 s and named; the others rendered")

        # One file, and -j1: the same limit and the same report, not a hang
        # (before, only a batch with workers had a limit).
        for label, files, jobs in (("one file", ["b"], []), ("-j1", ["a", "b"], ["-j1"])):
            d = os.path.join(tmp, label.replace(" ", "-"))
            os.mkdir(d)
            for f in files:
                shutil.copy(SAMPLE, os.path.join(d, f + ".xml"))
            rep = os.path.join(d, "r.jsonl")
            started = time.monotonic()
            r = run([IPF, "render", *jobs, "--timeout", "1", "--no-date", "--report", rep, "-o", d,
                     *[os.path.join(d, f + ".xml") for f in files]],
                    env={"IPFORMS_TEST_HANG_ON": "b.xml"}, timeout=60)
            took = time.monotonic() - started
            lines = report(rep)
            st = [x["status"] for x in lines]
            want = ["rendered"] * (len(files) - 1) + ["failed"]
            if r.returncode != 2 or st != want or "WORKER-TIMEOUT" not in codes(lines[-1]):
                fail(f"{label}: exit {r.returncode}, {st}, {lines}\n{r.stderr}")
            if "b.xml" not in r.stderr or "WORKER-TIMEOUT" not in r.stderr:
                fail(f"{label}: the stuck file not reported on stderr: {r.stderr}")
            if took > 30:
                fail(f"{label}: stopped only after {took:.1f} s")
            if os.path.exists(os.path.join(d, "b.pdf")) or leftovers(d):
                fail(f"{label}: left behind: {os.listdir(d)}")
        print("one stuck file, and -j1: stopped after 1 s and named, as in a batch")


def case_combine():
    """--combine: one PDF of the batch, an outline entry per document, the
    font embedded once; a test-only form with the same font goes in too."""
    with tempfile.TemporaryDirectory() as tmp:
        tpl = os.path.join(tmp, "templates")
        os.mkdir(tpl)
        for d in ("national-filing", "schema"):
            os.symlink(os.path.join(REPO, "templates", d), os.path.join(tpl, d))
        os.symlink(os.path.join(REPO, "tests/data/templates/ledger-test"),
                   os.path.join(tpl, "ledger-test"))
        os.symlink(os.path.join(REPO, "fonts"), os.path.join(tmp, "fonts"))
        data, out = os.path.join(tmp, "data"), os.path.join(tmp, "out")
        os.mkdir(data)
        os.mkdir(out)
        variant(SAMPLE, os.path.join(data, "a.xml"), "甲网点")
        variant(SAMPLE, os.path.join(data, "b.xml"), "乙网点")
        with open(os.path.join(data, "c.xml"), "w", encoding="utf-8") as fh:
            fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                     '<ledger xmlns="urn:test:ledger" form="ledger-test">\n')
            for i in range(1, 40):
                fh.write(f"<entry><date>2024-01-{1 + i % 28:02d}</date>"
                         f"<what>第{i}条服务记录。</what></entry>\n")
            fh.write("</ledger>\n")
        comb = os.path.join(tmp, "all.pdf")
        r = run([IPF, "render", "-j2", "--no-date", "--templates", tpl, "-o", out,
                 "--combine", comb, data])
        if r.returncode != 0:
            fail(f"exit {r.returncode}: {r.stderr}")
        pages = 0
        for f in ("a", "b", "c"):
            info = subprocess.run(["pdfinfo", os.path.join(out, f + ".pdf")],
                                  capture_output=True, text=True).stdout
            pages += int(re.search(r"Pages:\s+(\d+)", info).group(1))
        info = subprocess.run(["pdfinfo", comb], capture_output=True, text=True).stdout
        if int(re.search(r"Pages:\s+(\d+)", info).group(1)) != pages:
            fail(f"combined pages differ from the sum {pages}: {info}")
        if not qpdf_ok(comb):
            fail("combined PDF fails qpdf --check")
        fonts = subprocess.run(["pdffonts", comb], capture_output=True, text=True).stdout
        # Each font once for the whole file (the text font, and the symbol
        # font the check boxes come from), not once per document.
        rows = fonts.strip().split("\n")[2:]
        names = [r.split()[0].split("+", 1)[-1] for r in rows]
        single = subprocess.run(["pdffonts", os.path.join(out, "a.pdf")], capture_output=True,
                                text=True).stdout.strip().split("\n")[2:]
        if len(names) != len(set(names)) or len(rows) != len(single) or \
                any(" yes " not in r for r in rows):
            fail(f"expected each font embedded once, as in one document:\n{fonts}")
        ol = subprocess.run(["mutool", "show", comb, "outline"], capture_output=True,
                            text=True).stdout
        top = re.findall(r'^[-+|]?\t"([^"]*)"', ol, re.M)
        if top != ["a", "b", "c"]:
            fail(f"outline: top-level entries {top}, expected one per document:\n{ol}")
        if not re.search(r'^\|\t\t"封面"', ol, re.M):
            fail(f"each document's own outline is not kept under its entry:\n{ol}")
        t = squash(text_of(comb))
        if t.find("甲网点") < 0 or t.find("乙网点") < t.find("甲网点") or "第39条服务记录" not in t:
            fail("combined text is not the three documents in order")
        print(f"combined: {pages} pages, one font, an outline entry per document")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
CASES[CASE]()
