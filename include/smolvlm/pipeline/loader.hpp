// smolvlm/pipeline/loader.hpp — loading a model: config, tokenizer, weights, kernels (class model).
//
// Loaded once, then shared read-only by any number of sessions (each session owns
// its KV cache, sampler and scratch). Weights come from a tensor source (io/tensor_source.hpp:
// a model directory's safetensors, mmap'd and used in place, or caller memory for games /
// firmware asset systems); config.json's model_type picks the family (model/families.hpp),
// whose tensor-name table says which tensors to bind and which are linear layers.
//
// Weight formats (`weight_format`):
//   native : matrices used in place in their stored dtype (f32 / f16 / bf16), no copy
//   f32    : converted to f32 at load
//   bf16   : converted to bf16 at load
//   q8     : every linear layer int8 (32-element groups, f16 scales)
//   q4     : linear layers int4 (32-element groups); lm_head int8, because it is read
//            once per token and its error feeds straight into the logits
// Always kept at stored precision: token embeddings (row lookups, not matmuls),
// norm weights and biases (f32 copies), the vision patch embedding and position
// embeddings (tiny, and the first layer sets the error floor of the whole tower).
//
// Prequantized directories (examples/smolvlm-quantize.cpp, layout in model/weights.hpp)
// carry the q8/q4 panels themselves: they are mapped in place, nothing is converted or
// copied (owned_bytes() == 0), and format() reports the stored format. Such a model
// loads with format native (or its own format); asking for another one is an error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../io/file.hpp"
#include "../io/safetensors.hpp"
#include "../io/tensor_source.hpp"
#include "../kernels/dispatch.hpp"
#include "../kernels/pack.hpp"
#include "../model/config.hpp"
#include "../model/families.hpp"
#include "../model/family.hpp"
#include "../model/weights.hpp"
#include "../text/bpe.hpp"
#include "../text/chat_template.hpp"
#include "preprocess.hpp"
#include "preprocess_pixtral.hpp"

namespace smolvlm {

enum class weight_format : std::uint8_t { native, f32, bf16, q8, q4 };

inline const char* weight_format_name(weight_format f) {
    switch (f) {
        case weight_format::native: return "native";
        case weight_format::f32: return "f32";
        case weight_format::bf16: return "bf16";
        case weight_format::q8: return "q8";
        case weight_format::q4: return "q4";
    }
    return "?";
}

inline result<weight_format> parse_weight_format(std::string_view s) {
    if (s == "native" || s == "auto") return weight_format::native;
    if (s == "f32") return weight_format::f32;
    if (s == "bf16") return weight_format::bf16;
    if (s == "q8") return weight_format::q8;
    if (s == "q4") return weight_format::q4;
    return status(errc::invalid_argument, "weight format must be native, f32, bf16, q8 or q4");
}

struct model_options {
    weight_format format = weight_format::native;
    bool allow_mmap = true;
    kernels::isa isa = kernels::isa::best;  // force an ISA (tests, benchmarks)
};

// Files of a model given as memory buffers (nothing is copied for the weights; the
// safetensors buffer must outlive the model). Empty views mean "absent".
struct model_memory {
    std::string_view config_json;
    std::string_view generation_config_json;
    std::string_view tokenizer_json;
    std::string_view tokenizer_config_json;
    std::string_view chat_template;             // chat_template.json, .jinja text or tokenizer_config.json
    std::string_view preprocessor_config_json;  // VLMs: preprocessor_config.json
    std::string_view processor_config_json;     // VLMs: processor_config.json (optional)
    const void* safetensors = nullptr;
    std::size_t safetensors_size = 0;
};

// One linear layer of a loaded model, by its checkpoint name (model/weights.hpp).
struct named_matrix {
    std::string name;               // e.g. "model.text_model.layers.0.mlp.up_proj.weight"
    kernels::weight_matrix matrix;  // as the kernels read it (after conversion)
    bool is_lm_head = false;
};

// The metadata key of prequantized files, and the key holding a packed matrix's shape.
inline constexpr const char* k_quant_metadata_key = "smolvlm.quant";
inline std::string quant_shape_key(const std::string& name) { return "smolvlm.shape." + name; }

namespace detail {

// The dtype a format gives one matrix (native: its stored dtype).
inline dtype format_target(weight_format f, dtype stored, std::int64_t cols, bool is_lm_head) {
    dtype t = stored;
    switch (f) {
        case weight_format::f32: t = dtype::f32; break;
        case weight_format::bf16: t = dtype::bf16; break;
        case weight_format::q8: t = dtype::q8; break;
        case weight_format::q4: t = is_lm_head ? dtype::q8 : dtype::q4; break;
        case weight_format::native: break;
    }
    if ((t == dtype::q8 || t == dtype::q4) && cols % kernels::k_group != 0) t = dtype::f32;  // stays dense
    return t;
}

}  // namespace detail

class model {
public:
    model(const model&) = delete;
    model& operator=(const model&) = delete;

