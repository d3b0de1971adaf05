// Tests for model/siglip.hpp: the SigLIP vision tower and the tile encoder.
//
// Stand-alone (random weights built here): patch embedding vs a naive conv loop,
// position ids on hand-made masks, a whole tile vs a naive double-precision reference
// (full and partial pixel masks), the zero-attention reduction to the MLP path,
// scratch sizing / caller memory, padding-tile dropping and input errors.
// With ../shared: every fixture with images, stage by stage against the goldens, and
// the position-id cases of _unit/position_ids.json.
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/model/families.hpp>
#include <smolvlm/core/cpu.hpp>
#include <smolvlm/io/json.hpp>
#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/config.hpp>
#include <smolvlm/model/siglip.hpp>
#include <smolvlm/nn/attention.hpp>
#include <smolvlm/model/weights.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace smolvlm_test_model_siglip_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// ---- a random model built in the test ----------------------------------------------------

struct owned_matrix {
    std::vector<float> data;
    kernels::weight_matrix m;
};

// The SmolVLM vision stack of a test model: the tower's weights and the connector matrix.
struct vision_weights : siglip_weights {
    kernels::weight_matrix connector;  // modality_projection.proj [Dt, D s^2]
};

// The per-tile stages these tests read, from the library's generic vision_trace.
struct tile_trace {
    std::vector<std::uint8_t> patch_attention_mask;
    std::vector<std::int64_t> position_ids;
    std::vector<float> embeddings, last_hidden_state, pixel_shuffle;
    std::vector<std::vector<float>> layer_outputs;

    void take(const vision_trace& t) {
        auto raw = [&](const char* n) -> const std::vector<std::uint8_t>& {
            static const std::vector<std::uint8_t> none;
            const vision_trace::stage* st = t.find(n);
            return st ? st->bytes : none;
        };
        patch_attention_mask = raw("patch_attention_mask");
        const auto& ids = raw("vision_position_ids");
        position_ids.resize(ids.size() / 8);
        if (!ids.empty()) std::memcpy(position_ids.data(), ids.data(), ids.size());
        embeddings = t.floats("vision_embeddings");
        last_hidden_state = t.floats("vision_last_hidden_state");
        pixel_shuffle = t.floats("pixel_shuffle_output");
        layer_outputs.clear();
        for (int l = 0;; ++l) {
            std::vector<float> v = t.floats("vision_layer" + std::to_string(l) + "_output");
            if (v.empty()) break;
            layer_outputs.push_back(std::move(v));
        }
    }
};

// One tile through the library's encode_tile (model/smolvlm.hpp) with the SigLIP encoder and
// pixel-shuffle projector built from the test weights, as the loader builds them.
inline status encode_tile(const nn::context& ctx, const model_config& cfg, const vision_weights& w, const float* px,
                          const std::uint8_t* mask, float* out, vision_workspace& ws, tile_trace* tr = nullptr) {
    if (!cfg.has_vision) return status(errc::invalid_argument, "not a vision model");
    siglip_encoder enc(cfg.vision, siglip_weights(w));
    pixel_shuffle_projector proj(cfg.vision.hidden_size, cfg.scale_factor, w.connector);
    SMOLVLM_TRY(proj.check());
    vision_trace t;
    const std::int64_t H = cfg.vision.image_size;
    SMOLVLM_TRY(encode_tile(ctx, enc, proj, vision_image{px, H, H, mask}, out, ws, tr ? &t : nullptr));
    if (tr) tr->take(t);
    return status::ok();
}

inline result<std::size_t> tile_bytes(const model_config& cfg, const vision_weights& w, int threads = 1) {
    siglip_encoder enc(cfg.vision, siglip_weights(w));
    pixel_shuffle_projector proj(cfg.vision.hidden_size, cfg.scale_factor, w.connector);
    return tile_workspace_bytes(enc, proj, cfg.vision.image_size, cfg.vision.image_size, threads);
}

struct random_vision_model {
    model_config cfg;
    vision_weights w;
    std::vector<std::unique_ptr<owned_matrix>> mats;

    kernels::weight_matrix matrix(std::mt19937& rng, std::int64_t rows, std::int64_t cols, float scale) {
        auto om = std::make_unique<owned_matrix>();
        std::normal_distribution<float> nd(0.0f, scale);
        om->data.resize(std::size_t(rows * cols));
        for (float& x : om->data) x = nd(rng);
        om->m.type = dtype::f32;
        om->m.data = om->data.data();
        om->m.rows = rows;
        om->m.cols = cols;
        mats.push_back(std::move(om));
        return mats.back()->m;
    }
    static std::vector<float> vec(std::mt19937& rng, std::int64_t n, float mean, float scale) {
        std::normal_distribution<float> nd(mean, scale);
        std::vector<float> v(static_cast<std::size_t>(n));
        for (float& x : v) x = nd(rng);
        return v;
    }
};

