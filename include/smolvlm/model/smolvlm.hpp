// smolvlm/model/smolvlm.hpp — SmolVLM / SmolVLM2 / Idefics3, top-down: the page to read first.
//
// What happens to a question about a picture (SmolVLM-256M sizes; Hugging Face module each
// step mirrors on the right):
//
//   1. pixels -> tiles                                               SmolVLMImageProcessor
//      RGB uint8 [h, w, 3]: longest side to 4 x 512, both sides up to multiples of 512,
//      cut into rows x cols tiles of 512 x 512 plus the whole image at 512 x 512, each
//      normalised to [-1, 1]:  pixel_values [n_tiles, 3, 512, 512]    (pipeline/preprocess.hpp)
//   2. prompt text                                                   SmolVLMProcessor
//      every <image> placeholder becomes, per tile, <row_r_col_c> + 64 x <image>, then the
//      global image's block (model/smolvlm_tokens.hpp); tokenized:  ids [L]
//   3. tile -> hidden rows                                           Idefics3VisionTransformer
//      SigLIP: 32 x 32 patches of 16 px, 12 layers of 768:  [1024, 768]  (model/siglip.hpp)
//   4. hidden rows -> image tokens                                   Idefics3Connector
//      pixel shuffle (4 x 4 patches -> one token) and a linear map:  [64, 576]
//                                                                    (model/connector.hpp)
//   5. splice                                                        Idefics3Model.inputs_merger
//      token embeddings [L, 576]; the k-th <image> token's row := image token row k
//   6. decoder                                                       LlamaModel (SmolLM2)
//      30 layers of 576 (9 heads, 3 kv heads), causal, RoPE:  [L, 576]  (model/llama.hpp)
//   7. logits of the last position                                   lm_head (tied)
//      [49280]; sample, append, repeat step 6 for one token at a time
//
// Steps 3-4 are encode_tile below, step 5 embed_prompt (model/family.hpp: the same for every
// family); the pipeline (pipeline/prompt_job.hpp, pipeline/session.hpp) runs them in order,
// a tile or a chunk of the prompt per call.
//
// The rest of this file is the family: config.json of model_type "idefics3" / "smolvlm"
// and the tensor-name table of its checkpoints, with the GGUF spelling of a llama.cpp pair
// (text file, architecture "llama" + mmproj file, "clip" with projector_type "idefics3").
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../io/json.hpp"
#include "../nn/context.hpp"
#include "config.hpp"
#include "connector.hpp"
#include "family.hpp"
#include "llama.hpp"
#include "siglip.hpp"
#include "smollm.hpp"
#include "smolvlm_tokens.hpp"
#include "vision.hpp"

