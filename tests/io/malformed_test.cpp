// Hostile inputs: a corpus of malformed safetensors files, shard indexes, configs and
// checkpoints, built by the test itself. Each must be rejected with a status whose
// code and message say what is wrong (never a crash, never an out-of-bounds read:
// the ASan build runs this file too).
#include <smolvlm/model/families.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/config.hpp>
#include <smolvlm/model/weights.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "../tiny_checkpoint.hpp"

namespace smolvlm_test_io_malformed_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// [u64 LE header length][header][data_len bytes of 0x5a]
std::vector<std::uint8_t> st_file(const std::string& header, std::size_t data_len) {
    std::vector<std::uint8_t> f;
    const std::uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) f.push_back(std::uint8_t(n >> (8 * i)));
    f.insert(f.end(), header.begin(), header.end());
    f.insert(f.end(), data_len, 0x5a);
    return f;
}

std::vector<std::uint8_t> with_length(std::uint64_t n, const std::string& rest) {
    std::vector<std::uint8_t> f;
    for (int i = 0; i < 8; ++i) f.push_back(std::uint8_t(n >> (8 * i)));
    f.insert(f.end(), rest.begin(), rest.end());
    return f;
}

status read_st(const std::vector<std::uint8_t>& bytes) {
    // Exactly-sized heap copy, so ASan sees a read one byte past the end.
    std::vector<std::uint8_t> exact(bytes);
    auto r = safetensors_file::from_memory(exact.data(), exact.size());
    return r.is_ok() ? status::ok() : r.error();
}

// "" when s is an error with the wanted code and a message containing phrase, else why not.
// (One Catch assertion per case keeps this file quick to compile.)
std::string why_not_rejected(const status& s, errc code, const std::string& phrase) {
    if (s.is_ok()) return "accepted";
    const std::string m = s.message();
    if (s.code() != code) return std::string("code ") + errc_name(s.code()) + " (want " + errc_name(code) + "): " + m;
    if (m.find(phrase) == std::string::npos) return "message lacks '" + phrase + "': " + m;
    return "";
}
#define CHECK_REJECTED(st, code_, phrase) CHECK(why_not_rejected((st), (code_), (phrase)) == "")

const char* k_valid_header =
    R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
    R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}})";

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

}  // namespace

TEST_CASE("malformed safetensors: the valid baseline reads", "[io][malformed]") {
    auto f = st_file(k_valid_header, 32);
    auto r = safetensors_file::from_memory(f.data(), f.size());
    REQUIRE(r.is_ok());
    CHECK(r->tensors().size() == 2);
    REQUIRE(r->find("a") != nullptr);
    CHECK(r->find("a")->nbytes == 24);
}

TEST_CASE("malformed safetensors: truncated at every byte offset", "[io][malformed]") {
    const auto f = st_file(k_valid_header, 32);
    for (std::size_t len = 0; len < f.size(); ++len) {
        std::vector<std::uint8_t> cut(f.begin(), f.begin() + long(len));
        auto r = safetensors_file::from_memory(cut.data(), cut.size());
        INFO("length " << len << " of " << f.size());
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == errc::truncated);
        CHECK(std::string(r.error().message()).find("safetensors") != std::string::npos);
    }
}

TEST_CASE("malformed safetensors: header length", "[io][malformed]") {
    CHECK_REJECTED(read_st(with_length(1000, "{}")), errc::truncated, "past the end");
    CHECK_REJECTED(read_st(with_length(std::uint64_t(1) << 63, "{}")), errc::bad_format, "cap");
    CHECK_REJECTED(read_st(with_length(UINT64_MAX, "{}")), errc::bad_format, "cap");
    CHECK_REJECTED(read_st(with_length(0, "")), errc::bad_format, "too short");
    CHECK_REJECTED(read_st(std::vector<std::uint8_t>{2, 0, 0}), errc::truncated, "no header length");
}

