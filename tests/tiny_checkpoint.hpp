// Test helper shared by tests/ and tests/fuzz/: the list of tensors a model config
// implies (name + shape, the same table model/weights.hpp binds), and a checkpoint
// built in memory from it, optionally with one tensor dropped or mis-shaped.
//
// Kept separate from weights.hpp on purpose: it is an independent restatement of the
// Hugging Face tensor names, so a typo in the binder shows up as a test failure.
#pragma once

#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/config.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace smolvlm_test {

struct named_shape {
    std::string name;
    smolvlm::shape_t shape;
};

// The Llama-style decoder: embeddings, final norm, head (unless tied) and every layer, under
// `prefix` ("model." or "model.text_model." or "language_model.model.").
inline void push_decoder_tensors(std::vector<named_shape>& v, const smolvlm::text_config& t, const std::string& prefix,
                                 const std::string& lm_head, bool tied) {
    const std::int64_t D = t.hidden_size, F = t.intermediate_size;
    const std::int64_t nq = t.num_attention_heads * t.head_dim, nkv = t.num_key_value_heads * t.head_dim;
    v.push_back({prefix + "embed_tokens.weight", {t.vocab_size, D}});
    v.push_back({prefix + "norm.weight", {D}});
    if (!tied) v.push_back({lm_head, {t.vocab_size, D}});
    for (std::int64_t i = 0; i < t.num_hidden_layers; ++i) {
        const std::string p = prefix + "layers." + std::to_string(i) + ".";
        v.push_back({p + "input_layernorm.weight", {D}});
        v.push_back({p + "post_attention_layernorm.weight", {D}});
        v.push_back({p + "self_attn.q_proj.weight", {nq, D}});
        v.push_back({p + "self_attn.k_proj.weight", {nkv, D}});
        v.push_back({p + "self_attn.v_proj.weight", {nkv, D}});
        v.push_back({p + "self_attn.o_proj.weight", {D, nq}});
        v.push_back({p + "mlp.gate_proj.weight", {F, D}});
        v.push_back({p + "mlp.up_proj.weight", {F, D}});
        v.push_back({p + "mlp.down_proj.weight", {D, F}});
        if (t.attention_bias) {
            v.push_back({p + "self_attn.q_proj.bias", {nq}});
            v.push_back({p + "self_attn.k_proj.bias", {nkv}});
            v.push_back({p + "self_attn.v_proj.bias", {nkv}});
            v.push_back({p + "self_attn.o_proj.bias", {D}});
        }
        if (t.mlp_bias) {
            v.push_back({p + "mlp.gate_proj.bias", {F}});
            v.push_back({p + "mlp.up_proj.bias", {F}});
            v.push_back({p + "mlp.down_proj.bias", {D}});
        }
    }
}

// Mistral 3 (Mistral3ForConditionalGeneration, the checkpoint names transformers 4.50+ writes):
// a Mistral decoder under language_model., the Pixtral tower under vision_tower., the
// patch-merger projector under multi_modal_projector.
inline std::vector<named_shape> expected_mistral3_tensors(const smolvlm::model_config& c) {
    std::vector<named_shape> v;
    const auto& t = c.text;
    const auto& vc = c.vision;
    const std::int64_t D = t.hidden_size;
    push_decoder_tensors(v, t, "language_model.model.", "language_model.lm_head.weight", c.tie_word_embeddings);
    const std::int64_t V = vc.hidden_size, VF = vc.intermediate_size, P = vc.patch_size;
    v.push_back({"vision_tower.patch_conv.weight", {V, vc.num_channels, P, P}});
    v.push_back({"vision_tower.ln_pre.weight", {V}});
    // Every layer of the tower is in the checkpoint (even when vision_feature_layer stops early).
    for (std::int64_t i = 0; i < vc.num_hidden_layers; ++i) {
        const std::string p = "vision_tower.transformer.layers." + std::to_string(i) + ".";
        v.push_back({p + "attention_norm.weight", {V}});
        v.push_back({p + "ffn_norm.weight", {V}});
        for (const char* m : {"q_proj", "k_proj", "v_proj", "o_proj"})
            v.push_back({p + "attention." + m + ".weight", {V, V}});
        v.push_back({p + "feed_forward.gate_proj.weight", {VF, V}});
        v.push_back({p + "feed_forward.up_proj.weight", {VF, V}});
        v.push_back({p + "feed_forward.down_proj.weight", {V, VF}});
    }
    const std::int64_t s = c.mistral3.spatial_merge_size;
    v.push_back({"multi_modal_projector.norm.weight", {V}});
    v.push_back({"multi_modal_projector.patch_merger.merging_layer.weight", {V, V * s * s}});
    v.push_back({"multi_modal_projector.linear_1.weight", {D, V}});
    v.push_back({"multi_modal_projector.linear_2.weight", {D, D}});
    if (c.mistral3.multimodal_projector_bias) {
        v.push_back({"multi_modal_projector.linear_1.bias", {D}});
        v.push_back({"multi_modal_projector.linear_2.bias", {D}});
    }
    return v;
}

