#!/usr/bin/env bash
# tests/package/run.sh OUTDIR — packaging tests, as an outside project sees the library:
#   1. cmake --install to OUTDIR/prefix; the tree holds the headers, the CMake package
#      files and smolvlm.pc, and nothing else;
#   2. find_package(smolvlm CONFIG REQUIRED) + smolvlm::smolvlm   (find_package/)
#   3. add_subdirectory(smolvlm)                                   (add_subdirectory/)
#   4. Meson subproject: dependency('smolvlm')                     (meson/)
#   5. pkg-config --cflags smolvlm against the installed smolvlm.pc, then a build with it.
# Each consumer compiles tests/package/main.cpp with -Werror -fno-exceptions -fno-rtti and runs it.
# Each is one test case: a failure is reported and the others still run; the last line is
# "package tests: P passed, F failed, K skipped", and the exit status is non-zero if any failed.
# The C API library (smolvlm::c, libsmolvlm_c): installed with the headers, linked by a C99
# program (tests/package/main.c) through find_package and through pkg-config smolvlm-c;
# add_subdirectory and the Meson subproject must define it (they do not build it).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: tests/package/run.sh OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
CXX="${CXX:-g++}"
prefix="$out/prefix"
rm -rf "$prefix" "$out/lib" "$out/fp" "$out/sub" "$out/meson-src" "$out/meson"

pass=0
fail=0
skip=0
# consumer LABEL FUNCTION: one test case; a failing step fails the case, the others still run.
consumer() {
  local label="$1" rc
  shift
  ( set -e; "$@" )  # not in an `if`: errexit would be off inside
  rc=$?
  if [ $rc -eq 0 ]; then
    echo "  ok: $label"
    pass=$((pass + 1))
  else
    echo "  FAILED: $label"
    fail=$((fail + 1))
  fi
}

clib=""
libdir=""
install_tree() {
  echo "-- install to $prefix"
  cmake -S "$root" -B "$out/lib" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DSMOLVLM_BUILD_TESTS=OFF -DSMOLVLM_BUILD_EXAMPLES=OFF -DSMOLVLM_BUILD_BENCH=OFF >/dev/null
  cmake --build "$out/lib" >/dev/null  # the C API library (no build type: -O0, a quick compile)
  cmake --install "$out/lib" >/dev/null
  for f in include/smolvlm.hpp include/smolvlm/core/status.hpp share/cmake/smolvlm/smolvlmConfig.cmake \
           share/cmake/smolvlm/smolvlmConfigVersion.cmake share/cmake/smolvlm/smolvlmTargets.cmake \
           include/smolvlm.h include/smolvlm/c_api_impl.hpp share/pkgconfig/smolvlm.pc share/pkgconfig/smolvlm-c.pc; do
    [ -f "$prefix/$f" ] || { echo "error: $f is not installed" >&2; return 1; }
  done
  clib="$(cd "$prefix" && find . -name 'libsmolvlm_c.so*' -type f | head -1)"
  [ -n "$clib" ] || { echo "error: libsmolvlm_c is not installed" >&2; return 1; }
  libdir="$prefix/$(dirname "$clib")"
  extra="$(cd "$prefix" && find . -type f ! -path './include/*' ! -path './share/cmake/smolvlm/*' ! -path './share/pkgconfig/*' \
           ! -path './bin/*' ! -name 'libsmolvlm_c.so*')"
  [ -z "$extra" ] || { echo "error: unexpected installed files: $extra" >&2; return 1; }
  exported="$(nm -D --defined-only "$prefix/$clib" | awk 'NF == 3 && $2 != "A" {print $3}' | grep -cv '^smolvlm_' || true)"
  [ "$exported" = 0 ] || { echo "error: libsmolvlm_c exports symbols other than smolvlm_*" >&2; return 1; }
  echo "  $(find "$prefix/include" -name '*.hpp' | wc -l) headers, smolvlm.h, $clib installed"
}

