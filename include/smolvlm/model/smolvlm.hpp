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
// and the tensor-name table of its checkpoints.
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
inline status smolvlm_build(const model_config& cfg, model_weights& w) {
    llama_weight_slots(cfg.text, "model.text_model.", "lm_head.weight", cfg.tie_word_embeddings, w.text, w.slots);
    auto enc = std::unique_ptr<siglip_encoder>(new (std::nothrow) siglip_encoder(cfg.vision, "model.vision_model."));
    auto proj = std::unique_ptr<pixel_shuffle_projector>(new (std::nothrow) pixel_shuffle_projector(
        cfg.vision.hidden_size, cfg.scale_factor, cfg.text.hidden_size, "model.connector.modality_projection.proj.weight"));
    if (!enc || !proj) return status(errc::no_memory, "cannot allocate the vision modules");
    enc->weight_slots(w.slots);
    proj->weight_slots(w.slots);
    w.encoder = std::move(enc);
    w.projector = std::move(proj);
    return status::ok();
}

inline constexpr const char* k_smolvlm_model_types[] = {"idefics3", "smolvlm", nullptr};

}  // namespace detail

inline constexpr model_family smolvlm_family{"smolvlm", detail::k_smolvlm_model_types, &detail::smolvlm_read_config,
                                             &detail::smolvlm_build};

}  // namespace smolvlm
