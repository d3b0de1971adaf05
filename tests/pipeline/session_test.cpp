// Session: prefill + greedy generation through the public API, prefix reuse across turns.
#include <smolvlm/pipeline/session.hpp>

#include <cmath>
#include <thread>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_session_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {
const std::string k_case = "idefics3_bf16_text_only";

std::vector<token_id> golden_ids(const safetensors_file& g, const char* name) {
    std::vector<std::int64_t> v;
    REQUIRE(read_as_i64(*g.find(name), v).is_ok());
    return std::vector<token_id>(v.begin(), v.end());
}
}  // namespace

TEST_CASE("session generates the golden greedy ids for text fixtures", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
    thread_pool pool(2);
    auto m = model::load(dir + "/model", {}, &pool);
    REQUIRE(m.is_ok());
    auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
    REQUIRE(g.is_ok());
    const std::vector<token_id> prompt = golden_ids(g.value(), "input_ids");
    const std::vector<token_id> expect = golden_ids(g.value(), "generated_ids");

    session s(*m.value(), {}, &pool);
    REQUIRE(s.prefill(prompt).is_ok());
    std::vector<float> ref;
    REQUIRE(read_as_f32(*g->find("logits_last"), ref).is_ok());
    float err = 0.0f;
    for (std::size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::fabs(ref[i] - s.logits()[i]));
    CHECK(err < 8e-4f);  // golden.json suggested_atol for logits_last of this case

    generate_options go;
    go.max_new_tokens = 16;
    go.ignore_eos = true;
    std::vector<token_id> out;
    std::string text;
    REQUIRE(s.generate(go, [&](token_id, std::string_view piece) { text += piece; return true; }, &out).is_ok());
    CHECK(out == expect);
    CHECK(s.stats().gen_tokens == 16);
    CHECK(text == m.value()->tok().decode(out, true));
}

TEST_CASE("a second turn reuses the cache and equals a fresh run", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
    thread_pool pool(2);
    auto m = model::load(dir + "/model", {}, &pool);
    REQUIRE(m.is_ok());
    const tokenizer& tok = m.value()->tok();
    const std::vector<token_id> turn1 = tok.encode("<|im_start|>User: What is 2+2?<end_of_utterance>\nAssistant:");

    session s(*m.value(), {}, &pool);
    REQUIRE(s.prefill(turn1).is_ok());
    generate_options go;
    go.max_new_tokens = 6;
    go.ignore_eos = true;
    std::vector<token_id> reply;
    REQUIRE(s.generate(go, nullptr, &reply).is_ok());
    // Conversation continues: previous prompt + reply + a new user turn.
    std::vector<token_id> turn2 = turn1;
    turn2.insert(turn2.end(), reply.begin(), reply.end());
    const std::vector<token_id> more = tok.encode("<end_of_utterance>\nUser: And 3+3?<end_of_utterance>\nAssistant:");
    turn2.insert(turn2.end(), more.begin(), more.end());
    REQUIRE(s.prefill(turn2).is_ok());
    // Everything but the last generated token (sampled, never run) came from the cache.
    CHECK(s.stats().prefill_tokens == std::int64_t(more.size()) + 1);
    std::vector<token_id> a;
    REQUIRE(s.generate(go, nullptr, &a).is_ok());

    session fresh(*m.value(), {}, &pool);
    REQUIRE(fresh.prefill(turn2).is_ok());
    CHECK(fresh.stats().prefill_tokens == std::int64_t(turn2.size()));
    std::vector<token_id> b;
    REQUIRE(fresh.generate(go, nullptr, &b).is_ok());
    CHECK(a == b);
    float d = 0.0f;
    for (std::size_t i = 0; i < s.logits().size(); ++i) d = std::max(d, std::fabs(s.logits()[i] - fresh.logits()[i]));
    CHECK(d < 1e-3f);  // same math, different chunking: f32 rounding only
}

