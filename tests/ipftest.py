"""What the end-to-end check scripts share: stopping on a failure, running a
command for its text, and reading text back out of pdftotext's pages.

Each script is run as tests/NAME.py, so this directory is first on its
sys.path and `from ipftest import ...` finds this file."""
import re
import subprocess
import sys


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def squash(s):
    return re.sub(r"\s+", "", s)


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
    """t (not empty) is printed, possibly continued over the following pages
    (where the repeated headings, labels and page numbers come between)."""
    for k in range(len(pages)):
        rest, j = t, k
        while j < len(pages) and rest:
            n = longest_prefix_in(rest, pages[j])
            if n == len(rest):
                return True
            if n == 0:
                break
            rest, j = rest[n:], j + 1
    return False
