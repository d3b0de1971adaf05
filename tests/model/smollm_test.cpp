// The SmolLM3 family (model/smollm.hpp) against its goldens: the config transformers derives
// (NoPE layers, head_dim, tie, rope_parameters), the decoder stage by stage from the golden
// inputs_embeds, 16 greedy steps with the KV cache and the top-10 logits of every step; the
// effect of NoPE and of YaRN (the same weights with every layer rotated / with rope_scaling
// null give transformers' other logits and ids). Plus config reading without shared files.
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/families.hpp>
#include <smolvlm/model/llama.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_model_smollm_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

double atol_of(const json_value& meta, const char* tensor) {
    const json_value* e = meta.find("tensors") ? meta.find("tensors")->find(tensor) : nullptr;
    const json_value* a = e ? e->find("suggested_atol") : nullptr;
    return a ? a->as_number() : 0.0;
}

float max_abs_diff(const float* a, const float* b, std::size_t n) {
    float m = 0.0f;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

// Prefill `embeds` [n, D] then greedy-decode `steps` tokens; logits_last of the prompt in
// *first_logits, every step's logits in *step_logits (when given).
std::vector<std::int64_t> greedy(const text_config& tc, const text_weights& w, const std::vector<float>& embeds,
                                 std::int64_t n, int steps, std::vector<float>* first_logits,
                                 std::vector<std::vector<float>>* step_logits = nullptr, llama_trace* trace = nullptr) {
    thread_pool pool(2);
    nn::context ctx;
    ctx.pool = &pool;
    kv_cache cache;
    REQUIRE(cache.init(tc, n + steps).is_ok());
    llama_scratch s;
    REQUIRE(s.init(tc, n, n + steps, 2).is_ok());
    llama_decoder dec(tc, w);
    REQUIRE(dec.forward(ctx, cache, s, embeds.data(), n, trace).is_ok());
    std::vector<float> logits(std::size_t(tc.vocab_size)), e(std::size_t(tc.hidden_size));
    dec.logits(ctx, s.h.data() + (n - 1) * tc.hidden_size, 1, logits.data());
    if (first_logits) *first_logits = logits;
    std::vector<std::int64_t> ids;
    for (int step = 0; step < steps; ++step) {
        if (step_logits) step_logits->push_back(logits);
        const std::int32_t next = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        ids.push_back(next);
        REQUIRE(embed_tokens(w, &next, 1, e.data()).is_ok());
        REQUIRE(dec.forward(ctx, cache, s, e.data(), 1).is_ok());
        dec.logits(ctx, s.h.data(), 1, logits.data());
    }
    return ids;
}

}  // namespace