    // Load a Hugging Face model directory.
    static result<std::unique_ptr<model>> load(const std::string& dir, const model_options& opt = {},
                                               thread_pool* pool = nullptr) {
        std::unique_ptr<model> m(new (std::nothrow) model());
        if (!m) return status(errc::no_memory, "cannot allocate the model");
        m->dir_ = dir;
        SMOLVLM_ASSIGN_OR_RETURN(m->cfg_, load_model_config(dir));
        const std::string tok_path = path_join(dir, "tokenizer.json");
        if (!file_exists(tok_path.c_str()))
            return status::fmt(errc::io, "'%s' has no tokenizer.json (this engine needs the Hugging Face tokenizer file)",
                               dir.c_str());
        SMOLVLM_ASSIGN_OR_RETURN(m->tok_, tokenizer::load_file(tok_path));
        safetensors_options so;
        so.allow_mmap = opt.allow_mmap;
        SMOLVLM_ASSIGN_OR_RETURN(safetensors_set set, safetensors_set::open_dir(dir, so));
        SMOLVLM_ASSIGN_OR_RETURN(m->src_, tensor_source::from_safetensors(std::move(set)));
        SMOLVLM_ASSIGN_OR_RETURN(m->chat_kind_, load_chat_template_kind(dir));
        if (m->cfg_.has_vision) {
            auto read = [&](const char* name, std::string& out) -> status {
                const std::string p = path_join(dir, name);
                if (!file_exists(p.c_str())) return status::ok();
                SMOLVLM_ASSIGN_OR_RETURN(out, read_text_file(p.c_str(), std::size_t(1) << 20));
                return status::ok();
            };
            std::string pre, proc, cfg;
            SMOLVLM_TRY(read("preprocessor_config.json", pre));
            SMOLVLM_TRY(read("processor_config.json", proc));
            SMOLVLM_TRY(read("config.json", cfg));
            if (pre.empty()) return status::fmt(errc::io, "'%s' has no preprocessor_config.json", dir.c_str());
            SMOLVLM_TRY(m->load_image_config(pre, proc, cfg));
        }
        SMOLVLM_TRY(m->finish(opt, pool));
        return m;
    }

    // Load from memory buffers (no file system needed).
    static result<std::unique_ptr<model>> load(const model_memory& mem, const model_options& opt = {},
                                               thread_pool* pool = nullptr) {
        std::unique_ptr<model> m(new (std::nothrow) model());
        if (!m) return status(errc::no_memory, "cannot allocate the model");
        if (mem.config_json.empty()) return status(errc::invalid_argument, "config.json text is required");
        if (mem.tokenizer_json.empty()) return status(errc::invalid_argument, "tokenizer.json text is required");
        if (!mem.safetensors) return status(errc::invalid_argument, "safetensors buffer is required");
        SMOLVLM_ASSIGN_OR_RETURN(m->cfg_, parse_model_config(mem.config_json));
        if (!mem.generation_config_json.empty())
            SMOLVLM_TRY(parse_generation_config(mem.generation_config_json, m->cfg_.generation));
        SMOLVLM_ASSIGN_OR_RETURN(m->tok_, tokenizer::load_json(mem.tokenizer_json, mem.tokenizer_config_json));
        SMOLVLM_ASSIGN_OR_RETURN(safetensors_set set, safetensors_set::from_memory(mem.safetensors, mem.safetensors_size));
        SMOLVLM_ASSIGN_OR_RETURN(m->src_, tensor_source::from_safetensors(std::move(set)));
        if (!mem.chat_template.empty()) {
            SMOLVLM_ASSIGN_OR_RETURN(m->chat_kind_, detect_chat_template(mem.chat_template));
        } else {
            m->chat_kind_ = m->cfg_.arch == model_arch::mistral3 ? chat_template_kind::mistral_v7
                            : m->cfg_.has_vision                  ? chat_template_kind::smolvlm
                                                                  : chat_template_kind::chatml;
        }
        if (m->cfg_.has_vision) {
            if (mem.preprocessor_config_json.empty())
                return status(errc::invalid_argument, "a vision model needs preprocessor_config.json text");
            SMOLVLM_TRY(m->load_image_config(mem.preprocessor_config_json, mem.processor_config_json, mem.config_json));
        }
        SMOLVLM_TRY(m->finish(opt, pool));
        return m;
    }

