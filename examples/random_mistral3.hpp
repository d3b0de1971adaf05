// random_mistral3.hpp — the Mistral 3 shapes of make-random-model (included by
// make-random-model.cpp only).
//
//   make-random-model OUT_DIR --shape tiny-mistral3|mistral3-mid|mistral-small-3.1|mistral3-vision-bench
//                     [--dtype q4|q8|bf16|f32] [--seed N] [--shard-mb N] [--tokenizer-from DIR|FILE]
//                     [--gguf FILE.gguf]
//
// Writes a Mistral3ForConditionalGeneration directory with the published checkpoint's tensor
// names (language_model.*, vision_tower.*, multi_modal_projector.*), its config.json,
// processor configs and a chat template of the 2503 layout. Weights stream tensor by tensor
// through pipeline/prequantize.hpp's checkpoint_writer (shards of --shard-mb, default 2048):
//   --dtype q4 / q8   written prequantized, as smolvlm-quantize would (q4: lm_head q8;
//                     embeddings, norms and the patch conv bf16): every block is drawn
//                     directly as codes + an f16 scale — no 48 GB bf16 intermediate for
//                     the 24B shape (~15 GB out);
//   --dtype bf16/f32  a plain checkpoint (what a user downloads; smolvlm-quantize's input).
// Random values come from a counter-based hash of (seed, tensor, element or block), so any
// chunk can be drawn on its own and --gguf FILE writes the *same* text decoder (q4 blocks as
// GGUF Q4_0, the q8 head as Q8_0 — the engine's blocks are those formats byte for byte,
// embeddings BF16, norms F32) for llama.cpp (architecture "llama", head_dim 128 via
// key_length/value_length, the generated tokenizer as a "gpt2" vocabulary padded to the
// model's 131072 ids). llama.cpp reads q/k in its own rotary layout, so its logits differ;
// speed does not depend on the values.
//
// The tokenizer: unless --tokenizer-from names a tokenizer.json (file or directory), a small
// byte-level BPE of the Tekken kind: the 1000 Mistral special tokens (<unk> <s> </s> [INST]
// [/INST] ... [IMG] <pad> [IMG_BREAK] [IMG_END] ... [SYSTEM_PROMPT] [/SYSTEM_PROMPT]
// <SPECIAL_20> ...), the 256 byte symbols and merges for a few words.
#pragma once

#include <smolvlm.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace random_mistral3 {

using namespace smolvlm;

struct preset {
    const char* name;
    // text
    std::int64_t hidden, layers, heads, kv_heads, head_dim, ffn, vocab;  // vocab 0: the tokenizer's
    // vision
    std::int64_t v_hidden, v_layers, v_heads, v_ffn, patch, image, longest_edge;
};

inline const preset k_presets[] = {
    // name                 D     L   H   KV  hd   F      V        vD    vL  vH  vF    p   img   longest
    {"tiny-mistral3", 64, 2, 4, 2, 32, 160, 0, 32, 2, 2, 64, 8, 64, 64},
    {"mistral3-mid", 2048, 16, 16, 4, 128, 8192, 131072, 1024, 24, 16, 4096, 14, 1540, 1540},
    {"mistral-small-3.1", 5120, 40, 32, 8, 128, 32768, 131072, 1024, 24, 16, 4096, 14, 1540, 1540},
    // The real vision tower and projector over a one-layer text model of the real width:
    // vision benchmarks (and llama.cpp's --mmproj converter) without 14 GB of decoder.
    {"mistral3-vision-bench", 5120, 1, 32, 8, 128, 256, 0, 1024, 24, 16, 4096, 14, 1540, 1540},
};

inline const preset* find(const std::string& name) {
    for (const preset& p : k_presets)
        if (name == p.name) return &p;
    return nullptr;
}

// ---- counter-based random numbers ------------------------------------------------------------

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
inline std::uint64_t key(std::uint64_t seed, std::uint64_t tensor, std::uint64_t i) {
    return mix(mix(seed * 0x632be59bd9b4e019ULL + tensor) ^ i);
}
// Uniform in [-1, 1).
inline float uniform(std::uint64_t h) { return float(std::int64_t(h >> 11) - (std::int64_t(1) << 52)) * (1.0f / 4503599627370496.0f); }

