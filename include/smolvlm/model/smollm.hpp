// smolvlm/model/smollm.hpp — the text-only family: Llama-architecture checkpoints (SmolLM2)
// and SmolLM3 (NoPE layers: every no_rope_layer_interval-th layer, or the no_rope_layers
// list, has no rotary embedding).
//
// The forward pass is the decoder of model/llama.hpp on token embeddings:
//   ids [L] -> embed_tokens [L, D] -> layers -> norm -> lm_head -> logits [vocab]
// Tensor names (LlamaForCausalLM / SmolLM3ForCausalLM):
//   model.embed_tokens.weight, model.layers.{i}.*, model.norm.weight,
//   lm_head.weight (absent when tied)
#pragma once

#include <string>

#include "../core/status.hpp"
#include "../io/json.hpp"
#include "config.hpp"
#include "family.hpp"
#include "llama.hpp"

namespace smolvlm {
namespace detail {

inline status smollm_read_config(const json_value& root, const std::string& type, model_config& c) {
    c.arch = type == "llama" ? model_arch::llama : model_arch::smollm3;
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
    }
    SMOLVLM_TRY(read_text_config(&root, "config.json", c.text));
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
