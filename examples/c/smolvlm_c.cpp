// The C API's implementation: the one C++ translation unit a C program links (see smolvlm.h).
// Built as the library smolvlm::c (CMake), dependency('smolvlm-c') (Meson); or compile it
// yourself: c++ -std=c++17 -O2 -fno-exceptions -fno-rtti -Iinclude -c smolvlm_c.cpp
#define SMOLVLM_IMPLEMENTATION
#include <smolvlm.h>
