// nn/rope.hpp: the RoPE scaling variants against their formulas in double precision (the
// f32 step-by-step values may differ from the exact ones by the f32 rounding of the
// exponent, amplified by ln(theta): a few 1e-6 relative), YaRN against the inv_freq
// transformers computed for the smollm3_f32_think fixture, and apply() against a plain
// reference loop (bit for bit).
#include <smolvlm/io/json.hpp>
#include <smolvlm/nn/rope.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_nn_rope_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using nn::rope_scaling;
using nn::rope_type;

namespace {

const double k_pi = 3.14159265358979323846;

// The formulas of README-smollm3.md / transformers' _compute_*_parameters, in double.
std::vector<double> reference_inv_freq(std::int64_t hd, double theta, const rope_scaling& sc, std::int64_t max_pos,
                                       std::int64_t seq_len) {
    const std::int64_t half = hd / 2;
    const double d = double(hd);
    double base = theta;
    if (sc.type == rope_type::dynamic && seq_len > max_pos)
        base = theta * std::pow(sc.factor * double(seq_len) / double(max_pos) - (sc.factor - 1.0), d / (d - 2.0));
    std::vector<double> inv(static_cast<std::size_t>(half));
    for (std::int64_t i = 0; i < half; ++i) inv[std::size_t(i)] = std::pow(base, -2.0 * double(i) / d);
    if (sc.type == rope_type::linear)
        for (double& v : inv) v /= sc.factor;
    if (sc.type == rope_type::yarn) {
        const double orig = double(sc.original_max_position_embeddings);
        auto corr = [&](double r) { return d * std::log(orig / (r * 2.0 * k_pi)) / (2.0 * std::log(theta)); };
        double low = corr(sc.beta_fast), high = corr(sc.beta_slow);
        if (sc.truncate) {
            low = std::floor(low);
            high = std::ceil(high);
        }
        low = std::max(low, 0.0);
        high = std::min(high, d - 1.0);
        if (low == high) high += 0.001;
        for (std::int64_t i = 0; i < half; ++i) {
            const double ramp = std::min(1.0, std::max(0.0, (double(i) - low) / (high - low)));
            double& v = inv[std::size_t(i)];
            v = v / sc.factor * ramp + v * (1.0 - ramp);
        }
    }
    if (sc.type == rope_type::llama3) {
        const double orig = double(sc.original_max_position_embeddings);
        const double lw = orig / sc.low_freq_factor, hw = orig / sc.high_freq_factor;
        for (double& v : inv) {
            const double wl = 2.0 * k_pi / v;
            if (wl < hw) continue;
            if (wl > lw) {
                v /= sc.factor;
                continue;
            }
            const double s = (orig / wl - sc.low_freq_factor) / (sc.high_freq_factor - sc.low_freq_factor);
            v = (1.0 - s) * v / sc.factor + s * v;
        }
    }
    return inv;
}

double max_rel_err(const std::vector<float>& got, const std::vector<double>& want) {
    double m = 0.0;
    for (std::size_t i = 0; i < got.size(); ++i) m = std::max(m, std::fabs(double(got[i]) - want[i]) / want[i]);
    return m;
}

rope_scaling yarn(double factor, std::int64_t orig) {
    rope_scaling s;
    s.type = rope_type::yarn;
    s.factor = factor;
    s.original_max_position_embeddings = orig;
    return s;
}

}  // namespace

TEST_CASE("rope: every scaling type matches its formula in double precision", "[nn][rope]") {
    struct variant {
        const char* name;
        rope_scaling sc;
    };
    std::vector<variant> vs;
    vs.push_back({"default", rope_scaling()});
    rope_scaling lin;
    lin.type = rope_type::linear;
    lin.factor = 4.0;
    vs.push_back({"linear 4", lin});
    for (double f : {2.0, 4.0, 8.0, 1.5})
        for (std::int64_t orig : {128, 4096, 32768, 65536}) vs.push_back({"yarn", yarn(f, orig)});
    rope_scaling y = yarn(4.0, 8192);
    y.beta_fast = 16.0;
    y.beta_slow = 2.0;
    vs.push_back({"yarn betas", y});
    y = yarn(4.0, 8192);
    y.truncate = false;
    vs.push_back({"yarn no truncate", y});
    y = yarn(1.0, 4096);  // factor 1: interpolation = extrapolation
    vs.push_back({"yarn factor 1", y});
    rope_scaling l3;
    l3.type = rope_type::llama3;
    l3.factor = 8.0;
    l3.low_freq_factor = 1.0;
    l3.high_freq_factor = 4.0;
    l3.original_max_position_embeddings = 8192;
    vs.push_back({"llama3", l3});
    l3.factor = 32.0;
    l3.original_max_position_embeddings = 1024;
    vs.push_back({"llama3 32", l3});
    for (const variant& v : vs)
        for (std::int64_t hd : {16, 64, 128})
            for (double theta : {10000.0, 500000.0, 5000000.0}) {
                INFO(v.name << " factor " << v.sc.factor << " orig " << v.sc.original_max_position_embeddings << " hd "
                            << hd << " theta " << theta);
                nn::rope_table t(hd, theta, v.sc, 65536);
                const auto want = reference_inv_freq(hd, theta, v.sc, 65536, 0);
                CHECK(max_rel_err(t.inv_freq, want) < 4e-6);
                CHECK_FALSE(t.varies_with_length());
            }
}