    const std::string& dir() const { return dir_; }
    const model_config& config() const { return cfg_; }
    chat_template_kind chat_kind() const { return chat_kind_; }
    // Image processor settings (VLMs only): Idefics3 / SmolVLM, or (arch mistral3) Pixtral.
    const image_processor_config& image_config() const { return image_cfg_; }
    const pixtral_processor_config& pixtral_config() const { return pixtral_cfg_; }
    const tokenizer& tok() const { return tok_; }
    const model_weights& weights() const { return w_; }
    const kernels::kernel_table& kernels() const { return kt_; }
    weight_format format() const { return fmt_; }
    const tensor_source& tensors() const { return src_; }
    // Bytes this model owns beyond the mapped file (converted / quantized weights).
    std::size_t owned_bytes() const { return owned_bytes_; }
    // Bytes of weights the matmuls stream per decoded token (for GB/s figures).
    std::size_t decode_weight_bytes() const { return decode_bytes_; }
    // True when the weights came prequantized from the file (see the top of this file).
    bool prequantized() const { return prequantized_; }

    // Every linear layer the weight format applies to, by checkpoint name, in the order of
    // the family's tensor-name table. Used by smolvlm-quantize.
    std::vector<named_matrix> linear_matrices() const {
        std::vector<named_matrix> out;
        for (const weight_slot& s : w_.slots)
            if (s.linear && s.matrix) out.push_back(named_matrix{s.name, *s.matrix, s.is_lm_head});
        return out;
    }

    // Token ids that end a turn: generation_config eos ids + <end_of_utterance> + tokenizer eos.
    std::vector<token_id> stop_ids() const {
        std::vector<token_id> ids;
        auto add = [&](std::int64_t id) {
            if (id < 0) return;
            for (token_id x : ids)
                if (x == id) return;
            ids.push_back(token_id(id));
        };
        for (std::int64_t id : cfg_.generation.eos_token_ids) add(id);
        add(tok_.special_ids().end_of_utterance);
        add(tok_.eos_id());
        return ids;
    }

private:
    model() = default;

    status load_image_config(std::string_view pre, std::string_view proc, std::string_view cfg) {
        auto pj = parse_json(pre);
        if (!pj) {
            status s = pj.error();
            return s.prepend("preprocessor_config.json: ");
        }
        result<json_value> rj = json_value();
        if (!proc.empty()) {
            rj = parse_json(proc);
            if (!rj) {
                status s = rj.error();
                return s.prepend("processor_config.json: ");
            }
        }
        auto cj = parse_json(cfg);
        if (!cj) return cj.take_status();
        if (cfg_.arch == model_arch::mistral3) return load_pixtral_config(pj.value(), proc.empty() ? nullptr : &rj.value());
        SMOLVLM_ASSIGN_OR_RETURN(image_cfg_, parse_image_processor_config(pj.value(), proc.empty() ? nullptr : &rj.value(),
                                                                          &cj.value()));
        if (image_cfg_.image_seq_len != cfg_.image_seq_len())
            return status::fmt(errc::bad_format, "processor image_seq_len %d does not match the model (%lld)",
                               image_cfg_.image_seq_len, (long long)cfg_.image_seq_len());
        if (image_cfg_.max_image_size != cfg_.vision.image_size)
            return status::fmt(errc::bad_format, "preprocessor max_image_size %d does not match vision image_size %lld",
                               image_cfg_.max_image_size, (long long)cfg_.vision.image_size);
        return status::ok();
    }

