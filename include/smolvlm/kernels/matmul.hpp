// smolvlm/kernels/matmul.hpp — the matrix product every layer goes through.
//
// A weight matrix is stored as PyTorch's nn.Linear stores it: W [rows = out_features,
// cols = in_features], row-major, in its stored dtype (f32, f16, bf16 used in place
// from the mmap'd file; q8/q4 packed formats from kernels/quant.hpp).
//
//   y[n, rows] = x[n, cols] · W^T  (+ bias[rows])
//
// This file holds the types, the plain scalar reference, and the driver every int8/int4
// kernel shares (quantize the activations once, split output-row panels over threads).
// SIMD versions share the signature and are chosen at run time by kernels/dispatch.hpp.
// Weight matrices are made by kernels/pack.hpp (pack_weight), which documents the layout.
#pragma once

#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"
#include "../core/parallel.hpp"
#include "quant.hpp"

namespace smolvlm::kernels {

struct weight_matrix {
    dtype type = dtype::f32;      // f32, f16, bf16, q8, q4
    const void* data = nullptr;   // f32/f16/bf16: [rows, cols]; q8/q4: panel codes (quant.hpp)
    const void* scales = nullptr; // q8/q4: f16 [panels, cols/32, 16] (quant.hpp)
    std::int64_t rows = 0;        // out_features
    std::int64_t cols = 0;        // in_features
    // >= 0: `data` holds rows of ggml blocks of this type (io/ggml_type.hpp), as a GGUF
    // stores them; no matmul reads such a matrix — the loader repacks it first
    // (kernels/ggml_repack.hpp), embeddings decode single rows (kernels/ggml_blocks.hpp).
    std::int32_t ggml = -1;
    // q4 / q8 only, may be null: f32 [rows, cols/32], a constant added to every weight of a
    // 32-group, so weight (r, c) = its code's value + group_offsets[r * cols/32 + c/32]. This
    // holds ggml's Q4_1 / Q5_1 ("q * d + m") with the codes and d unchanged (kernels/
    // ggml_repack.hpp); the matmul adds y[t, r] += sum_g offset[r, g] * sum(x[t, group g]).
    const float* group_offsets = nullptr;
};

// y[n, rows] += (per-group sums of x) · group_offsets^T, the part of y the group offsets
// contribute (f32, the sums of the activations as they are). x: [n, cols], y: [n, rows].
inline void add_group_offsets(const weight_matrix& w, const float* x, std::int64_t n, float* y, thread_pool* pool) {
    const std::int64_t nb = w.cols / 32;
    if (!w.group_offsets || nb <= 0) return;
    float stack_sums[1024];
    float* sums = n * nb <= 1024 ? stack_sums : static_cast<float*>(SMOLVLM_MALLOC(std::size_t(n * nb) * 4, 64));
    if (!sums) {  // out of memory: one token at a time through the stack buffer
        for (std::int64_t t = 0; t < n; ++t) add_group_offsets(w, x + t * w.cols, 1, y + t * w.rows, pool);
        return;
    }
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t g = 0; g < nb; ++g) {
            const float* xg = x + t * w.cols + g * 32;
            float acc = 0.0f;
            for (int i = 0; i < 32; ++i) acc += xg[i];
            sums[t * nb + g] = acc;
        }
    parallel_for(pool, w.rows, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t t = 0; t < n; ++t) {
            const float* st = sums + t * nb;
            for (std::int64_t r = r0; r < r1; ++r) {
                const float* o = w.group_offsets + r * nb;
                float acc = 0.0f;
                for (std::int64_t g = 0; g < nb; ++g) acc += o[g] * st[g];
                y[t * w.rows + r] += acc;
            }
        }
    });
    if (sums != stack_sums) SMOLVLM_FREE(sums);
}

using matmul_fn = void (*)(const weight_matrix& w, const float* x, std::int64_t n, float* y,
                           const float* bias, thread_pool* pool);
// ys[i] = x · ws[i]^T (+ biases[i]) for up to 8 weights sharing the input x (q, k, v;
// gate, up): the same results as `count` matmul calls, in one parallel region.
using matmul_multi_fn = void (*)(const weight_matrix* ws, int count, const float* x, std::int64_t n,
                                 float* const* ys, const float* const* biases, thread_pool* pool);

