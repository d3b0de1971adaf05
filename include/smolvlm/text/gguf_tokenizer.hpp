// smolvlm/text/gguf_tokenizer.hpp — the tokenizer of a GGUF file (llama.cpp's `tokenizer.ggml.*`
// metadata), as the tokenizer.json the Hugging Face checkpoint had.
//
//   auto tok = tokenizer_from_gguf(file);        // result<tokenizer> (text/bpe.hpp)
//   auto json = gguf_tokenizer_json(file);       // the tokenizer.json text it builds
//
// Only byte-level BPE ("tokenizer.ggml.model" = "gpt2") is read: the SmolLM2 / SmolVLM /
// SmolLM3 vocabularies. The keys and what they become:
//   tokens      strings in the GPT-2 byte alphabet       -> model.vocab (id = index)
//   merges      "a b" in rank order                      -> model.merges
//   token_type  1 normal, 3 control, 4 user-defined      -> added_tokens: 3 special, 4 not special
//                                                           (both matched in raw text, normalized = false)
//   pre         which pre-tokenizer the converter saw    -> pre_tokenizer (below)
//   eos_token_id                                         -> the tokenizer's eos (tokenizer_config "eos_token")
//   add_bos_token (absent: false), bos_token_id          -> a TemplateProcessing "BOS $A" post-processor
// `pre` names map onto the pre-tokenizers of the tokenizer.json files they come from:
//   smollm                  Digits(individual) + ByteLevel(GPT-2 regex)       SmolLM2, SmolVLM
//   llama-bpe, llama3,      Split(Llama-3 regex) + ByteLevel(no regex),       SmolLM3, Llama 3
//   smaug-bpe               ignore_merges = true
//   gpt2, default           ByteLevel(GPT-2 regex)
// Anything else is refused by name rather than tokenized differently from the reference.
// add_bos_token absent means no BOS, what llama.cpp does for these `pre` values.
//
// Every count and id is checked against the arrays before use (token_type must have one
// entry per token, ids inside the vocabulary); the tokenizer.json reader then validates the
// rest as it does for a file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "../core/status.hpp"
#include "../io/gguf.hpp"
#include "../io/json.hpp"
#include "bpe.hpp"

namespace smolvlm {

namespace detail {

// The pre_tokenizer JSON and ignore_merges for a tokenizer.ggml.pre name; false if unknown.
inline bool gguf_pre_tokenizer(std::string_view pre, std::string& json, bool& ignore_merges) {
    ignore_merges = false;
    if (pre == "smollm") {
        json = R"({"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},)"
               R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]})";
        return true;
    }
    if (pre == "llama-bpe" || pre == "llama3" || pre == "smaug-bpe") {
        json = R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":)"
               R"("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},)"
               R"("behavior":"Isolated","invert":false},)"
               R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}]})";
        ignore_merges = true;
        return true;
    }
    if (pre == "gpt2" || pre == "default") {
        json = R"({"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true})";
        return true;
    }
    return false;
}

inline result<std::int64_t> gguf_token_id(const gguf_file& f, const char* key, std::uint64_t n_tokens) {
    const gguf_kv* kv = f.find_kv(key);
    if (!kv) return std::int64_t(-1);
    std::uint32_t id = 0;
    if (!kv->scalar.to_int(id) || id >= n_tokens)
        return status::fmt(errc::bad_format, "gguf: %s is not a token id of the %llu-token vocabulary", key,
                           (unsigned long long)n_tokens);
    return std::int64_t(id);
}

}  // namespace detail

// The tokenizer.json text equivalent to a GGUF's tokenizer metadata, and the
// tokenizer_config.json text naming its eos token ("" when the file names none).
struct gguf_tokenizer_files {
    std::string tokenizer_json;
    std::string tokenizer_config_json;
};

