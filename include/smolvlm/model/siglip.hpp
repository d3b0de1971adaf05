// smolvlm/model/siglip.hpp — the SigLIP vision tower of SmolVLM (Idefics3VisionTransformer)
// and the per-tile vision encoder (tower + connector) the pipeline calls.
//
// One tile at a time: the processor cuts an image into image_size x image_size tiles
// (plus a global view); each tile becomes seq / s^2 "image tokens" for the text model.
// Sizes below are SmolVLM-256M at 512 px (SigLIP-B/16); the goldens use tiny ones.
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
//     x = post_layernorm(x)                                      last_hidden_state
//   features     [n / s^2, Dt]        connector (model/connector.hpp): s = 4, Dt = 576
//
// Memory: one vision_scratch sized from the config and the thread count
// (vision_scratch::bytes_required; 34 MiB at the SmolVLM-256M shape) is reused for every tile; nothing is allocated per
// tile except by the optional trace (and whatever the matmul kernel needs internally).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../config.hpp"
#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../kernels/dispatch.hpp"
#include "../kernels/pack.hpp"
#include "../nn/activation.hpp"
#include "../nn/attention.hpp"
#include "../nn/context.hpp"
#include "../nn/norm.hpp"
#include "config.hpp"
#include "connector.hpp"
#include "weights.hpp"

namespace smolvlm {

// ---- sizes -------------------------------------------------------------------------------

// Every size one tile's pass uses, derived from the config.
struct vision_dims {
    std::int64_t image_size = 0;  // H = W
    std::int64_t patch = 0;       // p
    std::int64_t side = 0;        // patches per side = image_size / p
    std::int64_t n = 0;           // patches per tile = side^2
    std::int64_t patch_dim = 0;   // 3 p p
    std::int64_t D = 0;           // vision hidden size
    std::int64_t F = 0;           // MLP intermediate size
    std::int64_t heads = 0, head_dim = 0;
    std::int64_t layers = 0;
    std::int64_t scale = 0;       // pixel shuffle factor s
    std::int64_t out_tokens = 0;  // n / s^2 image tokens per tile
    std::int64_t shuffle_dim = 0; // D s^2

    bool operator==(const vision_dims& o) const {
        return image_size == o.image_size && patch == o.patch && D == o.D && F == o.F && heads == o.heads &&
               layers == o.layers && scale == o.scale;
    }
};

inline result<vision_dims> vision_dims_for(const model_config& cfg) {
    const vision_config& v = cfg.vision;
    if (!cfg.has_vision) return status(errc::invalid_argument, "vision: the model has no vision tower");
    if (v.num_channels != 3) return status(errc::unsupported, "vision: num_channels must be 3");
    // image_size need not be a multiple of patch_size: the strided conv ignores the
    // remainder (SigLIP so400m: 384 px, patch 14 -> 27 x 27 patches).
    if (v.patch_size <= 0 || v.image_size < v.patch_size)
        return status(errc::invalid_argument, "vision: patch_size must be in [1, image_size]");
    if (v.hidden_size <= 0 || v.num_attention_heads <= 0 || v.hidden_size % v.num_attention_heads != 0)
        return status(errc::invalid_argument, "vision: hidden_size is not a multiple of num_attention_heads");
    if (v.intermediate_size <= 0 || v.num_hidden_layers < 0)
        return status(errc::invalid_argument, "vision: bad intermediate_size or num_hidden_layers");
    vision_dims d;
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
    d.scale = cfg.scale_factor;
    if (d.scale <= 0 || d.side % d.scale != 0)
        return status::fmt(errc::invalid_argument, "vision: %lld patches per side is not a multiple of scale_factor %lld",
                           (long long)d.side, (long long)d.scale);
    d.out_tokens = d.n / (d.scale * d.scale);
    d.shuffle_dim = d.D * d.scale * d.scale;
    return d;
}

// ---- scratch -----------------------------------------------------------------------------

namespace detail {

// Round up to a multiple of the quantization group (32): the padded sizes the int8
// attention path works in (zero rows and columns change no dot product).
inline std::int64_t round_up_group(std::int64_t x) { return (x + kernels::k_group - 1) / kernels::k_group * kernels::k_group; }

// Attention runs in blocks of nn::k_attention_block (64) queries, as the decoder's prefill
// does: one block's scores [64, np] (256 KiB at 1024 keys) stay in the L2 cache between the
// two products and the softmax.

inline std::uint64_t align_up(std::uint64_t bytes) { return (bytes + k_alignment - 1) / k_alignment * k_alignment; }

// Byte offsets of the scratch buffers inside one block (each 64-byte aligned), for
// `slots` threads (each has its own attention block buffers).
struct vision_layout {
    std::uint64_t x = 0, h = 0, q = 0, k = 0, v = 0, big = 0, kh = 0, vt = 0, kq = 0, kd = 0, vq = 0, vd = 0,
                  blk_q = 0, blk_s = 0, blk_o = 0, blk_sum = 0, patch_mask = 0, position_ids = 0, total = 0;
    std::uint64_t kq_stride = 0, kd_stride = 0, vq_stride = 0, vd_stride = 0;  // bytes per head
    std::uint64_t blk_q_stride = 0, blk_s_stride = 0, blk_o_stride = 0, blk_sum_stride = 0;  // bytes per slot