// ---- shared driver for the int8/int4 kernels ------------------------------------------

namespace detail {

// Activations quantized for one call: q [n, cols] int8, d and s [n, cols/32] f32
// (see quantize_act_row).
struct quantized_acts {
    const std::int8_t* q = nullptr;
    const float* d = nullptr;
    const float* s = nullptr;
    std::int64_t nb = 0;  // groups per token
    const std::int8_t* q_row(std::int64_t t) const { return q + t * nb * k_group; }
    const float* d_row(std::int64_t t) const { return d + t * nb; }
    const float* s_row(std::int64_t t) const { return s + t * nb; }
};

// Computes y[t, 16p .. 16p+16) for tokens [0, a.n) and panels [p0, p1) (+ bias).
using q_panels_fn = void (*)(const weight_matrix& w, const quantized_acts& a, std::int64_t n, float* y,
                             const float* bias, std::int64_t p0, std::int64_t p1);
// Quantizes one token row (same contract as quantize_act_row; SIMD versions may be used).
using q_act_fn = void (*)(const float* x, std::int64_t k, int offset, std::int8_t* q, float* d, float* s);

inline void quantize_acts(q_act_fn quant, const float* x, std::int64_t n, std::int64_t cols, int offset,
                          std::int8_t* q, float* d, float* s, thread_pool* pool) {
    const std::int64_t nb = cols / k_group;
    auto body = [&](std::int64_t t0, std::int64_t t1, int) {
        for (std::int64_t t = t0; t < t1; ++t) quant(x + t * cols, cols, offset, q + t * cols, d + t * nb, s + t * nb);
    };
    if (n >= 8)
        parallel_for(pool, n, body);
    else
        body(0, n, 0);
}

// ys[i][n, ws[i].rows] = x[n, cols] · Wi^T (+biases[i]) for `count` q8/q4 panel weights of
// the same type and cols sharing one input (q, k, v; gate, up): the activations are
// quantized once and the panels of every weight are split over the threads in ONE
// parallel region. Decode-sized calls use a stack buffer (no allocation); bigger ones
// allocate once, and if that fails fall back to token chunks through the stack buffer.
inline void q_matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                           const float* const* biases, thread_pool* pool, int offset, q_act_fn quant,
                           q_panels_fn panels) {
    const std::int64_t cols = ws[0].cols, nb = cols / k_group;
    const std::int64_t bytes_per_token = cols + nb * 8;
    std::int64_t first[8 + 1];  // panel offsets of the weights in the combined range
    first[0] = 0;
    for (int i = 0; i < count; ++i) first[i + 1] = first[i] + panel_count(ws[i].rows);
    auto run = [&](const float* xc, std::int64_t nc, std::int64_t t0, unsigned char* buf) {
        quantized_acts a;
        auto* q = reinterpret_cast<std::int8_t*>(buf);
        auto* d = reinterpret_cast<float*>(buf + nc * cols);
        auto* s = d + nc * nb;
        quantize_acts(quant, xc, nc, cols, offset, q, d, s, pool);
        a.q = q;
        a.d = d;
        a.s = s;
        a.nb = nb;
        parallel_for(pool, first[count], [&](std::int64_t p0, std::int64_t p1, int) {
            for (int i = 0; i < count; ++i) {
                const std::int64_t b = p0 > first[i] ? p0 : first[i], e = p1 < first[i + 1] ? p1 : first[i + 1];
                if (b < e) panels(ws[i], a, nc, ys[i] + t0 * ws[i].rows, biases ? biases[i] : nullptr, b - first[i],
                                  e - first[i]);
            }
        });
    };
    alignas(64) unsigned char stack_buf[16384];
    const std::int64_t stack_tokens = std::int64_t(sizeof(stack_buf)) / bytes_per_token;
    if (n <= stack_tokens) {
        run(x, n, 0, stack_buf);
        return;
    }
    void* heap = SMOLVLM_MALLOC(std::size_t(n * bytes_per_token), k_alignment);
    if (heap) {
        run(x, n, 0, static_cast<unsigned char*>(heap));
        SMOLVLM_FREE(heap);
        return;
    }
    if (stack_tokens == 0) {  // cannot even hold one token: out of memory, report zeros
        for (int i = 0; i < count; ++i) std::memset(ys[i], 0, std::size_t(n * ws[i].rows) * sizeof(float));
        return;
    }
    // The token chunks write y rows [t0, t0 + nc): y is [n, rows], so chunks stay contiguous.
    for (std::int64_t t0 = 0; t0 < n; t0 += stack_tokens) {
        const std::int64_t nc = n - t0 < stack_tokens ? n - t0 : stack_tokens;
        run(x + t0 * cols, nc, t0, stack_buf);
    }
}