inline result<gguf_tokenizer_files> gguf_tokenizer_json(const gguf_file& f) {
    SMOLVLM_ASSIGN_OR_RETURN(std::string_view model, f.get_string("tokenizer.ggml.model"));
    if (model != "gpt2")
        return status::fmt(errc::unsupported, "gguf: tokenizer.ggml.model '%.40s' is not supported (gpt2: byte-level BPE)",
                           std::string(model).c_str());
    std::string_view pre = "default";
    if (f.has("tokenizer.ggml.pre")) {
        SMOLVLM_ASSIGN_OR_RETURN(pre, f.get_string("tokenizer.ggml.pre"));
    }
    std::string pre_json;
    bool ignore_merges = false;
    if (!detail::gguf_pre_tokenizer(pre, pre_json, ignore_merges))
        return status::fmt(errc::unsupported,
                           "gguf: tokenizer.ggml.pre '%.40s' is not supported (smollm, llama-bpe, llama3, smaug-bpe, gpt2)",
                           std::string(pre).c_str());
    SMOLVLM_ASSIGN_OR_RETURN(gguf_array tokens, f.get_array("tokenizer.ggml.tokens"));
    if (tokens.type() != gguf_value_type::string) return status(errc::bad_format, "gguf: tokenizer.ggml.tokens is not strings");
    const std::uint64_t n = tokens.size();
    if (n == 0 || n > (std::uint64_t(1) << 24))
        return status::fmt(errc::bad_format, "gguf: tokenizer.ggml.tokens has %llu entries", (unsigned long long)n);
    gguf_array types;
    if (f.has("tokenizer.ggml.token_type")) {
        SMOLVLM_ASSIGN_OR_RETURN(types, f.get_array("tokenizer.ggml.token_type"));
        if (types.size() != n || !gguf_scalar{types.type(), 0}.is_integer())
            return status::fmt(errc::bad_format, "gguf: tokenizer.ggml.token_type has %llu integers for %llu tokens",
                               (unsigned long long)types.size(), (unsigned long long)n);
    }
    gguf_array merges;
    if (f.has("tokenizer.ggml.merges")) {
        SMOLVLM_ASSIGN_OR_RETURN(merges, f.get_array("tokenizer.ggml.merges"));
        if (merges.type() != gguf_value_type::string) return status(errc::bad_format, "gguf: tokenizer.ggml.merges is not strings");
    }
    SMOLVLM_ASSIGN_OR_RETURN(std::int64_t bos, detail::gguf_token_id(f, "tokenizer.ggml.bos_token_id", n));
    SMOLVLM_ASSIGN_OR_RETURN(std::int64_t eos, detail::gguf_token_id(f, "tokenizer.ggml.eos_token_id", n));
    bool add_bos = false;
    if (const gguf_kv* ab = f.find_kv("tokenizer.ggml.add_bos_token")) {
        if (ab->type != gguf_value_type::boolean) return status(errc::bad_format, "gguf: tokenizer.ggml.add_bos_token is not a bool");
        add_bos = ab->scalar.bits != 0;
    }
    if (add_bos && bos < 0) return status(errc::bad_format, "gguf: add_bos_token without a bos_token_id");

    std::string j;
    j.reserve(std::size_t(tokens.nbytes()) * 2 + std::size_t(merges.nbytes()) * 2 + 4096);
    j += "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[";
    std::uint64_t i = 0;
    bool first = true;
    std::string bos_text, eos_text;
    for (std::string_view t : tokens.strings()) {
        const std::int64_t ty = types.size() ? types.at(i).as_i64() : 1;
        if (std::int64_t(i) == bos) bos_text = std::string(t);
        if (std::int64_t(i) == eos) eos_text = std::string(t);
        if (ty == 3 || ty == 4) {
            if (!first) j += ',';
            first = false;
            j += "{\"id\":" + std::to_string(i) + ",\"content\":";
            json_append_string(j, t);
            j += ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":";
            j += ty == 3 ? "true}" : "false}";
        }
        ++i;
    }
    j += "],\"normalizer\":null,\"pre_tokenizer\":" + pre_json + ",\"post_processor\":";
    if (add_bos) {
        j += "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":";
        json_append_string(j, bos_text);
        j += ",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[{\"SpecialToken\":{\"id\":";
        json_append_string(j, bos_text);
        j += ",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":";
        json_append_string(j, bos_text);
        j += ",\"type_id\":1}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],\"special_tokens\":{";
        json_append_string(j, bos_text);
        j += ":{\"id\":";
        json_append_string(j, bos_text);
        j += ",\"ids\":[" + std::to_string(bos) + "],\"tokens\":[";
        json_append_string(j, bos_text);
        j += "]}}}";
    } else {
        j += "null";
    }
    j += ",\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},";
    j += "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
         "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":";
    j += ignore_merges ? "true" : "false";
    j += ",\"vocab\":{";
    i = 0;
    for (std::string_view t : tokens.strings()) {
        if (i) j += ',';
        json_append_string(j, t);
        j += ':' + std::to_string(i);
        ++i;
    }
    j += "},\"merges\":[";
    i = 0;
    for (std::string_view m : merges.strings()) {
        if (i++) j += ',';
        json_append_string(j, m);
    }
    j += "]}}";
    gguf_tokenizer_files out;
    out.tokenizer_json = std::move(j);
    if (eos >= 0) {
        out.tokenizer_config_json = "{\"eos_token\":";
        json_append_string(out.tokenizer_config_json, eos_text);
        out.tokenizer_config_json += "}";
    }
    return out;
}

inline result<tokenizer> tokenizer_from_gguf(const gguf_file& f) {
    SMOLVLM_ASSIGN_OR_RETURN(gguf_tokenizer_files files, gguf_tokenizer_json(f));
    auto tok = tokenizer::load_json(files.tokenizer_json, files.tokenizer_config_json);
    if (!tok) {
        status s = tok.take_status();
        return s.prepend("gguf tokenizer: ");
    }
    return tok;
}

}  // namespace smolvlm