TEST_CASE("malformed safetensors: header is not a JSON object", "[io][malformed]") {
    CHECK_REJECTED(read_st(st_file("hello world", 0)), errc::bad_format, "safetensors header: json");
    CHECK_REJECTED(read_st(st_file("[1, 2, 3]", 0)), errc::bad_format, "not a JSON object");
    CHECK_REJECTED(read_st(st_file("\"str\"", 0)), errc::bad_format, "not a JSON object");
    CHECK_REJECTED(read_st(st_file("12", 0)), errc::bad_format, "not a JSON object");
    CHECK_REJECTED(read_st(st_file("{\"a\":}", 0)), errc::bad_format, "unexpected character at byte 5");
    CHECK_REJECTED(read_st(st_file("{\"a\":{},}", 0)), errc::bad_format, "expected a string key");
    CHECK_REJECTED(read_st(st_file("{} trailing", 0)), errc::bad_format, "unexpected data");
    CHECK_REJECTED(read_st(st_file("{\"a\":\"\\ud800\"}", 0)), errc::bad_format, "surrogate");
    // A tensor name with invalid UTF-8 (0xff, an overlong '/', a lone continuation byte).
    for (const char* bad : {"\xff", "\xc0\xaf", "\x80", "ab\xed\xa0\x80"}) {
        const std::string h = "{" + entry(std::string("w") + bad, "F32", "[1]", "[0,4]") + "}";
        CHECK_REJECTED(read_st(st_file(h, 4)), errc::bad_format, "invalid UTF-8");
    }
    // Deep nesting: 10'000 '[' must hit the depth limit, not the stack.
    std::string deep = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
    CHECK_REJECTED(read_st(st_file(deep, 0)), errc::bad_format, "nesting deeper than the limit");
    std::string deep_obj;
    for (int i = 0; i < 5000; ++i) deep_obj += "{\"k\":";
    CHECK_REJECTED(read_st(st_file(deep_obj, 0)), errc::bad_format, "nesting deeper than the limit");
}

TEST_CASE("malformed safetensors: shapes", "[io][malformed]") {
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[-1]", "[0,4]") + "}", 4)), errc::bad_shape,
                   "negative or non-integer dimension");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2.5]", "[0,4]") + "}", 4)), errc::bad_shape,
                   "negative or non-integer dimension");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[\"2\"]", "[0,8]") + "}", 8)), errc::bad_shape,
                   "negative or non-integer dimension");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[1e3]", "[0,4000]") + "}", 4000)), errc::bad_shape,
                   "non-integer");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[4611686018427387904,8]", "[0,4]") + "}", 4)),
                   errc::bad_shape, "overflows");  // [2^62, 8]
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "U8", "[4294967296,4294967296]", "[0,4]") + "}", 4)),
                   errc::bad_shape, "overflows");  // 2^64 elements
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[99999999999999999999]", "[0,4]") + "}", 4)),
                   errc::bad_shape, "non-integer");  // beyond int64: a double, not an integer
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[1,1,1,1,1,1,1]", "[0,4]") + "}", 4)), errc::unsupported,
                   "dimensions");
    CHECK_REJECTED(read_st(st_file("{\"t\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4)),
                   errc::bad_format, "no shape array");
    // dtype x shape must equal the byte count: 2x3 F32 is 24 bytes, not 20.
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2,3]", "[0,20]") + "}", 24)), errc::bad_shape,
                   "dtype x shape needs 24");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "BF16", "[3]", "[0,8]") + "}", 8)), errc::bad_shape,
                   "dtype x shape needs 6");
    // A scalar ([]) is one element.
    auto ok = st_file("{" + entry("s", "F64", "[]", "[0,8]") + "}", 8);
    CHECK(read_st(ok).is_ok());
}

TEST_CASE("malformed safetensors: offsets", "[io][malformed]") {
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[0,8]") + "}", 7)), errc::truncated,
                   "past the end of the 7-byte data section");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[18446744073709551608,0]") + "}", 8)),
                   errc::bad_format, "non-integer or negative offsets");  // 2^64 - 8 is not an int64
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[9223372036854775800,9223372036854775807]") + "}", 8)),
                   errc::truncated, "past the end");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[8,0]") + "}", 8)), errc::bad_format,
                   "ends before it begins");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[-8,0]") + "}", 8)), errc::bad_format,
                   "negative offsets");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[0]") + "}", 8)), errc::bad_format,
                   "data_offsets");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[0,8,16]") + "}", 16)), errc::bad_format,
                   "data_offsets");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F32", "[2]", "[0.0,8]") + "}", 8)), errc::bad_format,
                   "non-integer");
    // Overlap: b starts inside a.
    CHECK_REJECTED(read_st(st_file("{" + entry("a", "F32", "[4]", "[0,16]") + "," + entry("b", "F32", "[2]", "[8,16]") +
                                   "}", 16)),
                   errc::bad_format, "overlap");
    // The same range twice.
    CHECK_REJECTED(read_st(st_file("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[0,8]") +
                                   "}", 8)),
                   errc::bad_format, "overlap");
}

