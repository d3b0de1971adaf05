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
// GGUF (llama.cpp's files): model::load of a .gguf path, or load_gguf(text, mmproj) for a
// SmolVLM pair. The config, tokenizer (text/gguf_tokenizer.hpp), chat template
// (tokenizer.chat_template) and, for a VLM, the image processor settings come from the
// metadata alone. Block-quantized weights are handled per ggml type (`gguf_target`):
//   native : Q4_0 -> q4 and Q8_0 / Q5_0 / IQ4_NL -> q8, repacked without changing a value;
//            Q4_1 -> q4 and Q5_1 -> q8 with per-group offsets (weight_matrix::group_offsets:
//            the codes and scales as stored, the minimum added per group), also exact;
//            the K-quants (no exact engine format) requantized to q8, whose error is small
//            beside theirs (docs/gguf.md has the measurements); F32/F16/BF16 used in place
//            as safetensors tensors are.
//   f32    : every block dequantized bit-exactly (ggml's own values; what the goldens check)
//   bf16 / q8 / q4 : as for safetensors, from the dequantized rows (Q4_0 -> q4 and the q8
//            repacks above stay exact).
// Token embeddings stay as ggml blocks (rows decoded on lookup). The mmproj's missing
// image-processor keys take the Hugging Face defaults: do_image_splitting true, size =
// clip.vision.preproc_image_size (else 4 x the tile size, the SmolVLM checkpoints' value),
// resample bicubic... (load_gguf_image_config).
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
#include "../text/gguf_tokenizer.hpp"
#include "../io/gguf.hpp"
#include "../kernels/ggml_repack.hpp"
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

// The dtype a format gives a matrix stored as ggml blocks of type g (see the top of the file).
inline dtype gguf_target(weight_format f, ggml_type g, std::int64_t cols, bool is_lm_head) {
    dtype t = dtype::f32;
    switch (f) {
        case weight_format::f32: t = dtype::f32; break;
        case weight_format::bf16: t = dtype::bf16; break;
        case weight_format::q8: t = dtype::q8; break;
        case weight_format::q4:
            t = is_lm_head && g != ggml_type::q4_0 && g != ggml_type::q4_1 ? dtype::q8 : dtype::q4;
            break;
        case weight_format::native: {
            const dtype exact = kernels::smallest_exact_engine_type(g);
            t = g == ggml_type::q4_1 ? dtype::q4 : exact == dtype::f32 ? dtype::q8 : exact;  // Q5_1: q8 + offsets
            break;
        }
    }
    if ((t == dtype::q8 || t == dtype::q4) && cols % kernels::k_group != 0) t = dtype::f32;
    return t;
}

}  // namespace detail

class model {
public:
    model(const model&) = delete;
    model& operator=(const model&) = delete;

