#!/bin/sh
# The README's speed table, as measured: whole-process medians with
# farm-bench (the workplace's timing tool: runs A and B in turn and takes the
# ratio pair by pair, so a machine whose speed drifts still gives a fair
# ratio).  Without farm-bench, bench/run.sh measures the same work with date.
#
#   sh bench/paired.sh            # after tools/setup.sh; LibreOffice installed
set -eu
cd "$(dirname "$0")/.."
command -v farm-bench >/dev/null || { echo "farm-bench not installed: use bench/run.sh" >&2; exit 2; }
IPF=$PWD/build/ipforms
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 bench/gen.py -n 1000 "$tmp/data" >/dev/null
python3 bench/gen.py -n 100 --seed 7 --html "$tmp/lo-data" >/dev/null
find "$tmp/data" -name '*.xml' > "$tmp/list"
cat "$tmp/list" "$tmp/list" "$tmp/list" > "$tmp/list3"
ls "$tmp"/lo-data/*.xml > "$tmp/l100"
mkdir -p "$tmp/out" "$tmp/o100" "$tmp/o1" "$tmp/lo" "$tmp/lo1" "$tmp/lo-home/.fonts"
cp fonts/FandolFang-Regular.ttf "$tmp/lo-home/.fonts/"
HOME=$tmp/lo-home fc-cache "$tmp/lo-home/.fonts" >/dev/null 2>&1 || true
export HOME="$tmp/lo-home"

echo "== 1,000 varied forms, render -j2 =="
farm-bench -n 5 -- sh -c "rm -rf $tmp/out/*; exec $IPF render -q -j2 --no-date -o $tmp/out $tmp/data"
echo "== validation, 3,000 files, -j2 =="
farm-bench -n 5 -- "$IPF" validate -q -j2 --files-from "$tmp/list3"
if command -v soffice >/dev/null; then
    echo "== 100 forms in one process, against LibreOffice with 100 files in one call =="
    farm-bench -n 3 --timeout 400 \
        --vs "sh -c 'exec soffice --headless --infilter=HTML --convert-to pdf --outdir $tmp/lo $tmp/lo-data/*.html'" \
        -- sh -c "exec $IPF render -q -j1 --no-date -o $tmp/o100 --files-from $tmp/l100"
    f=$(head -1 "$tmp/l100")
    echo "== one process per form =="
    farm-bench -n 5 --timeout 200 \
        --vs "soffice --headless --infilter=HTML --convert-to pdf --outdir $tmp/lo1 ${f%.xml}.html" \
        -- "$IPF" render -q --no-date -o "$tmp/o1" "$f"
fi
