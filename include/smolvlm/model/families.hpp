// smolvlm/model/families.hpp — every model family the engine reads, and picking one.
//
// Adding a family: write model/<family>.hpp (its config reading, tensor-name table and
// modules; see model/family.hpp), include it here and add it to k_families.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "../core/status.hpp"
#include "../io/file.hpp"
#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../io/tensor_source.hpp"
#include "config.hpp"
#include "family.hpp"
#include "mistral3.hpp"
#include "smollm.hpp"
#include "smolvlm.hpp"

namespace smolvlm {

inline constexpr const model_family* k_families[] = {
    &smolvlm_family,  // idefics3, smolvlm
    &smollm_family,   // llama, smollm3
    &mistral3_family, // mistral3 (Mistral Small 3.1)
};

// The family reading config.json's `model_type` (null when none does).
inline const model_family* find_family(const std::string& model_type) {
    for (const model_family* f : k_families)
        if (f->reads(model_type)) return f;
    return nullptr;
}

// Parse config.json text.
inline result<model_config> parse_model_config(std::string_view json_text) {
    json_options jo;
    jo.max_depth = 32;
    auto parsed = parse_json(json_text, jo);
    if (!parsed) {
        status s = parsed.error();
        return s.prepend("config.json: ");
    }
    const json_value& root = parsed.value();
    if (!root.is_object()) return status(errc::bad_format, "config.json: not a JSON object");
    // Python's json keeps the last of repeated keys, a first-match lookup the first: refuse
    // the ambiguity rather than read a different model than the reference would.
    for (const char* sub : {"", "text_config", "vision_config"}) {
        const json_value* o = *sub ? root.find(sub) : &root;
        if (o && o->has_duplicate_keys())
            return status::fmt(errc::bad_format, "config.json: repeated keys in %s", *sub ? sub : "the top-level object");
    }
    const json_value* mt = root.find("model_type");
    if (!mt || !mt->is_string()) return status(errc::bad_format, "config.json: no model_type");
    const std::string& type = mt->as_string();
    const model_family* fam = find_family(type);
    if (!fam) {
        std::string known;
        for (const model_family* f : k_families)
            for (const char* const* t = f->model_types; *t; ++t) known += (known.empty() ? "" : ", ") + std::string(*t);
        return status::fmt(errc::unsupported, "config.json: model_type '%.40s' is not supported (%s)", type.c_str(),
                           known.c_str());
    }
    model_config c;
    SMOLVLM_TRY(fam->read_config(root, type, c));
    c.family = fam;
    c.generation.bos_token_id = c.text.bos_token_id;
    if (c.text.eos_token_id >= 0) c.generation.eos_token_ids = {c.text.eos_token_id};
    c.generation.pad_token_id = c.text.pad_token_id;
    return c;
}

// Build cfg's modules and bind every tensor its family's table names from `src`: the
// weights without a loader (tools, tests). Nothing is converted.
inline result<std::unique_ptr<model_weights>> bind_weights(const model_config& cfg, const tensor_source& src) {
    if (!cfg.family) return status(errc::invalid_argument, "the config names no model family");
    std::unique_ptr<model_weights> w(new (std::nothrow) model_weights());
    if (!w) return status(errc::no_memory, "cannot allocate the weights");
    SMOLVLM_TRY(cfg.family->build(cfg, *w));
    SMOLVLM_TRY(bind_slots(src, w->slots, w->owned));
    if (w->encoder) SMOLVLM_TRY(w->encoder->check());
    if (w->projector) SMOLVLM_TRY(w->projector->check());
    return w;
}
inline result<std::unique_ptr<model_weights>> bind_weights(const model_config& cfg, const safetensors_set& set) {
    SMOLVLM_ASSIGN_OR_RETURN(tensor_source src, tensor_source::view_of(set));
    return bind_weights(cfg, src);
}

// Read config.json (+ generation_config.json when present) from a model directory.
inline result<model_config> load_model_config(const std::string& dir) {
    const std::string cfg_path = path_join(dir, "config.json");
    auto text = read_text_file(cfg_path.c_str(), std::size_t(16) << 20);
    if (!text) return text.take_status();
    SMOLVLM_ASSIGN_OR_RETURN(model_config c, parse_model_config(text.value()));
    const std::string gen_path = path_join(dir, "generation_config.json");
    if (file_exists(gen_path.c_str())) {
        SMOLVLM_ASSIGN_OR_RETURN(std::string g, read_text_file(gen_path.c_str(), std::size_t(16) << 20));
        SMOLVLM_TRY(parse_generation_config(g, c.generation));
    }
    return c;
}

}  // namespace smolvlm
