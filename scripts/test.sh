#!/usr/bin/env bash
# scripts/test.sh — build everything and run the whole test suite, from a fresh clone.
#
# Installs what is missing (Debian packages), then:
#   0. single_include/ is what scripts/amalgamate makes from include/ (fails when stale)
#   1. CMake + g++ (Release): tests, examples, benches, every header compiled on its own; run the suite
#   2. Meson + clang++ with ASan + UBSan: the suite again (the CLI and tools instrumented too), less
#      the cases listed in asan_skip below; all_headers.cpp with -Werror -fno-exceptions -fno-rtti
#   3. CMake + clang++: the libFuzzer targets, each run by scripts/fuzz.sh --runs on its seeded
#      corpus plus a few thousand inputs (one test case per target; seeding is part of the case)
#   4. AArch64 under qemu (scripts/test-aarch64.sh): kernel/core/nn tests cross-built with g++ and
#      clang++, NEON + dotprod and a CPU without dotprod, one fixture end to end
#   5. package consumers (tests/package/run.sh): install, find_package, add_subdirectory, Meson
#      subproject, pkg-config (the C++ headers and the C API library smolvlm::c) — one test case each
# The suites also run the C API's real clients (a C99 program, a Python ctypes script) and a
# program built against single_include/smolvlm.hpp alone (tests/capi/capi_test.cpp).
# Every step is built once: nothing is compiled twice for the same compiler and flags (the clang
# per-header compile check is gone: g++ compiles each header alone in step 1, and clang compiles
# all of them with -Werror -fno-exceptions -fno-rtti in step 2's all_headers.cpp).
#
# Output: the counts of each suite, the time of each step, then ONE closing line over everything
# that ran: "tests: N passed, M failed, K skipped". Catch2 test cases that warned "skipped: ..."
# (no ../shared, no AVX-512 here) count as skipped, not passed (listener in tests/main.cpp); a
# build that fails counts as one failed case. Exits non-zero when anything failed (later steps
# still run, so one report shows everything).
# Environment: SMOLVLM_TEST_QUICK=1 runs step 1 only; JOBS=N (default: nproc);
#              SMOLVLM_BUILD_ROOT (default build-test/); SMOLVLM_SHARED (fixtures, default ../shared);
#              SMOLVLM_FUZZ_RUNS (default 3000 inputs per fuzz target).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
export JOBS
out="${SMOLVLM_BUILD_ROOT:-$root/build-test}"
shared="${SMOLVLM_SHARED:-$root/../shared}"
export SMOLVLM_SHARED="$shared"

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
counts=()
total_pass=0
total_fail=0
total_skip=0
step_label=""
step_t0=0
step_c0=0
# step LABEL: start a step (and close the previous one with its time).
end_step() {
  [ -n "$step_label" ] || return 0
  report+=("$(printf '%-50s %5ss  (cpu %5ss)' "$step_label (step total)" $(($(date +%s) - step_t0)) $(($(cpu_used) - step_c0)))")
  step_label=""
}
step() { end_step; step_label="$1"; step_t0=$(date +%s); step_c0=$(cpu_used); echo; echo "== $*"; }
# cpu_used: CPU seconds (user + sys) of this shell's finished children so far. Wall times depend
# on what else the machine runs; CPU time does not (on 2 idle cores, wall ~ CPU / 2).
clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)
cpu_used() {  # cutime + cstime of this shell ($$ is this shell in a $(...) too), fields 16-17 of stat
  local st
  read -r -a st </proc/$$/stat
  echo $(( (st[15] + st[16]) / clk_tck ))
}
# timed LABEL CMD...: run a command, remember how long it took (wall and CPU).
timed() {
  local label="$1" s e rc c0 c1
  shift
  s=$(date +%s)
  c0=$(cpu_used)
  "$@"
  rc=$?
  e=$(date +%s)
  c1=$(cpu_used)
  report+=("$(printf '  %-48s %5ss  (cpu %5ss)%s' "$label" $((e - s)) $((c1 - c0)) "$([ $rc -eq 0 ] || echo '  FAILED')")")
  [ $rc -eq 0 ] || failed+=("$label")
  return $rc
}
# count LABEL P F K: add a suite's test cases to the closing line.
count() {
  counts+=("$(printf '  %-48s %s passed, %s failed, %s skipped' "$1" "$2" "$3" "$4")")
  echo "  $1: $2 passed, $3 failed, $4 skipped"
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  total_skip=$((total_skip + $4))
}
# tally LABEL LOG RC PATTERN: read "<PATTERN> P passed, F failed, K skipped" from LOG. No such
# line (a crash, a build that never ran the cases) is one failed case; a non-zero exit with no
# failed case counted is one failed case too.
tally() {
  local label="$1" log="$2" rc="$3" pat="$4" line p f k
  line=$(grep -E "^$pat[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?" "$log" 2>/dev/null | tail -n 1)
  if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
    p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} k=${BASH_REMATCH[4]:-0}
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || f=1
    count "$label" "$p" "$f" "$k"
  else
    count "$label" 0 1 0
  fi
}
logname() { echo "$out/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').log"; }
# suite LABEL BINARY [CATCH2 ARGS...]: run the Catch2 suite, print its counts (the log's end when it fails).
suite() {
  local label="$1" bin="$2" log rc
  log=$(logname "$1")
  shift 2
  if [ ! -x "$bin" ]; then
    echo "  (no $bin: the build failed)"
    failed+=("$label")
    count "$label" 0 1 0
    return 1
  fi
  timed "$label" "$bin" -d yes "$@" >"$log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || grep -v '^$' "$log" | grep -v '^[0-9.]* s: ' | tail -n 150
  echo "  $label: $(grep -E '^(All tests passed|test cases:)' "$log" | tail -1)"
  echo "  slowest: $(grep -E '^[0-9.]+ s: ' "$log" | sort -rn | head -n 3 | sed 's/: /  /' | paste -sd ';' -)"
  tally "$label" "$log" $rc "smolvlm-tests: "
  return $rc
}
# script_step LABEL PATTERN CMD...: a script that prints its own "PATTERN P passed, F failed[, K skipped]".
script_step() {
  local label="$1" pat="$2" log rc
  log=$(logname "$1")
  shift 2
  timed "$label" "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then tail -n 60 "$log"; else grep -E "^(fuzz: [a-z0-9_]+: |test-aarch64: |  ok: |  skipped)" "$log"; fi
  tally "$label" "$log" $rc "$pat"
}

