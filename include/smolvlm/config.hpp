// smolvlm.hpp — configuration macros. Define any of these before including the
// library to override the default.
//
//   SMOLVLM_ASSERT(x)        internal invariants only (never input validation)
//   SMOLVLM_MALLOC(n, a)     aligned allocation hook (n bytes, alignment a)
//   SMOLVLM_FREE(p)          matching free
//   SMOLVLM_NO_SIMD          compile only the scalar kernels
//   SMOLVLM_NO_THREADS       no std::thread; parallel_for runs inline
//   SMOLVLM_NO_MMAP          never mmap; files are read into memory
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#ifndef SMOLVLM_ASSERT
#include <cassert>
#define SMOLVLM_ASSERT(x) assert(x)
#endif

#if !defined(SMOLVLM_MALLOC) || !defined(SMOLVLM_FREE)
#undef SMOLVLM_MALLOC
#undef SMOLVLM_FREE
#if defined(_WIN32)
#include <malloc.h>
#define SMOLVLM_MALLOC(n, a) _aligned_malloc((n), (a))
#define SMOLVLM_FREE(p) _aligned_free(p)
#else
namespace smolvlm::detail {
inline void* default_aligned_malloc(std::size_t n, std::size_t a) {
    void* p = nullptr;
    if (a < sizeof(void*)) a = sizeof(void*);
    if (posix_memalign(&p, a, n ? n : 1) != 0) return nullptr;
    return p;
}
}  // namespace smolvlm::detail
#define SMOLVLM_MALLOC(n, a) ::smolvlm::detail::default_aligned_malloc((n), (a))
#define SMOLVLM_FREE(p) ::free(p)
#endif
#endif

// Exceptions are optional: the *_or_throw helpers exist only when they are on.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define SMOLVLM_HAS_EXCEPTIONS 1
#else
#define SMOLVLM_HAS_EXCEPTIONS 0
#endif

// Architecture and per-function target attributes (runtime dispatch: no -mavx2 needed).
#if defined(__x86_64__) || defined(_M_X64)
#define SMOLVLM_X86_64 1
#else
#define SMOLVLM_X86_64 0
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#define SMOLVLM_AARCH64 1
#else
#define SMOLVLM_AARCH64 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SMOLVLM_TARGET(s) __attribute__((target(s)))
#define SMOLVLM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SMOLVLM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SMOLVLM_RESTRICT __restrict__
#else
#define SMOLVLM_TARGET(s)
#define SMOLVLM_LIKELY(x) (x)
#define SMOLVLM_UNLIKELY(x) (x)
#define SMOLVLM_RESTRICT
#endif

// Fully unroll the small fixed-trip loops over tokens / rows / vectors of a kernel tile, so
// the accumulators live in registers at -O2 too (GCC unrolls them only at -O3; without this
// the int8 GEMM ran at ~40% of its -O3 speed). Clang accepts the GCC spelling.
#ifndef SMOLVLM_UNROLL
#if defined(__GNUC__) || defined(__clang__)
#define SMOLVLM_UNROLL _Pragma("GCC unroll 16")
#else
#define SMOLVLM_UNROLL
#endif
#endif

#if defined(SMOLVLM_NO_SIMD)
#define SMOLVLM_SIMD_X86 0
#define SMOLVLM_SIMD_ARM 0
#else
#define SMOLVLM_SIMD_X86 SMOLVLM_X86_64
#define SMOLVLM_SIMD_ARM SMOLVLM_AARCH64
#endif

namespace smolvlm {
// Alignment of every buffer the library allocates (one AVX-512 register / cache line).
inline constexpr std::size_t k_alignment = 64;
}  // namespace smolvlm
