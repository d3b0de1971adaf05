// smolvlm/model/pixtral.hpp — the Pixtral vision encoder of Mistral Small 3.1
// (PixtralVisionModel), as a vision_encoder (model/vision.hpp).
//
// Any image whose sides are multiples of the patch size (the processor makes them multiples
// of patch x spatial_merge_size, pipeline/preprocess_pixtral.hpp); no tiles, no position
// table: the position of a patch is its (row, column), fed to a 2D rotary embedding.
// Sizes below are Mistral Small 3.1 (patch 14, D 1024, 24 layers, 16 heads of 64, F 4096)
// at its largest image, 1540 x 1540 (110 x 110 = 12,100 patches).
//
//   pixels       [3, H, W]              normalised with the CLIP mean / std
//   patches      [n, 3 p p]             n = (H/p)(W/p); im2col in the conv weight's [C, p, p] order
//   x            [n, D]
//     x = patches · Wconv^T                        patch_conv (stride p, no bias)   vision_patch_embeds
//     x = rms_norm(x) (eps 1e-5)                   ln_pre                           vision_ln_pre
//     for each layer (vision_feature_layer -1: all 24):                 PixtralAttentionLayer
//       h = rms_norm(x) ; q, k, v = h Wq, h Wk, h Wv   attention_norm   [n, heads, hd]
//       rope_2d(q, k) at (row, col) of each patch      PixtralVisionRotaryEmbedding
//       x = x + attention(q, k, v) Wo                  no causal mask; 1/sqrt(hd)
//       h = rms_norm(x) ; x = x + down(act(gate h) * up h)   ffn_norm, PixtralMLP (act = silu)
//     no final norm                                                      vision_last_hidden_state
//
// Several images in one sequence (encode_batch): the reference concatenates every image of a
// prompt into one sequence and masks attention block-diagonally, so a patch attends only to
// the patches of its own image; here each query gets its image's key range
// (nn::attention_shape::key_begin / key_end) and the blocked attention skips the others.
// Row and column ids restart at 0 for every image. One image per call (encode) gives the
// same result with the memory of the largest image only; the pipeline does that.
//
// Memory: never an n x n matrix (blocked attention: one [64, n] block of scores per
// thread); the MLP hidden runs in chunks of k_pixtral_chunk rows. workspace_bytes is exact
// and known before any image is seen (about 330 MiB at 12,100 patches, f32 weights,
// 2 threads); nothing is allocated per image except by the optional trace.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../nn/activation.hpp"
#include "../nn/attention.hpp"
#include "../nn/context.hpp"
#include "../nn/linear.hpp"
#include "../nn/norm.hpp"
#include "../nn/rope.hpp"
#include "config.hpp"
#include "vision.hpp"
#include "weights.hpp"

