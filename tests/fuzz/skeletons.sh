#!/bin/sh
# tests/fuzz/skeletons.sh IPFORMS [REPLAY]: writes the skeleton of every form
# that `IPFORMS forms` lists (`ipforms init FORM`) into a temporary directory
# and, given the fuzz_xml replay binary, replays them through the target
# (ctest: fuzz.replay.xml-skeletons).  With FUZZ_SKELETONS=DIR the skeletons
# are written into DIR and kept (tests/fuzz/run.sh seeds its corpus so).
# Exit 1 when no form is listed or a skeleton cannot be made.
set -eu
ipforms=$1
replay=${2:-}
if [ -n "${FUZZ_SKELETONS:-}" ]; then
    dir=$FUZZ_SKELETONS
    mkdir -p "$dir"
else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/ipf-skeletons.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
fi
forms=$("$ipforms" forms | awk '{print $1}')
if [ -z "$forms" ]; then
    echo "skeletons.sh: '$ipforms forms' listed no form" >&2
    exit 1
fi
n=0
for f in $forms; do
    if ! "$ipforms" init "$f" >"$dir/skeleton-$f.xml"; then
        echo "skeletons.sh: 'ipforms init $f' failed" >&2
        exit 1
    fi
    n=$((n + 1))
done
echo "skeletons.sh: $n skeleton(s)"
if [ -n "$replay" ]; then
    "$replay" "$dir"/skeleton-*.xml
fi
