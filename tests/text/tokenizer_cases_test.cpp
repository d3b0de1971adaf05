// Tests for the general tokenizer.json pipeline (text/bpe.hpp, text/tokenizer_steps.hpp):
// ids, special-token insertion and decodes against the Rust `tokenizers` library for
// SmolLM3 (Llama-3 regex), Mistral 3 (Tekken regex), and the synthetic tokenizers of
// tests/text/data (regenerate with scripts/gen_tokenizer_cases.py).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/text/bpe.hpp"

namespace smolvlm_test_text_tokenizer_cases_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::encode_options;
using smolvlm::errc;
using smolvlm::token_id;
using smolvlm::tokenizer;

namespace {

std::string source_dir() {
#ifdef SMOLVLM_SOURCE_DIR
    return SMOLVLM_SOURCE_DIR;
#else
    return ".";
#endif
}

std::vector<token_id> ids_of(const smolvlm::json_value& arr) {
    std::vector<token_id> v;
    for (const auto& x : arr.items()) v.push_back(token_id(x.as_int()));
    return v;
}

std::string ids_str(const std::vector<token_id>& v) {
    std::string s;
    for (token_id i : v) s += std::to_string(i) + " ";
    return s;
}

struct case_stats {
    std::size_t cases = 0, checks = 0, mismatches = 0;
};

// Every expectation a case carries: ids, ids_with_special, ids_special_as_text, pair ids,
// decoded, decoded_skip_special_tokens; plus decode(encode(s)) == s where the reference
// round-trips, and the streaming decoder against decode.
void check_cases(const tokenizer& tok, const smolvlm::json_value& cases, case_stats& st) {
    for (const auto& c : cases.items()) {
        const std::string& text = c.find("text")->as_string();
        INFO("text: [" << text << "]");
        ++st.cases;
        auto check = [&](const char* what, const std::vector<token_id>& got, const std::vector<token_id>& want) {
            ++st.checks;
            if (got != want) {
                ++st.mismatches;
                FAIL_CHECK(what << ": got " << ids_str(got) << " want " << ids_str(want));
            }
        };
        const std::vector<token_id> ids = ids_of(*c.find("ids"));
        check("ids", tok.encode(text), ids);
        encode_options opt;
        auto plain = tok.try_encode(text, opt);
        REQUIRE(plain.is_ok());
        check("try_encode ids", plain.value(), ids);
        if (const auto* w = c.find("ids_with_special")) {
            opt.add_special_tokens = true;
            auto r = tok.try_encode(text, opt);
            REQUIRE(r.is_ok());
            check("ids_with_special", r.value(), ids_of(*w));
            opt.add_special_tokens = false;
        }
        if (const auto* w = c.find("ids_special_as_text")) check("ids_special_as_text", tok.encode(text, false), ids_of(*w));
        if (const auto* w = c.find("pair_ids")) {
            const std::string& b = c.find("pair_text")->as_string();
            opt.add_special_tokens = true;
            auto r = tok.try_encode_pair(text, b, opt);
            REQUIRE(r.is_ok());
            check("pair_ids", r.value(), ids_of(*w));
            opt.add_special_tokens = false;
            auto r2 = tok.try_encode_pair(text, b, opt);
            REQUIRE(r2.is_ok());
            check("pair_ids_no_special", r2.value(), ids_of(*c.find("pair_ids_no_special")));
        }
        if (const auto* d = c.find("decoded")) {
            ++st.checks;
            const std::string got = tok.decode(ids);
            if (got != d->as_string()) {
                ++st.mismatches;
                FAIL_CHECK("decoded: got [" << got << "] want [" << d->as_string() << "]");
            }
            if (d->as_string() == text) CHECK(tok.decode(tok.encode(text)) == text);  // round trip
            if (tok.byte_level_decoding()) {
                smolvlm::stream_decoder sd(tok);
                std::string streamed;
                for (token_id id : ids) streamed += sd.push(id);
                streamed += sd.finish();
                CHECK(streamed == got);
            }
        }
        if (const auto* d = c.find("decoded_skip_special_tokens")) {
            ++st.checks;
            const std::string got = tok.decode(ids, true);
            if (got != d->as_string()) {
                ++st.mismatches;
                FAIL_CHECK("decoded_skip_special_tokens: got [" << got << "] want [" << d->as_string() << "]");
            }
        }
    }
}

const tokenizer& load_cached(const std::string& path) {
    static std::vector<std::pair<std::string, tokenizer>> cache;
    for (const auto& e : cache)
        if (e.first == path) return e.second;
    auto r = tokenizer::load_file(path);
    INFO(path << ": " << (r.is_ok() ? "ok" : r.error().message()));
    REQUIRE(r.is_ok());
    cache.emplace_back(path, std::move(r).value());
    return cache.back().second;
}

void run_case_file(const std::string& tokenizer_path, const std::string& cases_path, std::size_t min_cases) {
    SMOLVLM_REQUIRE_SHARED(tokenizer_path);
    SMOLVLM_REQUIRE_SHARED(cases_path);
    const tokenizer& tok = load_cached(tokenizer_path);
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(cases_path));
    REQUIRE(doc.is_ok());
    const smolvlm::json_value* cases = doc.value().find("cases");
    REQUIRE(cases != nullptr);
    case_stats st;
    check_cases(tok, *cases, st);
    CHECK(st.cases >= min_cases);
    CHECK(st.mismatches == 0);
    WARN(cases_path << ": " << st.cases << " cases, " << st.checks << " checks, " << st.mismatches << " mismatches");
}

