// Tests for model/pixtral.hpp (the Pixtral vision encoder), model/patch_merger.hpp (the
// Mistral 3 projector) and model/mistral3.hpp (the family: config, tensor-name table).
//
// Stand-alone (random weights built here): the encoder against a naive double-precision
// reference (2D RoPE, block-diagonal attention, MLP), several images in one sequence vs
// one at a time, the patch merger's channel-major unfold against a direct loop, the
// workspace of a 1540 x 1540 image computed up front, config errors.
// With ../shared: both mistral3 fixtures, stage by stage against the goldens
// (vision_patch_embeds ... image_features) within suggested_atol.
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/core/cpu.hpp>
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/model/families.hpp>
#include <smolvlm/model/mistral3.hpp>
#include <smolvlm/model/patch_merger.hpp>
#include <smolvlm/model/pixtral.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace smolvlm_test_model_pixtral_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    float e = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) e = std::max(e, std::fabs(a[i] - b[i]));
    return e;
}

nn::context make_ctx(thread_pool* pool = nullptr) {
    nn::context ctx;
    ctx.pool = pool;
    ctx.kt = kernels::select_kernels(detect_cpu());
    return ctx;
}

// ---- a random tower built in the test ----------------------------------------------------

struct random_tower {
    vision_config cfg;
    std::vector<std::vector<float>> store;  // keeps every matrix alive
    std::unique_ptr<pixtral_encoder> enc;

    kernels::weight_matrix mat(std::mt19937& rng, std::int64_t r, std::int64_t c, float scale) {
        std::uniform_real_distribution<float> u(-scale, scale);
        store.emplace_back(std::size_t(r * c));
        for (float& v : store.back()) v = u(rng);
        return kernels::weight_matrix{dtype::f32, store.back().data(), nullptr, r, c};
    }
    static std::vector<float> norm(std::mt19937& rng, std::int64_t n) {
        std::uniform_real_distribution<float> u(0.8f, 1.2f);
        std::vector<float> v(static_cast<std::size_t>(n));
        for (float& x : v) x = u(rng);
        return v;
    }

    explicit random_tower(const std::string& act = "silu", std::int64_t layers = 2, std::uint32_t seed = 7) {
        cfg.hidden_size = 32;
        cfg.intermediate_size = 48;
        cfg.num_hidden_layers = layers;
        cfg.num_attention_heads = 2;
        cfg.patch_size = 4;
        cfg.image_size = 64;
        cfg.hidden_act = act;
        store.reserve(64);
        enc.reset(new pixtral_encoder(cfg, 10000.0, -1, "t."));
        std::mt19937 rng(seed);
        pixtral_weights& w = enc->weights();
        const std::int64_t D = cfg.hidden_size, F = cfg.intermediate_size, P = 3 * 4 * 4;
        w.patch_conv = mat(rng, D, P, 0.3f);
        w.ln_pre = norm(rng, D);
        w.layers.resize(std::size_t(layers));
        for (auto& L : w.layers) {
            L.attn_norm = norm(rng, D);
            L.ffn_norm = norm(rng, D);
            L.q = mat(rng, D, D, 0.3f);
            L.k = mat(rng, D, D, 0.3f);
            L.v = mat(rng, D, D, 0.3f);
            L.o = mat(rng, D, D, 0.3f);
            L.gate = mat(rng, F, D, 0.3f);
            L.up = mat(rng, F, D, 0.3f);
            L.down = mat(rng, D, F, 0.2f);
        }
    }
};

std::vector<float> random_pixels(std::mt19937& rng, std::int64_t H, std::int64_t W) {
    std::uniform_real_distribution<float> u(-1.5f, 1.5f);
    std::vector<float> v(std::size_t(3 * H * W));
    for (float& x : v) x = u(rng);
    return v;
}

