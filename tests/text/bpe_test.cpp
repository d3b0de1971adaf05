// Tests for text/bpe.hpp: the byte-level BPE tokenizer against the Rust `tokenizers`
// ground truth stored in the shared fixtures.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/text/bpe.hpp"

namespace smolvlm_test_text_bpe_cases {  // one namespace per test file: the files also build as one unity translation unit

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

TEST_CASE("tokenizer: special token ids and queries (SmolVLM)", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const tokenizer& tok = smolvlm_tok();
    CHECK(tok.vocab_size() == 49280);
    CHECK(tok.n_merges() == 48900);
    CHECK(tok.added_tokens().size() == 145);
    const auto& sp = tok.special_ids();
    CHECK(sp.eos == 49279);  // tokenizer_config.json eos_token = <end_of_utterance>
    CHECK(tok.eos_id() == 49279);
    CHECK(sp.end_of_utterance == 49279);
    CHECK(sp.image == 49190);
    CHECK(sp.fake_image == 49189);
    CHECK(sp.global_image == 49152);
    CHECK(sp.im_start == 1);
    CHECK(sp.im_end == 2);
    CHECK(sp.endoftext == 0);
    CHECK(tok.row_col_id(1, 1) == 49153);
    CHECK(tok.row_col_id(1, 2) == 49154);
    CHECK(tok.row_col_id(6, 6) == 49188);
    CHECK(tok.row_col_id(7, 1) == smolvlm::k_no_token);  // only rows/cols up to 6 exist
    CHECK(tok.id_to_token(19556) == "Hello");
    CHECK(tok.id_to_token(905) == "Ġworld");
    CHECK(tok.token_bytes(905) == " world");
    CHECK(tok.token_to_id("Ġworld") == 905);
    CHECK(tok.token_to_id("<image>") == 49190);
    CHECK(tok.token_to_id("no such token") == smolvlm::k_no_token);
    CHECK(tok.id_to_token(-1).empty());
    CHECK(tok.id_to_token(49280).empty());
    CHECK(tok.is_special(49190));
    CHECK(tok.is_special(0));
    CHECK_FALSE(tok.is_special(905));
}

TEST_CASE("tokenizer: parse_special=false treats special tokens as text", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const tokenizer& tok = smolvlm_tok();
    CHECK(tok.encode("a<image>b") == std::vector<token_id>{81, 49190, 82});
    const std::vector<token_id> plain = tok.encode("a<image>b", /*parse_special=*/false);
    CHECK(plain.size() > 3);
    for (token_id id : plain) CHECK_FALSE(tok.is_special(id));
    CHECK(tok.decode(plain) == "a<image>b");
}

TEST_CASE("tokenizer: decode skips specials on request, drops unknown ids, replaces broken UTF-8", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const tokenizer& tok = smolvlm_tok();
    const std::vector<token_id> ids = {49279, 19556, 49190, 905, 99999, -5};
    CHECK(tok.decode(ids) == "<end_of_utterance>Hello<image> world");
    CHECK(tok.decode(ids, true) == "Hello world");
    // "日" = E6 97 A5: its bytes as three single-byte tokens.
    const token_id b0 = tok.token_to_id(smolvlm::detail::byte_level_spelling(0xE6));
    const token_id b1 = tok.token_to_id(smolvlm::detail::byte_level_spelling(0x97));
    const token_id b2 = tok.token_to_id(smolvlm::detail::byte_level_spelling(0xA5));
    REQUIRE(b0 != smolvlm::k_no_token);
    REQUIRE(b1 != smolvlm::k_no_token);
    REQUIRE(b2 != smolvlm::k_no_token);
    CHECK(tok.decode({b0, b1, b2}) == "日");
    CHECK(tok.decode({b0, b1}) == "\xEF\xBF\xBD");             // truncated: one U+FFFD
    CHECK(tok.decode({b0, 81}) == "\xEF\xBF\xBD" "a");        // broken by 'a'
    CHECK(tok.decode({b1, b2}) == "\xEF\xBF\xBD\xEF\xBF\xBD");  // two stray continuation bytes

    smolvlm::stream_decoder sd(tok);
    CHECK(sd.push(19556) == "Hello");
    CHECK(sd.push(b0).empty());
    CHECK(sd.pending_bytes() == 1);
    CHECK(sd.push(b1).empty());
    CHECK(sd.push(b2) == "日");
    CHECK(sd.pending_bytes() == 0);
    CHECK(sd.push(b0).empty());
    CHECK(sd.push(81) == "\xEF\xBF\xBD" "a");
    CHECK(sd.push(b0).empty());
    CHECK(sd.finish() == "\xEF\xBF\xBD");
    smolvlm::stream_decoder skip(tok, /*skip_special=*/true);
    CHECK(skip.push(49279).empty());
    CHECK(skip.push(905) == " world");
}

TEST_CASE("tokenizer: encode/decode round trip on random Unicode text", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const tokenizer& tok = smolvlm_tok();
    // Characters whose UTF-8 bytes all have vocab entries, so nothing is dropped.
    const std::vector<std::uint32_t> pool = {'a', 'Z', ' ', ' ', '\n', '\t', '\'', 's', '7', '.', '<', '>', 0xE9, 0xB2,
                                             0xBD, 0x663, 0x216B, 0x3000, 0x85, 0xA0, 0x65E5, 0x1F600, 0x200B, 0x2028,
                                             0x0301, 'l', 'e', '_', '{'};
    std::uint64_t s = 12345;
    for (int iter = 0; iter < 500; ++iter) {
        std::string text;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const int len = int((s >> 40) % 40);
        for (int k = 0; k < len; ++k) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            smolvlm::detail::utf8_append(text, pool[(s >> 33) % pool.size()]);
        }
        INFO("text: [" << text << "]");
        const auto ids = tok.encode(text);
        REQUIRE(tok.decode(ids) == text);
        smolvlm::stream_decoder sd(tok);
        std::string streamed;
        for (token_id id : ids) streamed += sd.push(id);
        streamed += sd.finish();
        REQUIRE(streamed == text);
    }
}

