#!/usr/bin/env bash
# Cross-compile the kernel, core and nn tests for AArch64 and run them under qemu-aarch64.
#   scripts/test-aarch64.sh [build-dir]        (default: build-aarch64 in the repo)
#
# Runs (what only an AArch64 build can check: the NEON / dotprod kernels and their dispatch):
#   1. the tests built by g++, on qemu's default CPU (max: NEON, dotprod, i8mm);
#   2. their [kernels] cases again on a Cortex-A53 (no dotprod: the plain NEON path is picked);
#   3. the kernel and nn tests built by clang++ --target=aarch64 (its arm_neon.h differs from GCC's);
#   4. one fixture end to end through a cross-built smolvlm-cli (skipped without ../shared).
# Each run prints one line "test-aarch64: LABEL: P passed, F failed, K skipped" (Catch2 test
# cases, counted by the listener in tests/main.cpp; the end-to-end check is one case), and the
# script ends with "test-aarch64: total: P passed, F failed, K skipped" (scripts/test.sh adds it
# to its own count). Exits non-zero when a build or a test fails; every run is attempted.
# Prints a skip line and exits 0 when the cross compiler, qemu or Catch2 is missing.
# Environment: JOBS (parallel compiles, default nproc), CXX_AARCH64, QEMU_AARCH64, CLANG_CXX,
#              SMOLVLM_SHARED (fixtures, default ../shared).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/build-aarch64"}
cxx=${CXX_AARCH64:-aarch64-linux-gnu-g++}
qemu=${QEMU_AARCH64:-qemu-aarch64}
shared=${SMOLVLM_SHARED:-"$here/../shared"}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "test-aarch64: SKIP ($cxx not found)"
    exit 0
fi
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "test-aarch64: SKIP ($qemu not found)"
    exit 0
fi

mkdir -p "$out"
# Catch2 v2 is header-only; use the host's copy of its headers.
catch_found=0
for d in /usr/include /usr/local/include; do
    if [ -f "$d/catch2/catch.hpp" ]; then catch_found=1; mkdir -p "$out/inc"; ln -sfn "$d/catch2" "$out/inc/catch2"; fi
done
if [ $catch_found = 0 ]; then
    echo "test-aarch64: SKIP (catch2/catch.hpp not found)"
    exit 0
fi

flags=(-std=c++17 -O2 -Wall -Wextra -Werror -static "-I$here/include" "-I$out/inc"
       "-DSMOLVLM_SHARED_DIR=\"$shared\"" "-DSMOLVLM_SOURCE_DIR=\"$here\"" "-DSMOLVLM_BINARY_DIR=\"$out\"")