std::vector<double> dmat(const kernels::weight_matrix& m, const std::vector<double>& x, std::int64_t n) {
    const float* w = static_cast<const float*>(m.data);
    std::vector<double> y(std::size_t(n * m.rows), 0.0);
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < m.rows; ++r) {
            double s = 0.0;
            for (std::int64_t c = 0; c < m.cols; ++c) s += double(w[r * m.cols + c]) * x[std::size_t(t * m.cols + c)];
            y[std::size_t(t * m.rows + r)] = s;
        }
    return y;
}
std::vector<double> drms(const std::vector<double>& x, const std::vector<float>& w, std::int64_t n, std::int64_t D) {
    std::vector<double> y(x.size());
    for (std::int64_t t = 0; t < n; ++t) {
        double ss = 0.0;
        for (std::int64_t i = 0; i < D; ++i) ss += x[std::size_t(t * D + i)] * x[std::size_t(t * D + i)];
        const double inv = 1.0 / std::sqrt(ss / double(D) + 1e-5);
        for (std::int64_t i = 0; i < D; ++i) y[std::size_t(t * D + i)] = double(w[std::size_t(i)]) * x[std::size_t(t * D + i)] * inv;
    }
    return y;
}

// The whole tower in double, straight from the reference's formulas: one image.
std::vector<double> naive_tower(const random_tower& T, const std::vector<float>& px, std::int64_t H, std::int64_t W) {
    const vision_config& c = T.cfg;
    const pixtral_weights& w = T.enc->weights();
    const std::int64_t p = c.patch_size, rows = H / p, cols = W / p, n = rows * cols, D = c.hidden_size;
    const std::int64_t heads = c.num_attention_heads, hd = D / heads, F = c.intermediate_size;
    std::vector<double> patches(std::size_t(n * 3 * p * p));
    for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
            for (std::int64_t ch = 0; ch < 3; ++ch)
                for (std::int64_t y = 0; y < p; ++y)
                    for (std::int64_t xx = 0; xx < p; ++xx)
                        patches[std::size_t(((i * cols + j) * 3 + ch) * p * p + y * p + xx)] =
                            px[std::size_t((ch * H + i * p + y) * W + j * p + xx)];
    std::vector<double> x = drms(dmat(w.patch_conv, patches, n), w.ln_pre, n, D);
    // 2D RoPE angles: inv_freq[j] = 10000^(-2j/hd); rows use the even j, columns the odd j.
    auto angle = [&](std::int64_t t, std::int64_t i) {
        const std::int64_t q = hd / 4;
        const std::int64_t j = i < q ? 2 * i : 2 * (i - q) + 1;
        const double f = 1.0 / std::pow(10000.0, double(2 * j) / double(hd));
        return double(i < q ? t / cols : t % cols) * f;
    };
    auto rope = [&](std::vector<double>& v) {
        for (std::int64_t t = 0; t < n; ++t)
            for (std::int64_t h = 0; h < heads; ++h) {
                double* r = v.data() + t * D + h * hd;
                for (std::int64_t i = 0; i < hd / 2; ++i) {
                    const double a = r[i], b = r[i + hd / 2], an = angle(t, i);
                    r[i] = a * std::cos(an) - b * std::sin(an);
                    r[i + hd / 2] = b * std::cos(an) + a * std::sin(an);
                }
            }
    };
    for (const pixtral_layer_weights& L : w.layers) {
        std::vector<double> h = drms(x, L.attn_norm, n, D);
        std::vector<double> q = dmat(L.q, h, n), k = dmat(L.k, h, n), v = dmat(L.v, h, n);
        rope(q);
        rope(k);
        std::vector<double> o(static_cast<std::size_t>(n * D), 0.0), s(static_cast<std::size_t>(n));
        for (std::int64_t hh = 0; hh < heads; ++hh)
            for (std::int64_t t = 0; t < n; ++t) {
                double mx = -1e300, sum = 0.0;
                for (std::int64_t u = 0; u < n; ++u) {
                    double d = 0.0;
                    for (std::int64_t i = 0; i < hd; ++i) d += q[std::size_t(t * D + hh * hd + i)] * k[std::size_t(u * D + hh * hd + i)];
                    s[std::size_t(u)] = d / std::sqrt(double(hd));
                    mx = std::max(mx, s[std::size_t(u)]);
                }
                for (std::int64_t u = 0; u < n; ++u) sum += (s[std::size_t(u)] = std::exp(s[std::size_t(u)] - mx));
                for (std::int64_t i = 0; i < hd; ++i) {
                    double acc = 0.0;
                    for (std::int64_t u = 0; u < n; ++u) acc += s[std::size_t(u)] * v[std::size_t(u * D + hh * hd + i)];
                    o[std::size_t(t * D + hh * hd + i)] = acc / sum;
                }
            }
        std::vector<double> a = dmat(L.o, o, n);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] += a[i];
        h = drms(x, L.ffn_norm, n, D);
        std::vector<double> g = dmat(L.gate, h, n), u = dmat(L.up, h, n);
        for (std::size_t i = 0; i < g.size(); ++i) {
            const double z = g[i];
            const double act = T.cfg.hidden_act == "gelu" ? 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0))) : z / (1.0 + std::exp(-z));
            g[i] = act * u[i];
        }
        std::vector<double> m = dmat(L.down, g, n);
        (void)F;
        for (std::size_t i = 0; i < x.size(); ++i) x[i] += m[i];
    }
    return x;
}

