#!/bin/sh
# README command 1: install what is missing, build, and render every sample
# (and every blank form) into out/.
set -eu
cd "$(dirname "$0")/.."
sh tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
status=0
# Valid samples only: samples/invalid/ exists to show diagnostics, not PDFs.
# One batch: every sample at once, in parallel, with a report of what was
# made; two samples that would write one PDF are reported, not overwritten.
find samples -name '*.xml' -not -path 'samples/invalid/*' | sort |
    ./build/ipforms render -q -o out --files-from - || status=1
for form in $(./build/ipforms forms | awk '{print $1}'); do
    ./build/ipforms blank -o out "$form" || status=1
done
ls -l out/*.pdf
exit $status