TEST_CASE("malformed safetensors: names, dtypes, entries, metadata", "[io][malformed]") {
    CHECK_REJECTED(read_st(st_file("{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("a", "F32", "[1]", "[4,8]") +
                                   "}", 8)),
                   errc::bad_format, "duplicate");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "X99", "[1]", "[0,4]") + "}", 4)), errc::bad_format,
                   "unknown dtype");
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "f32", "[1]", "[0,4]") + "}", 4)), errc::bad_format,
                   "unknown dtype");  // dtype names are case-sensitive
    CHECK_REJECTED(read_st(st_file("{" + entry("t", "F8_E4M3", "[4]", "[0,4]") + "}", 4)), errc::unsupported,
                   "F8_E4M3");
    CHECK_REJECTED(read_st(st_file("{\"t\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4)), errc::bad_format,
                   "no dtype string");
    CHECK_REJECTED(read_st(st_file("{\"t\":[1,2]}", 0)), errc::bad_format, "entry 't' is not an object");
    CHECK_REJECTED(read_st(st_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)), errc::bad_format,
                   "data_offsets");
    CHECK_REJECTED(read_st(st_file("{\"__metadata__\":{\"k\":1}}", 0)), errc::bad_format,
                   "__metadata__ value 'k' is not a string");
    CHECK_REJECTED(read_st(st_file("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0)), errc::bad_format,
                   "not a string");
    CHECK_REJECTED(read_st(st_file("{\"__metadata__\":[\"k\"]}", 0)), errc::bad_format, "__metadata__ is not an object");
    // Error messages that name a tensor cap the name: a 10 kB name does not overflow anything.
    const std::string long_name(10000, 'n');
    const status s = read_st(st_file("{" + entry(long_name, "F32", "[1]", "[0,8]") + "}", 8));
    CHECK(s.code() == errc::bad_shape);
    CHECK(std::string(s.message()).size() < status::k_max_message);
}

TEST_CASE("malformed safetensors: files on disk", "[io][malformed]") {
    const std::string dir = smolvlm_test::temp_dir() + "/malformed";
    (void)std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
    auto r = safetensors_file::open((dir + "/absent.safetensors").c_str());
    CHECK_REJECTED(r.is_ok() ? status::ok() : r.error(), errc::io, "cannot open");
    auto d = safetensors_file::open(dir.c_str());  // a directory
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.error().code() == errc::io);
    // An empty file and a truncated file name the path.
    { std::FILE* fp = std::fopen((dir + "/empty.safetensors").c_str(), "wb"); REQUIRE(fp); std::fclose(fp); }
    auto e = safetensors_file::open((dir + "/empty.safetensors").c_str());
    CHECK_REJECTED(e.is_ok() ? status::ok() : e.error(), errc::truncated, "empty.safetensors");
    auto none = safetensors_set::open_dir(dir);
    CHECK_REJECTED(none.is_ok() ? status::ok() : none.error(), errc::io, "no model.safetensors");
}

namespace {

void write_bytes(const std::string& path, const std::vector<std::uint8_t>& b) {
    std::FILE* fp = std::fopen(path.c_str(), "wb");
    REQUIRE(fp);
    REQUIRE(std::fwrite(b.data(), 1, b.size(), fp) == b.size());
    std::fclose(fp);
}
void write_text(const std::string& path, const std::string& s) {
    write_bytes(path, std::vector<std::uint8_t>(s.begin(), s.end()));
}
status open_index(const std::string& dir) {
    auto r = safetensors_set::open_dir(dir);
    return r.is_ok() ? status::ok() : r.error();
}

}  // namespace

TEST_CASE("malformed shard index", "[io][malformed]") {
    const std::string dir = smolvlm_test::temp_dir() + "/malformed_shards";
    (void)std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "/sub'").c_str());
    write_bytes(dir + "/a.safetensors", st_file("{" + entry("x", "F32", "[1]", "[0,4]") + "}", 4));
    write_bytes(dir + "/b.safetensors", st_file("{" + entry("y", "F32", "[1]", "[0,4]") + "}", 4));
    write_bytes(dir + "/sub/c.safetensors", st_file("{" + entry("z", "F32", "[1]", "[0,4]") + "}", 4));
    const std::string idx = dir + "/model.safetensors.index.json";

    write_text(idx, R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
    REQUIRE(open_index(dir).is_ok());

    for (const char* name : {"../a.safetensors", "sub/c.safetensors", "/etc/passwd", "..", ".", "", "a\\b"}) {
        write_text(idx, std::string(R"({"weight_map":{"x":")") + (std::string(name) == "a\\b" ? "a\\\\b" : name) +
                            "\"}}");
        CHECK_REJECTED(open_index(dir), errc::bad_format, "not a plain file name");
    }
    write_text(idx, R"({"weight_map":{"x":"missing.safetensors"}})");
    CHECK_REJECTED(open_index(dir), errc::io, "missing.safetensors");
    write_text(idx, R"({"weight_map":{"x":"a.safetensors","w":"a.safetensors"}})");
    CHECK_REJECTED(open_index(dir), errc::bad_shape, "tensor 'w' is not in shard 'a.safetensors'");
    write_text(idx, R"({"weight_map":{"x":1}})");
    CHECK_REJECTED(open_index(dir), errc::bad_format, "not a string");
    write_text(idx, R"({"metadata":{}})");
    CHECK_REJECTED(open_index(dir), errc::bad_format, "no weight_map");
    write_text(idx, R"({"weight_map":)");
    CHECK_REJECTED(open_index(dir), errc::bad_format, "model.safetensors.index.json: json");
    // A tensor stored in two shards is ambiguous.
    write_bytes(dir + "/b.safetensors", st_file("{" + entry("x", "F32", "[1]", "[0,4]") + "}", 4));
    write_text(idx, R"({"weight_map":{"x":"a.safetensors","q":"b.safetensors"}})");
    write_bytes(dir + "/b.safetensors",
                st_file("{" + entry("x", "F32", "[1]", "[0,4]") + "," + entry("q", "F32", "[1]", "[4,8]") + "}", 8));
    CHECK_REJECTED(open_index(dir), errc::bad_format, "appears in two shards");
    // A malformed shard names the shard file.
    write_bytes(dir + "/b.safetensors", with_length(999, "{}"));
    write_text(idx, R"({"weight_map":{"y":"b.safetensors"}})");
    CHECK_REJECTED(open_index(dir), errc::truncated, "b.safetensors");
}