float max_err(const std::vector<float>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return INFINITY;
    double e = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) e = std::max(e, std::fabs(double(a[i]) - b[i]));
    return float(e);
}

}  // namespace

TEST_CASE("pixtral: one image against a naive double-precision tower", "[model][pixtral]") {
    for (const char* act : {"silu", "gelu"}) {
        random_tower T(act);
        std::mt19937 rng(11);
        const std::int64_t H = 24, W = 36;  // 6 x 9 patches
        std::vector<float> px = random_pixels(rng, H, W);
        thread_pool pool(2);
        for (thread_pool* p : {(thread_pool*)nullptr, &pool}) {
            nn::context ctx = make_ctx(p);
            std::vector<float> out(std::size_t(6 * 9 * 32));
            vision_workspace ws;
            vision_trace trace;
            REQUIRE(T.enc->encode(ctx, vision_image{px.data(), H, W, nullptr}, out.data(), ws, &trace).is_ok());
            const std::vector<double> ref = naive_tower(T, px, H, W);
            INFO("act " << act);
            CHECK(max_err(out, ref) < 2e-4f);
            CHECK(trace.find("vision_patch_embeds"));
            CHECK(trace.find("vision_ln_pre"));
            CHECK(trace.find("vision_layer1_output"));
            CHECK(trace.floats("vision_last_hidden_state") == out);
        }
    }
}

TEST_CASE("pixtral: several images in one sequence equal one image at a time", "[model][pixtral]") {
    random_tower T;
    std::mt19937 rng(5);
    // Three images of different sizes (block-diagonal attention: none sees another).
    const std::int64_t sizes[3][2] = {{24, 36}, {64, 8}, {16, 16}};
    std::vector<std::vector<float>> px;
    std::vector<vision_image> imgs;
    std::int64_t total = 0;
    for (const auto& s : sizes) {
        px.push_back(random_pixels(rng, s[0], s[1]));
        total += (s[0] / 4) * (s[1] / 4);
    }
    for (std::size_t i = 0; i < 3; ++i) imgs.push_back(vision_image{px[i].data(), sizes[i][0], sizes[i][1], nullptr});
    thread_pool pool(2);
    nn::context ctx = make_ctx(&pool);
    std::vector<float> seq(std::size_t(total * 32));
    vision_workspace ws;
    REQUIRE(T.enc->encode_batch(ctx, imgs.data(), imgs.size(), seq.data(), ws, nullptr).is_ok());
    std::int64_t off = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const std::int64_t n = (sizes[i][0] / 4) * (sizes[i][1] / 4);
        std::vector<float> one(std::size_t(n * 32));
        vision_workspace ws1;
        REQUIRE(T.enc->encode(ctx, imgs[i], one.data(), ws1, nullptr).is_ok());
        std::vector<float> part(seq.begin() + off * 32, seq.begin() + (off + n) * 32);
        INFO("image " << i);
        CHECK(max_abs_diff(part, one) < 1e-5f);
        const std::vector<double> ref = naive_tower(T, px[i], sizes[i][0], sizes[i][1]);
        CHECK(max_err(part, ref) < 2e-4f);
        off += n;
    }
}

