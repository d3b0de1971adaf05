// Models from GGUF files (pipeline/loader.hpp load_gguf), against the shared goldens:
//   - quant_types/<T>.gguf, one small Llama model in every block type: with --dtype f32 (every
//     block dequantized bit-exactly) the raw prompt tokenizes to the golden ids, logits_last is
//     within the golden's suggested_atol and the 16 greedy ids are the golden's; with the
//     engine's own formats (native: the per-type repack/requantize choice) top-1 agreement
//     over the 16 teacher-forced steps and KL(ref || engine) at the last prompt position are
//     printed (WARN) and top-1 must hold on every step where the reference margin is >= 0.1.
//   - smollm3_bf16_chat/f32.gguf: the chat template text tokenizes to the golden ids,
//     logits_last within atol, greedy ids equal (exactly as from safetensors).
//   - GGUF and safetensors of the same model bind the same weights bit for bit (Q/K rows
//     un-permuted, tied head).
// The idefics3 pair runs end to end through smolvlm-cli in tests/golden/e2e_test.cpp.
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/loader.hpp>
#include <smolvlm/pipeline/session.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_gguf_model_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::string gguf_dir() { return smolvlm_test::fixtures_dir() + "/gguf"; }

struct golden_run {
    std::vector<std::int64_t> input_ids, generated_ids, topk_ids;
    std::vector<float> logits_last, topk_logits;
    double atol = 0.0;
};

golden_run read_golden(const std::string& json_path, const std::string& st_path) {
    golden_run g;
    auto meta = parse_json(smolvlm_test::read_file(json_path));
    REQUIRE(meta.is_ok());
    const json_value* t = meta->find_path("tensors.logits_last.suggested_atol");
    REQUIRE(t);
    g.atol = t->as_number();
    auto st = safetensors_file::open(st_path.c_str());
    REQUIRE(st.is_ok());
    REQUIRE(read_as_i64(*st->find("input_ids"), g.input_ids).is_ok());
    REQUIRE(read_as_i64(*st->find("generated_ids"), g.generated_ids).is_ok());
    REQUIRE(read_as_i64(*st->find("gen_topk_ids"), g.topk_ids).is_ok());
    REQUIRE(read_as_f32(*st->find("logits_last"), g.logits_last).is_ok());
    REQUIRE(read_as_f32(*st->find("gen_topk_logits"), g.topk_logits).is_ok());
    return g;
}

std::int64_t argmax(const std::vector<float>& v) {
    return std::int64_t(std::max_element(v.begin(), v.end()) - v.begin());
}

// KL(p || q) of softmax(a), softmax(b).
double kl(const std::vector<float>& a, const std::vector<float>& b) {
    const double ma = *std::max_element(a.begin(), a.end()), mb = *std::max_element(b.begin(), b.end());
    double za = 0, zb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        za += std::exp(a[i] - ma);
        zb += std::exp(b[i] - mb);
    }
    double k = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double lp = a[i] - ma - std::log(za), lq = b[i] - mb - std::log(zb);
        k += std::exp(lp) * (lp - lq);
    }
    return k;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    float e = 0;
    for (std::size_t i = 0; i < a.size(); ++i) e = std::max(e, std::fabs(a[i] - b[i]));
    return e;
}

ggml_type ggml_type_from_name(const std::string& n) {
    for (std::uint32_t v = 0; v < 64; ++v)
        if (ggml_traits(v).known() && n == ggml_traits(v).name) return static_cast<ggml_type>(v);
    return ggml_type::f32;
}

std::vector<token_id> to_ids(const std::vector<std::int64_t>& v) { return std::vector<token_id>(v.begin(), v.end()); }

// Greedy decoding with the KV cache: the first logits (after the prompt) and n ids.
void greedy(const model& m, const std::vector<token_id>& prompt, int n, std::vector<float>& first,
            std::vector<std::int64_t>& ids) {
    session s(m);
    REQUIRE(s.prefill(prompt).is_ok());
    first = s.logits();
    ids.clear();
    for (int i = 0; i < n; ++i) {
        const std::int64_t id = argmax(s.logits());
        ids.push_back(id);
        if (i + 1 < n) REQUIRE(s.push(token_id(id)).is_ok());
    }
}

}  // namespace