TEST_CASE("rope: dynamic NTK changes theta only past max_position_embeddings", "[nn][rope]") {
    rope_scaling dyn;
    dyn.type = rope_type::dynamic;
    dyn.factor = 2.0;
    for (std::int64_t hd : {16, 128}) {
        nn::rope_table t(hd, 10000.0, dyn, 2048);
        CHECK(t.varies_with_length());
        const nn::rope_table plain(hd, 10000.0);
        CHECK(t.inv_freq == plain.inv_freq);
        std::vector<float> f(std::size_t(hd / 2));
        t.frequencies_for(2048, f.data());
        CHECK(f == plain.inv_freq);
        for (std::int64_t len : {2049, 3000, 8192, 100000}) {
            INFO("hd " << hd << " seq_len " << len);
            t.frequencies_for(len, f.data());
            CHECK(max_rel_err(f, reference_inv_freq(hd, 10000.0, dyn, 2048, len)) < 4e-6);
            CHECK(f[1] < plain.inv_freq[1]);  // a larger theta: lower frequencies
        }
    }
}

TEST_CASE("rope: YaRN attention factor (mscale) as transformers derives it", "[nn][rope]") {
    CHECK(nn::rope_attention_scaling(rope_scaling()) == 1.0);
    CHECK(nn::rope_attention_scaling(yarn(2.0, 128)) == Approx(0.1 * std::log(2.0) + 1.0).epsilon(1e-15));
    CHECK(nn::rope_attention_scaling(yarn(1.0, 128)) == 1.0);
    CHECK(nn::rope_attention_scaling(yarn(0.5, 128)) == 1.0);
    rope_scaling y = yarn(4.0, 4096);
    y.mscale = 0.707;
    y.mscale_all_dim = 0.707;
    CHECK(nn::rope_attention_scaling(y) == 1.0);  // DeepSeek's pair cancels
    y.mscale = 1.0;
    y.mscale_all_dim = 0.5;
    CHECK(nn::rope_attention_scaling(y) == Approx((0.1 * std::log(4.0) + 1.0) / (0.05 * std::log(4.0) + 1.0)));
    y.mscale_all_dim = 0.0;  // only one of them: the plain formula
    CHECK(nn::rope_attention_scaling(y) == Approx(0.1 * std::log(4.0) + 1.0));
    y.has_attention_factor = true;
    y.attention_factor = 0.8;
    CHECK(nn::rope_attention_scaling(y) == 0.8);
    rope_scaling lin;
    lin.type = rope_type::linear;
    lin.factor = 8.0;
    CHECK(nn::rope_attention_scaling(lin) == 1.0);
}

TEST_CASE("rope: YaRN inv_freq equals transformers' on the smollm3_f32_think fixture", "[nn][rope][golden]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/smollm3_f32_think/golden.json";
    SMOLVLM_REQUIRE_SHARED(path);
    auto g = parse_json(smolvlm_test::read_file(path));
    REQUIRE(g.is_ok());
    const json_value* eff = g->find("rope_scaling_effect");
    REQUIRE(eff);
    const json_value& want = *eff->find("inv_freq");
    nn::rope_table t(16, 5000000.0, yarn(2.0, 128), 256);
    REQUIRE(t.inv_freq.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("i " << i);
        CHECK(t.inv_freq[i] == float(want[i].as_number()));  // transformers' f32 values, exactly
    }
    CHECK(double(t.attention_scaling) == Approx(eff->find("attention_scaling")->as_number()).epsilon(1e-7));
    const nn::rope_table plain(16, 5000000.0);
    const json_value& unscaled = *eff->find("inv_freq_rope_scaling_null");
    for (std::size_t i = 0; i < unscaled.size(); ++i) CHECK(plain.inv_freq[i] == float(unscaled[i].as_number()));
}

TEST_CASE("rope: apply() rotates like the plain loop, bit for bit, scaling cos and sin", "[nn][rope]") {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (std::int64_t hd : {4, 16, 64, 128})
        for (int variant = 0; variant < 2; ++variant) {
            const nn::rope_table t = variant == 0 ? nn::rope_table(hd, 10000.0) : nn::rope_table(hd, 5e6, yarn(4.0, 256), 1024);
            const std::int64_t n = 7, heads = 3, pos0 = 1000;
            std::vector<float> x(std::size_t(n * heads * hd));
            for (float& v : x) v = nd(rng);
            std::vector<float> ref = x;
            const std::int64_t half = hd / 2;
            const float sc = t.attention_scaling;
            for (std::int64_t tk = 0; tk < n; ++tk)
                for (std::int64_t h = 0; h < heads; ++h) {
                    float* v = ref.data() + (tk * heads + h) * hd;
                    for (std::int64_t i = 0; i < half; ++i) {
                        const float ang = float(pos0 + tk) * t.inv_freq[std::size_t(i)];
                        const float c = float(std::cos(double(ang))) * sc, s = float(std::sin(double(ang))) * sc;
                        const float a = v[i], b = v[i + half];
                        v[i] = a * c - b * s;
                        v[i + half] = b * c + a * s;
                    }
                }
            t.apply(x.data(), n, heads, pos0);
            CHECK(x == ref);
        }
    // With scaling 1 (every type but YaRN), position 0 leaves x unchanged.
    const nn::rope_table t(8, 10000.0);
    std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8}, y = x;
    t.apply(x.data(), 1, 1, 0);
    CHECK(x == y);
}

}  // namespace smolvlm_test_nn_rope_cases