TEST_CASE("tokenizer: invalid UTF-8 input never crashes", "[text][bpe]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const tokenizer& tok = smolvlm_tok();
    std::uint64_t s = 99;
    for (int iter = 0; iter < 300; ++iter) {
        std::string text;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const int len = int((s >> 40) % 64);
        for (int k = 0; k < len; ++k) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            text.push_back(char(s >> 56));
        }
        const auto ids = tok.encode(text);
        for (token_id id : ids) REQUIRE(tok.valid_id(id));
        const std::string back = tok.decode(ids);
        CHECK(smolvlm::is_valid_utf8(back.data(), back.size()));
    }
    // Bytes without a vocab entry are dropped, as in the reference; invalid UTF-8 is first
    // replaced by U+FFFD (String::from_utf8_lossy: the Rust API only takes valid text).
    CHECK(tok.encode("\x04\x06").empty());
    CHECK(tok.encode("\x04\x06\xC0\xFF") == tok.encode("\xEF\xBF\xBD\xEF\xBF\xBD"));
}

TEST_CASE("tokenizer: SmolLM2 tokenizer.json (string merges) agrees with SmolVLM's ids", "[text][bpe]") {
    const std::string dir = smolvlm_test::shared_dir() + "/models/SmolLM2-135M-Instruct";
    SMOLVLM_REQUIRE_SHARED(dir + "/tokenizer.json");
    const std::string cases_path = smolvlm_test::fixtures_dir() + "/_unit/tokenizer_cases.json";
    SMOLVLM_REQUIRE_SHARED(cases_path);
    auto r = tokenizer::load_file(dir);
    REQUIRE(r.is_ok());
    const tokenizer& tok = r.value();
    CHECK(tok.vocab_size() == 49152);
    CHECK(tok.n_merges() == 48900);
    CHECK(tok.added_tokens().size() == 17);
    CHECK(tok.eos_id() == 2);  // <|im_end|>
    CHECK(tok.special_ids().im_start == 1);
    CHECK(tok.special_ids().image == smolvlm::k_no_token);
    // ids read from vocab.json: "user" 4093, "Ċ" (newline) 198, "Hi" 26843.
    CHECK(tok.encode("<|im_start|>user\nHi<|im_end|>") == std::vector<token_id>{1, 4093, 198, 26843, 2});

    // Same vocab.json and merges as SmolVLM (see models/SOURCES.md): every unit case
    // without a SmolVLM-only added token must give the same ids.
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(cases_path));
    REQUIRE(doc.is_ok());
    const tokenizer& vlm = smolvlm_tok();
    std::size_t compared = 0;
    for (const auto& c : doc.value().find("cases")->items()) {
        const std::string& text = c.find("text")->as_string();
        const std::vector<token_id> expected = ids_of(*c.find("ids"));
        bool vlm_only = false;
        for (token_id id : expected) vlm_only = vlm_only || id >= 49152;
        INFO("text: [" << text << "]");
        if (vlm_only) {
            // SmolLM2 has no <image> etc.: it spells them as text and decodes them back.
            CHECK(tok.decode(tok.encode(text)) == vlm.decode(expected));
            continue;
        }
        CHECK(tok.encode(text) == expected);
        ++compared;
    }
    CHECK(compared > 200);
}

