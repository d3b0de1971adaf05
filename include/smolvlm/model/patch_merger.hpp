// smolvlm/model/patch_merger.hpp — the multimodal projector of Mistral Small 3.1
// (Mistral3MultiModalProjector), a vision_projector (model/vision.hpp).
//
// The Pixtral tower gives one row per patch of an image's rows x cols grid; the projector
// merges each s x s block of patches into one token (s = spatial_merge_size, 2) and maps it
// to the text model's width (Mistral Small 3.1: D 1024, Dt 5120; 1540 px: 110 x 110 patches
// -> 55 x 55 = 3025 tokens):
//
//   x: [rows * cols, D]
//   x = rms_norm(x)       eps = text_config.rms_norm_eps      norm               projector_norm
//   unfold(kernel s, stride s) on the (D, rows, cols) map:    patch_merger
//     token (i, j) of the (rows/s, cols/s) grid, row-major, has feature
//       f = d * s^2 + (a * s + b)  =  x[(s i + a) * cols + (s j + b)][d]       (channel-major)
//   m = merged · Wmerge^T  [rows cols / s^2, D]      merging_layer (no bias)   patch_merger_output
//   y = linear_2(gelu(linear_1(m)))  [.., Dt]        exact erf GELU; biases only with
//                                                    multimodal_projector_bias   image_features
//
// Note the feature order: Idefics3's pixel shuffle (model/connector.hpp) puts the patch
// outermost (r s D + c D + d), torch's unfold here puts the channel outermost.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../nn/activation.hpp"
#include "../nn/context.hpp"
#include "../nn/linear.hpp"
#include "../nn/norm.hpp"
#include "vision.hpp"
#include "weights.hpp"

namespace smolvlm {

// x: [rows * cols, D] -> y: [(rows/s) (cols/s), D s^2], channel-major (see above).
// rows and cols multiples of s (checked by the caller); x and y must not overlap.
inline void patch_unfold(const nn::context& ctx, const float* x, std::int64_t rows, std::int64_t cols, std::int64_t D,
                         std::int64_t s, float* y) {
    const std::int64_t out_cols = cols / s, ss = s * s;
    parallel_for(ctx.pool, (rows / s) * out_cols, [&](std::int64_t t0, std::int64_t t1, int) {
        for (std::int64_t t = t0; t < t1; ++t) {
            const std::int64_t i = t / out_cols, j = t % out_cols;
            float* yt = y + t * D * ss;
            for (std::int64_t a = 0; a < s; ++a)
                for (std::int64_t b = 0; b < s; ++b) {
                    const float* src = x + ((i * s + a) * cols + (j * s + b)) * D;
                    const std::int64_t k = a * s + b;
                    for (std::int64_t d = 0; d < D; ++d) yt[d * ss + k] = src[d];
                }
        }
    }, 4);
}

enum class projector_act : std::uint8_t { gelu_erf, gelu_tanh, silu };

inline result<projector_act> parse_projector_act(const std::string& s) {
    if (s == "gelu") return projector_act::gelu_erf;
    if (s == "gelu_pytorch_tanh") return projector_act::gelu_tanh;
    if (s == "silu") return projector_act::silu;
    return status::fmt(errc::unsupported, "projector_hidden_act '%.32s' is not supported (gelu, gelu_pytorch_tanh, silu)",
                       s.c_str());
}

class patch_merger_projector : public vision_projector {
public:
    // D: the tower's width, s: spatial_merge_size, Dt: the text width, eps: text rms_norm_eps.
    patch_merger_projector(std::int64_t D, std::int64_t s, std::int64_t Dt, float eps, projector_act act, bool bias,
                           std::string prefix = "multi_modal_projector.")
        : D_(D), s_(s), Dt_(Dt), eps_(eps), act_(act), bias_(bias), prefix_(std::move(prefix)) {}

    const char* name() const override { return "patch_merger"; }

