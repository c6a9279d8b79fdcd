#!/bin/sh
# Benchmarks for issue 9 (README "Speed and size"): an outlet list of N rows
# (CSV roster in, PDF and CSV out) and a roll-up of N annual summaries
# against a roster of N outlets, at -j1 and -j2.  Build first (tools/setup.sh).  Brief: one
# run of each, N=10000 by default; the data is generated into a temporary
# directory and removed.
set -eu
cd "$(dirname "$0")/.."
N=${N:-10000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$tmp" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
provs = ["北京市", "河北省石家庄市", "辽宁省沈阳市", "吉林省长春市", "福建省厦门市", "湖南省长沙市",
         "重庆市", "新疆维吾尔自治区乌鲁木齐市", "新疆生产建设兵团"]
with open(f"{d}/roster.csv", "w", encoding="utf-8", newline="") as f:
    f.write("地区,网点名称,机构类别,地址,联系电话,服务事项,有效期\r\n")
    for i in range(n):
        p = provs[i % len(provs)]
        f.write(f"{p},{p[:2]}第{i}知识产权信息服务中心,高校,{p}示范路{i}号,0431-8558{i % 10000:04d},"
                f"专利、商标信息检索；科技查新；知识产权培训,2024年1月—2026年12月\r\n")
os.makedirs(f"{d}/sums")
tpl = f"{d}/templates"
import shutil
shutil.copytree("templates", tpl)
shutil.copytree("tests/data/lists/templates/test-summary", f"{tpl}/test-summary")
for i in range(n):
    p = provs[i % len(provs)]
    with open(f"{d}/sums/s{i}.xml", "w", encoding="utf-8") as f:
        f.write(f'<summary xmlns="urn:ipforms:data:1" form="test-summary" year="2024"><outlet>'
                f'<name>{p[:2]}第{i}知识产权信息服务中心</name></outlet><date>2025-01-{1 + i % 40 if i % 40 < 31 else 31:02d}</date>'
                f'<statistics><consultations>{i % 97}</consultations><searches>{i % 13}</searches>'
                f'</statistics></summary>\n')
PY
# Wall and CPU time: on a shared machine the CPU time is the steadier figure.
t() { /usr/bin/time -f "%e s wall, %U s user + %S s sys" "$@"; }
echo "== ipforms list: $N rows from a CSV roster → PDF + CSV =="
t ./build/ipforms list -q --no-date --year 2024 -o "$tmp" "$tmp/roster.csv"
ls -l "$tmp"/outlet-list-2024.pdf "$tmp"/outlet-list-2024.csv | awk '{print $5, "bytes", $9}'
pdfinfo "$tmp/outlet-list-2024.pdf" 2>/dev/null | grep Pages || true
# The summaries are read by -j worker processes (docs/lists.md); -j1 and -j2
# must give the same PDF and CSV.
for j in 1 2; do
    echo "== ipforms rollup -j$j: $N summaries against a roster of $N =="
    mkdir -p "$tmp/j$j"
    t ./build/ipforms rollup -q -j$j --no-date --year 2024 --templates "$tmp/templates" \
        -o "$tmp/j$j" --roster "$tmp/roster.csv" "$tmp"/sums/*.xml
done
cmp "$tmp/j1/rollup-2024.pdf" "$tmp/j2/rollup-2024.pdf" && cmp "$tmp/j1/rollup-2024.csv" \
    "$tmp/j2/rollup-2024.csv" && echo "-j1 and -j2: the same PDF and CSV"