    vision_layout() = default;
    vision_layout(const vision_dims& d, int slots) {
        auto take = [this](std::uint64_t bytes) {
            const std::uint64_t at = total;
            total += align_up(bytes);
            return at;
        };
        const std::uint64_t n = std::uint64_t(d.n), D = std::uint64_t(d.D), H = std::uint64_t(d.heads);
        const std::uint64_t big_cols = std::uint64_t(d.F > d.patch_dim ? d.F : d.patch_dim);
        const std::uint64_t S = std::uint64_t(slots < 1 ? 1 : slots);
        x = take(n * D * sizeof(float));
        h = take(n * D * sizeof(float));  // = (n / s^2) * (D s^2): also holds the pixel shuffle output
        q = take(n * D * sizeof(float));
        k = take(n * D * sizeof(float));
        v = take(n * D * sizeof(float));
        big = take(n * big_cols * sizeof(float));
        // Attention: keys padded to np, heads to hdp (multiples of 32, for the int8 path).
        const std::int64_t np = round_up_group(d.n), hdp = round_up_group(d.head_dim);
        const std::uint64_t hd = std::uint64_t(d.head_dim), unp = std::uint64_t(np), uhdp = std::uint64_t(hdp);
        kh = take(H * unp * uhdp * sizeof(float));  // per head: k_h [np, hdp]
        vt = take(H * hd * unp * sizeof(float));    // per head: v_h^T [hd, np]
        kq_stride = align_up(kernels::panel_q8_bytes(np, hdp));
        kd_stride = align_up(kernels::panel_scale_count(np, hdp) * sizeof(std::uint16_t));
        vq_stride = align_up(kernels::panel_q8_bytes(d.head_dim, np));
        vd_stride = align_up(kernels::panel_scale_count(d.head_dim, np) * sizeof(std::uint16_t));
        kq = take(H * kq_stride);
        kd = take(H * kd_stride);
        vq = take(H * vq_stride);
        vd = take(H * vd_stride);
        const std::uint64_t B = std::uint64_t(nn::k_attention_block);
        blk_q_stride = align_up(B * uhdp * sizeof(float));
        blk_s_stride = align_up(B * unp * sizeof(float));
        blk_o_stride = align_up(B * hd * sizeof(float));
        blk_sum_stride = align_up(B * sizeof(float));
        blk_q = take(S * blk_q_stride);
        blk_s = take(S * blk_s_stride);
        blk_o = take(S * blk_o_stride);
        blk_sum = take(S * blk_sum_stride);
        patch_mask = take(n);
        position_ids = take(n * sizeof(std::int64_t));
    }
};

}  // namespace detail

// Reusable buffers for one tile. Either owns its memory (reserve) or uses the caller's
// (bind). Not copyable; movable.
class vision_scratch {
public:
    float* x = nullptr;                  // [n, D]   residual stream
    float* h = nullptr;                  // [n, D]   layer-norm output, attention output; pixel shuffle [n/s^2, D s^2]
    float* q = nullptr;                  // [n, D]   queries; later the out_proj / fc2 output
    float* k = nullptr;                  // [n, D]   keys   (real patches first when some are padding)
    float* v = nullptr;                  // [n, D]   values (same order as k)
    float* big = nullptr;                // [n, max(F, 3 p p)]  im2col patches, then the MLP hidden
    // Attention (hd = head_dim; np, hdp: n and hd rounded up to 32; heads H; slots S):
    float* kh = nullptr;                 // [H, np, hdp]  k per head, zero padded
    float* vt = nullptr;                 // [H, hd, np]   v per head, transposed, zero padded
    std::uint8_t* kq = nullptr;          // [H] k_h as q8 panels (int8 path), layout().kq_stride bytes apart
    std::uint16_t* kd = nullptr;         //     their f16 scales
    std::uint8_t* vq = nullptr;          // [H] v_h^T as q8 panels
    std::uint16_t* vd = nullptr;         //     their f16 scales
    float* blk_q = nullptr;              // [S, 64, hdp]  one block of queries per thread
    float* blk_s = nullptr;              // [S, 64, np]   its scores, then softmax numerators
    float* blk_o = nullptr;              // [S, 64, hd]   P v_h
    float* blk_sum = nullptr;            // [S, 64]       softmax denominators
    std::uint8_t* patch_mask = nullptr;  // [side, side]
    std::int64_t* position_ids = nullptr;// [n]