TEST_CASE("pixtral: sizes it cannot take, workspace up front", "[model][pixtral]") {
    random_tower T;
    CHECK(!T.enc->grid_for(25, 24).is_ok());    // not a multiple of the patch
    CHECK(!T.enc->grid_for(68, 24).is_ok());    // larger than image_size (64, a multiple of the patch)
    CHECK(!T.enc->grid_for(0, 24).is_ok());
    REQUIRE(T.enc->grid_for(64, 8).is_ok());
    CHECK(T.enc->grid_for(64, 8).value().rows == 16);
    // A caller-bound workspace that is too small is refused, not overrun.
    std::mt19937 rng(3);
    std::vector<float> px = random_pixels(rng, 16, 16), out(16 * 32);
    nn::context ctx = make_ctx();
    aligned_ptr<std::uint8_t> mem = make_aligned<std::uint8_t>(4096);
    vision_workspace ws;
    REQUIRE(ws.bind(mem.get(), 4096).is_ok());
    CHECK(T.enc->encode(ctx, vision_image{px.data(), 16, 16, nullptr}, out.data(), ws, nullptr).code() == errc::no_memory);
    auto need = T.enc->workspace_bytes(16, 16, 1);
    REQUIRE(need.is_ok());
    aligned_ptr<std::uint8_t> big = make_aligned<std::uint8_t>(need.value());
    REQUIRE(ws.bind(big.get(), need.value()).is_ok());
    CHECK(T.enc->encode(ctx, vision_image{px.data(), 16, 16, nullptr}, out.data(), ws, nullptr).is_ok());

    // Mistral Small 3.1 at 1540 x 1540 (12,100 patches): computable without weights, and
    // bounded (no n x n matrix: well under 1 GiB on 2 threads).
    vision_config v;
    v.hidden_size = 1024;
    v.intermediate_size = 4096;
    v.num_hidden_layers = 24;
    v.num_attention_heads = 16;
    v.patch_size = 14;
    v.image_size = 1540;
    v.hidden_act = "silu";
    pixtral_encoder big_enc(v, 10000.0, -1, "vision_tower.", 2);
    auto g = big_enc.grid_for(1540, 1540);
    REQUIRE(g.is_ok());
    CHECK(g.value().count() == 12100);
    auto bytes = big_enc.workspace_bytes(1540, 1540, 2);
    REQUIRE(bytes.is_ok());
    WARN("pixtral workspace at 1540 x 1540, 2 threads: " << bytes.value() / 1048576.0 << " MiB");
    CHECK(bytes.value() < std::size_t(512) << 20);
    CHECK(bytes.value() > std::size_t(12100) * 1024 * 4 * 4);  // at least q, k, v, h
}

TEST_CASE("patch merger: channel-major unfold and the projector", "[model][pixtral]") {
    // unfold against a direct statement of torch.nn.functional.unfold on the (D, h, w) map.
    const std::int64_t rows = 4, cols = 6, D = 3, s = 2;
    std::vector<float> x(std::size_t(rows * cols * D));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);
    std::vector<float> y(x.size());
    nn::context ctx = make_ctx();
    patch_unfold(ctx, x.data(), rows, cols, D, s, y.data());
    // unfold output column L = (i, j) row-major, row index = d * s*s + a * s + b.
    for (std::int64_t i = 0; i < rows / s; ++i)
        for (std::int64_t j = 0; j < cols / s; ++j)
            for (std::int64_t d = 0; d < D; ++d)
                for (std::int64_t a = 0; a < s; ++a)
                    for (std::int64_t b = 0; b < s; ++b) {
                        const float want = x[std::size_t(((i * s + a) * cols + (j * s + b)) * D + d)];
                        const float got = y[std::size_t((i * (cols / s) + j) * D * s * s + d * s * s + a * s + b)];
                        REQUIRE(got == want);
                    }
    patch_merger_projector pm(8, 2, 16, 1e-5f, projector_act::gelu_erf, false);
    CHECK(!pm.output_rows(vision_grid{3, 4}).is_ok());
    CHECK(pm.output_rows(vision_grid{4, 6}).value() == 6);
}

