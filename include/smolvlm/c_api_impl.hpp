// smolvlm/c_api_impl.hpp — the C API (include/smolvlm.h) over the C++ engine.
//
// Compiled in exactly one C++ translation unit: the one that defines SMOLVLM_IMPLEMENTATION
// before including smolvlm.h (examples/c/smolvlm_c.cpp). Every entry point catches nothing
// and throws nothing: the engine reports failures as status values, which become a
// smolvlm_status code plus a thread-local message (smolvlm_last_error).
//
// The handles are plain structs over the C++ objects:
//   smolvlm_model       model + the grammar vocabulary (built on first use, under a mutex)
//   smolvlm_session     session + its thread pool + a grammar matcher kept between calls
//                       (its transition tables and masks are the expensive part)
//   smolvlm_prompt      chat messages + the decoded pictures, in placeholder order
//   smolvlm_grammar     compiled grammar + its GBNF text + a unique id (matcher reuse)
//   smolvlm_image_cache image_feature_cache
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../smolvlm.h"
#include "../smolvlm.hpp"

namespace smolvlm {
namespace capi_detail {

// ---- errors -----------------------------------------------------------------------------

inline char* last_error_buffer() {
    static thread_local char buf[status::k_max_message + 64] = {0};
    return buf;
}

inline smolvlm_status to_code(errc e) { return static_cast<smolvlm_status>(static_cast<int>(e)); }

inline smolvlm_status fail(const status& s) {
    std::snprintf(last_error_buffer(), status::k_max_message + 64, "%s", s.message());
    return s.is_ok() ? SMOLVLM_OK : to_code(s.code());
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
inline smolvlm_status fail(smolvlm_status code, const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(last_error_buffer(), status::k_max_message + 64, format, ap);
    va_end(ap);
    return code;
}

// ---- versioned structs (see "ABI notes" in smolvlm.h) --------------------------------------

// Size of each struct in C API version 1. When a field is appended to a struct, its entry
// here becomes offsetof(struct, that field): older callers pass at least this much.
template <class T>
constexpr std::size_t v1_size() { return sizeof(T); }

// Copy the defaults `def` into the caller's struct of `size` bytes (its struct_size = size).
// A caller's struct may be an older, smaller version of ours: its struct_size (the first
// field of every versioned struct) is read and written as bytes, never through a member
// access on an object that may be shorter than the type.
inline std::uint32_t struct_size_of(const void* p) {
    std::uint32_t n;
    std::memcpy(&n, p, sizeof n);
    return n;
}
inline void set_struct_size(void* p, std::uint32_t n) { std::memcpy(p, &n, sizeof n); }

template <class T>
void init_struct(T* out, std::size_t size, const T& def) {
    if (!out || size < sizeof(std::uint32_t)) return;
    const std::size_t n = size < sizeof(T) ? size : sizeof(T);
    std::memcpy(out, &def, n);
    if (size > sizeof(T)) std::memset(reinterpret_cast<unsigned char*>(out) + sizeof(T), 0, size - sizeof(T));
    set_struct_size(out, std::uint32_t(size));
}

// Read a caller's struct: defaults for what it lacks, refusal for unknown non-zero fields.
template <class T>
smolvlm_status read_struct(const T* in, T& out, const T& def, const char* name) {
    out = def;
    if (!in) return SMOLVLM_OK;
    static_assert(offsetof(T, struct_size) == 0, "struct_size comes first");
    const std::size_t n = struct_size_of(in);
    if (n < v1_size<T>())
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "%s.struct_size is %zu, below the %zu bytes of its first version (fill it "
                    "with the *_default_params() / *_init() functions)", name, n, v1_size<T>());
    if (n > (std::size_t(1) << 16)) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "%s.struct_size %zu is not a size", name, n);
    const auto* bytes = reinterpret_cast<const unsigned char*>(in);
    for (std::size_t i = sizeof(T); i < n; ++i)
        if (bytes[i] != 0)
            return fail(SMOLVLM_ERR_UNSUPPORTED, "%s sets a field (byte %zu) that this library (smolvlm %s, C API %d) does "
                        "not know", name, i, SMOLVLM_VERSION_STRING, SMOLVLM_C_API_VERSION);
    std::memcpy(&out, in, n < sizeof(T) ? n : sizeof(T));
    out.struct_size = std::uint32_t(sizeof(T));
    return SMOLVLM_OK;
}

// Write a result struct: at most the caller's struct_size bytes.
template <class T>
smolvlm_status write_struct(T* dst, const T& src, const char* name) {
    static_assert(offsetof(T, struct_size) == 0, "struct_size comes first");
    const std::size_t n = struct_size_of(dst);
    if (n < v1_size<T>())
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "%s.struct_size is %zu, below the %zu bytes of its first version (set it "
                    "to sizeof(%s))", name, n, v1_size<T>(), name);
    std::memcpy(dst, &src, n < sizeof(T) ? n : sizeof(T));
    set_struct_size(dst, std::uint32_t(n));
    return SMOLVLM_OK;
}

inline smolvlm_model_params default_model_params() {
    smolvlm_model_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.weight_format = SMOLVLM_WEIGHTS_NATIVE;
    p.n_threads = 0;
    p.use_mmap = 1;
    p.isa = nullptr;
    return p;
}