namespace smolvlm {

// ---- weights -------------------------------------------------------------------------------

// One PixtralAttentionLayer.
struct pixtral_layer_weights {
    std::vector<float> attn_norm;          // attention_norm.weight [D]
    kernels::weight_matrix q, k, v, o;     // attention.{q,k,v,o}_proj.weight [D, D], no bias
    std::vector<float> ffn_norm;           // ffn_norm.weight [D]
    kernels::weight_matrix gate, up, down; // feed_forward.{gate,up,down}_proj.weight [F, D], [F, D], [D, F]
};

struct pixtral_weights {
    kernels::weight_matrix patch_conv;     // patch_conv.weight [D, 3, p, p] viewed as [D, 3 p p]
    std::vector<float> ln_pre;             // ln_pre.weight [D]
    std::vector<pixtral_layer_weights> layers;
};

// ---- sizes ---------------------------------------------------------------------------------

// MLP rows per chunk (bounds the [rows, F] hidden buffers) and im2col rows per chunk.
inline constexpr std::int64_t k_pixtral_chunk = 512;
// Norm epsilon of every Pixtral RMSNorm (hard-coded in the reference).
inline constexpr float k_pixtral_eps = 1e-5f;

struct pixtral_dims {
    std::int64_t patch = 0;       // p
    std::int64_t patch_dim = 0;   // 3 p p
    std::int64_t D = 0, F = 0;
    std::int64_t heads = 0, head_dim = 0;
    std::int64_t layers = 0;      // layers run: vision_feature_layer's hidden state
};

// vision_feature_layer k picks hidden_states[k] of the tower: hidden_states[0] is the
// ln_pre output, hidden_states[i] the output of layer i (negative k counts from the end).
inline result<std::int64_t> pixtral_layers_run(std::int64_t n_layers, std::int64_t feature_layer) {
    const std::int64_t k = feature_layer < 0 ? n_layers + 1 + feature_layer : feature_layer;
    if (k < 0 || k > n_layers)
        return status::fmt(errc::bad_format, "vision_feature_layer %lld is outside the %lld hidden states of the tower",
                           (long long)feature_layer, (long long)(n_layers + 1));
    return k;
}

inline result<pixtral_dims> pixtral_dims_for(const vision_config& v, std::int64_t feature_layer) {
    if (v.num_channels != 3) return status(errc::unsupported, "pixtral: num_channels must be 3");
    if (v.patch_size <= 0 || v.image_size < v.patch_size)
        return status(errc::bad_format, "pixtral: patch_size must be in [1, image_size]");
    if (v.hidden_size <= 0 || v.num_attention_heads <= 0 || v.hidden_size % v.num_attention_heads != 0)
        return status(errc::bad_format, "pixtral: hidden_size is not a multiple of num_attention_heads");
    if (v.head_dim() % 4 != 0) return status(errc::bad_format, "pixtral: the head size must be a multiple of 4 (2D RoPE)");
    if (v.intermediate_size <= 0 || v.num_hidden_layers < 0)
        return status(errc::bad_format, "pixtral: bad intermediate_size or num_hidden_layers");
    if (v.hidden_act != "silu" && v.hidden_act != "gelu")
        return status::fmt(errc::unsupported, "pixtral: hidden_act '%.32s' is not supported (silu, gelu)",
                           v.hidden_act.c_str());
    pixtral_dims d;
    d.patch = v.patch_size;
    d.patch_dim = 3 * d.patch * d.patch;
    d.D = v.hidden_size;
    d.F = v.intermediate_size;
    d.heads = v.num_attention_heads;
    d.head_dim = v.head_dim();
    SMOLVLM_ASSIGN_OR_RETURN(d.layers, pixtral_layers_run(v.num_hidden_layers, feature_layer));
    return d;
}

// The tower's buffers for a sequence of n patches, described once for sizing
// (workspace_planner) and carving (workspace_carver). The residual stream is the caller's
// output buffer.
struct pixtral_buffers {
    float* h = nullptr;                  // [n, D]  normed input; then the attention output
    float* q = nullptr;                  // [n, D]  queries; then the o_proj output
    float* k = nullptr;                  // [n, D]  keys
    float* v = nullptr;                  // [n, D]  values
    float* cos = nullptr;                // [n, hd/2] 2D RoPE angles
    float* sin = nullptr;                // [n, hd/2]
    float* chunk = nullptr;              // [k_pixtral_chunk, max(2 F, 3 p p)]: im2col rows; gate | up
    std::int64_t* key_begin = nullptr;   // [n]  first key of the query's image
    std::int64_t* key_end = nullptr;     // [n]  one past its last key
    nn::kv_gather_buffers kv;            // per-head K / V planes (f32) or q8 panels
    float* attn = nullptr;               // nn::attention_scratch: one block per thread
    nn::attention_scratch attn_view;

    static std::int64_t chunk_floats(const pixtral_dims& d) {
        return k_pixtral_chunk * std::max<std::int64_t>(2 * d.F, d.patch_dim);
    }