find_package_consumer() {
  echo "-- find_package"
  cmake -S "$here/find_package" -B "$out/fp" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$out/fp"
  "$out/fp/consumer"
  "$out/fp/consumer_c"
}

add_subdirectory_consumer() {
  echo "-- add_subdirectory"
  cmake -S "$here/add_subdirectory" -B "$out/sub" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DSMOLVLM_SOURCE="$root" >/dev/null
  cmake --build "$out/sub"
  "$out/sub/consumer"
}

meson_consumer() {
  echo "-- meson subproject"
  mkdir -p "$out/meson-src/subprojects"
  cp "$here/meson/meson.build" "$here/main.cpp" "$out/meson-src/"
  ln -s "$root" "$out/meson-src/subprojects/smolvlm"
  CXX="$CXX" meson setup "$out/meson" "$out/meson-src" >/dev/null
  meson compile -C "$out/meson"
  "$out/meson/consumer"
}

pkg_config_consumer() {
  echo "-- pkg-config"
  local cflags libs
  cflags="$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags smolvlm)"
  libs="$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --libs smolvlm)"
  echo "  cflags: $cflags"
  case " $cflags " in
    *" -I$prefix/include "*) ;;
    *) echo "error: pkg-config --cflags smolvlm does not point at $prefix/include" >&2; return 1 ;;
  esac
  [ "$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --modversion smolvlm)" = \
    "$(sed -n 's/^#define SMOLVLM_VERSION_STRING "\(.*\)"/\1/p' "$root/include/smolvlm/version.hpp")" ] ||
    { echo "error: smolvlm.pc version differs from version.hpp" >&2; return 1; }
  # shellcheck disable=SC2086
  "$CXX" $cflags -Wall -Wextra -Werror -fno-exceptions -fno-rtti "$here/main.cpp" -o "$out/pkgconfig-consumer" $libs
  "$out/pkgconfig-consumer"
}

consumer "install tree" install_tree
# (consumer runs each case in a subshell: find the C library again here)
clib="$(cd "$prefix" 2>/dev/null && find . -name 'libsmolvlm_c.so*' -type f | head -1)"
[ -z "$clib" ] || libdir="$prefix/$(dirname "$clib")"
if [ -f "$prefix/share/cmake/smolvlm/smolvlmConfig.cmake" ]; then
  consumer "find_package(smolvlm CONFIG REQUIRED): smolvlm::smolvlm and smolvlm::c" find_package_consumer
else
  echo "  FAILED: find_package (nothing installed)"; fail=$((fail + 1))
fi
consumer "add_subdirectory" add_subdirectory_consumer
if command -v meson >/dev/null 2>&1; then
  consumer "meson subproject dependency('smolvlm')" meson_consumer
else
  echo "  skipped: meson not installed"
  skip=1
fi
if [ -f "$prefix/share/pkgconfig/smolvlm.pc" ]; then
  consumer "pkg-config --cflags/--libs smolvlm" pkg_config_consumer
else
  echo "  FAILED: pkg-config (nothing installed)"; fail=$((fail + 1))
fi

# The C API through pkg-config smolvlm-c, from a C99 program.
pkg_config_c_consumer() {
  echo "-- pkg-config smolvlm-c"
  # shellcheck disable=SC2046
  "${CC:-cc}" -std=c99 -Wall -Wextra -Werror -pedantic "$here/main.c" -o "$out/pkgconfig-consumer-c" \
    $(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags --libs smolvlm-c) -Wl,-rpath,"$libdir"
  "$out/pkgconfig-consumer-c"
}
if [ -f "$prefix/share/pkgconfig/smolvlm-c.pc" ] && [ -n "$libdir" ]; then
  consumer "pkg-config --cflags/--libs smolvlm-c (C99)" pkg_config_c_consumer
else
  echo "  FAILED: pkg-config smolvlm-c (not installed)"; fail=$((fail + 1))
fi

# One line for scripts/test.sh: each consumer is one test case.
echo "package tests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
