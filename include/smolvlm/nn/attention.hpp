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
#include <cstring>
#include <limits>
#include <vector>

#include "../kernels/dispatch.hpp"
#include "context.hpp"

namespace smolvlm::nn {

struct attention_shape {
    std::int64_t n_q = 0, n_kv = 0;
    std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
    std::int64_t q_stride = 0, kv_stride = 0, out_stride = 0;  // elements between tokens
    std::int64_t kv_head_stride = 0;  // elements between kv heads (0: head_dim, heads interleaved per token)
    bool causal = false;
    std::int64_t q_pos0 = 0;

    std::int64_t head_offset(std::int64_t kvh) const { return kvh * (kv_head_stride ? kv_head_stride : head_dim); }
    // Keys query t sees.
    std::int64_t keys_for(std::int64_t t) const { return causal ? std::min(n_kv, q_pos0 + t + 1) : n_kv; }
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
            attend(q + t * a.q_stride + h * hd, k + a.head_offset(kvh), v + a.head_offset(kvh), a.kv_stride,
                   a.keys_for(t), hd, scale, out + t * a.out_stride + h * hd);
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

// ---- blocked attention (prefill) --------------------------------------------------------
//
// For many queries at once (a prompt chunk) the per-query kernel re-reads every key for
// every query and reduces each dot product horizontally. attention_blocked instead takes
// 64 queries of one head at a time:
//   S = q_blk k_h^T           the dense GEMM kernel, k_h read in place (f32 or f16) [m, nk]
//   P = softmax rows          softmax_fn, causal keys beyond each query zeroed
//   o = P v_h / rowsum        pv_fn: value rows loaded once per few queries      [m, hd]
// nk = the keys the block's last query sees, so a causal prompt skips the upper triangle.
// Keys and values must be stored per head as contiguous [n_kv, hd] planes (kv_stride ==
// head_dim, kv_head_stride apart), as kv_cache keeps them. One block of scores per thread.

inline constexpr std::int64_t k_attention_block = 64;

// Per-thread buffers: the block's queries [64, hd], scores [64, max_kv], output [64, hd].
struct attention_scratch {
    float* base = nullptr;
    std::int64_t max_kv = 0, head_dim = 0;
    int slots = 0;

