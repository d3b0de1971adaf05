// smolvlm/model/smollm.hpp — the text-only family: Llama-architecture checkpoints (SmolLM2)
// and SmolLM3 (SmolLM3ForCausalLM, the Llama decoder with NoPE layers).
//
// The forward pass is the decoder of model/llama.hpp on token embeddings:
//   ids [L] -> embed_tokens [L, D] -> layers -> norm -> lm_head -> logits [vocab]
// Tensor names (LlamaForCausalLM / SmolLM3ForCausalLM):
//   model.embed_tokens.weight, model.layers.{i}.*, model.norm.weight,
//   lm_head.weight (absent when tied)
// and their GGUF spelling (llama.cpp's convert_hf_to_gguf.py, architectures "llama" and
// "smollm3"): token_embd, blk.{i}.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm,
// ffn_gate, ffn_up, ffn_down}, output_norm, output (.weight; absent when tied). attn_q /
// attn_k rows are permuted for llama.cpp's RoPE (undone by the binder, model/weights.hpp).
//
// Config from GGUF metadata (`<arch>.*` keys): embedding_length, feed_forward_length,
// block_count, attention.head_count(_kv), attention.key_length, context_length,
// rope.freq_base, attention.layer_norm_rms_epsilon (stored as f32), vocab_size (else the
// token count); tied = no output.weight. SmolLM3 GGUFs carry no NoPE key: llama.cpp's
// smollm3 architecture skips RoPE on every 4th layer, which is what we do too.
//
// What SmolLM3 changes (SmolLM3Config, modular_smollm3.py):
//   - NoPE layers: no_rope_layers[i] == 1 means layer i uses RoPE, 0 that it skips it (q and
//     k unrotated; mask and scaling unchanged). Without the list, every
//     no_rope_layer_interval-th layer (default 4: layers 3, 7, 11, ...) is NoPE. A list whose
//     length is not num_hidden_layers is an error (transformers would index past it or ignore
//     the rest).
//   - defaults of its own: tie_word_embeddings true (SmolLM3-3B's config.json omits it),
//     num_key_value_heads 4, rope_theta 2e6, max_position_embeddings 32768.
//   - rope_scaling (YaRN for contexts past 64k, per the model card) is read for every family
//     by model/config.hpp; head_dim when given, else hidden_size / num_attention_heads.
//   - sliding-window layers (use_sliding_window with a sliding_window: NoPE layers become
//     "sliding_attention") are refused: no released SmolLM3 uses them.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "../core/status.hpp"
#include "../io/gguf.hpp"
#include "../io/json.hpp"
#include "config.hpp"
#include "family.hpp"
#include "llama.hpp"

