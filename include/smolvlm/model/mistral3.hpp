// smolvlm/model/mistral3.hpp — Mistral Small 3.1 (Mistral3ForConditionalGeneration): the family.
//
// What differs from SmolVLM (model/smolvlm.hpp), step by step (Mistral Small 3.1 sizes):
//
//   1. pixels -> one image, no tiles                                 PixtralImageProcessor
//      RGB first (alpha over white), then one PIL BICUBIC resize to fit longest_edge (1540),
//      each side rounded UP to a multiple of patch x spatial_merge_size (28); CLIP mean/std:
//      pixel_values [3, H, W] per image, any size      (pipeline/preprocess_pixtral.hpp)
//   2. prompt text                                                   PixtralProcessor
//      every [IMG] becomes, per row of merged tokens, [IMG] x cols + [IMG_BREAK], the last
//      [IMG_BREAK] replaced by [IMG_END]                (pipeline/preprocess_pixtral.hpp)
//   3. image -> hidden rows                                          PixtralVisionModel
//      patch conv (14 px, no bias), ln_pre, 24 layers of 1024 with 2D RoPE over
//      (row, column), block-diagonal attention:  [(H/14)(W/14), 1024]  (model/pixtral.hpp)
//   4. hidden rows -> image tokens                                   Mistral3MultiModalProjector
//      RMSNorm, 2 x 2 patch merger, linear -> GELU -> linear:
//      [(H/28)(W/28), 5120]                            (model/patch_merger.hpp)
//   5. splice: the k-th [IMG] token's row := image token row k ([IMG_BREAK], [IMG_END] stay text)
//   6. decoder                                                       MistralModel
//      40 layers of 5120, 32 query heads / 8 KV heads of head_dim 128 (q width 4096 !=
//      hidden), RoPE theta 1e9, no sliding window    (model/llama.hpp)
//   7. logits: lm_head (untied)  [131072]
//
// The rest of this file is the family: config.json of model_type "mistral3" (text_config:
// MistralConfig keys, vision_config: PixtralVisionConfig keys, projector keys at the top)
// and the tensor-name table of the published checkpoint, which keeps the pre-v5 Llava-style
// names (transformers 5 renames them on load):
//   language_model.model.*          the decoder (embed_tokens, layers.{i}.*, norm)
//   language_model.lm_head.weight   the head (tied to the embedding only when absent and
//                                   tie_word_embeddings, the Mistral3Config default)
//   vision_tower.*                  Pixtral (model/pixtral.hpp)
//   multi_modal_projector.*         the projector (model/patch_merger.hpp)
// Sharded checkpoints (model.safetensors.index.json) are read by io/safetensors.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "../core/status.hpp"
#include "../io/json.hpp"
#include "config.hpp"
#include "family.hpp"
#include "llama.hpp"
#include "patch_merger.hpp"
#include "pixtral.hpp"
#include "vision.hpp"