inline std::vector<named_shape> expected_tensors(const smolvlm::model_config& c) {
    using smolvlm::shape_t;
    if (c.arch == smolvlm::model_arch::mistral3) return expected_mistral3_tensors(c);
    std::vector<named_shape> v;
    const auto& t = c.text;
    const std::string tp = c.has_vision ? "model.text_model." : "model.";
    const std::int64_t D = t.hidden_size;
    push_decoder_tensors(v, t, tp, "lm_head.weight", c.tie_word_embeddings);
    if (c.has_vision) {
        const auto& vc = c.vision;
        const std::int64_t Dv = vc.hidden_size, Fv = vc.intermediate_size, p = vc.patch_size;
        const std::string vp = "model.vision_model.";
        v.push_back({vp + "embeddings.patch_embedding.weight", {Dv, vc.num_channels, p, p}});
        v.push_back({vp + "embeddings.patch_embedding.bias", {Dv}});
        v.push_back({vp + "embeddings.position_embedding.weight", {vc.num_patches(), Dv}});
        v.push_back({vp + "post_layernorm.weight", {Dv}});
        v.push_back({vp + "post_layernorm.bias", {Dv}});
        for (std::int64_t i = 0; i < vc.num_hidden_layers; ++i) {
            const std::string l = vp + "encoder.layers." + std::to_string(i) + ".";
            for (const char* n : {"layer_norm1.weight", "layer_norm1.bias", "layer_norm2.weight", "layer_norm2.bias",
                                  "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
                                  "self_attn.out_proj.bias", "mlp.fc2.bias"})
                v.push_back({l + n, {Dv}});
            for (const char* n : {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                  "self_attn.out_proj.weight"})
                v.push_back({l + n, {Dv, Dv}});
            v.push_back({l + "mlp.fc1.weight", {Fv, Dv}});
            v.push_back({l + "mlp.fc1.bias", {Fv}});
            v.push_back({l + "mlp.fc2.weight", {Dv, Fv}});
        }
        const std::int64_t s = c.scale_factor;
        v.push_back({"model.connector.modality_projection.proj.weight", {D, Dv * s * s}});
    }
    return v;
}

// Total elements of a tensor list (saturating at INT64_MAX on overflow).
inline std::int64_t total_elements(const std::vector<named_shape>& v) {
    std::int64_t n = 0;
    for (const auto& e : v) {
        std::int64_t k = 1;
        for (int d = 0; d < e.shape.ndim; ++d) {
            if (e.shape[d] != 0 && k > INT64_MAX / e.shape[d]) return INT64_MAX;
            k *= e.shape[d];
        }
        if (n > INT64_MAX - k) return INT64_MAX;
        n += k;
    }
    return n;
}

// A bf16 checkpoint of zeros for the given list; `drop` removes entry i, `misshape`
// adds one row to entry i's first dim (-1: none).
inline std::vector<std::uint8_t> make_checkpoint(const std::vector<named_shape>& v, long drop = -1,
                                                 long misshape = -1) {
    smolvlm::safetensors_writer w;
    std::vector<std::uint8_t> zeros;
    for (long i = 0; i < long(v.size()); ++i) {
        if (i == drop) continue;
        smolvlm::shape_t s = v[std::size_t(i)].shape;
        if (i == misshape) s[0] += 1;
        const std::size_t bytes = std::size_t(s.numel()) * 2;
        if (zeros.size() < bytes) zeros.resize(bytes);
        (void)w.add(v[std::size_t(i)].name, smolvlm::dtype::bf16, s, zeros.data(), bytes);
    }
    return w.serialize();
}

}  // namespace smolvlm_test