TEST_CASE("mistral3 config: defaults, errors for inconsistent sizes", "[model][pixtral][config]") {
    const std::string base_text = R"("text_config":{"model_type":"mistral","hidden_size":64,"head_dim":32,"num_attention_heads":4,
        "num_key_value_heads":2,"num_hidden_layers":3,"intermediate_size":160,"vocab_size":4000,"rope_theta":1e9,
        "sliding_window":null,"rms_norm_eps":1e-5})";
    auto cfg = [&](const std::string& top, const std::string& vision) {
        return "{\"model_type\":\"mistral3\"," + top + base_text + ",\"vision_config\":{" + vision + "}}";
    };
    const std::string good_v = R"("hidden_size":64,"num_attention_heads":2,"head_dim":32,"intermediate_size":128,
        "num_hidden_layers":2,"patch_size":14,"image_size":140,"hidden_act":"silu","rope_theta":10000.0)";
    auto ok = parse_model_config(cfg("\"image_token_index\":10,", good_v));
    REQUIRE(ok.is_ok());
    const model_config& c = ok.value();
    CHECK(c.arch == model_arch::mistral3);
    CHECK(c.text.head_dim == 32);
    CHECK(c.text.num_attention_heads * c.text.head_dim != c.text.hidden_size);
    CHECK(c.text.rope_theta == 1e9);
    CHECK(c.text.sliding_window == 0);
    CHECK(c.tie_word_embeddings);  // Mistral3Config default; the checkpoint's lm_head wins when present
    CHECK(c.mistral3.spatial_merge_size == 2);
    CHECK(c.image_token_id == 10);

    // No text_config / vision_config at all: the Mistral Small 3.1 shapes.
    auto full = parse_model_config(R"({"model_type":"mistral3"})");
    REQUIRE(full.is_ok());
    CHECK(full->text.hidden_size == 5120);
    CHECK(full->text.num_hidden_layers == 40);
    CHECK(full->text.num_key_value_heads == 8);
    CHECK(full->text.head_dim == 128);
    CHECK(full->text.vocab_size == 131072);
    CHECK(full->vision.image_size == 1540);
    CHECK(full->vision.patch_size == 14);
    CHECK(full->vision.num_hidden_layers == 24);

    // Inconsistent sizes: one clear error each.
    CHECK(parse_model_config(cfg("", R"("hidden_size":64,"num_attention_heads":3)")).error().code() == errc::bad_format);
    CHECK(parse_model_config(cfg("", R"("hidden_size":64,"num_attention_heads":2,"head_dim":48)")).error().code() == errc::bad_format);
    CHECK(parse_model_config(cfg("", R"("hidden_size":36,"num_attention_heads":2)")).error().code() == errc::bad_format);  // head 18: not /4
    CHECK(parse_model_config(cfg("\"image_token_index\":4000,", good_v)).error().code() == errc::bad_format);
    CHECK(parse_model_config(cfg("\"vision_feature_layer\":-4,", good_v)).error().code() == errc::bad_format);
    CHECK(parse_model_config(cfg("\"vision_feature_layer\":[-1,-2],", good_v)).error().code() == errc::unsupported);
    CHECK(parse_model_config(cfg("\"projector_hidden_act\":\"relu6\",", good_v)).error().code() == errc::unsupported);
    CHECK(parse_model_config(cfg("", R"("hidden_size":64,"num_attention_heads":2,"patch_size":200,"image_size":140)")).error().code() ==
          errc::bad_format);
    auto r = parse_model_config(cfg("", R"("hidden_size":64,"num_attention_heads":2,"head_dim":48)"));
    INFO(r.error().message());
    CHECK(std::string(r.error().message()).find("head_dim") != std::string::npos);
}

// ---- the fixtures ----------------------------------------------------------------------------

