#!/bin/sh
# tests/fuzz/run.sh [TARGET...]: builds the libFuzzer targets with clang into
# build-fuzz/ and runs each one for a bounded time (docs/fuzzing.md).
#
#   FUZZ_SECONDS  seconds per target (default 60)
#   FUZZ_TARGETS  targets to run when none is named (default: all five)
#   FUZZ_BUILD    build directory (default build-fuzz)
#   FUZZ_KEEP     a directory to copy each grown working corpus into
#                 (FUZZ_KEEP/<target>/), for merging seeds by hand
#
# Each target starts from a copy, in a temporary directory, of its checked-in
# corpus (tests/fuzz/corpus/<target>), its regressions and the repository
# files it is seeded from (samples and the skeletons `ipforms init` makes of
# every form for xml, shipped templates for template); nothing is written
# into the source tree.  Exit 0 when no
# target found anything; 1 when one crashed, leaked, hung, ran out of memory
# or broke an invariant (the input is kept under FUZZ_BUILD/findings/ and
# printed); 2 when the targets cannot be built.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
case $build in
/*) ;;
*) build="$root/$build" ;;
esac
if [ $# -gt 0 ]; then
    targets="$*"
else
    targets=${FUZZ_TARGETS:-xml template linebreak layout csv}
fi
case $seconds in
'' | *[!0-9]*)
    echo "run.sh: FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
    exit 2
    ;;
esac
for t in $targets; do
    if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
        echo "run.sh: no fuzz target '$t' (tests/fuzz/fuzz_$t.c)" >&2
        exit 2
    fi
done
if ! command -v clang >/dev/null 2>&1; then
    echo "run.sh: clang is needed (tools/deps.sh --ci installs clang and libclang-rt-14-dev)" >&2
    exit 2
fi

echo "== building fuzz targets in $build =="
bin=""
for t in $targets; do
    bin="$bin fuzz_$t"
    # The xml target is seeded with every form's skeleton, which only
    # `ipforms init` makes (there are no skeleton files to copy).
    [ "$t" != xml ] || bin="$bin ipforms"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ipf-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
if ! CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIPF_WERROR=ON \
    -DIPF_FUZZ=ON >"$work/configure.log" 2>&1; then
    cat "$work/configure.log" >&2
    exit 2
fi
# shellcheck disable=SC2086 # one word per target
if ! cmake --build "$build" -j"$(nproc)" --target $bin >/dev/null; then
    echo "run.sh: building the fuzz targets failed" >&2
    exit 2
fi

# Copies every regular file given (globs that match nothing are skipped)
# into directory $1, under a name that keeps files of equal names apart.
seed() {
    dest=$1
    shift
    for f in "$@"; do
        [ -f "$f" ] || continue
        n=$(printf '%s' "$f" | tr '/' '_')
        cp "$f" "$dest/$n"
    done
}

failed=0
summary=""
for t in $targets; do
    dir="$work/$t"
    mkdir -p "$dir/corpus" "$dir/findings"
    seed "$dir/corpus" tests/fuzz/corpus/"$t"/* tests/fuzz/regressions/"$t"/*
    case $t in
    xml)
        seed "$dir/corpus" samples/*/*.xml samples/invalid/*/*.xml
        if ! FUZZ_SKELETONS="$dir/corpus" sh tests/fuzz/skeletons.sh "$build/ipforms" >/dev/null; then
            echo "run.sh: generating the skeletons (ipforms init) failed" >&2
            exit 2
        fi
        ;;
    template) seed "$dir/corpus" templates/*/template.xml ;;
    esac
    nseeds=$(find "$dir/corpus" -type f | wc -l)
    dict=""
    if [ -f "tests/fuzz/$t.dict" ]; then
        dict="-dict=$root/tests/fuzz/$t.dict"
    fi
    # The layout target typesets every input as a whole form: pieces of up
    # to 1 KiB (a flood puts 256 bytes of one in every field) keep it under
    # a millisecond an input; the checked-in long seeds (url, digits, flood)
    # are cut to that too.
    extra=""
    if [ "$t" = layout ]; then
        extra="-max_len=1024"
    fi
    echo "== fuzz_$t: ${seconds}s from $nseeds seed(s) =="
    rc=0
    # -timeout: one input running 25 s is a hang; -rss_limit_mb: a layout
    # that eats 2 GB is a finding, not a reason to swap on a shared machine.
    # shellcheck disable=SC2086 # $dict and $extra are one word or none
    (cd "$dir" &&
        IPF_FUZZ_TMPDIR="$dir" ASAN_OPTIONS=detect_leaks=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            "$build/tests/fuzz_$t" -max_total_time="$seconds" -timeout=25 \
            -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/findings/" \
            $dict $extra corpus >"$dir/log" 2>&1) || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    execs=${execs:-0}
    corpus=$(find "$dir/corpus" -type f | wc -l)
    # A slow-unit-* file is an input that took over 10 s: worth a look but
    # not a failure (a loaded CI machine makes them); a hang past -timeout
    # is one (timeout-*).
    for f in "$dir"/findings/slow-unit-*; do
        [ -f "$f" ] || continue
        echo "fuzz_$t: slow input (not a failure): $(wc -c <"$f") bytes, kept with FUZZ_KEEP"
        if [ -n "${FUZZ_KEEP:-}" ]; then
            mkdir -p "$FUZZ_KEEP/slow-$t"
            cp "$f" "$FUZZ_KEEP/slow-$t/"
        fi
        rm -f "$f"
    done
    nfound=$(find "$dir/findings" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$nfound" -ne 0 ]; then
        failed=1
        # libFuzzer stops at its first finding; say so even when it left no file.
        [ "$nfound" -ne 0 ] || nfound=1
        echo "fuzz_$t: FAILED (exit $rc) after $execs executions; log tail:"
        grep -v '^#[0-9]' "$dir/log" | tail -n 60
        keep="$build/findings/$t"
        mkdir -p "$keep"
        for f in "$dir"/findings/*; do
            [ -f "$f" ] || continue
            cp "$f" "$keep/"
            echo "fuzz_$t: crashing input: $keep/$(basename "$f") ($(wc -c <"$f") bytes)"
            if [ "$(wc -c <"$f")" -le 4096 ]; then
                echo "fuzz_$t: base64 of the input (save it, then: base64 -d >tests/fuzz/regressions/$t/NAME):"
                base64 <"$f"
            fi
        done
        echo "fuzz_$t: reproduce with $build/tests/fuzz_$t FILE; fix, then add FILE to tests/fuzz/regressions/$t/"
    else
        nfound=0
        echo "fuzz_$t: ok, $execs executions, corpus $nseeds -> $corpus"
    fi
    if [ -n "${FUZZ_KEEP:-}" ]; then
        mkdir -p "$FUZZ_KEEP/$t"
        cp "$dir"/corpus/* "$FUZZ_KEEP/$t/"
    fi
    summary="$summary$(printf '%-10s %12s %8s' "$t" "$execs" "$nfound")
"
    rm -rf "$dir"
done

echo "== fuzzing summary (${seconds}s per target) =="
printf '%-10s %12s %8s\n' target executions crashes
printf '%s' "$summary"
if [ "$failed" -ne 0 ]; then
    echo "fuzzing found a crash: see the inputs named above" >&2
    exit 1
fi
exit 0