TEST_CASE("smollm3: config as transformers derives it, decoder stage by stage, greedy steps", "[model][smollm3][golden]") {
    for (const char* c : {"smollm3_bf16_chat", "smollm3_f32_think"}) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
        INFO("fixture " << c);
        auto cfg = load_model_config(dir + "/model");
        REQUIRE(cfg.is_ok());
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());
        const text_config& tc = cfg->text;

        // ---- config_derived_by_transformers ----
        const json_value& derived = *meta->find("config_derived_by_transformers");
        CHECK(cfg->arch == model_arch::smollm3);
        const json_value& nr = *derived.find("no_rope_layers");
        REQUIRE(tc.use_rope.size() == nr.size());
        for (std::size_t i = 0; i < nr.size(); ++i) CHECK(tc.use_rope[i] == (nr[i].as_int() != 0));
        CHECK(tc.head_dim == derived.find("head_dim")->as_int());
        CHECK(cfg->tie_word_embeddings == derived.find("tie_word_embeddings")->as_bool());
        const json_value& rp = *derived.find("rope_parameters");
        CHECK(tc.rope_theta == rp.find("rope_theta")->as_number());
        CHECK(std::string(nn::rope_type_name(tc.rope_scaling.type)) == rp.find("rope_type")->as_string());
        if (const json_value* f = rp.find("factor")) CHECK(tc.rope_scaling.factor == f->as_number());
        if (const json_value* o = rp.find("original_max_position_embeddings"))
            CHECK(tc.rope_scaling.original_max_position_embeddings == o->as_int());

        // ---- the decoder from the golden inputs_embeds ----
        auto st = safetensors_set::open_dir(dir + "/model");
        REQUIRE(st.is_ok());
        auto w = bind_weights(cfg.value(), st.value());
        REQUIRE(w.is_ok());
        auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
        REQUIRE(g.is_ok());
        std::vector<float> embeds, ref;
        REQUIRE(read_as_f32(*g->find("inputs_embeds"), embeds).is_ok());
        const std::int64_t n = g->find("inputs_embeds")->shape[0];
        std::vector<std::int64_t> ids64;
        REQUIRE(read_as_i64(*g->find("input_ids"), ids64).is_ok());
        std::vector<std::int32_t> ids(ids64.begin(), ids64.end());
        std::vector<float> mine(embeds.size());
        REQUIRE(embed_tokens((*w)->text, ids.data(), n, mine.data()).is_ok());
        CHECK(mine == embeds);  // bf16 / f32 rows up-cast exactly

        llama_trace trace;
        trace.capture_layers = true;
        std::vector<float> logits;
        std::vector<std::vector<float>> steps;
        const auto gen = greedy(tc, (*w)->text, embeds, n, 16, &logits, &steps, &trace);
        for (std::size_t l = 0; l < trace.layer_outputs.size(); ++l) {
            const std::string name = "text_layer" + std::to_string(l) + "_output";
            REQUIRE(read_as_f32(*g->find(name), ref).is_ok());
            const float err = max_abs_diff(trace.layer_outputs[l].data(), ref.data(), ref.size());
            INFO(name << " max abs err " << err);
            CHECK(err <= atol_of(meta.value(), name.c_str()));
        }
        REQUIRE(read_as_f32(*g->find("text_final_hidden"), ref).is_ok());
        CHECK(max_abs_diff(trace.final_hidden.data(), ref.data(), ref.size()) <= atol_of(meta.value(), "text_final_hidden"));
        REQUIRE(read_as_f32(*g->find("logits_last"), ref).is_ok());
        const float lerr = max_abs_diff(logits.data(), ref.data(), ref.size());
        WARN(c << ": logits_last max abs err " << lerr << " (atol " << atol_of(meta.value(), "logits_last") << ")");
        CHECK(lerr <= atol_of(meta.value(), "logits_last"));

        std::vector<std::int64_t> gen_ref, topk_ids;
        std::vector<float> topk_logits;
        REQUIRE(read_as_i64(*g->find("generated_ids"), gen_ref).is_ok());
        CHECK(gen == gen_ref);
        // Every greedy step's top-10 logits (steps 1.. come from the KV cache).
        REQUIRE(read_as_i64(*g->find("gen_topk_ids"), topk_ids).is_ok());
        REQUIRE(read_as_f32(*g->find("gen_topk_logits"), topk_logits).is_ok());
        float kerr = 0.0f;
        for (std::size_t step = 0; step < steps.size(); ++step)
            for (std::size_t k = 0; k < 10; ++k)
                kerr = std::max(kerr, std::fabs(steps[step][std::size_t(topk_ids[step * 10 + k])] - topk_logits[step * 10 + k]));
        INFO("gen_topk_logits max abs err " << kerr);
        CHECK(kerr <= atol_of(meta.value(), "gen_topk_logits"));

        // ---- NoPE matters: with every layer rotated the logits move as transformers says ----
        text_weights all_rope = (*w)->text;  // views: a cheap copy (the flag is bound per layer)
        for (llama_layer_weights& L : all_rope.layers) L.use_rope = true;
        std::vector<float> l2;
        greedy(tc, all_rope, embeds, n, 0, &l2);
        const double moved = max_abs_diff(l2.data(), logits.data(), l2.size());
        const double want = meta->find("logits_last_max_abs_diff_if_all_layers_used_rope")->as_number();
        CHECK(moved == Approx(want).margin(2 * atol_of(meta.value(), "logits_last")));

        // ---- YaRN: with rope_scaling null the same weights give transformers' other ids ----
        const json_value* eff = meta->find("rope_scaling_effect");
        if (eff && !eff->is_null()) {
            text_config plain = tc;
            plain.rope_scaling = nn::rope_scaling();
            std::vector<float> l3;
            const auto gen_plain = greedy(plain, (*w)->text, embeds, n, 16, &l3);
            std::vector<std::int64_t> want_ids;
            for (const json_value& v : eff->find("generated_ids_with_rope_scaling_null")->items()) want_ids.push_back(v.as_int());
            CHECK(gen_plain == want_ids);
            CHECK(max_abs_diff(l3.data(), logits.data(), l3.size()) ==
                  Approx(eff->find("logits_last_max_abs_diff_vs_rope_scaling_null")->as_number())
                      .margin(2 * atol_of(meta.value(), "logits_last")));
        }
    }
}