    template <class Carver>
    void take(Carver& c, const pixtral_dims& d, std::int64_t n, int threads, bool int8) {
        const std::size_t N = std::size_t(n), D = std::size_t(d.D), half = std::size_t(d.head_dim / 2);
        h = c.template take<float>(N * D);
        q = c.template take<float>(N * D);
        k = c.template take<float>(N * D);
        v = c.template take<float>(N * D);
        cos = c.template take<float>(N * half);
        sin = c.template take<float>(N * half);
        chunk = c.template take<float>(std::size_t(chunk_floats(d)));
        key_begin = c.template take<std::int64_t>(N);
        key_end = c.template take<std::int64_t>(N);
        kv.take(c, n, d.heads, d.head_dim, int8);
        attn = c.template take<float>(nn::attention_scratch::floats_needed(n, d.head_dim, threads, int8));
        attn_view = nn::attention_scratch{attn, n, d.head_dim, threads, int8};
    }
};

// ---- steps ---------------------------------------------------------------------------------

// patch_conv for one image: im2col k_pixtral_chunk patches at a time, then · Wconv^T.
//   pixels: [3, H, W]; grid rows x cols = H/p x W/p; x: [rows * cols, D]; chunk: scratch
inline void pixtral_patch_embeds(const nn::context& ctx, const pixtral_dims& d, const kernels::weight_matrix& conv,
                                 const float* pixels, std::int64_t H, std::int64_t W, const vision_grid& g, float* chunk,
                                 float* x) {
    const std::int64_t p = d.patch, n = g.count();
    for (std::int64_t t0 = 0; t0 < n; t0 += k_pixtral_chunk) {
        const std::int64_t m = std::min(k_pixtral_chunk, n - t0);
        // chunk[t][c * p * p + y * p + xx] = pixels[c][i * p + y][j * p + xx], patch t0 + t = (i, j)
        parallel_for(ctx.pool, m, [&](std::int64_t a, std::int64_t b, int) {
            for (std::int64_t t = a; t < b; ++t) {
                const std::int64_t i = (t0 + t) / g.cols, j = (t0 + t) % g.cols;
                float* dst = chunk + t * d.patch_dim;
                for (std::int64_t c = 0; c < 3; ++c)
                    for (std::int64_t y = 0; y < p; ++y)
                        std::memcpy(dst + (c * p + y) * p, pixels + (c * H + i * p + y) * W + j * p,
                                    std::size_t(p) * sizeof(float));
            }
        }, 16);
        nn::linear(ctx, conv, chunk, m, x + t0 * d.D);
    }
}

namespace detail {

inline void pixtral_add_rows(const nn::context& ctx, float* x, const float* y, std::int64_t n) {
    parallel_for(ctx.pool, n, [&](std::int64_t a, std::int64_t b, int) { nn::add_inplace(x + a, y + a, b - a); }, 1 << 14);
}

}  // namespace detail

// One PixtralAttentionLayer over the whole sequence x: [n, D] (in place).
inline void pixtral_layer(const nn::context& ctx, const pixtral_dims& d, const pixtral_layer_weights& L, bool gelu,
                          std::int64_t n, float* x, pixtral_buffers& b) {
    const std::int64_t D = d.D, F = d.F, hd = d.head_dim;
    // --- attention ---                                            PixtralAttention.forward
    nn::rms_norm(ctx, x, b.h, L.attn_norm.data(), n, D, k_pixtral_eps);   // h = attention_norm(x)
    nn::linear(ctx, L.q, b.h, n, b.q);                                     // q: [n, heads, hd]
    nn::linear(ctx, L.k, b.h, n, b.k);                                     // k: [n, heads, hd]
    nn::linear(ctx, L.v, b.h, n, b.v);                                     // v: [n, heads, hd]
    nn::rope_apply_angles(ctx, b.q, n, d.heads, hd, b.cos, b.sin);         // apply_rotary_pos_emb
    nn::rope_apply_angles(ctx, b.k, n, d.heads, hd, b.cos, b.sin);
    const nn::kv_planes kv = nn::gather_kv(ctx, b.k, b.v, D, b.kv);       // per-head planes
    nn::attention_shape as;
    as.n_q = as.n_kv = n;
    as.n_heads = as.n_kv_heads = d.heads;
    as.head_dim = hd;
    as.q_stride = as.out_stride = D;
    as.kv_stride = hd;
    as.kv_head_stride = n * hd;
    as.causal = false;
    as.key_begin = b.key_begin;                                            // block-diagonal mask
    as.key_end = b.key_end;
    nn::attention_blocked(ctx, as, b.q, kv, b.h, b.attn_view);             // h = softmax(q k^T / sqrt(hd)) v
    nn::linear(ctx, L.o, b.h, n, b.q);                                     // q = o_proj(h)
    detail::pixtral_add_rows(ctx, x, b.q, n * D);                          // x = x + attn
    // --- MLP, k_pixtral_chunk rows at a time ---                   PixtralMLP.forward
    nn::rms_norm(ctx, x, b.h, L.ffn_norm.data(), n, D, k_pixtral_eps);     // h = ffn_norm(x)
    for (std::int64_t t0 = 0; t0 < n; t0 += k_pixtral_chunk) {
        const std::int64_t m = std::min(k_pixtral_chunk, n - t0);
        float* gate = b.chunk;                                             // [m, F]
        float* up = b.chunk + m * F;                                       // [m, F]
        nn::linear(ctx, L.gate, b.h + t0 * D, m, gate);
        nn::linear(ctx, L.up, b.h + t0 * D, m, up);
        if (gelu) {                                                        // act(gate) * up
            nn::gelu_erf_inplace(ctx, gate, m * F);
            parallel_for(ctx.pool, m * F, [&](std::int64_t a, std::int64_t e, int) {
                for (std::int64_t i = a; i < e; ++i) gate[i] *= up[i];
            }, 4096);
        } else {
            nn::swiglu(ctx, gate, up, m * F);                              // silu(gate) * up
        }
        nn::linear(ctx, L.down, gate, m, b.q + t0 * D);                    // q rows = down(...)
    }
    detail::pixtral_add_rows(ctx, x, b.q, n * D);                          // x = x + mlp
}

// ---- the encoder ---------------------------------------------------------------------------

class pixtral_encoder : public vision_encoder {
public:
    // `prefix`: where the tower lives in the checkpoint ("vision_tower." in the published
    // Mistral Small 3.1 files). feature_layer: config.json vision_feature_layer. Images may
    // have sides up to image_size rounded up to a multiple of patch x `merge` (the processor
    // rounds up: longest_edge 126, merge 28 -> 140 px).
    pixtral_encoder(const vision_config& cfg, double rope_theta, std::int64_t feature_layer = -1,
                    std::string prefix = "vision_tower.", std::int64_t merge = 1)
        : cfg_(cfg), feature_layer_(feature_layer), prefix_(std::move(prefix)), rope_(cfg.head_dim(), rope_theta) {
        const std::int64_t unit = cfg.patch_size * (merge > 0 ? merge : 1);
        max_side_ = unit > 0 ? (cfg.image_size + unit - 1) / unit * unit : 0;
    }

