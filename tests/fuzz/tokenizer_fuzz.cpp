// libFuzzer target for the tokenizer: tokenizer.json loading, encode on arbitrary
// (also invalid UTF-8) bytes, decode and the streaming decoder.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/tokenizer_fuzz.cpp
//
// First byte even: the rest is a tokenizer.json (load must fail cleanly or work).
// First byte odd: the rest is text for a small fixed tokenizer with merges and
// added tokens using every flag; checks decode == concatenated stream_decoder output.
#include <smolvlm/text/bpe.hpp>

#include <cstdint>
#include <string>

namespace {

const smolvlm::tokenizer& fixed_tokenizer() {
    static const smolvlm::tokenizer tok = [] {
        // Dense ids (the Rust loader numbers added tokens after the vocab entries).
        std::string vocab = "{";
        int id = 0;
        for (int b = 0; b < 256; ++b) {
            if (b == 0x04 || b == 0xff) continue;  // bytes without entries are dropped
            smolvlm::json_append_string(vocab, smolvlm::detail::byte_level_spelling(std::uint8_t(b)));
            vocab += ":" + std::to_string(id++) + ",";
        }
        vocab += "\"ab\":254,\"Ġa\":255,\"Ġab\":256,\"aa\":257}";
        const std::string json =
            "{\"added_tokens\":["
            "{\"id\":258,\"content\":\"<x>\",\"lstrip\":true,\"rstrip\":false,\"single_word\":false,\"special\":true},"
            "{\"id\":259,\"content\":\"<xy>\",\"lstrip\":false,\"rstrip\":true,\"single_word\":false,\"special\":false},"
            "{\"id\":260,\"content\":\"w\xC3\xA9\",\"lstrip\":false,\"rstrip\":false,\"single_word\":true,\"special\":true,"
            "\"normalized\":true}],\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"b+\"},\"content\":\"B\"},"
            "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
            "\"(?i:'s|'t)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}|\\\\s+(?!\\\\S)|\\\\s+|.\"},\"behavior\":\"Isolated\","
            "\"invert\":false},{\"type\":\"Digits\",\"individual_digits\":true},{\"type\":\"ByteLevel\","
            "\"add_prefix_space\":true,\"use_regex\":true}]},\"decoder\":{\"type\":\"ByteLevel\"},"
            "\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,\"vocab\":" + vocab +
            ",\"merges\":[\"a b\",\"\xC4\xA0 a\",\"\xC4\xA0" "a b\",\"a a\"]}}";
        auto r = smolvlm::tokenizer::load_json(json);
        if (!r.is_ok()) __builtin_trap();
        return std::move(r).value();
    }();
    return tok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((data[0] & 1) == 0) {
        auto r = smolvlm::tokenizer::load_json(rest);
        if (r.is_ok()) {
            auto ids = r.value().encode("Hello <x> world 123 \xE6\x97\xA5");
            (void)r.value().decode(ids);
        }
        return 0;
    }
    const smolvlm::tokenizer& tok = fixed_tokenizer();
    const bool parse_special = (data[0] & 2) != 0;
    const auto ids = tok.encode(rest, parse_special);
    for (auto id : ids)
        if (!tok.valid_id(id)) __builtin_trap();
    const std::string text = tok.decode(ids);
    smolvlm::stream_decoder sd(tok);
    std::string streamed;
    for (auto id : ids) streamed += sd.push(id);
    streamed += sd.finish();
    if (streamed != text || !smolvlm::is_valid_utf8(text.data(), text.size())) __builtin_trap();
    return 0;
}