TEST_CASE("gguf: every block type, f32 on the dequantized weights matches the golden", "[gguf][golden]") {
    const std::string dir = gguf_dir() + "/quant_types";
    SMOLVLM_REQUIRE_SHARED(dir + "/Q4_K.gguf");
    const char* types[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
                           "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL"};
    std::string table =
        "type    --dtype f32: max|dlogit| (atol) ids | native: engine top-1 KL@last | q8: ... | q4: ...   (= exact repack, ~ requantized)\n";
    char line_buf[256];
    for (const char* T : types) {
        INFO("type " << T);
        const std::string file = std::string(T) == "F32" ? dir + "/f32.gguf" : dir + "/" + T + ".gguf";
        const golden_run g = read_golden(dir + "/" + T + ".golden.json", dir + "/" + T + ".golden.safetensors");
        model_options o;
        o.format = weight_format::f32;
        auto m = model::load_gguf(file, {}, o);
        INFO((m.is_ok() ? "" : m.error().message()));
        REQUIRE(m.is_ok());
        // Raw prompt: special tokens recognised, no template, no BOS.
        auto json = parse_json(smolvlm_test::read_file(dir + "/" + T + ".golden.json"));
        const std::string prompt = json->find("prompt_text")->as_string();
        const std::vector<token_id> ids = (*m)->tok().encode(prompt);
        CHECK(ids == to_ids(g.input_ids));
        std::vector<float> first;
        std::vector<std::int64_t> gen;
        greedy(**m, to_ids(g.input_ids), 16, first, gen);
        const float err = max_abs_diff(first, g.logits_last);
        CHECK(err <= g.atol);
        CHECK(gen == g.generated_ids);

        // The engine's own formats: teacher-forced top-1 over the 16 golden steps, KL at step 0.
        std::snprintf(line_buf, sizeof line_buf, "%-7s %10.3g (%.3g)  %s |", T, double(err), g.atol,
                      gen == g.generated_ids ? "16/16" : "DIFF");
        std::string line = line_buf;
        for (weight_format f : {weight_format::native, weight_format::q8, weight_format::q4}) {
            model_options fo;
            fo.format = f;
            auto mn = model::load_gguf(file, {}, fo);
            REQUIRE(mn.is_ok());
            session s(**mn);
            REQUIRE(s.prefill(to_ids(g.input_ids)).is_ok());
            const double k0 = kl(g.logits_last, s.logits());
            int agree = 0, must = 0, must_ok = 0;
            for (int step = 0; step < 16; ++step) {
                const std::int64_t ref = g.generated_ids[std::size_t(step)];
                const bool ok = argmax(s.logits()) == ref;
                agree += ok;
                const float margin = g.topk_logits[std::size_t(step) * 10] - g.topk_logits[std::size_t(step) * 10 + 1];
                if (margin >= 0.1f) {
                    ++must;
                    must_ok += ok;
                }
                if (step + 1 < 16) REQUIRE(s.push(token_id(ref)).is_ok());
            }
            // Exact repacks keep every clear step; requantized ones may lose one.
            const kernels::weight_matrix& q = (*mn)->weights().text.layers[0].q;
            const bool exact = q.type == dtype::f32 || q.type == dtype::f16 || q.type == dtype::bf16 ||
                               kernels::engine_holds_exactly(ggml_type_from_name(T), q.type) ||
                               kernels::repacks_with_offsets(ggml_type_from_name(T), q.type);
            INFO("format " << weight_format_name(f) << " engine " << dtype_name(q.type));
            if (f == weight_format::native) CHECK(must_ok >= must - (exact ? 0 : 1));
            std::snprintf(line_buf, sizeof line_buf, " %-4s%s %2d/16 %8.2g |", dtype_name(q.type), exact ? "=" : "~", agree, k0);
            line += line_buf;
        }
        table += line + "\n";
    }
    WARN(table);
}