namespace smolvlm {

// ---- steps 3-4: one tile -> its image tokens ------------------------------------------------

// Workspace bytes encode_tile needs for `enc` + `proj` on `threads` threads.
inline result<std::size_t> tile_workspace_bytes(const vision_encoder& enc, const vision_projector& proj,
                                                std::int64_t tile_h, std::int64_t tile_w, int threads) {
    SMOLVLM_ASSIGN_OR_RETURN(vision_grid g, enc.grid_for(tile_h, tile_w));
    SMOLVLM_ASSIGN_OR_RETURN(std::size_t e, enc.workspace_bytes(tile_h, tile_w, threads));
    SMOLVLM_ASSIGN_OR_RETURN(std::size_t p, proj.workspace_bytes(g, threads));
    workspace_planner plan;
    plan.take<std::uint8_t>(e);
    plan.take<float>(std::size_t(g.count()) * std::size_t(enc.hidden_size()));
    plan.take<std::uint8_t>(p);
    return plan.plan.total();
}

// The vision encoder, then the projector, for one tile.
//   tile:  pixels [3, H, W] (+ mask [H, W] or null)
//   out:   [proj.output_rows(grid), Dt] image-token rows
//   ws:    tile_workspace_bytes of memory (an owned, empty workspace grows here)
inline status encode_tile(const nn::context& ctx, const vision_encoder& enc, const vision_projector& proj,
                          const vision_image& tile, float* out, vision_workspace& ws, vision_trace* trace = nullptr) {
    if (!tile.pixels || !out) return status(errc::invalid_argument, "encode_tile: null pixels or output buffer");
    SMOLVLM_ASSIGN_OR_RETURN(vision_grid g, enc.grid_for(tile.height, tile.width));
    const int threads = ctx.pool ? ctx.pool->size() : 1;
    SMOLVLM_ASSIGN_OR_RETURN(std::size_t e, enc.workspace_bytes(tile.height, tile.width, threads));
    SMOLVLM_ASSIGN_OR_RETURN(std::size_t p, proj.workspace_bytes(g, threads));
    SMOLVLM_ASSIGN_OR_RETURN(std::size_t need, tile_workspace_bytes(enc, proj, tile.height, tile.width, threads));
    SMOLVLM_TRY(ws.ensure(need));
    workspace_carver c{ws.carve()};
    void* enc_mem = c.take<std::uint8_t>(e);
    float* hidden = c.take<float>(std::size_t(g.count()) * std::size_t(enc.hidden_size()));  // [n, D]
    void* proj_mem = c.take<std::uint8_t>(p);
    if (c.a.exhausted_once()) return status(errc::no_memory, "encode_tile: the workspace is too small");
    vision_workspace enc_ws, proj_ws;
    SMOLVLM_TRY(enc_ws.bind(enc_mem, e));
    SMOLVLM_TRY(proj_ws.bind(proj_mem, p));
    SMOLVLM_TRY(enc.encode(ctx, tile, hidden, enc_ws, trace));            // step 3
    return proj.project(ctx, hidden, g, out, proj_ws, trace);             // step 4
}

// True when every value of the tile is exactly 0: the reference drops such tiles (batch
// padding) before the vision tower. pixels: [3, H, W]
inline bool is_padding_tile(const float* pixels, std::int64_t H, std::int64_t W) {
    const std::int64_t n = 3 * H * W;
    for (std::int64_t i = 0; i < n; ++i)
        if (pixels[i] != 0.0f) return false;
    return true;
}

// ---- the family --------------------------------------------------------------------------------

namespace detail {

inline status smolvlm_read_config(const json_value& root, const std::string& type, model_config& c) {
    config_reader top(&root, "config.json");
    c.arch = type == "idefics3" ? model_arch::idefics3 : model_arch::smolvlm;
    c.has_vision = true;
    c.scale_factor = 2;
    c.image_token_id = 128257;
    top.i64("scale_factor", c.scale_factor, 1, 64);
    top.i64("image_token_id", c.image_token_id, 0, k_max_vocab);
    c.tie_word_embeddings = false;
    top.boolean("tie_word_embeddings", c.tie_word_embeddings);
    SMOLVLM_TRY(top.error());
    // The composite config builds its text part from LlamaConfig with these overrides.
    c.text.rms_norm_eps = 1e-5;
    const json_value* tc = root.find("text_config");
    if (tc && !tc->is_object()) return status(errc::bad_format, "config.json: text_config is not an object");
    SMOLVLM_TRY(read_text_config(tc, "config.json text_config", c.text));
    const json_value* vc = root.find("vision_config");
    if (vc && !vc->is_object()) return status(errc::bad_format, "config.json: vision_config is not an object");
    SMOLVLM_TRY(read_vision_config(vc, c.vision));
    const std::int64_t side = c.vision.patches_per_side();
    if (side % c.scale_factor != 0)
        return status::fmt(errc::bad_format, "config.json: %lld patches per side is not a multiple of scale_factor %lld",
                           (long long)side, (long long)c.scale_factor);
    if (c.image_token_id >= c.text.vocab_size)
        return status(errc::bad_format, "config.json: image_token_id is outside the vocabulary");
    return status::ok();
}

// The tensor-name table of Idefics3ForConditionalGeneration / SmolVLMForConditionalGeneration:
//   model.text_model.*             the decoder (model/llama.hpp)
//   lm_head.weight                 absent when tied
//   model.vision_model.*           SigLIP (model/siglip.hpp)
//   model.connector.modality_projection.proj.weight
inline void smolvlm_gguf_names(const model_config& cfg, std::vector<weight_slot>& slots);  // below

inline status smolvlm_build(const model_config& cfg, model_weights& w) {
    llama_weight_slots(cfg.text, "model.text_model.", "lm_head.weight", cfg.tie_word_embeddings, w.text, w.slots);
    auto enc = std::unique_ptr<siglip_encoder>(new (std::nothrow) siglip_encoder(cfg.vision, "model.vision_model."));
    auto proj = std::unique_ptr<pixel_shuffle_projector>(new (std::nothrow) pixel_shuffle_projector(
        cfg.vision.hidden_size, cfg.scale_factor, cfg.text.hidden_size, "model.connector.modality_projection.proj.weight"));
    if (!enc || !proj) return status(errc::no_memory, "cannot allocate the vision modules");
    enc->weight_slots(w.slots);
    proj->weight_slots(w.slots);
    smolvlm_gguf_names(cfg, w.slots);
    w.encoder = std::move(enc);
    w.projector = std::move(proj);
    return status::ok();
}

// ---- GGUF: a text file + an mmproj file ---------------------------------------------------
//
// The mmproj's tensors (llama.cpp's converter, projector_type "idefics3"):
//   v.patch_embd.{weight,bias}  v.position_embd.weight  v.post_ln.{weight,bias}
//   v.blk.{i}.{attn_q, attn_k, attn_v, attn_out, ln1, ln2, ffn_up, ffn_down}.{weight,bias}
//   mm.model.fc.weight          (connector modality_projection.proj, no bias)
// ffn_up is mlp.fc1 and ffn_down mlp.fc2; some published files have the two swapped, which
// the binder recognises by shape (gguf_swap_name). Vision weights are not permuted.
// Its clip.* keys give the vision config: vision.{embedding_length, feed_forward_length,
// block_count, attention.head_count, image_size, patch_size, attention.layer_norm_epsilon},
// projector.scale_factor (HF default 2 when absent), projection_dim (= the text hidden
// size), use_gelu (the tanh GELU). The image-processor keys are read by the loader
// (pipeline/loader.hpp). The image token id is the id of "<image>" in the text vocabulary.

inline std::string siglip_gguf_name(const std::string& hf, const std::string& vp) {
    if (hf.compare(0, vp.size(), vp) != 0) return std::string();
    const std::string rest = hf.substr(vp.size());
    if (rest == "embeddings.patch_embedding.weight") return "v.patch_embd.weight";
    if (rest == "embeddings.patch_embedding.bias") return "v.patch_embd.bias";
    if (rest == "embeddings.position_embedding.weight") return "v.position_embd.weight";
    if (rest == "post_layernorm.weight") return "v.post_ln.weight";
    if (rest == "post_layernorm.bias") return "v.post_ln.bias";
    const char* el = "encoder.layers.";
    if (rest.compare(0, std::strlen(el), el) != 0) return std::string();
    const std::size_t dot = rest.find('.', std::strlen(el));
    if (dot == std::string::npos) return std::string();
    const std::string layer = rest.substr(std::strlen(el), dot - std::strlen(el));
    std::string leaf = rest.substr(dot + 1);
    static constexpr const char* k_map[][2] = {
        {"self_attn.q_proj.", "attn_q."}, {"self_attn.k_proj.", "attn_k."}, {"self_attn.v_proj.", "attn_v."},
        {"self_attn.out_proj.", "attn_out."}, {"layer_norm1.", "ln1."}, {"layer_norm2.", "ln2."},
        {"mlp.fc1.", "ffn_up."}, {"mlp.fc2.", "ffn_down."},
    };
    for (const auto& m : k_map) {
        const std::size_t k = std::strlen(m[0]);
        if (leaf.compare(0, k, m[0]) == 0) return "v.blk." + layer + "." + m[1] + leaf.substr(k);
    }
    return std::string();
}

inline void smolvlm_gguf_names(const model_config& cfg, std::vector<weight_slot>& slots) {
    llama_gguf_names(cfg.text, "model.text_model.", "lm_head.weight", slots);
    for (weight_slot& s : slots) {
        if (s.name == "model.connector.modality_projection.proj.weight") {
            s.gguf_name = "mm.model.fc.weight";
            continue;
        }
        std::string g = siglip_gguf_name(s.name, "model.vision_model.");
        if (g.empty()) continue;
        const std::size_t up = g.find(".ffn_up."), down = g.find(".ffn_down.");
        if (up != std::string::npos) s.gguf_swap_name = g.substr(0, up) + ".ffn_down." + g.substr(up + 8);
        if (down != std::string::npos) s.gguf_swap_name = g.substr(0, down) + ".ffn_up." + g.substr(down + 10);
        s.gguf_name = std::move(g);
    }
}

inline status smolvlm_read_gguf(const gguf_file& text, const gguf_file* mmproj, model_config& c) {
    if (!mmproj) return status(errc::invalid_argument, "gguf: a SmolVLM model needs its mmproj file");
    const gguf_file& m = *mmproj;
    SMOLVLM_ASSIGN_OR_RETURN(std::string_view ptype, m.get_string("clip.projector_type"));
    if (ptype != "idefics3")
        return status::fmt(errc::unsupported, "gguf mmproj: projector_type '%.40s' is not supported (idefics3)",
                           std::string(ptype).c_str());
    if (const gguf_kv* hv = m.find_kv("clip.has_vision_encoder"); hv && hv->type == gguf_value_type::boolean && !hv->scalar.bits)
        return status(errc::unsupported, "gguf mmproj: the file has no vision encoder");
    SMOLVLM_TRY(read_gguf_text_config(text, c.text));
    c.arch = model_arch::smolvlm;
    c.has_vision = true;
    c.tie_word_embeddings = c.text.tie_word_embeddings = text.find("output.weight") == nullptr;
    // The vision config as the config.json keys it stands for (read_vision_config checks them).
    std::string j = "{";
    auto num = [&](const char* json_key, const char* key, bool required) {
        return append_gguf_number(m, key, json_key, required, "gguf mmproj", j);
    };
    SMOLVLM_TRY(num("hidden_size", "clip.vision.embedding_length", true));
    SMOLVLM_TRY(num("intermediate_size", "clip.vision.feed_forward_length", true));
    SMOLVLM_TRY(num("num_hidden_layers", "clip.vision.block_count", true));
    SMOLVLM_TRY(num("num_attention_heads", "clip.vision.attention.head_count", true));
    SMOLVLM_TRY(num("image_size", "clip.vision.image_size", true));
    SMOLVLM_TRY(num("patch_size", "clip.vision.patch_size", true));
    SMOLVLM_TRY(num("layer_norm_eps", "clip.vision.attention.layer_norm_epsilon", false));
    if (const gguf_kv* g = m.find_kv("clip.use_gelu"); g && g->type == gguf_value_type::boolean && !g->scalar.bits)
        return status(errc::unsupported, "gguf mmproj: clip.use_gelu is false (only the tanh GELU is supported)");
    j += "}";
    auto parsed = parse_json(j);
    if (!parsed) return parsed.take_status();
    SMOLVLM_TRY(read_vision_config(&parsed.value(), c.vision));
    c.scale_factor = 2;
    if (const gguf_kv* sf = m.find_kv("clip.vision.projector.scale_factor")) {
        if (!sf->scalar.to_int(c.scale_factor) || c.scale_factor < 1 || c.scale_factor > 64)
            return status(errc::bad_format, "gguf mmproj: clip.vision.projector.scale_factor is out of range");
    }
    if (const gguf_kv* pd = m.find_kv("clip.vision.projection_dim")) {
        std::int64_t d = 0;
        if (!pd->scalar.to_int(d) || d != c.text.hidden_size)
            return status(errc::bad_format, "gguf mmproj: clip.vision.projection_dim is not the text model's hidden size");
    }
    const std::int64_t side = c.vision.patches_per_side();
    if (side % c.scale_factor != 0)
        return status::fmt(errc::bad_format, "gguf mmproj: %lld patches per side is not a multiple of scale_factor %lld",
                           (long long)side, (long long)c.scale_factor);
    // The image token: "<image>" in the text vocabulary.
    c.image_token_id = -1;
    if (const gguf_kv* tk = text.find_kv("tokenizer.ggml.tokens"); tk && tk->type == gguf_value_type::array &&
                                                                     tk->array.type() == gguf_value_type::string) {
        std::int64_t i = 0;
        for (std::string_view t : tk->array.strings()) {
            if (t == "<image>") {
                c.image_token_id = i;
                break;
            }
            ++i;
        }
    }
    if (c.image_token_id < 0 || c.image_token_id >= c.text.vocab_size)
        return status(errc::bad_format, "gguf: the text vocabulary has no <image> token");
    return status::ok();
}

inline constexpr const char* k_smolvlm_model_types[] = {"idefics3", "smolvlm", nullptr};
inline constexpr const char* k_smolvlm_gguf_archs[] = {"llama", nullptr};

}  // namespace detail

inline constexpr model_family smolvlm_family{"smolvlm",
                                             detail::k_smolvlm_model_types,
                                             &detail::smolvlm_read_config,
                                             &detail::smolvlm_build,
                                             detail::k_smolvlm_gguf_archs,
                                             /*gguf_mmproj=*/true,
                                             &detail::smolvlm_read_gguf};

}  // namespace smolvlm
