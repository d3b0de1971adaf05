// model/config.hpp + model/weights.hpp against real configs: every fixture model dir
// (tiny random weights, real layouts) and every config in ../shared/models.
#include <smolvlm/model/families.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/config.hpp>
#include <smolvlm/model/weights.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "../test_util.hpp"
#include "../tiny_checkpoint.hpp"

namespace smolvlm_test_model_config_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

model_config load(const std::string& dir) {
    auto r = load_model_config(dir);
    INFO(dir << ": " << (r.is_ok() ? "ok" : r.error().message()));
    REQUIRE(r.is_ok());
    return r.value();
}

}  // namespace

TEST_CASE("config: every fixture model dir loads and binds exactly its tensors", "[model][config]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir() + "/README.md");
    for (const std::string& c : smolvlm_test::fixture_cases()) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c + "/model";
        INFO(dir);
        const model_config cfg = load(dir);
        CHECK(cfg.has_vision);
        CHECK((cfg.arch == model_arch::idefics3 || cfg.arch == model_arch::smolvlm));
        CHECK(c.rfind(model_arch_name(cfg.arch), 0) == 0);  // case names start with the arch
        CHECK(cfg.image_token_id == 49190);
        CHECK(cfg.text.vocab_size == 49280);
        CHECK(cfg.text.hidden_act == "silu");
        CHECK(cfg.vision.hidden_act == "gelu_pytorch_tanh");
        CHECK(cfg.text.rms_norm_eps == 1e-5);
        CHECK(cfg.vision.layer_norm_eps == 1e-6);
        CHECK(cfg.image_seq_len() > 0);

        auto st = safetensors_set::open_dir(dir);
        REQUIRE(st.is_ok());
        auto w = bind_weights(cfg, st.value());
        INFO((w.is_ok() ? "bound" : w.error().message()));
        REQUIRE(w.is_ok());
        CHECK((*w)->text.layers.size() == std::size_t(cfg.text.num_hidden_layers));
        REQUIRE((*w)->encoder != nullptr);
        CHECK(static_cast<const siglip_encoder&>(*(*w)->encoder).weights().layers.size() ==
              std::size_t(cfg.vision.num_hidden_layers));
        CHECK((st->find("lm_head.weight") == nullptr) == cfg.tie_word_embeddings);

        // The file holds exactly the tensors the config implies: no more, no fewer.
        const auto expected = smolvlm_test::expected_tensors(cfg);
        std::set<std::string> want, have;
        for (const auto& e : expected) want.insert(e.name);
        for (const st_tensor* t : st->all()) have.insert(t->name);
        // ... and the family's tensor-name table lists exactly those.
        std::set<std::string> table;
        for (const weight_slot& s : (*w)->slots) table.insert(s.name);
        if (cfg.tie_word_embeddings) table.erase("lm_head.weight");
        CHECK(table == want);
        CHECK(want == have);
        for (const auto& e : expected) {
            const st_tensor* t = st->find(e.name);
            REQUIRE(t != nullptr);
            CHECK(t->shape == e.shape);
        }
    }
}

TEST_CASE("config: fixture specifics (patch 8, scale 4, one KV head, untied; f32 tied)", "[model][config]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir() + "/idefics3_bf16_rgba_tall/model/config.json");
    const model_config t = load(smolvlm_test::fixtures_dir() + "/idefics3_bf16_rgba_tall/model");
    CHECK(t.arch == model_arch::idefics3);
    CHECK(t.vision.patch_size == 8);
    CHECK(t.scale_factor == 4);
    CHECK(t.text.num_key_value_heads == 1);
    CHECK(t.text.num_attention_heads == 4);
    CHECK(t.text.head_dim == 8);
    CHECK_FALSE(t.tie_word_embeddings);
    CHECK(t.image_seq_len() == (64 / 8) * (64 / 8) / 16);
    const model_config f = load(smolvlm_test::fixtures_dir() + "/idefics3_f32_rgb_split/model");
    CHECK(f.tie_word_embeddings);
    CHECK(f.text.head_dim == 12);
    const model_config s = load(smolvlm_test::fixtures_dir() + "/smolvlm_bf16_nosplit/model");
    CHECK(s.arch == model_arch::smolvlm);
    CHECK(s.text.num_hidden_layers == 3);
    CHECK(s.text.head_dim == 16);
    // generation_config.json (SmolVLM-256M-Instruct's) overlays the text config's ids.
    CHECK(s.generation.eos_token_ids == std::vector<std::int64_t>{49279});
}

