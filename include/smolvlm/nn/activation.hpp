// smolvlm/nn/activation.hpp — SiLU / SwiGLU (Llama MLP) and tanh-GELU (SigLIP MLP).
#pragma once

#include <cmath>
#include <cstdint>

#include "context.hpp"

namespace smolvlm::nn {

inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
inline float gelu_tanh(float x) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

// Exact GELU (erf), for configs with hidden_act "gelu".
inline float gelu_erf(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f)); }

// SwiGLU: gate[i] = silu(gate[i]) * up[i]; gate, up: [n]. Through the context's kernel
// (kernels::scalar::swiglu is the reference).
inline void swiglu(const context& ctx, float* gate, const float* up, std::int64_t n) {
    const kernels::swiglu_fn f = ctx.kt.swiglu;
    parallel_for(ctx.pool, n, [&](std::int64_t b, std::int64_t e, int) { f(gate + b, up + b, e - b); }, 4096);
}

inline void gelu_tanh_inplace(const context& ctx, float* x, std::int64_t n) {
    const kernels::gelu_fn f = ctx.kt.gelu_tanh;
    parallel_for(ctx.pool, n, [&](std::int64_t b, std::int64_t e, int) { f(x + b, e - b); }, 4096);
}

inline void gelu_erf_inplace(const context& ctx, float* x, std::int64_t n) {
    parallel_for(ctx.pool, n, [&](std::int64_t b, std::int64_t e, int) {
        for (std::int64_t i = b; i < e; ++i) x[i] = gelu_erf(x[i]);
    }, 4096);
}

// x[i] += y[i]
inline void add_inplace(float* x, const float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace smolvlm::nn
