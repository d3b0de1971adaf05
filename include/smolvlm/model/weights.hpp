// smolvlm/model/weights.hpp — the tensor-name table and weight binding.
//
// Every safetensors key the engine reads is spelled in this file, next to the shape
// the config implies. Big matrices are used in place (mmap'd file or caller buffer)
// in their stored dtype (f32 / f16 / bf16); small vectors (norm weights, biases,
// position embeddings) are converted to f32 copies at load. A tensor that is missing
// or has the wrong shape is an error naming it.
//
//   VLM (idefics3 / smolvlm)             text-only (llama / smollm3)
//   model.text_model.embed_tokens        model.embed_tokens
//   model.text_model.layers.{i}.*        model.layers.{i}.*
//   model.text_model.norm                model.norm
//   lm_head (absent when tied)           lm_head (absent when tied)
//   model.vision_model.*, model.connector.modality_projection.proj
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/safetensors.hpp"
#include "../kernels/matmul.hpp"
#include "config.hpp"

namespace smolvlm {

// One decoder layer (LlamaDecoderLayer).
struct llama_layer_weights {
    std::vector<float> attn_norm;          // input_layernorm.weight            [hidden]
    kernels::weight_matrix q, k, v, o;     // self_attn.{q,k,v,o}_proj.weight   [n_heads*hd, hidden] ...
    std::vector<float> q_bias, k_bias, v_bias, o_bias;  // only with attention_bias
    std::vector<float> mlp_norm;           // post_attention_layernorm.weight   [hidden]
    kernels::weight_matrix gate, up, down; // mlp.{gate,up,down}_proj.weight    [ffn, hidden] / [hidden, ffn]
    std::vector<float> gate_bias, up_bias, down_bias;   // only with mlp_bias
    bool use_rope = true;                  // SmolLM3 NoPE layers: false
};

struct text_weights {
    kernels::weight_matrix embed;          // embed_tokens.weight [vocab, hidden]
    std::vector<llama_layer_weights> layers;
    std::vector<float> final_norm;         // norm.weight [hidden]
    kernels::weight_matrix lm_head;        // [vocab, hidden]; == embed when tied
};

// One SigLIP encoder layer (Idefics3EncoderLayer).
struct siglip_layer_weights {
    std::vector<float> ln1_w, ln1_b;       // layer_norm1 [D]
    kernels::weight_matrix q, k, v, o;     // self_attn.{q,k,v,out}_proj [D, D]
    std::vector<float> q_b, k_b, v_b, o_b; // [D]
    std::vector<float> ln2_w, ln2_b;       // layer_norm2 [D]
    kernels::weight_matrix fc1, fc2;       // mlp.fc1 [F, D], mlp.fc2 [D, F]
    std::vector<float> fc1_b, fc2_b;       // [F], [D]
};

struct vision_weights {
    kernels::weight_matrix patch_embed;    // patch_embedding.weight [D, 3, p, p] viewed as [D, 3*p*p]
    std::vector<float> patch_bias;         // [D]
    std::vector<float> pos_embed;          // position_embedding.weight [num_patches, D]
    std::vector<siglip_layer_weights> layers;
    std::vector<float> post_ln_w, post_ln_b;  // post_layernorm [D]
    kernels::weight_matrix connector;      // connector.modality_projection.proj.weight [Dt, D*s*s]
};

struct model_weights {
    text_weights text;
    vision_weights vision;
    bool has_vision = false;
    // Tensors that had to be copied (misaligned in the file); the views point here.
    std::vector<std::unique_ptr<std::uint8_t[]>> owned;
    std::size_t owned_bytes = 0;
};

// Prequantized checkpoints (written by examples/smolvlm-quantize.cpp) store a linear
// layer `W` [rows, cols] as two tensors holding exactly what the q8/q4 kernels read
// (the panel layout of kernels/quant.hpp), instead of `W` itself:
//   W.q4_panels  U8  [ceil(rows/16), cols/32, 256]    (q8: W.q8_panels, [..., 512])
//   W.q4_scales  F16 [ceil(rows/16), cols/32, 16]     (q8: W.q8_scales)
// The file's __metadata__ names the format ("smolvlm.quant": "q4" or "q8") and each
// packed matrix's logical shape ("smolvlm.shape.W": "rows,cols"); pipeline/model.hpp
// checks both. The binder below maps such pairs in place like any other matrix.
inline std::string packed_panels_name(const std::string& name, dtype t) {
    return name + (t == dtype::q8 ? ".q8_panels" : ".q4_panels");
}
inline std::string packed_scales_name(const std::string& name, dtype t) {
    return name + (t == dtype::q8 ? ".q8_scales" : ".q4_scales");
}

namespace detail {

class weight_binder {
public:
    weight_binder(const safetensors_set& st, model_weights& w) : st_(st), w_(w) {}