namespace smolvlm {
namespace detail {

// SmolLM3's NoPE layers: no_rope_layers, else no_rope_layer_interval.
inline status smollm3_read_nope(const json_value& root, text_config& t) {
    const char* where = "config.json";
    config_reader r(&root, where);
    t.no_rope_layer_interval = 4;  // SmolLM3Config default
    r.i64("no_rope_layer_interval", t.no_rope_layer_interval, 1, k_max_layers);
    SMOLVLM_TRY(r.error());
    t.use_rope.assign(std::size_t(t.num_hidden_layers), true);
    const json_value* nr = r.get("no_rope_layers");
    if (nr && !nr->is_null()) {
        if (!nr->is_array()) return status::fmt(errc::bad_format, "%s: no_rope_layers must be a list", where);
        if (nr->size() != std::size_t(t.num_hidden_layers))
            return status::fmt(errc::bad_format, "%s: no_rope_layers has %zu entries for %lld layers", where, nr->size(),
                               (long long)t.num_hidden_layers);
        for (std::size_t i = 0; i < nr->size(); ++i) {  // 1: the layer uses RoPE
            const json_value& e = nr->items()[i];
            if (!e.is_integer() || e.as_int() < 0 || e.as_int() > 1)
                return status::fmt(errc::bad_format, "%s: no_rope_layers must hold integers 0 or 1", where);
            t.use_rope[i] = e.as_int() != 0;
        }
    } else {
        for (std::int64_t i = 0; i < t.num_hidden_layers; ++i)
            t.use_rope[std::size_t(i)] = ((i + 1) % t.no_rope_layer_interval) != 0;
    }
    // Sliding-window attention (SmolLM3Config: NoPE layers become "sliding_attention" when
    // use_sliding_window and sliding_window are set, or layer_types says so).
    bool sliding = false;
    r.boolean("use_sliding_window", sliding);
    SMOLVLM_TRY(r.error());
    const json_value* win = r.get("sliding_window");
    if (sliding && win && !win->is_null()) {
        const json_value* lt = r.get("layer_types");
        bool any = !lt || lt->is_null();  // derived: the NoPE layers slide
        if (any) {
            any = false;
            for (bool u : t.use_rope) any = any || !u;
        } else if (lt->is_array()) {
            for (const json_value& e : lt->items()) any = any || (e.is_string() && e.as_string() == "sliding_attention");
        }
        if (any) return status::fmt(errc::unsupported, "%s: sliding-window attention layers are not supported", where);
    }
    return status::ok();
}

inline status smollm_read_config(const json_value& root, const std::string& type, model_config& c) {
    c.arch = type == "llama" ? model_arch::llama : model_arch::smollm3;
    std::int64_t default_kv_heads = 0;  // LlamaConfig: num_attention_heads
    if (type == "smollm3") {  // SmolLM3Config defaults
        c.text.rope_theta = 2000000.0;
        c.text.tie_word_embeddings = true;
        c.text.max_position_embeddings = 32768;
        c.text.rms_norm_eps = 1e-6;
        c.text.hidden_size = 2048;
        c.text.intermediate_size = 11008;
        c.text.num_hidden_layers = 36;
        c.text.num_attention_heads = 16;
        c.text.vocab_size = 128256;
        default_kv_heads = 4;
    }
    SMOLVLM_TRY(read_text_config(&root, "config.json", c.text, default_kv_heads));
    if (type == "smollm3") SMOLVLM_TRY(smollm3_read_nope(root, c.text));
    c.tie_word_embeddings = c.text.tie_word_embeddings;
    return status::ok();
}

// ---- GGUF -----------------------------------------------------------------------------

// The GGUF name of a decoder tensor: `hf` is a key of llama_weight_slots(prefix, head).
// Empty when the converter writes no such tensor.
inline std::string llama_gguf_name(const std::string& hf, const std::string& prefix, const std::string& head) {
    if (hf == head) return "output.weight";
    if (hf.compare(0, prefix.size(), prefix) != 0) return std::string();
    const std::string rest = hf.substr(prefix.size());
    if (rest == "embed_tokens.weight") return "token_embd.weight";
    if (rest == "norm.weight") return "output_norm.weight";
    if (rest.compare(0, 7, "layers.") != 0) return std::string();
    const std::size_t dot = rest.find('.', 7);
    if (dot == std::string::npos) return std::string();
    const std::string layer = rest.substr(7, dot - 7), leaf = rest.substr(dot + 1);
    static constexpr const char* k_map[][2] = {
        {"input_layernorm.weight", "attn_norm.weight"},       {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},         {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},         {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},             {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},             {"self_attn.o_proj.bias", "attn_output.bias"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},          {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    for (const auto& m : k_map)
        if (leaf == m[0]) return "blk." + layer + "." + m[1];
    return std::string();
}

// Fill the GGUF spelling of the decoder's slots (and the Q/K un-permutation).
inline void llama_gguf_names(const text_config& t, const std::string& prefix, const std::string& head,
                             std::vector<weight_slot>& slots) {
    for (weight_slot& s : slots) {
        std::string g = llama_gguf_name(s.name, prefix, head);
        if (g.empty()) continue;
        auto ends = [&](const char* tail) {
            const std::size_t k = std::strlen(tail);
            return g.size() > k && g.compare(g.size() - k, k, tail) == 0;
        };
        if (ends(".attn_q.weight")) s.gguf_unpermute_heads = t.num_attention_heads;
        if (ends(".attn_k.weight")) s.gguf_unpermute_heads = t.num_key_value_heads;
        s.gguf_name = std::move(g);
    }
}

// A decoder config from a text GGUF's metadata, written as the config.json keys it stands
// for and read by read_text_config (one set of checks for both sources).
inline status read_gguf_text_config(const gguf_file& f, text_config& t) {
    SMOLVLM_ASSIGN_OR_RETURN(std::string_view arch, f.get_string("general.architecture"));
    if (arch != "llama" && arch != "smollm3")
        return status::fmt(errc::unsupported, "gguf: architecture '%.40s' is not a Llama-style decoder (llama, smollm3)",
                           std::string(arch).c_str());
    const std::string a(arch);
    std::string j = "{\"model_type\":\"" + a + "\"";
    auto num = [&](const char* json_key, const char* suffix, bool required) {
        return append_gguf_number(f, a + "." + suffix, json_key, required, "gguf", j);
    };
    SMOLVLM_TRY(num("hidden_size", "embedding_length", true));
    SMOLVLM_TRY(num("intermediate_size", "feed_forward_length", true));
    SMOLVLM_TRY(num("num_hidden_layers", "block_count", true));
    SMOLVLM_TRY(num("num_attention_heads", "attention.head_count", true));
    SMOLVLM_TRY(num("num_key_value_heads", "attention.head_count_kv", false));
    SMOLVLM_TRY(num("head_dim", "attention.key_length", false));
    SMOLVLM_TRY(num("max_position_embeddings", "context_length", false));
    SMOLVLM_TRY(num("rope_theta", "rope.freq_base", false));
    SMOLVLM_TRY(num("rms_norm_eps", "attention.layer_norm_rms_epsilon", true));
    if (f.find_kv(a + ".vocab_size")) {
        SMOLVLM_TRY(num("vocab_size", "vocab_size", false));
    } else if (const gguf_kv* tk = f.find_kv("tokenizer.ggml.tokens"); tk && tk->type == gguf_value_type::array) {
        j += ",\"vocab_size\":" + std::to_string(tk->array.size());
    } else {
        return status::fmt(errc::bad_format, "gguf: neither %s.vocab_size nor tokenizer.ggml.tokens gives the vocabulary",
                           a.c_str());
    }
    if (f.find("blk.0.attn_q.bias")) j += ",\"attention_bias\":true";
    if (f.find("blk.0.ffn_up.bias")) j += ",\"mlp_bias\":true";
    if (a == "smollm3") j += ",\"no_rope_layer_interval\":4";
    for (const char* k : {"bos_token_id", "eos_token_id", "padding_token_id"}) {
        const gguf_kv* kv = f.find_kv(std::string("tokenizer.ggml.") + k);
        std::uint32_t id = 0;
        if (kv && kv->scalar.to_int(id)) j += ",\"" + std::string(k[0] == 'p' ? "pad_token_id" : k) + "\":" + std::to_string(id);
    }
    j += "}";
    if (const gguf_kv* rs = f.find_kv(a + ".rope.scaling.type"); rs && !(rs->type == gguf_value_type::string && rs->str == "none"))
        return status::fmt(errc::unsupported, "gguf: %s.rope.scaling.type is not supported", a.c_str());
    auto parsed = parse_json(j);
    if (!parsed) return parsed.take_status();
    SMOLVLM_TRY(read_text_config(&parsed.value(), "gguf", t));
    if (a == "smollm3") SMOLVLM_TRY(smollm3_read_nope(parsed.value(), t));  // every 4th layer, as llama.cpp's smollm3
    if (const gguf_kv* rd = f.find_kv(a + ".rope.dimension_count")) {
        std::int64_t d = 0;
        if (!rd->scalar.to_int(d) || d != t.head_dim)
            return status::fmt(errc::unsupported, "gguf: %s.rope.dimension_count differs from the head size %lld "
                               "(partial rotary embeddings are not supported)", a.c_str(), (long long)t.head_dim);
    }
    return status::ok();
}

inline status smollm_read_gguf(const gguf_file& f, const gguf_file*, model_config& c) {
    SMOLVLM_TRY(read_gguf_text_config(f, c.text));
    c.arch = c.text.model_type == "llama" ? model_arch::llama : model_arch::smollm3;
    c.tie_word_embeddings = c.text.tie_word_embeddings = f.find("output.weight") == nullptr;
    return status::ok();
}

inline status smollm_build(const model_config& cfg, model_weights& w) {
    llama_weight_slots(cfg.text, "model.", "lm_head.weight", cfg.tie_word_embeddings, w.text, w.slots);
    llama_gguf_names(cfg.text, "model.", "lm_head.weight", w.slots);
    return status::ok();
}

inline constexpr const char* k_smollm_model_types[] = {"llama", "smollm3", nullptr};
inline constexpr const char* k_smollm_gguf_archs[] = {"llama", "smollm3", nullptr};

}  // namespace detail

inline constexpr model_family smollm_family{"smollm",
                                            detail::k_smollm_model_types,
                                            &detail::smollm_read_config,
                                            &detail::smollm_build,
                                            detail::k_smollm_gguf_archs,
                                            /*gguf_mmproj=*/false,
                                            &detail::smollm_read_gguf};

}  // namespace smolvlm