inline smolvlm_model_buffers default_model_buffers() {
    smolvlm_model_buffers b;
    std::memset(&b, 0, sizeof b);
    b.struct_size = sizeof b;
    return b;
}

inline smolvlm_session_params default_session_params() {
    smolvlm_session_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    const session_options d;
    p.n_threads = 0;
    p.kv_type = SMOLVLM_KV_F32;
    p.n_ctx = d.n_ctx;
    p.max_chunk = d.max_chunk;
    p.max_bytes = 0;
    p.image_cache = nullptr;
    return p;
}

inline smolvlm_generate_params default_generate_params() {
    smolvlm_generate_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    const generate_options d;
    p.max_new_tokens = std::int32_t(d.max_new_tokens);
    p.temperature = d.sampling.temperature;
    p.top_k = std::int32_t(d.sampling.top_k);
    p.top_p = d.sampling.top_p;
    p.min_p = d.sampling.min_p;
    p.repetition_penalty = d.sampling.repetition_penalty;
    p.seed = d.sampling.seed;
    p.ignore_eos = 0;
    p.image_mode = SMOLVLM_IMAGE_EXACT;
    return p;
}

// ---- conversions ----------------------------------------------------------------------------

inline smolvlm_status to_model_options(const smolvlm_model_params& p, model_options& o) {
    switch (p.weight_format) {
        case SMOLVLM_WEIGHTS_NATIVE: o.format = weight_format::native; break;
        case SMOLVLM_WEIGHTS_F32: o.format = weight_format::f32; break;
        case SMOLVLM_WEIGHTS_BF16: o.format = weight_format::bf16; break;
        case SMOLVLM_WEIGHTS_Q8: o.format = weight_format::q8; break;
        case SMOLVLM_WEIGHTS_Q4: o.format = weight_format::q4; break;
        default: return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "weight_format %d is not a smolvlm_weight_format", p.weight_format);
    }
    o.allow_mmap = p.use_mmap != 0;
    o.isa = kernels::isa::best;
    if (p.isa && *p.isa) {
        bool found = false;
        for (kernels::isa k : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx_vnni, kernels::isa::avx512,
                               kernels::isa::avx512_vnni, kernels::isa::neon, kernels::isa::neon_dotprod})
            if (std::strcmp(p.isa, kernels::isa_name(k)) == 0) {
                o.isa = k;
                found = true;
            }
        if (!found) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "isa '%.40s' is not a kernel set this library knows", p.isa);
    }
    if (p.n_threads < 0 || p.n_threads > 1024) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "n_threads must be 0..1024");
    return SMOLVLM_OK;
}

inline smolvlm_status to_session_options(const smolvlm_session_params& p, session_options& o) {
    if (p.n_threads < 0 || p.n_threads > 1024) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "n_threads must be 0..1024");
    if (p.n_ctx <= 0 || p.n_ctx > (std::int64_t(1) << 24))
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "n_ctx must be 1..16777216, not %lld", (long long)p.n_ctx);
    if (p.max_chunk <= 0 || p.max_chunk > 65536)
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "max_chunk must be 1..65536, not %lld", (long long)p.max_chunk);
    if (p.kv_type != SMOLVLM_KV_F32 && p.kv_type != SMOLVLM_KV_F16)
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "kv_type %d is not a smolvlm_kv_type", p.kv_type);
    o.n_ctx = p.n_ctx;
    o.max_chunk = p.max_chunk;
    o.max_bytes = std::size_t(p.max_bytes);
    o.kv_type = p.kv_type == SMOLVLM_KV_F16 ? dtype::f16 : dtype::f32;
    return SMOLVLM_OK;
}

inline int resolve_threads(int n) {
#if defined(SMOLVLM_NO_THREADS)
    (void)n;
    return 1;
#else
    if (n > 0) return n;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? int(hw) : 1;
#endif
}

// chat_template_kwargs: a JSON object; enable_thinking and add_generation_prompt must be
// booleans; the object goes to the template as chat_options::kwargs (SmolLM3 reads xml_tools,
// python_tools, tools, ... and checks their types); keys no template reads are ignored, as a
// Jinja template ignores unknown variables.
inline smolvlm_status read_template_kwargs(const char* text, chat_options& chat) {
    if (!text || !*text) return SMOLVLM_OK;
    auto doc = parse_json(std::string_view(text));
    if (!doc) {
        status s = doc.error();
        return fail(s.prepend("chat_template_kwargs: "));
    }
    if (!doc.value().is_object()) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "chat_template_kwargs must be a JSON object");
    for (const char* key : {"enable_thinking", "add_generation_prompt"}) {
        const json_value* v = doc.value().find(key);
        if (!v) continue;
        if (!v->is_bool()) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "chat_template_kwargs: \"%s\" must be true or false", key);
        (std::strcmp(key, "enable_thinking") == 0 ? chat.enable_thinking : chat.add_generation_prompt) = v->as_bool();
    }
    chat.kwargs = std::move(doc).value();  // the template reads the rest (SmolLM3: xml_tools, python_tools, ...)
    return SMOLVLM_OK;
}