    // A matrix used in place; shape must equal {rows, cols} or, with `flatten`, any shape
    // whose first dim is rows and whose trailing dims multiply to cols.
    status matrix(const std::string& name, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& out,
                  bool flatten = false) {
        if (!st_.find(name) && packed_type(name) != dtype::f32) return packed(name, rows, cols, out);
        SMOLVLM_ASSIGN_OR_RETURN(const st_tensor* t, find(name));
        bool ok = t->shape.ndim >= 2 && t->shape[0] == rows && t->shape.numel() == rows * cols;
        if (!flatten) ok = ok && t->shape.ndim == 2;
        if (!ok) return shape_error(name, *t, {rows, cols});
        if (t->type != dtype::f32 && t->type != dtype::bf16 && t->type != dtype::f16)
            return status::fmt(errc::unsupported, "tensor '%.100s': dtype %s is not a weight dtype (F32/F16/BF16)",
                               name.c_str(), dtype_name(t->type));
        out.type = t->type;
        out.rows = rows;
        out.cols = cols;
        out.scales = nullptr;
        out.data = t->data;
        if (!t->aligned()) {  // copy into aligned memory so kernels may load whole elements
            std::unique_ptr<std::uint8_t[]> copy(new (std::nothrow) std::uint8_t[t->nbytes + 64]);
            if (!copy) return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", name.c_str());
            std::uint8_t* p = copy.get();
            while (reinterpret_cast<std::uintptr_t>(p) % 64) ++p;
            std::memcpy(p, t->data, t->nbytes);
            out.data = p;
            w_.owned.push_back(std::move(copy));
            w_.owned_bytes += t->nbytes + 64;
        }
        return status::ok();
    }

    // q8 / q4 when `name` is stored as a prequantized pair (see packed_panels_name), else f32.
    dtype packed_type(const std::string& name) const {
        if (st_.find(packed_panels_name(name, dtype::q4))) return dtype::q4;
        if (st_.find(packed_panels_name(name, dtype::q8))) return dtype::q8;
        return dtype::f32;
    }

    // A prequantized matrix, used in place (copied only if the panels are not 64-byte aligned).
    status packed(const std::string& name, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& out) {
        const dtype q = packed_type(name);
        if (q == dtype::f32) return status::fmt(errc::bad_shape, "missing tensor '%.160s'", name.c_str());
        if (st_.find(packed_panels_name(name, q == dtype::q4 ? dtype::q8 : dtype::q4)))
            return status::fmt(errc::bad_format, "tensor '%.100s' is stored both as q4 and as q8 panels", name.c_str());
        const std::string pn = packed_panels_name(name, q), sn = packed_scales_name(name, q);
        const st_tensor* p = st_.find(pn);
        const st_tensor* s = st_.find(sn);
        if (!s) return status::fmt(errc::bad_shape, "missing tensor '%.160s' (scales of '%.100s')", sn.c_str(), pn.c_str());
        if (cols % kernels::k_group != 0)
            return status::fmt(errc::bad_shape, "tensor '%.100s': %lld input features are not a multiple of %d",
                               pn.c_str(), (long long)cols, kernels::k_group);
        const std::int64_t panels = kernels::panel_count(rows), nb = cols / kernels::k_group;
        const std::int64_t per = q == dtype::q4 ? 256 : 512;
        if (p->type != dtype::u8) return status::fmt(errc::bad_format, "tensor '%.100s' must be U8", pn.c_str());
        if (p->shape != shape_t{panels, nb, per}) return shape_error(pn, *p, {panels, nb, per});
        if (s->type != dtype::f16) return status::fmt(errc::bad_format, "tensor '%.100s' must be F16", sn.c_str());
        if (s->shape != shape_t{panels, nb, kernels::k_panel}) return shape_error(sn, *s, {panels, nb, kernels::k_panel});
        out = kernels::weight_matrix{q, p->data, s->data, rows, cols};
        for (int k = 0; k < 2; ++k) {
            const st_tensor* t = k == 0 ? p : s;
            if (reinterpret_cast<std::uintptr_t>(t->data) % (k == 0 ? 64 : 2) == 0) continue;
            std::unique_ptr<std::uint8_t[]> copy(new (std::nothrow) std::uint8_t[t->nbytes + 64]);
            if (!copy) return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", t->name.c_str());
            std::uint8_t* a = copy.get();
            while (reinterpret_cast<std::uintptr_t>(a) % 64) ++a;
            std::memcpy(a, t->data, t->nbytes);
            (k == 0 ? out.data : out.scales) = a;
            w_.owned.push_back(std::move(copy));
            w_.owned_bytes += t->nbytes + 64;
        }
        return status::ok();
    }