// Block (row, group) of a q4 / q8 matrix: an f16 scale near `scale` / 4.6 (q4: codes
// uniform 0..15, values d (q - 8) with std ~4.6 d) or / 73 (q8: uniform -127..127).
inline void q4_block(std::uint64_t seed, std::uint64_t t, std::int64_t row, std::int64_t g, std::int64_t nb, float scale,
                     kernels::block_q4& b) {
    const std::uint64_t base = std::uint64_t(row * nb + g) * 4;
    const std::uint64_t h0 = key(seed, t, base), h1 = key(seed, t, base + 1), h2 = key(seed, t, base + 2);
    b.d = f32_to_f16(scale / 4.6f * (1.0f + 0.25f * uniform(h2)));
    std::memcpy(b.qs, &h0, 8);
    std::memcpy(b.qs + 8, &h1, 8);
}
inline void q8_block(std::uint64_t seed, std::uint64_t t, std::int64_t row, std::int64_t g, std::int64_t nb, float scale,
                     kernels::block_q8& b) {
    const std::uint64_t base = std::uint64_t(row * nb + g) * 8;
    for (int k = 0; k < 4; ++k) {
        const std::uint64_t h = key(seed, t, base + std::uint64_t(k));
        for (int j = 0; j < 8; ++j) {
            const int v = int((h >> (8 * j)) & 255) - 128;
            b.qs[8 * k + j] = std::int8_t(v < -127 ? -127 : v);
        }
    }
    b.d = f32_to_f16(scale / 73.0f * (1.0f + 0.25f * uniform(key(seed, t, base + 4))));
}

// ---- the tensor list -------------------------------------------------------------------------

struct spec {
    std::string name;
    shape_t shape;
    float scale;       // uniform in [-scale, scale]; < 0: the constant -scale (norm weights)
    bool linear;       // packed by --dtype q4 / q8
    bool head;         // lm_head (q8 under q4)
    std::string gguf;  // llama.cpp name (text decoder only; empty: not in the GGUF)
};

inline std::vector<spec> tensors(const preset& p, std::int64_t vocab) {
    std::vector<spec> v;
    const std::int64_t D = p.hidden, hd = p.head_dim, Q = p.heads * hd, KV = p.kv_heads * hd, F = p.ffn;
    auto ws = [](std::int64_t cols) { return std::sqrt(3.0f / float(cols)); };
    const std::string tp = "language_model.model.";
    v.push_back({tp + "embed_tokens.weight", {vocab, D}, 1.0f, false, false, "token_embd.weight"});
    for (std::int64_t l = 0; l < p.layers; ++l) {
        const std::string L = tp + "layers." + std::to_string(l) + ".", G = "blk." + std::to_string(l) + ".";
        v.push_back({L + "input_layernorm.weight", {D}, -1.0f, false, false, G + "attn_norm.weight"});
        v.push_back({L + "self_attn.q_proj.weight", {Q, D}, ws(D), true, false, G + "attn_q.weight"});
        v.push_back({L + "self_attn.k_proj.weight", {KV, D}, ws(D), true, false, G + "attn_k.weight"});
        v.push_back({L + "self_attn.v_proj.weight", {KV, D}, ws(D), true, false, G + "attn_v.weight"});
        v.push_back({L + "self_attn.o_proj.weight", {D, Q}, ws(Q), true, false, G + "attn_output.weight"});
        v.push_back({L + "post_attention_layernorm.weight", {D}, -1.0f, false, false, G + "ffn_norm.weight"});
        v.push_back({L + "mlp.gate_proj.weight", {F, D}, ws(D), true, false, G + "ffn_gate.weight"});
        v.push_back({L + "mlp.up_proj.weight", {F, D}, ws(D), true, false, G + "ffn_up.weight"});
        v.push_back({L + "mlp.down_proj.weight", {D, F}, ws(F), true, false, G + "ffn_down.weight"});
    }
    v.push_back({tp + "norm.weight", {D}, -1.0f, false, false, "output_norm.weight"});
    v.push_back({"language_model.lm_head.weight", {vocab, D}, ws(D), true, true, "output.weight"});
    const std::int64_t vD = p.v_hidden, vF = p.v_ffn, pp = p.patch;
    const std::string vp = "vision_tower.";
    v.push_back({vp + "patch_conv.weight", {vD, 3, pp, pp}, ws(3 * pp * pp), false, false, ""});
    v.push_back({vp + "ln_pre.weight", {vD}, -1.0f, false, false, ""});
    for (std::int64_t l = 0; l < p.v_layers; ++l) {
        const std::string L = vp + "transformer.layers." + std::to_string(l) + ".";
        v.push_back({L + "attention_norm.weight", {vD}, -1.0f, false, false, ""});
        for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"})
            v.push_back({L + "attention." + n + ".weight", {vD, vD}, ws(vD), true, false, ""});
        v.push_back({L + "ffn_norm.weight", {vD}, -1.0f, false, false, ""});
        v.push_back({L + "feed_forward.gate_proj.weight", {vF, vD}, ws(vD), true, false, ""});
        v.push_back({L + "feed_forward.up_proj.weight", {vF, vD}, ws(vD), true, false, ""});
        v.push_back({L + "feed_forward.down_proj.weight", {vD, vF}, ws(vF), true, false, ""});
    }
    const std::string mp = "multi_modal_projector.";
    v.push_back({mp + "norm.weight", {vD}, -1.0f, false, false, ""});
    v.push_back({mp + "patch_merger.merging_layer.weight", {vD, 4 * vD}, ws(4 * vD), true, false, ""});
    v.push_back({mp + "linear_1.weight", {D, vD}, ws(vD), true, false, ""});
    v.push_back({mp + "linear_2.weight", {D, D}, ws(D), true, false, ""});
    return v;
}

