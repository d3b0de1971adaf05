// smolvlm/model/config.hpp — typed, validated model configuration.
//
// The fields every family fills from config.json (each family reads its own keys: see
// model/families.hpp for the list, parse_model_config / load_model_config), the readers
// they share, and generation_config.json. Keys a config omits take
// the Hugging Face defaults of the class that would read them (smolvlm configs omit
// keys equal to those defaults: vision hidden_act / layer_norm_eps / intermediate_size /
// num_hidden_layers, text hidden_act...). Values are checked for sanity (positive
// sizes, heads dividing hidden sizes, caps against absurd allocations) so a hostile
// config is an error, not a huge allocation later.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../io/file.hpp"
#include "../io/json.hpp"
#include "../nn/rope.hpp"

namespace smolvlm {

enum class model_arch : std::uint8_t { idefics3, smolvlm, llama, smollm3, mistral3 };

inline const char* model_arch_name(model_arch a) {
    switch (a) {
        case model_arch::idefics3: return "idefics3";
        case model_arch::smolvlm: return "smolvlm";
        case model_arch::llama: return "llama";
        case model_arch::smollm3: return "smollm3";
        case model_arch::mistral3: return "mistral3";
    }
    return "?";
}

// The Llama-style decoder (LlamaConfig / SmolLM3Config keys).
struct text_config {
    std::string model_type = "llama";
    std::int64_t vocab_size = 32000;
    std::int64_t hidden_size = 4096;
    std::int64_t intermediate_size = 11008;
    std::int64_t num_hidden_layers = 32;
    std::int64_t num_attention_heads = 32;
    std::int64_t num_key_value_heads = 32;  // default: num_attention_heads
    std::int64_t head_dim = 128;            // default: hidden_size / num_attention_heads
    std::int64_t max_position_embeddings = 2048;
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;
    nn::rope_scaling rope_scaling;          // rope_scaling / rope_parameters (default: plain RoPE)
    std::string hidden_act = "silu";
    bool attention_bias = false;
    bool mlp_bias = false;
    bool tie_word_embeddings = false;  // for VLMs the top-level flag decides (model_config)
    // use_rope[i] == false for the layers that skip RoPE (SmolLM3's NoPE layers; the family
    // reader fills it, all true otherwise).
    std::vector<bool> use_rope;
    std::int64_t no_rope_layer_interval = 0;
    // Mistral: keys further back than this many positions are not attended (0: no window).
    // The decoder has no window: a session whose context is longer than it is refused.
    std::int64_t sliding_window = 0;
    std::int64_t bos_token_id = -1, eos_token_id = -1, pad_token_id = -1;
};

// The SigLIP vision tower (Idefics3VisionConfig / SmolVLMVisionConfig keys).
struct vision_config {
    std::int64_t hidden_size = 1152;
    std::int64_t intermediate_size = 3072;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 16;
    std::int64_t num_channels = 3;
    std::int64_t image_size = 224;
    std::int64_t patch_size = 32;
    double layer_norm_eps = 1e-6;
    std::string hidden_act = "gelu_pytorch_tanh";

    std::int64_t patches_per_side() const { return image_size / patch_size; }
    std::int64_t num_patches() const { return patches_per_side() * patches_per_side(); }
    std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

// Mistral 3 (model/mistral3.hpp): the Pixtral tower's extra keys and the projector's.
struct mistral3_config {
    double vision_rope_theta = 10000.0;      // vision_config rope_theta (2D RoPE)
    std::int64_t spatial_merge_size = 2;     // patch merger: s x s patches -> one token
    std::string projector_hidden_act = "gelu";
    bool multimodal_projector_bias = false;  // linear_1 / linear_2 biases
    std::int64_t vision_feature_layer = -1;  // hidden_states index fed to the projector
};

struct generation_config {
    std::int64_t bos_token_id = -1;
    std::vector<std::int64_t> eos_token_ids;
    std::int64_t pad_token_id = -1;
    bool do_sample = false;
    double temperature = 1.0, top_p = 1.0, repetition_penalty = 1.0;
    std::int64_t top_k = 0;
};

struct model_family;  // model/family.hpp

struct model_config {
    const model_family* family = nullptr;  // who read this config (model/families.hpp)
    model_arch arch = model_arch::llama;
    bool has_vision = false;
    text_config text;
    vision_config vision;
    std::int64_t scale_factor = 2;       // pixel shuffle factor of the connector
    std::int64_t image_token_id = -1;
    bool tie_word_embeddings = false;    // top-level flag: true => no lm_head.weight
    mistral3_config mistral3;            // arch == mistral3 only
    generation_config generation;