    // Load a Hugging Face model directory (or a text-only .gguf file: load_gguf).
    static result<std::unique_ptr<model>> load(const std::string& dir, const model_options& opt = {},
                                               thread_pool* pool = nullptr) {
        if (is_gguf_path(dir)) return load_gguf(dir, std::string(), opt, pool);
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

    // Load a GGUF file, or a GGUF pair (text + mmproj, llama.cpp's --mmproj) for a VLM.
    static result<std::unique_ptr<model>> load_gguf(const std::string& text_path, const std::string& mmproj_path = {},
                                                    const model_options& opt = {}, thread_pool* pool = nullptr) {
        gguf_options go;
        go.allow_mmap = opt.allow_mmap;
        SMOLVLM_ASSIGN_OR_RETURN(gguf_file text, gguf_file::open(text_path.c_str(), go));
        std::unique_ptr<gguf_file> mm;
        if (!mmproj_path.empty()) {
            SMOLVLM_ASSIGN_OR_RETURN(gguf_file f, gguf_file::open(mmproj_path.c_str(), go));
            mm.reset(new (std::nothrow) gguf_file(std::move(f)));
            if (!mm) return status(errc::no_memory, "cannot allocate the mmproj reader");
        }
        return load_gguf_files(text_path, std::move(text), std::move(mm), opt, pool);
    }
    // The same from memory (buffers must outlive the model; nothing is copied). mmproj: null
    // for a text-only model.
    static result<std::unique_ptr<model>> load_gguf(const void* text, std::size_t text_size, const void* mmproj,
                                                    std::size_t mmproj_size, const model_options& opt = {},
                                                    thread_pool* pool = nullptr) {
        SMOLVLM_ASSIGN_OR_RETURN(gguf_file t, gguf_file::from_memory(text, text_size));
        std::unique_ptr<gguf_file> mm;
        if (mmproj) {
            SMOLVLM_ASSIGN_OR_RETURN(gguf_file f, gguf_file::from_memory(mmproj, mmproj_size));
            mm.reset(new (std::nothrow) gguf_file(std::move(f)));
            if (!mm) return status(errc::no_memory, "cannot allocate the mmproj reader");
        }
        return load_gguf_files("<memory>", std::move(t), std::move(mm), opt, pool);
    }
    static bool is_gguf_path(const std::string& p) {
        return p.size() > 5 && (p.compare(p.size() - 5, 5, ".gguf") == 0 || p.compare(p.size() - 5, 5, ".GGUF") == 0);
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

    static result<std::unique_ptr<model>> load_gguf_files(const std::string& name, gguf_file text,
                                                          std::unique_ptr<gguf_file> mmproj, const model_options& opt,
                                                          thread_pool* pool) {
        std::unique_ptr<model> m(new (std::nothrow) model());
        if (!m) return status(errc::no_memory, "cannot allocate the model");
        m->dir_ = name;
        SMOLVLM_ASSIGN_OR_RETURN(std::string_view arch, text.get_string("general.architecture"));
        if (arch == "clip") return status(errc::invalid_argument, "gguf: this is an mmproj file; give the text model with -m and it with --mmproj");
        const model_family* fam = nullptr;
        for (const model_family* f : k_families)
            if (f->reads_gguf(arch, mmproj != nullptr)) fam = f;
        if (!fam)
            return status::fmt(errc::unsupported, "gguf: architecture '%.40s'%s is not supported", std::string(arch).c_str(),
                               mmproj ? " with an mmproj file" : "");
        SMOLVLM_TRY(fam->read_gguf(text, mmproj.get(), m->cfg_));
        m->cfg_.family = fam;
        m->cfg_.generation.bos_token_id = m->cfg_.text.bos_token_id;
        if (m->cfg_.text.eos_token_id >= 0) m->cfg_.generation.eos_token_ids = {m->cfg_.text.eos_token_id};
        m->cfg_.generation.pad_token_id = m->cfg_.text.pad_token_id;
        SMOLVLM_ASSIGN_OR_RETURN(m->tok_, tokenizer_from_gguf(text));
        m->chat_kind_ = m->cfg_.has_vision ? chat_template_kind::smolvlm : chat_template_kind::chatml;
        if (text.has("tokenizer.chat_template")) {
            SMOLVLM_ASSIGN_OR_RETURN(std::string_view tmpl, text.get_string("tokenizer.chat_template"));
            SMOLVLM_ASSIGN_OR_RETURN(m->chat_kind_, detect_chat_template(tmpl));
        }
        if (m->cfg_.has_vision) SMOLVLM_TRY(m->load_gguf_image_config(*mmproj));
        SMOLVLM_ASSIGN_OR_RETURN(m->src_, tensor_source::from_gguf(std::move(text)));
        if (mmproj) SMOLVLM_TRY(m->src_.append_gguf(std::move(*mmproj)));
        SMOLVLM_TRY(m->finish(opt, pool));
        return m;
    }

    // The image processor of a GGUF pair: clip.vision.{image_mean, image_std,
    // preproc_image_size} and the tile size; every other key the Hugging Face default
    // (SmolVLMImageProcessor / Idefics3ImageProcessor: splitting on, bicubic, 1/255).
    status load_gguf_image_config(const gguf_file& mm) {
        auto triple = [&](const char* key, std::string& out) -> status {
            out = "[0.5,0.5,0.5]";
            if (!mm.has(key)) return status::ok();
            SMOLVLM_ASSIGN_OR_RETURN(std::vector<double> v, mm.get_array_of<double>(key));
            if (v.size() != 3) return status::fmt(errc::bad_format, "gguf mmproj: %s does not hold 3 numbers", key);
            char b[96];
            std::snprintf(b, sizeof b, "[%.9g,%.9g,%.9g]", v[0], v[1], v[2]);
            out = b;
            return status::ok();
        };
        std::string mean, stdv;
        SMOLVLM_TRY(triple("clip.vision.image_mean", mean));
        SMOLVLM_TRY(triple("clip.vision.image_std", stdv));
        std::int64_t longest = 4 * cfg_.vision.image_size;
        if (const gguf_kv* kv = mm.find_kv("clip.vision.preproc_image_size")) {
            if (!kv->scalar.to_int(longest) || longest < 1 || longest > k_max_longest_edge)
                return status(errc::bad_format, "gguf mmproj: clip.vision.preproc_image_size is out of range");
        }
        const std::string pre = "{\"do_convert_rgb\":true,\"do_image_splitting\":true,\"do_normalize\":true,\"do_pad\":true,"
                                "\"do_rescale\":true,\"do_resize\":true,\"resample\":1,\"rescale_factor\":0.00392156862745098,"
                                "\"image_mean\":" + mean + ",\"image_std\":" + stdv +
                                ",\"max_image_size\":{\"longest_edge\":" + std::to_string(cfg_.vision.image_size) +
                                "},\"size\":{\"longest_edge\":" + std::to_string(longest) + "}}";
        const std::string proc = "{\"image_seq_len\":" + std::to_string(cfg_.image_seq_len()) + "}";
        const std::string cfg = "{}";
        return load_image_config(pre, proc, cfg);
    }

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
        bind_options bo;
        bo.keep_blocks = true;  // ggml blocks: repacked by convert_weights, embeddings decoded by row
        SMOLVLM_TRY(bind_slots(src_, w_.slots, w_.owned, bo));
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
        if (m.group_offsets) decode_bytes_ += std::size_t(m.rows * (m.cols / 32)) * 4;
        if (m.type == dtype::q8)
            decode_bytes_ += kernels::panel_q8_bytes(m.rows, m.cols) + kernels::panel_scale_count(m.rows, m.cols) * 2;
        else if (m.type == dtype::q4)
            decode_bytes_ += kernels::panel_q4_bytes(m.rows, m.cols) + kernels::panel_scale_count(m.rows, m.cols) * 2;
        else
            decode_bytes_ += std::size_t(m.rows * m.cols) * dtype_size(m.type);
    }

    // The mapped bytes a linear slot was bound to in place (null when copied, or not mapped).
    const source_tensor* mapped_source(const weight_slot& slot, const kernels::weight_matrix& m) const {
        if (!src_.is_mapped()) return nullptr;
        const source_tensor* t = src_.find(src_.naming() == tensor_naming::gguf ? slot.gguf_name : slot.name);
        return t && t->data == m.data ? t : nullptr;
    }

    // Repack every linear layer into the requested format. Packed tensors are only
    // accepted from a file that declares them (stored_quant_format).
    //
    // Bounded memory: converting tensor by tensor, the mapped source pages of each converted
    // tensor are released right after (release_mapped_pages) unless a slot still reads them
    // in place (an embedding that is also the tied head), so peak RSS stays near the
    // converted weights + the largest tensor + scratch instead of file + converted copy.
    status convert_weights(thread_pool* pool) {
        std::vector<const void*> in_place;  // matrices read from the mapping after loading
        for (const weight_slot& s : w_.slots)
            if (s.matrix && !s.linear && s.matrix->data) in_place.push_back(s.matrix->data);
        auto release = [&](const source_tensor* t) {
            if (!t) return;
            for (const void* p : in_place)
                if (p == t->data) return;
            release_mapped_pages(t->data, t->nbytes);
        };
        return for_each_linear([&](const weight_slot& slot, kernels::weight_matrix& m) {
            const std::string& name = slot.name;
            const bool head = slot.is_lm_head;
            const source_tensor* mapped = mapped_source(slot, m);
            if (m.type == dtype::q8 || m.type == dtype::q4)
                return status::fmt(errc::bad_format, "'%.100s' is stored as packed %s panels but the file has no "
                                   "smolvlm.quant metadata", name.c_str(), dtype_name(m.type));
            if (m.ggml >= 0) {  // GGUF blocks: the per-type choice at the top of this file
                const ggml_type g = static_cast<ggml_type>(std::uint32_t(m.ggml));
                const dtype target = detail::gguf_target(fmt_, g, m.cols, head);
                SMOLVLM_ASSIGN_OR_RETURN(kernels::packed_weight p,
                                         kernels::pack_ggml_weight(m.data, g, m.rows, m.cols, target, pool, &kt_));
                const bool copied = p.owns_memory();
                m = p.matrix();
                owned_bytes_ += p.owned_bytes();
                packed_.push_back(std::move(p));
                if (copied) release(mapped);
            } else if (fmt_ != weight_format::native) {
                const dtype target = detail::format_target(fmt_, m.type, m.cols, head);
                SMOLVLM_ASSIGN_OR_RETURN(kernels::packed_weight p,
                                         kernels::pack_weight(m.data, m.type, m.rows, m.cols, target, pool, &kt_));
                const bool copied = p.owns_memory();
                m = p.matrix();
                owned_bytes_ += p.owned_bytes();
                packed_.push_back(std::move(p));
                if (copied) release(mapped);
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