TEST_CASE("session rejects bad input cleanly", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/model/config.json");
    auto m = model::load(dir + "/model");
    REQUIRE(m.is_ok());
    session_options so;
    so.n_ctx = 8;
    session s(*m.value(), so);
    CHECK(s.prefill({}).code() == errc::invalid_argument);
    CHECK(s.prefill({1, 2, 3, 4, 5, 6, 7, 8, 9}).code() == errc::no_memory);
    CHECK(s.prefill({1, -5}).code() == errc::invalid_argument);
    CHECK(s.prefill({1, 999999}).code() == errc::invalid_argument);
    const token_id img = token_id(m.value()->config().image_token_id);
    CHECK(s.prefill({1, img, 2}).code() == errc::invalid_argument);  // image token without features
    generate_options go;
    session s2(*m.value(), so);
    CHECK(s2.generate(go, nullptr).code() == errc::invalid_argument);
}

TEST_CASE("prefill in slices equals one prefill", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
    auto m = model::load(dir + "/model");
    REQUIRE(m.is_ok());
    auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
    REQUIRE(g.is_ok());
    const std::vector<token_id> prompt = golden_ids(g.value(), "input_ids");
    session whole(*m.value());
    REQUIRE(whole.prefill(prompt).is_ok());
    session sliced(*m.value());
    REQUIRE(sliced.prefill_begin(prompt).is_ok());
    int steps = 0;
    while (!sliced.prefill_done()) {
        REQUIRE(sliced.prefill_step(7).is_ok());
        ++steps;
    }
    CHECK(steps == int((prompt.size() + 6) / 7));
    float d = 0.0f;
    for (std::size_t i = 0; i < whole.logits().size(); ++i) d = std::max(d, std::fabs(whole.logits()[i] - sliced.logits()[i]));
    CHECK(d < 1e-3f);  // same math in other chunk sizes: f32 rounding only
    generate_options go;
    go.max_new_tokens = 4;
    std::vector<token_id> a, b;
    REQUIRE(whole.generate(go, nullptr, &a).is_ok());
    REQUIRE(sliced.generate(go, nullptr, &b).is_ok());
    CHECK(a == b);
}

TEST_CASE("cancellation, memory cap, and concurrent sessions over one model", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
    auto m = model::load(dir + "/model");
    REQUIRE(m.is_ok());
    auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
    REQUIRE(g.is_ok());
    const std::vector<token_id> prompt = golden_ids(g.value(), "input_ids");
    const std::vector<token_id> expect = golden_ids(g.value(), "generated_ids");

    // The callback stops generation after 3 tokens.
    session s(*m.value());
    REQUIRE(s.prefill(prompt).is_ok());
    generate_options go;
    go.max_new_tokens = 16;
    go.ignore_eos = true;
    std::vector<token_id> out;
    int calls = 0;
    REQUIRE(s.generate(go, [&](token_id, std::string_view) { return ++calls < 3; }, &out).is_ok());
    CHECK(out.size() == 3);
    CHECK(s.stats().cancelled);
    CHECK(std::vector<token_id>(expect.begin(), expect.begin() + 3) == out);

    // A cap below what the session needs is an error up front, not an allocation failure.
    session_options tight;
    tight.max_bytes = session::memory_required(m.value()->config(), tight) - 1;
    session capped(*m.value(), tight);
    CHECK(capped.prefill(prompt).code() == errc::no_memory);
    tight.max_bytes += 1;
    session fits(*m.value(), tight);
    CHECK(fits.prefill(prompt).is_ok());

    // Four sessions on four threads over the same model give the golden ids.
    std::vector<std::vector<token_id>> results(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            session st(*m.value());
            if (!st.prefill(prompt).is_ok()) return;
            (void)st.generate(go, nullptr, &results[std::size_t(t)]);
        });
    for (auto& th : threads) th.join();
    for (const auto& r : results) CHECK(r == expect);
}