// ---- configs ------------------------------------------------------------------------------

namespace {

// Replace (or add) the members given as a JSON fragment `,"key":value,...` in the object text `base`.
// Configs with repeated keys are refused, so an override must replace, not repeat.
std::string with_overrides(const std::string& base, const std::string& extra) {
    if (extra.empty()) return base;
    auto b = parse_json(base);
    auto e = parse_json("{" + extra.substr(1) + "}");
    REQUIRE(b.is_ok());
    REQUIRE(e.is_ok());
    json_value out = b.value();
    for (const auto& m : e->members()) {
        bool replaced = false;
        for (auto& bm : out.members_mut())
            if (bm.first == m.first) {
                bm.second = m.second;
                replaced = true;
            }
        if (!replaced) out.members_mut().push_back(m);
    }
    std::string text;
    json_write(text, out);
    return text;
}

// A small valid idefics3 config; tests override one key of the top level, text_config or
// vision_config.
std::string vlm_config(const std::string& text_extra = "", const std::string& vision_extra = "",
                       const std::string& top_extra = "") {
    const std::string text = with_overrides(
        R"({"model_type":"llama","vocab_size":128,"hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,)"
        R"("num_attention_heads":4,"num_key_value_heads":2})", text_extra);
    const std::string vision = with_overrides(
        R"({"layer_norm_eps":1e-6,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,)"
        R"("num_attention_heads":2,"image_size":32,"patch_size":8})", vision_extra);
    return with_overrides(R"({"model_type":"idefics3","scale_factor":2,"image_token_id":100,"tie_word_embeddings":true,)"
                          R"("text_config":)" + text + R"(,"vision_config":)" + vision + "}", top_extra);
}
std::string llama_config(const std::string& extra) {
    return with_overrides(
        R"({"model_type":"llama","vocab_size":64,"hidden_size":16,"intermediate_size":32,"num_hidden_layers":1,)"
        R"("num_attention_heads":2})", extra);
}
status parse(const std::string& s) {
    auto r = parse_model_config(s);
    return r.is_ok() ? status::ok() : r.error();
}

}  // namespace