    void weight_slots(std::vector<weight_slot>& out) override {
        const std::string& p = prefix_;
        out.push_back(weight_slot::vec(p + "norm.weight", {D_}, norm_));
        out.push_back(weight_slot::mat(p + "patch_merger.merging_layer.weight", D_, D_ * s_ * s_, merge_));
        out.push_back(weight_slot::mat(p + "linear_1.weight", Dt_, D_, l1_));
        out.push_back(weight_slot::mat(p + "linear_2.weight", Dt_, Dt_, l2_));
        if (bias_) {
            out.push_back(weight_slot::vec(p + "linear_1.bias", {Dt_}, b1_));
            out.push_back(weight_slot::vec(p + "linear_2.bias", {Dt_}, b2_));
        }
    }
    status check() const override {
        auto mat = [](const kernels::weight_matrix& m, std::int64_t r, std::int64_t c) {
            return m.data != nullptr && m.rows == r && m.cols == c;
        };
        if (s_ <= 0) return status(errc::bad_format, "projector: spatial_merge_size must be positive");
        if (std::int64_t(norm_.size()) != D_ || !mat(merge_, D_, D_ * s_ * s_) || !mat(l1_, Dt_, D_) ||
            !mat(l2_, Dt_, Dt_))
            return status(errc::bad_shape, "projector weights do not fit the config");
        if (bias_ && (std::int64_t(b1_.size()) != Dt_ || std::int64_t(b2_.size()) != Dt_))
            return status(errc::bad_shape, "projector biases do not fit the config");
        return status::ok();
    }
    std::int64_t output_size() const override { return Dt_; }

    result<std::int64_t> output_rows(const vision_grid& g) const override {
        if (g.rows <= 0 || g.cols <= 0 || s_ <= 0 || g.rows % s_ != 0 || g.cols % s_ != 0)
            return status::fmt(errc::invalid_argument,
                               "projector: %lld x %lld patches is not a grid divisible by spatial_merge_size %lld",
                               (long long)g.rows, (long long)g.cols, (long long)s_);
        return (g.rows / s_) * (g.cols / s_);
    }

    result<std::size_t> workspace_bytes(const vision_grid& g, int) const override {
        SMOLVLM_ASSIGN_OR_RETURN(std::int64_t m, output_rows(g));
        workspace_planner p;
        take(p, g.count(), m);
        return p.plan.total();
    }

    // Mistral3MultiModalProjector.forward for one image.
    //   hidden: [rows * cols, D] -> out: [rows cols / s^2, Dt]
    status project(const nn::context& ctx, const float* hidden, const vision_grid& g, float* out, vision_workspace& ws,
                   vision_trace* trace) const override {
        SMOLVLM_TRY(check());
        if (!hidden || !out) return status(errc::invalid_argument, "projector: null buffer");
        SMOLVLM_ASSIGN_OR_RETURN(std::int64_t m, output_rows(g));
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, workspace_bytes(g, 1));
        SMOLVLM_TRY(ws.ensure(need));
        workspace_carver c{ws.carve()};
        bufs b = take(c, g.count(), m);
        if (c.a.exhausted_once()) return status(errc::no_memory, "projector: the workspace is too small");
        const std::int64_t n = g.count();
        nn::rms_norm(ctx, hidden, b.normed, norm_.data(), n, D_, eps_);          // norm
        if (trace) trace->add("projector_norm", {n, D_}, b.normed);
        patch_unfold(ctx, b.normed, g.rows, g.cols, D_, s_, b.merged);             // patch_merger: unfold
        nn::linear(ctx, merge_, b.merged, m, b.normed);                            //   merging_layer
        if (trace) trace->add("patch_merger_output", {m, D_}, b.normed);
        nn::linear(ctx, l1_, b.normed, m, b.hidden, bias(b1_));                    // linear_1
        switch (act_) {                                                            // act
            case projector_act::gelu_erf: nn::gelu_erf_inplace(ctx, b.hidden, m * Dt_); break;
            case projector_act::gelu_tanh: nn::gelu_tanh_inplace(ctx, b.hidden, m * Dt_); break;
            case projector_act::silu:
                for (std::int64_t i = 0; i < m * Dt_; ++i) b.hidden[i] = nn::silu(b.hidden[i]);
                break;
        }
        nn::linear(ctx, l2_, b.hidden, m, out, bias(b2_));                         // linear_2
        return status::ok();
    }

private:
    struct bufs {
        float* normed;  // [n, D]; later the merging_layer output [m, D]
        float* merged;  // [m, D s^2] (= [n, D])
        float* hidden;  // [m, Dt]
    };
    template <class Carver>
    bufs take(Carver& c, std::int64_t n, std::int64_t m) const {
        bufs b;
        b.normed = c.template take<float>(std::size_t(n * D_));
        b.merged = c.template take<float>(std::size_t(n * D_));
        b.hidden = c.template take<float>(std::size_t(m * Dt_));
        return b;
    }
    static const float* bias(const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); }

    std::int64_t D_ = 0, s_ = 0, Dt_ = 0;
    float eps_ = 1e-5f;
    projector_act act_ = projector_act::gelu_erf;
    bool bias_ = false;
    std::string prefix_;
    std::vector<float> norm_, b1_, b2_;
    kernels::weight_matrix merge_, l1_, l2_;
};

}  // namespace smolvlm