    vision_scratch() = default;
    vision_scratch(const vision_scratch&) = delete;
    vision_scratch& operator=(const vision_scratch&) = delete;
    vision_scratch(vision_scratch&& o) noexcept { *this = std::move(o); }
    vision_scratch& operator=(vision_scratch&& o) noexcept {
        if (this != &o) {
            release();
            x = o.x, h = o.h, q = o.q, k = o.k, v = o.v, big = o.big;
            kh = o.kh, vt = o.vt, kq = o.kq, kd = o.kd, vq = o.vq, vd = o.vd;
            blk_q = o.blk_q, blk_s = o.blk_s, blk_o = o.blk_o, blk_sum = o.blk_sum;
            patch_mask = o.patch_mask;
            position_ids = o.position_ids;
            owned_ = o.owned_, base_ = o.base_, bytes_ = o.bytes_, dims_ = o.dims_, slots_ = o.slots_;
            layout_ = o.layout_;
            o.owned_ = nullptr;
            o.clear_views();
        }
        return *this;
    }
    ~vision_scratch() { release(); }

    // Bytes a scratch for this config needs (what reserve allocates / bind requires), for a
    // thread pool of `threads` threads (attention keeps one block of buffers per thread).
    static result<std::size_t> bytes_required(const model_config& cfg, int threads = 1) {
        SMOLVLM_ASSIGN_OR_RETURN(vision_dims d, vision_dims_for(cfg));
        if (threads < 1 || threads > 4096)
            return status::fmt(errc::invalid_argument, "vision scratch: %d threads (want 1 .. 4096)", threads);
        const std::uint64_t total = detail::vision_layout(d, threads).total;
        if (total > std::uint64_t(SIZE_MAX)) return status(errc::no_memory, "vision scratch does not fit in memory");
        return std::size_t(total);
    }

    // Allocate (SMOLVLM_MALLOC) for cfg and `threads`; keeps the current block when it fits.
    status reserve(const model_config& cfg, int threads = 1) {
        SMOLVLM_ASSIGN_OR_RETURN(vision_dims d, vision_dims_for(cfg));
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t bytes, bytes_required(cfg, threads));
        if (base_ && bytes <= bytes_) {
            carve(d, threads, base_);
            return status::ok();
        }
        release();
        void* p = SMOLVLM_MALLOC(bytes, k_alignment);
        if (!p) return status::fmt(errc::no_memory, "vision scratch: cannot allocate %zu bytes", bytes);
        owned_ = p;
        base_ = static_cast<std::uint8_t*>(p);
        bytes_ = bytes;
        carve(d, threads, base_);
        return status::ok();
    }