// Bytes of one matrix of shape [rows, cols] stored as `t` (q8 / q4: panels + f16 scales).
inline std::uint64_t matrix_bytes(dtype t, std::int64_t rows, std::int64_t cols) {
    if (t == dtype::q8) return kernels::panel_q8_bytes(rows, cols) + kernels::panel_scale_count(rows, cols) * 2;
    if (t == dtype::q4) return kernels::panel_q4_bytes(rows, cols) + kernels::panel_scale_count(rows, cols) * 2;
    return std::uint64_t(rows) * std::uint64_t(cols) * dtype_size(t);
}

// The checkpoint's dtype from config.json ("torch_dtype", or transformers 5's "dtype";
// a composite config may give it in text_config); bf16 when absent.
inline dtype stored_dtype(const json_value& root) {
    const json_value* scopes[] = {&root, root.find("text_config")};
    for (const json_value* s : scopes) {
        if (!s || !s->is_object()) continue;
        for (const char* key : {"torch_dtype", "dtype"}) {
            const json_value* v = s->find(key);
            if (!v || !v->is_string()) continue;
            if (v->as_string() == "float32") return dtype::f32;
            if (v->as_string() == "float16") return dtype::f16;
            if (v->as_string() == "bfloat16") return dtype::bf16;
        }
    }
    return dtype::bf16;
}

inline std::atomic<std::uint64_t>& grammar_counter() {
    static std::atomic<std::uint64_t> n{0};
    return n;
}

}  // namespace capi_detail
}  // namespace smolvlm

// ---- the handles ------------------------------------------------------------------------------

struct smolvlm_model {
    std::unique_ptr<smolvlm::model> m;
    std::mutex vocab_mu;
    std::unique_ptr<smolvlm::grammar_vocab> vocab;

    // The model's vocabulary as grammars see it (built once, on first use).
    const smolvlm::grammar_vocab* grammar_vocabulary() {
        std::lock_guard<std::mutex> lk(vocab_mu);
        if (!vocab) vocab.reset(new (std::nothrow) smolvlm::grammar_vocab(smolvlm::grammar_vocab_for(*m)));
        return vocab.get();
    }
};

struct smolvlm_image_cache {
    smolvlm::image_feature_cache cache;
    explicit smolvlm_image_cache(std::size_t max_bytes) : cache(max_bytes) {}
};

struct smolvlm_grammar {
    smolvlm::grammar g;
    std::string gbnf;
    std::uint64_t id = 0;
};

struct smolvlm_prompt {
    std::vector<smolvlm::chat_message> messages;
    std::vector<std::unique_ptr<smolvlm::image>> images;  // one per image part, in order
};

struct smolvlm_session {
    smolvlm_model* model = nullptr;
    smolvlm_session_params params{};
    std::unique_ptr<smolvlm::thread_pool> pool;
    std::unique_ptr<smolvlm::session> s;
    // The matcher of the last grammar used (kept: its tables and masks are the costly part).
    std::uint64_t grammar_id = 0;
    std::unique_ptr<smolvlm::grammar_matcher> matcher;
    // The last generation.
    std::string text;
    std::vector<std::int32_t> output_ids, prompt_ids;
};

// ---- helpers over the handles ---------------------------------------------------------------

namespace smolvlm::capi_detail {
inline smolvlm_status add_image(smolvlm_prompt* prompt, result<image> img, const char* what) {
    if (prompt->messages.empty())
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "%s: call smolvlm_prompt_add_message first", what);
    if (!img) return fail(img.error());
    std::unique_ptr<image> p(new (std::nothrow) image(std::move(img).value()));
    if (!p) return fail(SMOLVLM_ERR_NO_MEMORY, "%s: cannot allocate the image", what);
    prompt->images.push_back(std::move(p));
    prompt->messages.back().content.push_back(chat_part::make_image());
    return SMOLVLM_OK;
}

inline smolvlm_status make_grammar(result<grammar> g, std::string gbnf, smolvlm_grammar** out) {
    if (!g) return fail(g.error());
    std::unique_ptr<smolvlm_grammar> h(new (std::nothrow) smolvlm_grammar());
    if (!h) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the grammar");
    h->g = std::move(g).value();
    h->gbnf = gbnf.empty() ? h->g.to_gbnf() : std::move(gbnf);
    h->id = ++grammar_counter();
    *out = h.release();
    return SMOLVLM_OK;
}
}  // namespace smolvlm::capi_detail

// ---- entry points -------------------------------------------------------------------------------

