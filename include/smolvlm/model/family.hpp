// smolvlm/model/family.hpp — what a model family provides, and the weights it builds.
//
// A family (model/smolvlm.hpp: Idefics3 / SmolVLM; model/smollm.hpp: Llama / SmolLM2 /
// SmolLM3) is described in one file, as one `model_family` value:
//   - read_config: its config.json keys (and Hugging Face defaults) into model_config;
//   - build: its modules for one config — the text decoder's weights and, for a VLM, the
//     vision encoder and projector objects (model/vision.hpp) — and its tensor-name table:
//     the list of weight_slots every tensor name of the checkpoint comes from, each with
//     its Hugging Face key and its GGUF name (llama.cpp's converter);
//   - read_gguf (optional): the same config from GGUF metadata alone (the text file's
//     `<arch>.*` keys and, for a VLM, the mmproj file's `clip.*` keys).
// model/families.hpp lists the families (one registration line each) and picks one by
// config.json's model_type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../core/status.hpp"
#include "../io/gguf.hpp"
#include "../io/json.hpp"
#include "config.hpp"
#include "llama.hpp"
#include "vision.hpp"
#include "weights.hpp"

namespace smolvlm {

// The modules and weights of one loaded model.
struct model_weights {
    text_weights text;                             // the decoder (every family has one)
    std::unique_ptr<vision_encoder> encoder;       // VLMs only
    std::unique_ptr<vision_projector> projector;   // VLMs only
    std::vector<weight_slot> slots;                // the tensor-name table (build fills it)
    owned_tensors owned;                           // tensors copied at bind time (misaligned in the file)

    bool has_vision() const { return encoder != nullptr; }
};

// A prompt's input embeddings (Idefics3Model.inputs_merger and its kin): out[i] = embedding
// of ids[i], except that image tokens take the next image-token rows.
//   ids: [n]; image_rows: [n_image_rows, D] in prompt order; next_row advances; out: [n, D]
//   image_token < 0: a text-only model (no splice)
inline status embed_prompt(const text_weights& w, const std::int32_t* ids, std::int64_t n, std::int32_t image_token,
                           const float* image_rows, std::int64_t n_image_rows, std::int64_t& next_row, float* out) {
    SMOLVLM_TRY(embed_tokens(w, ids, n, out));
    if (image_token < 0) return status::ok();
    return splice_image_rows(ids, n, image_token, image_rows, n_image_rows, next_row, w.embed.cols, out);
}

struct model_family {
    const char* name;                 // "smolvlm", "smollm", ...
    const char* const* model_types;   // config.json model_type values it reads (null-terminated list)
    // Fill `out` from config.json (parsed; model_type already checked against model_types).
    status (*read_config)(const json_value& root, const std::string& model_type, model_config& out);
    // Create the modules for `cfg` and list every tensor they read (w.slots).
    status (*build)(const model_config& cfg, model_weights& w);
    // GGUF: the text file's general.architecture values it reads (null: no GGUF support),
    // whether it needs the mmproj file of a pair, and the config from their metadata.
    const char* const* gguf_archs = nullptr;
    bool gguf_mmproj = false;
    status (*read_gguf)(const gguf_file& text, const gguf_file* mmproj, model_config& out) = nullptr;

    bool reads(const std::string& model_type) const {
        for (const char* const* t = model_types; *t; ++t)
            if (model_type == *t) return true;
        return false;
    }
    bool reads_gguf(std::string_view arch, bool has_mmproj) const {
        if (!gguf_archs || !read_gguf || gguf_mmproj != has_mmproj) return false;
        for (const char* const* t = gguf_archs; *t; ++t)
            if (arch == *t) return true;
        return false;
    }
};

}  // namespace smolvlm