    // <image> tokens per tile: (image_size / patch)^2 / scale^2.
    std::int64_t image_seq_len() const {
        return vision.num_patches() / (scale_factor * scale_factor);
    }
};

namespace detail {

// Reads typed keys from a JSON object with defaults; remembers the first error.
class config_reader {
public:
    config_reader(const json_value* obj, const char* where) : obj_(obj), where_(where) {}

    void i64(const char* key, std::int64_t& out, std::int64_t lo = 1, std::int64_t hi = INT64_MAX) {
        const json_value* v = get(key);
        if (!v || v->is_null()) return;
        if (!v->is_integer()) return fail("%s.%s must be an integer", key);
        if (v->as_int() < lo || v->as_int() > hi) return fail_range(key, v->as_int(), lo, hi);
        out = v->as_int();
    }
    void f64(const char* key, double& out, double lo, double hi) {
        const json_value* v = get(key);
        if (!v || v->is_null()) return;
        if (!v->is_number()) return fail("%s.%s must be a number", key);
        const double d = v->as_number();
        if (!(d >= lo && d <= hi)) return fail("%s.%s is out of range", key);
        out = d;
    }
    void boolean(const char* key, bool& out) {
        const json_value* v = get(key);
        if (!v || v->is_null()) return;
        if (!v->is_bool()) return fail("%s.%s must be true or false", key);
        out = v->as_bool();
    }
    void str(const char* key, std::string& out) {
        const json_value* v = get(key);
        if (!v || v->is_null()) return;
        if (!v->is_string()) return fail("%s.%s must be a string", key);
        out = v->as_string();
    }
    // A token id given as an integer or a list of integers (eos_token_id may be either).
    void ids(const char* key, std::vector<std::int64_t>& out) {
        const json_value* v = get(key);
        if (!v || v->is_null()) return;
        std::vector<std::int64_t> got;
        if (v->is_integer()) {
            got.push_back(v->as_int());
        } else if (v->is_array()) {
            for (const auto& e : v->items()) {
                if (!e.is_integer()) return fail("%s.%s must hold integers", key);
                got.push_back(e.as_int());
            }
        } else {
            return fail("%s.%s must be an integer or a list", key);
        }
        for (std::int64_t id : got)
            if (id < 0 || id > (std::int64_t(1) << 31)) return fail("%s.%s is out of range", key);
        out = got;
    }
    const json_value* get(const char* key) const { return obj_ ? obj_->find(key) : nullptr; }
    const status& error() const { return err_; }
    void fail(const char* fmt, const char* key) {
        if (err_.is_ok()) err_ = status::fmt(errc::bad_format, fmt, where_, key);
    }
    void fail_msg(const char* msg) {
        if (err_.is_ok()) err_ = status::fmt(errc::bad_format, "%s: %s", where_, msg);
    }

private:
    void fail_range(const char* key, std::int64_t v, std::int64_t lo, std::int64_t hi) {
        if (err_.is_ok())
            err_ = status::fmt(errc::bad_format, "%s.%s = %lld is out of range [%lld, %lld]", where_, key, (long long)v,
                               (long long)lo, (long long)hi);
    }
    const json_value* obj_;
    const char* where_;
    status err_;
};

// Caps: far above any SmolVLM / SmolLM shape, far below what would exhaust memory.
inline constexpr std::int64_t k_max_hidden = 65536;
inline constexpr std::int64_t k_max_layers = 1024;
inline constexpr std::int64_t k_max_vocab = std::int64_t(1) << 24;
inline constexpr std::int64_t k_max_heads = 1024;

// A number key of a rope_scaling object: absent / null leave `out`; range-checked.
inline status rope_number(const json_value& o, const char* key, double& out, double lo, double hi, bool required,
                          const char* type, const char* where) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) {
        if (required) return status::fmt(errc::bad_format, "%s: rope_scaling of type %s needs \"%s\"", where, type, key);
        return status::ok();
    }
    if (!v->is_number() || !(v->as_number() >= lo && v->as_number() <= hi))
        return status::fmt(errc::bad_format, "%s: rope_scaling.%s must be a number in [%g, %g]", where, key, lo, hi);
    out = v->as_number();
    return status::ok();
}

// rope_scaling (transformers 4) or rope_parameters (transformers 5) into t.rope_scaling and
// t.rope_theta, as RotaryEmbeddingConfigMixin standardizes them: a non-empty rope_scaling wins
// over rope_parameters; "type" is an old name of "rope_type"; the dict's rope_theta wins over
// the top-level one; original_max_position_embeddings defaults to max_position_embeddings (a
// top-level original_max_position_embeddings wins, as Phi-3 keeps it there).
inline status read_rope_scaling(const config_reader& r, const char* where, text_config& t) {
    const json_value* rs = r.get("rope_scaling");
    const json_value* rp = r.get("rope_parameters");
    for (const json_value* v : {rs, rp})
        if (v && !v->is_null() && !v->is_object())
            return status::fmt(errc::bad_format, "%s: %s must be an object or null", where,
                               v == rs ? "rope_scaling" : "rope_parameters");
    const json_value* o = (rs && rs->is_object() && rs->size() > 0) ? rs : (rp && rp->is_object() ? rp : nullptr);
    t.rope_scaling = nn::rope_scaling();
    if (!o || o->size() == 0) return status::ok();
    if (o->has_duplicate_keys()) return status::fmt(errc::bad_format, "%s: repeated keys in rope_scaling", where);
    for (const char* nested : {"full_attention", "sliding_attention"})
        if (o->find(nested))
            return status::fmt(errc::unsupported, "%s: rope_scaling per layer type is not supported", where);
    const json_value* ty = o->find("rope_type");
    if (!ty || ty->is_null()) ty = o->find("type");
    std::string type = "default";
    if (ty && !ty->is_null()) {
        if (!ty->is_string()) return status::fmt(errc::bad_format, "%s: rope_scaling.rope_type must be a string", where);
        type = ty->as_string();
    }
    nn::rope_scaling& sc = t.rope_scaling;
    if (type == "default") sc.type = nn::rope_type::plain;
    else if (type == "linear") sc.type = nn::rope_type::linear;
    else if (type == "dynamic") sc.type = nn::rope_type::dynamic;
    else if (type == "yarn") sc.type = nn::rope_type::yarn;
    else if (type == "llama3") sc.type = nn::rope_type::llama3;
    else
        return status::fmt(errc::unsupported,
                           "%s: rope_scaling rope_type '%.32s' is not supported (default, linear, dynamic, yarn, llama3)",
                           where, type.c_str());
    SMOLVLM_TRY(rope_number(*o, "rope_theta", t.rope_theta, 1e-3, 1e12, false, type.c_str(), where));
    double partial = 1.0;
    SMOLVLM_TRY(rope_number(*o, "partial_rotary_factor", partial, 0.0, 1.0, false, type.c_str(), where));
    if (partial != 1.0) return status::fmt(errc::unsupported, "%s: partial_rotary_factor is not supported", where);
    const char* tn = type.c_str();
    if (sc.type == nn::rope_type::plain) return status::ok();
    const bool factor_may_be_null = sc.type == nn::rope_type::yarn;  // then max_position_embeddings / original
    const json_value* fv = o->find("factor");
    if (!fv || (fv->is_null() && !factor_may_be_null))
        return status::fmt(errc::bad_format, "%s: rope_scaling of type %s needs \"factor\"", where, tn);
    if (!fv->is_null()) SMOLVLM_TRY(rope_number(*o, "factor", sc.factor, 1e-6, 1e6, true, tn, where));
    if (sc.type == nn::rope_type::yarn || sc.type == nn::rope_type::llama3) {
        double orig = double(t.max_position_embeddings);
        const json_value* top = r.get("original_max_position_embeddings");
        const json_value* ov = top && !top->is_null() ? top : o->find("original_max_position_embeddings");
        if (ov && !ov->is_null()) {
            if (!ov->is_integer() || ov->as_int() < 1 || ov->as_int() > (std::int64_t(1) << 30))
                return status::fmt(errc::bad_format, "%s: original_max_position_embeddings must be a positive integer", where);
            orig = double(ov->as_int());
        }
        sc.original_max_position_embeddings = std::int64_t(orig);
        if (fv->is_null()) sc.factor = double(t.max_position_embeddings) / orig;
    }
    if (sc.type == nn::rope_type::yarn) {
        if (const json_value* af = o->find("attention_factor"); af && !af->is_null()) {
            SMOLVLM_TRY(rope_number(*o, "attention_factor", sc.attention_factor, 0.0, 1e3, true, tn, where));
            sc.has_attention_factor = true;
        }
        double bf = 0.0, bs = 0.0;  // `beta_fast or 32`, `beta_slow or 1`: 0 and null mean the default
        SMOLVLM_TRY(rope_number(*o, "beta_fast", bf, -1e6, 1e6, false, tn, where));
        SMOLVLM_TRY(rope_number(*o, "beta_slow", bs, -1e6, 1e6, false, tn, where));
        sc.beta_fast = bf != 0.0 ? bf : 32.0;
        sc.beta_slow = bs != 0.0 ? bs : 1.0;
        if (!(sc.beta_fast > 0.0 && sc.beta_slow > 0.0))
            return status::fmt(errc::bad_format, "%s: rope_scaling beta_fast and beta_slow must be positive", where);
        SMOLVLM_TRY(rope_number(*o, "mscale", sc.mscale, 0.0, 1e3, false, tn, where));
        SMOLVLM_TRY(rope_number(*o, "mscale_all_dim", sc.mscale_all_dim, 0.0, 1e3, false, tn, where));
        if (const json_value* tr = o->find("truncate"); tr && !tr->is_null()) {
            if (!tr->is_bool()) return status::fmt(errc::bad_format, "%s: rope_scaling.truncate must be true or false", where);
            sc.truncate = tr->as_bool();
        }
    }
    if (sc.type == nn::rope_type::llama3) {
        SMOLVLM_TRY(rope_number(*o, "low_freq_factor", sc.low_freq_factor, 1e-6, 1e6, true, tn, where));
        SMOLVLM_TRY(rope_number(*o, "high_freq_factor", sc.high_freq_factor, 1e-6, 1e6, true, tn, where));
        if (!(sc.high_freq_factor > sc.low_freq_factor))
            return status::fmt(errc::bad_format, "%s: rope_scaling needs high_freq_factor > low_freq_factor", where);
    }
    return status::ok();
}

// The Llama-style keys every decoder config has. default_kv_heads: num_key_value_heads when
// the key is absent (0: num_attention_heads, LlamaConfig's rule; SmolLM3Config says 4); a
// null value always means num_attention_heads.
inline status read_text_config(const json_value* obj, const char* where, text_config& t,
                               std::int64_t default_kv_heads = 0) {
    config_reader r(obj, where);
    r.str("model_type", t.model_type);
    r.i64("vocab_size", t.vocab_size, 1, k_max_vocab);
    r.i64("hidden_size", t.hidden_size, 1, k_max_hidden);
    r.i64("intermediate_size", t.intermediate_size, 1, 4 * k_max_hidden);
    r.i64("num_hidden_layers", t.num_hidden_layers, 1, k_max_layers);
    r.i64("num_attention_heads", t.num_attention_heads, 1, k_max_heads);
    const json_value* kvh = r.get("num_key_value_heads");
    t.num_key_value_heads = (!kvh && default_kv_heads > 0) ? default_kv_heads : t.num_attention_heads;
    r.i64("num_key_value_heads", t.num_key_value_heads, 1, k_max_heads);
    t.head_dim = t.hidden_size / t.num_attention_heads;
    r.i64("head_dim", t.head_dim, 1, k_max_hidden);
    if (t.head_dim < 1 && r.error().is_ok())  // derived: more heads than hidden units
        return status::fmt(errc::bad_format, "%s: hidden_size %lld / num_attention_heads %lld gives head_dim 0", where,
                           (long long)t.hidden_size, (long long)t.num_attention_heads);
    r.i64("max_position_embeddings", t.max_position_embeddings, 1, std::int64_t(1) << 24);
    r.f64("rms_norm_eps", t.rms_norm_eps, 0.0, 1.0);
    r.f64("rope_theta", t.rope_theta, 1e-3, 1e12);
    r.str("hidden_act", t.hidden_act);
    r.boolean("attention_bias", t.attention_bias);
    r.boolean("mlp_bias", t.mlp_bias);
    r.boolean("tie_word_embeddings", t.tie_word_embeddings);
    std::vector<std::int64_t> v;
    r.ids("bos_token_id", v);
    if (!v.empty()) t.bos_token_id = v[0];
    v.clear();
    r.ids("eos_token_id", v);
    if (!v.empty()) t.eos_token_id = v[0];
    v.clear();
    r.ids("pad_token_id", v);
    if (!v.empty()) t.pad_token_id = v[0];
    SMOLVLM_TRY(r.error());

    if (t.hidden_act != "silu")
        return status::fmt(errc::unsupported, "%s: hidden_act '%.32s' is not supported (silu only)", where,
                           t.hidden_act.c_str());
    SMOLVLM_TRY(read_rope_scaling(r, where, t));
    if (t.num_attention_heads % t.num_key_value_heads != 0)
        return status::fmt(errc::bad_format, "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                           where, (long long)t.num_attention_heads, (long long)t.num_key_value_heads);
    if (t.head_dim % 2 != 0) return status::fmt(errc::bad_format, "%s: head_dim must be even for RoPE", where);

    t.use_rope.assign(std::size_t(t.num_hidden_layers), true);
    return status::ok();
}

inline status read_vision_config(const json_value* obj, vision_config& v) {
    const char* where = "config.json vision_config";
    config_reader r(obj, where);
    r.i64("hidden_size", v.hidden_size, 1, k_max_hidden);
    r.i64("intermediate_size", v.intermediate_size, 1, 4 * k_max_hidden);
    r.i64("num_hidden_layers", v.num_hidden_layers, 1, k_max_layers);
    r.i64("num_attention_heads", v.num_attention_heads, 1, k_max_heads);
    r.i64("num_channels", v.num_channels, 1, 4);
    r.i64("image_size", v.image_size, 1, 8192);
    r.i64("patch_size", v.patch_size, 1, 1024);
    r.f64("layer_norm_eps", v.layer_norm_eps, 0.0, 1.0);
    r.str("hidden_act", v.hidden_act);
    SMOLVLM_TRY(r.error());
    if (v.num_channels != 3) return status(errc::unsupported, "vision_config.num_channels must be 3");
    if (v.hidden_act != "gelu_pytorch_tanh" && v.hidden_act != "gelu")
        return status::fmt(errc::unsupported, "vision hidden_act '%.32s' is not supported", v.hidden_act.c_str());
    // image_size need not be a multiple of patch_size (SigLIP so400m: 384 px, patch 14 ->
    // 27 patches per side; the strided conv ignores the last 6 pixels).
    if (v.patch_size > v.image_size) return status(errc::bad_format, "vision patch_size is larger than image_size");
    if (v.hidden_size % v.num_attention_heads != 0)
        return status(errc::bad_format, "vision hidden_size is not a multiple of num_attention_heads");
    return status::ok();
}

}  // namespace detail

// Overlay generation_config.json onto cfg.generation.
inline status parse_generation_config(std::string_view json_text, generation_config& g) {
    auto parsed = parse_json(json_text);
    if (!parsed) {
        status s = parsed.error();
        return s.prepend("generation_config.json: ");
    }
    if (!parsed->is_object()) return status(errc::bad_format, "generation_config.json: not a JSON object");
    if (parsed->has_duplicate_keys()) return status(errc::bad_format, "generation_config.json: repeated keys");
    detail::config_reader r(&parsed.value(), "generation_config.json");
    std::vector<std::int64_t> v;
    r.ids("bos_token_id", v);
    if (!v.empty()) g.bos_token_id = v[0];
    r.ids("eos_token_id", g.eos_token_ids);
    v.clear();
    r.ids("pad_token_id", v);
    if (!v.empty()) g.pad_token_id = v[0];
    r.boolean("do_sample", g.do_sample);
    r.f64("temperature", g.temperature, 0.0, 1e6);
    r.f64("top_p", g.top_p, 0.0, 1.0);
    r.f64("repetition_penalty", g.repetition_penalty, 0.0, 1e6);
    r.i64("top_k", g.top_k, 0, INT64_MAX);
    return r.error();
}

}  // namespace smolvlm