extern "C" {

SMOLVLM_API const char* smolvlm_last_error(void) { return smolvlm::capi_detail::last_error_buffer(); }

SMOLVLM_API const char* smolvlm_status_name(smolvlm_status status) {
    if (int(status) < 0 || int(status) > int(smolvlm::errc::cancelled)) return "unknown";
    return smolvlm::errc_name(static_cast<smolvlm::errc>(int(status)));
}

SMOLVLM_API const char* smolvlm_version(void) { return SMOLVLM_VERSION_STRING; }

SMOLVLM_API uint32_t smolvlm_version_number(void) {
    return uint32_t(SMOLVLM_VERSION_MAJOR * 10000 + SMOLVLM_VERSION_MINOR * 100 + SMOLVLM_VERSION_PATCH);
}

SMOLVLM_API uint32_t smolvlm_c_api_version(void) { return SMOLVLM_C_API_VERSION; }

// -- models

SMOLVLM_API void smolvlm_model_params_init(smolvlm_model_params* params, size_t struct_size) {
    smolvlm::capi_detail::init_struct(params, struct_size, smolvlm::capi_detail::default_model_params());
}

SMOLVLM_API void smolvlm_model_buffers_init(smolvlm_model_buffers* buffers, size_t struct_size) {
    smolvlm::capi_detail::init_struct(buffers, struct_size, smolvlm::capi_detail::default_model_buffers());
}

SMOLVLM_API smolvlm_status smolvlm_model_load(const char* dir, const smolvlm_model_params* params, smolvlm_model** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load: out is NULL");
    *out = nullptr;
    if (!dir || !*dir) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load: no model directory");
    smolvlm_model_params p;
    if (smolvlm_status st = read_struct(params, p, default_model_params(), "smolvlm_model_params")) return st;
    smolvlm::model_options opt;
    if (smolvlm_status st = to_model_options(p, opt)) return st;
    std::unique_ptr<smolvlm_model> h(new (std::nothrow) smolvlm_model());
    if (!h) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the model");
    smolvlm::thread_pool pool(resolve_threads(p.n_threads));
    auto m = smolvlm::model::load(std::string(dir), opt, &pool);
    if (!m) return fail(m.error());
    h->m = std::move(m).value();
    *out = h.release();
    return SMOLVLM_OK;
}

SMOLVLM_API smolvlm_status smolvlm_model_load_gguf(const char* model_gguf, const char* mmproj_gguf,
                                                   const smolvlm_model_params* params, smolvlm_model** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load_gguf: out is NULL");
    *out = nullptr;
    if (!model_gguf || !*model_gguf) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load_gguf: no model file");
    smolvlm_model_params p;
    if (smolvlm_status st = read_struct(params, p, default_model_params(), "smolvlm_model_params")) return st;
    smolvlm::model_options opt;
    if (smolvlm_status st = to_model_options(p, opt)) return st;
    std::unique_ptr<smolvlm_model> h(new (std::nothrow) smolvlm_model());
    if (!h) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the model");
    smolvlm::thread_pool pool(resolve_threads(p.n_threads));
    auto m = smolvlm::model::load_gguf(std::string(model_gguf), mmproj_gguf ? std::string(mmproj_gguf) : std::string(),
                                       opt, &pool);
    if (!m) return fail(m.error());
    h->m = std::move(m).value();
    *out = h.release();
    return SMOLVLM_OK;
}

SMOLVLM_API smolvlm_status smolvlm_model_load_from_memory(const smolvlm_model_buffers* buffers,
                                                          const smolvlm_model_params* params, smolvlm_model** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load_from_memory: out is NULL");
    *out = nullptr;
    if (!buffers) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_load_from_memory: buffers is NULL");
    smolvlm_model_buffers b;
    if (smolvlm_status st = read_struct(buffers, b, default_model_buffers(), "smolvlm_model_buffers")) return st;
    smolvlm_model_params p;
    if (smolvlm_status st = read_struct(params, p, default_model_params(), "smolvlm_model_params")) return st;
    smolvlm::model_options opt;
    if (smolvlm_status st = to_model_options(p, opt)) return st;
    auto text = [](const smolvlm_buffer& x) {
        return x.data ? std::string_view(static_cast<const char*>(x.data), x.size) : std::string_view();
    };
    smolvlm::model_memory mem;
    mem.config_json = text(b.config_json);
    mem.generation_config_json = text(b.generation_config_json);
    mem.tokenizer_json = text(b.tokenizer_json);
    mem.tokenizer_config_json = text(b.tokenizer_config_json);
    mem.chat_template = text(b.chat_template);
    mem.preprocessor_config_json = text(b.preprocessor_config_json);
    mem.processor_config_json = text(b.processor_config_json);
    mem.safetensors = b.safetensors.data;
    mem.safetensors_size = b.safetensors.size;
    std::unique_ptr<smolvlm_model> h(new (std::nothrow) smolvlm_model());
    if (!h) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the model");
    smolvlm::thread_pool pool(resolve_threads(p.n_threads));
    auto m = smolvlm::model::load(mem, opt, &pool);
    if (!m) return fail(m.error());
    h->m = std::move(m).value();
    *out = h.release();
    return SMOLVLM_OK;
}

SMOLVLM_API void smolvlm_model_free(smolvlm_model* model) { delete model; }

SMOLVLM_API smolvlm_status smolvlm_model_get_info(const smolvlm_model* model, smolvlm_model_info* info) {
    using namespace smolvlm::capi_detail;
    if (!model || !info) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_model_get_info: NULL argument");
    const smolvlm::model& m = *model->m;
    const smolvlm::model_config& c = m.config();
    smolvlm_model_info r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.has_vision = c.has_vision ? 1 : 0;
    r.vocab_size = int32_t(m.tok().vocab_size());
    r.hidden_size = int32_t(c.text.hidden_size);
    r.n_layers = int32_t(c.text.num_hidden_layers);
    r.image_seq_len = c.has_vision ? int32_t(c.image_seq_len()) : 0;
    r.image_size = c.has_vision ? int32_t(c.vision.image_size) : 0;
    r.weight_format = int32_t(m.format());  // same order as smolvlm_weight_format
    r.max_position_embeddings = int32_t(c.text.max_position_embeddings);
    r.owned_bytes = m.owned_bytes();
    r.chat_template = smolvlm::chat_template_name(m.chat_kind());
    return write_struct(info, r, "smolvlm_model_info");
}

// -- sessions

SMOLVLM_API void smolvlm_session_params_init(smolvlm_session_params* params, size_t struct_size) {
    smolvlm::capi_detail::init_struct(params, struct_size, smolvlm::capi_detail::default_session_params());
}

SMOLVLM_API smolvlm_status smolvlm_session_create(const smolvlm_model* model, const smolvlm_session_params* params,
                                                  smolvlm_session** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_session_create: out is NULL");
    *out = nullptr;
    if (!model) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_session_create: model is NULL");
    smolvlm_session_params p;
    if (smolvlm_status st = read_struct(params, p, default_session_params(), "smolvlm_session_params")) return st;
    smolvlm::session_options so;
    if (smolvlm_status st = to_session_options(p, so)) return st;
    std::unique_ptr<smolvlm_session> h(new (std::nothrow) smolvlm_session());
    if (!h) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the session");
    h->model = const_cast<smolvlm_model*>(model);  // only its grammar vocabulary (mutex-guarded) changes
    h->params = p;
    h->pool.reset(new (std::nothrow) smolvlm::thread_pool(resolve_threads(p.n_threads)));
    h->s.reset(new (std::nothrow) smolvlm::session(*model->m, so, h->pool.get()));
    if (!h->pool || !h->s) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the session");
    if (smolvlm::status st = h->s->init(); !st) return fail(st);  // KV cache and scratch now, not at the first prompt
    *out = h.release();
    return SMOLVLM_OK;
}

SMOLVLM_API void smolvlm_session_free(smolvlm_session* session) { delete session; }

SMOLVLM_API smolvlm_status smolvlm_session_reset(smolvlm_session* session) {
    using namespace smolvlm::capi_detail;
    if (!session) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_session_reset: session is NULL");
    session->s->reset();
    session->text.clear();
    session->output_ids.clear();
    session->prompt_ids.clear();
    return SMOLVLM_OK;
}

SMOLVLM_API smolvlm_status smolvlm_memory_required(const char* config_json, size_t config_json_size,
                                                   const smolvlm_model_params* model_params,
                                                   const smolvlm_session_params* session_params, smolvlm_memory* out) {
    using namespace smolvlm;
    using namespace smolvlm::capi_detail;
    if (!config_json || !out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_memory_required: NULL argument");
    smolvlm_model_params mp;
    if (smolvlm_status st = read_struct(model_params, mp, default_model_params(), "smolvlm_model_params")) return st;
    smolvlm_session_params sp;
    if (smolvlm_status st = read_struct(session_params, sp, default_session_params(), "smolvlm_session_params")) return st;
    model_options mo;
    if (smolvlm_status st = to_model_options(mp, mo)) return st;
    session_options so;
    if (smolvlm_status st = to_session_options(sp, so)) return st;
    const std::string_view text(config_json, config_json_size);
    auto cfg = parse_model_config(text);
    if (!cfg) return fail(cfg.error());
    auto root = parse_json(text);
    if (!root) return fail(root.error());
    const dtype stored = stored_dtype(root.value());
    if (!cfg.value().family) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "the config names no model family");
    model_weights w;  // the family's tensor-name table, nothing bound
    if (status st = cfg.value().family->build(cfg.value(), w); !st) return fail(st);
    smolvlm_memory r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    for (const weight_slot& s : w.slots) {
        const std::int64_t rows = s.shape[0];
        const std::int64_t cols = s.shape.ndim > 1 ? s.shape.numel() / (rows ? rows : 1) : 1;
        if (!s.tied_to) r.mapped_bytes += std::uint64_t(s.shape.numel()) * dtype_size(stored);
        if (s.vector) r.weights_bytes += std::uint64_t(s.shape.numel()) * sizeof(float);
        if (s.matrix && s.linear && mo.format != weight_format::native)
            r.weights_bytes += matrix_bytes(detail::format_target(mo.format, stored, cols, s.is_lm_head), rows, cols);
    }
    const int threads = resolve_threads(sp.n_threads);
    const model_config& c = cfg.value();
    r.session_bytes = session::memory_required(c, so, threads);
    r.kv_bytes_per_token = kv_cache::bytes_needed(c.text, 1, so.kv_type);
    if (w.encoder && w.projector) {
        auto v = tile_workspace_bytes(*w.encoder, *w.projector, c.vision.image_size, c.vision.image_size, threads);
        if (!v) return fail(v.error());
        r.vision_bytes = v.value();
    }
    r.total_bytes = r.weights_bytes + r.session_bytes + r.vision_bytes;
    return write_struct(out, r, "smolvlm_memory");
}

SMOLVLM_API uint64_t smolvlm_session_memory_required(const smolvlm_model* model, const smolvlm_session_params* params) {
    using namespace smolvlm::capi_detail;
    if (!model) {
        fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_session_memory_required: model is NULL");
        return 0;
    }
    smolvlm_session_params p;
    if (read_struct(params, p, default_session_params(), "smolvlm_session_params") != SMOLVLM_OK) return 0;
    smolvlm::session_options so;
    if (to_session_options(p, so) != SMOLVLM_OK) return 0;
    return smolvlm::session::memory_required(model->m->config(), so, resolve_threads(p.n_threads));
}

// -- image cache

SMOLVLM_API smolvlm_image_cache* smolvlm_image_cache_create(uint64_t max_bytes) {
    return new (std::nothrow) smolvlm_image_cache(max_bytes ? std::size_t(max_bytes) : std::size_t(256) << 20);
}
SMOLVLM_API void smolvlm_image_cache_free(smolvlm_image_cache* cache) { delete cache; }
SMOLVLM_API uint64_t smolvlm_image_cache_entries(const smolvlm_image_cache* cache) { return cache ? cache->cache.size() : 0; }
SMOLVLM_API uint64_t smolvlm_image_cache_hits(const smolvlm_image_cache* cache) { return cache ? cache->cache.hits() : 0; }

// -- prompts

SMOLVLM_API smolvlm_prompt* smolvlm_prompt_create(void) { return new (std::nothrow) smolvlm_prompt(); }
SMOLVLM_API void smolvlm_prompt_free(smolvlm_prompt* prompt) { delete prompt; }
SMOLVLM_API void smolvlm_prompt_clear(smolvlm_prompt* prompt) {
    if (!prompt) return;
    prompt->messages.clear();
    prompt->images.clear();
}
SMOLVLM_API size_t smolvlm_prompt_n_messages(const smolvlm_prompt* prompt) { return prompt ? prompt->messages.size() : 0; }

SMOLVLM_API smolvlm_status smolvlm_prompt_add_message(smolvlm_prompt* prompt, const char* role) {
    using namespace smolvlm::capi_detail;
    if (!prompt || !role || !*role) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_message: NULL argument");
    smolvlm::chat_message m;
    m.role = role;
    prompt->messages.push_back(std::move(m));
    return SMOLVLM_OK;
}

SMOLVLM_API smolvlm_status smolvlm_prompt_add_text(smolvlm_prompt* prompt, const char* text) {
    using namespace smolvlm::capi_detail;
    if (!prompt || !text) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_text: NULL argument");
    if (prompt->messages.empty())
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_text: call smolvlm_prompt_add_message first");
    prompt->messages.back().content.push_back(smolvlm::chat_part::make_text(text));
    return SMOLVLM_OK;
}


SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_file(smolvlm_prompt* prompt, const char* path) {
    using namespace smolvlm::capi_detail;
    if (!prompt || !path) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_image_file: NULL argument");
    return add_image(prompt, smolvlm::load_image_file(path), "smolvlm_prompt_add_image_file");
}

SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_encoded(smolvlm_prompt* prompt, const void* data, size_t size) {
    using namespace smolvlm::capi_detail;
    if (!prompt || !data) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_image_encoded: NULL argument");
    return add_image(prompt, smolvlm::decode_image(static_cast<const std::uint8_t*>(data), size),
                     "smolvlm_prompt_add_image_encoded");
}

SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_pixels(smolvlm_prompt* prompt, const void* pixels, int32_t width,
                                                           int32_t height, size_t stride_bytes, int32_t pixel_format) {
    using namespace smolvlm::capi_detail;
    if (!prompt) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_image_pixels: prompt is NULL");
    if (pixel_format < SMOLVLM_PIXEL_RGB8 || pixel_format > SMOLVLM_PIXEL_GRAY8)
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_prompt_add_image_pixels: %d is not a smolvlm_pixel_format",
                    pixel_format);
    smolvlm::frame_view f;
    f.data = static_cast<const std::uint8_t*>(pixels);
    f.width = width;
    f.height = height;
    f.stride_bytes = stride_bytes;
    f.format = static_cast<smolvlm::pixel_format>(pixel_format);  // same order as smolvlm::pixel_format
    return add_image(prompt, smolvlm::frame_to_image(f), "smolvlm_prompt_add_image_pixels");
}

