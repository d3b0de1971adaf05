#!/usr/bin/env bash
# scripts/test.sh — build everything and run the whole test suite, from a fresh clone.
#
# Installs what is missing (Debian packages), then:
#   0. single_include/ is what scripts/amalgamate makes from include/ (fails when stale)
#   1. CMake + g++ (Release): tests, examples, benches, per-header compile check; run the suite
#   2. Meson + clang++ with ASan + UBSan: the same suite (examples instrumented too);
#      all_headers.cpp with -Werror -fno-exceptions -fno-rtti
#   3. CMake + clang++: the per-header compile check under clang, the libFuzzer targets built
#      and smoke-run on a few thousand inputs each
#   4. AArch64: kernel and core tests cross-compiled with g++-aarch64-linux-gnu and run under
#      qemu-aarch64 (NEON + dotprod, and a CPU without dotprod), plus one fixture end to end
#   5. package consumers: install, find_package, add_subdirectory, Meson subproject, pkg-config
#      (the C++ headers and the C API library smolvlm::c)
# The suites also run the C API's real clients (a C99 program, a Python ctypes script) and a
# program built against single_include/smolvlm.hpp alone (tests/capi/capi_test.cpp).
# (Two full builds, not three: the sanitizers ride on the Meson/clang build to keep CI short.)
# Prints the Catch2 counts of each run and the time of each step; exits non-zero if any
# step failed (later steps still run, so one report shows everything).
# Environment: SMOLVLM_TEST_QUICK=1 runs step 1 only; JOBS=N (default: nproc);
#              SMOLVLM_BUILD_ROOT (default build-test/); SMOLVLM_SHARED (fixtures, default ../shared).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
out="${SMOLVLM_BUILD_ROOT:-$root/build-test}"
shared="${SMOLVLM_SHARED:-$root/../shared}"

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have cmake || need_pkgs+=(cmake)
have ninja || need_pkgs+=(ninja-build)
have g++ || need_pkgs+=(g++)
have clang++ || need_pkgs+=(clang)
have meson || need_pkgs+=(meson)
have pkg-config || need_pkgs+=(pkg-config)
have python3 || need_pkgs+=(python3)
[ -f /usr/include/catch2/catch.hpp ] || need_pkgs+=(catch2)
[ -f /usr/include/benchmark/benchmark.h ] || need_pkgs+=(libbenchmark-dev)
if [ "${SMOLVLM_TEST_QUICK:-0}" != 1 ] && [ "$(uname -m)" = x86_64 ]; then
  have aarch64-linux-gnu-g++ || need_pkgs+=(g++-aarch64-linux-gnu)
  have qemu-aarch64 || need_pkgs+=(qemu-user)
fi
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 && [ "$(uname -m)" = x86_64 ]; then
  need_pkgs+=(libclang-rt-dev)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "== installing: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null || exit 1
fi

mkdir -p "$out"
t0=$(date +%s)
failed=()
report=()
total_pass=0
total_fail=0
step_name=""
step_t0=0
step() { step_name="$*"; step_t0=$(date +%s); echo; echo "== $*"; }
# timed LABEL CMD...: run a command, remember how long it took.
timed() {
  local label="$1" s e rc
  shift
  s=$(date +%s)
  "$@"
  rc=$?
  e=$(date +%s)
  report+=("$(printf '%-44s %5ss%s' "$label" $((e - s)) "$([ $rc -eq 0 ] || echo '  FAILED')")")
  [ $rc -eq 0 ] || failed+=("$label")
  return $rc
}
# suite LABEL BINARY: run a Catch2 binary, print its counts (everything when it fails).
suite() {
  local label="$1" bin="$2" log="$out/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').log"
  if [ ! -x "$bin" ]; then
    echo "  (no $bin: the build failed)"
    failed+=("$label")
    return 1
  fi
  SMOLVLM_SHARED="$shared" timed "$label" "$bin" >"$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ]; then
    grep -v '^$' "$log" | tail -n 150
  fi
  echo "  $label: $(grep -E '^(All tests passed|test cases:)' "$log" | tail -1) $(grep -E '^assertions:' "$log" | tail -1)"
  # Tally test cases for the closing line.
  local line p f
  line=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -1)
  if [[ "$line" =~ ^All\ tests\ passed.*in\ ([0-9]+)\ test\ case ]]; then
    total_pass=$((total_pass + BASH_REMATCH[1]))
  elif [[ "$line" =~ ([0-9]+)\ passed ]]; then
    p=${BASH_REMATCH[1]}
    f=0
    # "N failed as expected" ([!mayfail] cases that failed) are not failures of the run.
    [[ "$line" =~ \|\ *([0-9]+)\ failed\ *(\||$) ]] && f=${BASH_REMATCH[1]}
    [[ "$line" =~ ([0-9]+)\ failed\ as\ expected ]] && p=$((p + BASH_REMATCH[1]))
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
  else
    total_fail=$((total_fail + 1))
  fi
  return $rc
}