TEST_CASE("gguf: smollm3_bf16_chat through GGUF gives the safetensors golden", "[gguf][golden]") {
    const std::string file = gguf_dir() + "/smollm3_bf16_chat/f32.gguf";
    const std::string gdir = smolvlm_test::fixtures_dir() + "/smollm3_bf16_chat";
    SMOLVLM_REQUIRE_SHARED(file);
    SMOLVLM_REQUIRE_SHARED(gdir + "/golden.json");
    auto meta = parse_json(smolvlm_test::read_file(gdir + "/golden.json"));
    REQUIRE(meta.is_ok());
    auto st = safetensors_file::open((gdir + "/golden.safetensors").c_str());
    REQUIRE(st.is_ok());
    std::vector<std::int64_t> in_ids, gen_ids;
    std::vector<float> logits;
    REQUIRE(read_as_i64(*st->find("input_ids"), in_ids).is_ok());
    REQUIRE(read_as_i64(*st->find("generated_ids"), gen_ids).is_ok());
    REQUIRE(read_as_f32(*st->find("logits_last"), logits).is_ok());
    const double atol = meta->find_path("tensors.logits_last.suggested_atol")->as_number();

    auto m = model::load_gguf(file);
    INFO((m.is_ok() ? "" : m.error().message()));
    REQUIRE(m.is_ok());
    CHECK((*m)->config().arch == model_arch::smollm3);
    CHECK((*m)->chat_kind() == chat_template_kind::smollm3);
    CHECK((*m)->tok().encode(meta->find("chat_template_text")->as_string()) == to_ids(in_ids));
    std::vector<float> first;
    std::vector<std::int64_t> gen;
    greedy(**m, to_ids(in_ids), 16, first, gen);
    const float err = max_abs_diff(first, logits);
    WARN("smollm3_bf16_chat via GGUF: logits_last max abs err " << err << " (atol " << atol << ")");
    CHECK(err <= atol);
    CHECK(gen == gen_ids);
}

TEST_CASE("gguf: the same weights as from safetensors (Q/K un-permuted, tied head)", "[gguf]") {
    const std::string text = gguf_dir() + "/idefics3_f32_rgb_split/text-f32.gguf";
    const std::string mmproj = gguf_dir() + "/idefics3_f32_rgb_split/mmproj-f32.gguf";
    const std::string hf = smolvlm_test::fixtures_dir() + "/idefics3_f32_rgb_split/model";
    SMOLVLM_REQUIRE_SHARED(text);
    SMOLVLM_REQUIRE_SHARED(hf + "/config.json");
    model_options o;
    o.format = weight_format::f32;
    auto a = model::load_gguf(text, mmproj, o);
    INFO((a.is_ok() ? "" : a.error().message()));
    REQUIRE(a.is_ok());
    auto b = model::load(hf, o);
    REQUIRE(b.is_ok());
    const model& ga = **a;
    const model& sb = **b;
    CHECK(ga.config().has_vision);
    CHECK(ga.config().image_token_id == sb.config().image_token_id);
    CHECK(ga.config().tie_word_embeddings == sb.config().tie_word_embeddings);
    CHECK(ga.chat_kind() == sb.chat_kind());
    CHECK(ga.image_config().image_seq_len == sb.image_config().image_seq_len);
    CHECK(ga.image_config().longest_edge == sb.image_config().longest_edge);
    CHECK(ga.tok().vocab_size() == sb.tok().vocab_size());
    const std::size_t n = ga.weights().slots.size();
    REQUIRE(n == sb.weights().slots.size());
    std::size_t compared = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const weight_slot& x = ga.weights().slots[i];
        const weight_slot& y = sb.weights().slots[i];
        INFO(x.name << " / " << x.gguf_name);
        REQUIRE(x.name == y.name);
        if (x.matrix) {
            const kernels::weight_matrix& p = *x.matrix;
            const kernels::weight_matrix& q = *y.matrix;
            REQUIRE(p.rows == q.rows);
            REQUIRE(p.cols == q.cols);
            REQUIRE(p.type == dtype::f32);
            REQUIRE(p.type == q.type);
            CHECK(std::memcmp(p.data, q.data, std::size_t(p.rows * p.cols) * 4) == 0);
        } else {
            CHECK(*x.vector == *y.vector);
        }
        ++compared;
    }
    CHECK(compared == n);
}

}  // namespace smolvlm_test_pipeline_gguf_model_cases
