// smolvlm/nn/rope.hpp — rotary position embedding, Llama "rotate_half" layout, with the RoPE
// scaling variants of transformers' modeling_rope_utils (linear, dynamic NTK, YaRN, llama3).
//
// For head dim hd and pair i < hd/2, with inv_freq_i from rope_frequencies() below:
//   angle = pos * inv_freq_i                       (f32, as the reference)
//   c = cos(angle) * attention_scaling, s = sin(angle) * attention_scaling
//   out[i]        = x[i] c - x[i + hd/2] s
//   out[i + hd/2] = x[i + hd/2] c + x[i] s
// attention_scaling is 1 except for YaRN, whose "mscale" multiplies cos and sin (so q.k in a
// rotated layer grows by its square).
//
// inv_freq, per rope_type (transformers' _compute_*_parameters; computed in f32 like the
// reference's torch code, step by step, so the values are the same floats):
//   default  inv_i = 1 / theta^(2i/hd)
//   linear   inv_i / factor
//   dynamic  theta' = theta * (factor * L / max_pos - (factor - 1))^(hd / (hd - 2)) with
//            L = max(sequence length, max_position_embeddings): plain RoPE until the sequence
//            outgrows max_position_embeddings, then a larger theta for the positions run then
//            (keys already cached keep theirs, as in the reference's cache)
//   yarn     d(r) = hd * ln(orig / (r 2 pi)) / (2 ln theta); low = max(floor(d(beta_fast)), 0),
//            high = min(ceil(d(beta_slow)), hd - 1) (no floor/ceil when truncate is false;
//            high += 0.001 if equal); ramp_i = clamp((i - low) / (high - low), 0, 1);
//            e_i = 1 - ramp_i; inv = (inv / factor) * (1 - e_i) + inv * e_i;
//            attention_scaling = attention_factor, or 0.1 ln(factor) + 1 (factor > 1), or with
//            mscale and mscale_all_dim both set: m(factor, mscale) / m(factor, mscale_all_dim),
//            m(s, k) = 0.1 k ln(s) + 1
//   llama3   wavelen_i = 2 pi / inv_i: kept below orig / high_freq_factor, divided by factor
//            above orig / low_freq_factor, in between s = (orig / wavelen - low_ff) /
//            (high_ff - low_ff) and inv = (1 - s) inv / factor + s inv
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

enum class rope_type : std::uint8_t { plain, linear, dynamic, yarn, llama3 };

inline const char* rope_type_name(rope_type t) {
    switch (t) {
        case rope_type::plain: return "default";
        case rope_type::linear: return "linear";
        case rope_type::dynamic: return "dynamic";
        case rope_type::yarn: return "yarn";
        case rope_type::llama3: return "llama3";
    }
    return "?";
}

// config.json's rope_scaling / rope_parameters (transformers' names).
struct rope_scaling {
    rope_type type = rope_type::plain;
    double factor = 1.0;                               // linear, dynamic, yarn, llama3
    std::int64_t original_max_position_embeddings = 0; // yarn, llama3 (the config's reader fills it)
    bool has_attention_factor = false;                 // yarn: attention_factor given
    double attention_factor = 1.0;
    double beta_fast = 32.0, beta_slow = 1.0;          // yarn
    double mscale = 0.0, mscale_all_dim = 0.0;         // yarn (0: absent)
    bool truncate = true;                              // yarn
    double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
};

