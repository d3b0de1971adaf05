// smolvlm/nn/attention.hpp — scaled dot-product attention, multi-head / grouped-query.
//
// Computed in tiles with an online softmax (running max and sum per query), so no
// [n_q, n_kv] score matrix is ever materialised: memory is one block of scores.
//
//   q:   [n_q, n_heads, hd]            (row stride q_stride floats per token)
//   k,v: [n_kv, n_kv_heads, hd]        (row stride kv_stride elements per token: a KV cache,
//                                       f32, or f16 through attention_f16)
//   out: [n_q, n_heads, hd]
// Head h reads kv head h / (n_heads / n_kv_heads). With `causal`, query t (absolute
// position q_pos0 + t) sees keys 0 .. q_pos0 + t; otherwise all n_kv keys.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../kernels/dispatch.hpp"
#include "context.hpp"

namespace smolvlm::nn {

struct attention_shape {
    std::int64_t n_q = 0, n_kv = 0;
    std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
    std::int64_t q_stride = 0, kv_stride = 0, out_stride = 0;  // floats between tokens
    bool causal = false;
    std::int64_t q_pos0 = 0;
};

namespace detail {

// T = float (f32 keys/values) or std::uint16_t (f16 bits); attend: the kernel for T.
template <class T, class Attend>
inline void attention_t(const context& ctx, const attention_shape& a, const float* q, const T* k, const T* v,
                        float* out, Attend attend) {
    const std::int64_t hd = a.head_dim;
    const std::int64_t group = a.n_heads / a.n_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    // Work items: (head, query) pairs; each keeps its own accumulators (in its output).
    parallel_for(ctx.pool, a.n_heads * a.n_q, [&](std::int64_t w0, std::int64_t w1, int) {
        for (std::int64_t w = w0; w < w1; ++w) {
            const std::int64_t h = w / a.n_q, t = w % a.n_q;
            const std::int64_t kvh = h / group;
            const std::int64_t n_keys = a.causal ? std::min(a.n_kv, a.q_pos0 + t + 1) : a.n_kv;
            attend(q + t * a.q_stride + h * hd, k + kvh * hd, v + kvh * hd, a.kv_stride, n_keys, hd, scale,
                   out + t * a.out_stride + h * hd);
        }
    });
}

}  // namespace detail

// The per-query kernel of the ISA ctx.matmul belongs to (kernels::scalar::attend is the
// reference; SIMD twins are tested against it).
inline void attention(const context& ctx, const attention_shape& a, const float* q, const float* k, const float* v,
                      float* out) {
    detail::attention_t(ctx, a, q, k, v, out, kernels::table_of(ctx.matmul).attend);
}

// Keys and values stored as f16 (an f16 KV cache): kv_stride counts f16 elements.
inline void attention_f16(const context& ctx, const attention_shape& a, const float* q, const std::uint16_t* k,
                          const std::uint16_t* v, float* out) {
    detail::attention_t(ctx, a, q, k, v, out, kernels::table_of(ctx.matmul).attend_f16);
}

// Reference: materialises the scores and uses a plain softmax (tests compare against it).
inline void attention_reference(const attention_shape& a, const float* q, const float* k, const float* v,
                                float* out) {
    const std::int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const double scale = 1.0 / std::sqrt(double(hd));
    std::vector<double> s(std::size_t(a.n_kv));
    for (std::int64_t h = 0; h < a.n_heads; ++h)
        for (std::int64_t t = 0; t < a.n_q; ++t) {
            const std::int64_t n_keys = a.causal ? std::min(a.n_kv, a.q_pos0 + t + 1) : a.n_kv;
            double mx = -1e300, sum = 0.0;
            for (std::int64_t j = 0; j < n_keys; ++j) {
                double d = 0.0;
                for (std::int64_t i = 0; i < hd; ++i)
                    d += double(q[t * a.q_stride + h * hd + i]) * double(k[j * a.kv_stride + (h / group) * hd + i]);
                s[std::size_t(j)] = d * scale;
                mx = std::max(mx, s[std::size_t(j)]);
            }
            for (std::int64_t j = 0; j < n_keys; ++j) sum += (s[std::size_t(j)] = std::exp(s[std::size_t(j)] - mx));
            for (std::int64_t i = 0; i < hd; ++i) {
                double o = 0.0;
                for (std::int64_t j = 0; j < n_keys; ++j)
                    o += s[std::size_t(j)] * double(v[j * a.kv_stride + (h / group) * hd + i]);
                out[t * a.out_stride + h * hd + i] = float(o / sum);
            }
        }
}

}  // namespace smolvlm::nn