// image 16 px, patch 4 -> 4 x 4 patches; D 16, 2 heads, F 24, 2 layers, scale 2 -> 4 tokens of Dt 12.
inline std::unique_ptr<random_vision_model> make_model(unsigned seed, std::int64_t image = 16, std::int64_t patch = 4,
                                                        std::int64_t D = 16, std::int64_t heads = 2, std::int64_t F = 24,
                                                        std::int64_t layers = 2, std::int64_t scale = 2,
                                                        std::int64_t Dt = 12) {
    auto m = std::make_unique<random_vision_model>();
    std::mt19937 rng(seed);
    model_config& c = m->cfg;
    c.arch = model_arch::smolvlm;
    c.has_vision = true;
    c.scale_factor = scale;
    c.text.hidden_size = Dt;
    c.vision.hidden_size = D;
    c.vision.intermediate_size = F;
    c.vision.num_hidden_layers = layers;
    c.vision.num_attention_heads = heads;
    c.vision.image_size = image;
    c.vision.patch_size = patch;
    c.vision.layer_norm_eps = 1e-6;
    c.vision.hidden_act = "gelu_pytorch_tanh";
    const std::int64_t n = (image / patch) * (image / patch), pd = 3 * patch * patch;
    vision_weights& w = m->w;
    w.patch_embed = m->matrix(rng, D, pd, 0.3f);
    w.patch_bias = random_vision_model::vec(rng, D, 0.0f, 0.1f);
    w.pos_embed = random_vision_model::vec(rng, n * D, 0.0f, 0.5f);
    w.post_ln_w = random_vision_model::vec(rng, D, 1.0f, 0.2f);
    w.post_ln_b = random_vision_model::vec(rng, D, 0.0f, 0.2f);
    w.layers.resize(std::size_t(layers));
    for (auto& L : w.layers) {
        L.ln1_w = random_vision_model::vec(rng, D, 1.0f, 0.2f);
        L.ln1_b = random_vision_model::vec(rng, D, 0.0f, 0.2f);
        L.ln2_w = random_vision_model::vec(rng, D, 1.0f, 0.2f);
        L.ln2_b = random_vision_model::vec(rng, D, 0.0f, 0.2f);
        L.q = m->matrix(rng, D, D, 0.4f);
        L.k = m->matrix(rng, D, D, 0.4f);
        L.v = m->matrix(rng, D, D, 0.4f);
        L.o = m->matrix(rng, D, D, 0.3f);
        L.q_b = random_vision_model::vec(rng, D, 0.0f, 0.1f);
        L.k_b = random_vision_model::vec(rng, D, 0.0f, 0.1f);
        L.v_b = random_vision_model::vec(rng, D, 0.0f, 0.1f);
        L.o_b = random_vision_model::vec(rng, D, 0.0f, 0.1f);
        L.fc1 = m->matrix(rng, F, D, 0.3f);
        L.fc1_b = random_vision_model::vec(rng, F, 0.0f, 0.1f);
        L.fc2 = m->matrix(rng, D, F, 0.3f);
        L.fc2_b = random_vision_model::vec(rng, D, 0.0f, 0.1f);
    }
    w.connector = m->matrix(rng, Dt, D * scale * scale, 0.2f);
    return m;
}

inline std::vector<float> random_pixels(unsigned seed, std::int64_t image) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> px(std::size_t(3 * image * image));
    for (float& x : px) x = u(rng);
    return px;
}

// ---- a naive double-precision reference of the whole tile ---------------------------------

using dvec = std::vector<double>;

inline double wat(const kernels::weight_matrix& m, std::int64_t r, std::int64_t c) {
    return double(kernels::scalar::load_weight(m, r, c));
}

// y[n, rows] = x[n, cols] W^T + b
inline dvec naive_linear(const kernels::weight_matrix& W, const dvec& x, std::int64_t n, const std::vector<float>* b) {
    dvec y(std::size_t(n * W.rows));
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < W.rows; ++r) {
            double acc = b ? double((*b)[std::size_t(r)]) : 0.0;
            for (std::int64_t c = 0; c < W.cols; ++c) acc += wat(W, r, c) * x[std::size_t(t * W.cols + c)];
            y[std::size_t(t * W.rows + r)] = acc;
        }
    return y;
}

inline dvec naive_layer_norm(const dvec& x, std::int64_t n, std::int64_t D, const std::vector<float>& w,
                             const std::vector<float>& b, double eps) {
    dvec y(x.size());
    for (std::int64_t t = 0; t < n; ++t) {
        double mean = 0, var = 0;
        for (std::int64_t i = 0; i < D; ++i) mean += x[std::size_t(t * D + i)];
        mean /= double(D);
        for (std::int64_t i = 0; i < D; ++i) var += std::pow(x[std::size_t(t * D + i)] - mean, 2);
        var /= double(D);
        for (std::int64_t i = 0; i < D; ++i)
            y[std::size_t(t * D + i)] = (x[std::size_t(t * D + i)] - mean) / std::sqrt(var + eps) * w[std::size_t(i)] +
                                        b[std::size_t(i)];
    }
    return y;
}

inline double naive_gelu_tanh(double x) {
    return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

// Conv2d(3 -> D, kernel p, stride p) as the plain 6-deep loop; out: [n, D] (patch-major).
inline dvec naive_conv(const kernels::weight_matrix& W, const std::vector<float>& bias, const float* px,
                       std::int64_t image, std::int64_t p) {
    const std::int64_t side = image / p, D = W.rows;
    dvec out(std::size_t(side * side * D));
    for (std::int64_t o = 0; o < D; ++o)
        for (std::int64_t i = 0; i < side; ++i)
            for (std::int64_t j = 0; j < side; ++j) {
                double acc = bias[std::size_t(o)];
                for (std::int64_t c = 0; c < 3; ++c)
                    for (std::int64_t ky = 0; ky < p; ++ky)
                        for (std::int64_t kx = 0; kx < p; ++kx)
                            acc += wat(W, o, (c * p + ky) * p + kx) *
                                   double(px[(c * image + i * p + ky) * image + j * p + kx]);
                out[std::size_t((i * side + j) * D + o)] = acc;
            }
    return out;
}

struct naive_outputs {
    dvec embeddings, last_hidden, shuffled, features;
};

// The whole tile, written from the reference's description; key_real[t] = patch t is a key.
// position ids are taken as given (tested separately).
inline naive_outputs naive_tile(const random_vision_model& m, const float* px, const std::vector<std::int64_t>& pos,
                                const std::vector<std::uint8_t>& key_real) {
    const model_config& c = m.cfg;
    const vision_weights& w = m.w;
    const std::int64_t p = c.vision.patch_size, side = c.vision.image_size / p, n = side * side;
    const std::int64_t D = c.vision.hidden_size, H = c.vision.num_attention_heads, hd = D / H, s = c.scale_factor;
    const double eps = c.vision.layer_norm_eps;
    naive_outputs o;
    dvec x = naive_conv(w.patch_embed, w.patch_bias, px, c.vision.image_size, p);
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t i = 0; i < D; ++i) x[std::size_t(t * D + i)] += w.pos_embed[std::size_t(pos[std::size_t(t)] * D + i)];
    o.embeddings = x;
    for (const auto& L : w.layers) {
        dvec h = naive_layer_norm(x, n, D, L.ln1_w, L.ln1_b, eps);
        dvec q = naive_linear(L.q, h, n, &L.q_b), k = naive_linear(L.k, h, n, &L.k_b), v = naive_linear(L.v, h, n, &L.v_b);
        dvec a(std::size_t(n * D), 0.0);
        for (std::int64_t hh = 0; hh < H; ++hh)
            for (std::int64_t t = 0; t < n; ++t) {
                dvec sc(static_cast<std::size_t>(n));
                double mx = -1e300;
                for (std::int64_t j = 0; j < n; ++j) {
                    double d = 0;
                    for (std::int64_t i = 0; i < hd; ++i)
                        d += q[std::size_t(t * D + hh * hd + i)] * k[std::size_t(j * D + hh * hd + i)];
                    sc[std::size_t(j)] = d / std::sqrt(double(hd));
                    if (key_real[std::size_t(j)]) mx = std::max(mx, sc[std::size_t(j)]);
                }
                double sum = 0;
                for (std::int64_t j = 0; j < n; ++j)
                    sum += sc[std::size_t(j)] = key_real[std::size_t(j)] ? std::exp(sc[std::size_t(j)] - mx) : 0.0;
                for (std::int64_t j = 0; j < n; ++j)
                    for (std::int64_t i = 0; i < hd; ++i)
                        a[std::size_t(t * D + hh * hd + i)] += sc[std::size_t(j)] / sum * v[std::size_t(j * D + hh * hd + i)];
            }
        dvec ao = naive_linear(L.o, a, n, &L.o_b);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] += ao[i];
        dvec h2 = naive_layer_norm(x, n, D, L.ln2_w, L.ln2_b, eps);
        dvec f = naive_linear(L.fc1, h2, n, &L.fc1_b);
        for (double& e : f) e = c.vision.hidden_act == "gelu" ? 0.5 * e * (1.0 + std::erf(e / std::sqrt(2.0))) : naive_gelu_tanh(e);
        dvec f2 = naive_linear(L.fc2, f, n, &L.fc2_b);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] += f2[i];
    }
    x = naive_layer_norm(x, n, D, w.post_ln_w, w.post_ln_b, eps);
    o.last_hidden = x;
    // pixel shuffle, straight from the README: token (i, j), feature r*s*D + c*D + d = patch (i*s+r, j*s+c), d
    const std::int64_t os = side / s;
    o.shuffled.assign(std::size_t(n * D), 0.0);
    for (std::int64_t i = 0; i < os; ++i)
        for (std::int64_t j = 0; j < os; ++j)
            for (std::int64_t r = 0; r < s; ++r)
                for (std::int64_t cc = 0; cc < s; ++cc)
                    for (std::int64_t d = 0; d < D; ++d)
                        o.shuffled[std::size_t((i * os + j) * D * s * s + r * s * D + cc * D + d)] =
                            x[std::size_t(((i * s + r) * side + j * s + cc) * D + d)];
    o.features = naive_linear(w.connector, o.shuffled, os * os, nullptr);
    return o;
}