    // Use caller memory (64-byte aligned, at least bytes_required(cfg, threads)); never freed here.
    status bind(void* memory, std::size_t bytes, const model_config& cfg, int threads = 1) {
        SMOLVLM_ASSIGN_OR_RETURN(vision_dims d, vision_dims_for(cfg));
        SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, bytes_required(cfg, threads));
        if (!memory || reinterpret_cast<std::uintptr_t>(memory) % k_alignment != 0)
            return status(errc::invalid_argument, "vision scratch: memory must be non-null and 64-byte aligned");
        if (bytes < need)
            return status::fmt(errc::no_memory, "vision scratch: %zu bytes given, %zu needed", bytes, need);
        release();
        base_ = static_cast<std::uint8_t*>(memory);
        bytes_ = bytes;
        carve(d, threads, base_);
        return status::ok();
    }

    std::size_t size_bytes() const { return bytes_; }
    bool ready_for(const vision_dims& d, int threads = 1) const { return base_ && dims_ == d && slots_ >= threads; }
    bool owns_memory() const { return owned_ != nullptr; }
    int slots() const { return slots_; }  // threads the attention buffers serve
    const detail::vision_layout& layout() const { return layout_; }

private:
    void carve(const vision_dims& d, int threads, std::uint8_t* b) {
        layout_ = detail::vision_layout(d, threads);
        const detail::vision_layout& L = layout_;
        x = reinterpret_cast<float*>(b + L.x);
        h = reinterpret_cast<float*>(b + L.h);
        q = reinterpret_cast<float*>(b + L.q);
        k = reinterpret_cast<float*>(b + L.k);
        v = reinterpret_cast<float*>(b + L.v);
        big = reinterpret_cast<float*>(b + L.big);
        kh = reinterpret_cast<float*>(b + L.kh);
        vt = reinterpret_cast<float*>(b + L.vt);
        kq = b + L.kq;
        kd = reinterpret_cast<std::uint16_t*>(b + L.kd);
        vq = b + L.vq;
        vd = reinterpret_cast<std::uint16_t*>(b + L.vd);
        blk_q = reinterpret_cast<float*>(b + L.blk_q);
        blk_s = reinterpret_cast<float*>(b + L.blk_s);
        blk_o = reinterpret_cast<float*>(b + L.blk_o);
        blk_sum = reinterpret_cast<float*>(b + L.blk_sum);
        patch_mask = b + L.patch_mask;
        position_ids = reinterpret_cast<std::int64_t*>(b + L.position_ids);
        dims_ = d;
        slots_ = threads;
    }
    void clear_views() {
        x = h = q = k = v = big = kh = vt = nullptr;
        kq = vq = nullptr;
        kd = vd = nullptr;
        blk_q = blk_s = blk_o = blk_sum = nullptr;
        patch_mask = nullptr;
        position_ids = nullptr;
        base_ = nullptr;
        bytes_ = 0;
        dims_ = vision_dims{};
        slots_ = 0;
        layout_ = detail::vision_layout();
    }
    void release() {
        if (owned_) SMOLVLM_FREE(owned_);
        owned_ = nullptr;
        clear_views();
    }

    void* owned_ = nullptr;          // what SMOLVLM_MALLOC returned (null when bound to caller memory)
    std::uint8_t* base_ = nullptr;
    std::size_t bytes_ = 0;
    vision_dims dims_;
    int slots_ = 0;
    detail::vision_layout layout_;
};

