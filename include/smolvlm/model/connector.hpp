// smolvlm/model/connector.hpp — the vision-to-text connector of SmolVLM (Idefics3Connector),
// a vision_projector (model/vision.hpp).
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

#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../nn/context.hpp"
#include "../nn/linear.hpp"
#include "vision.hpp"
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

// Idefics3Connector as a vision_projector: pixel shuffle, then modality_projection.proj
// (no bias). Weights: "model.connector.modality_projection.proj.weight" [Dt, D s^2].
class pixel_shuffle_projector : public vision_projector {
public:
    // D: the encoder's hidden size; s: scale_factor; Dt: the text hidden size.
    pixel_shuffle_projector(std::int64_t D, std::int64_t s, std::int64_t Dt,
                            std::string key = "model.connector.modality_projection.proj.weight")
        : D_(D), s_(s), Dt_(Dt), key_(std::move(key)) {}
    // A projector whose weight is already bound (tests).
    pixel_shuffle_projector(std::int64_t D, std::int64_t s, const kernels::weight_matrix& proj)
        : D_(D), s_(s), Dt_(proj.rows), proj_(proj) {}

    const char* name() const override { return "pixel_shuffle"; }
    const kernels::weight_matrix& proj() const { return proj_; }

    void weight_slots(std::vector<weight_slot>& out) override {
        out.push_back(weight_slot::mat(key_, Dt_, D_ * s_ * s_, proj_));
    }
    status check() const override {
        if (s_ <= 0) return status(errc::invalid_argument, "connector: scale_factor must be positive");
        if (!proj_.data || proj_.cols != D_ * s_ * s_ || proj_.rows <= 0)
            return status::fmt(errc::invalid_argument,
                               "connector: modality_projection weight is [%lld, %lld], the config implies [Dt, %lld]",
                               (long long)proj_.rows, (long long)proj_.cols, (long long)(D_ * s_ * s_));
        return status::ok();
    }
    std::int64_t output_size() const override { return proj_.data ? proj_.rows : Dt_; }

    // A side x side grid becomes (side / s)^2 tokens.
    result<std::int64_t> output_rows(const vision_grid& g) const override {
        if (g.rows != g.cols || g.rows <= 0 || s_ <= 0 || g.rows % s_ != 0)
            return status::fmt(errc::invalid_argument,
                               "connector: %lld x %lld patches is not a square grid divisible by scale_factor %lld",
                               (long long)g.rows, (long long)g.cols, (long long)s_);
        return (g.rows / s_) * (g.cols / s_);
    }
    result<std::size_t> workspace_bytes(const vision_grid& g, int) const override {
        SMOLVLM_TRY(output_rows(g));
        workspace_planner p;
        p.take<float>(std::size_t(g.count()) * std::size_t(D_));  // the shuffled rows (same count as the input)
        return p.plan.total();
    }

    // Idefics3Connector.forward for one tile.
    //   hidden: [side^2, D] last hidden state of the tower -> out: [(side/s)^2, Dt]
    status project(const nn::context& ctx, const float* hidden, const vision_grid& g, float* out, vision_workspace& ws,
                   vision_trace* trace) const override {
        SMOLVLM_TRY(check());
        if (!hidden || !out) return status(errc::invalid_argument, "connector: null buffer");
        SMOLVLM_ASSIGN_OR_RETURN(std::int64_t rows, output_rows(g));
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, workspace_bytes(g, 1));
        SMOLVLM_TRY(ws.ensure(need));
        workspace_carver c{ws.carve()};
        float* shuffled = c.take<float>(std::size_t(g.count()) * std::size_t(D_));  // [(side/s)^2, D s^2]
        if (!shuffled) return status(errc::no_memory, "connector: the workspace is too small");
        pixel_shuffle(ctx, hidden, g.rows, D_, s_, shuffled);   // Idefics3Connector.pixel_shuffle
        if (trace) trace->add("pixel_shuffle_output", {rows, D_ * s_ * s_}, shuffled);
        nn::linear(ctx, proj_, shuffled, rows, out);           // modality_projection.proj (no bias)
        return status::ok();
    }

private:
    std::int64_t D_ = 0, s_ = 0, Dt_ = 0;
    std::string key_;
    kernels::weight_matrix proj_;
};

}  // namespace smolvlm
