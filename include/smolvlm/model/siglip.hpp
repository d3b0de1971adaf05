// smolvlm/model/siglip.hpp — the SigLIP vision tower of SmolVLM (Idefics3VisionTransformer),
// as a vision_encoder (model/vision.hpp).
//
// One tile at a time: the processor cuts an image into image_size x image_size tiles
// (plus a global view). Sizes below are SmolVLM-256M at 512 px (SigLIP-B/16); the goldens
// use tiny ones.
//
//   pixels       [3, H, W]            H = W = image_size (512), normalized to [-1, 1]
//   pixel_mask   [H, W] u8 or null    1 = real pixel, 0 = padding (null: all real)
//   patch mask   [side, side]         side = H / p (32, rounded down); a patch is real if any pixel is
//   patches      [n, 3 p p]           n = side^2 (1024); im2col in the conv weight's [C, p, p] order
//   x            [n, D]               D = hidden_size (768)
//     x = patches · Wpatch^T + b + pos_embed[position_ids]      Idefics3VisionEmbeddings
//     for each of L (12) layers:                                 Idefics3EncoderLayer
//       x = x + out_proj(attention(layer_norm1(x)))              12 heads, no causal mask,
//       x = x + fc2(gelu_tanh(fc1(layer_norm2(x))))              padding patches masked as keys
//     x = post_layernorm(x)                                      last_hidden_state  [n, D]
//
// The connector that turns x into image tokens is a vision_projector (model/connector.hpp).
// Memory: the buffers below are carved from the caller's vision_workspace
// (workspace_bytes: 27 MiB at the SmolVLM-256M shape, 2 threads); nothing is allocated per
// tile except by the optional trace.
#pragma once

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
#include "config.hpp"
#include "vision.hpp"
#include "weights.hpp"

namespace smolvlm {

// ---- weights -------------------------------------------------------------------------------

// One SigLIP encoder layer (Idefics3EncoderLayer).
struct siglip_layer_weights {
    std::vector<float> ln1_w, ln1_b;       // layer_norm1 [D]
    kernels::weight_matrix q, k, v, o;     // self_attn.{q,k,v,out}_proj [D, D]
    std::vector<float> q_b, k_b, v_b, o_b; // [D]
    std::vector<float> ln2_w, ln2_b;       // layer_norm2 [D]
    kernels::weight_matrix fc1, fc2;       // mlp.fc1 [F, D], mlp.fc2 [D, F]
    std::vector<float> fc1_b, fc2_b;       // [F], [D]
};

struct siglip_weights {
    kernels::weight_matrix patch_embed;    // patch_embedding.weight [D, 3, p, p] viewed as [D, 3*p*p]
    std::vector<float> patch_bias;         // [D]
    std::vector<float> pos_embed;          // position_embedding.weight [num_patches, D]
    std::vector<siglip_layer_weights> layers;
    std::vector<float> post_ln_w, post_ln_b;  // post_layernorm [D]
};

// ---- sizes ---------------------------------------------------------------------------------

// Every size one tile's pass uses, derived from the config.
struct siglip_dims {
    std::int64_t image_size = 0;  // H = W
    std::int64_t patch = 0;       // p
    std::int64_t side = 0;        // patches per side = image_size / p
    std::int64_t n = 0;           // patches per tile = side^2
    std::int64_t patch_dim = 0;   // 3 p p
    std::int64_t D = 0;           // hidden size
    std::int64_t F = 0;           // MLP intermediate size
    std::int64_t heads = 0, head_dim = 0;
    std::int64_t layers = 0;
};

inline result<siglip_dims> siglip_dims_for(const vision_config& v) {
    if (v.num_channels != 3) return status(errc::unsupported, "vision: num_channels must be 3");
    // image_size need not be a multiple of patch_size: the strided conv ignores the
    // remainder (SigLIP so400m: 384 px, patch 14 -> 27 x 27 patches).
    if (v.patch_size <= 0 || v.image_size < v.patch_size)
        return status(errc::invalid_argument, "vision: patch_size must be in [1, image_size]");
    if (v.hidden_size <= 0 || v.num_attention_heads <= 0 || v.hidden_size % v.num_attention_heads != 0)
        return status(errc::invalid_argument, "vision: hidden_size is not a multiple of num_attention_heads");
    if (v.intermediate_size <= 0 || v.num_hidden_layers < 0)
        return status(errc::invalid_argument, "vision: bad intermediate_size or num_hidden_layers");
    siglip_dims d;
    d.image_size = v.image_size;
    d.patch = v.patch_size;
    d.side = v.image_size / v.patch_size;
    d.n = d.side * d.side;
    d.patch_dim = 3 * d.patch * d.patch;
    d.D = v.hidden_size;
    d.F = v.intermediate_size;
    d.heads = v.num_attention_heads;
    d.head_dim = v.hidden_size / v.num_attention_heads;
    d.layers = v.num_hidden_layers;
    return d;
}

// The tower's buffers, described once for sizing (workspace_planner) and carving
// (workspace_carver).
struct siglip_buffers {
    float* x = nullptr;                  // [n, D]   residual stream
    float* h = nullptr;                  // [n, D]   layer-norm output, attention output
    float* q = nullptr;                  // [n, D]   queries; later the out_proj / fc2 output
    float* k = nullptr;                  // [n, D]   keys   (real patches first when some are padding)
    float* v = nullptr;                  // [n, D]   values (same order as k)
    float* big = nullptr;                // [n, max(F, 3 p p)]  im2col patches, then the MLP hidden
    std::uint8_t* patch_mask = nullptr;  // [side, side]
    std::int64_t* position_ids = nullptr;// [n]
    nn::kv_gather_buffers kv;            // k, v per head (f32 planes or q8 panels), inside `big` when they fit
    float* attn = nullptr;               // nn::attention_scratch: one block per thread
    nn::attention_scratch attn_view;