template <class A, class B>
inline double max_abs_diff(const A& a, const B& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

}  // namespace

// ---- stand-alone tests --------------------------------------------------------------------

TEST_CASE("siglip: patch embedding equals a naive stride-p conv plus position embedding", "[siglip]") {
    auto m = make_model(1, 24, 6, 10, 2, 8, 1, 2, 4);  // 4 x 4 patches of 6 px, D = 10
    auto dims = siglip_dims_for(m->cfg.vision);
    REQUIRE(dims.is_ok());
    const siglip_dims d = dims.value();
    const auto px = random_pixels(2, 24);
    std::vector<std::int64_t> pos(std::size_t(d.n));
    for (std::int64_t t = 0; t < d.n; ++t) pos[std::size_t(t)] = (t * 7) % d.n;  // any permutation
    std::vector<float> patches(std::size_t(d.n * d.patch_dim)), x(std::size_t(d.n * d.D));
    nn::context ctx;
    siglip_embeddings(ctx, d, m->w, px.data(), pos.data(), patches.data(), x.data());
    dvec ref = naive_conv(m->w.patch_embed, m->w.patch_bias, px.data(), 24, 6);
    for (std::int64_t t = 0; t < d.n; ++t)
        for (std::int64_t i = 0; i < d.D; ++i)
            ref[std::size_t(t * d.D + i)] += m->w.pos_embed[std::size_t(pos[std::size_t(t)] * d.D + i)];
    // f32 sums of 108 products of O(1) terms: a few 1e-6 at most.
    CHECK(max_abs_diff(x, ref) < 1e-5);
}

