// Tests for text/bpe.hpp: the byte-level BPE tokenizer against the Rust `tokenizers`
// ground truth stored in the shared fixtures.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/text/bpe.hpp"

using smolvlm::token_id;
using smolvlm::tokenizer;

namespace {

std::string smolvlm_tokenizer_path() {
    return smolvlm_test::fixtures_dir() + "/idefics3_bf16_text_only/model/tokenizer.json";
}

std::vector<token_id> ids_of(const smolvlm::json_value& arr) {
    std::vector<token_id> v;
    for (const auto& x : arr.items()) v.push_back(token_id(x.as_int()));
    return v;
}

// One tokenizer per process: loading is ~tens of ms, the tests reuse it.
const tokenizer& smolvlm_tok() {
    static const tokenizer tok = [] {
        auto r = tokenizer::load_file(smolvlm_tokenizer_path());
        REQUIRE(r.is_ok());
        return std::move(r).value();
    }();
    return tok;
}

}  // namespace

TEST_CASE("tokenizer: unit cases verified against Rust tokenizers", "[text][bpe]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/_unit/tokenizer_cases.json";
    SMOLVLM_REQUIRE_SHARED(path);
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(path));
    REQUIRE(doc.is_ok());
    const smolvlm::json_value* cases = doc.value().find("cases");
    REQUIRE(cases != nullptr);
    REQUIRE(cases->size() > 20);
    const tokenizer& tok = smolvlm_tok();
    std::size_t checked = 0;
    for (const auto& c : cases->items()) {
        const std::string& text = c.find("text")->as_string();
        const std::vector<token_id> expected = ids_of(*c.find("ids"));
        INFO("text: [" << text << "]");
        CHECK(tok.encode(text) == expected);
        ++checked;
    }
    CHECK(checked == cases->size());
}

TEST_CASE("tokenizer: every fixture prompt encodes to its input_ids and decodes its generation", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    for (const std::string& name : smolvlm_test::fixture_cases()) {
        INFO("fixture " << name);
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        auto tok_r = tokenizer::load_file(dir + "/model");  // each case's own tokenizer
        REQUIRE(tok_r.is_ok());
        const tokenizer& tok = tok_r.value();
        auto g = smolvlm::parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(g.is_ok());
        const std::string& prompt = g.value().find("prompt_text_expanded")->as_string();
        const std::vector<token_id> expected = ids_of(*g.value().find("input_ids"));
        CHECK(tok.encode(prompt) == expected);

        const smolvlm::json_value& gen = *g.value().find("generation");
        const std::vector<token_id> gen_ids = ids_of(*gen.find("generated_ids"));
        CHECK(tok.decode(gen_ids) == gen.find("generated_text")->as_string());
        CHECK(tok.decode(gen_ids, true) == gen.find("generated_text_skip_special_tokens")->as_string());

        // The prompt decodes back to itself (no byte of it lacks a vocab entry).
        CHECK(tok.decode(expected) == prompt);
        // full_text_skip_special_tokens = decode(prompt + generation, skip special).
        std::vector<token_id> all = expected;
        all.insert(all.end(), gen_ids.begin(), gen_ids.end());
        CHECK(tok.decode(all, true) == gen.find("full_text_skip_special_tokens")->as_string());

        // Streaming decode gives the same text, piece by piece.
        smolvlm::stream_decoder sd(tok);
        std::string streamed;
        for (token_id id : all) streamed += sd.push(id);
        streamed += sd.finish();
        CHECK(streamed == tok.decode(all));
    }
}
