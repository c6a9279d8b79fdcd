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
find samples -name '*.xml' -not -path 'samples/invalid/*' | sort | while read -r f; do
    ./build/ipforms render -o out "$f" || exit 1
done || status=1
for form in $(./build/ipforms forms | awk '{print $1}'); do
    ./build/ipforms blank -o out "$form" || status=1
done
ls -l out/*.pdf
exit $status