// -- grammars


SMOLVLM_API smolvlm_status smolvlm_grammar_from_gbnf(const char* gbnf, const char* root, smolvlm_grammar** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_grammar_from_gbnf: out is NULL");
    *out = nullptr;
    if (!gbnf) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_grammar_from_gbnf: gbnf is NULL");
    return make_grammar(smolvlm::compile_gbnf(gbnf, root && *root ? root : "root"), gbnf, out);
}

SMOLVLM_API smolvlm_status smolvlm_grammar_from_json_schema(const char* schema_json, smolvlm_grammar** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_grammar_from_json_schema: out is NULL");
    *out = nullptr;
    if (!schema_json) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_grammar_from_json_schema: schema is NULL");
    auto gbnf = smolvlm::json_schema_to_gbnf(std::string_view(schema_json));
    if (!gbnf) return fail(gbnf.error());
    return make_grammar(smolvlm::compile_gbnf(gbnf.value()), gbnf.value(), out);
}

SMOLVLM_API smolvlm_status smolvlm_grammar_json(smolvlm_grammar** out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_grammar_json: out is NULL");
    *out = nullptr;
    const std::string gbnf = smolvlm::json_any_value_gbnf();
    return make_grammar(smolvlm::compile_gbnf(gbnf), gbnf, out);
}

