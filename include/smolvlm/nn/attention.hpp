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

#include "../kernels/pack.hpp"
#include "context.hpp"
#include "linear.hpp"

namespace smolvlm::nn {

struct attention_shape {
    std::int64_t n_q = 0, n_kv = 0;
    std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
    std::int64_t q_stride = 0, kv_stride = 0, out_stride = 0;  // elements between tokens
    std::int64_t kv_head_stride = 0;  // elements between kv heads (0: head_dim, heads interleaved per token)
    bool causal = false;
    std::int64_t q_pos0 = 0;
    // Optional key range per query: query t sees keys [key_begin[t], key_end[t]) (blocked
    // attention only). Null: [0, keys_for(t)).
    const std::int64_t* key_begin = nullptr;
    const std::int64_t* key_end = nullptr;

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

// The context's per-query kernel (kernels::scalar::attend is the reference; SIMD twins are
// tested against it).
inline void attention(const context& ctx, const attention_shape& a, const float* q, const float* k, const float* v,
                      float* out) {
    detail::attention_t(ctx, a, q, k, v, out, ctx.kt.attend);
}

// Keys and values stored as f16 (an f16 KV cache): kv_stride counts f16 elements.
inline void attention_f16(const context& ctx, const attention_shape& a, const float* q, const std::uint16_t* k,
                          const std::uint16_t* v, float* out) {
    detail::attention_t(ctx, a, q, k, v, out, ctx.kt.attend_f16);
}

// ---- blocked attention (prompts, vision towers) -------------------------------------------
//
// For many queries at once (a prompt chunk, an image's patches) the per-query kernel re-reads
// every key for every query and reduces each dot product horizontally. attention_blocked
// instead takes 64 queries of one head at a time:
//   S = q_blk k_h^T           a GEMM through nn::linear, k_h as the weight             [m, nk]
//   P = softmax rows          softmax_fn over each query's keys; the others zeroed
//   o = P v_h / rowsum        pv_fn (f32/f16 planes, value rows loaded once per few
//                             queries) or a GEMM with v_h^T (int8 panels)                [m, hd]
// nk = the keys the block can see, so a causal prompt skips the upper triangle. One block
// of scores per thread; nothing [n_q, n_kv] is ever materialised.
//
// Which keys query t sees: [0, keys_for(t)) — all n_kv keys, or causally up to its own
// position — unless attention_shape::key_begin / key_end give a range per query
// (block-diagonal attention over several images in one sequence, masked keys, windows).
//
// Keys and values come as per-head planes (kv_planes):
//   f32 / f16   k_h, v_h: [n_kv, hd] contiguous, head_stride elements apart — the layout of
//               the decoder's KV cache, read in place;
//   q8          k_h as q8 panels [np, hdp] and v_h^T as q8 panels [hd, np] (np, hdp: n_kv and
//               hd rounded up to 32, zero padded), for towers whose weights are q8/q4: both
//               products then run on the int8 GEMMs, which quantize q and P per 32-group like
//               every activation. gather_kv makes them from a [n, heads * hd] sequence.

inline constexpr std::int64_t k_attention_block = 64;

inline std::int64_t round_up_group(std::int64_t x) { return (x + kernels::k_group - 1) / kernels::k_group * kernels::k_group; }

struct kv_planes {
    dtype type = dtype::f32;                      // f32, f16 or q8
    const void* k = nullptr;                      // f32 / f16: plane of kv head h at k + h * head_stride
    const void* v = nullptr;
    std::int64_t head_stride = 0;                 // elements
    const kernels::weight_matrix* k_q8 = nullptr; // q8: [n_kv_heads], k_h as q8 [np, hdp]
    const kernels::weight_matrix* vt_q8 = nullptr;// q8: [n_kv_heads], v_h^T as q8 [hd, np]
};

// Per-thread buffers: the block's queries [64, hdp], scores [64, max_kv (padded)],
// output [64, hd], row sums [64].
struct attention_scratch {
    float* base = nullptr;
    std::int64_t max_kv = 0, head_dim = 0;
    int slots = 0;
    bool int8 = false;  // sized for the padded q8 layout