    // PixtralProcessor settings, checked against the model before any weight is bound.
    status load_pixtral_config(const json_value& pre, const json_value* proc) {
        SMOLVLM_ASSIGN_OR_RETURN(pixtral_cfg_, parse_pixtral_processor_config(pre, proc));
        const pixtral_processor_config& p = pixtral_cfg_;
        const std::int64_t merge = cfg_.mistral3.spatial_merge_size, patch = cfg_.vision.patch_size;
        if (p.patch_size != patch || p.spatial_merge_size != merge)
            return status::fmt(errc::bad_format,
                               "processor_config.json: patch_size %d / spatial_merge_size %d do not match the model's %lld / %lld",
                               p.patch_size, p.spatial_merge_size, (long long)patch, (long long)merge);
        const std::int64_t tower = (cfg_.vision.image_size + patch * merge - 1) / (patch * merge) * (patch * merge);
        if (p.max_output_side() > tower)
            return status::fmt(errc::bad_format,
                               "preprocessor_config.json: images up to %d px exceed the vision tower's image_size %lld",
                               p.max_output_side(), (long long)cfg_.vision.image_size);
        const token_id img = tok_.token_to_id(p.image_token);
        if (img != cfg_.image_token_id || tok_.token_to_id(p.image_break_token) < 0 || tok_.token_to_id(p.image_end_token) < 0)
            return status::fmt(errc::bad_format, "the tokenizer's %s / %s / %s do not match image_token_index %lld",
                               p.image_token.c_str(), p.image_break_token.c_str(), p.image_end_token.c_str(),
                               (long long)cfg_.image_token_id);
        return status::ok();
    }

    status finish(const model_options& opt, thread_pool* pool) {
        kt_ = kernels::select_kernels(detect_cpu(), opt.isa);
        if (kt_.forced_unavailable) return status(errc::unsupported, "the requested ISA is not available on this CPU");
        if (std::int64_t(tok_.vocab_size()) > cfg_.text.vocab_size)
            return status::fmt(errc::bad_format, "tokenizer has %zu tokens but the model's vocabulary is %lld",
                               tok_.vocab_size(), (long long)cfg_.text.vocab_size);
        SMOLVLM_ASSIGN_OR_RETURN(weight_format stored, stored_quant_format());
        if (!cfg_.family) return status(errc::invalid_argument, "the config names no model family");
        SMOLVLM_TRY(cfg_.family->build(cfg_, w_));
        SMOLVLM_TRY(bind_slots(src_, w_.slots, w_.owned));
        if (w_.encoder) SMOLVLM_TRY(w_.encoder->check());
        if (w_.projector) SMOLVLM_TRY(w_.projector->check());
        owned_bytes_ = w_.owned.bytes;
        if (stored != weight_format::native) {
            if (opt.format != weight_format::native && opt.format != stored)
                return status::fmt(errc::invalid_argument,
                                   "'%s' is prequantized %s: load it with format native or %s, not %s", dir_.c_str(),
                                   weight_format_name(stored), weight_format_name(stored), weight_format_name(opt.format));
            fmt_ = stored;
            prequantized_ = true;
            return check_prequantized();
        }
        fmt_ = opt.format;
        return convert_weights(pool);
    }

    // "smolvlm.quant" of the checkpoint (native when absent). Every shard must agree.
    result<weight_format> stored_quant_format() const {
        const std::string* found = nullptr;
        for (std::size_t i = 0; i < src_.n_files(); ++i) {
            const std::string* v = src_.file_metadata(i, k_quant_metadata_key);
            if (found && (!v || *v != *found))
                return status(errc::bad_format, "prequantized shards disagree on smolvlm.quant");
            if (!found && i > 0 && v) return status(errc::bad_format, "prequantized shards disagree on smolvlm.quant");
            found = v;
        }
        if (!found) return weight_format::native;
        if (*found == "q8") return weight_format::q8;
        if (*found == "q4") return weight_format::q4;
        return status::fmt(errc::unsupported, "smolvlm.quant format '%.32s' is not supported (want q8 or q4)",
                           found->c_str());
    }

    const std::string* find_metadata(const std::string& key) const { return src_.metadata(key); }

