// Decoder against the goldens of the text-only fixture (and the text half of the others),
// plus KV-cache equivalence on a random tiny model that needs no shared files.
#include <smolvlm/model/families.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/llama.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_model_llama_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

struct golden {
    safetensors_file file;
    json_value meta;
};

float max_abs_diff(const float* a, const float* b, std::size_t n) {
    float m = 0.0f;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

double atol_of(const json_value& meta, const char* tensor) {
    const json_value* t = meta.find("tensors");
    const json_value* e = t ? t->find(tensor) : nullptr;
    const json_value* a = e ? e->find("suggested_atol") : nullptr;
    return a ? a->as_number() : 0.0;
}

}  // namespace

TEST_CASE("llama decoder matches the text goldens stage by stage", "[model][llama][golden]") {
    for (const std::string& c : smolvlm_test::fixture_cases()) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
        INFO("fixture " << c);
        auto cfg = load_model_config(dir + "/model");
        REQUIRE(cfg.is_ok());
        auto st = safetensors_set::open_dir(dir + "/model");
        REQUIRE(st.is_ok());
        auto w = bind_weights(cfg.value(), st.value());
        REQUIRE(w.is_ok());
        auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
        REQUIRE(g.is_ok());
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());

        // Start from the golden inputs_embeds (image features already spliced in).
        const st_tensor* emb = g->find("inputs_embeds");
        REQUIRE(emb);
        std::vector<float> embeds;
        REQUIRE(read_as_f32(*emb, embeds).is_ok());
        const std::int64_t n = emb->shape[0];
        const text_config& tc = cfg->text;

        // Text-only fixture: the embedding lookup itself must reproduce inputs_embeds exactly.
        std::vector<std::int64_t> ids64;
        REQUIRE(read_as_i64(*g->find("input_ids"), ids64).is_ok());
        if (!cfg->has_vision || c == "idefics3_bf16_text_only") {
            std::vector<std::int32_t> ids(ids64.begin(), ids64.end());
            std::vector<float> mine(std::size_t(n * tc.hidden_size));
            REQUIRE(embed_tokens((*w)->text, ids.data(), n, mine.data()).is_ok());
            CHECK(max_abs_diff(mine.data(), embeds.data(), mine.size()) == 0.0f);
        }

        thread_pool pool(2);
        nn::context ctx;
        ctx.pool = &pool;
        kv_cache cache;
        REQUIRE(cache.init(tc, n + 16).is_ok());
        llama_scratch s;
        REQUIRE(s.init(tc, n).is_ok());
        llama_decoder dec(tc, (*w)->text);
        llama_trace trace;
        trace.capture_layers = true;
        REQUIRE(dec.forward(ctx, cache, s, embeds.data(), n, &trace).is_ok());

        for (std::size_t l = 0; l < trace.layer_outputs.size(); ++l) {
            const std::string name = "text_layer" + std::to_string(l) + "_output";
            const st_tensor* gt = g->find(name);
            if (!gt) continue;
            std::vector<float> ref;
            REQUIRE(read_as_f32(*gt, ref).is_ok());
            const float err = max_abs_diff(trace.layer_outputs[l].data(), ref.data(), ref.size());
            INFO(name << " max abs err " << err);
            CHECK(err <= atol_of(meta.value(), name.c_str()));
        }
        std::vector<float> ref;
        REQUIRE(read_as_f32(*g->find("text_final_hidden"), ref).is_ok());
        const float herr = max_abs_diff(trace.final_hidden.data(), ref.data(), ref.size());
        INFO("text_final_hidden max abs err " << herr);
        CHECK(herr <= atol_of(meta.value(), "text_final_hidden"));

        std::vector<float> logits(std::size_t(tc.vocab_size));
        dec.logits(ctx, s.h.data() + (n - 1) * tc.hidden_size, 1, logits.data());
        REQUIRE(read_as_f32(*g->find("logits_last"), ref).is_ok());
        const float lerr = max_abs_diff(logits.data(), ref.data(), ref.size());
        WARN(c << ": logits_last max abs err " << lerr << " (atol " << atol_of(meta.value(), "logits_last") << ")");
        CHECK(lerr <= atol_of(meta.value(), "logits_last"));

        // 16 greedy steps with the KV cache must give the golden ids.
        std::vector<std::int64_t> gen_ref;
        REQUIRE(read_as_i64(*g->find("generated_ids"), gen_ref).is_ok());
        std::vector<float> e(std::size_t(tc.hidden_size));
        for (std::size_t step = 0; step < gen_ref.size(); ++step) {
            const std::int32_t next = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            REQUIRE(next == gen_ref[step]);
            REQUIRE(embed_tokens((*w)->text, &next, 1, e.data()).is_ok());
            REQUIRE(dec.forward(ctx, cache, s, e.data(), 1).is_ok());
            dec.logits(ctx, s.h.data(), 1, logits.data());
        }
    }
}