TEST_CASE("tokenizer: SmolLM3 directory without tokenizer.json fails clearly", "[text][bpe]") {
    const std::string dir = smolvlm_test::shared_dir() + "/models/SmolLM3-3B";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    auto r = tokenizer::load_file(dir);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.error().code() == smolvlm::errc::io);
    CHECK(std::string(r.error().message()).find("tokenizer.json") != std::string::npos);
    CHECK(std::string(r.error().message()).find("SmolLM3-3B") != std::string::npos);
    auto r2 = tokenizer::load_file(dir + "/tokenizer.json");
    REQUIRE_FALSE(r2.is_ok());
    CHECK(std::string(r2.error().message()).find("tokenizer.json") != std::string::npos);
}

// ---- synthetic tokenizers: merge order, added-token flags, bad files ----------------

namespace {

// A tokenizer.json with all 256 byte symbols (id = byte), extra tokens and merges.
std::string tiny_tokenizer_json(const std::vector<std::string>& extra_tokens, const std::string& merges_json,
                                const std::string& added_json) {
    std::string vocab = "{";
    for (int b = 0; b < 256; ++b) {
        smolvlm::json_append_string(vocab, smolvlm::detail::byte_level_spelling(std::uint8_t(b)));
        vocab += ":" + std::to_string(b) + ",";
    }
    int id = 256;
    for (const auto& t : extra_tokens) {
        smolvlm::json_append_string(vocab, t);
        vocab += ":" + std::to_string(id++) + ",";
    }
    vocab.back() = '}';
    return std::string("{\"version\":\"1.0\",\"added_tokens\":") + added_json +
           ",\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\","
           "\"individual_digits\":true},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
           "\"use_regex\":true}]},\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":"
           "\"BPE\",\"dropout\":null,\"unk_token\":null,\"vocab\":" +
           vocab + ",\"merges\":" + merges_json + "}}";
}

}  // namespace

TEST_CASE("tokenizer: merges apply by rank, leftmost first", "[text][bpe]") {
    // ids: ab 256, bc 257, abc 258
    auto t1 = tokenizer::load_json(tiny_tokenizer_json({"ab", "bc", "abc"}, R"(["b c", "a b", "a bc"])", "[]"));
    REQUIRE(t1.is_ok());
    CHECK(t1.value().encode("abc") == std::vector<token_id>{258});  // b+c first (rank 0), then a+bc
    auto t2 = tokenizer::load_json(tiny_tokenizer_json({"ab", "bc", "abc"}, R"([["a", "b"], ["b", "c"]])", "[]"));
    REQUIRE(t2.is_ok());
    CHECK(t2.value().encode("abc") == std::vector<token_id>{256, 'c'});  // a+b wins; no "ab c" merge
    // Equal pairs: leftmost first. "aaa" with only a+a -> [aa, a].
    auto t3 = tokenizer::load_json(tiny_tokenizer_json({"aa"}, R"(["a a"])", "[]"));
    REQUIRE(t3.is_ok());
    CHECK(t3.value().encode("aaa") == std::vector<token_id>{256, 'a'});
    CHECK(t3.value().encode("aaaa") == std::vector<token_id>{256, 256});
}

