// smolvlm/model/smollm.hpp — the text-only family: Llama-architecture checkpoints (SmolLM2)
// and SmolLM3 (SmolLM3ForCausalLM, the Llama decoder with NoPE layers).
//
// The forward pass is the decoder of model/llama.hpp on token embeddings:
//   ids [L] -> embed_tokens [L, D] -> layers -> norm -> lm_head -> logits [vocab]
// Tensor names (LlamaForCausalLM / SmolLM3ForCausalLM):
//   model.embed_tokens.weight, model.layers.{i}.*, model.norm.weight,
//   lm_head.weight (absent when tied)
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

#include <string>

#include "../core/status.hpp"
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

inline status smollm_build(const model_config& cfg, model_weights& w) {
    llama_weight_slots(cfg.text, "model.", "lm_head.weight", cfg.tie_word_embeddings, w.text, w.slots);
    return status::ok();
}

inline constexpr const char* k_smollm_model_types[] = {"llama", "smollm3", nullptr};

}  // namespace detail

inline constexpr model_family smollm_family{"smollm", detail::k_smollm_model_types, &detail::smollm_read_config,
                                            &detail::smollm_build};

}  // namespace smolvlm