// Element i of plain tensor t as f32.
inline float plain_value(std::uint64_t seed, std::uint64_t t, const spec& s, std::uint64_t i) {
    return s.scale < 0 ? -s.scale : s.scale * uniform(key(seed, t, i));
}

// ---- files -------------------------------------------------------------------------------------

inline std::string jstr(const std::string& s) {
    std::string o;
    json_append_string(o, s);
    return o;
}

inline bool write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

// Tekken-kind tokenizer.json: 1000 specials, 256 byte symbols, merges spelling a few words.
inline std::string make_tokenizer(std::vector<std::string>& vocab, std::vector<std::string>& merges) {
    const char* named[] = {"<unk>",    "<s>",    "</s>",          "[INST]",      "[/INST]",       "[AVAILABLE_TOOLS]",
                           "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]",
                           "<pad>",    "[IMG_BREAK]", "[IMG_END]",  "[PREFIX]",    "[MIDDLE]",      "[SUFFIX]",
                           "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]"};
    vocab.clear();
    merges.clear();
    for (const char* n : named) vocab.push_back(n);
    for (int i = 20; i < 1000; ++i) vocab.push_back("<SPECIAL_" + std::to_string(i) + ">");
    auto sym = [](std::uint8_t b) {
        std::string o;
        smolvlm::detail::utf8_append(o, byte_to_unicode(b));
        return o;
    };
    for (int b = 0; b < 256; ++b) vocab.push_back(sym(std::uint8_t(b)));
    const char* words[] = {" the", " a", " image", " Describe", " is", " in", " of", " and", " what", " this",
                           " picture", " to", "ing", " cat", " dog", " You", " are", " Mistral"};
    for (const char* w : words) {
        std::string cur = sym(std::uint8_t(w[0]));
        for (std::size_t i = 1; w[i]; ++i) {
            const std::string next = sym(std::uint8_t(w[i]));
            const std::string merged = cur + next;
            bool known = false;
            for (const auto& x : vocab) known = known || x == merged;
            if (!known) {
                merges.push_back(cur + " " + next);
                vocab.push_back(merged);
            }
            cur = merged;
        }
    }
    std::string j = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[";
    for (int i = 0; i < 1000; ++i) {
        if (i) j += ",";
        j += "{\"id\":" + std::to_string(i) + ",\"content\":" + jstr(vocab[std::size_t(i)]) +
             ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}";
    }
    j += "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
         "\"pattern\":{\"Regex\":\"[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?[\\\\p{Lu}\\\\p{Lt}\\\\p{Lm}\\\\p{Lo}\\\\p{M}]*[\\\\p{Ll}"
         "\\\\p{Lm}\\\\p{Lo}\\\\p{M}]+|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?[\\\\p{Lu}\\\\p{Lt}\\\\p{Lm}\\\\p{Lo}\\\\p{M}]+"
         "[\\\\p{Ll}\\\\p{Lm}\\\\p{Lo}\\\\p{M}]*|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n/]*|\\\\s*[\\\\r\\\\n]+|"
         "\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
         "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]},"
         "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
         "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
         "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],"
         "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},"
         "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},"
         "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
         "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":true,\"vocab\":{";
    for (std::size_t i = 0; i < vocab.size(); ++i) {  // the specials too, as Tekken's files have them
        if (i > 0) j += ",";
        j += jstr(vocab[i]) + ":" + std::to_string(i);
    }
    j += "},\"merges\":[";
    for (std::size_t i = 0; i < merges.size(); ++i) {
        if (i) j += ",";
        j += jstr(merges[i]);
    }
    return j + "]}}";
}

