#!/usr/bin/python3
"""Out of memory at any allocation (issue 11; docs/threat-model.md).

Usage: oom_checks.py IPFORMS_OOM REPO_ROOT

IPFORMS_OOM is the ipforms command built with tests/oom_hook.c: with
IPF_OOM_AT=k the k-th allocation of the program's own code fails, once.  A
`render --force` of the realistic sample with one rule broken (so that a
diagnostic is recorded and a PDF written) is counted once, then repeated
with k running over every allocation of the main process and, in the worker
process the batch forks for the file, its first and last allocations and an
even spread of the rest (bounded: OOM_RUNS, default 300 runs, some 10 s in the
Release build), so that reading the templates, schemas, rules and data,
validating, laying out, writing the PDF and recording diagnostics are each
reached.  Every run must either give exactly the result without failures
(the failure absorbed), or exit 2 saying in Chinese that memory ran out
(内存不足), with nothing but diagnostic lines on stderr, no crash, no
sanitizer report (leaks included), and no partial or temporary file left in
the output directory; and the failures must have hit each part of the
program (CLASSES).  Exit 0 pass, 1 fail."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ipftest import fail

INVALID = "samples/invalid/national-filing/bad-email.xml"
DIAG = re.compile(r"^\S.*?(:\d+)?: (error|warning) [A-Z][A-Z0-9-]+ \S")
# One document, so that it is rendered in this process (a batch forks): the
# sample with one rule broken, rendered anyway, so that diagnostics are
# recorded as well as a PDF written.
PROGRESS = ("bad.xml → out/bad.pdf",)
CMD = ["render", "-j1", "--force", "-o", "out", "bad.xml"]


# Which part of the program an allocation belongs to: the first function
# of the library's interface on the failing allocation's stack.
CLASSES = [("ipf_xml_", "XML read"), ("ipf_schema_", "schema"), ("ipf_ruleset_", "rules"),
           ("ipf_layout_", "layout"), ("ipf_pdf_", "PDF writing"), ("ipf_diag", "diagnostics")]


def site_class(stack):
    names = re.findall(r"\((ipf_[a-z0-9_]+)\+", stack)
    for n in names:
        for prefix, name in CLASSES:
            if n.startswith(prefix):
                return name
    return "other (" + names[0] + ")" if names else "other"


def run(ipf, tmp, k, child):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    where = os.path.join(tmp, "where")
    if os.path.exists(where):
        os.remove(where)
    env = dict(os.environ, IPF_OOM_WHERE=where, LC_ALL="C.UTF-8")
    env["IPF_OOM_CHILD_AT" if child else "IPF_OOM_AT"] = str(k)
    env.pop("IPF_OOM_COUNT", None)
    r = subprocess.run([ipf, *CMD], cwd=tmp, env=env,
                       capture_output=True, text=True, timeout=120)
    stack = open(where).read() if os.path.exists(where) else ""
    return r, sorted(os.listdir(out)), site_class(stack)


def main():
    ipf, repo = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    runs = int(os.environ.get("OOM_RUNS", "300"))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(repo, INVALID), os.path.join(tmp, "bad.xml"))
        count = os.path.join(tmp, "count")
        os.makedirs(os.path.join(tmp, "out"))
        r = subprocess.run([ipf, *CMD], cwd=tmp,
                           env=dict(os.environ, IPF_OOM_COUNT=count), capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 1 or os.listdir(os.path.join(tmp, "out")) != ["bad.pdf"]:
            fail(f"the render without failures exits {r.returncode}:\n{r.stderr}")
        baseline = r.stderr
        main_total, total = (int(x) for x in open(count).read().split())
        # The main process (the batch: reading the list of files, the
        # catalogue, taking in the worker's result) is short: all of it.
        plan = [(k, False) for k in range(1, main_total + 1)]
        # The worker renders the file: its first and last allocations and a
        # spread of the rest.
        first = min(total, runs // 4)
        ks = list(range(1, first + 1))
        # The last allocations too: recording and printing the diagnostics
        # comes at the end, and is only a few allocations.
        ks += [k for k in range(max(first + 1, total - 24), total + 1)]
        rest = runs - len(ks)
        # The rest spread evenly over the remaining allocations (the phases
        # come one after another, so every phase gets its share).
        for i in range(max(0, rest)):
            k = first + 1 + (total - first - 1) * i // max(1, rest - 1)
            if k not in ks and k <= total:
                ks.append(k)
        failed = []
        nomem = ok = 0
        reached = {}
        plan += [(k, True) for k in ks]
        for k, child in plan:
            r, files, cls = run(ipf, tmp, k, child)
            reached[cls] = reached.get(cls, 0) + 1
            what = f"{'worker ' if child else ''}k={k} ({cls}): exit {r.returncode}"
            lines = [l for l in r.stderr.splitlines() if l not in PROGRESS]
            bad = [l for l in lines if not DIAG.match(l)]
            if r.returncode == 1:
                # The failure was absorbed (an optional cache, a retry): the
                # result is exactly the one without failures; or it hit
                # printing the diagnostics at the very end, which says so.
                late = any("内存不足" in l for l in lines) and not bad
                if files != ["bad.pdf"] or (r.stderr != baseline and not late):
                    failed.append(f"{what}, files {files}, stderr {r.stderr[-600:]!r}")
                else:
                    ok += 1
            elif r.returncode == 2:
                # Said; no partial or temporary file (a PDF is only ever
                # renamed into place whole: it may stand when what failed
                # was recording a diagnostic after it was written).
                said = any("内存不足" in l for l in lines)
                if files not in ([], ["bad.pdf"]) or bad or not said:
                    failed.append(f"{what}, files {files}, stderr {r.stderr[-600:]!r}")
                else:
                    nomem += 1
            else:
                failed.append(f"{what}, files {files}, stderr {r.stderr[-600:]!r}")
        for f in failed:
            print(f)
        if failed:
            fail(f"{len(failed)} of {len(plan)} runs out of {main_total} + {total} allocations")
        missing = [name for _, name in CLASSES if name not in reached]
        print("failures injected in: " + ", ".join(f"{c} {n}" for c, n in sorted(reached.items())))
        if missing:
            fail(f"no allocation failed in: {', '.join(missing)} (give OOM_RUNS more runs)")
        print(f"{len(plan)} runs over {main_total} + {total} allocations (main process + worker): "
              f"{nomem} said 内存不足 and exited 2, "
              f"{ok} absorbed the failure and gave the same result as without it")


if __name__ == "__main__":
    main()
