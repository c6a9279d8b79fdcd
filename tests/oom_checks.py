#!/usr/bin/python3
"""Out of memory at any allocation (issue 11; docs/threat-model.md).

Usage: oom_checks.py IPFORMS_OOM REPO_ROOT

IPFORMS_OOM is the ipforms command built with tests/oom_hook.c: with
IPF_OOM_AT=k the k-th allocation of the program's own code fails, once.  A
`render --force` of the realistic sample with one rule broken (so that a
diagnostic is recorded and a PDF written) is counted once, then repeated
with k running over the first and last allocations and, for each part of
the program (found from one traced run: IPF_OOM_TRACE), an even share of
its allocations (bounded: OOM_RUNS, default 300 runs, some 10 s in the
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

INVALID = "samples/invalid/national-filing/bad-email.xml"
DIAG = re.compile(r"^\S.*?(:\d+)?: (error|warning) [A-Z][A-Z0-9-]+ \S")
# One document, so that it is rendered in this process (a batch forks): the
# sample with one rule broken, rendered anyway, so that diagnostics are
# recorded as well as a PDF written.
PROGRESS = ("bad.xml → out/bad.pdf",)
CMD = ["render", "-j1", "--force", "-o", "out", "bad.xml"]


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


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


def run(ipf, tmp, k):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    where = os.path.join(tmp, "where")
    if os.path.exists(where):
        os.remove(where)
    env = dict(os.environ, IPF_OOM_AT=str(k), IPF_OOM_WHERE=where, LC_ALL="C.UTF-8")
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
        trace = os.path.join(tmp, "trace")
        r = subprocess.run([ipf, *CMD], cwd=tmp,
                           env=dict(os.environ, IPF_OOM_COUNT=count, IPF_OOM_TRACE=trace),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 1 or os.listdir(os.path.join(tmp, "out")) != ["bad.pdf"]:
            fail(f"the render without failures exits {r.returncode}:\n{r.stderr}")
        baseline = r.stderr
        total = max(int(l) for l in open(count).read().split())  # one line a process
        # Which part of the program makes each allocation (a worker forked
        # for the input counts on from its parent's count, so a k can be
        # in both processes).
        by_class = {}
        for chunk in open(trace, errors="replace").read().split("@")[1:]:
            k, _, stack = chunk.partition("\n")
            by_class.setdefault(site_class(stack), set()).add(int(k))
        # The first and the last allocations (set-up; recording and printing
        # the diagnostics at the end), then an even share of the runs for
        # every part, spread over that part's allocations.
        ks = set(range(1, min(total, 25) + 1)) | set(range(max(1, total - 24), total + 1))
        share = max(1, (runs - len(ks)) // max(1, len(by_class)))
        for cls in sorted(by_class):
            mine = sorted(by_class[cls])
            step = max(1, len(mine) / share)
            ks |= {mine[int(i * step)] for i in range(min(share, len(mine)))}
        ks = sorted(ks)
        failed = []
        nomem = ok = 0
        reached = {}
        for k in ks:
            r, files, cls = run(ipf, tmp, k)
            reached[cls] = reached.get(cls, 0) + 1
            what = f"k={k} ({cls}): exit {r.returncode}"
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
            fail(f"{len(failed)} of {len(ks)} runs out of {total} allocations")
        missing = [name for _, name in CLASSES if name not in reached]
        print("failures injected in: " + ", ".join(f"{c} {n}" for c, n in sorted(reached.items())))
        if missing:
            fail(f"no allocation failed in: {', '.join(missing)} (give OOM_RUNS more runs)")
        print(f"{len(ks)} runs over {total} allocations: {nomem} said 内存不足 and exited 2, "
              f"{ok} absorbed the failure and gave the same result as without it")


if __name__ == "__main__":
    main()