    template <class Carver>
    void take(Carver& c, const siglip_dims& d, int threads, bool int8) {
        const std::size_t n = std::size_t(d.n), D = std::size_t(d.D);
        x = c.template take<float>(n * D);
        h = c.template take<float>(n * D);
        q = c.template take<float>(n * D);
        k = c.template take<float>(n * D);
        v = c.template take<float>(n * D);
        const std::size_t big_floats = n * std::size_t(d.F > d.patch_dim ? d.F : d.patch_dim);
        big = c.template take<float>(big_floats);
        patch_mask = c.template take<std::uint8_t>(n);
        position_ids = c.template take<std::int64_t>(n);
        // The per-head K / V planes live inside `big` when they fit: big holds the im2col
        // patches before the layers and the MLP hidden after attention, never both at once.
        workspace_planner kv_size;
        kv.take(kv_size, d.n, d.heads, d.head_dim, int8);
        const auto kv_bytes = kv_size.plan.total();
        if (kv_bytes.is_ok() && kv_bytes.value() <= big_floats * sizeof(float)) {
            if constexpr (Carver::carving) {
                workspace_carver in_big{arena(big, big ? big_floats * sizeof(float) : 0)};
                kv.take(in_big, d.n, d.heads, d.head_dim, int8);
            }
        } else {
            kv.take(c, d.n, d.heads, d.head_dim, int8);
        }
        attn = c.template take<float>(nn::attention_scratch::floats_needed(d.n, d.head_dim, threads, int8));
        attn_view = nn::attention_scratch{attn, d.n, d.head_dim, threads, int8};
    }
};

// ---- step 1: patch attention mask ----------------------------------------------------------

// A patch is real when any of its p x p pixels is (the reference unfolds the pixel mask
// and tests sum > 0; pixels past the last whole patch are ignored, as by the conv).
// pixel_mask: [W, W] or null (all real), W = image_size; out: [side, side], side = W / p.
// Returns the number of real patches.
inline std::int64_t patch_attention_mask(const std::uint8_t* pixel_mask, std::int64_t W, std::int64_t p,
                                         std::uint8_t* out) {
    const std::int64_t side = W / p;
    std::int64_t n_real = 0;
    for (std::int64_t i = 0; i < side; ++i)
        for (std::int64_t j = 0; j < side; ++j) {
            bool any = pixel_mask == nullptr;
            for (std::int64_t y = 0; y < p && !any; ++y) {
                const std::uint8_t* row = pixel_mask + (i * p + y) * W + j * p;
                for (std::int64_t x = 0; x < p; ++x)
                    if (row[x]) {
                        any = true;
                        break;
                    }
            }
            out[i * side + j] = any ? 1 : 0;
            n_real += any ? 1 : 0;
        }
    return n_real;
}

// ---- step 2: position ids (NaViT bucketize rule) ----------------------------------------

namespace detail {

// Element i of a float32 torch.arange(start, end, step) holding n elements, bit for bit as
// the reference computes it (torch CPU kernel, AVX2 build): arithmetic in double; inside
// whole 16-element blocks lanes come 8 at a time as f32(double(f32(start + step*g)) + k*step)
// (the vectorised arange takes a float base and a double step), the tail as
// f32(start + step*i). The float rounding here is what makes some grids (19, 25, 29...
// patches per side) map two patches of a full tile to one position id, as the reference does.
// Needs IEEE double arithmetic (no -ffast-math, no x87 excess precision).
inline float torch_arange_f32(double start, double step, std::int64_t n, std::int64_t i) {
    const std::int64_t n_vec = n / 16 * 16;
    if (i < n_vec) {
        const std::int64_t g = i / 8 * 8;
        const float base = float(start + step * double(g));
        return float(double(base) + double(i - g) * step);
    }
    return float(start + step * double(i));
}

// Number of elements of torch.arange(start, end, step) for a floating dtype.
inline std::int64_t torch_arange_size(double start, double end, double step) {
    const double n = std::ceil((end - start) / step);
    return n > 0 ? std::int64_t(n) : 0;
}

// torch.bucketize(v, boundaries, right=True): index of the first boundary > v, by the
// same binary search. boundaries = torch.arange(1/N, 1.0, 1/N) in float32.
inline std::int64_t bucketize_right(float v, std::int64_t N) {
    const double step = 1.0 / double(N);
    const std::int64_t nb = torch_arange_size(step, 1.0, step);
    std::int64_t lo = 0, hi = nb;
    while (lo < hi) {
        const std::int64_t mid = lo + ((hi - lo) >> 1);
        if (!(torch_arange_f32(step, step, nb, mid) > v))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

}  // namespace detail

// Idefics3VisionEmbeddings position ids for one tile. The real patches must form the
// rows x cols block the reference assumes: nb_h = real patches in column 0, nb_w = real
// patches in row 0, and nb_h * nb_w real patches in all. Then, with N = side,
//   frac_h = float32 torch.arange(0, 1 - 1e-6, f32(1 / nb_h))   (nb_h values; same for w)
//   bucket = torch.bucketize(frac, torch.arange(1/N, 1, 1/N), right=True)
//   id     = bucket_h * N + bucket_w
// assigned to the real patches in row-major order; padding patches get 0.
//   patch_mask: [side, side]; out: [side * side]
inline status vision_position_ids(const std::uint8_t* patch_mask, std::int64_t side, std::int64_t* out) {
    std::int64_t nb_h = 0, nb_w = 0, n_real = 0;
    for (std::int64_t i = 0; i < side; ++i) nb_h += patch_mask[i * side] ? 1 : 0;
    for (std::int64_t j = 0; j < side; ++j) nb_w += patch_mask[j] ? 1 : 0;
    for (std::int64_t t = 0; t < side * side; ++t) n_real += patch_mask[t] ? 1 : 0;
    if (n_real == 0) return status(errc::invalid_argument, "vision: the tile's pixel mask has no real pixel");
    if (nb_h * nb_w != n_real)
        return status::fmt(errc::invalid_argument,
                           "vision: the real patches (%lld) are not the %lld x %lld block starting at the top-left",
                           (long long)n_real, (long long)nb_h, (long long)nb_w);
    // 1 / nb is a float32 tensor division in the reference; arange gets it as a double.
    const double step_h = double(1.0f / float(nb_h)), step_w = double(1.0f / float(nb_w));
    const double end = 1.0 - 1e-6;
    const std::int64_t len_h = detail::torch_arange_size(0.0, end, step_h);
    const std::int64_t len_w = detail::torch_arange_size(0.0, end, step_w);
    if (len_h != nb_h || len_w != nb_w)  // cannot happen for nb < 2^24; the reference would fail too
        return status(errc::invalid_argument, "vision: position-id grid does not match the patch mask");
    std::int64_t t = 0;  // index among real patches
    for (std::int64_t p = 0; p < side * side; ++p) {
        if (!patch_mask[p]) {
            out[p] = 0;
            continue;
        }
        const std::int64_t r = t / nb_w, c = t % nb_w;
        const std::int64_t bh = detail::bucketize_right(detail::torch_arange_f32(0.0, step_h, len_h, r), side);
        const std::int64_t bw = detail::bucketize_right(detail::torch_arange_f32(0.0, step_w, len_w, c), side);
        if (bh >= side || bw >= side)  // cannot happen (frac < 1); guards the table lookup
            return status(errc::invalid_argument, "vision: position id outside the position table");
        out[p] = bh * side + bw;
        ++t;
    }
    return status::ok();
}

// ---- step 3: patch embedding --------------------------------------------------------------

// The stride-p conv as a matmul: im2col, then patches · W^T + b, then + pos_embed[id].
//   pixels: [3, H, W]; position_ids: [n]; patches: [n, 3 p p] scratch; x: [n, D]
inline void siglip_embeddings(const nn::context& ctx, const siglip_dims& d, const siglip_weights& w,
                              const float* pixels, const std::int64_t* position_ids, float* patches, float* x) {
    const std::int64_t p = d.patch, side = d.side, H = d.image_size, W = d.image_size;
    // patches[i * side + j][c * p * p + y * p + xx] = pixels[c][i * p + y][j * p + xx]
    parallel_for(ctx.pool, d.n, [&](std::int64_t t0, std::int64_t t1, int) {
        for (std::int64_t t = t0; t < t1; ++t) {
            const std::int64_t i = t / side, j = t % side;
            float* dst = patches + t * d.patch_dim;
            for (std::int64_t c = 0; c < 3; ++c)
                for (std::int64_t y = 0; y < p; ++y)
                    std::memcpy(dst + (c * p + y) * p, pixels + (c * H + i * p + y) * W + j * p,
                                std::size_t(p) * sizeof(float));
        }
    }, 16);
    nn::linear(ctx, w.patch_embed, patches, d.n, x, w.patch_bias.data());  // patch_embedding (conv2d)
    const std::int64_t D = d.D;
    parallel_for(ctx.pool, d.n, [&](std::int64_t t0, std::int64_t t1, int) {  // + position_embedding
        for (std::int64_t t = t0; t < t1; ++t) {
            const float* pe = w.pos_embed.data() + position_ids[t] * D;
            float* xt = x + t * D;
            for (std::int64_t i = 0; i < D; ++i) xt[i] += pe[i];
        }
    }, 16);
}

// ---- step 4: encoder layer ----------------------------------------------------------------

namespace detail {

// x[i] += y[i] over [0, n), split over the pool.
inline void add_rows(const nn::context& ctx, float* x, const float* y, std::int64_t n) {
    parallel_for(ctx.pool, n, [&](std::int64_t b, std::int64_t e, int) { nn::add_inplace(x + b, y + b, e - b); },
                 16384);
}

// Move the rows of real patches to the front, in order (in place: row t goes to row <= t).
// rows: [n, D]; patch_mask: [n]
inline void compact_rows(float* rows, const std::uint8_t* patch_mask, std::int64_t n, std::int64_t D) {
    std::int64_t to = 0;
    for (std::int64_t t = 0; t < n; ++t) {
        if (!patch_mask[t]) continue;
        if (to != t) std::memmove(rows + to * D, rows + t * D, std::size_t(D) * sizeof(float));
        ++to;
    }
}

}  // namespace detail

// Idefics3EncoderLayer.forward on one tile, in place on b.x ([n, D]).
// n_real < n: padding patches are masked out as keys (the reference adds float32-min to
// their scores, which softmax turns into exact zeros); they still get outputs as queries.
// A q8/q4 tower runs its attention on the int8 kernels too (nn::gather_kv).
inline void siglip_layer(const nn::context& ctx, const siglip_dims& d, const siglip_layer_weights& L, float eps,
                         bool gelu_erf, std::int64_t n_real, const siglip_buffers& b) {
    const std::int64_t n = d.n, D = d.D;
    nn::layer_norm(ctx, b.x, b.h, L.ln1_w.data(), L.ln1_b.data(), n, D, eps);  // h = layer_norm1(x)
    nn::linear(ctx, L.q, b.h, n, b.q, L.q_b.data());                            // q: [n, heads, hd]
    nn::linear(ctx, L.k, b.h, n, b.k, L.k_b.data());                            // k: [n, heads, hd]
    nn::linear(ctx, L.v, b.h, n, b.v, L.v_b.data());                            // v: [n, heads, hd]
    if (n_real < n) {                                                           // keys: real patches only
        detail::compact_rows(b.k, b.patch_mask, n, D);
        detail::compact_rows(b.v, b.patch_mask, n, D);
    }
    nn::kv_gather_buffers kvb = b.kv;
    kvb.n = n_real;
    const nn::kv_planes kv = nn::gather_kv(ctx, b.k, b.v, D, kvb);              // per head, f32 or q8
    nn::attention_shape as;                                                     // no causal mask
    as.n_q = n;
    as.n_kv = n_real;
    as.n_heads = as.n_kv_heads = d.heads;
    as.head_dim = d.head_dim;
    as.q_stride = as.out_stride = D;
    as.kv_stride = d.head_dim;
    nn::attention_blocked(ctx, as, b.q, kv, b.h, b.attn_view);                 // h = softmax(q k^T / sqrt(hd)) v
    nn::linear(ctx, L.o, b.h, n, b.q, L.o_b.data());                            // q = out_proj(h)
    detail::add_rows(ctx, b.x, b.q, n * D);                                     // x = x + q
    nn::layer_norm(ctx, b.x, b.h, L.ln2_w.data(), L.ln2_b.data(), n, D, eps);  // h = layer_norm2(x)
    nn::linear(ctx, L.fc1, b.h, n, b.big, L.fc1_b.data());                      // big: [n, F] = fc1(h)
    if (gelu_erf)
        nn::gelu_erf_inplace(ctx, b.big, n * d.F);
    else
        nn::gelu_tanh_inplace(ctx, b.big, n * d.F);                             // gelu_pytorch_tanh (SIMD kernel)
    nn::linear(ctx, L.fc2, b.big, n, b.q, L.fc2_b.data());                      // q = fc2(big)
    detail::add_rows(ctx, b.x, b.q, n * D);                                     // x = x + q
}

// ---- the encoder ---------------------------------------------------------------------------

class siglip_encoder : public vision_encoder {
public:
    // `prefix`: where the tower lives in the checkpoint ("model.vision_model.").
    siglip_encoder(const vision_config& cfg, std::string prefix = "model.vision_model.")
        : cfg_(cfg), prefix_(std::move(prefix)) {}
    // A tower whose weights are already bound (tests, benchmarks).
    siglip_encoder(const vision_config& cfg, siglip_weights w) : cfg_(cfg), w_(std::move(w)) {}

    const char* name() const override { return "siglip"; }
    const siglip_weights& weights() const { return w_; }
    siglip_weights& weights() { return w_; }

    void weight_slots(std::vector<weight_slot>& out) override {
        const vision_config& v = cfg_;
        const std::int64_t D = v.hidden_size, F = v.intermediate_size, p = v.patch_size, C = v.num_channels;
        const std::string& vp = prefix_;
        weight_slot pe = weight_slot::mat(vp + "embeddings.patch_embedding.weight", D, C * p * p, w_.patch_embed, false);
        pe.flatten = true;  // the conv weight [D, C, p, p] (checked in check())
        out.push_back(pe);
        out.push_back(weight_slot::vec(vp + "embeddings.patch_embedding.bias", {D}, w_.patch_bias));
        out.push_back(weight_slot::vec(vp + "embeddings.position_embedding.weight", {v.num_patches(), D}, w_.pos_embed));
        out.push_back(weight_slot::vec(vp + "post_layernorm.weight", {D}, w_.post_ln_w));
        out.push_back(weight_slot::vec(vp + "post_layernorm.bias", {D}, w_.post_ln_b));
        w_.layers.resize(std::size_t(v.num_hidden_layers));
        const std::string el = vp + "encoder.layers.";
        for (std::size_t i = 0; i < w_.layers.size(); ++i) {
            siglip_layer_weights& L = w_.layers[i];
            auto key = [&](const char* rest) { return layer_key(el, i, rest); };
            out.push_back(weight_slot::vec(key("layer_norm1.weight"), {D}, L.ln1_w));
            out.push_back(weight_slot::vec(key("layer_norm1.bias"), {D}, L.ln1_b));
            out.push_back(weight_slot::vec(key("layer_norm2.weight"), {D}, L.ln2_w));
            out.push_back(weight_slot::vec(key("layer_norm2.bias"), {D}, L.ln2_b));
            out.push_back(weight_slot::mat(key("self_attn.q_proj.weight"), D, D, L.q));
            out.push_back(weight_slot::mat(key("self_attn.k_proj.weight"), D, D, L.k));
            out.push_back(weight_slot::mat(key("self_attn.v_proj.weight"), D, D, L.v));
            out.push_back(weight_slot::mat(key("self_attn.out_proj.weight"), D, D, L.o));
            out.push_back(weight_slot::vec(key("self_attn.q_proj.bias"), {D}, L.q_b));
            out.push_back(weight_slot::vec(key("self_attn.k_proj.bias"), {D}, L.k_b));
            out.push_back(weight_slot::vec(key("self_attn.v_proj.bias"), {D}, L.v_b));
            out.push_back(weight_slot::vec(key("self_attn.out_proj.bias"), {D}, L.o_b));
            out.push_back(weight_slot::mat(key("mlp.fc1.weight"), F, D, L.fc1));
            out.push_back(weight_slot::vec(key("mlp.fc1.bias"), {F}, L.fc1_b));
            out.push_back(weight_slot::mat(key("mlp.fc2.weight"), D, F, L.fc2));
            out.push_back(weight_slot::vec(key("mlp.fc2.bias"), {D}, L.fc2_b));
        }
    }

    // The bound weights have the shapes the config implies (cheap).
    status check() const override {
        SMOLVLM_ASSIGN_OR_RETURN(siglip_dims d, siglip_dims_for(cfg_));
        auto bad = [](const char* what) { return status::fmt(errc::invalid_argument, "vision weights: %s", what); };
        auto mat = [](const kernels::weight_matrix& m, std::int64_t r, std::int64_t c) {
            return m.data != nullptr && m.rows == r && m.cols == c;
        };
        auto vec = [](const std::vector<float>& v, std::int64_t n) { return std::int64_t(v.size()) == n; };
        const siglip_weights& w = w_;
        if (!mat(w.patch_embed, d.D, d.patch_dim) || !vec(w.patch_bias, d.D)) return bad("patch_embedding does not fit");
        if (!vec(w.pos_embed, d.n * d.D)) return bad("position_embedding does not fit");
        if (!vec(w.post_ln_w, d.D) || !vec(w.post_ln_b, d.D)) return bad("post_layernorm does not fit");
        if (std::int64_t(w.layers.size()) != d.layers) return bad("layer count differs from the config");
        for (const siglip_layer_weights& L : w.layers) {
            if (!vec(L.ln1_w, d.D) || !vec(L.ln1_b, d.D) || !vec(L.ln2_w, d.D) || !vec(L.ln2_b, d.D))
                return bad("a layer norm does not fit");
            if (!mat(L.q, d.D, d.D) || !mat(L.k, d.D, d.D) || !mat(L.v, d.D, d.D) || !mat(L.o, d.D, d.D) ||
                !vec(L.q_b, d.D) || !vec(L.k_b, d.D) || !vec(L.v_b, d.D) || !vec(L.o_b, d.D))
                return bad("an attention projection does not fit");
            if (!mat(L.fc1, d.F, d.D) || !mat(L.fc2, d.D, d.F) || !vec(L.fc1_b, d.F) || !vec(L.fc2_b, d.D))
                return bad("an MLP weight does not fit");
        }
        return status::ok();
    }

    std::int64_t hidden_size() const override { return cfg_.hidden_size; }

    // Every tile is image_size x image_size.
    result<vision_grid> grid_for(std::int64_t height, std::int64_t width) const override {
        if (height != cfg_.image_size || width != cfg_.image_size)
            return status::fmt(errc::invalid_argument, "siglip: a tile must be %lld x %lld, got %lld x %lld",
                               (long long)cfg_.image_size, (long long)cfg_.image_size, (long long)height, (long long)width);
        return vision_grid{cfg_.patches_per_side(), cfg_.patches_per_side()};
    }

    result<std::size_t> workspace_bytes(std::int64_t, std::int64_t, int threads) const override {
        SMOLVLM_ASSIGN_OR_RETURN(siglip_dims d, siglip_dims_for(cfg_));
        if (threads < 1 || threads > 4096)
            return status::fmt(errc::invalid_argument, "vision workspace: %d threads (want 1 .. 4096)", threads);
        workspace_planner p;
        siglip_buffers b;
        b.take(p, d, threads, int8());
        return p.plan.total();
    }

    // Idefics3VisionTransformer.forward for one tile. hidden: [n, D] (last_hidden_state).
    status encode(const nn::context& ctx, const vision_image& img, float* hidden, vision_workspace& ws,
                  vision_trace* trace) const override {
        SMOLVLM_ASSIGN_OR_RETURN(siglip_dims d, siglip_dims_for(cfg_));
        if (!img.pixels || !hidden) return status(errc::invalid_argument, "siglip: null pixels or output buffer");
        SMOLVLM_TRY(grid_for(img.height, img.width));
        SMOLVLM_TRY(check());
        const int threads = ctx.pool ? ctx.pool->size() : 1;
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, workspace_bytes(d.image_size, d.image_size, threads));
        SMOLVLM_TRY(ws.ensure(need));
        workspace_carver c{ws.carve()};
        siglip_buffers b;
        b.take(c, d, threads, int8());
        if (c.a.exhausted_once()) return status(errc::no_memory, "siglip: the workspace is too small");
        const float eps = float(cfg_.layer_norm_eps);
        const bool gelu_erf = cfg_.hidden_act == "gelu";

        // Idefics3Model.get_image_features: patch mask from the pixel mask.
        const std::int64_t n_real = patch_attention_mask(img.pixel_mask, d.image_size, d.patch, b.patch_mask);
        // Idefics3VisionEmbeddings: position ids, patch embedding + position embedding.
        SMOLVLM_TRY(vision_position_ids(b.patch_mask, d.side, b.position_ids));
        siglip_embeddings(ctx, d, w_, img.pixels, b.position_ids, b.big, b.x);
        if (trace) {
            trace->add("patch_attention_mask", {d.side, d.side}, b.patch_mask);
            trace->add("vision_position_ids", {d.n}, b.position_ids);
            trace->add("vision_embeddings", {d.n, d.D}, b.x);
        }
        // Idefics3Encoder: the layers.
        for (std::size_t l = 0; l < w_.layers.size(); ++l) {
            siglip_layer(ctx, d, w_.layers[l], eps, gelu_erf, n_real, b);
            if (trace && trace->capture_layers) trace->add("vision_layer" + std::to_string(l) + "_output", {d.n, d.D}, b.x);
        }
        // post_layernorm -> last_hidden_state
        nn::layer_norm(ctx, b.x, hidden, w_.post_ln_w.data(), w_.post_ln_b.data(), d.n, d.D, eps);
        if (trace) trace->add("vision_last_hidden_state", {d.n, d.D}, hidden);
        return status::ok();
    }

private:
    // A quantized tower runs its attention on the int8 kernels too.
    bool int8() const {
        return !w_.layers.empty() && (w_.layers[0].q.type == dtype::q8 || w_.layers[0].q.type == dtype::q4);
    }

    vision_config cfg_;
    std::string prefix_ = "model.vision_model.";
    siglip_weights w_;
};

}  // namespace smolvlm