// A compact statement of the 2503 template's layout (this project's own Jinja; the engine
// renders it in C++: text/chat_template_mistral.hpp).
inline const char* k_chat_template =
    "{%- set today = strftime_now(\"%Y-%m-%d\") %}{{- bos_token }}{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'][0]['text'] %}{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set system_message = 'You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, "
    "a French startup headquartered in Paris.\\nYour knowledge base was last updated on 2023-10-01. The current date is ' "
    "+ today + '.' %}{%- set loop_messages = messages %}{%- endif %}{{- '[SYSTEM_PROMPT]' + system_message + "
    "'[/SYSTEM_PROMPT]' }}{%- for message in loop_messages %}{%- if message['role'] == 'user' %}{{- '[INST]' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}{%- else %}{%- for block in message['content'] %}"
    "{%- if block['type'] == 'text' %}{{- block['text'] }}{%- else %}{{- '[IMG]' }}{%- endif %}{%- endfor %}"
    "{%- endif %}{{- '[/INST]' }}{%- elif message['role'] == 'assistant' %}{{- (message['content'] if message['content'] "
    "is string else message['content'][0]['text']) + eos_token }}{%- endif %}{%- endfor %}";

// ---- a streamed GGUF (text decoder) ------------------------------------------------------------

class gguf_stream {
public:
    void kv_str(const std::string& k, const std::string& v) { key(k, 8), str(v), ++n_kv_; }
    void kv_u32(const std::string& k, std::uint32_t v) { key(k, 4), u32(v), ++n_kv_; }
    void kv_f32(const std::string& k, float v) {
        key(k, 6);
        std::uint32_t b;
        std::memcpy(&b, &v, 4);
        u32(b);
        ++n_kv_;
    }
    void kv_bool(const std::string& k, bool v) { key(k, 7), kv_.push_back(char(v ? 1 : 0)), ++n_kv_; }
    void kv_strs(const std::string& k, const std::vector<std::string>& v) {
        key(k, 9), u32(8), u64(v.size());
        for (const auto& s : v) str(s);
        ++n_kv_;
    }
    void kv_i32s(const std::string& k, const std::vector<std::int32_t>& v) {
        key(k, 9), u32(5), u64(v.size());
        for (std::int32_t x : v) u32(std::uint32_t(x));
        ++n_kv_;
    }
    // Tensor infos in data order; shape PyTorch order; nbytes of its data.
    void tensor(const std::string& name, ggml_type t, const shape_t& shape, std::size_t nbytes) {
        std::string& o = ti_;
        put_str(o, name);
        put_u32(o, std::uint32_t(shape.ndim));
        for (int d = shape.ndim - 1; d >= 0; --d) put_u64(o, std::uint64_t(shape.dims[d]));
        put_u32(o, std::uint32_t(t));
        put_u64(o, off_);
        off_ += (nbytes + 31) / 32 * 32;
        ++n_t_;
    }
    // Header bytes (data starts right after, at a multiple of 32).
    std::string header() const {
        std::string h = "GGUF";
        put_u32(h, 3);
        put_u64(h, n_t_);
        put_u64(h, n_kv_);
        h += kv_;
        h += ti_;
        while (h.size() % 32) h.push_back('\0');
        return h;
    }

private:
    static void put_u32(std::string& o, std::uint32_t v) {
        for (int i = 0; i < 4; ++i) o.push_back(char((v >> (8 * i)) & 255));
    }
    static void put_u64(std::string& o, std::uint64_t v) {
        for (int i = 0; i < 8; ++i) o.push_back(char((v >> (8 * i)) & 255));
    }
    static void put_str(std::string& o, const std::string& s) {
        put_u64(o, s.size());
        o += s;
    }
    void key(const std::string& k, std::uint32_t type) { put_str(kv_, k), put_u32(kv_, type); }
    void str(const std::string& s) { put_str(kv_, s); }
    void u32(std::uint32_t v) { put_u32(kv_, v); }
    void u64(std::uint64_t v) { put_u64(kv_, v); }
    std::string kv_, ti_;
    std::uint64_t n_kv_ = 0, n_t_ = 0, off_ = 0;
};

// ---- the tool ----------------------------------------------------------------------------------

