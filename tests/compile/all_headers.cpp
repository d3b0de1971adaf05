// Compile-only: the umbrella header with -fno-exceptions -fno-rtti -Werror (Meson build;
// the CMake build also compiles every header on its own).
#include <smolvlm.hpp>
#include <smolvlm.hpp>
