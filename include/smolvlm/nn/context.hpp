// smolvlm/nn/context.hpp — what every nn/ call needs to run: the caller's thread
// pool and the kernel table picked for this CPU. Owned by a session; no globals.
#pragma once

#include "../core/parallel.hpp"
#include "../kernels/matmul.hpp"

namespace smolvlm::nn {

struct context {
    thread_pool* pool = nullptr;                   // null: single-threaded
    kernels::matmul_fn matmul = &kernels::scalar::matmul;  // replaced by dispatch
};

// y[n, w.rows] = x[n, w.cols] · W^T (+ bias)
inline void linear(const context& ctx, const kernels::weight_matrix& w, const float* x, std::int64_t n, float* y,
                   const float* bias = nullptr) {
    ctx.matmul(w, x, n, y, bias, ctx.pool);
}

}  // namespace smolvlm::nn