    // Largest side in pixels grid_for accepts.
    std::int64_t max_side() const { return max_side_; }

    const char* name() const override { return "pixtral"; }
    const pixtral_weights& weights() const { return w_; }
    pixtral_weights& weights() { return w_; }

    void weight_slots(std::vector<weight_slot>& out) override {
        const vision_config& v = cfg_;
        const std::int64_t D = v.hidden_size, F = v.intermediate_size, p = v.patch_size, C = v.num_channels;
        const std::string& vp = prefix_;
        weight_slot pc = weight_slot::mat(vp + "patch_conv.weight", D, C * p * p, w_.patch_conv, false);
        pc.flatten = true;  // the conv weight [D, C, p, p] (checked in check())
        out.push_back(pc);
        out.push_back(weight_slot::vec(vp + "ln_pre.weight", {D}, w_.ln_pre));
        w_.layers.resize(std::size_t(v.num_hidden_layers));
        const std::string tl = vp + "transformer.layers.";
        for (std::size_t i = 0; i < w_.layers.size(); ++i) {
            pixtral_layer_weights& L = w_.layers[i];
            auto key = [&](const char* rest) { return layer_key(tl, i, rest); };
            out.push_back(weight_slot::vec(key("attention_norm.weight"), {D}, L.attn_norm));
            out.push_back(weight_slot::vec(key("ffn_norm.weight"), {D}, L.ffn_norm));
            out.push_back(weight_slot::mat(key("attention.q_proj.weight"), D, D, L.q));
            out.push_back(weight_slot::mat(key("attention.k_proj.weight"), D, D, L.k));
            out.push_back(weight_slot::mat(key("attention.v_proj.weight"), D, D, L.v));
            out.push_back(weight_slot::mat(key("attention.o_proj.weight"), D, D, L.o));
            out.push_back(weight_slot::mat(key("feed_forward.gate_proj.weight"), F, D, L.gate));
            out.push_back(weight_slot::mat(key("feed_forward.up_proj.weight"), F, D, L.up));
            out.push_back(weight_slot::mat(key("feed_forward.down_proj.weight"), D, F, L.down));
        }
    }