TEST_CASE("siglip: patch attention mask marks a patch real when any pixel is", "[siglip]") {
    const std::int64_t side = 3, p = 2, W = side * p;
    std::vector<std::uint8_t> pm(std::size_t(W * W), 0), out(std::size_t(side * side), 9);
    pm[std::size_t(0 * W + 0)] = 1;  // patch (0, 0)
    pm[std::size_t(3 * W + 5)] = 1;  // patch (1, 2): bottom-right pixel only
    pm[std::size_t(4 * W + 2)] = 1;  // patch (2, 1)
    CHECK(patch_attention_mask(pm.data(), W, p, out.data()) == 3);
    CHECK(out == std::vector<std::uint8_t>{1, 0, 0, 0, 0, 1, 0, 1, 0});
    CHECK(patch_attention_mask(nullptr, W, p, out.data()) == 9);
    CHECK(out == std::vector<std::uint8_t>(9, 1));
    // Image 7 px, patch 2: 3 x 3 patches; the last pixel row/column belongs to no patch.
    std::vector<std::uint8_t> pm7(49, 0);
    pm7[6] = pm7[6 * 7] = 1;  // only in the ignored column / row
    CHECK(patch_attention_mask(pm7.data(), 7, 2, out.data()) == 0);
    pm7[1 * 7 + 5] = 1;       // patch (0, 2)
    CHECK(patch_attention_mask(pm7.data(), 7, 2, out.data()) == 1);
    CHECK(out == std::vector<std::uint8_t>{0, 0, 1, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("siglip: position ids on hand-made masks", "[siglip]") {
    // Full 4 x 4 tile: identity.
    std::vector<std::uint8_t> mask(16, 1);
    std::vector<std::int64_t> ids(16, -1);
    REQUIRE(vision_position_ids(mask.data(), 4, ids.data()).is_ok());
    for (int i = 0; i < 16; ++i) CHECK(ids[std::size_t(i)] == i);

    // Real block 2 x 3 in a 4 x 4 grid. Rows: frac 0, 0.5 -> buckets 0, 2 (boundaries .25 .5 .75;
    // right=True puts 0.5 in bucket 2). Cols: frac 0, 1/3, 2/3 -> buckets 0, 1, 2.
    mask.assign(16, 0);
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) mask[std::size_t(r * 4 + c)] = 1;
    REQUIRE(vision_position_ids(mask.data(), 4, ids.data()).is_ok());
    const std::vector<std::int64_t> want = {0, 1, 2, 0, 8, 9, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(ids == want);

    // One real patch: id 0.
    mask.assign(16, 0);
    mask[0] = 1;
    REQUIRE(vision_position_ids(mask.data(), 4, ids.data()).is_ok());
    CHECK(ids == std::vector<std::int64_t>(16, 0));

    // Not a top-left block (count differs from rows x cols): a clear error, as torch would fail.
    mask.assign(16, 0);
    mask[0] = mask[1] = mask[4] = 1;  // L shape: nb_h 2, nb_w 2, 3 real
    CHECK(vision_position_ids(mask.data(), 4, ids.data()).code() == errc::invalid_argument);
    mask.assign(16, 0);
    CHECK(vision_position_ids(mask.data(), 4, ids.data()).code() == errc::invalid_argument);

    // The float32 arange rounding of the reference: on a full 19 x 19 grid two patches of
    // a row share a bucket (see _unit/position_ids.json full_tile_is_identity["19"] = false),
    // while 16 and 32 stay the identity.
    for (std::int64_t N : {16, 19, 32}) {
        mask.assign(std::size_t(N * N), 1);
        ids.assign(std::size_t(N * N), -1);
        REQUIRE(vision_position_ids(mask.data(), N, ids.data()).is_ok());
        bool identity = true;
        for (std::int64_t i = 0; i < N * N; ++i) identity = identity && ids[std::size_t(i)] == i;
        CHECK(identity == (N != 19));
        for (std::int64_t id : ids) CHECK((id >= 0 && id < N * N));
    }
}

TEST_CASE("siglip: a tile matches a naive double-precision reference", "[siglip]") {
    auto m = make_model(3);
    const auto px = random_pixels(4, 16);
    thread_pool pool(2);
    for (int variant = 0; variant < 3; ++variant) {  // serial scalar, threaded scalar, threaded dispatched kernels
        nn::context ctx;
        ctx.pool = variant > 0 ? &pool : nullptr;
        if (variant == 2) ctx.kt = kernels::select_kernels(detect_cpu());
        vision_workspace s;
        tile_trace tr;
        std::vector<float> feats(std::size_t(4 * 12));
        REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, feats.data(), s, &tr).is_ok());
        std::vector<std::int64_t> pos(16);
        for (int i = 0; i < 16; ++i) pos[std::size_t(i)] = i;
        CHECK(tr.position_ids == pos);
        CHECK(tr.layer_outputs.size() == 2);
        const naive_outputs ref = naive_tile(*m, px.data(), pos, std::vector<std::uint8_t>(16, 1));
        // f32 vs f64 through 2 layers of O(1) activations: errors ~1e-6; 2e-5 leaves margin
        // while any indexing mistake gives O(0.1).
        CHECK(max_abs_diff(tr.embeddings, ref.embeddings) < 2e-5);
        CHECK(max_abs_diff(tr.last_hidden_state, ref.last_hidden) < 2e-5);
        CHECK(max_abs_diff(tr.pixel_shuffle, ref.shuffled) < 2e-5);
        CHECK(max_abs_diff(feats, ref.features) < 2e-5);
    }
}

TEST_CASE("siglip: image_size not a multiple of patch_size ignores the remainder, as the strided conv", "[siglip]") {
    auto m = make_model(19, 18, 4);  // 4 x 4 patches of 4 px, 2 px left over
    const auto px = random_pixels(20, 18);
    nn::context ctx;
    vision_workspace s;
    tile_trace tr;
    std::vector<float> feats(std::size_t(4 * 12));
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, feats.data(), s, &tr).is_ok());
    std::vector<std::int64_t> pos(16);
    for (int i = 0; i < 16; ++i) pos[std::size_t(i)] = i;
    const naive_outputs ref = naive_tile(*m, px.data(), pos, std::vector<std::uint8_t>(16, 1));
    CHECK(max_abs_diff(tr.embeddings, ref.embeddings) < 2e-5);
    CHECK(max_abs_diff(feats, ref.features) < 2e-5);
}

TEST_CASE("siglip: hidden_act gelu (erf) is honoured", "[siglip]") {
    auto m = make_model(21);
    m->cfg.vision.hidden_act = "gelu";
    const auto px = random_pixels(22, 16);
    nn::context ctx;
    vision_workspace s;
    tile_trace tr;
    std::vector<float> feats(std::size_t(4 * 12));
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, feats.data(), s, &tr).is_ok());
    std::vector<std::int64_t> pos(16);
    for (int i = 0; i < 16; ++i) pos[std::size_t(i)] = i;
    const naive_outputs ref = naive_tile(*m, px.data(), pos, std::vector<std::uint8_t>(16, 1));
    CHECK(max_abs_diff(tr.last_hidden_state, ref.last_hidden) < 2e-5);
    m->cfg.vision.hidden_act = "gelu_pytorch_tanh";  // the two GELUs differ by ~1e-3: the choice is visible
    const naive_outputs tanh_ref = naive_tile(*m, px.data(), pos, std::vector<std::uint8_t>(16, 1));
    CHECK(max_abs_diff(tr.last_hidden_state, tanh_ref.last_hidden) > 1e-4);
}