    static std::size_t up16(std::int64_t n) { return (std::size_t(n) + 15) / 16 * 16; }  // 64-byte multiples
    static std::size_t floats_per_slot(std::int64_t max_kv, std::int64_t hd, bool int8 = false) {
        const std::int64_t B = k_attention_block;
        const std::int64_t kp = int8 ? round_up_group(max_kv) : max_kv, hp = int8 ? round_up_group(hd) : hd;
        return up16(B * hp) + up16(B * kp) + up16(B * hd) + up16(B);
    }
    static std::size_t floats_needed(std::int64_t max_kv, std::int64_t hd, int slots, bool int8 = false) {
        return floats_per_slot(max_kv, hd, int8) * std::size_t(slots);
    }
    // Slot i's buffers, in the order floats_per_slot counts them.
    struct block {
        float* q;    // [64, hdp]
        float* s;    // [64, max_kv (padded)]
        float* o;    // [64, hd]
        float* sum;  // [64]
    };
    block slot(int i) const {
        const std::int64_t B = k_attention_block;
        const std::int64_t kp = int8 ? round_up_group(max_kv) : max_kv, hp = int8 ? round_up_group(head_dim) : head_dim;
        block b;
        b.q = base + floats_per_slot(max_kv, head_dim, int8) * std::size_t(i);
        b.s = b.q + up16(B * hp);
        b.o = b.s + up16(B * kp);
        b.sum = b.o + up16(B * head_dim);
        return b;
    }
};

// Needs: f32/f16 planes: kv_stride == head_dim; n_kv <= sc.max_kv; head_dim == sc.head_dim;
// q8 planes: sc.int8. Runs on one thread when the pool has more threads than sc has slots.
inline void attention_blocked(const context& ctx, const attention_shape& a, const float* q, const kv_planes& kv,
                              float* out, const attention_scratch& sc) {
    const std::int64_t hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
    const float scale = 1.0f / std::sqrt(float(hd));
    const kernels::kernel_table& kt = ctx.kt;
    const bool int8 = kv.type == dtype::q8;
    const std::int64_t hdp = int8 ? round_up_group(hd) : hd;  // query row length
    const std::int64_t B = k_attention_block, blocks = (a.n_q + B - 1) / B;
    const context one = ctx.single_threaded();  // the kernels inside run on the calling thread
    thread_pool* pool = ctx.pool && ctx.pool->size() <= sc.slots ? ctx.pool : nullptr;
    auto first_key = [&](std::int64_t t) { return a.key_begin ? a.key_begin[t] : std::int64_t(0); };
    auto end_key = [&](std::int64_t t) { return a.key_end ? a.key_end[t] : a.keys_for(t); };
    parallel_for(pool, a.n_heads * blocks, [&](std::int64_t w0, std::int64_t w1, int slot) {
        const attention_scratch::block buf = sc.slot(slot);
        float* qb = buf.q;     // [B, hdp]
        float* sb = buf.s;     // [B, nk]
        float* ob = buf.o;     // [B, hd]
        float* sum = buf.sum;  // [B]
        if (hdp != hd) std::memset(qb, 0, std::size_t(B * hdp) * sizeof(float));  // padded head columns stay 0
        for (std::int64_t w = w0; w < w1; ++w) {
            const std::int64_t h = w / blocks, t0 = (w % blocks) * B;
            const std::int64_t m = std::min(B, a.n_q - t0);
            const std::int64_t kvh = h / group;
            std::int64_t nk = 0;  // keys the block sees: up to the largest end of its queries
            for (std::int64_t r = 0; r < m; ++r) nk = std::max(nk, end_key(t0 + r));
            // f32 / f16 planes: the products start at the smallest first key of the block
            // (block-diagonal attention skips the other images' keys); q8 panels: at key 0.
            std::int64_t k0 = int8 || !a.key_begin ? 0 : nk;
            for (std::int64_t r = 0; r < m && k0 > 0; ++r) k0 = std::min(k0, first_key(t0 + r));
            for (std::int64_t r = 0; r < m; ++r)
                std::memcpy(qb + r * hdp, q + (t0 + r) * a.q_stride + h * hd, std::size_t(hd) * sizeof(float));
            std::int64_t row_len = nk - k0;  // score row stride; column j is key k0 + j
            if (int8) {
                row_len = kv.k_q8[kvh].rows;  // np: all (padded) keys
                linear(one, kv.k_q8[kvh], qb, m, sb);  // sb: [m, np]
            } else {
                const std::size_t es = kv.type == dtype::f16 ? 2 : 4;
                const void* kh = static_cast<const std::uint8_t*>(kv.k) + std::size_t(kvh * kv.head_stride + k0 * hd) * es;
                linear(one, kernels::weight_matrix{kv.type, kh, nullptr, nk - k0, hd}, qb, m, sb);  // sb: [m, nk - k0]
            }
            for (std::int64_t r = 0; r < m; ++r) {
                float* row = sb + r * row_len;
                const std::int64_t kb = first_key(t0 + r) - k0, ke = end_key(t0 + r) - k0;
                for (std::int64_t j = 0; j < kb; ++j) row[j] = 0.0f;
                sum[r] = kt.softmax(row + kb, ke - kb, scale);
                for (std::int64_t j = ke; j < row_len; ++j) row[j] = 0.0f;  // later, masked or padded keys
            }
            if (int8) {
                linear(one, kv.vt_q8[kvh], sb, m, ob);  // ob: [m, hd] = P v_h
            } else if (kv.type == dtype::f16) {
                const auto* vh = static_cast<const std::uint16_t*>(kv.v) + kvh * kv.head_stride + k0 * hd;
                kt.pv_f16(sb, row_len, m, nk - k0, vh, hd, hd, ob);
            } else {
                const auto* vh = static_cast<const float*>(kv.v) + kvh * kv.head_stride + k0 * hd;
                kt.pv(sb, row_len, m, nk - k0, vh, hd, hd, ob);
            }
            for (std::int64_t r = 0; r < m; ++r) {
                const float inv = 1.0f / sum[r];
                float* o = out + (t0 + r) * a.out_stride + h * hd;
                for (std::int64_t i = 0; i < hd; ++i) o[i] = ob[r * hd + i] * inv;
            }
        }
    });
}

// f32 / f16 planes read in place (the KV cache): keys/values [n_kv_heads, *, hd].
template <class T>
inline void attention_blocked_planes(const context& ctx, const attention_shape& a, const float* q, const T* k,
                                     const T* v, float* out, const attention_scratch& sc) {
    kv_planes kv;
    kv.type = sizeof(T) == sizeof(float) ? dtype::f32 : dtype::f16;
    kv.k = k;
    kv.v = v;
    kv.head_stride = a.kv_head_stride ? a.kv_head_stride : a.head_dim;
    attention_blocked(ctx, a, q, kv, out, sc);
}
inline void attention_blocked(const context& ctx, const attention_shape& a, const float* q, const float* k,
                              const float* v, float* out, const attention_scratch& sc) {
    attention_blocked_planes(ctx, a, q, k, v, out, sc);
}
inline void attention_blocked_f16(const context& ctx, const attention_shape& a, const float* q, const std::uint16_t* k,
                                  const std::uint16_t* v, float* out, const attention_scratch& sc) {
    attention_blocked_planes(ctx, a, q, k, v, out, sc);
}

// ---- keys and values of a sequence, as planes --------------------------------------------

// Buffers for gather_kv: f32 planes, or (int8) the padded f32 staging and the q8 panels.
struct kv_gather_buffers {
    float* k = nullptr;                     // f32: [H, n, hd]; int8: k_h staging [H, np, hdp]
    float* v = nullptr;                     // f32: [H, n, hd]; int8: v_h^T staging [H, hd, np]
    std::uint8_t* kq = nullptr;             // int8: [H] k_h q8 panels
    std::uint16_t* kd = nullptr;            //       their f16 scales
    std::uint8_t* vq = nullptr;             // int8: [H] v_h^T q8 panels
    std::uint16_t* vd = nullptr;
    kernels::weight_matrix* k_q8 = nullptr; // int8: [H]
    kernels::weight_matrix* vt_q8 = nullptr;
    std::int64_t n = 0, heads = 0, hd = 0;
    bool int8 = false;