TEST_CASE("malformed config: the baselines parse", "[model][malformed]") {
    auto v = parse_model_config(vlm_config());
    REQUIRE(v.is_ok());
    CHECK(v->image_seq_len() == 4);  // (32/8)^2 / 2^2
    auto l = parse_model_config(llama_config(""));
    REQUIRE(l.is_ok());
    CHECK(l->text.head_dim == 8);
    CHECK(l->text.num_key_value_heads == 2);
}

TEST_CASE("malformed config: not JSON, not an object, model_type", "[model][malformed]") {
    CHECK_REJECTED(parse(""), errc::bad_format, "config.json: json");
    CHECK_REJECTED(parse("{\"model_type\":\"llama\",}"), errc::bad_format, "config.json: json");
    CHECK_REJECTED(parse("[]"), errc::bad_format, "not a JSON object");
    CHECK_REJECTED(parse("{}"), errc::bad_format, "no model_type");
    CHECK_REJECTED(parse("{\"model_type\":5}"), errc::bad_format, "no model_type");
    CHECK_REJECTED(parse("{\"model_type\":\"gpt2\"}"), errc::unsupported, "model_type 'gpt2' is not supported");
    CHECK_REJECTED(parse("{\"model_type\":\"LLAMA\"}"), errc::unsupported, "not supported");
    CHECK_REJECTED(parse(std::string(100, '[') + std::string(100, ']')), errc::bad_format, "nesting");
    CHECK_REJECTED(parse(vlm_config("", "", ",\"text_config\":[1]")), errc::bad_format, "text_config");
    CHECK_REJECTED(parse(R"({"model_type":"smolvlm","vision_config":"big"})"), errc::bad_format,
                   "vision_config is not an object");
}

TEST_CASE("malformed config: wrong types", "[model][malformed]") {
    CHECK_REJECTED(parse(llama_config(R"(,"num_key_value_heads":"2")")), errc::bad_format,
                   "num_key_value_heads must be an integer");
    CHECK_REJECTED(parse(llama_config(R"(,"num_key_value_heads":2.0)")), errc::bad_format, "must be an integer");
    CHECK_REJECTED(parse(llama_config(R"(,"rms_norm_eps":"1e-5")")), errc::bad_format, "rms_norm_eps must be a number");
    CHECK_REJECTED(parse(llama_config(R"(,"tie_word_embeddings":1)")), errc::bad_format, "must be true or false");
    CHECK_REJECTED(parse(llama_config(R"(,"hidden_act":7)")), errc::bad_format, "hidden_act must be a string");
    CHECK_REJECTED(parse(llama_config(R"(,"eos_token_id":"</s>")")), errc::bad_format, "eos_token_id");
    CHECK_REJECTED(parse(llama_config(R"(,"eos_token_id":[1,"x"])")), errc::bad_format, "must hold integers");
    CHECK_REJECTED(parse(vlm_config("", R"(,"patch_size":[8])")), errc::bad_format, "patch_size must be an integer");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"scale_factor":"2")")), errc::bad_format, "scale_factor");
}

