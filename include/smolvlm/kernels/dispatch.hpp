// smolvlm/kernels/dispatch.hpp — pick the kernels this CPU runs best.
//
//   const cpu_features cpu = detect_cpu();          // once, when a model is loaded
//   kernel_table k = select_kernels(cpu);            // or force an ISA (--isa, tests, benchmarks)
//   nn::context ctx{&pool, k};                       // every nn/ call reads its kernels here
//
// No global state: the table is a value the caller keeps, and nothing below it detects
// the CPU again. Forcing an ISA the CPU (or this build) lacks does not crash: the table
// falls back to scalar and says so in `forced_unavailable`.
#pragma once

#include "../core/cpu.hpp"
#include "matmul.hpp"
#include "quant.hpp"
#include "resample.hpp"
#include "vec.hpp"
#include "x86_avx2.hpp"
#include "x86_avx2_quantize.hpp"
#include "x86_avx2_resample.hpp"
#include "x86_avx512.hpp"
#include "arm_neon.hpp"

namespace smolvlm::kernels {

enum class isa : std::uint8_t { scalar, avx2, avx_vnni, avx512, avx512_vnni, neon, neon_dotprod, best };

inline const char* isa_name(isa i) {
    switch (i) {
        case isa::scalar: return "scalar";
        case isa::avx2: return "avx2";
        case isa::avx_vnni: return "avx-vnni";
        case isa::avx512: return "avx512";
        case isa::avx512_vnni: return "avx512-vnni";
        case isa::neon: return "neon";
        case isa::neon_dotprod: return "neon-dotprod";
        case isa::best: return "best";
    }
    return "?";
}

struct kernel_table {
    matmul_fn matmul = &scalar::matmul;  // y[n, rows] = x[n, cols] · W^T (+bias), every weight dtype
    matmul_multi_fn matmul_multi = &scalar::matmul_multi;  // several weights sharing one input, one region
    dot_fn dot = &scalar::dot;           // sum a[i]*b[i]
    axpy_fn axpy = &scalar::axpy;        // y += a*x
    attend_fn attend = &scalar::attend;  // one attention query over a KV range
    attend_f16_fn attend_f16 = &scalar::attend_f16;  // the same over an f16 KV cache
    to_f16_fn to_f16 = &scalar::to_f16;  // f32 -> f16 bits (what an f16 KV cache stores)
    pv_fn pv = &scalar::pv;              // P V for a block of queries (blocked attention)
    pv_f16_fn pv_f16 = &scalar::pv_f16;
    swiglu_fn swiglu = &scalar::swiglu;  // gate = silu(gate) * up
    gelu_fn gelu_tanh = &scalar::gelu_tanh;
    softmax_fn softmax = &scalar::softmax; // softmax numerators of a score row + their sum
    q4_row_fn q4_row = &quantize_row_q4;   // weight rows -> q4 blocks (pack_weight)
    q8_row_fn q8_row = &quantize_row_q8;   // weight rows -> q8 blocks (pack_weight, int8 attention)
    resample_h_fn resample_h = &scalar::resample_h;  // image resize, horizontal pass (pipeline/resample.hpp)
    resample_v_fn resample_v = &scalar::resample_v;  // image resize, vertical pass
    isa chosen = isa::scalar;
    bool forced_unavailable = false;     // `force` named an ISA this CPU/build cannot run
};

// Can this CPU (and this build) run `i`?
inline bool isa_supported(const cpu_features& f, isa i) {
    (void)f;  // unused when this build has no SIMD kernels (SMOLVLM_NO_SIMD)
    switch (i) {
        case isa::scalar: return true;
#if SMOLVLM_SIMD_X86
        case isa::avx2: return f.avx2 && f.fma && f.f16c;
        case isa::avx_vnni: return f.avx2 && f.fma && f.f16c && f.avx_vnni;
        case isa::avx512: return f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c;
        case isa::avx512_vnni: return isa_supported(f, isa::avx512) && f.avx512_vnni;
#endif
#if SMOLVLM_SIMD_ARM
        case isa::neon: return f.neon;
        case isa::neon_dotprod: return f.neon && f.neon_dotprod;
#endif
        default: return false;
    }
}

inline kernel_table table_for(isa i) {
    kernel_table k;
    k.chosen = i;
    switch (i) {
#if SMOLVLM_SIMD_X86
        case isa::avx2:
        case isa::avx_vnni:
        case isa::avx512:
        case isa::avx512_vnni: {
            // The matmul is per ISA; the vector helpers follow the register width
            // (dot/axpy stay AVX2 everywhere: they are memory bound).
            const bool wide = i == isa::avx512 || i == isa::avx512_vnni;
            k.matmul = i == isa::avx2       ? &avx2::matmul
                       : i == isa::avx_vnni ? &avx_vnni::matmul
                       : i == isa::avx512   ? &avx512::matmul
                                            : &avx512_vnni::matmul;
            k.matmul_multi = i == isa::avx2       ? &avx2::matmul_multi
                             : i == isa::avx_vnni ? &avx_vnni::matmul_multi
                             : i == isa::avx512   ? &avx512::matmul_multi
                                                  : &avx512_vnni::matmul_multi;
            k.dot = &avx2::dot;
            k.axpy = &avx2::axpy;
            // (the ISA templates instantiated for f32 / f16 keys and values)
            k.attend = wide ? &avx512::attend_any<float> : &avx2::attend_any<float>;
            k.attend_f16 = wide ? &avx512::attend_any<std::uint16_t> : &avx2::attend_any<std::uint16_t>;
            k.to_f16 = &avx2::to_f16;  // conversion is memory bound: 8 lanes suffice
            k.pv = wide ? &avx512::pv_any<float> : &avx2::pv_any<float>;
            k.pv_f16 = wide ? &avx512::pv_any<std::uint16_t> : &avx2::pv_any<std::uint16_t>;
            k.swiglu = wide ? &avx512::swiglu : &avx2::swiglu;
            k.gelu_tanh = wide ? &avx512::gelu_tanh : &avx2::gelu_tanh;
            k.softmax = wide ? &avx512::softmax : &avx2::softmax;
            if (wide) {  // (bit-identical to the scalar quantizers, 16 groups at once)
                k.q4_row = &avx512::quantize_row_q4;
                k.q8_row = &avx512::quantize_row_q8;
            } else {     // (8 groups at once)
                k.q4_row = &avx2::quantize_row_q4;
            }
            k.resample_h = &avx2::resample_h;
            k.resample_v = &avx2::resample_v;
            break;
        }
#endif
#if SMOLVLM_SIMD_ARM
        case isa::neon:
        case isa::neon_dotprod:
            k.matmul = i == isa::neon ? &neon::matmul : &neon_dotprod::matmul;
            k.matmul_multi = i == isa::neon ? &neon::matmul_multi : &neon_dotprod::matmul_multi;
            k.dot = &neon::dot;
            k.axpy = &neon::axpy;
            k.softmax = &neon::softmax;
            k.attend = &neon::attend_any<float>;
            k.attend_f16 = &neon::attend_any<std::uint16_t>;
            k.pv = &neon::pv_any<float>;
            k.pv_f16 = &neon::pv_any<std::uint16_t>;
            k.to_f16 = &neon::to_f16;
            break;
#endif
        default: k.chosen = isa::scalar; break;
    }
    return k;
}

inline kernel_table select_kernels(const cpu_features& f, isa force = isa::best) {
    if (force != isa::best) {
        if (!isa_supported(f, force)) {
            kernel_table k;  // scalar
            k.forced_unavailable = true;
            return k;
        }
        return table_for(force);
    }
    // Best first. AVX-512 VNNI beats AVX-VNNI (twice the width).
    for (isa i : {isa::avx512_vnni, isa::avx512, isa::avx_vnni, isa::avx2, isa::neon_dotprod, isa::neon})
        if (isa_supported(f, i)) return table_for(i);
    return kernel_table{};
}

}  // namespace smolvlm::kernels