TEST_CASE("siglip: the softmax exp is within a few ulp of std::exp on [-87, 0]", "[siglip]") {
    double worst = 0;
    for (float x = -87.0f; x <= 0.0f; x += 0.000731f) {
        const double want = std::exp(double(x));
        worst = std::max(worst, std::fabs(double(kernels::scalar::exp_nonpositive(x)) - want) / want);
    }
    // float epsilon is 1.19e-7; 3 ulp-ish bound.
    CHECK(worst < 3.6e-7);
    CHECK(kernels::scalar::exp_nonpositive(0.0f) == 1.0f);
    CHECK(kernels::scalar::exp_nonpositive(-1000.0f) < 1e-37f);
    CHECK(kernels::scalar::exp_nonpositive(-1000.0f) >= 0.0f);
    CHECK(kernels::scalar::exp_nonpositive(-std::numeric_limits<float>::infinity()) < 1e-37f);
    CHECK(kernels::scalar::exp_nonpositive(5.0f) == 1.0f);  // outside the contract: clamped, no garbage
    CHECK(std::isfinite(kernels::scalar::exp_nonpositive(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("siglip: the tanh-GELU it runs (nn::gelu_tanh_inplace, dispatched) matches the formula in double", "[siglip]") {
    // The MLP calls nn::gelu_tanh_inplace, which runs the SIMD kernel of the context's ISA.
    std::vector<float> xs;
    for (float x = -30.0f; x <= 30.0f; x += 0.00137f) xs.push_back(x);
    for (const bool simd : {false, true}) {
        nn::context ctx;
        if (simd) ctx.kt = kernels::select_kernels(detect_cpu());
        std::vector<float> y = xs;
        nn::gelu_tanh_inplace(ctx, y.data(), std::int64_t(y.size()));
        double worst = 0;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            const double xd = xs[i];
            const double want = 0.5 * xd * (1.0 + std::tanh(0.7978845608028654 * (xd + 0.044715 * xd * xd * xd)));
            worst = std::max(worst, std::fabs(double(y[i]) - want) / (1.0 + std::fabs(xd)));
        }
        INFO("simd " << simd << " worst " << worst);
        // A few float ulps relative to (1 + |x|): far below the ~1e-5 vision tolerances.
        CHECK(worst < 1e-6);
    }
}

TEST_CASE("siglip: softmax numerators and sum, odd lengths", "[siglip]") {
    std::mt19937 rng(29);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    for (std::int64_t n : {1, 7, 8, 9, 64, 1027}) {
        std::vector<float> row(static_cast<std::size_t>(n));
        for (float& e : row) e = nd(rng);
        const float scale = 0.37f;
        double mx = row[0];
        for (float e : row) mx = std::max(mx, double(e));
        std::vector<double> want(row.size());
        double want_sum = 0;
        for (std::size_t j = 0; j < row.size(); ++j) want_sum += want[j] = std::exp((double(row[j]) - mx) * scale);
        const float sum = kernels::scalar::softmax(row.data(), n, scale);
        INFO("n " << n);
        CHECK(std::fabs(sum - want_sum) / want_sum < 1e-6);
        CHECK(max_abs_diff(row, want) < 1e-6);  // values in (0, 1]
    }
}

TEST_CASE("siglip: its attention (nn::gather_kv + nn::attention_blocked) equals nn::attention_reference", "[siglip]") {
    // Odd sizes: 37 queries, 29 keys, 3 heads of 10, no causal mask (the vision tower's case).
    const std::int64_t nq = 37, nkv = 29, heads = 3, hd = 10, D = heads * hd;
    std::mt19937 rng(23);
    std::normal_distribution<float> nd(0.0f, 1.5f);
    std::vector<float> q(std::size_t(nq * D)), k(std::size_t(nkv * D)), v(std::size_t(nkv * D));
    for (auto* b : {&q, &k, &v})
        for (float& e : *b) e = nd(rng);
    thread_pool pool(2);
    nn::context ctx;
    ctx.pool = &pool;
    nn::context simd_ctx = ctx;  // and through the kernels dispatch picks (odd shapes hit their tails)
    simd_ctx.kt = kernels::select_kernels(detect_cpu());
    nn::attention_shape a;
    a.n_q = nq;
    a.n_kv = nkv;
    a.n_heads = a.n_kv_heads = heads;
    a.head_dim = hd;
    a.q_stride = a.out_stride = D;
    a.kv_stride = hd;
    auto run = [&](const nn::context& c, bool int8) {
        workspace_planner plan;
        nn::kv_gather_buffers kvb;
        kvb.take(plan, nkv, heads, hd, int8);
        plan.take<float>(nn::attention_scratch::floats_needed(nkv, hd, 2, int8));
        vision_workspace ws;
        REQUIRE(ws.reserve(plan.plan.total().value()).is_ok());
        workspace_carver carve{ws.carve()};
        kvb.take(carve, nkv, heads, hd, int8);
        float* attn = carve.take<float>(nn::attention_scratch::floats_needed(nkv, hd, 2, int8));
        REQUIRE(!carve.a.exhausted_once());
        const nn::kv_planes kv = nn::gather_kv(c, k.data(), v.data(), D, kvb);
        std::vector<float> out(std::size_t(nq * D));
        nn::attention_blocked(c, a, q.data(), kv, out.data(), nn::attention_scratch{attn, nkv, hd, 2, int8});
        return out;
    };
    std::vector<float> ref(std::size_t(nq * D));
    nn::attention_shape ra = a;
    ra.kv_stride = D;  // the reference reads the interleaved rows
    nn::attention_reference(ra, q.data(), k.data(), v.data(), ref.data());
    const std::vector<float> out = run(ctx, false), simd_out = run(simd_ctx, false);
    // Softmax-weighted averages of N(0, 1.5) values, f32 vs f64: ~1e-6.
    CHECK(max_abs_diff(out, ref) < 1e-5);
    CHECK(max_abs_diff(simd_out, ref) < 1e-5);

    // The int8 path (quantized towers): k, v as q8 weights, q and P quantized per 32-group.
    // Error budget: a 32-group of N(0, 1.5) values has max ~4.5 -> step 0.035, rounding
    // error RMS 0.01 per element; a score (10 products of ~1.5-sized values, times 1/sqrt(10))
    // moves by ~0.02, P by ~2% relative, P's own 7-bit codes add ~0.4% of the row max; the
    // outputs (averages of values ~1.5) move by a few 1e-2. Bound: 0.1. It must also differ
    // from f32 (the quantization is real): > 1e-4.
    const std::vector<float> q8_out = run(ctx, true), q8_simd_out = run(simd_ctx, true);
    INFO("int8 attention: scalar err " << max_abs_diff(q8_out, ref) << ", simd err " << max_abs_diff(q8_simd_out, ref)
                                       << ", simd vs scalar " << max_abs_diff(q8_simd_out, q8_out));
    CHECK(max_abs_diff(q8_out, ref) < 0.1);
    CHECK(max_abs_diff(q8_simd_out, ref) < 0.1);
    CHECK(max_abs_diff(q8_out, ref) > 1e-4);
    // The SIMD kernels quantize exactly as their scalar twins: only summation order differs.
    CHECK(max_abs_diff(q8_simd_out, q8_out) < 1e-4);
}

TEST_CASE("siglip: padding patches are masked as keys and get zero-based position ids", "[siglip]") {
    auto m = make_model(5);
    const auto px = random_pixels(6, 16);
    // Real region: 3 patch rows x 2 patch cols (pixels rows 0..9, cols 0..5; partial patches count).
    std::vector<std::uint8_t> pm(256, 0);
    for (int y = 0; y < 10; ++y)
        for (int x = 0; x < 6; ++x) pm[std::size_t(y * 16 + x)] = 1;
    nn::context ctx;
    vision_workspace s;
    tile_trace tr;
    std::vector<float> feats(std::size_t(4 * 12));
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), pm.data(), feats.data(), s, &tr).is_ok());
    std::vector<std::uint8_t> want_mask(16, 0);
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 2; ++c) want_mask[std::size_t(r * 4 + c)] = 1;
    CHECK(tr.patch_attention_mask == want_mask);
    // rows: frac 0, 1/3, 2/3 -> 0, 1, 2; cols: frac 0, 0.5 -> 0, 2 (N = 4)
    const std::vector<std::int64_t> want_pos = {0, 2, 0, 0, 4, 6, 0, 0, 8, 10, 0, 0, 0, 0, 0, 0};
    CHECK(tr.position_ids == want_pos);
    const naive_outputs ref = naive_tile(*m, px.data(), want_pos, want_mask);
    CHECK(max_abs_diff(tr.last_hidden_state, ref.last_hidden) < 2e-5);
    CHECK(max_abs_diff(feats, ref.features) < 2e-5);
    // And the mask matters: the all-real reference differs by far more than the tolerance.
    const naive_outputs unmasked = naive_tile(*m, px.data(), want_pos, std::vector<std::uint8_t>(16, 1));
    CHECK(max_abs_diff(tr.last_hidden_state, unmasked.last_hidden) > 1e-2);
}

