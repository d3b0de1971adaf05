// smolvlm/nn/rope.hpp — rotary position embedding, Llama "rotate_half" layout.
//
// For head dim hd and pair i < hd/2: inv_freq_i = theta^(-2i/hd) (computed in f32 as
// the reference does), angle = pos * inv_freq_i (f32), and
//   out[i]        = x[i] cos - x[i + hd/2] sin
//   out[i + hd/2] = x[i + hd/2] cos + x[i] sin
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace smolvlm::nn {

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

}  // namespace smolvlm::nn