TEST_CASE("tokenizer: added-token lstrip / rstrip / single_word", "[text][bpe]") {
    // Added tokens get the ids the Rust loader gives them: after the 256 vocab entries.
    const std::string added =
        R"([{"id":256,"content":"<L>","lstrip":true,"rstrip":false,"single_word":false,"normalized":false,"special":true},
            {"id":257,"content":"<R>","lstrip":false,"rstrip":true,"single_word":false,"normalized":false,"special":false},
            {"id":258,"content":"tok","lstrip":false,"rstrip":false,"single_word":true,"normalized":false,"special":false},
            {"id":259,"content":"<LL>","lstrip":false,"rstrip":false,"single_word":false,"normalized":false,"special":true}])";
    auto r = tokenizer::load_json(tiny_tokenizer_json({}, "[]", added));
    REQUIRE(r.is_ok());
    const tokenizer& t = r.value();
    CHECK(t.encode("a  <L>b") == std::vector<token_id>{'a', 256, 'b'});
    CHECK(t.encode("a<R>  b") == std::vector<token_id>{'a', 257, 'b'});
    CHECK(t.encode("x tok y") == std::vector<token_id>{'x', ' ', 258, ' ', 'y'});
    CHECK(t.encode("xtok") == std::vector<token_id>{'x', 't', 'o', 'k'});  // inside a word: not matched
    CHECK(t.encode("<LL>") == std::vector<token_id>{259});                   // longest match wins
    CHECK(t.encode("<L>", /*parse_special=*/false) == std::vector<token_id>{'<', 'L', '>'});
    CHECK(t.encode("<R>", /*parse_special=*/false) == std::vector<token_id>{257});  // not special: still matched
    CHECK(t.decode({256, 257, 'a'}, /*skip_special=*/true) == "<R>a");
}

TEST_CASE("tokenizer: malformed tokenizer.json gives errors, not crashes", "[text][bpe]") {
    using smolvlm::errc;
    CHECK(tokenizer::load_json("").error().code() == errc::bad_format);
    CHECK(tokenizer::load_json("[]").error().code() == errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{}})").error().code() == errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{"type":"Unigram","vocab":[]}})").error().code() == errc::unsupported);
    CHECK(tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}})").error().code() ==
          errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]}})").error().code() ==
          errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a c"]}})").error().code() ==
          errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b c"]}})")
              .error()
              .code() == errc::bad_format);
    CHECK(tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[[1,2]]}})").error().code() ==
          errc::bad_format);
    CHECK(tokenizer::load_json(R"({"normalizer":{"type":"NFC"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
              .error()
              .code() == errc::unsupported);
    CHECK(tokenizer::load_json(R"({"added_tokens":[{"id":5}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})")
              .error()
              .code() == errc::bad_format);
    // A minimal valid file loads, and a byte with no entry is dropped.
    auto ok = tokenizer::load_json(R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}})");
    REQUIRE(ok.is_ok());
    CHECK(ok.value().encode("abxab") == std::vector<token_id>{2, 2});
}

TEST_CASE("tokenizer: load time of SmolVLM tokenizer.json", "[text][bpe][timing]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_tokenizer_path());
    const std::string text = smolvlm_test::read_file(smolvlm_tokenizer_path());
    const auto t0 = std::chrono::steady_clock::now();
    auto r = tokenizer::load_json(text);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE(r.is_ok());
    // Reported, not asserted: timings on a shared 2-core machine are not reliable
    // enough for a hard limit (see bench/tokenizer_bench.cpp for measurements).
    WARN("tokenizer.json load: " << ms << " ms");
}

TEST_CASE("tokenizer: a default-constructed tokenizer is empty and safe", "[text][bpe]") {
    const tokenizer t;
    CHECK(t.encode("hello <image> 123").empty());
    CHECK(t.decode({1, 2, 3}).empty());
    CHECK(t.vocab_size() == 0);
    CHECK(t.token_to_id("a") == smolvlm::k_no_token);
    CHECK(t.id_to_token(0).empty());
    CHECK(t.row_col_id(1, 1) == smolvlm::k_no_token);
}

}  // namespace smolvlm_test_text_bpe_cases