TEST_CASE("siglip: with zero attention weights a layer reduces to the MLP path", "[siglip]") {
    auto m = make_model(7, 16, 4, 16, 2, 24, 1, 2, 12);
    auto& L = m->w.layers[0];
    std::vector<float> zeros(16 * 16, 0.0f);
    for (kernels::weight_matrix* W : {&L.q, &L.k, &L.v, &L.o}) W->data = zeros.data();
    std::fill(L.v_b.begin(), L.v_b.end(), 0.0f);
    // Attention is then uniform over values that are all zero: the branch adds just o_b.
    const auto px = random_pixels(8, 16);
    nn::context ctx;
    vision_workspace s;
    tile_trace tr;
    std::vector<float> feats(std::size_t(4 * 12));
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, feats.data(), s, &tr).is_ok());
    const std::int64_t n = 16, D = 16;
    dvec x(tr.embeddings.begin(), tr.embeddings.end());
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t i = 0; i < D; ++i) x[std::size_t(t * D + i)] += L.o_b[std::size_t(i)];
    dvec h = naive_layer_norm(x, n, D, L.ln2_w, L.ln2_b, 1e-6);
    dvec f = naive_linear(L.fc1, h, n, &L.fc1_b);
    for (double& e : f) e = naive_gelu_tanh(e);
    dvec f2 = naive_linear(L.fc2, f, n, &L.fc2_b);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += f2[i];
    REQUIRE(tr.layer_outputs.size() == 1);
    CHECK(max_abs_diff(tr.layer_outputs[0], x) < 1e-5);
}

TEST_CASE("siglip: workspace size, caller memory and reuse", "[siglip]") {
    auto m = make_model(9);
    auto need = tile_bytes(m->cfg, m->w);
    REQUIRE(need.is_ok());
    auto need2 = tile_bytes(m->cfg, m->w, 2);
    REQUIRE(need2.is_ok());
    // A second thread adds one block of attention buffers (64 queries x hd, scores x 16 keys,
    // output, sums): more, but not a second copy of the tile.
    CHECK(need2.value() > need.value());
    CHECK(need2.value() < need.value() + 64 * (8 + 16 + 8 + 1) * 4 + 4 * 64);
    {   // The real SmolVLM-256M shape (f32 tower): 5 [1024, 768] buffers, the MLP hidden
        // [1024, 3072], the hidden rows between encoder and connector, the shuffled rows,
        // a block of attention per thread: 33 MiB for 2 threads (the K/V planes share the
        // MLP hidden's buffer: they are never needed at the same time).
        model_config real = m->cfg;
        real.scale_factor = 4;
        real.vision.image_size = 512;
        real.vision.patch_size = 16;
        real.vision.hidden_size = 768;
        real.vision.num_attention_heads = 12;
        real.vision.intermediate_size = 3072;
        siglip_encoder enc(real.vision);
        pixel_shuffle_projector proj(768, 4, 576);
        auto b = tile_workspace_bytes(enc, proj, 512, 512, 2);
        REQUIRE(b.is_ok());
        const std::size_t N = 1024;
        const std::size_t at_least = 5 * N * 768 * 4 + N * 3072 * 4 + N * 768 * 4 + N * 768 * 4;
        CHECK(b.value() >= at_least);
        CHECK(b.value() < at_least + (std::size_t(1) << 20));
        CHECK(b.value() / (1 << 20) == 33);
    }

    const auto px = random_pixels(10, 16);
    nn::context ctx;
    std::vector<float> a(48), b(48);
    vision_workspace owned;
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, a.data(), owned).is_ok());
    CHECK(owned.owns_memory());
    CHECK(owned.size_bytes() == need.value());

    void* mem = SMOLVLM_MALLOC(need2.value() + 64, 64);
    REQUIRE(mem);
    vision_workspace bound;
    CHECK(bound.bind(static_cast<char*>(mem) + 4, need.value()).code() == errc::invalid_argument);
    REQUIRE(bound.bind(mem, need.value() - 1).is_ok());  // too small: refused when used, never overrun
    CHECK(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, b.data(), bound).code() == errc::no_memory);
    REQUIRE(bound.bind(mem, need.value()).is_ok());
    CHECK(!bound.owns_memory());
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, b.data(), bound).is_ok());
    CHECK(a == b);  // same arithmetic, same buffers layout: bit-identical
    // Reuse: a second tile through the same workspace gives the same answer again.
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, b.data(), bound).is_ok());
    CHECK(a == b);
    // A bound workspace is not silently reallocated for a bigger config.
    auto m2 = make_model(11, 32, 4);
    std::vector<float> c(16 * 12);
    const auto px2 = random_pixels(12, 32);
    CHECK(encode_tile(ctx, m2->cfg, m2->w, px2.data(), nullptr, c.data(), bound).code() == errc::no_memory);
    {   // Memory for 1 thread is refused on a 2-thread pool (one attention block per thread);
        // sized for 2 it runs, and the threads change no arithmetic: bit-identical.
        thread_pool pool(2);
        const nn::context ctx2{&pool, ctx.kt};
        vision_workspace one;
        REQUIRE(one.bind(mem, need.value()).is_ok());
        CHECK(encode_tile(ctx2, m->cfg, m->w, px.data(), nullptr, b.data(), one).code() == errc::no_memory);
        vision_workspace two;
        REQUIRE(two.bind(mem, need2.value()).is_ok());
        std::vector<float> d(48);
        REQUIRE(encode_tile(ctx2, m->cfg, m->w, px.data(), nullptr, d.data(), two).is_ok());
        CHECK(a == d);
    }
    vision_workspace moved(std::move(owned));
    CHECK(moved.owns_memory());
    CHECK(!owned.owns_memory());
    REQUIRE(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, b.data(), moved).is_ok());
    CHECK(a == b);
    SMOLVLM_FREE(mem);
}