    status check() const override {
        SMOLVLM_ASSIGN_OR_RETURN(pixtral_dims d, dims());
        auto bad = [](const char* what) { return status::fmt(errc::bad_shape, "pixtral weights: %s", what); };
        auto mat = [](const kernels::weight_matrix& m, std::int64_t r, std::int64_t c) {
            return m.data != nullptr && m.rows == r && m.cols == c;
        };
        auto vec = [](const std::vector<float>& v, std::int64_t n) { return std::int64_t(v.size()) == n; };
        if (!mat(w_.patch_conv, d.D, d.patch_dim)) return bad("patch_conv does not fit");
        if (!vec(w_.ln_pre, d.D)) return bad("ln_pre does not fit");
        if (std::int64_t(w_.layers.size()) != cfg_.num_hidden_layers) return bad("layer count differs from the config");
        for (const pixtral_layer_weights& L : w_.layers) {
            if (!vec(L.attn_norm, d.D) || !vec(L.ffn_norm, d.D)) return bad("a layer norm does not fit");
            if (!mat(L.q, d.D, d.D) || !mat(L.k, d.D, d.D) || !mat(L.v, d.D, d.D) || !mat(L.o, d.D, d.D))
                return bad("an attention projection does not fit");
            if (!mat(L.gate, d.F, d.D) || !mat(L.up, d.F, d.D) || !mat(L.down, d.D, d.F))
                return bad("a feed-forward weight does not fit");
        }
        return status::ok();
    }

    std::int64_t hidden_size() const override { return cfg_.hidden_size; }

    // Sides must be multiples of the patch size, at most max_side().
    result<vision_grid> grid_for(std::int64_t height, std::int64_t width) const override {
        const std::int64_t p = cfg_.patch_size;
        if (height <= 0 || width <= 0 || height % p != 0 || width % p != 0)
            return status::fmt(errc::invalid_argument, "pixtral: a %lld x %lld image is not a multiple of the %lld-pixel patch",
                               (long long)height, (long long)width, (long long)p);
        if (height > max_side_ || width > max_side_)
            return status::fmt(errc::invalid_argument, "pixtral: a %lld x %lld image is larger than the tower's %lld px "
                               "(image_size %lld)", (long long)height, (long long)width, (long long)max_side_,
                               (long long)cfg_.image_size);
        return vision_grid{height / p, width / p};
    }

    // Bytes to encode a sequence of n patches (one image or several) on `threads` threads.
    result<std::size_t> sequence_workspace_bytes(std::int64_t n, int threads) const {
        SMOLVLM_ASSIGN_OR_RETURN(pixtral_dims d, dims());
        if (threads < 1 || threads > 4096)
            return status::fmt(errc::invalid_argument, "vision workspace: %d threads (want 1 .. 4096)", threads);
        if (n <= 0 || n > (std::int64_t(1) << 24)) return status(errc::invalid_argument, "pixtral: bad patch count");
        workspace_planner p;
        pixtral_buffers b;
        b.take(p, d, n, threads, int8());
        return p.plan.total();
    }

    result<std::size_t> workspace_bytes(std::int64_t max_height, std::int64_t max_width, int threads) const override {
        SMOLVLM_ASSIGN_OR_RETURN(vision_grid g, grid_for(max_height, max_width));
        return sequence_workspace_bytes(g.count(), threads);
    }