    // A small tensor converted to f32; shape must have exactly `numel` elements and match dims.
    status vec(const std::string& name, const shape_t& shape, std::vector<float>& out) {
        SMOLVLM_ASSIGN_OR_RETURN(const st_tensor* t, find(name));
        if (t->shape != shape) return shape_error(name, *t, shape);
        if (t->type != dtype::f32 && t->type != dtype::bf16 && t->type != dtype::f16)
            return status::fmt(errc::unsupported, "tensor '%.100s': dtype %s is not a float dtype", name.c_str(),
                               dtype_name(t->type));
        return read_as_f32(*t, out);
    }

    bool has(const std::string& name) const { return st_.find(name) != nullptr; }

private:
    result<const st_tensor*> find(const std::string& name) const {
        const st_tensor* t = st_.find(name);
        if (!t) return status::fmt(errc::bad_shape, "missing tensor '%.160s'", name.c_str());
        return t;
    }
    static status shape_error(const std::string& name, const st_tensor& t, const shape_t& want) {
        char a[96], b[96];
        return status::fmt(errc::bad_shape, "tensor '%.100s' has shape %s, the config implies %s", name.c_str(),
                           shape_str(t.shape, a, sizeof a), shape_str(want, b, sizeof b));
    }
    const safetensors_set& st_;
    model_weights& w_;
};

inline std::string layer_key(const char* prefix, std::size_t i, const char* rest) {
    return std::string(prefix) + std::to_string(i) + "." + rest;
}

}  // namespace detail

// Bind every tensor the config implies. Views stay valid while `st` lives.
inline result<model_weights> bind_weights(const model_config& cfg, const safetensors_set& st) {
    model_weights w;
    detail::weight_binder b(st, w);
    const text_config& t = cfg.text;
    const bool vlm = cfg.has_vision;
    const std::string tp = vlm ? "model.text_model." : "model.";
    const std::int64_t D = t.hidden_size, hd = t.head_dim;
    const std::int64_t nq = t.num_attention_heads * hd, nkv = t.num_key_value_heads * hd;

    SMOLVLM_TRY(b.matrix(tp + "embed_tokens.weight", t.vocab_size, D, w.text.embed));
    SMOLVLM_TRY(b.vec(tp + "norm.weight", {D}, w.text.final_norm));
    if (cfg.tie_word_embeddings && b.packed_type("lm_head.weight") == dtype::f32) {
        w.text.lm_head = w.text.embed;  // (a prequantized file may carry a packed copy of the tied head)
    } else {
        SMOLVLM_TRY(b.matrix("lm_head.weight", t.vocab_size, D, w.text.lm_head));
    }
    const std::string lp = tp + "layers.";
    w.text.layers.resize(std::size_t(t.num_hidden_layers));
    for (std::size_t i = 0; i < w.text.layers.size(); ++i) {
        llama_layer_weights& L = w.text.layers[i];
        auto key = [&](const char* rest) { return detail::layer_key(lp.c_str(), i, rest); };
        SMOLVLM_TRY(b.vec(key("input_layernorm.weight"), {D}, L.attn_norm));
        SMOLVLM_TRY(b.vec(key("post_attention_layernorm.weight"), {D}, L.mlp_norm));
        SMOLVLM_TRY(b.matrix(key("self_attn.q_proj.weight"), nq, D, L.q));
        SMOLVLM_TRY(b.matrix(key("self_attn.k_proj.weight"), nkv, D, L.k));
        SMOLVLM_TRY(b.matrix(key("self_attn.v_proj.weight"), nkv, D, L.v));
        SMOLVLM_TRY(b.matrix(key("self_attn.o_proj.weight"), D, nq, L.o));
        SMOLVLM_TRY(b.matrix(key("mlp.gate_proj.weight"), t.intermediate_size, D, L.gate));
        SMOLVLM_TRY(b.matrix(key("mlp.up_proj.weight"), t.intermediate_size, D, L.up));
        SMOLVLM_TRY(b.matrix(key("mlp.down_proj.weight"), D, t.intermediate_size, L.down));
        if (t.attention_bias) {
            SMOLVLM_TRY(b.vec(key("self_attn.q_proj.bias"), {nq}, L.q_bias));
            SMOLVLM_TRY(b.vec(key("self_attn.k_proj.bias"), {nkv}, L.k_bias));
            SMOLVLM_TRY(b.vec(key("self_attn.v_proj.bias"), {nkv}, L.v_bias));
            SMOLVLM_TRY(b.vec(key("self_attn.o_proj.bias"), {D}, L.o_bias));
        }
        if (t.mlp_bias) {
            SMOLVLM_TRY(b.vec(key("mlp.gate_proj.bias"), {t.intermediate_size}, L.gate_bias));
            SMOLVLM_TRY(b.vec(key("mlp.up_proj.bias"), {t.intermediate_size}, L.up_bias));
            SMOLVLM_TRY(b.vec(key("mlp.down_proj.bias"), {D}, L.down_bias));
        }
        L.use_rope = t.use_rope.empty() ? true : bool(t.use_rope[i]);
    }

    if (vlm) {
        w.has_vision = true;
        const vision_config& v = cfg.vision;
        const std::int64_t Dv = v.hidden_size, F = v.intermediate_size, p = v.patch_size;
        const std::string vp = "model.vision_model.";
        vision_weights& V = w.vision;
        SMOLVLM_TRY(b.matrix(vp + "embeddings.patch_embedding.weight", Dv, v.num_channels * p * p, V.patch_embed, true));
        {   // the conv weight must be exactly [D, C, p, p]
            const st_tensor* pe = st.find(vp + "embeddings.patch_embedding.weight");
            if (pe->shape.ndim != 4 || pe->shape[1] != v.num_channels || pe->shape[2] != p || pe->shape[3] != p)
                return status(errc::bad_shape, "tensor 'model.vision_model.embeddings.patch_embedding.weight' is not "
                                               "[hidden, channels, patch, patch]");
        }
        SMOLVLM_TRY(b.vec(vp + "embeddings.patch_embedding.bias", {Dv}, V.patch_bias));
        SMOLVLM_TRY(b.vec(vp + "embeddings.position_embedding.weight", {v.num_patches(), Dv}, V.pos_embed));
        SMOLVLM_TRY(b.vec(vp + "post_layernorm.weight", {Dv}, V.post_ln_w));
        SMOLVLM_TRY(b.vec(vp + "post_layernorm.bias", {Dv}, V.post_ln_b));
        V.layers.resize(std::size_t(v.num_hidden_layers));
        const std::string el = vp + "encoder.layers.";
        for (std::size_t i = 0; i < V.layers.size(); ++i) {
            siglip_layer_weights& L = V.layers[i];
            auto key = [&](const char* rest) { return detail::layer_key(el.c_str(), i, rest); };
            SMOLVLM_TRY(b.vec(key("layer_norm1.weight"), {Dv}, L.ln1_w));
            SMOLVLM_TRY(b.vec(key("layer_norm1.bias"), {Dv}, L.ln1_b));
            SMOLVLM_TRY(b.vec(key("layer_norm2.weight"), {Dv}, L.ln2_w));
            SMOLVLM_TRY(b.vec(key("layer_norm2.bias"), {Dv}, L.ln2_b));
            SMOLVLM_TRY(b.matrix(key("self_attn.q_proj.weight"), Dv, Dv, L.q));
            SMOLVLM_TRY(b.matrix(key("self_attn.k_proj.weight"), Dv, Dv, L.k));
            SMOLVLM_TRY(b.matrix(key("self_attn.v_proj.weight"), Dv, Dv, L.v));
            SMOLVLM_TRY(b.matrix(key("self_attn.out_proj.weight"), Dv, Dv, L.o));
            SMOLVLM_TRY(b.vec(key("self_attn.q_proj.bias"), {Dv}, L.q_b));
            SMOLVLM_TRY(b.vec(key("self_attn.k_proj.bias"), {Dv}, L.k_b));
            SMOLVLM_TRY(b.vec(key("self_attn.v_proj.bias"), {Dv}, L.v_b));
            SMOLVLM_TRY(b.vec(key("self_attn.out_proj.bias"), {Dv}, L.o_b));
            SMOLVLM_TRY(b.matrix(key("mlp.fc1.weight"), F, Dv, L.fc1));
            SMOLVLM_TRY(b.vec(key("mlp.fc1.bias"), {F}, L.fc1_b));
            SMOLVLM_TRY(b.matrix(key("mlp.fc2.weight"), Dv, F, L.fc2));
            SMOLVLM_TRY(b.vec(key("mlp.fc2.bias"), {Dv}, L.fc2_b));
        }
        const std::int64_t s = cfg.scale_factor;
        SMOLVLM_TRY(b.matrix("model.connector.modality_projection.proj.weight", t.hidden_size, Dv * s * s, V.connector));
    }
    return w;
}

}  // namespace smolvlm