TEST_CASE("siglip: all-zero tiles are padding (dropped before the tower, as the reference does)", "[siglip]") {
    const auto t0 = random_pixels(14, 16);
    std::vector<float> zeros(768, 0.0f);
    CHECK(is_padding_tile(zeros.data(), 16, 16));
    CHECK_FALSE(is_padding_tile(t0.data(), 16, 16));
    zeros[767] = -0.0f;  // a signed zero is still zero
    CHECK(is_padding_tile(zeros.data(), 16, 16));
    zeros[767] = 1e-30f;
    CHECK_FALSE(is_padding_tile(zeros.data(), 16, 16));
}

TEST_CASE("siglip: bad inputs are errors, not crashes", "[siglip]") {
    auto m = make_model(17);
    const auto px = random_pixels(18, 16);
    nn::context ctx;
    vision_workspace s;
    std::vector<float> feats(48);
    CHECK(encode_tile(ctx, m->cfg, m->w, nullptr, nullptr, feats.data(), s).code() == errc::invalid_argument);
    CHECK(encode_tile(ctx, m->cfg, m->w, px.data(), nullptr, nullptr, s).code() == errc::invalid_argument);
    std::vector<std::uint8_t> empty(256, 0);
    CHECK(encode_tile(ctx, m->cfg, m->w, px.data(), empty.data(), feats.data(), s).code() == errc::invalid_argument);
    {
        auto bad = make_model(17);
        bad->w.layers.pop_back();
        CHECK(encode_tile(ctx, bad->cfg, bad->w, px.data(), nullptr, feats.data(), s).code() == errc::invalid_argument);
    }
    {
        auto bad = make_model(17);
        bad->w.pos_embed.resize(5);
        CHECK(encode_tile(ctx, bad->cfg, bad->w, px.data(), nullptr, feats.data(), s).code() == errc::invalid_argument);
    }
    {
        auto bad = make_model(17);
        bad->w.connector.cols = 3;
        CHECK(encode_tile(ctx, bad->cfg, bad->w, px.data(), nullptr, feats.data(), s).code() == errc::invalid_argument);
    }
    {
        auto bad = make_model(17);
        bad->cfg.has_vision = false;
        CHECK(encode_tile(ctx, bad->cfg, bad->w, px.data(), nullptr, feats.data(), s).code() == errc::invalid_argument);
    }
    {
        auto bad = make_model(17);
        bad->cfg.scale_factor = 3;  // 4 patches per side
        CHECK(!tile_bytes(bad->cfg, bad->w).is_ok());
        CHECK(encode_tile(ctx, bad->cfg, bad->w, px.data(), nullptr, feats.data(), s).code() == errc::invalid_argument);
    }
}

// ---- golden fixtures ------------------------------------------------------------------------

namespace {

inline double atol_of(const json_value& gj, const std::string& name) {
    const json_value* t = gj.find("tensors");
    const json_value* e = t ? t->find(name) : nullptr;
    const json_value* a = e ? e->find("suggested_atol") : nullptr;
    return a && a->is_number() ? a->as_number() : -1.0;
}

}  // namespace