    static std::size_t up16(std::int64_t n) { return (std::size_t(n) + 15) / 16 * 16; }  // 64-byte multiples
    static std::size_t floats_per_slot(std::int64_t max_kv, std::int64_t hd) {
        const std::int64_t B = k_attention_block;
        return up16(B * hd) + up16(B * max_kv) + up16(B * hd) + up16(B);
    }
    static std::size_t floats_needed(std::int64_t max_kv, std::int64_t hd, int slots) {
        return floats_per_slot(max_kv, hd) * std::size_t(slots);
    }
    // Slot i's buffers, in the order floats_per_slot counts them.
    struct block {
        float* q;    // [64, hd]
        float* s;    // [64, max_kv]
        float* o;    // [64, hd]
        float* sum;  // [64]
    };
    block slot(int i) const {
        const std::int64_t B = k_attention_block;
        block b;
        b.q = base + floats_per_slot(max_kv, head_dim) * std::size_t(i);
        b.s = b.q + up16(B * head_dim);
        b.o = b.s + up16(B * max_kv);
        b.sum = b.o + up16(B * head_dim);
        return b;
    }
};

template <class T>
inline void attention_blocked_t(const context& ctx, const attention_shape& a, const float* q, const T* k, const T* v,
                                float* out, const attention_scratch& sc) {
    const std::int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    const kernels::kernel_table kt = kernels::table_of(ctx.matmul);
    const dtype kv_type = sizeof(T) == sizeof(float) ? dtype::f32 : dtype::f16;
    const std::int64_t B = k_attention_block, blocks = (a.n_q + B - 1) / B;
    const context one{nullptr, ctx.matmul};  // the kernels inside run on the calling thread
    thread_pool* pool = ctx.pool && ctx.pool->size() <= sc.slots ? ctx.pool : nullptr;
    parallel_for(pool, a.n_heads * blocks, [&](std::int64_t w0, std::int64_t w1, int slot) {
        const attention_scratch::block buf = sc.slot(slot);
        float* qb = buf.q;     // [B, hd]
        float* sb = buf.s;     // [B, nk]
        float* ob = buf.o;     // [B, hd]
        float* sum = buf.sum;  // [B]
        for (std::int64_t w = w0; w < w1; ++w) {
            const std::int64_t h = w / blocks, t0 = (w % blocks) * B;
            const std::int64_t m = std::min(B, a.n_q - t0);
            const std::int64_t nk = a.keys_for(t0 + m - 1);   // keys the block's last query sees
            const T* kh = k + a.head_offset(h / group);
            const T* vh = v + a.head_offset(h / group);
            for (std::int64_t r = 0; r < m; ++r)
                std::memcpy(qb + r * hd, q + (t0 + r) * a.q_stride + h * hd, std::size_t(hd) * sizeof(float));
            linear(one, kernels::weight_matrix{kv_type, kh, nullptr, nk, hd}, qb, m, sb);  // sb: [m, nk]
            for (std::int64_t r = 0; r < m; ++r) {
                float* row = sb + r * nk;
                const std::int64_t n_keys = a.keys_for(t0 + r);
                sum[r] = kt.softmax(row, n_keys, scale);
                for (std::int64_t j = n_keys; j < nk; ++j) row[j] = 0.0f;  // causal: later keys
            }
            if constexpr (sizeof(T) == sizeof(float))
                kt.pv(sb, nk, m, nk, vh, a.kv_stride, hd, ob);
            else
                kt.pv_f16(sb, nk, m, nk, vh, a.kv_stride, hd, ob);
            for (std::int64_t r = 0; r < m; ++r) {
                const float inv = 1.0f / sum[r];
                float* o = out + (t0 + r) * a.out_stride + h * hd;
                for (std::int64_t i = 0; i < hd; ++i) o[i] = ob[r * hd + i] * inv;
            }
        }
    });
}

// Keys/values f32 (attention_blocked) or f16 bits (attention_blocked_f16). Needs
// a.kv_stride == head_dim, a.n_kv <= sc.max_kv, a.head_dim == sc.head_dim; runs on one
// thread when the pool has more threads than sc has slots.
inline void attention_blocked(const context& ctx, const attention_shape& a, const float* q, const float* k,
                              const float* v, float* out, const attention_scratch& sc) {
    attention_blocked_t(ctx, a, q, k, v, out, sc);
}
inline void attention_blocked_f16(const context& ctx, const attention_shape& a, const float* q, const std::uint16_t* k,
                                  const std::uint16_t* v, float* out, const attention_scratch& sc) {
    attention_blocked_t(ctx, a, q, k, v, out, sc);
}

// Reference: materialises the scores and uses a plain softmax (tests compare against it).
inline void attention_reference(const attention_shape& a, const float* q, const float* k, const float* v,
                                float* out) {
    const std::int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const double scale = 1.0 / std::sqrt(double(hd));
    std::vector<double> s(std::size_t(a.n_kv));
    for (std::int64_t h = 0; h < a.n_heads; ++h)
        for (std::int64_t t = 0; t < a.n_q; ++t) {
            const std::int64_t n_keys = a.keys_for(t), kv0 = a.head_offset(h / group);
            double mx = -1e300, sum = 0.0;
            for (std::int64_t j = 0; j < n_keys; ++j) {
                double d = 0.0;
                for (std::int64_t i = 0; i < hd; ++i)
                    d += double(q[t * a.q_stride + h * hd + i]) * double(k[j * a.kv_stride + kv0 + i]);
                s[std::size_t(j)] = d * scale;
                mx = std::max(mx, s[std::size_t(j)]);
            }
            for (std::int64_t j = 0; j < n_keys; ++j) sum += (s[std::size_t(j)] = std::exp(s[std::size_t(j)] - mx));
            for (std::int64_t i = 0; i < hd; ++i) {
                double o = 0.0;
                for (std::int64_t j = 0; j < n_keys; ++j)
                    o += s[std::size_t(j)] * double(v[j * a.kv_stride + kv0 + i]);
                out[t * a.out_stride + h * hd + i] = float(o / sum);
            }
        }
}

}  // namespace smolvlm::nn
