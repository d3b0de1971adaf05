// smolvlm/nn/rope.hpp — rotary position embedding, Llama "rotate_half" layout.
//
// For head dim hd and pair i < hd/2: inv_freq_i = theta^(-2i/hd) (computed in f32 as
// the reference does), angle = pos * inv_freq_i (f32), and
//   out[i]        = x[i] cos - x[i + hd/2] sin
//   out[i + hd/2] = x[i + hd/2] cos + x[i] sin
//
// rope_table: 1D positions (decoders). rope_2d_table: axial 2D positions (row, column) of
// image patches (Pixtral): the first hd/4 angles are row * inv_freq[0::2], the next hd/4
// column * inv_freq[1::2], and the same rotate_half pairing over the whole head.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "context.hpp"

namespace smolvlm::nn {

// Rotate x: [n_tokens, n_heads, hd] in place with per-token angles given as
// cos, sin: [n_tokens, hd/2] (pair i of token t uses cos[t][i], sin[t][i]).
inline void rope_apply_angles(const context& ctx, float* x, std::int64_t n_tokens, std::int64_t n_heads,
                              std::int64_t head_dim, const float* cos, const float* sin) {
    const std::int64_t half = head_dim / 2;
    parallel_for(ctx.pool, n_tokens, [&](std::int64_t t0, std::int64_t t1, int) {
        for (std::int64_t t = t0; t < t1; ++t) {
            const float* c = cos + t * half;
            const float* s = sin + t * half;
            for (std::int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (t * n_heads + h) * head_dim;
                for (std::int64_t i = 0; i < half; ++i) {
                    const float a = v[i], b = v[i + half];
                    v[i] = a * c[i] - b * s[i];
                    v[i + half] = b * c[i] + a * s[i];
                }
            }
        }
    }, 16);
}

struct rope_table {
    std::int64_t head_dim = 0;
    std::vector<float> inv_freq;  // [hd/2]

    rope_table() = default;
    rope_table(std::int64_t hd, double theta) : head_dim(hd), inv_freq(std::size_t(hd / 2)) {
        for (std::int64_t i = 0; i < hd / 2; ++i) {
            const float expo = float(2 * i) / float(hd);                 // arange(0, hd, 2).float() / hd
            inv_freq[std::size_t(i)] = 1.0f / std::pow(float(theta), expo);  // f32 pow as torch
        }
    }

    // Rotate x: [n_tokens, n_heads, hd] in place; token t has position pos0 + t.
    void apply(float* x, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t pos0) const {
        const std::int64_t half = head_dim / 2;
        std::vector<float> c(static_cast<std::size_t>(half)), s(static_cast<std::size_t>(half));
        for (std::int64_t t = 0; t < n_tokens; ++t) {
            const float pos = float(pos0 + t);
            for (std::int64_t i = 0; i < half; ++i) {
                const float ang = pos * inv_freq[std::size_t(i)];
                c[std::size_t(i)] = float(std::cos(double(ang)));
                s[std::size_t(i)] = float(std::sin(double(ang)));
            }
            for (std::int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (t * n_heads + h) * head_dim;
                for (std::int64_t i = 0; i < half; ++i) {
                    const float a = v[i], b = v[i + half];
                    v[i] = a * c[std::size_t(i)] - b * s[std::size_t(i)];
                    v[i + half] = b * c[std::size_t(i)] + a * s[std::size_t(i)];
                }
            }
        }
    }
};

// Axial 2D RoPE (PixtralVisionRotaryEmbedding): inv_freq as rope_table for head_dim hd,
// split into the even-indexed frequencies (rows) and the odd-indexed ones (columns).
struct rope_2d_table {
    std::int64_t head_dim = 0;
    std::vector<float> inv_freq;  // [hd/2]: inv_freq[0::2] (hd/4 values) then inv_freq[1::2]

    rope_2d_table() = default;
    rope_2d_table(std::int64_t hd, double theta) : head_dim(hd), inv_freq(std::size_t(hd / 2)) {
        const rope_table t(hd, theta);
        const std::size_t q = std::size_t(hd / 4);
        for (std::size_t j = 0; j < q; ++j) {
            inv_freq[j] = t.inv_freq[2 * j];
            inv_freq[q + j] = t.inv_freq[2 * j + 1];
        }
    }

    // Angles of the patches of a rows x cols grid, row-major (ids restart at 0 per image):
    // cos, sin: [rows * cols, hd/2].
    void grid_angles(const context& ctx, std::int64_t rows, std::int64_t cols, float* cos, float* sin) const {
        const std::int64_t half = head_dim / 2, q = head_dim / 4;
        parallel_for(ctx.pool, rows * cols, [&](std::int64_t t0, std::int64_t t1, int) {
            for (std::int64_t t = t0; t < t1; ++t) {
                const float r = float(t / cols), c = float(t % cols);
                for (std::int64_t i = 0; i < half; ++i) {
                    const float ang = (i < q ? r : c) * inv_freq[std::size_t(i)];  // f32 product, as the reference
                    cos[t * half + i] = float(std::cos(double(ang)));
                    sin[t * half + i] = float(std::sin(double(ang)));
                }
            }
        }, 64);
    }
};

}  // namespace smolvlm::nn