std::string unit(const char* f) { return smolvlm_test::fixtures_dir() + "/_unit/" + f; }

}  // namespace

TEST_CASE("tokenizer: SmolLM3 (Llama-3 regex, ignore_merges) matches Rust tokenizers", "[text][tokenizer]") {
    run_case_file(unit("smollm3_tokenizer.json"), unit("smollm3_tokenizer_cases.json"), 397);
}

TEST_CASE("tokenizer: SmolLM3 extra cases (generated with tokenizers 0.23)", "[text][tokenizer]") {
    run_case_file(unit("smollm3_tokenizer.json"), source_dir() + "/tests/text/data/smollm3_extra_cases.json", 300);
}

TEST_CASE("tokenizer: Mistral 3 (Tekken regex, TemplateProcessing <s>) matches Rust tokenizers", "[text][tokenizer]") {
    run_case_file(unit("mistral3_tokenizer.json"), unit("mistral3_tokenizer_cases.json"), 400);
}

TEST_CASE("tokenizer: synthetic tokenizers cover every supported stage", "[text][tokenizer]") {
    const std::string path = source_dir() + "/tests/text/data/synthetic_tokenizers.json";
    REQUIRE(smolvlm_test::path_exists(path));
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(path));
    REQUIRE(doc.is_ok());
    const smolvlm::json_value* list = doc.value().find("tokenizers");
    REQUIRE(list != nullptr);
    REQUIRE(list->size() >= 10);
    case_stats st;
    for (const auto& t : list->items()) {
        const std::string& name = t.find("name")->as_string();
        INFO("tokenizer " << name);
        auto tok = tokenizer::load_json(t.find("tokenizer_json")->as_string());
        INFO((tok.is_ok() ? "loaded" : tok.error().message()));
        REQUIRE(tok.is_ok());
        check_cases(tok.value(), *t.find("cases"), st);
    }
    CHECK(st.mismatches == 0);
    WARN("synthetic tokenizers: " << st.cases << " cases, " << st.checks << " checks, " << st.mismatches
                                  << " mismatches");
}

TEST_CASE("tokenizer: every real tokenizer.json of the shared models and fixtures loads", "[text][tokenizer]") {
    const std::string shared = smolvlm_test::shared_dir();
    SMOLVLM_REQUIRE_SHARED(shared + "/models/SmolLM2-135M-Instruct/tokenizer.json");
    for (const char* p : {"/models/SmolLM2-135M-Instruct/tokenizer.json", "/models/SmolLM2-360M-Instruct/tokenizer.json",
                          "/models/SmolVLM-256M-Instruct/tokenizer.json",
                          "/fixtures/smollm3_bf16_chat/model/tokenizer.json",
                          "/fixtures/mistral3_bf16_one_image/model/tokenizer.json",
                          "/fixtures/_unit/smollm3_tokenizer.json", "/fixtures/_unit/mistral3_tokenizer.json"}) {
        const std::string path = shared + p;
        if (!smolvlm_test::path_exists(path)) continue;
        INFO(path);
        const tokenizer& tok = load_cached(path);
        CHECK(tok.vocab_size() > 1000);
        CHECK(tok.decode(tok.encode("Hello, world! 123 日本")) == "Hello, world! 123 日本");
    }
}