    // A prequantized file must hold every linear layer exactly as the format would make
    // it (q4 layers, q8 lm_head for q4; f32 for shapes that stay dense), with its logical
    // shape recorded; anything else is a damaged or foreign file.
    status check_prequantized() {
        return for_each_linear([&](const weight_slot& slot, kernels::weight_matrix& m) {
            const std::string& name = slot.name;
            const bool head = slot.is_lm_head;
            const dtype want = detail::format_target(fmt_, m.type, m.cols, head);
            // (shapes that stay dense: f32 as the format makes them; a tied head may stay the embedding)
            const bool dense_ok = want == dtype::f32 && (m.type == dtype::f32 || m.type == dtype::bf16 || m.type == dtype::f16);
            if (m.type != want && !dense_ok)
                return status::fmt(errc::bad_format, "prequantized %s file: '%.100s' is %s, expected %s",
                                   weight_format_name(fmt_), name.c_str(), dtype_name(m.type), dtype_name(want));
            if (m.type == dtype::q8 || m.type == dtype::q4) {
                const std::string* shape = find_metadata(quant_shape_key(name));
                const std::string expect = std::to_string(m.rows) + "," + std::to_string(m.cols);
                if (!shape || *shape != expect)
                    return status::fmt(errc::bad_format, "prequantized file: metadata %.120s is %s, expected \"%s\"",
                                       quant_shape_key(name).c_str(), shape ? "wrong" : "missing", expect.c_str());
            }
            count_decode_bytes(m, slot);
            return status::ok();
        });
    }

    // Every linear slot of the family's table: fn(slot, matrix&).
    template <class Fn>
    status for_each_linear(Fn&& fn) {
        for (const weight_slot& s : w_.slots)
            if (s.linear && s.matrix) SMOLVLM_TRY(fn(s, *s.matrix));
        return status::ok();
    }

    // Weight bytes streamed per decoded token: the slots marked per_token (text layers, lm_head).
    void count_decode_bytes(const kernels::weight_matrix& m, const weight_slot& slot) {
        if (!slot.per_token) return;
        if (m.type == dtype::q8)
            decode_bytes_ += kernels::panel_q8_bytes(m.rows, m.cols) + kernels::panel_scale_count(m.rows, m.cols) * 2;
        else if (m.type == dtype::q4)
            decode_bytes_ += kernels::panel_q4_bytes(m.rows, m.cols) + kernels::panel_scale_count(m.rows, m.cols) * 2;
        else
            decode_bytes_ += std::size_t(m.rows * m.cols) * dtype_size(m.type);
    }

    // Repack every linear layer into the requested format. Packed tensors are only
    // accepted from a file that declares them (stored_quant_format).
    status convert_weights(thread_pool* pool) {
        return for_each_linear([&](const weight_slot& slot, kernels::weight_matrix& m) {
            const std::string& name = slot.name;
            const bool head = slot.is_lm_head;
            if (m.type == dtype::q8 || m.type == dtype::q4)
                return status::fmt(errc::bad_format, "'%.100s' is stored as packed %s panels but the file has no "
                                   "smolvlm.quant metadata", name.c_str(), dtype_name(m.type));
            if (fmt_ != weight_format::native) {
                const dtype target = detail::format_target(fmt_, m.type, m.cols, head);
                SMOLVLM_ASSIGN_OR_RETURN(kernels::packed_weight p,
                                         kernels::pack_weight(m.data, m.type, m.rows, m.cols, target, pool, &kt_));
                m = p.matrix();
                owned_bytes_ += p.owned_bytes();
                packed_.push_back(std::move(p));
            }
            count_decode_bytes(m, slot);
            return status::ok();
        });
    }

    std::string dir_;
    model_config cfg_;
    tokenizer tok_;
    tensor_source src_;
    model_weights w_;
    std::vector<kernels::packed_weight> packed_;
    kernels::kernel_table kt_;
    weight_format fmt_ = weight_format::native;
    chat_template_kind chat_kind_ = chat_template_kind::chatml;
    image_processor_config image_cfg_;
    pixtral_processor_config pixtral_cfg_;
    std::size_t owned_bytes_ = 0, decode_bytes_ = 0;
    bool prequantized_ = false;
};

}  // namespace smolvlm