step "0. single header: single_include/ up to date with include/"
timed "single header up to date (scripts/amalgamate --check)" python3 scripts/amalgamate --check

step "1. CMake + g++ (Release): tests, examples, benches, each header alone"
timed "gcc: configure" cmake -S . -B "$out/gcc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
timed "gcc: build" cmake --build "$out/gcc" -j "$JOBS" -- -k 0 >"$out/gcc-build.log" 2>&1 ||
  { grep -E 'error|FAILED' "$out/gcc-build.log" | head -n 40; }
suite "gcc: smolvlm-tests" "$out/gcc/tests/smolvlm-tests"

if [ "${SMOLVLM_TEST_QUICK:-0}" != 1 ]; then
  step "2. Meson + clang++ with ASan + UBSan"
  # The sanitizers find memory errors and undefined behaviour; they add nothing to a test that
  # only re-runs code the rest of the sanitized suite already runs, on bigger inputs. Left out
  # here (each still runs in step 1):
  asan_skip=(
    # Accuracy statistics of q8/q4 over every fixture (teacher-forced runs of all 6 fixture
    # models, 4 weight formats each): the quantized kernels, the loader's conversion and the
    # decoder run sanitized in [kernels], [quant], the session tests and the CLI tests.
    # (Catch2 test specs: a comma would mean "or", so long names are cut with a *.)
    "~q8 / q4 accuracy on every fixture*"
    "~q8 keeps all 16 greedy tokens of every fixture*"
  )
  rm -rf "$out/meson"
  # -O1 -gline-tables-only: what the sanitizers' documentation recommends (reports keep file:line),
  # and a sixth less compile time than -O2 -g. Built: the suite and the programs it runs, and
  # all_headers.cpp (embed-example and the benches add nothing sanitized that the suite lacks).
  CXX=clang++ CC=clang timed "meson/clang+asan: configure" meson setup "$out/meson" --buildtype=plain -Dbench=false \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args="['-O1', '-gline-tables-only', '-fno-sanitize-recover=all']" \
    -Dc_args="['-O1', '-gline-tables-only', '-fno-sanitize-recover=all']" \
    -Dshared_dir="$shared" >/dev/null
  timed "meson/clang+asan: build (+ all_headers.cpp)" meson compile -C "$out/meson" -j "$JOBS" --ninja-args=-k0 \
    smolvlm-tests smolvlm-cli smolvlm-inspect smolvlm-quantize make-random-model smolvlm-c-client \
    smolvlm-compile-check >"$out/meson-build.log" 2>&1 ||
    { grep -E 'error|FAILED' "$out/meson-build.log" | head -n 40; }
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    suite "meson/clang+asan: smolvlm-tests" "$out/meson/tests/smolvlm-tests" "${asan_skip[@]}"

  step "3. CMake + clang++: libFuzzer targets, seeded and smoke-run"
  timed "clang: configure" cmake -S . -B "$out/clang" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++ -DSMOLVLM_BUILD_BENCH=OFF -DSMOLVLM_BUILD_EXAMPLES=OFF -DSMOLVLM_BUILD_FUZZ=ON \
    -DSMOLVLM_INSTALL=OFF -DSMOLVLM_SHARED_DIR="$shared" >/dev/null
  fuzz_targets=()
  for f in tests/fuzz/*_fuzz.cpp; do fuzz_targets+=("$(basename "$f" .cpp)"); done
  timed "clang: build (fuzz targets)" cmake --build "$out/clang" -j "$JOBS" --target "${fuzz_targets[@]}" \
    >"$out/clang-build.log" 2>&1 || { grep -E 'error|FAILED' "$out/clang-build.log" | head -n 40; }
  # The same seeding as a fuzzing campaign (scripts/fuzz.sh): a broken seed fails its target here.
  rm -rf "$out/fuzz"
  SMOLVLM_FUZZ_DIR="$out/fuzz" SMOLVLM_FUZZ_BUILD="$out/clang" \
    script_step "fuzz smoke (corpus + ${SMOLVLM_FUZZ_RUNS:-3000} runs per target)" "fuzz: " \
    scripts/fuzz.sh --runs "${SMOLVLM_FUZZ_RUNS:-3000}"

  step "4. AArch64 under qemu: cross-built kernel/core/nn tests, one fixture end to end"
  if have aarch64-linux-gnu-g++ && have qemu-aarch64; then
    script_step "aarch64 (qemu)" "test-aarch64: total: " scripts/test-aarch64.sh "$out/aarch64"
  else
    echo "  skipped: aarch64-linux-gnu-g++ / qemu-aarch64 not installed"
  fi

  step "5. Package consumers (install, find_package, add_subdirectory, Meson subproject, pkg-config)"
  script_step "package consumers" "package tests: " tests/package/run.sh "$out/package"
fi
end_step

echo
echo "== summary"
printf '%s\n' "${report[@]}"
echo "  total: $(( $(date +%s) - t0 )) s wall, $(cpu_used) s CPU (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${counts[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
fi
# One plain closing line over every suite run (expected failures count as passed).
echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "${#failed[@]}" -eq 0 ] && [ "$total_fail" -eq 0 ]