srcs=("$here"/tests/main.cpp "$here"/tests/kernels/*_test.cpp "$here"/tests/core/*_test.cpp "$here"/tests/nn/*_test.cpp)
# clang: only what reaches the NEON intrinsics (kernels/, and nn/ through the kernel table);
# the core tests hold no NEON code, so clang's build of them adds nothing to g++'s.
srcs_clang=("$here"/tests/main.cpp "$here"/tests/kernels/*_test.cpp "$here"/tests/nn/*_test.cpp)

pass=0 fail=0 skip=0
failed=()
tally() {  # tally LABEL P F K
    echo "test-aarch64: $1: $2 passed, $3 failed, $4 skipped"
    pass=$((pass + $2)) fail=$((fail + $3)) skip=$((skip + $4))
    [ "$3" -eq 0 ] || failed+=("$1")
}

# build TAG SOURCES-ARRAY-NAME COMPILER...: compile every source to its own object ($JOBS at a
# time, only what changed since the last run), then link $out/smolvlm-tests-aarch64-TAG.
build() {
    local tag="$1" s o running=0 rc=0
    local -n list="$2"
    shift 2
    mkdir -p "$out/obj-$tag"
    local objs=()
    for s in "${list[@]}"; do
        o="$out/obj-$tag/$(basename "$(dirname "$s")")_$(basename "$s" .cpp).o"
        objs+=("$o")
        # Headers change too: rebuild when any header or the source is newer than the object.
        if [ -f "$o" ] && [ -z "$(find "$s" "$here/include" "$here/tests/test_util.hpp" -newer "$o" -print -quit)" ]; then
            continue
        fi
        "$@" "${flags[@]}" -c "$s" -o "$o" &
        running=$((running + 1))
        if [ $running -ge "$JOBS" ]; then wait -n || rc=1; running=$((running - 1)); fi
    done
    while [ $running -gt 0 ]; do wait -n || rc=1; running=$((running - 1)); done
    [ $rc -eq 0 ] || return 1
    "$@" "${flags[@]}" "${objs[@]}" -o "$out/smolvlm-tests-aarch64-$tag" -lpthread
}

# run LABEL CMD...: run a Catch2 binary, tally its test cases from the listener's line.
run() {
    local label="$1" log="$out/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').log" line rc
    shift
    "$@" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^smolvlm-tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -n 1)
    if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
        local f=${BASH_REMATCH[2]}
        # A crash after the summary, or a non-zero exit with no failed case, still fails the run.
        [ $rc -eq 0 ] || [ "$f" -gt 0 ] || f=1
        tally "$label" "${BASH_REMATCH[1]}" "$f" "${BASH_REMATCH[3]}"
    else
        tally "$label" 0 1 0  # no summary: the binary crashed or could not start
    fi
    [ $rc -eq 0 ] || grep -v '^$' "$log" | tail -n 60
}

echo "test-aarch64: building $((${#srcs[@]} - 1)) test files with $cxx"
if build gcc srcs "$cxx"; then
    # qemu's default CPU (max) has NEON, dotprod and i8mm: both NEON kernels run.
    run "g++, qemu max" "$qemu" "$out/smolvlm-tests-aarch64-gcc"
    # And once with a CPU without dotprod, so the plain NEON path is the best one picked.
    run "g++, qemu cortex-a53 [kernels]" "$qemu" -cpu cortex-a53 "$out/smolvlm-tests-aarch64-gcc" "[kernels]"
else
    tally "g++ build" 0 1 0
fi

# The same tests built by clang for AArch64 (its arm_neon.h differs from GCC's: e.g. the
# dotprod intrinsics), linked against the GNU cross toolchain's libraries.
clang_cxx=${CLANG_CXX:-clang++}
if command -v "$clang_cxx" >/dev/null 2>&1; then
    echo "test-aarch64: building the kernel and nn tests with $clang_cxx --target=aarch64-linux-gnu"
    if build clang srcs_clang "$clang_cxx" --target=aarch64-linux-gnu; then
        run "clang++, qemu max" "$qemu" "$out/smolvlm-tests-aarch64-clang"
    else
        tally "clang++ build" 0 1 0
    fi
else
    echo "test-aarch64: no $clang_cxx: the clang build is skipped"
fi

# One fixture end to end: smolvlm-cli built for AArch64, greedy ids compared with the golden ones.
fixture="$shared/fixtures/idefics3_bf16_rgba_tall"
if [ -f "$fixture/golden.json" ]; then
    echo "test-aarch64: building smolvlm-cli"
    if "$cxx" "${flags[@]}" "$here/examples/smolvlm-cli.cpp" -o "$out/smolvlm-cli-aarch64" -lpthread; then
        want=$(tr -d ' \n' < "$fixture/golden.json" | grep -o '"generated_ids":\[[0-9,]*\]' | sed -n 1p |
               sed 's/.*\[//; s/\]//; s/,/ /g')
        cat > "$out/rgba_tall.json" <<JSON
[{"role":"user","content":[{"type":"text","text":"What is in"},{"type":"image","path":"$fixture/inputs/rgba_37x211.png"},{"type":"text","text":"? Answer briefly."}]}]
JSON
        got=$("$qemu" "$out/smolvlm-cli-aarch64" -m "$fixture/model" --messages "$out/rgba_tall.json" -n 16 --temp 0 \
              --ignore-eos --ids -t 2 2>"$out/cli.err" | sed -n 's/^output_ids: //p')
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            echo "test-aarch64: fixture idefics3_bf16_rgba_tall end to end under $qemu: 16 greedy ids identical"
            tally "smolvlm-cli end to end" 1 0 0
        else
            echo "test-aarch64: FAIL: fixture idefics3_bf16_rgba_tall greedy ids differ"
            echo "  want: $want"
            echo "  got:  $got"
            tail -n 5 "$out/cli.err"
            tally "smolvlm-cli end to end" 0 1 0
        fi
    else
        tally "smolvlm-cli build" 0 1 0
    fi
else
    echo "test-aarch64: fixture end-to-end skipped ($fixture absent)"
    tally "smolvlm-cli end to end" 0 0 1
fi

echo "test-aarch64: total: $pass passed, $fail failed, $skip skipped"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test-aarch64: FAILED: ${failed[*]}"
    exit 1
fi
echo "test-aarch64: OK"