TEST_CASE("smollm3: config defaults, NoPE interval, rope_scaling forms, refusals", "[model][smollm3][config]") {
    auto parse = [](const std::string& extra) {
        return parse_model_config("{\"model_type\":\"smollm3\",\"hidden_size\":64,\"num_attention_heads\":8,"
                                  "\"num_hidden_layers\":8,\"vocab_size\":100" + extra + "}");
    };
    auto c = parse("");
    REQUIRE(c.is_ok());
    CHECK(c->text.num_key_value_heads == 4);      // SmolLM3Config default, not num_attention_heads
    CHECK(c->text.head_dim == 8);
    CHECK(c->tie_word_embeddings);
    CHECK(c->text.rope_theta == 2000000.0);
    CHECK(c->text.max_position_embeddings == 32768);
    REQUIRE(c->text.use_rope.size() == 8);
    for (std::size_t i = 0; i < 8; ++i) CHECK(c->text.use_rope[i] == ((i + 1) % 4 != 0));  // interval 4
    CHECK(parse(",\"num_key_value_heads\":null")->text.num_key_value_heads == 8);
    auto i3 = parse(",\"no_rope_layer_interval\":3,\"head_dim\":16,\"tie_word_embeddings\":false");
    REQUIRE(i3.is_ok());
    for (std::size_t i = 0; i < 8; ++i) CHECK(i3->text.use_rope[i] == ((i + 1) % 3 != 0));
    CHECK(i3->text.head_dim == 16);
    CHECK_FALSE(i3->tie_word_embeddings);
    auto list = parse(",\"no_rope_layer_interval\":2,\"no_rope_layers\":[0,1,1,1,1,1,1,0]");  // the list wins
    REQUIRE(list.is_ok());
    CHECK(list->text.use_rope == std::vector<bool>{false, true, true, true, true, true, true, false});
    // Llama configs: every layer rotated, kv heads default to the heads.
    auto l = parse_model_config(R"({"model_type":"llama","hidden_size":64,"num_attention_heads":8,"num_hidden_layers":3})");
    REQUIRE(l.is_ok());
    CHECK(l->text.num_key_value_heads == 8);
    CHECK(l->text.use_rope == std::vector<bool>{true, true, true});

    // rope_scaling in its forms.
    auto y = parse(R"(,"max_position_embeddings":65536,"rope_scaling":{"type":"yarn","factor":null,"original_max_position_embeddings":16384})");
    REQUIRE(y.is_ok());
    CHECK(y->text.rope_scaling.type == nn::rope_type::yarn);
    CHECK(y->text.rope_scaling.factor == 4.0);  // max_position_embeddings / original
    auto y2 = parse(R"(,"rope_parameters":{"rope_type":"yarn","factor":2.0,"rope_theta":1000.0,"beta_fast":0,"truncate":false})");
    REQUIRE(y2.is_ok());
    CHECK(y2->text.rope_theta == 1000.0);  // the dict's theta wins
    CHECK(y2->text.rope_scaling.original_max_position_embeddings == 32768);  // = max_position_embeddings
    CHECK(y2->text.rope_scaling.beta_fast == 32.0);  // `beta_fast or 32`
    CHECK_FALSE(y2->text.rope_scaling.truncate);
    auto y3 = parse(R"(,"original_max_position_embeddings":4096,"rope_scaling":{"rope_type":"yarn","factor":8.0,"original_max_position_embeddings":1024,"attention_factor":1.25})");
    REQUIRE(y3.is_ok());
    CHECK(y3->text.rope_scaling.original_max_position_embeddings == 4096);  // the top-level key wins
    CHECK(nn::rope_attention_scaling(y3->text.rope_scaling) == 1.25);
    auto both = parse(R"(,"rope_scaling":{"rope_type":"linear","factor":2.0},"rope_parameters":{"rope_type":"dynamic","factor":3.0})");
    REQUIRE(both.is_ok());
    CHECK(both->text.rope_scaling.type == nn::rope_type::linear);  // a non-empty rope_scaling wins
    auto deflt = parse(R"(,"rope_scaling":null,"rope_parameters":{"rope_type":"default","rope_theta":5000000.0})");
    REQUIRE(deflt.is_ok());
    CHECK(deflt->text.rope_scaling.type == nn::rope_type::plain);
    CHECK(deflt->text.rope_theta == 5000000.0);
    auto l3 = parse(R"(,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192})");
    REQUIRE(l3.is_ok());
    CHECK(l3->text.rope_scaling.type == nn::rope_type::llama3);

    struct bad_case {
        const char* extra;
        errc code;
        const char* says;
    };
    const bad_case bad[] = {
        {R"(,"no_rope_layers":[1,1,1])", errc::bad_format, "no_rope_layers has 3 entries for 8 layers"},
        {R"(,"no_rope_layers":[1,1,1,0,1,1,1,0,1])", errc::bad_format, "no_rope_layers has 9 entries for 8 layers"},
        {R"(,"no_rope_layers":[1,1,1,2,1,1,1,0])", errc::bad_format, "no_rope_layers must hold integers"},
        {R"(,"no_rope_layers":"1110")", errc::bad_format, "no_rope_layers must be a list"},
        {R"(,"no_rope_layer_interval":0)", errc::bad_format, "no_rope_layer_interval"},
        {R"(,"use_sliding_window":true,"sliding_window":4096)", errc::unsupported, "sliding-window"},
        {R"(,"rope_scaling":{"rope_type":"longrope","factor":2.0})", errc::unsupported, "longrope"},
        {R"(,"rope_scaling":{"rope_type":"linear"})", errc::bad_format, "needs \"factor\""},
        {R"(,"rope_scaling":{"rope_type":"yarn","original_max_position_embeddings":128})", errc::bad_format, "needs \"factor\""},
        {R"(,"rope_scaling":{"rope_type":"yarn","factor":"2"})", errc::bad_format, "factor must be a number"},
        {R"(,"rope_scaling":{"rope_type":"yarn","factor":-2})", errc::bad_format, "factor must be a number"},
        {R"(,"rope_scaling":{"rope_type":"yarn","factor":2,"truncate":1})", errc::bad_format, "truncate"},
        {R"(,"rope_scaling":{"rope_type":"yarn","factor":2,"original_max_position_embeddings":1.5})", errc::bad_format,
         "original_max_position_embeddings"},
        {R"(,"rope_scaling":{"rope_type":"llama3","factor":8.0})", errc::bad_format, "low_freq_factor"},
        {R"(,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":4,"high_freq_factor":1})", errc::bad_format,
         "high_freq_factor > low_freq_factor"},
        {R"(,"rope_scaling":{"rope_type":7})", errc::bad_format, "rope_type must be a string"},
        {R"(,"rope_scaling":[1])", errc::bad_format, "rope_scaling must be an object"},
        {R"(,"rope_scaling":{"rope_type":"linear","factor":2,"partial_rotary_factor":0.5})", errc::unsupported,
         "partial_rotary_factor"},
        {R"(,"rope_scaling":{"full_attention":{"rope_type":"default"}})", errc::unsupported, "per layer type"},
    };
    for (const bad_case& b : bad) {
        INFO(b.extra);
        auto r = parse(b.extra);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == b.code);
        CHECK_THAT(std::string(r.error().message()), Catch::Contains(b.says));
    }
}

}  // namespace smolvlm_test_model_smollm_cases