    // Describe (planner) or carve (carver) the buffers for n keys, `heads` heads of hd.
    template <class Carver>
    void take(Carver& c, std::int64_t n_, std::int64_t heads_, std::int64_t hd_, bool int8_) {
        n = n_, heads = heads_, hd = hd_, int8 = int8_;
        const std::size_t H = std::size_t(heads);
        if (!int8) {
            k = c.template take<float>(H * std::size_t(n * hd));
            v = c.template take<float>(H * std::size_t(n * hd));
            return;
        }
        const std::int64_t np = round_up_group(n), hdp = round_up_group(hd);
        k = c.template take<float>(H * std::size_t(np * hdp));
        v = c.template take<float>(H * std::size_t(hd * np));
        kq = c.template take<std::uint8_t>(H * kernels::panel_q8_bytes(np, hdp));
        kd = c.template take<std::uint16_t>(H * kernels::panel_scale_count(np, hdp));
        vq = c.template take<std::uint8_t>(H * kernels::panel_q8_bytes(hd, np));
        vd = c.template take<std::uint16_t>(H * kernels::panel_scale_count(hd, np));
        k_q8 = c.template take<kernels::weight_matrix>(H);
        vt_q8 = c.template take<kernels::weight_matrix>(H);
    }
};

// Keys and values of n_kv tokens ([n_kv, heads * hd] with row stride `stride`) into the
// planes attention_blocked reads, one head per task: f32 planes, or (b.int8) k_h and v_h^T
// zero padded to multiples of 32 and quantized like weights (32-groups, f16 scales).
inline kv_planes gather_kv(const context& ctx, const float* k, const float* v, std::int64_t stride,
                           const kv_gather_buffers& b) {
    const std::int64_t n = b.n, hd = b.hd;
    kv_planes out;
    if (!b.int8) {
        parallel_for(ctx.pool, b.heads, [&](std::int64_t h0, std::int64_t h1, int) {
            for (std::int64_t h = h0; h < h1; ++h)
                for (std::int64_t t = 0; t < n; ++t) {
                    std::memcpy(b.k + (h * n + t) * hd, k + t * stride + h * hd, std::size_t(hd) * sizeof(float));
                    std::memcpy(b.v + (h * n + t) * hd, v + t * stride + h * hd, std::size_t(hd) * sizeof(float));
                }
        });
        out.type = dtype::f32;
        out.k = b.k;
        out.v = b.v;
        out.head_stride = n * hd;
        return out;
    }
    const std::int64_t np = round_up_group(n), hdp = round_up_group(hd);
    const kernels::q8_row_fn q8_row = ctx.kt.q8_row;
    parallel_for(ctx.pool, b.heads, [&](std::int64_t h0, std::int64_t h1, int) {
        for (std::int64_t h = h0; h < h1; ++h) {
            float* kh = b.k + h * np * hdp;  // [np, hdp]
            float* vt = b.v + h * hd * np;   // [hd, np]
            for (std::int64_t t = 0; t < n; ++t) {
                std::memcpy(kh + t * hdp, k + t * stride + h * hd, std::size_t(hd) * sizeof(float));
                std::memset(kh + t * hdp + hd, 0, std::size_t(hdp - hd) * sizeof(float));
                for (std::int64_t i = 0; i < hd; ++i) vt[i * np + t] = v[t * stride + h * hd + i];
            }
            std::memset(kh + n * hdp, 0, std::size_t((np - n) * hdp) * sizeof(float));
            for (std::int64_t i = 0; i < hd; ++i) std::memset(vt + i * np + n, 0, std::size_t(np - n) * sizeof(float));
            b.k_q8[h] = kernels::pack_q8_into(kh, np, hdp, b.kq + h * kernels::panel_q8_bytes(np, hdp),
                                              b.kd + h * kernels::panel_scale_count(np, hdp), q8_row);
            b.vt_q8[h] = kernels::pack_q8_into(vt, hd, np, b.vq + h * kernels::panel_q8_bytes(hd, np),
                                               b.vd + h * kernels::panel_scale_count(hd, np), q8_row);
        }
    });
    out.type = dtype::q8;
    out.k_q8 = b.k_q8;
    out.vt_q8 = b.vt_q8;
    return out;
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
