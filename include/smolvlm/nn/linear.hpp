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
}

}  // namespace smolvlm::nn