// Optional capture of one tile's intermediates (tests, --dump). Allocates; not for firmware.
struct vision_trace {
    bool capture_layers = true;
    std::vector<std::uint8_t> patch_attention_mask;  // [side, side]
    std::vector<std::int64_t> position_ids;          // [n]
    std::vector<float> embeddings;                   // [n, D]   Idefics3VisionEmbeddings output
    std::vector<std::vector<float>> layer_outputs;   // [layers][n, D]  each encoder layer's output
    std::vector<float> last_hidden_state;            // [n, D]   after post_layernorm
    std::vector<float> pixel_shuffle;                // [n / s^2, D s^2]
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
inline void vision_embeddings(const nn::context& ctx, const vision_dims& d, const vision_weights& w,
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

// Non-causal multi-head attention through the matmul kernels, in blocks of 64 queries.
// Same math as nn::attention (which streams keys through dot products, one query at a
// time); for the long vision sequences (1024 tokens) the GEMM kernels are many times faster.
//   1. per head (in parallel): k_h [np, hdp] and v_h^T [hd, np] gathered, zero padded
//   2. per (head, block of <= 64 queries) (in parallel, one thread each):
//        S   = q_blk k_h^T                  nn::linear with k_h as the weight   [64, np]
//        P   = exp((S - rowmax) / sqrt(hd)) rowsum = sum_j P                    (softmax_fn kernel)
//        o   = (P v_h) / rowsum             nn::linear with v_h^T as the weight [64, hd]
//      so no more than one block of scores per thread exists (s.blk_s).
// int8 = true (the tower's weights are q8/q4): k_h and v_h^T are quantized to q8 like weights
// (32-groups, f16 scales) and both products run on the int8 GEMMs, which quantize q and P per
// 32-group like every activation. For them keys are padded to np and heads to hdp
// (multiples of 32) with zeros: padded head columns add 0 to every score, padded keys get P = 0.
// q: [n_q, heads * hd]; k, v: [n_kv, heads * hd]; out: [n_q, heads * hd] (all row stride D)
// s: scratch with slots() >= ctx.pool->size(), n_q <= n and n_kv <= n of its config.
inline void attention_by_matmul(const nn::context& ctx, std::int64_t n_q, std::int64_t n_kv, std::int64_t heads,
                                std::int64_t hd, const float* q, const float* k, const float* v, float* out,
                                vision_scratch& s, bool int8 = false) {
    const std::int64_t D = heads * hd;
    const float scale = 1.0f / std::sqrt(float(hd));
    const kernels::softmax_fn softmax = kernels::table_of(ctx.matmul).softmax;
    const std::int64_t np = int8 ? round_up_group(n_kv) : n_kv;  // score row length
    const std::int64_t hdp = int8 ? round_up_group(hd) : hd;     // q / k_h row length
    const detail::vision_layout& L = s.layout();
    auto k_of = [&](std::int64_t h) { return s.kh + h * np * hdp; };
    auto vt_of = [&](std::int64_t h) { return s.vt + h * hd * np; };
    // int8: head h's q8 codes and f16 scales (strides in bytes, see vision_layout)
    auto kq_of = [&](std::int64_t h) { return s.kq + h * L.kq_stride; };
    auto vq_of = [&](std::int64_t h) { return s.vq + h * L.vq_stride; };
    auto kd_of = [&](std::int64_t h) {
        return reinterpret_cast<std::uint16_t*>(reinterpret_cast<std::uint8_t*>(s.kd) + h * L.kd_stride);
    };
    auto vd_of = [&](std::int64_t h) {
        return reinterpret_cast<std::uint16_t*>(reinterpret_cast<std::uint8_t*>(s.vd) + h * L.vd_stride);
    };
    auto kw_of = [&](std::int64_t h) {
        return int8 ? kernels::weight_matrix{dtype::q8, kq_of(h), kd_of(h), np, hdp}
                    : kernels::weight_matrix{dtype::f32, k_of(h), nullptr, np, hdp};
    };
    auto vw_of = [&](std::int64_t h) {
        return int8 ? kernels::weight_matrix{dtype::q8, vq_of(h), vd_of(h), hd, np}
                    : kernels::weight_matrix{dtype::f32, vt_of(h), nullptr, hd, np};
    };

    // 1. Keys and values per head (zero padding: columns hd..hdp and keys n_kv..np).
    kernels::q4_row_fn q4_unused;
    kernels::q8_row_fn q8_row;
    kernels::detail::best_row_quantizers(q4_unused, q8_row);
    parallel_for(ctx.pool, heads, [&](std::int64_t h0, std::int64_t h1, int) {
        for (std::int64_t h = h0; h < h1; ++h) {
            float* kh = k_of(h);
            float* vt = vt_of(h);
            for (std::int64_t t = 0; t < n_kv; ++t) {
                std::memcpy(kh + t * hdp, k + t * D + h * hd, std::size_t(hd) * sizeof(float));
                std::memset(kh + t * hdp + hd, 0, std::size_t(hdp - hd) * sizeof(float));
                for (std::int64_t i = 0; i < hd; ++i) vt[i * np + t] = v[t * D + h * hd + i];
            }
            std::memset(kh + n_kv * hdp, 0, std::size_t((np - n_kv) * hdp) * sizeof(float));
            for (std::int64_t i = 0; i < hd; ++i) std::memset(vt + i * np + n_kv, 0, std::size_t(np - n_kv) * sizeof(float));
            if (int8) {
                kernels::pack_q8_into(kh, np, hdp, kq_of(h), kd_of(h), q8_row);
                kernels::pack_q8_into(vt, hd, np, vq_of(h), vd_of(h), q8_row);
            }
        }
    });

    // 2. Blocks of queries, one thread each (the kernels inside run single-threaded).
    const std::int64_t blocks = (n_q + nn::k_attention_block - 1) / nn::k_attention_block;
    const nn::context one{nullptr, ctx.matmul};
    // (a scratch with fewer slots than threads — encode_tile refuses one — runs on one thread)
    thread_pool* pool = ctx.pool && ctx.pool->size() <= s.slots() ? ctx.pool : nullptr;
    parallel_for(pool, heads * blocks, [&](std::int64_t j0, std::int64_t j1, int slot) {
        auto* bq = reinterpret_cast<float*>(reinterpret_cast<std::uint8_t*>(s.blk_q) + slot * L.blk_q_stride);
        auto* bs = reinterpret_cast<float*>(reinterpret_cast<std::uint8_t*>(s.blk_s) + slot * L.blk_s_stride);
        auto* bo = reinterpret_cast<float*>(reinterpret_cast<std::uint8_t*>(s.blk_o) + slot * L.blk_o_stride);
        auto* sum = reinterpret_cast<float*>(reinterpret_cast<std::uint8_t*>(s.blk_sum) + slot * L.blk_sum_stride);
        if (hdp != hd) std::memset(bq, 0, std::size_t(nn::k_attention_block * hdp) * sizeof(float));  // padded columns
        for (std::int64_t j = j0; j < j1; ++j) {
            const std::int64_t h = j / blocks, t0 = (j % blocks) * nn::k_attention_block;
            const std::int64_t m = n_q - t0 < nn::k_attention_block ? n_q - t0 : nn::k_attention_block;
            for (std::int64_t r = 0; r < m; ++r)
                std::memcpy(bq + r * hdp, q + (t0 + r) * D + h * hd, std::size_t(hd) * sizeof(float));
            nn::linear(one, kw_of(h), bq, m, bs);  // bs: [m, np]
            for (std::int64_t r = 0; r < m; ++r) {
                float* row = bs + r * np;
                sum[r] = softmax(row, n_kv, scale);
                for (std::int64_t c = n_kv; c < np; ++c) row[c] = 0.0f;  // padded keys
            }
            nn::linear(one, vw_of(h), bs, m, bo);  // bo: [m, hd] = P v_h
            for (std::int64_t r = 0; r < m; ++r) {
                const float inv = 1.0f / sum[r];
                float* o = out + (t0 + r) * D + h * hd;
                for (std::int64_t i = 0; i < hd; ++i) o[i] = bo[r * hd + i] * inv;
            }
        }
    });
}

}  // namespace detail

// Idefics3EncoderLayer.forward on one tile, in place on s.x ([n, D]).
// n_real < n: padding patches are masked out as keys (the reference adds float32-min to
// their scores, which softmax turns into exact zeros); they still get outputs as queries.
inline void siglip_layer(const nn::context& ctx, const vision_dims& d, const siglip_layer_weights& L, float eps,
                         bool gelu_erf, std::int64_t n_real, vision_scratch& s) {
    const std::int64_t n = d.n, D = d.D;
    nn::layer_norm(ctx, s.x, s.h, L.ln1_w.data(), L.ln1_b.data(), n, D, eps);  // h = layer_norm1(x)
    nn::linear(ctx, L.q, s.h, n, s.q, L.q_b.data());                            // q: [n, heads, hd]
    nn::linear(ctx, L.k, s.h, n, s.k, L.k_b.data());                            // k: [n, heads, hd]
    nn::linear(ctx, L.v, s.h, n, s.v, L.v_b.data());                            // v: [n, heads, hd]
    if (n_real < n) {                                                           // keys: real patches only
        detail::compact_rows(s.k, s.patch_mask, n, D);
        detail::compact_rows(s.v, s.patch_mask, n, D);
    }
    const bool int8 = L.q.type == dtype::q8 || L.q.type == dtype::q4;  // quantized tower: int8 attention too
    detail::attention_by_matmul(ctx, n, n_real, d.heads, d.head_dim, s.q, s.k, s.v, s.h, s, int8);  // h = softmax(q k^T / sqrt(hd)) v
    nn::linear(ctx, L.o, s.h, n, s.q, L.o_b.data());                            // q = out_proj(h)
    detail::add_rows(ctx, s.x, s.q, n * D);                                     // x = x + q
    nn::layer_norm(ctx, s.x, s.h, L.ln2_w.data(), L.ln2_b.data(), n, D, eps);  // h = layer_norm2(x)
    nn::linear(ctx, L.fc1, s.h, n, s.big, L.fc1_b.data());                      // big: [n, F] = fc1(h)
    if (gelu_erf)
        nn::gelu_erf_inplace(ctx, s.big, n * d.F);
    else
        nn::gelu_tanh_inplace(ctx, s.big, n * d.F);                             // gelu_pytorch_tanh (SIMD kernel)
    nn::linear(ctx, L.fc2, s.big, n, s.q, L.fc2_b.data());                      // q = fc2(big)
    detail::add_rows(ctx, s.x, s.q, n * D);                                     // x = x + q
}

// ---- the tile encoder ----------------------------------------------------------------------

// Checks that the bound weights have the shapes the config implies (cheap; per call).
inline status check_vision_weights(const model_config& cfg, const vision_dims& d, const vision_weights& w) {
    auto bad = [](const char* what) { return status::fmt(errc::invalid_argument, "vision weights: %s", what); };
    auto mat = [](const kernels::weight_matrix& m, std::int64_t r, std::int64_t c) {
        return m.data != nullptr && m.rows == r && m.cols == c;
    };
    auto vec = [](const std::vector<float>& v, std::int64_t n) { return std::int64_t(v.size()) == n; };
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
    return check_connector_weights(cfg, w);
}

// Encode one tile: SigLIP tower + connector.
//   pixels:       [3, H, W] f32   (H = W = image_size)
//   pixel_mask:   [H, W] u8 or null (all real)
//   features_out: [n / s^2, Dt] f32 (Dt = w.connector.rows = text hidden size)
//   scratch:      reserved for cfg (an empty owning scratch is reserved here)
//   trace:        optional intermediates
inline status encode_tile(const nn::context& ctx, const model_config& cfg, const vision_weights& w, const float* pixels,
                          const std::uint8_t* pixel_mask, float* features_out, vision_scratch& s,
                          vision_trace* trace = nullptr) {
    SMOLVLM_ASSIGN_OR_RETURN(vision_dims d, vision_dims_for(cfg));
    if (!pixels || !features_out) return status(errc::invalid_argument, "encode_tile: null pixels or output buffer");
    SMOLVLM_TRY(check_vision_weights(cfg, d, w));
    const int threads = ctx.pool ? ctx.pool->size() : 1;
    if (!s.ready_for(d, threads)) {
        if (s.size_bytes() != 0 && !s.owns_memory())
            return status::fmt(errc::invalid_argument,
                               "encode_tile: the caller-bound scratch was sized for another config or fewer than %d "
                               "threads (vision_scratch::bytes_required(cfg, threads))", threads);
        SMOLVLM_TRY(s.reserve(cfg, threads));
    }
    const float eps = float(cfg.vision.layer_norm_eps);
    const bool gelu_erf = cfg.vision.hidden_act == "gelu";

    // Idefics3Model.get_image_features: patch mask from the pixel mask.
    const std::int64_t n_real = patch_attention_mask(pixel_mask, d.image_size, d.patch, s.patch_mask);
    // Idefics3VisionEmbeddings: position ids, patch embedding + position embedding.
    SMOLVLM_TRY(vision_position_ids(s.patch_mask, d.side, s.position_ids));
    vision_embeddings(ctx, d, w, pixels, s.position_ids, s.big, s.x);
    if (trace) {
        trace->patch_attention_mask.assign(s.patch_mask, s.patch_mask + d.n);
        trace->position_ids.assign(s.position_ids, s.position_ids + d.n);
        trace->embeddings.assign(s.x, s.x + d.n * d.D);
        trace->layer_outputs.clear();
    }
    // Idefics3Encoder: the layers.
    for (const siglip_layer_weights& L : w.layers) {
        siglip_layer(ctx, d, L, eps, gelu_erf, n_real, s);
        if (trace && trace->capture_layers) trace->layer_outputs.emplace_back(s.x, s.x + d.n * d.D);
    }
    // post_layernorm -> last_hidden_state
    nn::layer_norm(ctx, s.x, s.x, w.post_ln_w.data(), w.post_ln_b.data(), d.n, d.D, eps);
    if (trace) trace->last_hidden_state.assign(s.x, s.x + d.n * d.D);
    // Idefics3Connector: pixel shuffle into h, projection into the caller's buffer.
    SMOLVLM_TRY(connector_forward(ctx, cfg, w, s.x, s.h, features_out));
    if (trace) trace->pixel_shuffle.assign(s.h, s.h + d.out_tokens * d.shuffle_dim);
    return status::ok();
}

// True when every value of the tile is exactly 0: the reference drops such tiles
// (batch padding) before the vision tower. pixels: [3, H, W]
inline bool is_padding_tile(const model_config& cfg, const float* pixels) {
    const std::int64_t n = 3 * cfg.vision.image_size * cfg.vision.image_size;
    for (std::int64_t i = 0; i < n; ++i)
        if (pixels[i] != 0.0f) return false;
    return true;
}

// Encode many tiles, dropping all-zero padding tiles as the reference does (and, as it
// does, keeping the first tile when every tile is padding).
//   pixels:       [n_tiles, 3, H, W]
//   pixel_masks:  [n_tiles, H, W] or null
//   features_out: [n_tiles, n / s^2, Dt] (kept tiles are packed at the front)
//   traces:       null or n_tiles traces (trace k belongs to kept tile k)
// Returns the number of tiles encoded.
inline result<std::int64_t> encode_tiles(const nn::context& ctx, const model_config& cfg, const vision_weights& w,
                                         const float* pixels, const std::uint8_t* pixel_masks, std::int64_t n_tiles,
                                         float* features_out, vision_scratch& s, vision_trace* traces = nullptr) {
    SMOLVLM_ASSIGN_OR_RETURN(vision_dims d, vision_dims_for(cfg));
    if (n_tiles < 0 || (n_tiles > 0 && (!pixels || !features_out)))
        return status(errc::invalid_argument, "encode_tiles: bad tile count or null buffer");
    const std::int64_t tile_values = 3 * d.image_size * d.image_size;
    const std::int64_t tile_pixels = d.image_size * d.image_size;
    const std::int64_t out_values = d.out_tokens * w.connector.rows;
    bool any_real = false;
    for (std::int64_t t = 0; t < n_tiles && !any_real; ++t) any_real = !is_padding_tile(cfg, pixels + t * tile_values);
    std::int64_t kept = 0;
    for (std::int64_t t = 0; t < n_tiles; ++t) {
        const float* px = pixels + t * tile_values;
        if (any_real ? is_padding_tile(cfg, px) : t != 0) continue;
        const std::uint8_t* mk = pixel_masks ? pixel_masks + t * tile_pixels : nullptr;
        SMOLVLM_TRY(encode_tile(ctx, cfg, w, px, mk, features_out + kept * out_values, s, traces ? traces + kept : nullptr));
        ++kept;
    }
    return kept;
}

}  // namespace smolvlm