namespace {

// A random tiny decoder held in memory: real tensor names, f32 weights.
struct tiny_model {
    model_config cfg;
    std::vector<std::uint8_t> bytes;
    safetensors_set set;
};

tiny_model make_tiny(unsigned seed, std::int64_t kv_heads) {
    tiny_model m;
    m.cfg.arch = model_arch::llama;
    m.cfg.family = &smollm_family;
    text_config& t = m.cfg.text;
    t.vocab_size = 50;
    t.hidden_size = 16;
    t.intermediate_size = 24;
    t.num_hidden_layers = 2;
    t.num_attention_heads = 4;
    t.num_key_value_heads = kv_heads;
    t.head_dim = 4;
    t.rms_norm_eps = 1e-5;
    t.rope_theta = 10000;
    t.use_rope.assign(2, true);
    m.cfg.tie_word_embeddings = true;
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 0.5f);
    safetensors_writer wr;
    auto add = [&](const std::string& name, shape_t s, float base = 0.0f) {
        std::vector<float> v(std::size_t(s.numel()));
        for (auto& x : v) x = base + nd(rng);
        REQUIRE(wr.add(name, s, v.data()).is_ok());
    };
    add("model.embed_tokens.weight", {50, 16});
    add("model.norm.weight", {16}, 1.0f);
    for (int l = 0; l < 2; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {16}, 1.0f);
        add(p + "post_attention_layernorm.weight", {16}, 1.0f);
        add(p + "self_attn.q_proj.weight", {16, 16});
        add(p + "self_attn.k_proj.weight", {kv_heads * 4, 16});
        add(p + "self_attn.v_proj.weight", {kv_heads * 4, 16});
        add(p + "self_attn.o_proj.weight", {16, 16});
        add(p + "mlp.gate_proj.weight", {24, 16});
        add(p + "mlp.up_proj.weight", {24, 16});
        add(p + "mlp.down_proj.weight", {16, 24});
    }
    m.bytes = wr.serialize();
    return m;
}

}  // namespace

TEST_CASE("KV-cache decoding equals full recomputation", "[model][llama]") {
    for (std::int64_t kvh : {1, 2, 4}) {
        tiny_model m = make_tiny(7u + unsigned(kvh), kvh);
        auto set = safetensors_set::from_memory(m.bytes.data(), m.bytes.size());
        REQUIRE(set.is_ok());
        auto w = bind_weights(m.cfg, set.value());
        REQUIRE(w.is_ok());
        const text_config& t = m.cfg.text;
        llama_decoder dec(t, (*w)->text);
        nn::context ctx;
        const std::vector<std::int32_t> ids = {3, 14, 15, 9, 2, 6, 5, 35, 8, 9, 7, 9, 32};
        const std::int64_t n = std::int64_t(ids.size());
        std::vector<float> emb(std::size_t(n * t.hidden_size));
        REQUIRE(embed_tokens((*w)->text, ids.data(), n, emb.data()).is_ok());

        // Full: all tokens in one chunk.
        kv_cache full;
        REQUIRE(full.init(t, n).is_ok());
        llama_scratch s;
        REQUIRE(s.init(t, n).is_ok());
        REQUIRE(dec.forward(ctx, full, s, emb.data(), n).is_ok());
        std::vector<float> ref(s.h.data(), s.h.data() + n * t.hidden_size);

        // Incremental: 5 tokens, then one at a time, then the rest.
        kv_cache inc;
        REQUIRE(inc.init(t, n).is_ok());
        std::vector<float> got;
        auto run = [&](std::int64_t b, std::int64_t e) {
            REQUIRE(dec.forward(ctx, inc, s, emb.data() + b * t.hidden_size, e - b).is_ok());
            got.insert(got.end(), s.h.data(), s.h.data() + (e - b) * t.hidden_size);
        };
        run(0, 5);
        for (std::int64_t i = 5; i < 9; ++i) run(i, i + 1);
        run(9, n);
        REQUIRE(got.size() == ref.size());
        // Same arithmetic in a different grouping: differences are f32 rounding only.
        CHECK(max_abs_diff(got.data(), ref.data(), ref.size()) < 1e-5f);
        // The cache refuses to overflow.
        CHECK(dec.forward(ctx, inc, s, emb.data(), 1).code() == errc::no_memory);
    }
}

}  // namespace smolvlm_test_model_llama_cases