TEST_CASE("a model loaded from memory buffers equals the one loaded from its directory", "[pipeline][model][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/idefics3_bf16_rgba_tall/model";
    SMOLVLM_REQUIRE_SHARED(dir + "/model.safetensors");
    const std::string cfg = smolvlm_test::read_file(dir + "/config.json");
    const std::string gen = smolvlm_test::read_file(dir + "/generation_config.json");
    const std::string tok = smolvlm_test::read_file(dir + "/tokenizer.json");
    const std::string tokc = smolvlm_test::read_file(dir + "/tokenizer_config.json");
    const std::string chat = smolvlm_test::read_file(dir + "/chat_template.json");
    const std::string pre = smolvlm_test::read_file(dir + "/preprocessor_config.json");
    const std::string proc = smolvlm_test::read_file(dir + "/processor_config.json");
    const std::vector<unsigned char> weights = smolvlm_test::read_bytes(dir + "/model.safetensors");
    model_memory mem;
    mem.config_json = cfg;
    mem.generation_config_json = gen;
    mem.tokenizer_json = tok;
    mem.tokenizer_config_json = tokc;
    mem.chat_template = chat;
    mem.preprocessor_config_json = pre;
    mem.processor_config_json = proc;
    mem.safetensors = weights.data();
    mem.safetensors_size = weights.size();
    auto a = model::load(mem);
    REQUIRE(a.is_ok());
    auto b = model::load(dir);
    REQUIRE(b.is_ok());
    CHECK(a.value()->chat_kind() == b.value()->chat_kind());
    CHECK(a.value()->stop_ids() == b.value()->stop_ids());
    CHECK(a.value()->image_config().image_seq_len == b.value()->image_config().image_seq_len);
    const std::vector<token_id> ids = a.value()->tok().encode("<|im_start|>User: Hi there<end_of_utterance>\nAssistant:");
    session sa(*a.value()), sb(*b.value());
    REQUIRE(sa.prefill(ids).is_ok());
    REQUIRE(sb.prefill(ids).is_ok());
    CHECK(sa.logits() == sb.logits());  // same weights, same kernels: bit-identical
    // Missing pieces are reported, not dereferenced.
    model_memory broken = mem;
    broken.preprocessor_config_json = {};
    CHECK(model::load(broken).error().code() == errc::invalid_argument);
    broken = mem;
    broken.safetensors_size = 100;
    CHECK_FALSE(model::load(broken).is_ok());
}

TEST_CASE("an f16 KV cache: half the cache memory, logits close to the f32 cache's", "[pipeline][session][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/" + k_case;
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.safetensors");
    thread_pool pool(2);
    auto m = model::load(dir + "/model", {}, &pool);
    REQUIRE(m.is_ok());
    auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
    REQUIRE(g.is_ok());
    const std::vector<token_id> prompt = golden_ids(g.value(), "input_ids");
    session_options o32, o16;
    o32.n_ctx = o16.n_ctx = 512;
    o16.kv_type = dtype::f16;
    const model_config& cfg = m.value()->config();
    const std::size_t kv32 = kv_cache::bytes_needed(cfg.text, 512, dtype::f32);
    CHECK(kv_cache::bytes_needed(cfg.text, 512, dtype::f16) * 2 == kv32);
    CHECK(session::memory_required(cfg, o32) - session::memory_required(cfg, o16) == kv32 / 2);

    session s32(*m.value(), o32, &pool), s16(*m.value(), o16, &pool);
    generate_options go;
    go.max_new_tokens = 8;
    go.ignore_eos = true;
    REQUIRE(s32.prefill(prompt).is_ok());
    REQUIRE(s16.prefill(prompt).is_ok());
    std::vector<float> ref;
    REQUIRE(read_as_f32(*g->find("logits_last"), ref).is_ok());
    float d16 = 0.0f, d32 = 0.0f, scale = 0.0f;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        d16 = std::max(d16, std::fabs(ref[i] - s16.logits()[i]));
        d32 = std::max(d32, std::fabs(ref[i] - s32.logits()[i]));
        scale = std::max(scale, std::fabs(ref[i]));
    }
    INFO("max |logits - golden|: f32 cache " << d32 << ", f16 cache " << d16 << " (logits up to " << scale << ")");
    // The f16 cache rounds every key and value to 2^-12 relative: a real, visible change
    // (far above the f32 cache's ~1e-4)...
    CHECK(d16 > d32);
    // ...that stays small next to the logits: this random network amplifies weight noise
    // strongly (0.5% q8 weight noise moves its logits by 2-10, quant_accuracy_test), and
    // the f16 rounding is ~40x smaller noise on K and V only: bound 1% of the logit range.
    CHECK(d16 < 0.01f * scale);
    // A wrong cache type is refused, with a message.
    session_options bad;
    bad.kv_type = dtype::q8;
    session sb(*m.value(), bad, &pool);
    CHECK(sb.prefill(prompt).code() == errc::unsupported);
}

}  // namespace smolvlm_test_pipeline_session_cases