TEST_CASE("malformed config: zero, negative and huge sizes", "[model][malformed]") {
    for (const char* key : {"hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size",
                            "num_attention_heads", "max_position_embeddings", "head_dim"}) {
        for (const char* v : {"0", "-1", "-9223372036854775808", "1000000000000"}) {
            INFO(key << " = " << v);
            CHECK_REJECTED(parse(llama_config(std::string(",\"") + key + "\":" + v)), errc::bad_format,
                           std::string(key) + " = ");
        }
    }
    CHECK_REJECTED(parse(llama_config(R"(,"rms_norm_eps":-1)")), errc::bad_format, "rms_norm_eps is out of range");
    CHECK_REJECTED(parse(llama_config(R"(,"rope_theta":1e300)")), errc::bad_format, "rope_theta is out of range");
    CHECK_REJECTED(parse(llama_config(R"(,"eos_token_id":-5)")), errc::bad_format, "out of range");
    CHECK_REJECTED(parse(vlm_config("", R"(,"image_size":0)")), errc::bad_format, "image_size = 0");
    CHECK_REJECTED(parse(vlm_config("", R"(,"image_size":1000000)")), errc::bad_format, "image_size = 1000000");
    CHECK_REJECTED(parse(vlm_config("", R"(,"num_hidden_layers":100000)")), errc::bad_format, "num_hidden_layers");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"scale_factor":0)")), errc::bad_format, "scale_factor = 0");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"image_token_id":-1)")), errc::bad_format, "image_token_id");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"image_token_id":128)")), errc::bad_format, "outside the vocabulary");
}

TEST_CASE("malformed config: heads and shapes that do not divide", "[model][malformed]") {
    CHECK_REJECTED(parse(llama_config(R"(,"num_key_value_heads":3)")), errc::bad_format,
                   "not a multiple of num_key_value_heads");
    CHECK_REJECTED(parse(llama_config(R"(,"head_dim":7)")), errc::bad_format, "head_dim must be even");
    // hidden 16 / 32 heads: the derived head_dim would be 0.
    CHECK_REJECTED(parse(llama_config(R"(,"num_attention_heads":32,"num_key_value_heads":32)")), errc::bad_format,
                   "head_dim");
    CHECK_REJECTED(parse(vlm_config("", R"(,"num_attention_heads":3)")), errc::bad_format,
                   "vision hidden_size is not a multiple of num_attention_heads");
    // image_size need not be a multiple of patch_size (SigLIP so400m: 384 / 14): 32 / 7 -> 4 per side.
    auto odd = parse_model_config(vlm_config("", R"(,"patch_size":7)"));
    REQUIRE(odd.is_ok());
    CHECK(odd->vision.patches_per_side() == 4);
    CHECK_REJECTED(parse(vlm_config("", R"(,"patch_size":64)")), errc::bad_format, "patch_size is larger than image_size");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"scale_factor":3)")), errc::bad_format,
                   "patches per side is not a multiple of scale_factor 3");
    CHECK_REJECTED(parse(vlm_config("", "", R"(,"scale_factor":8)")), errc::bad_format, "scale_factor 8");
}

TEST_CASE("malformed config: valid but unsupported", "[model][malformed]") {
    CHECK_REJECTED(parse(llama_config(R"(,"hidden_act":"gelu")")), errc::unsupported, "hidden_act 'gelu'");
    CHECK_REJECTED(parse(llama_config(R"(,"rope_scaling":{"type":"longrope","factor":2.0})")), errc::unsupported,
                   "rope_scaling");
    CHECK_REJECTED(parse(vlm_config("", R"(,"hidden_act":"relu")")), errc::unsupported, "vision hidden_act 'relu'");
    CHECK_REJECTED(parse(vlm_config("", R"(,"num_channels":1)")), errc::unsupported, "num_channels");
    CHECK_REJECTED(parse(R"({"model_type":"smollm3","num_hidden_layers":4,"no_rope_layers":[1,1,1]})"),
                   errc::bad_format, "no_rope_layers has 3 entries for 4 layers");
    CHECK_REJECTED(parse(R"({"model_type":"smollm3","num_hidden_layers":2,"no_rope_layers":[1,"0"]})"),
                   errc::bad_format, "no_rope_layers must hold integers");
}