struct options {
    std::string out, tokenizer_from, gguf;
    std::uint64_t seed = 1;
    dtype type = dtype::q4;   // q4 / q8: prequantized; bf16 / f32: plain
    std::size_t shard_bytes = std::size_t(2) << 30;
};

inline int fail(const std::string& m) {
    std::fprintf(stderr, "error: %s\n", m.c_str());
    return 1;
}

inline int run(const preset& p, const options& o) {
    // --- tokenizer ---
    std::vector<std::string> vocab_strs, merges;
    std::string tok_json;
    if (!o.tokenizer_from.empty()) {
        std::string path = o.tokenizer_from;
        if (!file_exists(path.c_str()) || path.size() < 5 || path.substr(path.size() - 5) != ".json")
            path = path_join(o.tokenizer_from, "tokenizer.json");
        auto t = read_text_file(path.c_str(), std::size_t(256) << 20);
        if (!t) return fail(t.error().message());
        tok_json = t.value();
        auto doc = parse_json(tok_json);
        if (doc.is_ok())
            if (const json_value* m = doc->find("model"))
                if (const json_value* ms = m->find("merges"); ms && ms->is_array())
                    for (const json_value& e : ms->items()) {
                        if (e.is_string()) merges.push_back(e.as_string());
                        else if (e.is_array() && e.size() == 2) merges.push_back(e[0].as_string() + " " + e[1].as_string());
                    }
    } else {
        tok_json = make_tokenizer(vocab_strs, merges);
    }
    auto tk = tokenizer::load_json(tok_json, "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\"}");
    if (!tk) return fail(std::string("tokenizer: ") + tk.error().message());
    const std::int64_t n_tok = std::int64_t(tk->vocab_size());
    const std::int64_t vocab = p.vocab ? std::max(p.vocab, n_tok) : (n_tok + 63) / 64 * 64;
    if (tk->token_to_id("[IMG]") != 10 || tk->token_to_id("[IMG_BREAK]") != 12 || tk->token_to_id("[IMG_END]") != 13)
        return fail("the tokenizer lacks Mistral's [IMG] (10), [IMG_BREAK] (12), [IMG_END] (13)");

    // --- side files ---
    const std::string& out = o.out;
    const std::string text_cfg =
        "{\"model_type\":\"mistral\",\"hidden_size\":" + std::to_string(p.hidden) + ",\"intermediate_size\":" +
        std::to_string(p.ffn) + ",\"num_hidden_layers\":" + std::to_string(p.layers) + ",\"num_attention_heads\":" +
        std::to_string(p.heads) + ",\"num_key_value_heads\":" + std::to_string(p.kv_heads) + ",\"head_dim\":" +
        std::to_string(p.head_dim) + ",\"hidden_act\":\"silu\",\"max_position_embeddings\":131072,\"rms_norm_eps\":1e-05,"
        "\"rope_theta\":1000000000.0,\"sliding_window\":null,\"vocab_size\":" + std::to_string(vocab) + "}";
    const std::string vision_cfg =
        "{\"model_type\":\"pixtral\",\"hidden_size\":" + std::to_string(p.v_hidden) + ",\"intermediate_size\":" +
        std::to_string(p.v_ffn) + ",\"num_hidden_layers\":" + std::to_string(p.v_layers) + ",\"num_attention_heads\":" +
        std::to_string(p.v_heads) + ",\"head_dim\":" + std::to_string(p.v_hidden / p.v_heads) +
        ",\"hidden_act\":\"silu\",\"image_size\":" + std::to_string(p.image) + ",\"patch_size\":" +
        std::to_string(p.patch) + ",\"num_channels\":3,\"rope_theta\":10000.0}";
    const std::string cfg = "{\"architectures\":[\"Mistral3ForConditionalGeneration\"],\"model_type\":\"mistral3\","
                            "\"image_token_index\":10,\"multimodal_projector_bias\":false,\"projector_hidden_act\":\"gelu\","
                            "\"spatial_merge_size\":2,\"vision_feature_layer\":-1,\"tie_word_embeddings\":false,"
                            "\"text_config\":" + text_cfg + ",\"vision_config\":" + vision_cfg + "}";
    const std::string pre = "{\"do_convert_rgb\":true,\"do_normalize\":true,\"do_rescale\":true,\"do_resize\":true,"
                            "\"image_mean\":[0.48145466,0.4578275,0.40821073],\"image_std\":[0.26862954,0.26130258,0.27577711],"
                            "\"image_processor_type\":\"PixtralImageProcessor\",\"patch_size\":{\"height\":" +
                            std::to_string(p.patch) + ",\"width\":" + std::to_string(p.patch) +
                            "},\"processor_class\":\"PixtralProcessor\",\"resample\":3,\"rescale_factor\":0.00392156862745098,"
                            "\"size\":{\"longest_edge\":" + std::to_string(p.longest_edge) + "}}";
    const std::string proc = "{\"image_break_token\":\"[IMG_BREAK]\",\"image_end_token\":\"[IMG_END]\",\"image_token\":\"[IMG]\","
                             "\"patch_size\":" + std::to_string(p.patch) +
                             ",\"processor_class\":\"PixtralProcessor\",\"spatial_merge_size\":2}";
    bool ok = write_text(path_join(out, "config.json"), cfg) &&
              write_text(path_join(out, "generation_config.json"), "{\"bos_token_id\":1,\"eos_token_id\":2}") &&
              write_text(path_join(out, "tokenizer.json"), tok_json) &&
              write_text(path_join(out, "tokenizer_config.json"),
                         "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"unk_token\":\"<unk>\",\"pad_token\":\"<pad>\","
                         "\"processor_class\":\"PixtralProcessor\"}") &&
              write_text(path_join(out, "special_tokens_map.json"),
                         "{\"bos_token\":\"<s>\",\"eos_token\":\"</s>\",\"pad_token\":\"<pad>\",\"unk_token\":\"<unk>\"}") &&
              write_text(path_join(out, "chat_template.json"), "{\"chat_template\":" + jstr(k_chat_template) + "}") &&
              write_text(path_join(out, "preprocessor_config.json"), pre) &&
              write_text(path_join(out, "processor_config.json"), proc);
    if (!ok) return fail("cannot write into '" + out + "'");

    // --- weights, streamed ---
    const std::vector<spec> all = tensors(p, vocab);
    const bool packed = o.type == dtype::q4 || o.type == dtype::q8;
    const dtype plain_type = packed ? dtype::bf16 : o.type;
    checkpoint_writer w;
    if (packed) w.set_metadata(k_quant_metadata_key, o.type == dtype::q4 ? "q4" : "q8");
    std::size_t params = 0;
    const std::uint64_t seed = o.seed;
    for (std::size_t t = 0; t < all.size(); ++t) {
        const spec& s = all[t];
        params += std::size_t(s.shape.numel());
        if (packed && s.linear && s.shape.ndim == 2 && s.shape[1] % kernels::k_group == 0) {
            const dtype qt = s.head || o.type == dtype::q8 ? dtype::q8 : dtype::q4;
            const std::int64_t rows = s.shape[0], cols = s.shape[1], nb = cols / kernels::k_group;
            const float sc = s.scale * 0.58f;  // uniform [-a, a] has std a / sqrt(3)
            status st = w.add_packed(s.name, qt, rows, cols,
                [=](std::int64_t p0, std::int64_t p1, std::uint8_t* q, std::uint16_t* d) -> status {
                    const std::size_t pb = std::size_t(nb) * (qt == dtype::q4 ? 256 : 512);
                    std::vector<kernels::block_q4> r4(qt == dtype::q4 ? std::size_t(nb) : 0);
                    std::vector<kernels::block_q8> r8(qt == dtype::q8 ? std::size_t(nb) : 0);
                    for (std::int64_t pi = p0; pi < p1; ++pi)
                        for (int r = 0; r < kernels::k_panel; ++r) {
                            const std::int64_t row = pi * kernels::k_panel + r;
                            if (row >= rows) break;
                            std::uint8_t* pq = q + std::size_t(pi - p0) * pb;
                            std::uint16_t* pd = d + std::size_t(pi - p0) * std::size_t(nb) * kernels::k_panel;
                            if (qt == dtype::q4) {
                                for (std::int64_t g = 0; g < nb; ++g) q4_block(seed, t, row, g, nb, sc, r4[std::size_t(g)]);
                                kernels::put_panel_row_q4(r4.data(), nb, r, pq, pd);
                            } else {
                                for (std::int64_t g = 0; g < nb; ++g) q8_block(seed, t, row, g, nb, sc, r8[std::size_t(g)]);
                                kernels::put_panel_row_q8(r8.data(), nb, r, pq, pd);
                            }
                        }
                    return status::ok();
                });
            if (!st) return fail(st.message());
        } else {
            const spec sp = s;
            const dtype ty = plain_type;
            status st = w.add_tensor(s.name, ty, s.shape, [=](std::size_t off, std::size_t n, std::uint8_t* dst) -> status {
                const std::size_t es = dtype_size(ty);
                for (std::size_t i = 0; i < n / es; ++i) {
                    const float v = plain_value(seed, t, sp, off / es + i);
                    if (ty == dtype::f32) std::memcpy(dst + 4 * i, &v, 4);
                    else {
                        const std::uint16_t h = f32_to_bf16(v);
                        std::memcpy(dst + 2 * i, &h, 2);
                    }
                }
                return status::ok();
            });
            if (!st) return fail(st.message());
        }
    }
    auto r = w.write(out, o.shard_bytes);
    if (!r) return fail(r.error().message());
    auto c = load_model_config(out);
    if (!c) return fail(std::string("written config does not load: ") + c.error().message());
    std::printf("wrote %s: shape %s, %zu tensors in %zu file(s), %.1f M parameters, %s, %.2f GB\n", out.c_str(), p.name,
                all.size(), r->files, double(params) / 1e6, packed ? (o.type == dtype::q4 ? "q4 prequantized" : "q8 prequantized") : dtype_name(o.type),
                double(r->bytes) / 1e9);

    // --- the same text decoder as a GGUF for llama.cpp ---
    if (!o.gguf.empty()) {
        if (o.type != dtype::q4) return fail("--gguf needs --dtype q4 (Q4_0 blocks, the head Q8_0)");
        gguf_stream g;
        g.kv_str("general.architecture", "llama");
        g.kv_str("general.name", std::string("random ") + p.name);
        g.kv_u32("general.file_type", 2);  // MOSTLY_Q4_0
        g.kv_u32("llama.context_length", 131072);
        g.kv_u32("llama.embedding_length", std::uint32_t(p.hidden));
        g.kv_u32("llama.block_count", std::uint32_t(p.layers));
        g.kv_u32("llama.feed_forward_length", std::uint32_t(p.ffn));
        g.kv_u32("llama.attention.head_count", std::uint32_t(p.heads));
        g.kv_u32("llama.attention.head_count_kv", std::uint32_t(p.kv_heads));
        g.kv_u32("llama.attention.key_length", std::uint32_t(p.head_dim));
        g.kv_u32("llama.attention.value_length", std::uint32_t(p.head_dim));
        g.kv_u32("llama.rope.dimension_count", std::uint32_t(p.head_dim));
        g.kv_f32("llama.rope.freq_base", 1e9f);
        g.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        g.kv_u32("llama.vocab_size", std::uint32_t(vocab));
        g.kv_str("tokenizer.ggml.model", "gpt2");
        g.kv_str("tokenizer.ggml.pre", "tekken");
        std::vector<std::string> toks(static_cast<std::size_t>(vocab));
        std::vector<std::int32_t> types(static_cast<std::size_t>(vocab), 1);
        for (std::int64_t i = 0; i < vocab; ++i) {
            std::string_view s = i < n_tok ? tk->id_to_token(token_id(i)) : std::string_view();
            toks[std::size_t(i)] = s.empty() ? "<unused_" + std::to_string(i) + ">" : std::string(s);
            if (i < 1000) types[std::size_t(i)] = 3;  // control
        }
        g.kv_strs("tokenizer.ggml.tokens", toks);
        g.kv_i32s("tokenizer.ggml.token_type", types);
        g.kv_strs("tokenizer.ggml.merges", merges);
        g.kv_u32("tokenizer.ggml.bos_token_id", 1);
        g.kv_u32("tokenizer.ggml.eos_token_id", 2);
        g.kv_u32("tokenizer.ggml.unknown_token_id", 0);
        g.kv_u32("tokenizer.ggml.padding_token_id", 11);
        g.kv_bool("tokenizer.ggml.add_bos_token", true);
        g.kv_bool("tokenizer.ggml.add_eos_token", false);
        struct item {
            std::size_t t;
            ggml_type type;
            std::size_t bytes;
        };
        std::vector<item> items;
        for (std::size_t t = 0; t < all.size(); ++t) {
            const spec& s = all[t];
            if (s.gguf.empty()) continue;
            const std::size_t n = std::size_t(s.shape.numel());
            const ggml_type gt = s.linear ? (s.head ? ggml_type::q8_0 : ggml_type::q4_0)
                                          : (s.shape.ndim == 1 ? ggml_type::f32 : ggml_type::bf16);
            const std::size_t bytes = gt == ggml_type::q4_0 ? n / 32 * 18 : gt == ggml_type::q8_0 ? n / 32 * 34
                                    : gt == ggml_type::f32  ? n * 4 : n * 2;
            g.tensor(s.gguf, gt, s.shape, bytes);
            items.push_back({t, gt, bytes});
        }
        std::FILE* f = std::fopen(o.gguf.c_str(), "wb");
        if (!f) return fail("cannot create '" + o.gguf + "'");
        const std::string h = g.header();
        bool wok = std::fwrite(h.data(), 1, h.size(), f) == h.size();
        std::vector<std::uint8_t> buf;
        for (const item& it : items) {
            const spec& s = all[it.t];
            if (it.type == ggml_type::q4_0 || it.type == ggml_type::q8_0) {  // row by row, the same blocks
                const std::int64_t rows = s.shape[0], cols = s.shape[1], nb = cols / 32;
                const float sc = s.scale * 0.58f;
                const std::size_t bb = it.type == ggml_type::q4_0 ? 18 : 34;
                buf.resize(std::size_t(nb) * bb);
                for (std::int64_t row = 0; row < rows && wok; ++row) {
                    for (std::int64_t gi = 0; gi < nb; ++gi) {
                        if (it.type == ggml_type::q4_0) {
                            kernels::block_q4 b;
                            q4_block(seed, it.t, row, gi, nb, sc, b);
                            std::memcpy(buf.data() + std::size_t(gi) * 18, &b, 18);
                        } else {
                            kernels::block_q8 b;
                            q8_block(seed, it.t, row, gi, nb, sc, b);
                            std::memcpy(buf.data() + std::size_t(gi) * 34, &b, 34);
                        }
                    }
                    wok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
                }
            } else {
                const std::size_t n = std::size_t(s.shape.numel());
                const std::size_t es = it.type == ggml_type::f32 ? 4 : 2;
                for (std::size_t i0 = 0; i0 < n && wok; i0 += 1 << 20) {
                    const std::size_t m = std::min<std::size_t>(1 << 20, n - i0);
                    buf.resize(m * es);
                    for (std::size_t i = 0; i < m; ++i) {
                        const float v = plain_value(seed, it.t, s, i0 + i);
                        if (es == 4) std::memcpy(buf.data() + 4 * i, &v, 4);
                        else {
                            const std::uint16_t hb = f32_to_bf16(v);
                            std::memcpy(buf.data() + 2 * i, &hb, 2);
                        }
                    }
                    wok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
                }
            }
            static const char zeros[32] = {0};
            const std::size_t pad = (32 - it.bytes % 32) % 32;
            if (wok && pad) wok = std::fwrite(zeros, 1, pad, f) == pad;
        }
        if (std::fclose(f) != 0 || !wok) return fail("write error on '" + o.gguf + "'");
        std::printf("wrote %s: the text decoder as llama.cpp GGUF (Q4_0, output Q8_0)\n", o.gguf.c_str());
    }
    return 0;
}

}  // namespace random_mistral3

