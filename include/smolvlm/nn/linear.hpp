// smolvlm/nn/linear.hpp — nn.Linear: y = x W^T (+ b), through the context's matmul kernel.
#pragma once

#include <cstdint>

#include "../kernels/matmul.hpp"
#include "context.hpp"

namespace smolvlm::nn {

// y[n, w.rows] = x[n, w.cols] · W^T (+ bias[w.rows])
inline void linear(const context& ctx, const kernels::weight_matrix& w, const float* x, std::int64_t n, float* y,
                   const float* bias = nullptr) {
    ctx.kt.matmul(w, x, n, y, bias, ctx.pool);
    if (w.group_offsets) kernels::add_group_offsets(w, x, n, y, ctx.pool);  // ggml Q4_1 / Q5_1 minima
}

// Several nn.Linear sharing the input x (q, k, v; gate, up), up to 8: ys[i] = x Wi^T (+ bi).
// The same results as separate linear calls; quantized weights run in one parallel region
// with the activations quantized once.
inline void linear_multi(const context& ctx, const kernels::weight_matrix* ws, int count, const float* x,
                         std::int64_t n, float* const* ys, const float* const* biases = nullptr) {
    ctx.kt.matmul_multi(ws, count, x, n, ys, biases, ctx.pool);
    for (int i = 0; i < count; ++i)
        if (ws[i].group_offsets) kernels::add_group_offsets(ws[i], x, n, ys[i], ctx.pool);  // as in linear()
}

}  // namespace smolvlm::nn