TEST_CASE("malformed generation_config", "[model][malformed]") {
    generation_config g;
    CHECK_REJECTED(parse_generation_config("{", g), errc::bad_format, "generation_config.json: json");
    CHECK_REJECTED(parse_generation_config("[]", g), errc::bad_format, "not a JSON object");
    CHECK_REJECTED(parse_generation_config(R"({"temperature":"hot"})", g), errc::bad_format, "temperature");
    CHECK_REJECTED(parse_generation_config(R"({"top_p":2})", g), errc::bad_format, "top_p is out of range");
    CHECK_REJECTED(parse_generation_config(R"({"top_k":-1})", g), errc::bad_format, "top_k");
    CHECK_REJECTED(parse_generation_config(R"({"eos_token_id":{"a":1}})", g), errc::bad_format, "eos_token_id");
    REQUIRE(parse_generation_config(R"({"eos_token_id":[2,49279],"do_sample":true,"top_p":0.9})", g).is_ok());
    CHECK(g.eos_token_ids == std::vector<std::int64_t>{2, 49279});
}

// ---- weights ------------------------------------------------------------------------------

TEST_CASE("malformed weights: bind_weights names the missing or mis-shaped tensor", "[model][malformed]") {
    for (const std::string& text : {vlm_config(), vlm_config(R"(,"attention_bias":true,"mlp_bias":true)", "",
                                                              R"(,"tie_word_embeddings":false)"),
                                    llama_config("")}) {
        auto cfg = parse_model_config(text);
        REQUIRE(cfg.is_ok());
        const auto list = smolvlm_test::expected_tensors(cfg.value());
        const auto good = smolvlm_test::make_checkpoint(list);
        auto st = safetensors_set::from_memory(good.data(), good.size());
        REQUIRE(st.is_ok());
        auto w = bind_weights(cfg.value(), st.value());
        INFO(text);
        REQUIRE(w.is_ok());
        CHECK((*w)->text.layers.size() == std::size_t(cfg->text.num_hidden_layers));
        // Every single tensor, dropped and then mis-shaped, is reported by name.
        for (long k = 0; k < long(list.size()); ++k) {
            const std::string& name = list[std::size_t(k)].name;
            INFO("tensor " << name);
            const auto missing = smolvlm_test::make_checkpoint(list, k, -1);
            auto s1 = safetensors_set::from_memory(missing.data(), missing.size());
            REQUIRE(s1.is_ok());
            auto w1 = bind_weights(cfg.value(), s1.value());
            CHECK_REJECTED(w1.is_ok() ? status::ok() : w1.error(), errc::bad_shape, "missing tensor '" + name + "'");
            const auto wrong = smolvlm_test::make_checkpoint(list, -1, k);
            auto s2 = safetensors_set::from_memory(wrong.data(), wrong.size());
            REQUIRE(s2.is_ok());
            auto w2 = bind_weights(cfg.value(), s2.value());
            REQUIRE_FALSE(w2.is_ok());
            CHECK(w2.error().code() == errc::bad_shape);
            CHECK_THAT(std::string(w2.error().message()), Catch::Contains(name));
        }
    }
}

TEST_CASE("malformed weights: wrong dtype and a flattened patch embedding", "[model][malformed]") {
    auto cfg = parse_model_config(vlm_config());
    REQUIRE(cfg.is_ok());
    auto list = smolvlm_test::expected_tensors(cfg.value());
    // Store the embedding as I32 instead of a float type.
    safetensors_writer w;
    std::vector<std::uint8_t> zeros(1 << 16);
    for (const auto& e : list) {
        shape_t s = e.shape;
        dtype t = e.name == "model.text_model.embed_tokens.weight" ? dtype::i32 : dtype::f32;
        if (e.name == "model.vision_model.embeddings.patch_embedding.weight") s = {16, 3 * 8 * 8};
        REQUIRE(w.add(e.name, t, s, zeros.data(), std::size_t(s.numel()) * dtype_size(t)).is_ok());
    }
    auto bytes = w.serialize();
    auto st = safetensors_set::from_memory(bytes.data(), bytes.size());
    REQUIRE(st.is_ok());
    auto b = bind_weights(cfg.value(), st.value());
    CHECK_REJECTED(b.is_ok() ? status::ok() : b.error(), errc::unsupported,
                   "tensor 'model.text_model.embed_tokens.weight': dtype I32");
}

}  // namespace smolvlm_test_io_malformed_cases
#undef CHECK_REJECTED