namespace random_mistral3 {

// True when the command line names one of these shapes (--shape NAME).
inline bool wanted(int argc, char** argv) {
    for (int i = 2; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--shape") == 0 && find(argv[i + 1])) return true;
    return false;
}

inline int main(int argc, char** argv) {
    options o;
    o.out = argv[1];
    const preset* p = nullptr;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--shape" && (v = val())) {
            p = find(v);
        } else if (a == "--seed" && (v = val())) {
            o.seed = std::strtoull(v, nullptr, 10);
        } else if (a == "--dtype" && (v = val())) {
            const std::string t = v;
            if (t == "q4") o.type = dtype::q4;
            else if (t == "q8") o.type = dtype::q8;
            else if (t == "bf16") o.type = dtype::bf16;
            else if (t == "f32") o.type = dtype::f32;
            else return fail("--dtype must be q4, q8, bf16 or f32 for the mistral3 shapes");
        } else if (a == "--shard-mb" && (v = val())) {
            const double mb = std::strtod(v, nullptr);
            if (!(mb >= 1.0 / 16)) return fail("--shard-mb needs a size in MiB (at least 1/16)");
            o.shard_bytes = std::size_t(mb * 1048576.0);
        } else if (a == "--tokenizer-from" && (v = val())) {
            o.tokenizer_from = v;
        } else if (a == "--gguf" && (v = val())) {
            o.gguf = v;
        } else {
            return fail("unknown or incomplete option '" + a + "' for the mistral3 shapes");
        }
    }
    if (!p) return fail("unknown shape");
    ::mkdir(o.out.c_str(), 0755);
    return run(*p, o);
}

}  // namespace random_mistral3
