// smolvlm.hpp — version numbers. Kept in sync with CMakeLists.txt and meson.build
// (tests/core/version_test.cpp checks that).
#pragma once

#define SMOLVLM_VERSION_MAJOR 0
#define SMOLVLM_VERSION_MINOR 1
#define SMOLVLM_VERSION_PATCH 0
#define SMOLVLM_VERSION_STRING "0.1.0"