TEST_CASE("tokenizer: SmolLM3 and Mistral special tokens and add_special_tokens", "[text][tokenizer]") {
    SMOLVLM_REQUIRE_SHARED(unit("smollm3_tokenizer.json"));
    SMOLVLM_REQUIRE_SHARED(unit("mistral3_tokenizer.json"));
    const tokenizer& s3 = load_cached(unit("smollm3_tokenizer.json"));
    CHECK(s3.vocab_size() == 128256);
    CHECK(s3.token_to_id("<|im_start|>") == 128011);
    CHECK(s3.is_special(128011));
    CHECK_FALSE(s3.is_special(s3.token_to_id("<think>")));  // special: false in the file
    CHECK(s3.num_special_tokens_to_add(false) == 0);         // ByteLevel post-processor: no BOS
    const tokenizer& m3 = load_cached(unit("mistral3_tokenizer.json"));
    CHECK(m3.num_special_tokens_to_add(false) == 1);
    CHECK(m3.num_special_tokens_to_add(true) == 2);
    encode_options bos;
    bos.add_special_tokens = true;
    auto r = m3.try_encode("Hello world", bos);
    REQUIRE(r.is_ok());
    CHECK(r.value() == std::vector<token_id>{1, 22177, 4304});
    CHECK(m3.encode("[INST]Hi[/INST]").front() == 3);
    CHECK(m3.encode("[INST]", /*parse_special=*/false).size() > 1);
}

TEST_CASE("tokenizer: invalid UTF-8 is replaced like from_utf8_lossy, or rejected on request", "[text][tokenizer]") {
    SMOLVLM_REQUIRE_SHARED(unit("smollm3_tokenizer.json"));
    const tokenizer& tok = load_cached(unit("smollm3_tokenizer.json"));
    CHECK(tok.encode("a\xFF" "b\xE6\x97") == tok.encode("a\xEF\xBF\xBD" "b\xEF\xBF\xBD"));
    encode_options strict;
    strict.strict_utf8 = true;
    auto r = tok.try_encode("a\xFF", strict);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.error().code() == errc::invalid_argument);
    CHECK(tok.try_encode("ok \xC3\xA9", strict).is_ok());
}

// ---- bad files -------------------------------------------------------------------------

namespace {

std::string tiny_json(const std::string& pre, const std::string& extra = "") {
    return "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]},\"pre_tokenizer\":" + pre +
           extra + "}";
}

void expect_error(const std::string& json, errc code, const char* needle) {
    auto r = tokenizer::load_json(json);
    INFO(json);
    REQUIRE_FALSE(r.is_ok());
    INFO(r.error().message());
    CHECK(r.error().code() == code);
    CHECK(std::string(r.error().message()).find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("tokenizer: unsupported components and regex constructs are load errors naming them", "[text][tokenizer]") {
    expect_error(tiny_json("null", ",\"normalizer\":{\"type\":\"NFC\"}"), errc::unsupported, "NFC");
    expect_error(tiny_json("null", ",\"normalizer\":{\"type\":\"Lowercase\"}"), errc::unsupported, "Lowercase");
    expect_error(tiny_json("{\"type\":\"BertPreTokenizer\"}"), errc::unsupported, "BertPreTokenizer");
    expect_error(tiny_json("null", ",\"post_processor\":{\"type\":\"RobertaProcessing\"}"), errc::unsupported,
                 "RobertaProcessing");
    expect_error(tiny_json("null", ",\"decoder\":{\"type\":\"WordPiece\"}"), errc::unsupported, "WordPiece");
    expect_error(tiny_json("null", ",\"truncation\":{\"max_length\":5}"), errc::unsupported, "truncation");
    expect_error("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", errc::unsupported, "Unigram");
    auto split = [](const std::string& re) {
        std::string j = "{\"type\":\"Split\",\"pattern\":{\"Regex\":";
        smolvlm::json_append_string(j, re);
        return j + "},\"behavior\":\"Isolated\",\"invert\":false}";
    };
    expect_error(tiny_json(split("(?<=a)b")), errc::unsupported, "lookbehind");
    expect_error(tiny_json(split("(a)\\1")), errc::unsupported, "\\1");
    expect_error(tiny_json(split("[[:alpha:]]")), errc::unsupported, "POSIX");
    expect_error(tiny_json(split("\\p{Greek}")), errc::unsupported, "Greek");
    expect_error(tiny_json(split("(?i:é)")), errc::unsupported, "non-ASCII");
    expect_error(tiny_json(split("(?i:ss)")), errc::unsupported, "multi-character case fold");
    expect_error(tiny_json(split("a**")), errc::unsupported, "nested quantifier");
    expect_error(tiny_json(split("(?m:a)")), errc::unsupported, "(?m");
    expect_error(tiny_json(split("a{1,2}+")), errc::unsupported, "{m,n}+");
    expect_error(tiny_json(split("(a")), errc::bad_format, "missing ')'");
    expect_error(tiny_json(split("[a")), errc::bad_format, "unterminated");
    expect_error(tiny_json(split("*a")), errc::bad_format, "quantifier without a target");
}

TEST_CASE("tokenizer: malformed fields are bad_format errors", "[text][tokenizer]") {
    expect_error(tiny_json("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\",\"invert\":false}"),
                 errc::bad_format, "Sideways");
    expect_error(tiny_json("{\"type\":\"Split\",\"pattern\":\"a\",\"behavior\":\"Isolated\",\"invert\":false}"),
                 errc::bad_format, "pattern");
    expect_error(tiny_json("{\"type\":\"ByteLevel\",\"add_prefix_space\":\"yes\"}"), errc::bad_format, "add_prefix_space");
    expect_error(tiny_json("{\"type\":\"Metaspace\",\"replacement\":\"ab\"}"), errc::bad_format, "single character");
    expect_error(tiny_json("{\"type\":\"Sequence\"}"), errc::bad_format, "pretokenizers");
    expect_error(tiny_json("{\"pretokenizers\":[]}"), errc::bad_format, "type");
    expect_error(tiny_json("null", ",\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":"
                                   "{\"id\":\"<s>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}"),
                 errc::bad_format, "<s>");
    expect_error(tiny_json("null", ",\"decoder\":{\"type\":\"Strip\",\"content\":\" \",\"start\":-1,\"stop\":0}"),
                 errc::bad_format, "start");
    expect_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}", errc::bad_format,
                 "unk_token");
    expect_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"ignore_merges\":1}}", errc::bad_format,
                 "ignore_merges");
    expect_error(tiny_json("null", ",\"added_tokens\":[{\"id\":3,\"content\":\"x\",\"special\":\"yes\"}]"), errc::bad_format,
                 "special");
}