SMOLVLM_API void smolvlm_grammar_free(smolvlm_grammar* grammar) { delete grammar; }

SMOLVLM_API const char* smolvlm_grammar_gbnf(const smolvlm_grammar* grammar) {
    return grammar ? grammar->gbnf.c_str() : "";
}

// -- generation

SMOLVLM_API void smolvlm_generate_params_init(smolvlm_generate_params* params, size_t struct_size) {
    smolvlm::capi_detail::init_struct(params, struct_size, smolvlm::capi_detail::default_generate_params());
}

SMOLVLM_API smolvlm_status smolvlm_session_generate(smolvlm_session* session, const smolvlm_prompt* prompt,
                                                    const smolvlm_generate_params* params,
                                                    smolvlm_generate_result* result) {
    using namespace smolvlm;
    using namespace smolvlm::capi_detail;
    if (!session || !prompt) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_session_generate: NULL session or prompt");
    if (result && struct_size_of(result) < v1_size<smolvlm_generate_result>())
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_generate_result.struct_size is %u: set it to sizeof the struct",
                    unsigned(struct_size_of(result)));
    smolvlm_generate_params p;
    if (smolvlm_status st = read_struct(params, p, default_generate_params(), "smolvlm_generate_params")) return st;
    if (p.max_new_tokens < 0) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "max_new_tokens must be >= 0");
    if (!(p.temperature >= 0.0f)) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "temperature must be >= 0");
    if (p.top_k < 0) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "top_k must be >= 0");
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "top_p must be in (0, 1]");
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "min_p must be in [0, 1]");
    if (!(p.repetition_penalty > 0.0f)) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "repetition_penalty must be > 0");
    if (p.image_mode != SMOLVLM_IMAGE_EXACT && p.image_mode != SMOLVLM_IMAGE_BUDGET)
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "image_mode %d is not a smolvlm_image_mode", p.image_mode);
    if (prompt->messages.empty()) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "the prompt has no message");

    smolvlm_session& h = *session;
    const model& m = *h.model->m;
    h.text.clear();
    h.output_ids.clear();
    h.prompt_ids.clear();

    // 1. Render, preprocess, tokenize; encode the tiles (one per step, so progress can cancel).
    prompt_options po;
    po.mode = p.image_mode == SMOLVLM_IMAGE_BUDGET ? resize_mode::token_budget : resize_mode::exact;
    if (p.system_prompt) po.chat.system_prompt = p.system_prompt;
    if (p.today_date) po.chat.today_date = p.today_date;
    if (smolvlm_status st = read_template_kwargs(p.chat_template_kwargs, po.chat)) return st;
    std::vector<media_input> media;
    media.reserve(prompt->images.size());
    for (const auto& img : prompt->images) media.push_back(media_input::from_image(*img));
    image_feature_cache* cache = h.params.image_cache ? &h.params.image_cache->cache : nullptr;
    prompt_job job;
    if (status st = job.begin(m, h.s->context(), prompt->messages, media.data(), media.size(), po, cache); !st)
        return fail(st);
    const std::int64_t n_tiles = std::int64_t(job.tiles_left());
    for (std::int64_t done = 0; !job.done(); ++done) {
        if (p.on_progress && !p.on_progress(SMOLVLM_STAGE_ENCODE_IMAGES, done, n_tiles, p.user_data))
            return fail(SMOLVLM_ERR_CANCELLED, "cancelled by the progress callback while encoding images");
        if (status st = job.step(); !st) return fail(st);
    }
    const prepared_prompt& pp = job.prompt();
    h.prompt_ids.assign(pp.ids.begin(), pp.ids.end());

    // 2. Prefill (the cached prefix is skipped), in chunks.
    if (status st = h.s->prefill_begin(pp.ids, pp.features.data(), pp.n_image_tokens); !st) return fail(st);
    const std::int64_t n_prompt = std::int64_t(pp.ids.size());
    while (!h.s->prefill_done()) {
        if (p.on_progress &&
            !p.on_progress(SMOLVLM_STAGE_PREFILL, n_prompt - h.s->prefill_tokens_left(), n_prompt, p.user_data))
            return fail(SMOLVLM_ERR_CANCELLED, "cancelled by the progress callback during the prompt");
        if (status st = h.s->prefill_step(h.params.max_chunk); !st) return fail(st);
    }

    // 3. Generate, within the context left.
    generate_options go;
    go.sampling.temperature = p.temperature;
    go.sampling.top_k = p.top_k;
    go.sampling.top_p = p.top_p;
    go.sampling.min_p = p.min_p;
    go.sampling.repetition_penalty = p.repetition_penalty;
    go.sampling.seed = p.seed;
    go.ignore_eos = p.ignore_eos != 0;
    const std::int64_t room = h.params.n_ctx - n_prompt;
    go.max_new_tokens = std::min<std::int64_t>(p.max_new_tokens, room > 0 ? room : 0);
    const bool context_limited = go.max_new_tokens < p.max_new_tokens;
    if (p.grammar) {
        if (!h.matcher || h.grammar_id != p.grammar->id) {
            const grammar_vocab* v = h.model->grammar_vocabulary();
            if (!v) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the grammar vocabulary");
            h.matcher.reset(new (std::nothrow) grammar_matcher(p.grammar->g, *v));
            if (!h.matcher) return fail(SMOLVLM_ERR_NO_MEMORY, "cannot allocate the grammar matcher");
            h.grammar_id = p.grammar->id;
        }
        h.matcher->reset();
        go.grammar = h.matcher.get();
    }
    const auto on_token = [&](token_id id, std::string_view piece) -> bool {
        h.text.append(piece.data(), piece.size());
        if (!p.on_token) return true;
        const std::string z(piece);  // NUL-terminated for C
        return p.on_token(id, z.c_str(), z.size(), p.user_data) != 0;
    };
    status st = h.s->generate(go, on_token, &h.output_ids);
    if (!st) return fail(st);

    if (result) {
        const generation_stats& g = h.s->stats();
        smolvlm_generate_result r;
        std::memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        r.stop_reason = g.cancelled            ? SMOLVLM_STOP_CANCELLED
                        : g.stopped_by_eos     ? SMOLVLM_STOP_EOS
                        : g.stopped_by_grammar ? SMOLVLM_STOP_GRAMMAR
                        : context_limited      ? SMOLVLM_STOP_CONTEXT_FULL
                                               : SMOLVLM_STOP_LENGTH;
        r.prompt_tokens = g.prompt_tokens;
        r.prompt_tokens_computed = g.prefill_tokens;
        r.generated_tokens = g.gen_tokens;
        r.n_tiles = pp.n_tiles;
        r.n_tiles_cached = pp.n_tiles_cached;
        r.encode_ms = pp.preprocess_ms + pp.encode_ms;
        r.prefill_ms = g.prefill_ms;
        r.decode_ms = g.decode_ms;
        r.grammar_ms = g.grammar_ms;
        return write_struct(result, r, "smolvlm_generate_result");
    }
    return SMOLVLM_OK;
}