TEST_CASE("config: SmolVLM-256M-Instruct", "[model][config]") {
    const std::string dir = smolvlm_test::shared_dir() + "/models/SmolVLM-256M-Instruct";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    const model_config c = load(dir);
    CHECK(c.arch == model_arch::idefics3);
    CHECK(c.has_vision);
    CHECK(c.text.hidden_size == 576);
    CHECK(c.text.num_hidden_layers == 30);
    CHECK(c.text.num_attention_heads == 9);
    CHECK(c.text.num_key_value_heads == 3);
    CHECK(c.text.head_dim == 64);
    CHECK(c.text.intermediate_size == 1536);
    CHECK(c.text.vocab_size == 49280);
    CHECK(c.text.rope_theta == 100000.0);
    CHECK(c.text.rms_norm_eps == 1e-5);
    CHECK(c.text.max_position_embeddings == 8192);
    CHECK(c.vision.hidden_size == 768);
    CHECK(c.vision.num_hidden_layers == 12);
    CHECK(c.vision.num_attention_heads == 12);
    CHECK(c.vision.intermediate_size == 3072);
    CHECK(c.vision.patch_size == 16);
    CHECK(c.vision.image_size == 512);
    CHECK(c.scale_factor == 4);
    CHECK(c.image_seq_len() == 64);  // (512/16)^2 / 4^2
    CHECK(c.image_token_id == 49190);
    CHECK_FALSE(c.tie_word_embeddings);
    CHECK(c.generation.eos_token_ids == std::vector<std::int64_t>{49279});
    // Parameter count the binder will ask for: ~256M.
    const auto n = smolvlm_test::total_elements(smolvlm_test::expected_tensors(c));
    CHECK(n > 250000000);
    CHECK(n < 260000000);
}

TEST_CASE("config: SmolVLM2-500M-Video-Instruct takes HF defaults for omitted vision keys", "[model][config]") {
    const std::string dir = smolvlm_test::shared_dir() + "/models/SmolVLM2-500M-Video-Instruct";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    const model_config c = load(dir);
    CHECK(c.arch == model_arch::smolvlm);
    CHECK(c.text.hidden_size == 960);
    CHECK(c.text.num_hidden_layers == 32);
    CHECK(c.text.num_attention_heads == 15);
    CHECK(c.text.num_key_value_heads == 5);
    CHECK(c.text.head_dim == 64);
    CHECK(c.text.hidden_act == "silu");     // omitted: LlamaConfig default
    CHECK(c.vision.hidden_size == 768);
    CHECK(c.vision.intermediate_size == 3072);  // omitted: SmolVLMVisionConfig default
    CHECK(c.vision.num_hidden_layers == 12);    // omitted
    CHECK(c.vision.hidden_act == "gelu_pytorch_tanh");
    CHECK(c.vision.layer_norm_eps == 1e-6);
    CHECK(c.vision.patch_size == 16);
    CHECK(c.vision.image_size == 512);
    CHECK(c.scale_factor == 4);
    CHECK(c.image_seq_len() == 64);
    CHECK(c.image_token_id == 49190);
    CHECK_FALSE(c.tie_word_embeddings);
}

TEST_CASE("config: SmolLM2 text models", "[model][config]") {
    const std::string d135 = smolvlm_test::shared_dir() + "/models/SmolLM2-135M-Instruct";
    SMOLVLM_REQUIRE_SHARED(d135 + "/config.json");
    const model_config a = load(d135);
    CHECK(a.arch == model_arch::llama);
    CHECK_FALSE(a.has_vision);
    CHECK(a.text.hidden_size == 576);
    CHECK(a.text.num_hidden_layers == 30);
    CHECK(a.text.num_attention_heads == 9);
    CHECK(a.text.num_key_value_heads == 3);
    CHECK(a.text.vocab_size == 49152);
    CHECK(a.tie_word_embeddings);
    CHECK(a.generation.eos_token_ids == std::vector<std::int64_t>{2});
    const auto n135 = smolvlm_test::total_elements(smolvlm_test::expected_tensors(a));
    CHECK(n135 == 134515008);  // SmolLM2-135M: 134.5M parameters (tied)
    const model_config b = load(smolvlm_test::shared_dir() + "/models/SmolLM2-360M-Instruct");
    CHECK(b.text.hidden_size == 960);
    CHECK(b.text.num_hidden_layers == 32);
    CHECK(b.text.num_attention_heads == 15);
    CHECK(b.text.num_key_value_heads == 5);
    CHECK(b.tie_word_embeddings);
}