TEST_CASE("tokenizer: a pathological pattern hits the step budget with an error, not a hang", "[text][tokenizer]") {
    std::string j = "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a|aa)+b\"},\"behavior\":\"Isolated\",\"invert\":false}";
    auto r = tokenizer::load_json(tiny_json(j));
    REQUIRE(r.is_ok());
    const std::string text(60, 'a');
    auto e = r.value().try_encode(text);
    REQUIRE_FALSE(e.is_ok());
    CHECK(std::string(e.error().message()).find("step budget") != std::string::npos);
    CHECK(r.value().encode(text).empty());  // the never-failing form gives nothing
}

TEST_CASE("tokenizer: decode(encode(s)) == s on random Unicode text (SmolLM3, Mistral 3)", "[text][tokenizer]") {
    SMOLVLM_REQUIRE_SHARED(unit("smollm3_tokenizer.json"));
    SMOLVLM_REQUIRE_SHARED(unit("mistral3_tokenizer.json"));
    const std::vector<std::uint32_t> pool = {'a', 'Z', ' ', ' ', '\n', '\r', '\t', '\'', 's', 'S', 'L', '7', '.', '<',
                                             '>', '|', '[', ']', 0xE9, 0xB2, 0xBD, 0x17F, 0x212A, 0x663, 0x216B, 0x3000,
                                             0x85, 0xA0, 0x65E5, 0x1F600, 0x200D, 0x2028, 0x0301, 0x10D4A, 'l', '_', '{'};
    for (const char* f : {"smollm3_tokenizer.json", "mistral3_tokenizer.json"}) {
        const tokenizer& tok = load_cached(unit(f));
        std::uint64_t s = 4242;
        for (int iter = 0; iter < 300; ++iter) {
            std::string text;
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const int len = int((s >> 40) % 48);
            for (int k = 0; k < len; ++k) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                smolvlm::detail::utf8_append(text, pool[(s >> 33) % pool.size()]);
            }
            INFO(f << " text: [" << text << "]");
            const auto ids = tok.encode(text, /*parse_special=*/false);
            REQUIRE(tok.decode(ids) == text);
        }
    }
}

}  // namespace smolvlm_test_text_tokenizer_cases_cases