SMOLVLM_API const char* smolvlm_session_output_text(const smolvlm_session* session, size_t* len) {
    if (len) *len = session ? session->text.size() : 0;
    return session ? session->text.c_str() : "";
}

SMOLVLM_API const int32_t* smolvlm_session_output_tokens(const smolvlm_session* session, size_t* n) {
    if (n) *n = session ? session->output_ids.size() : 0;
    return session ? session->output_ids.data() : nullptr;
}

SMOLVLM_API const int32_t* smolvlm_session_prompt_tokens(const smolvlm_session* session, size_t* n) {
    if (n) *n = session ? session->prompt_ids.size() : 0;
    return session ? session->prompt_ids.data() : nullptr;
}

// -- utilities

SMOLVLM_API smolvlm_status smolvlm_image_decode(const void* data, size_t size, smolvlm_image* out) {
    using namespace smolvlm::capi_detail;
    if (!out) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_image_decode: out is NULL");
    std::memset(out, 0, sizeof *out);
    if (!data) return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_image_decode: data is NULL");
    auto img = smolvlm::decode_image(static_cast<const std::uint8_t*>(data), size);
    if (!img) return fail(img.error());
    const std::vector<std::uint8_t>& px = img.value().pixels;
    out->pixels = static_cast<uint8_t*>(std::malloc(px.size() ? px.size() : 1));
    if (!out->pixels) return fail(SMOLVLM_ERR_NO_MEMORY, "smolvlm_image_decode: cannot allocate %zu bytes", px.size());
    std::memcpy(out->pixels, px.data(), px.size());
    out->width = img.value().width;
    out->height = img.value().height;
    out->channels = img.value().channels;
    return SMOLVLM_OK;
}

SMOLVLM_API void smolvlm_image_free(smolvlm_image* image) {
    if (!image) return;
    std::free(image->pixels);
    std::memset(image, 0, sizeof *image);
}

SMOLVLM_API smolvlm_status smolvlm_tokenize(const smolvlm_model* model, const char* text, int32_t* ids, size_t capacity,
                                            size_t* n_out) {
    using namespace smolvlm::capi_detail;
    if (!model || !text || !n_out || (capacity > 0 && !ids))
        return fail(SMOLVLM_ERR_INVALID_ARGUMENT, "smolvlm_tokenize: NULL argument");
    auto r = model->m->tok().try_encode(text);
    if (!r) return fail(r.error());
    *n_out = r.value().size();
    for (std::size_t i = 0; i < r.value().size() && i < capacity; ++i) ids[i] = r.value()[i];
    return SMOLVLM_OK;
}

}  // extern "C"