TEST_CASE("config: SmolLM3-3B (NoPE every 4th layer) and its shard index", "[model][config]") {
    const std::string dir = smolvlm_test::shared_dir() + "/models/SmolLM3-3B";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    const model_config c = load(dir);
    CHECK(c.arch == model_arch::smollm3);
    CHECK(c.text.hidden_size == 2048);
    CHECK(c.text.num_hidden_layers == 36);
    CHECK(c.text.num_attention_heads == 16);
    CHECK(c.text.num_key_value_heads == 4);
    CHECK(c.text.head_dim == 128);
    CHECK(c.text.intermediate_size == 11008);
    CHECK(c.text.vocab_size == 128256);
    CHECK(c.text.rope_theta == 5000000.0);
    CHECK(c.text.max_position_embeddings == 65536);
    CHECK(c.tie_word_embeddings);  // SmolLM3Config default; the file does not say
    REQUIRE(c.text.use_rope.size() == 36);
    for (std::size_t i = 0; i < 36; ++i) {
        INFO("layer " << i);
        CHECK(c.text.use_rope[i] == ((i + 1) % 4 != 0));  // layers 3, 7, 11... skip RoPE
    }
    CHECK(c.generation.eos_token_ids == std::vector<std::int64_t>{128012});
    CHECK(c.generation.do_sample);
    CHECK(c.generation.temperature == 0.6);
    CHECK(c.generation.top_p == 0.95);

    // The index names exactly the tensors the config implies, and its parameter count
    // equals ours. The shards themselves are absent: opening the set names one.
    const std::string idx = smolvlm_test::read_file(dir + "/model.safetensors.index.json");
    auto j = parse_json(idx);
    REQUIRE(j.is_ok());
    const json_value* wm = j->find("weight_map");
    REQUIRE(wm != nullptr);
    std::set<std::string> in_index, implied;
    for (const auto& m : wm->members()) in_index.insert(m.first);
    const auto expected = smolvlm_test::expected_tensors(c);
    for (const auto& e : expected) implied.insert(e.name);
    CHECK(in_index == implied);
    const json_value* total = j->find_path("metadata.total_parameters");
    REQUIRE(total != nullptr);
    CHECK(smolvlm_test::total_elements(expected) == total->as_int());
    auto st = safetensors_set::open_dir(dir);
    REQUIRE_FALSE(st.is_ok());
    CHECK(st.error().code() == errc::io);
    CHECK_THAT(std::string(st.error().message()), Catch::Contains("model-0000"));
}

TEST_CASE("config: every shared model config parses", "[model][config]") {
    const std::string root = smolvlm_test::shared_dir() + "/models";
    SMOLVLM_REQUIRE_SHARED(root + "/SOURCES.md");
    int n = 0;
    for (const char* m : {"SmolVLM-256M-Instruct", "SmolVLM2-500M-Video-Instruct", "SmolLM2-135M-Instruct",
                          "SmolLM2-360M-Instruct", "SmolLM3-3B"}) {
        if (!smolvlm_test::path_exists(root + "/" + m + "/config.json")) continue;
        (void)load(root + "/" + m);
        ++n;
    }
    CHECK(n == 5);
}

TEST_CASE("configs with repeated keys are refused (Python would take the last one)", "[model][config]") {
    auto a = parse_model_config(R"({"model_type":"llama","hidden_size":64,"hidden_size":32,"num_attention_heads":4})");
    REQUIRE_FALSE(a.is_ok());
    CHECK(std::string(a.error().message()).find("repeated keys") != std::string::npos);
    auto b = parse_model_config(R"({"model_type":"idefics3","text_config":{"num_hidden_layers":2,"num_hidden_layers":3}})");
    REQUIRE_FALSE(b.is_ok());
    CHECK(std::string(b.error().message()).find("text_config") != std::string::npos);
    generation_config g;
    CHECK_FALSE(parse_generation_config(R"({"eos_token_id":1,"eos_token_id":2})", g).is_ok());
}

}  // namespace smolvlm_test_model_config_cases
