#!/usr/bin/env bash
# scripts/test.sh — build everything and run the whole test suite, from a fresh machine.
#
# Installs what is missing (Debian packages), then:
#   1. CMake + g++ (Release): build tests, examples, benches; run ctest
#   2. Meson + clang++: build and run the same suite
#   3. CMake + clang++ with ASan+UBSan: run the suite again
#   4. consumer check: install, then find_package(smolvlm) from an outside project
# Environment: SMOLVLM_TEST_QUICK=1 skips 2-4 (for a fast local loop); JOBS=N.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
out="${SMOLVLM_BUILD_ROOT:-$root/build-test}"

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have cmake || need_pkgs+=(cmake)
have ninja || need_pkgs+=(ninja-build)
have g++ || need_pkgs+=(g++)
have clang++ || need_pkgs+=(clang)
have meson || need_pkgs+=(meson)
have pkg-config || need_pkgs+=(pkg-config)
[ -f /usr/include/catch2/catch.hpp ] || need_pkgs+=(catch2)
[ -f /usr/include/benchmark/benchmark.h ] || need_pkgs+=(libbenchmark-dev)
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 && [ "$(uname -m)" = x86_64 ]; then
  need_pkgs+=(libclang-rt-dev)
fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "== installing: ${need_pkgs[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

step() { echo; echo "== $*"; }
t0=$(date +%s)

step "CMake + g++ (Release)"
cmake -S . -B "$out/gcc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ >/dev/null
cmake --build "$out/gcc" -j "$JOBS"
(cd "$out/gcc" && ctest --output-on-failure)

if [ "${SMOLVLM_TEST_QUICK:-0}" != 1 ]; then
  step "Meson + clang++"
  rm -rf "$out/meson"
  CXX=clang++ meson setup "$out/meson" --buildtype=release -Dbench=false >/dev/null
  meson compile -C "$out/meson" -j "$JOBS"
  meson test -C "$out/meson" --print-errorlogs

  step "CMake + clang++ with ASan + UBSan"
  cmake -S . -B "$out/asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DSMOLVLM_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" >/dev/null
  cmake --build "$out/asan" -j "$JOBS"
  (cd "$out/asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure)

  if [ -x tests/package/run.sh ]; then
    step "Package consumers (find_package, add_subdirectory, Meson subproject)"
    tests/package/run.sh "$out/package"
  fi
fi

step "done in $(( $(date +%s) - t0 )) s"