namespace detail {

inline double yarn_get_mscale(double scale, double mscale = 1.0) {
    if (scale <= 1.0) return 1.0;
    return 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace detail

// The cos/sin multiplier a scaling implies (YaRN's mscale; 1 for the others).
inline double rope_attention_scaling(const rope_scaling& sc) {
    if (sc.type != rope_type::yarn) return 1.0;
    if (sc.has_attention_factor) return sc.attention_factor;
    if (sc.mscale != 0.0 && sc.mscale_all_dim != 0.0)
        return detail::yarn_get_mscale(sc.factor, sc.mscale) / detail::yarn_get_mscale(sc.factor, sc.mscale_all_dim);
    return detail::yarn_get_mscale(sc.factor);
}

// inv_freq [hd/2] for a sequence of seq_len positions (only dynamic depends on it; pass
// max_position_embeddings or less for the load-time table).
inline void rope_frequencies(std::int64_t hd, double theta, const rope_scaling& sc, std::int64_t max_position_embeddings,
                             std::int64_t seq_len, float* inv) {
    const std::int64_t half = hd / 2;
    float base = float(theta);
    if (sc.type == rope_type::dynamic && seq_len > max_position_embeddings) {
        // base * ((factor * L / max_pos) - (factor - 1)) ** (dim / (dim - 2)), L a tensor: f32
        const float f = float(sc.factor);
        const float grow = f * float(seq_len) / float(max_position_embeddings) - float(sc.factor - 1.0);
        base = float(theta) * std::pow(grow, float(double(hd) / double(hd - 2)));
    }
    for (std::int64_t i = 0; i < half; ++i) {
        const float expo = float(2 * i) / float(hd);  // arange(0, hd, 2).float() / hd
        inv[i] = 1.0f / std::pow(base, expo);       // f32 pow, as torch
    }
    switch (sc.type) {
        case rope_type::plain:
        case rope_type::dynamic: return;
        case rope_type::linear:
            for (std::int64_t i = 0; i < half; ++i) inv[i] /= float(sc.factor);
            return;
        case rope_type::yarn: {
            const double dim = double(hd), orig = double(sc.original_max_position_embeddings);
            const double pi = 3.14159265358979323846;
            auto correction_dim = [&](double rot) { return dim * std::log(orig / (rot * 2.0 * pi)) / (2.0 * std::log(theta)); };
            double low = correction_dim(sc.beta_fast), high = correction_dim(sc.beta_slow);
            if (sc.truncate) {
                low = std::floor(low);
                high = std::ceil(high);
            }
            low = low > 0.0 ? low : 0.0;
            high = high < dim - 1.0 ? high : dim - 1.0;
            if (low == high) high += 0.001;  // prevent a division by zero
            const float f = float(sc.factor);
            for (std::int64_t i = 0; i < half; ++i) {
                const float pos_freq = std::pow(float(theta), float(2 * i) / float(hd));
                const float extrapolation = 1.0f / pos_freq;
                const float interpolation = 1.0f / (f * pos_freq);
                float ramp = (float(i) - float(low)) / float(high - low);
                ramp = ramp < 0.0f ? 0.0f : (ramp > 1.0f ? 1.0f : ramp);
                const float e = 1.0f - ramp;  // inv_freq_extrapolation_factor
                const float a = interpolation * (1.0f - e), b = extrapolation * e;
                inv[i] = a + b;
            }
            return;
        }
        case rope_type::llama3: {
            const float f = float(sc.factor), lf = float(sc.low_freq_factor);
            const double orig = double(sc.original_max_position_embeddings);
            const float low_wavelen = float(orig / sc.low_freq_factor), high_wavelen = float(orig / sc.high_freq_factor);
            const float two_pi = float(2.0 * 3.14159265358979323846);
            const float span = float(sc.high_freq_factor - sc.low_freq_factor);
            for (std::int64_t i = 0; i < half; ++i) {
                const float wavelen = two_pi / inv[i];
                const float kept = wavelen > low_wavelen ? inv[i] / f : inv[i];
                if (!(wavelen < high_wavelen) && !(wavelen > low_wavelen)) {  // medium frequencies: interpolate
                    const float s = (float(orig) / wavelen - lf) / span;
                    const float a = (1.0f - s) * kept / f, b = s * kept;
                    inv[i] = a + b;
                } else {
                    inv[i] = kept;
                }
            }
            return;
        }
    }
}

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
    std::vector<float> inv_freq;     // [hd/2], for sequences up to max_position_embeddings
    float attention_scaling = 1.0f;  // multiplies cos and sin (YaRN)
    double theta = 10000.0;
    rope_scaling scaling;
    std::int64_t max_position_embeddings = 0;

    rope_table() = default;
    // Plain RoPE.
    rope_table(std::int64_t hd, double theta_) : rope_table(hd, theta_, rope_scaling(), 0) {}
    rope_table(std::int64_t hd, double theta_, const rope_scaling& sc, std::int64_t max_pos)
        : head_dim(hd), inv_freq(std::size_t(hd / 2)), theta(theta_), scaling(sc), max_position_embeddings(max_pos) {
        rope_frequencies(hd, theta, sc, max_pos, 0, inv_freq.data());
        attention_scaling = float(rope_attention_scaling(sc));
    }

    // True when the frequencies depend on the sequence length (dynamic NTK).
    bool varies_with_length() const { return scaling.type == rope_type::dynamic; }

    // inv_freq for a chunk whose last position is seq_len - 1: out [hd/2].
    void frequencies_for(std::int64_t seq_len, float* out) const {
        rope_frequencies(head_dim, theta, scaling, max_position_embeddings, seq_len, out);
    }

    // Rotate x: [n_tokens, n_heads, hd] in place; token t has position pos0 + t.
    void apply(float* x, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t pos0) const {
        apply(x, n_tokens, n_heads, pos0, inv_freq.data());
    }
    // The same with the given frequencies (freq: [hd/2], e.g. from frequencies_for). Each
    // (token, pair) angle's cos and sin are computed once and applied to every head.
    void apply(float* x, std::int64_t n_tokens, std::int64_t n_heads, std::int64_t pos0, const float* freq) const {
        const std::int64_t half = head_dim / 2;
        for (std::int64_t t = 0; t < n_tokens; ++t) {
            const float pos = float(pos0 + t);
            float* row = x + t * n_heads * head_dim;
            for (std::int64_t i = 0; i < half; ++i) {
                const float ang = pos * freq[i];
                const float c = float(std::cos(double(ang))) * attention_scaling;
                const float s = float(std::sin(double(ang))) * attention_scaling;
                for (std::int64_t h = 0; h < n_heads; ++h) {
                    float* v = row + h * head_dim;
                    const float a = v[i], b = v[i + half];
                    v[i] = a * c - b * s;
                    v[i + half] = b * c + a * s;
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