TEST_CASE("mistral3 fixtures: encoder and projector stage by stage", "[model][pixtral][golden]") {
    for (const char* name : {"mistral3_bf16_one_image", "mistral3_f32_two_images"}) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO("fixture " << name);
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());
        auto cfg = load_model_config(dir + "/model");
        REQUIRE(cfg.is_ok());
        auto set = safetensors_set::open_dir(dir + "/model");
        REQUIRE(set.is_ok());
        auto w = bind_weights(cfg.value(), set.value());
        REQUIRE(w.is_ok());
        auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
        REQUIRE(g.is_ok());
        auto golden = [&](const std::string& n) {
            std::vector<float> v;
            const st_tensor* t = g->find(n);
            if (t) REQUIRE(read_as_f32(*t, v).is_ok());
            return v;
        };
        auto atol = [&](const std::string& n) { return meta->find("tensors")->find(n)->find("suggested_atol")->as_number(); };
        const json_value& images = *meta->find("images");
        thread_pool pool(2);
        nn::context ctx = make_ctx(&pool);
        const auto& enc = static_cast<const pixtral_encoder&>(*w.value()->encoder);
        const vision_projector& proj = *w.value()->projector;
        const std::int64_t D = enc.hidden_size(), Dt = proj.output_size();

        // Per image, and all images as one sequence: both give the golden stages (concatenated).
        std::vector<std::vector<float>> pixels;
        std::vector<vision_image> imgs;
        for (std::size_t k = 0; k < images.size(); ++k) {
            pixels.push_back(golden("pixel_values_" + std::to_string(k)));
            const json_value& sz = *images[k].find("resized_size_hw");
            imgs.push_back(vision_image{pixels.back().data(), sz[0].as_int(), sz[1].as_int(), nullptr});
        }
        std::map<std::string, std::vector<float>> cat;
        std::vector<float> features;
        for (std::size_t k = 0; k < imgs.size(); ++k) {
            auto grid = enc.grid_for(imgs[k].height, imgs[k].width);
            REQUIRE(grid.is_ok());
            std::vector<float> hidden(std::size_t(grid->count() * D));
            auto rows = proj.output_rows(grid.value());
            REQUIRE(rows.is_ok());
            std::vector<float> out(std::size_t(rows.value() * Dt));
            vision_workspace ws, pws;
            vision_trace tr;
            REQUIRE(enc.encode(ctx, imgs[k], hidden.data(), ws, &tr).is_ok());
            REQUIRE(proj.project(ctx, hidden.data(), grid.value(), out.data(), pws, &tr).is_ok());
            for (const auto& st : tr.stages) {
                std::vector<float> f = tr.floats(st.name);
                cat[st.name].insert(cat[st.name].end(), f.begin(), f.end());
            }
            features.insert(features.end(), out.begin(), out.end());
        }
        cat["image_features"] = features;
        std::vector<std::string> stages = {"vision_patch_embeds", "vision_ln_pre", "vision_last_hidden_state",
                                           "projector_norm", "patch_merger_output", "image_features"};
        for (std::int64_t l = 0; l < cfg->vision.num_hidden_layers; ++l) stages.push_back("vision_layer" + std::to_string(l) + "_output");
        for (const std::string& s : stages) {
            const float err = max_abs_diff(cat[s], golden(s));
            WARN(name << " " << s << ": max abs err " << err << " (atol " << atol(s) << ")");
            CHECK(err <= atol(s));
        }
        // One sequence, block-diagonal attention (the reference's own layout).
        std::int64_t total = 0;
        for (const auto& im : imgs) total += (im.height / 14) * (im.width / 14);
        std::vector<float> seq(std::size_t(total * D));
        vision_workspace ws;
        REQUIRE(enc.encode_batch(ctx, imgs.data(), imgs.size(), seq.data(), ws, nullptr).is_ok());
        const float err = max_abs_diff(seq, golden("vision_last_hidden_state"));
        WARN(name << " one sequence: max abs err " << err);
        CHECK(err <= atol("vision_last_hidden_state"));
    }
}

}  // namespace smolvlm_test_model_pixtral_cases