inline void q_matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                     thread_pool* pool, int offset, q_act_fn quant, q_panels_fn panels) {
    float* const ys[1] = {y};
    const float* const bs[1] = {bias};
    q_matmul_multi(&w, 1, x, n, ys, bs, pool, offset, quant, panels);
}

// Several weights sharing one input through an ISA's kernels: one q_matmul_multi when they
// are all q4 (or all q8) with the same cols, else one `single` call each.
//   Quant / P4 / P8 / O4 / O8: the ISA's activation quantizer, q4 and q8 panel kernels and
//   activation offsets (what its matmul passes to q_matmul).
template <q_act_fn Quant, q_panels_fn P4, q_panels_fn P8, int O4, int O8, matmul_fn Single>
inline void matmul_multi_with(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                              const float* const* biases, thread_pool* pool) {
    bool same = count >= 1 && count <= 8 && (ws[0].type == dtype::q4 || ws[0].type == dtype::q8);
    for (int i = 1; i < count && same; ++i) same = ws[i].type == ws[0].type && ws[i].cols == ws[0].cols;
    if (!same) {
        for (int i = 0; i < count; ++i) Single(ws[i], x, n, ys[i], biases ? biases[i] : nullptr, pool);
        return;
    }
    if (ws[0].type == dtype::q4)
        q_matmul_multi(ws, count, x, n, ys, biases, pool, O4, Quant, P4);
    else
        q_matmul_multi(ws, count, x, n, ys, biases, pool, O8, Quant, P8);
}

}  // namespace detail

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

// Reference for q8/q4: the same integer arithmetic every SIMD kernel does, in plain loops.
// Per panel row r and group b:  acc += dw * (dx * sum(code * q) + xs)  with codes signed
// (offset 0) for q8 and 0..15 (offset 8) for q4.
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    const auto* q = static_cast<const std::uint8_t*>(w.data);
    const auto* sc = static_cast<const std::uint16_t*>(w.scales);
    const std::int64_t nb = a.nb;
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int8_t* xq = a.q_row(t);
        for (std::int64_t r = p0 * k_panel; r < p1 * k_panel && r < w.rows; ++r) {
            float acc = 0.0f;
            for (std::int64_t b = 0; b < nb; ++b) {
                std::int32_t dot = 0;
                for (std::int64_t c = b * k_group; c < (b + 1) * k_group; ++c) {
                    const int wv = w.type == dtype::q4 ? panel_q4_code(q, nb, r, c) : panel_q8_value(q, nb, r, c);
                    dot += wv * xq[c];
                }
                acc += panel_scale(sc, nb, r, b * k_group) * (a.d_row(t)[b] * float(dot) + a.s_row(t)[b]);
            }
            y[t * w.rows + r] = acc + (bias ? bias[r] : 0.0f);
        }
    }
}

// Reference: plain loops, f32 accumulation in index order (q8/q4: see q_panels).
inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q8 || w.type == dtype::q4) {
        detail::q_matmul(w, x, n, y, bias, pool, w.type == dtype::q4 ? 8 : 0, &quantize_act_row, &q_panels);
        return;
    }
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

// Several weights sharing one input (see matmul_multi_fn).
inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&quantize_act_row, &q_panels, &q_panels, 8, 0, &matmul>(ws, count, x, n, ys, biases, pool);
}

}  // namespace scalar
}  // namespace smolvlm::kernels
