#!/bin/sh
# Benchmarks for the README: the realistic national sample rendered N times
# in one process, and as N separate processes.  Build first (tools/setup.sh).
set -eu
cd "$(dirname "$0")/.."
N=${N:-200}
SAMPLE=${SAMPLE:-samples/national-filing/chongqing-university-library.xml}
echo "== one process, $N forms =="
./build/bench/ipforms-bench -n "$N" "$SAMPLE"
echo "== $N processes (ipforms render, one form each) =="
tmp=$(mktemp -d)
start=$(date +%s%N)
i=0
while [ $i -lt "$N" ]; do
    ./build/ipforms render -q --no-date -o "$tmp" "$SAMPLE"
    i=$((i + 1))
done
end=$(date +%s%N)
echo "$(( (end - start) / N / 1000 )) us per form as separate processes"
ls -l "$tmp"/*.pdf | awk '{print "PDF size:", $5, "bytes"}'
rm -rf "$tmp"
