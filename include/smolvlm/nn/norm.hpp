// smolvlm/nn/norm.hpp — RMSNorm (Llama) and LayerNorm (SigLIP), f32.
#pragma once

#include <cmath>
#include <cstdint>

#include "context.hpp"

namespace smolvlm::nn {

// LlamaRMSNorm: y = w * x / sqrt(mean(x^2) + eps), row by row.
// x, y: [n, d] (may alias); w: [d]
inline void rms_norm(const context& ctx, const float* x, float* y, const float* w, std::int64_t n, std::int64_t d,
                     float eps) {
    parallel_for(ctx.pool, n, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const float* xr = x + r * d;
            float* yr = y + r * d;
            double ss = 0.0;
            for (std::int64_t i = 0; i < d; ++i) ss += double(xr[i]) * double(xr[i]);
            const float inv = float(1.0 / std::sqrt(float(ss / double(d)) + double(eps)));
            for (std::int64_t i = 0; i < d; ++i) yr[i] = w[i] * (xr[i] * inv);
        }
    }, 8);
}

// nn.LayerNorm: y = (x - mean) / sqrt(var + eps) * w + b (biased variance), row by row.
// x, y: [n, d] (may alias); w, b: [d]
inline void layer_norm(const context& ctx, const float* x, float* y, const float* w, const float* b, std::int64_t n,
                       std::int64_t d, float eps) {
    parallel_for(ctx.pool, n, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const float* xr = x + r * d;
            float* yr = y + r * d;
            double s = 0.0;
            for (std::int64_t i = 0; i < d; ++i) s += xr[i];
            const double mean = s / double(d);
            double v = 0.0;
            for (std::int64_t i = 0; i < d; ++i) v += (xr[i] - mean) * (xr[i] - mean);
            const float inv = float(1.0 / std::sqrt(v / double(d) + double(eps)));
            const float m = float(mean);
            for (std::int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * inv * w[i] + b[i];
        }
    }, 8);
}

}  // namespace smolvlm::nn