TEST_CASE("siglip: vision tower and connector match the golden fixtures", "[siglip][golden]") {
    const std::string root = smolvlm_test::fixtures_dir();
    SMOLVLM_REQUIRE_SHARED(root + "/README.md");
    thread_pool pool(2);
    for (const std::string name : {"idefics3_f32_rgb_split", "idefics3_bf16_rgba_tall", "smolvlm_bf16_multi_image",
                                   "smolvlm_bf16_video", "smolvlm_bf16_nosplit"}) {
        SECTION(name) {
            const std::string dir = root + "/" + name;
            auto cfg = load_model_config(dir + "/model");
            REQUIRE(cfg.is_ok());
            auto st = safetensors_set::open_dir(dir + "/model");
            REQUIRE(st.is_ok());
            auto w = bind_weights(cfg.value(), st.value());
            REQUIRE(w.is_ok());
            auto golden = safetensors_file::open((dir + "/golden.safetensors").c_str());
            REQUIRE(golden.is_ok());
            auto gj = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
            REQUIRE(gj.is_ok());
            const safetensors_file& g = golden.value();
            const model_config& c = cfg.value();

            const st_tensor* pv = g.find("pixel_values");
            const st_tensor* pm = g.find("pixel_attention_mask");
            REQUIRE(pv);
            REQUIRE(pm);
            REQUIRE(pv->shape.ndim == 5);
            const std::int64_t n_tiles = pv->shape[1], H = pv->shape[3];
            REQUIRE(H == c.vision.image_size);
            std::vector<float> pixels;
            REQUIRE(read_as_f32(*pv, pixels).is_ok());
            std::vector<std::int64_t> mask64;
            REQUIRE(read_as_i64(*pm, mask64).is_ok());
            std::vector<std::uint8_t> mask(mask64.begin(), mask64.end());

            // Scalar reference kernels, then the kernels dispatch picks for this CPU.
            for (const bool simd : {false, true}) {
            const kernels::kernel_table kt =
                simd ? kernels::select_kernels(detect_cpu()) : kernels::select_kernels(detect_cpu(), kernels::isa::scalar);
            const std::string label = name + (simd ? std::string(" ") + kernels::isa_name(kt.chosen) : " scalar");
            const std::int64_t tokens = c.image_seq_len(), Dt = c.text.hidden_size;
            std::vector<float> feats(std::size_t(n_tiles * tokens * Dt));
            std::vector<tile_trace> traces(static_cast<std::size_t>(n_tiles));
            nn::context ctx;
            ctx.pool = &pool;
            ctx.kt = kt;
            vision_workspace s;
            // Every tile that is not all-zero padding, through the loaded model's modules.
            const model_weights& mw = *w.value();
            const std::int64_t tile_values = 3 * H * H, tile_pixels = H * H;
            result<std::int64_t> kept = std::int64_t(0);
            for (std::int64_t t = 0; t < n_tiles; ++t) {
                if (is_padding_tile(pixels.data() + t * tile_values, H, H)) continue;
                vision_trace vt;
                const vision_image img{pixels.data() + t * tile_values, H, H, mask.data() + t * tile_pixels};
                REQUIRE(encode_tile(ctx, *mw.encoder, *mw.projector, img, feats.data() + kept.value() * tokens * Dt, s,
                                    &vt).is_ok());
                traces[std::size_t(kept.value())].take(vt);
                kept = kept.value() + 1;
            }

            // Integers: exact.
            std::vector<std::int64_t> gmask, gpos;
            REQUIRE(read_as_i64(*g.find("patch_attention_mask"), gmask).is_ok());
            REQUIRE(read_as_i64(*g.find("vision_position_ids"), gpos).is_ok());
            REQUIRE(std::int64_t(gmask.size()) == kept.value() * c.vision.num_patches());
            std::vector<std::int64_t> mine_mask, mine_pos;
            for (std::int64_t t = 0; t < kept.value(); ++t) {
                const tile_trace& tr = traces[std::size_t(t)];
                mine_mask.insert(mine_mask.end(), tr.patch_attention_mask.begin(), tr.patch_attention_mask.end());
                mine_pos.insert(mine_pos.end(), tr.position_ids.begin(), tr.position_ids.end());
            }
            CHECK(mine_mask == gmask);
            CHECK(mine_pos == gpos);

            // Floats: within each tensor's suggested_atol (10x the reference's own f32-vs-f64 error).
            auto compare = [&](const std::string& tname, auto&& get) {
                const st_tensor* gt = g.find(tname);
                if (!gt) return;
                std::vector<float> want;
                REQUIRE(read_as_f32(*gt, want).is_ok());
                std::vector<float> mine;
                for (std::int64_t t = 0; t < kept.value(); ++t) {
                    const std::vector<float>& v = get(t);
                    mine.insert(mine.end(), v.begin(), v.end());
                }
                REQUIRE(mine.size() == want.size());
                const double err = max_abs_diff(mine, want);
                const double atol = atol_of(gj.value(), tname);
                REQUIRE(atol > 0);
                std::printf("golden %-34s %-26s max_abs_err %.3g (atol %.3g)\n", label.c_str(), tname.c_str(), err, atol);
                INFO(label << " " << tname << " max abs error " << err << " atol " << atol);
                CHECK(err <= atol);
            };
            compare("vision_embeddings", [&](std::int64_t t) -> const std::vector<float>& { return traces[std::size_t(t)].embeddings; });
            for (std::int64_t l = 0; l < c.vision.num_hidden_layers; ++l)
                compare("vision_layer" + std::to_string(l) + "_output",
                        [&](std::int64_t t) -> const std::vector<float>& { return traces[std::size_t(t)].layer_outputs[std::size_t(l)]; });
            compare("vision_last_hidden_state",
                    [&](std::int64_t t) -> const std::vector<float>& { return traces[std::size_t(t)].last_hidden_state; });
            compare("pixel_shuffle_output",
                    [&](std::int64_t t) -> const std::vector<float>& { return traces[std::size_t(t)].pixel_shuffle; });
            std::vector<std::vector<float>> per_tile(std::size_t(kept.value()));
            for (std::int64_t t = 0; t < kept.value(); ++t)
                per_tile[std::size_t(t)].assign(feats.begin() + t * tokens * Dt, feats.begin() + (t + 1) * tokens * Dt);
            compare("image_features", [&](std::int64_t t) -> const std::vector<float>& { return per_tile[std::size_t(t)]; });
            }
        }
    }
}

TEST_CASE("siglip: position ids match every case of _unit/position_ids.json", "[siglip][golden]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/_unit/position_ids.json";
    SMOLVLM_REQUIRE_SHARED(path);
    json_options jo;
    auto j = parse_json(smolvlm_test::read_file(path), jo);
    REQUIRE(j.is_ok());
    const json_value* cases = j.value().find("cases");
    REQUIRE(cases);
    REQUIRE(cases->is_array());
    int checked = 0;
    for (const json_value& cs : cases->items()) {
        const std::int64_t N = cs.find("N")->as_int(), nh = cs.find("nb_h")->as_int(), nw = cs.find("nb_w")->as_int();
        std::vector<std::uint8_t> mask(std::size_t(N * N), 0);
        for (std::int64_t r = 0; r < nh; ++r)
            for (std::int64_t c = 0; c < nw; ++c) mask[std::size_t(r * N + c)] = 1;
        std::vector<std::int64_t> ids(std::size_t(N * N), -1);
        REQUIRE(vision_position_ids(mask.data(), N, ids.data()).is_ok());
        std::vector<std::int64_t> got, want;
        for (std::int64_t t = 0; t < N * N; ++t) {
            if (mask[std::size_t(t)])
                got.push_back(ids[std::size_t(t)]);
            else
                CHECK(ids[std::size_t(t)] == 0);
        }
        for (const json_value& v : cs.find("ids_valid")->items()) want.push_back(v.as_int());
        INFO("N " << N << " nb_h " << nh << " nb_w " << nw);
        CHECK(got == want);
        ++checked;
    }
    CHECK(checked == 278);
    // Full tiles: identity exactly where the reference says so (the float32 arange quirk).
    const json_value* full = j.value().find("full_tile_is_identity");
    REQUIRE(full);
    int full_checked = 0;
    for (const auto& kv : full->members()) {
        const std::int64_t N = std::stoll(kv.first);
        std::vector<std::uint8_t> mask(std::size_t(N * N), 1);
        std::vector<std::int64_t> ids(std::size_t(N * N), -1);
        REQUIRE(vision_position_ids(mask.data(), N, ids.data()).is_ok());
        bool identity = true;
        for (std::int64_t i = 0; i < N * N; ++i) identity = identity && ids[std::size_t(i)] == i;
        INFO("N " << N);
        CHECK(identity == kv.second.as_bool());
        ++full_checked;
    }
    CHECK(full_checked == 64);
}

}  // namespace smolvlm_test_model_siglip_cases