namespace smolvlm {
namespace detail {

// rope_theta, or transformers 5's rope_parameters {"rope_type": ..., "rope_theta": ...}.
inline status mistral3_rope_theta(const json_value* obj, const char* where, const char* want_type, double& theta) {
    if (!obj) return status::ok();
    config_reader r(obj, where);
    r.f64("rope_theta", theta, 1e-3, 1e12);
    SMOLVLM_TRY(r.error());
    const json_value* rp = obj->find("rope_parameters");
    if (!rp || rp->is_null()) return status::ok();
    if (!rp->is_object()) return status::fmt(errc::bad_format, "%s: rope_parameters is not an object", where);
    if (const json_value* t = rp->find("rope_type"); t && !t->is_null()) {
        if (!t->is_string() || (t->as_string() != want_type && t->as_string() != "default"))
            return status::fmt(errc::unsupported, "%s: rope_parameters.rope_type must be \"%s\"", where, want_type);
    }
    config_reader rr(rp, where);
    rr.f64("rope_theta", theta, 1e-3, 1e12);
    return rr.error();
}

// text_config: MistralConfig (defaults for absent keys; the Mistral Small 3.1 values when the
// whole object is absent, as Mistral3Config does).
inline status mistral3_read_text(const json_value* tc, text_config& t) {
    const char* where = "config.json text_config";
    if (tc && !tc->is_null() && !tc->is_object()) return status(errc::bad_format, "config.json: text_config is not an object");
    const bool given = tc && tc->is_object();
    t.model_type = "mistral";
    t.vocab_size = given ? 32000 : 131072;
    t.hidden_size = given ? 4096 : 5120;
    t.intermediate_size = given ? 14336 : 32768;
    t.num_hidden_layers = given ? 32 : 40;
    t.num_attention_heads = 32;
    t.max_position_embeddings = given ? 4096 * 32 : 131072;
    t.rms_norm_eps = given ? 1e-6 : 1e-5;
    t.rope_theta = given ? 10000.0 : 1e9;
    t.tie_word_embeddings = false;
    t.bos_token_id = 1;
    t.eos_token_id = 2;
    if (!given) {
        t.num_key_value_heads = 8;
        t.head_dim = 128;
        t.sliding_window = 0;
        t.use_rope.assign(std::size_t(t.num_hidden_layers), true);
        return status::ok();
    }
    SMOLVLM_TRY(read_text_config(tc, where, t));
    // MistralConfig's defaults where they differ from LlamaConfig's.
    if (!tc->find("num_key_value_heads") || tc->find("num_key_value_heads")->is_null()) {
        t.num_key_value_heads = 8;
        if (t.num_attention_heads % t.num_key_value_heads != 0)
            return status::fmt(errc::bad_format, "%s: num_attention_heads %lld is not a multiple of the default 8 KV heads",
                               where, (long long)t.num_attention_heads);
    }
    SMOLVLM_TRY(mistral3_rope_theta(tc, where, "default", t.rope_theta));
    t.sliding_window = 4096;  // MistralConfig default; null: none
    if (const json_value* sw = tc->find("sliding_window")) {
        if (sw->is_null()) {
            t.sliding_window = 0;
        } else {
            config_reader r(tc, where);
            r.i64("sliding_window", t.sliding_window, 1, std::int64_t(1) << 40);
            SMOLVLM_TRY(r.error());
        }
    }
    return status::ok();
}

// vision_config: PixtralVisionConfig (Mistral3Config's values when the object is absent).
inline status mistral3_read_vision(const json_value* vc, vision_config& v, double& rope_theta) {
    const char* where = "config.json vision_config";
    if (vc && !vc->is_null() && !vc->is_object()) return status(errc::bad_format, "config.json: vision_config is not an object");
    const bool given = vc && vc->is_object();
    v.hidden_size = 1024;
    v.intermediate_size = 4096;
    v.num_hidden_layers = 24;
    v.num_attention_heads = 16;
    v.num_channels = 3;
    v.image_size = given ? 1024 : 1540;
    v.patch_size = given ? 16 : 14;
    v.hidden_act = "gelu";
    v.layer_norm_eps = 1e-5;
    rope_theta = 10000.0;
    if (!given) return status::ok();
    config_reader r(vc, where);
    r.i64("hidden_size", v.hidden_size, 1, k_max_hidden);
    r.i64("intermediate_size", v.intermediate_size, 1, 4 * k_max_hidden);
    r.i64("num_hidden_layers", v.num_hidden_layers, 0, k_max_layers);
    r.i64("num_attention_heads", v.num_attention_heads, 1, k_max_heads);
    r.i64("num_channels", v.num_channels, 1, 4);
    r.i64("image_size", v.image_size, 1, 16384);
    r.i64("patch_size", v.patch_size, 1, 1024);
    r.str("hidden_act", v.hidden_act);
    std::int64_t head_dim = 0;
    r.i64("head_dim", head_dim, 1, k_max_hidden);
    SMOLVLM_TRY(r.error());
    SMOLVLM_TRY(mistral3_rope_theta(vc, where, "axial", rope_theta));
    if (v.num_channels != 3) return status(errc::unsupported, "config.json vision_config: num_channels must be 3");
    if (v.hidden_size % v.num_attention_heads != 0)
        return status::fmt(errc::bad_format, "%s: hidden_size %lld is not a multiple of num_attention_heads %lld", where,
                           (long long)v.hidden_size, (long long)v.num_attention_heads);
    // PixtralAttention uses hidden_size / num_attention_heads whatever head_dim says; a
    // different head_dim is a config that does not describe its own weights.
    if (head_dim != 0 && head_dim != v.head_dim())
        return status::fmt(errc::bad_format, "%s: head_dim %lld does not match hidden_size / num_attention_heads = %lld",
                           where, (long long)head_dim, (long long)v.head_dim());
    if (v.head_dim() % 4 != 0)
        return status::fmt(errc::bad_format, "%s: head size %lld is not a multiple of 4 (2D RoPE)", where,
                           (long long)v.head_dim());
    if (v.patch_size > v.image_size) return status::fmt(errc::bad_format, "%s: patch_size is larger than image_size", where);
    if (v.hidden_act != "silu" && v.hidden_act != "gelu")
        return status::fmt(errc::unsupported, "%s: hidden_act '%.32s' is not supported (silu, gelu)", where,
                           v.hidden_act.c_str());
    return status::ok();
}

inline status mistral3_read_config(const json_value& root, const std::string&, model_config& c) {
    c.arch = model_arch::mistral3;
    c.has_vision = true;
    c.image_token_id = 10;
    c.tie_word_embeddings = true;  // Mistral3Config default (the checkpoint's lm_head wins when present)
    mistral3_config& m = c.mistral3;
    config_reader top(&root, "config.json");
    top.i64("image_token_index", c.image_token_id, 0, k_max_vocab);
    top.i64("image_token_id", c.image_token_id, 0, k_max_vocab);  // attribute_map alias
    top.boolean("tie_word_embeddings", c.tie_word_embeddings);
    top.i64("spatial_merge_size", m.spatial_merge_size, 1, 64);
    top.str("projector_hidden_act", m.projector_hidden_act);
    top.boolean("multimodal_projector_bias", m.multimodal_projector_bias);
    if (const json_value* fl = root.find("vision_feature_layer"); fl && fl->is_array())
        return status(errc::unsupported, "config.json: a list of vision_feature_layer values is not supported");
    top.i64("vision_feature_layer", m.vision_feature_layer, -k_max_layers, k_max_layers);
    SMOLVLM_TRY(top.error());
    SMOLVLM_TRY(parse_projector_act(m.projector_hidden_act));
    SMOLVLM_TRY(mistral3_read_text(root.find("text_config"), c.text));
    SMOLVLM_TRY(mistral3_read_vision(root.find("vision_config"), c.vision, m.vision_rope_theta));
    SMOLVLM_TRY(pixtral_layers_run(c.vision.num_hidden_layers, m.vision_feature_layer));
    if (c.image_token_id >= c.text.vocab_size)
        return status::fmt(errc::bad_format, "config.json: image_token_index %lld is outside the text vocabulary (%lld)",
                           (long long)c.image_token_id, (long long)c.text.vocab_size);
    return status::ok();
}

inline status mistral3_build(const model_config& cfg, model_weights& w) {
    llama_weight_slots(cfg.text, "language_model.model.", "language_model.lm_head.weight", false, w.text, w.slots);
    if (cfg.tie_word_embeddings)
        for (weight_slot& s : w.slots)
            if (s.is_lm_head) {
                s.tied_to = &w.text.embed;
                s.tie_if_absent = true;
            }
    const mistral3_config& m = cfg.mistral3;
    SMOLVLM_ASSIGN_OR_RETURN(projector_act act, parse_projector_act(m.projector_hidden_act));
    auto enc = std::unique_ptr<pixtral_encoder>(new (std::nothrow) pixtral_encoder(
        cfg.vision, m.vision_rope_theta, m.vision_feature_layer, "vision_tower.", m.spatial_merge_size));
    auto proj = std::unique_ptr<patch_merger_projector>(new (std::nothrow) patch_merger_projector(
        cfg.vision.hidden_size, m.spatial_merge_size, cfg.text.hidden_size, float(cfg.text.rms_norm_eps), act,
        m.multimodal_projector_bias, "multi_modal_projector."));
    if (!enc || !proj) return status(errc::no_memory, "cannot allocate the vision modules");
    enc->weight_slots(w.slots);
    proj->weight_slots(w.slots);
    w.encoder = std::move(enc);
    w.projector = std::move(proj);
    return status::ok();
}

inline constexpr const char* k_mistral3_model_types[] = {"mistral3", nullptr};

}  // namespace detail

inline constexpr model_family mistral3_family{"mistral3", detail::k_mistral3_model_types,
                                              &detail::mistral3_read_config, &detail::mistral3_build};

}  // namespace smolvlm
