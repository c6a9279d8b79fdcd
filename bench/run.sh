#!/bin/sh
# Benchmarks for the README (issue 8, "Speed and memory").  Build first
# (tools/setup.sh).  Everything runs on generated, varied national filings
# (bench/gen.py), and the same work through LibreOffice's headless converter
# in the same run, so the ratios hold however loaded the machine is.
#
#   N=1000 sh bench/run.sh        # forms for the batch figures
#   LO=0 sh bench/run.sh          # skip LibreOffice
#
# LibreOffice is installed here if missing (as root: libreoffice-writer-nogui,
# Debian's converter without a GUI); the tests never need it.
set -eu
cd "$(dirname "$0")/.."
N=${N:-1000}
LO=${LO:-1}
IPF=./build/ipforms
BENCH=./build/bench/ipforms-bench
SAMPLE=samples/national-filing/chongqing-university-library.xml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ms() { date +%s%N; }
rss() { # peak RSS in MB of a command (the largest single process)
    /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1 / 1024}'
}

python3 bench/gen.py -n "$N" "$tmp/data"
python3 bench/gen.py -n 100 --seed 7 --html "$tmp/lo-data"

echo "== one process, 200 forms (the realistic sample) =="
$BENCH -n 200 "$SAMPLE" | tee "$tmp/one.txt"
one=$(awk '/steady state/ {print $(NF-2)}' "$tmp/one.txt")

echo "== one process per form (ipforms render, 50 times) =="
mkdir "$tmp/pp"
s=$(ms)
i=0
while [ $i -lt 50 ]; do
    $IPF render -q --no-date -o "$tmp/pp" "$(ls "$tmp"/lo-data/*.xml | sed -n "$((i + 1))p")"
    i=$((i + 1))
done
e=$(ms)
per_proc=$(( (e - s) / 50 / 1000 ))
echo "$per_proc us per form as separate processes"

echo "== $N varied forms, render -j2 =="
mkdir "$tmp/out"
s=$(ms)
$IPF render -q -j2 --no-date -o "$tmp/out" "$tmp/data"
e=$(ms)
batch_ms=$(( (e - s) / 1000000 ))
echo "$N forms in $batch_ms ms wall ($(( (e - s) / N / 1000 )) us per form)"
du -b "$tmp/out" | awk -v n="$N" '{printf "mean PDF size: %.1f KB\n", $1 / n / 1024}'
rm -rf "$tmp/out" && mkdir "$tmp/out"
echo "peak RSS of one process in that batch: $(rss $IPF render -q -j2 --no-date -o "$tmp/out" "$tmp/data") MB"

echo "== 200 documents of every form (bench/gen.py --form all), render -j2 =="
python3 bench/gen.py -n 200 --form all --valid-only "$IPF" "$tmp/all"
mkdir "$tmp/all-out"
s=$(ms)
$IPF render -q -j2 --no-date -o "$tmp/all-out" "$tmp/all" || true
e=$(ms)
echo "$(( (e - s) / 200 / 1000 )) us per document"

echo "== peak RSS in one process: 200 against 2000 forms =="
echo "200: $(rss $BENCH -n 200 "$SAMPLE") MB   2000: $(rss $BENCH -n 2000 "$SAMPLE") MB"

echo "== validation, -j2, 3 x $N files =="
find "$tmp/data" -name '*.xml' > "$tmp/list"
cat "$tmp/list" "$tmp/list" "$tmp/list" > "$tmp/list3"
s=$(ms)
$IPF validate -q -j2 --files-from "$tmp/list3"
e=$(ms)
echo "$(( 3 * N * 1000000000 / (e - s) )) files/s"

echo "== start-up with 1 form against 21 forms in the catalogue =="
mkdir "$tmp/tpl1" "$tmp/tpl21"
for d in national-filing schema; do ln -s "$PWD/templates/$d" "$tmp/tpl1/$d"; ln -s "$PWD/templates/$d" "$tmp/tpl21/$d"; done
ln -s "$PWD/fonts" "$tmp/fonts"
i=1
while [ $i -le 20 ]; do cp -r templates/national-filing "$tmp/tpl21/copy-$i"
    sed -i "s/id=\"national-filing\"/id=\"copy-$i\"/" "$tmp/tpl21/copy-$i/template.xml"; i=$((i + 1)); done
for t in tpl1 tpl21; do
    s=$(ms); i=0
    while [ $i -lt 20 ]; do $IPF validate -q --templates "$tmp/$t" "$SAMPLE"; i=$((i + 1)); done
    e=$(ms); echo "$t: $(( (e - s) / 20 / 1000 )) us per validate process"
done

if [ "$LO" = 1 ]; then
    if ! command -v soffice >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "== installing libreoffice-writer-nogui for the comparison =="
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            libreoffice-writer-nogui >/dev/null
    fi
    if command -v soffice >/dev/null 2>&1; then
        echo "== LibreOffice headless, 100 comparable documents in one call =="
        # Its own profile, and the same FangSong font as ipforms uses.
        export HOME="$tmp/lo-home"
        mkdir -p "$HOME/.fonts"
        cp fonts/FandolFang-Regular.ttf "$HOME/.fonts/"
        fc-cache "$HOME/.fonts" >/dev/null 2>&1 || true
        lo() { soffice --headless --infilter="HTML (StarWriter)" --convert-to pdf "$@"; }
        lo --outdir "$tmp/lo-warm" "$(ls "$tmp"/lo-data/*.html | head -1)" >/dev/null 2>&1 || true
        s=$(ms)
        lo --outdir "$tmp/lo" "$tmp"/lo-data/*.html >/dev/null 2>&1
        e=$(ms)
        lo_one=$(( (e - s) / 100 / 1000 ))
        echo "$lo_one us per form (100 in one call)"
        echo "peak RSS: $(rss soffice --headless --infilter="HTML (StarWriter)" --convert-to pdf --outdir "$tmp/lo2" "$tmp"/lo-data/*.html) MB"
        s=$(ms); i=0
        while [ $i -lt 5 ]; do
            lo --outdir "$tmp/lo3" "$(ls "$tmp"/lo-data/*.html | sed -n "$((i + 1))p")" >/dev/null 2>&1
            i=$((i + 1))
        done
        e=$(ms)
        lo_proc=$(( (e - s) / 5 / 1000 ))
        echo "$lo_proc us per form, one call per form"
        du -b "$tmp/lo" | awk '{printf "mean PDF size: %.1f KB\n", $1 / 100 / 1024}'
        awk -v a="$one" -v b="$lo_one" 'BEGIN {printf "ratio ipforms/LibreOffice, one process: %.3f\n", a * 1000 / b}'
        awk -v a="$per_proc" -v b="$lo_proc" 'BEGIN {printf "ratio ipforms/LibreOffice, one process per form: %.3f\n", a / b}'
    else
        echo "LibreOffice not installed: no comparison"
    fi
fi
