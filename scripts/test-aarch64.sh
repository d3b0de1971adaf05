#!/bin/sh
# Cross-compile the kernel and core tests for AArch64 and run them under qemu-aarch64.
#   scripts/test-aarch64.sh [build-dir]        (default: build-aarch64 in the repo)
# Exits non-zero when a build or a test fails; prints a skip line and exits 0 when the
# cross compiler or qemu is not installed.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$here/build-aarch64"}
cxx=${CXX_AARCH64:-aarch64-linux-gnu-g++}
qemu=${QEMU_AARCH64:-qemu-aarch64}

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
catch_inc=""
for d in /usr/include /usr/local/include; do
    if [ -f "$d/catch2/catch.hpp" ]; then catch_inc="$d/catch2_only"; mkdir -p "$out/inc"; ln -sfn "$d/catch2" "$out/inc/catch2"; fi
done
if [ -z "$catch_inc" ]; then
    echo "test-aarch64: SKIP (catch2/catch.hpp not found)"
    exit 0
fi

flags="-std=c++17 -O2 -Wall -Wextra -Werror -static -I$here/include -I$out/inc \
  -DSMOLVLM_SHARED_DIR=\"$here/../shared\" -DSMOLVLM_SOURCE_DIR=\"$here\" -DSMOLVLM_BINARY_DIR=\"$out\""
if [ ! -f "$out/main.o" ] || [ "$here/tests/main.cpp" -nt "$out/main.o" ]; then
    # shellcheck disable=SC2086
    $cxx $flags -c "$here/tests/main.cpp" -o "$out/main.o"
fi
srcs=$(ls "$here"/tests/kernels/*_test.cpp "$here"/tests/core/*_test.cpp "$here"/tests/nn/*_test.cpp)
echo "test-aarch64: building $(echo "$srcs" | wc -l) test files with $cxx"
# shellcheck disable=SC2086
$cxx $flags "$out/main.o" $srcs -o "$out/smolvlm-tests-aarch64" -lpthread

# qemu's default CPU (max) has NEON, dotprod and i8mm: both NEON kernels run.
echo "test-aarch64: running under $qemu"
"$qemu" "$out/smolvlm-tests-aarch64"
# And once with a CPU without dotprod, so the plain NEON path is the best one picked.
"$qemu" -cpu cortex-a53 "$out/smolvlm-tests-aarch64" "[kernels]"

# The same tests built by clang for AArch64 (its arm_neon.h differs from GCC's: e.g. the
# dotprod intrinsics), linked against the GNU cross toolchain's libraries.
clang_cxx=${CLANG_CXX:-clang++}
if command -v "$clang_cxx" >/dev/null 2>&1; then
    echo "test-aarch64: building the same tests with $clang_cxx --target=aarch64-linux-gnu"
    # shellcheck disable=SC2086
    $clang_cxx --target=aarch64-linux-gnu $flags "$here/tests/main.cpp" $srcs -o "$out/smolvlm-tests-aarch64-clang" -lpthread
    "$qemu" "$out/smolvlm-tests-aarch64-clang"
else
    echo "test-aarch64: no $clang_cxx: the clang build is skipped"
fi

# One fixture end to end: smolvlm-cli built for AArch64, greedy ids compared with the golden ones.
fixture="$here/../shared/fixtures/idefics3_bf16_rgba_tall"
if [ -f "$fixture/golden.json" ]; then
    echo "test-aarch64: building smolvlm-cli"
    # shellcheck disable=SC2086
    $cxx $flags "$here/examples/smolvlm-cli.cpp" -o "$out/smolvlm-cli-aarch64" -lpthread
    want=$(tr -d ' \n' < "$fixture/golden.json" | grep -o '"generated_ids":\[[0-9,]*\]' | head -n 1 |
           sed 's/.*\[//; s/\]//; s/,/ /g')
    cat > "$out/rgba_tall.json" <<JSON
[{"role":"user","content":[{"type":"text","text":"What is in"},{"type":"image","path":"$fixture/inputs/rgba_37x211.png"},{"type":"text","text":"? Answer briefly."}]}]
JSON
    got=$("$qemu" "$out/smolvlm-cli-aarch64" -m "$fixture/model" --messages "$out/rgba_tall.json" -n 16 --temp 0 \
          --ignore-eos --ids -t 2 2>/dev/null | sed -n 's/^output_ids: //p')
    if [ "$got" != "$want" ]; then
        echo "test-aarch64: FAIL: fixture idefics3_bf16_rgba_tall greedy ids differ"
        echo "  want: $want"
        echo "  got:  $got"
        exit 1
    fi
    echo "test-aarch64: fixture idefics3_bf16_rgba_tall end to end under $qemu: 16 greedy ids identical"
else
    echo "test-aarch64: fixture end-to-end skipped (../shared/fixtures absent)"
fi
echo "test-aarch64: OK"
