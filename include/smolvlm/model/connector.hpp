// smolvlm/model/connector.hpp — the vision-to-text connector (Idefics3Connector).
//
// The SigLIP tower gives one feature vector per patch: [seq, D] with seq = side * side
// (32 x 32 = 1024 patches of 768 for SmolVLM-256M at 512 px). The connector trades
// resolution for width with a pixel shuffle of factor s, then projects to the text
// model's hidden size with one bias-free linear layer:
//
//   x: [seq, D]  --pixel_shuffle-->  [seq / s^2, D * s^2]  --modality_projection.proj-->  [seq / s^2, Dt]
//     (1024 x 768)                    (64 x 12288)                                         (64 x 576)
//
// Pixel shuffle (Idefics3Connector.pixel_shuffle) is a chain of view / permute /
// reshape calls in the reference; written out, it gathers each s x s block of patches
// into one token, block rows outermost:
//
//   out[i * (side/s) + j][r * s * D + c * D + d] = x[(i * s + r) * side + (j * s + c)][d]
//
// for output token (i, j) on the (side/s) x (side/s) grid, r, c in [0, s), d in [0, D).
#pragma once

#include <cstdint>
#include <cstring>

#include "../core/status.hpp"
#include "../nn/context.hpp"
#include "config.hpp"
#include "weights.hpp"

namespace smolvlm {

// x: [side * side, D] -> y: [(side/s)^2, D * s * s]; side % s == 0 (checked by the caller).
// x and y must not overlap.
inline void pixel_shuffle(const nn::context& ctx, const float* x, std::int64_t side, std::int64_t D, std::int64_t s,
                          float* y) {
    const std::int64_t out_side = side / s;
    const std::int64_t out_dim = D * s * s;
    // One work item per output token (i, j); each copies s * s rows of D floats.
    parallel_for(ctx.pool, out_side * out_side, [&](std::int64_t t0, std::int64_t t1, int) {
        for (std::int64_t t = t0; t < t1; ++t) {
            const std::int64_t i = t / out_side, j = t % out_side;
            float* yt = y + t * out_dim;
            for (std::int64_t r = 0; r < s; ++r)
                for (std::int64_t c = 0; c < s; ++c) {
                    const float* src = x + ((i * s + r) * side + (j * s + c)) * D;
                    std::memcpy(yt + (r * s + c) * D, src, std::size_t(D) * sizeof(float));
                }
        }
    }, 4);
}

// Checks that the connector weight fits the config: [Dt, D * s * s].
inline status check_connector_weights(const model_config& cfg, const vision_weights& w) {
    const std::int64_t s = cfg.scale_factor, D = cfg.vision.hidden_size;
    if (s <= 0 || cfg.vision.patches_per_side() % s != 0)
        return status::fmt(errc::invalid_argument, "connector: %lld patches per side is not a multiple of scale_factor %lld",
                           (long long)cfg.vision.patches_per_side(), (long long)s);
    if (!w.connector.data || w.connector.cols != D * s * s || w.connector.rows <= 0)
        return status::fmt(errc::invalid_argument,
                           "connector: modality_projection weight is [%lld, %lld], the config implies [Dt, %lld]",
                           (long long)w.connector.rows, (long long)w.connector.cols, (long long)(D * s * s));
    return status::ok();
}

// Idefics3Connector.forward for one tile.
//   x:         [seq, D]           last hidden state of the vision tower (seq = side^2)
//   shuffled:  [seq / s^2, D s^2] scratch; holds the pixel shuffle output afterwards
//   out:       [seq / s^2, Dt]    image features, Dt = w.connector.rows (text hidden size)
inline status connector_forward(const nn::context& ctx, const model_config& cfg, const vision_weights& w,
                                const float* x, float* shuffled, float* out) {
    SMOLVLM_TRY(check_connector_weights(cfg, w));
    if (!x || !shuffled || !out) return status(errc::invalid_argument, "connector: null buffer");
    const std::int64_t side = cfg.vision.patches_per_side(), s = cfg.scale_factor;
    pixel_shuffle(ctx, x, side, cfg.vision.hidden_size, s, shuffled);   // Idefics3Connector.pixel_shuffle
    nn::linear(ctx, w.connector, shuffled, (side / s) * (side / s), out); // modality_projection.proj (no bias)
    return status::ok();
}

}  // namespace smolvlm