step "0. single header: single_include/ up to date with include/"
timed "single header up to date (scripts/amalgamate --check)" python3 scripts/amalgamate --check

step "1. CMake + g++ (Release): tests, examples, benches"
timed "gcc: configure" cmake -S . -B "$out/gcc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
timed "gcc: build" cmake --build "$out/gcc" -j "$JOBS"
suite "gcc: smolvlm-tests" "$out/gcc/tests/smolvlm-tests"

if [ "${SMOLVLM_TEST_QUICK:-0}" != 1 ]; then
  step "2. Meson + clang++ with ASan + UBSan"
  rm -rf "$out/meson"
  CXX=clang++ timed "meson/clang+asan: configure" meson setup "$out/meson" --buildtype=debugoptimized -Dbench=false \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fno-sanitize-recover=all \
    -Dshared_dir="$shared" >/dev/null
  timed "meson/clang+asan: build (+ all_headers.cpp)" meson compile -C "$out/meson" -j "$JOBS"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    suite "meson/clang+asan: smolvlm-tests" "$out/meson/tests/smolvlm-tests"

  step "3. CMake + clang++: per-header compile check, libFuzzer targets"
  timed "clang: configure" cmake -S . -B "$out/clang" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DSMOLVLM_BUILD_BENCH=OFF -DSMOLVLM_BUILD_EXAMPLES=OFF -DSMOLVLM_BUILD_FUZZ=ON \
    -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
  fuzz_targets=()
  for f in tests/fuzz/*_fuzz.cpp; do fuzz_targets+=("$(basename "$f" .cpp)"); done
  timed "clang: build (headers alone + fuzz targets)" cmake --build "$out/clang" -j "$JOBS" \
    --target smolvlm-compile-check "${fuzz_targets[@]}"
  # Fuzz smoke: each target on its own for a few thousand random inputs (scripts/fuzz.sh runs them for real).
  fuzz_smoke() {
    local n=0 f
    for f in "$out"/clang/tests/fuzz/*_fuzz; do
      [ -x "$f" ] || continue
      "$f" -runs=3000 -max_len=4096 -seed=1 >"$out/$(basename "$f").smoke.log" 2>&1 ||
        { tail -n 30 "$out/$(basename "$f").smoke.log"; return 1; }
      n=$((n + 1))
    done
    echo "  fuzz smoke: $n targets x 3000 inputs"
  }
  timed "clang: fuzz smoke" fuzz_smoke

  step "4. AArch64: cross-compiled kernel/core tests and one fixture end to end under qemu-aarch64"
  if command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1; then
    timed "aarch64 (qemu)" scripts/test-aarch64.sh "$out/aarch64"
  else
    echo "  skipped: aarch64-linux-gnu-g++ / qemu-aarch64 not installed"
  fi

  step "5. Package consumers (install, find_package, add_subdirectory, Meson subproject, pkg-config)"
  timed "package consumers" tests/package/run.sh "$out/package"
fi

echo
echo "== summary"
printf '  %s\n' "${report[@]}"
echo "  total: $(( $(date +%s) - t0 )) s"
# One plain closing line over every suite run (Catch2 test cases; expected failures count as passed).
echo "tests: $total_pass passed, $total_fail failed"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all passed"
