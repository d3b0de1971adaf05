// smolvlm/kernels/matmul.hpp — the matrix product every layer goes through.
//
// A weight matrix is stored as PyTorch's nn.Linear stores it: W [rows = out_features,
// cols = in_features], row-major, in its stored dtype (f32, f16, bf16 used in place
// from the mmap'd file; q8/q4 packed formats from kernels/quant.hpp).
//
//   y[n, rows] = x[n, cols] · W^T  (+ bias[rows])
//
// This file holds the types and the plain scalar reference. SIMD versions share the
// signature and are chosen at run time by kernels/dispatch.hpp.
#pragma once

#include <cstdint>

#include "../core/dtype.hpp"
#include "../core/parallel.hpp"

namespace smolvlm::kernels {

struct weight_matrix {
    dtype type = dtype::f32;      // f32, f16, bf16, q8, q4
    const void* data = nullptr;   // f32/f16/bf16: [rows, cols]; q8/q4: packed blocks
    const void* scales = nullptr; // q8/q4: per-group scales (layout in quant.hpp)
    std::int64_t rows = 0;        // out_features
    std::int64_t cols = 0;        // in_features
};

using matmul_fn = void (*)(const weight_matrix& w, const float* x, std::int64_t n, float* y,
                           const float* bias, thread_pool* pool);

namespace scalar {

// Weight element (r, c) as f32, for the dense dtypes.
inline float load_weight(const weight_matrix& w, std::int64_t r, std::int64_t c) {
    const std::int64_t i = r * w.cols + c;
    switch (w.type) {
        case dtype::f32: return static_cast<const float*>(w.data)[i];
        case dtype::bf16: return bf16_to_f32(static_cast<const std::uint16_t*>(w.data)[i]);
        case dtype::f16: return f16_to_f32(static_cast<const std::uint16_t*>(w.data)[i]);
        default: return 0.0f;
    }
}

// Reference: plain loops, f32 accumulation in index order. Dense dtypes only.
inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    parallel_for(pool, w.rows, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t t = 0; t < n; ++t) {
            const float* xt = x + t * w.cols;
            for (std::int64_t r = r0; r < r1; ++r) {
                float acc = 0.0f;
                for (std::int64_t c = 0; c < w.cols; ++c) acc += load_weight(w, r, c) * xt[c];
                y[t * w.rows + r] = acc + (bias ? bias[r] : 0.0f);
            }
        }
    });
}

}  // namespace scalar
}  // namespace smolvlm::kernels
