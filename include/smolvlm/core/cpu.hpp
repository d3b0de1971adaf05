// smolvlm/core/cpu.hpp — what this CPU can run.
//
// detect_cpu() asks the processor (x86: CPUID + XGETBV; AArch64 Linux: getauxval(AT_HWCAP))
// every time it is called: there is no global state, so the caller computes it once and
// keeps it (kernels/dispatch.hpp turns it into a kernel table).
//
// On x86 an instruction-set bit in CPUID is not enough: the operating system must also
// save the wider registers on a context switch. XGETBV(0) reports which register states
// the OS enabled (XCR0): bits 1-2 (SSE, AVX ymm) for AVX/AVX2/FMA/F16C/AVX-VNNI, bits 5-7
// (opmask, zmm 0-15 upper, zmm 16-31) for every AVX-512 feature, bits 17-18 (XTILECFG,
// XTILEDATA) for AMX. Linux additionally requires a process to ask for AMX tile data
// (arch_prctl ARCH_REQ_XCOMP_PERM) before use; `amx_*` here only says the CPU and OS
// support it.
#pragma once

#include <cstdint>

#include "../config.hpp"

#if SMOLVLM_X86_64 && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif
#if SMOLVLM_AARCH64 && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace smolvlm {

struct cpu_features {
    // x86-64
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512dq = false;
    bool avx512_vnni = false;
    bool avx512_bf16 = false;
    bool avx_vnni = false;    // VEX-encoded vpdpbusd on ymm (Alder Lake, Sapphire Rapids)
    bool amx_tile = false;
    bool amx_int8 = false;
    bool amx_bf16 = false;
    // AArch64
    bool neon = false;        // Advanced SIMD (always present on AArch64)
    bool neon_dotprod = false;  // sdot/udot (asimddp)
    bool neon_i8mm = false;   // smmla/usdot
};

namespace detail {

#if SMOLVLM_X86_64 && (defined(__GNUC__) || defined(__clang__))
struct cpuid_regs {
    std::uint32_t a = 0, b = 0, c = 0, d = 0;
};

inline cpuid_regs cpuid(std::uint32_t leaf, std::uint32_t sub) {
    cpuid_regs r;
    __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
    return r;
}

// XCR0: the register states the OS saves. Only valid when CPUID.1:ECX.OSXSAVE[27] is set.
inline std::uint64_t xgetbv0() {
    std::uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (std::uint64_t(hi) << 32) | lo;
}

inline bool bit(std::uint32_t v, int i) { return ((v >> i) & 1u) != 0; }
#endif

}  // namespace detail

inline cpu_features detect_cpu() {
    cpu_features f;
#if SMOLVLM_X86_64 && (defined(__GNUC__) || defined(__clang__))
    using detail::bit;
    const std::uint32_t max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf < 1) return f;
    const detail::cpuid_regs l1 = detail::cpuid(1, 0);
    const bool osxsave = bit(l1.c, 27);
    const std::uint64_t xcr0 = osxsave ? detail::xgetbv0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;             // XMM + YMM state
    const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask + ZMM_Hi256 + Hi16_ZMM
    const bool os_amx = (xcr0 & 0x60000) == 0x60000;       // XTILECFG + XTILEDATA

    const bool avx = bit(l1.c, 28) && os_avx;
    f.fma = avx && bit(l1.c, 12);
    f.f16c = avx && bit(l1.c, 29);
    if (max_leaf >= 7) {
        const detail::cpuid_regs l7 = detail::cpuid(7, 0);
        f.avx2 = avx && bit(l7.b, 5);
        f.avx512f = os_avx512 && bit(l7.b, 16);
        f.avx512dq = f.avx512f && bit(l7.b, 17);
        f.avx512bw = f.avx512f && bit(l7.b, 30);
        f.avx512vl = f.avx512f && bit(l7.b, 31);
        f.avx512_vnni = f.avx512f && bit(l7.c, 11);
        f.amx_bf16 = os_amx && bit(l7.d, 22);
        f.amx_tile = os_amx && bit(l7.d, 24);
        f.amx_int8 = os_amx && bit(l7.d, 25);
        if (l7.a >= 1) {
            const detail::cpuid_regs l71 = detail::cpuid(7, 1);
            f.avx_vnni = avx && bit(l71.a, 4);
            f.avx512_bf16 = f.avx512f && bit(l71.a, 5);
        }
    }
#elif SMOLVLM_AARCH64
    f.neon = true;  // mandatory in ARMv8-A
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP);
    const unsigned long hw2 = getauxval(AT_HWCAP2);
    f.neon_dotprod = (hw & (1ul << 20)) != 0;   // HWCAP_ASIMDDP
    f.neon_i8mm = (hw2 & (1ul << 13)) != 0;     // HWCAP2_I8MM
#elif defined(__ARM_FEATURE_DOTPROD)
    f.neon_dotprod = true;
#endif
#endif
    return f;
}

}  // namespace smolvlm