    // PixtralVisionModel.forward for one image: hidden [grid.count(), D].
    status encode(const nn::context& ctx, const vision_image& img, float* hidden, vision_workspace& ws,
                  vision_trace* trace) const override {
        return encode_batch(ctx, &img, 1, hidden, ws, trace);
    }

    // Several images as one sequence with block-diagonal attention (see the top of the file).
    //   hidden: [sum of grid counts, D], image i's patches at rows [off_i, off_i + n_i)
    status encode_batch(const nn::context& ctx, const vision_image* images, std::size_t n_images, float* hidden,
                        vision_workspace& ws, vision_trace* trace) const {
        SMOLVLM_ASSIGN_OR_RETURN(pixtral_dims d, dims());
        if (!images || n_images == 0 || !hidden) return status(errc::invalid_argument, "pixtral: no images or no output buffer");
        std::vector<vision_grid> grids(n_images);
        std::int64_t n = 0;
        for (std::size_t i = 0; i < n_images; ++i) {
            if (!images[i].pixels) return status(errc::invalid_argument, "pixtral: null pixels");
            if (images[i].pixel_mask)
                return status(errc::unsupported, "pixtral: pixel masks are not used (each image has its own size)");
            SMOLVLM_ASSIGN_OR_RETURN(grids[i], grid_for(images[i].height, images[i].width));
            n += grids[i].count();
        }
        SMOLVLM_TRY(check());
        const int threads = ctx.pool ? ctx.pool->size() : 1;
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, sequence_workspace_bytes(n, threads));
        SMOLVLM_TRY(ws.ensure(need));
        workspace_carver c{ws.carve()};
        pixtral_buffers b;
        b.take(c, d, n, threads, int8());
        if (c.a.exhausted_once()) return status(errc::no_memory, "pixtral: the workspace is too small");
        const std::int64_t D = d.D, half = d.head_dim / 2;
        float* x = hidden;  // the residual stream: [n, D]

        // Per image: patch_conv, its 2D RoPE angles, its key range.
        std::int64_t off = 0;
        for (std::size_t i = 0; i < n_images; ++i) {
            const vision_grid& g = grids[i];
            pixtral_patch_embeds(ctx, d, w_.patch_conv, images[i].pixels, images[i].height, images[i].width, g, b.chunk,
                                 x + off * D);
            rope_.grid_angles(ctx, g.rows, g.cols, b.cos + off * half, b.sin + off * half);
            for (std::int64_t t = off; t < off + g.count(); ++t) {
                b.key_begin[t] = off;
                b.key_end[t] = off + g.count();
            }
            off += g.count();
        }
        if (trace) trace->add("vision_patch_embeds", {n, D}, x);
        nn::rms_norm(ctx, x, x, w_.ln_pre.data(), n, D, k_pixtral_eps);            // ln_pre
        if (trace) trace->add("vision_ln_pre", {n, D}, x);
        const bool gelu = cfg_.hidden_act == "gelu";
        for (std::int64_t l = 0; l < d.layers; ++l) {                               // PixtralTransformer
            pixtral_layer(ctx, d, w_.layers[std::size_t(l)], gelu, n, x, b);
            if (trace && trace->capture_layers) trace->add("vision_layer" + std::to_string(l) + "_output", {n, D}, x);
        }
        if (trace) trace->add("vision_last_hidden_state", {n, D}, x);               // no final norm
        return status::ok();
    }

private:
    result<pixtral_dims> dims() const { return pixtral_dims_for(cfg_, feature_layer_); }
    // A quantized tower runs its attention on the int8 kernels too.
    bool int8() const {
        return !w_.layers.empty() && (w_.layers[0].q.type == dtype::q8 || w_.layers[0].q.type == dtype::q4);
    }

    vision_config cfg_;
    std::int64_t feature_layer_ = -1;
    std::string prefix_;
    std::int64_t max_side_ = 0;
    nn::rope_2d_table rope_;
    pixtral_weights w_;
};

}  // namespace smolvlm
