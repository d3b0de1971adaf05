/* smolvlm.h — the C API of smolvlm.hpp: C99, usable from any language with a C FFI
 * (C, C#/Unity P/Invoke, Godot GDExtension, Rust, Zig, Python ctypes, ...).
 *
 * Building. The engine is C++17, header-only; the C API is one translation unit that the
 * user compiles once as C++ (stb style) and links like any object file:
 *
 *     // smolvlm_c.cpp  (examples/c/smolvlm_c.cpp is this file)
 *     #define SMOLVLM_IMPLEMENTATION
 *     #include "smolvlm.h"
 *
 *     c++ -std=c++17 -O2 -fno-exceptions -fno-rtti -Iinclude -c smolvlm_c.cpp
 *     cc  -std=c99 app.c smolvlm_c.o -lstdc++ -lpthread -lm
 *
 * or use the prebuilt library target: CMake `smolvlm::c` (find_package(smolvlm) or
 * add_subdirectory), Meson `dependency('smolvlm-c')`, pkg-config `smolvlm-c`.
 * single_include/ holds the same two files amalgamated: smolvlm.h and smolvlm.hpp.
 *
 * A minimal program:
 *
 *     smolvlm_model* model = NULL;
 *     if (smolvlm_model_load("SmolVLM-256M-Instruct", NULL, &model) != SMOLVLM_OK) {
 *         fprintf(stderr, "error: %s\n", smolvlm_last_error());
 *         return 1;
 *     }
 *     smolvlm_session* s = NULL;
 *     smolvlm_session_create(model, NULL, &s);
 *     smolvlm_prompt* p = smolvlm_prompt_create();
 *     smolvlm_prompt_add_message(p, "user");
 *     smolvlm_prompt_add_image_file(p, "cat.png");
 *     smolvlm_prompt_add_text(p, "What is in this picture?");
 *     smolvlm_generate_params gp = smolvlm_generate_default_params();
 *     gp.on_token = print_piece;                          // streams; return 0 to cancel
 *     smolvlm_session_generate(s, p, &gp, NULL);
 *     smolvlm_prompt_free(p); smolvlm_session_free(s); smolvlm_model_free(model);
 *
 * Conventions.
 *   - Every call that can fail returns smolvlm_status (SMOLVLM_OK = 0); the message of the
 *     last failure on the calling thread is smolvlm_last_error(). No C++ exception crosses
 *     this API (the implementation builds with -fno-exceptions; see "Memory" below).
 *   - Objects are opaque handles made by *_create / *_load and released by *_free (which
 *     accept NULL). Strings are UTF-8. Counts and sizes are in elements unless named *_bytes.
 *   - Every call with options takes a `*_params` struct whose first field is struct_size;
 *     fill it with the matching `*_default_params()` (or *_params_init from languages that
 *     cannot call the inline helpers), then change the fields you need. NULL = defaults.
 *
 * Threads. A model is read-only once loaded: any number of sessions may use it, also from
 * several threads at once. A session (and the image cache given to it) is used by one thread
 * at a time; each session owns its KV cache and its thread pool (n_threads workers).
 *
 * Memory. smolvlm_memory_required() says what a model and a session will need before
 * anything is allocated; smolvlm_session_params.max_bytes turns an over-budget session into
 * SMOLVLM_ERR_NO_MEMORY up front. Large buffers are checked allocations (NO_MEMORY); small
 * ones use the C++ standard library, which aborts on exhaustion in a -fno-exceptions build.
 *
 * ABI notes (how a newer library accepts an older caller).
 *   - The params and info structs begin with `uint32_t struct_size` = sizeof the struct as
 *     the caller compiled it. New fields are only ever appended, and a new field's default
 *     is all zero bytes. The library reads the first
 *     struct_size bytes and uses its defaults for fields past them, so a program built
 *     against an older smolvlm.h keeps working with a newer library. A struct_size below the
 *     first version's size is SMOLVLM_ERR_INVALID_ARGUMENT; a larger struct_size than the
 *     library knows (a newer caller, an older library) is accepted when the unknown tail is
 *     all zero bytes (fields left at their defaults) and refused (SMOLVLM_ERR_UNSUPPORTED)
 *     otherwise, so a request is never silently dropped.
 *   - The *_default_params() helpers are static inline: they run in the caller with the
 *     caller's struct size and ask the library for the defaults (smolvlm_*_params_init).
 *   - Enumerations are passed as int32_t in structs; their values never change.
 *   - Handles are opaque pointers; no struct the library owns is laid out in this header.
 *   - SMOLVLM_C_API_VERSION counts additions to this header; smolvlm_c_api_version() is the
 *     library's (a caller may require library >= the header it was built with).
 */
#ifndef SMOLVLM_H
#define SMOLVLM_H

#include <stddef.h>
#include <stdint.h>

#define SMOLVLM_C_API_VERSION 1

/* Symbol visibility: the library target builds with -fvisibility=hidden and exports these. */
#ifndef SMOLVLM_API
#if defined(_WIN32) && defined(SMOLVLM_C_SHARED_BUILD)
#define SMOLVLM_API __declspec(dllexport)
#elif defined(_WIN32) && defined(SMOLVLM_C_SHARED)
#define SMOLVLM_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define SMOLVLM_API __attribute__((visibility("default")))
#else
#define SMOLVLM_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors and version ------------------------------------------------------------- */

/* A status is an int32_t, not the enum type: a C caller may hand back any integer (a newer
 * library's code, garbage), and in C++ an enum object holding a value outside its enumerators is
 * undefined behaviour; the fixed width also keeps the ABI the same for every compiler. */
typedef int32_t smolvlm_status;
enum smolvlm_status_code {
    SMOLVLM_OK = 0,
    SMOLVLM_ERR_IO = 1,               /* a file could not be opened, read or mapped */
    SMOLVLM_ERR_TRUNCATED = 2,        /* input ends before a length or offset says it should */
    SMOLVLM_ERR_BAD_FORMAT = 3,       /* input is not what it claims to be */
    SMOLVLM_ERR_BAD_SHAPE = 4,        /* a tensor is missing or has the wrong shape / dtype */
    SMOLVLM_ERR_UNSUPPORTED = 5,      /* valid input this library does not handle */
    SMOLVLM_ERR_NO_MEMORY = 6,        /* allocation failed or a memory cap was exceeded */
    SMOLVLM_ERR_INVALID_ARGUMENT = 7, /* the caller passed something unusable */
    SMOLVLM_ERR_CANCELLED = 8         /* a progress callback asked to stop before generation */
};

/* The message of the last failed call on this thread ("" when none). Valid until the next
 * failing call on the same thread. */
SMOLVLM_API const char* smolvlm_last_error(void);
/* "ok", "io", "truncated", ... */
SMOLVLM_API const char* smolvlm_status_name(smolvlm_status status);
/* "0.1.0", and 10000 * major + 100 * minor + patch. */
SMOLVLM_API const char* smolvlm_version(void);
SMOLVLM_API uint32_t smolvlm_version_number(void);
/* The SMOLVLM_C_API_VERSION the library was built with. */
SMOLVLM_API uint32_t smolvlm_c_api_version(void);

/* ---- models ------------------------------------------------------------------------- */

typedef struct smolvlm_model smolvlm_model;

typedef enum smolvlm_weight_format {
    SMOLVLM_WEIGHTS_NATIVE = 0, /* as stored, used in place (bf16 / f16 / f32, or prequantized) */
    SMOLVLM_WEIGHTS_F32 = 1,
    SMOLVLM_WEIGHTS_BF16 = 2,
    SMOLVLM_WEIGHTS_Q8 = 3,     /* linear layers int8, 32-groups */
    SMOLVLM_WEIGHTS_Q4 = 4      /* linear layers int4, 32-groups; lm_head int8 */
} smolvlm_weight_format;

typedef struct smolvlm_model_params {
    uint32_t struct_size;
    int32_t weight_format;  /* smolvlm_weight_format; default NATIVE */
    int32_t n_threads;      /* threads for converting weights at load; 0 = all cores (default) */
    int32_t use_mmap;       /* map weight files instead of reading them; default 1 */
    const char* isa;        /* force kernels: "scalar", "avx2", "avx512", "neon", ...; NULL = best */
} smolvlm_model_params;

SMOLVLM_API void smolvlm_model_params_init(smolvlm_model_params* params, size_t struct_size);
static inline smolvlm_model_params smolvlm_model_default_params(void) {
    smolvlm_model_params p;
    smolvlm_model_params_init(&p, sizeof p);
    return p;
}

/* A Hugging Face model directory (config.json, *.safetensors, tokenizer.json, ...). */
SMOLVLM_API smolvlm_status smolvlm_model_load(const char* dir, const smolvlm_model_params* params,
                                              smolvlm_model** out);

/* A GGUF pair as llama.cpp writes it: the text model and, for a VLM, its mmproj file
 * (NULL for a text model). */
SMOLVLM_API smolvlm_status smolvlm_model_load_gguf(const char* model_gguf, const char* mmproj_gguf,
                                                   const smolvlm_model_params* params, smolvlm_model** out);

/* A model given as memory buffers (asset systems, flash). `data` of an absent file is NULL.
 * The text files are parsed during the call; the safetensors buffer is used in place and
 * must stay valid until smolvlm_model_free. */
typedef struct smolvlm_buffer {
    const void* data;
    size_t size;
} smolvlm_buffer;

typedef struct smolvlm_model_buffers {
    uint32_t struct_size;
    smolvlm_buffer config_json;               /* required */
    smolvlm_buffer tokenizer_json;            /* required */
    smolvlm_buffer safetensors;               /* required: one .safetensors file */
    smolvlm_buffer generation_config_json;
    smolvlm_buffer tokenizer_config_json;
    smolvlm_buffer chat_template;             /* chat_template.json, .jinja or tokenizer_config.json */
    smolvlm_buffer preprocessor_config_json;  /* required for a vision model */
    smolvlm_buffer processor_config_json;
} smolvlm_model_buffers;

SMOLVLM_API void smolvlm_model_buffers_init(smolvlm_model_buffers* buffers, size_t struct_size);
static inline smolvlm_model_buffers smolvlm_model_default_buffers(void) {
    smolvlm_model_buffers b;
    smolvlm_model_buffers_init(&b, sizeof b);
    return b;
}

SMOLVLM_API smolvlm_status smolvlm_model_load_from_memory(const smolvlm_model_buffers* buffers,
                                                          const smolvlm_model_params* params, smolvlm_model** out);

SMOLVLM_API void smolvlm_model_free(smolvlm_model* model);

typedef struct smolvlm_model_info {
    uint32_t struct_size;
    int32_t has_vision;          /* 1 for a vision-language model */
    int32_t vocab_size;          /* tokenizer ids (largest + 1) */
    int32_t hidden_size;         /* text decoder width */
    int32_t n_layers;            /* text decoder layers */
    int32_t image_seq_len;       /* tokens per image tile (VLMs) */
    int32_t image_size;          /* tile side in pixels (VLMs) */
    int32_t weight_format;       /* smolvlm_weight_format the weights run in */
    int32_t max_position_embeddings;
    uint64_t owned_bytes;        /* heap bytes of converted weights (0: used in place) */
    const char* chat_template;   /* "smolvlm", "chatml" or "smollm3" */
} smolvlm_model_info;

/* Fill `info` (set info->struct_size first, e.g. = sizeof *info). */
SMOLVLM_API smolvlm_status smolvlm_model_get_info(const smolvlm_model* model, smolvlm_model_info* info);

/* ---- sessions ------------------------------------------------------------------------- */

typedef struct smolvlm_session smolvlm_session;
typedef struct smolvlm_image_cache smolvlm_image_cache;

typedef enum smolvlm_kv_type {
    SMOLVLM_KV_F32 = 0,  /* exact (default) */
    SMOLVLM_KV_F16 = 1   /* half the memory */
} smolvlm_kv_type;

typedef struct smolvlm_session_params {
    uint32_t struct_size;
    int32_t n_threads;      /* worker threads of this session; 0 = all cores (default) */
    int32_t kv_type;        /* smolvlm_kv_type; default F32 */
    int64_t n_ctx;          /* KV cache capacity in tokens; default 4096 */
    int64_t max_chunk;      /* prefill tokens per forward pass; default 256 */
    uint64_t max_bytes;     /* cap on the session's memory; 0 = none (default) */
    smolvlm_image_cache* image_cache; /* tile features reused across prompts; NULL = none */
} smolvlm_session_params;

SMOLVLM_API void smolvlm_session_params_init(smolvlm_session_params* params, size_t struct_size);
static inline smolvlm_session_params smolvlm_session_default_params(void) {
    smolvlm_session_params p;
    smolvlm_session_params_init(&p, sizeof p);
    return p;
}

SMOLVLM_API smolvlm_status smolvlm_session_create(const smolvlm_model* model, const smolvlm_session_params* params,
                                                  smolvlm_session** out);
SMOLVLM_API void smolvlm_session_free(smolvlm_session* session);
/* Forget the conversation held in the KV cache (the next prompt is computed from scratch). */
SMOLVLM_API smolvlm_status smolvlm_session_reset(smolvlm_session* session);

/* What a model and one session will need, from config.json alone (nothing is loaded).
 * weights_bytes: heap for converted weights and f32 copies of small tensors (a NATIVE
 * model maps its matrices in place); mapped_bytes: weight bytes of the checkpoint (mapped);
 * session_bytes: KV cache + scratch + logits for params->n_ctx on params->n_threads threads;
 * vision_bytes: the vision encoder's scratch for one tile (VLMs);
 * total_bytes = weights + session + vision (heap; the mapped file comes on top). */
typedef struct smolvlm_memory {
    uint32_t struct_size;
    uint64_t weights_bytes;
    uint64_t mapped_bytes;
    uint64_t session_bytes;
    uint64_t kv_bytes_per_token;
    uint64_t vision_bytes;
    uint64_t total_bytes;
} smolvlm_memory;

SMOLVLM_API smolvlm_status smolvlm_memory_required(const char* config_json, size_t config_json_size,
                                                   const smolvlm_model_params* model_params,
                                                   const smolvlm_session_params* session_params, smolvlm_memory* out);
/* Exact bytes smolvlm_session_create will allocate for this loaded model (0 on a bad argument). */
SMOLVLM_API uint64_t smolvlm_session_memory_required(const smolvlm_model* model, const smolvlm_session_params* params);

/* Image-feature cache: a tile already encoded (same pixels) is not encoded again. Give it to
 * a session (smolvlm_session_params.image_cache); one session at a time may use it. */
SMOLVLM_API smolvlm_image_cache* smolvlm_image_cache_create(uint64_t max_bytes); /* 0: 256 MiB */
SMOLVLM_API void smolvlm_image_cache_free(smolvlm_image_cache* cache);
SMOLVLM_API uint64_t smolvlm_image_cache_entries(const smolvlm_image_cache* cache);
SMOLVLM_API uint64_t smolvlm_image_cache_hits(const smolvlm_image_cache* cache);

/* ---- prompts: a conversation with pictures ------------------------------------------- */

typedef struct smolvlm_prompt smolvlm_prompt;

typedef enum smolvlm_pixel_format {
    SMOLVLM_PIXEL_RGB8 = 0,
    SMOLVLM_PIXEL_RGBA8 = 1,
    SMOLVLM_PIXEL_BGRA8 = 2,
    SMOLVLM_PIXEL_BGR8 = 3,
    SMOLVLM_PIXEL_GRAY8 = 4
} smolvlm_pixel_format;

SMOLVLM_API smolvlm_prompt* smolvlm_prompt_create(void);
SMOLVLM_API void smolvlm_prompt_free(smolvlm_prompt* prompt);
SMOLVLM_API void smolvlm_prompt_clear(smolvlm_prompt* prompt);
/* Start a message: role "system", "user", "assistant" (SmolLM3 also "tool"). The parts
 * added next belong to it, in order. */
SMOLVLM_API smolvlm_status smolvlm_prompt_add_message(smolvlm_prompt* prompt, const char* role);
SMOLVLM_API smolvlm_status smolvlm_prompt_add_text(smolvlm_prompt* prompt, const char* text);
/* An image file (PNG, JPEG, BMP, GIF, WebP, PPM/PGM), decoded now. */
SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_file(smolvlm_prompt* prompt, const char* path);
/* The bytes of an encoded image file, decoded now (the buffer may be reused afterwards). */
SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_encoded(smolvlm_prompt* prompt, const void* data, size_t size);
/* A raw frame (camera, framebuffer): `height` rows of `width` pixels, rows `stride_bytes`
 * apart (0 = packed). Copied now (BGR orders swapped), so the buffer may be reused. */
SMOLVLM_API smolvlm_status smolvlm_prompt_add_image_pixels(smolvlm_prompt* prompt, const void* pixels, int32_t width,
                                                           int32_t height, size_t stride_bytes, int32_t pixel_format);
SMOLVLM_API size_t smolvlm_prompt_n_messages(const smolvlm_prompt* prompt);

/* ---- structured output --------------------------------------------------------------- */

typedef struct smolvlm_grammar smolvlm_grammar;

/* GBNF as llama.cpp writes it (rules, alternatives, groups, * + ?, {m,n}, classes,
 * literals with escapes); `root` NULL = "root". An impossible grammar is an error here. */
SMOLVLM_API smolvlm_status smolvlm_grammar_from_gbnf(const char* gbnf, const char* root, smolvlm_grammar** out);
/* JSON Schema (object/array/string/number/integer/boolean/null, enum, const, anyOf, $ref...). */
SMOLVLM_API smolvlm_status smolvlm_grammar_from_json_schema(const char* schema_json, smolvlm_grammar** out);
/* Any JSON value. */
SMOLVLM_API smolvlm_status smolvlm_grammar_json(smolvlm_grammar** out);
SMOLVLM_API void smolvlm_grammar_free(smolvlm_grammar* grammar);
/* The grammar as GBNF text (e.g. what a JSON Schema became); valid until the grammar is freed. */
SMOLVLM_API const char* smolvlm_grammar_gbnf(const smolvlm_grammar* grammar);

/* ---- generation ------------------------------------------------------------------------ */

/* Called for every generated token: its id and the UTF-8 text it completes (`piece`,
 * `piece_len` bytes, NUL-terminated; may be empty while a character is incomplete; the
 * last call of a generation may have token -1 and carry text held back until then).
 * Return nonzero to go on, 0 to stop (cancel) generation. */
typedef int (*smolvlm_token_callback)(int32_t token, const char* piece, size_t piece_len, void* user_data);

typedef enum smolvlm_stage {
    SMOLVLM_STAGE_ENCODE_IMAGES = 0,  /* done / total: image tiles */
    SMOLVLM_STAGE_PREFILL = 1         /* done / total: prompt tokens */
} smolvlm_stage;

/* Called between image tiles and prompt chunks. Return nonzero to go on, 0 to cancel
 * (smolvlm_session_generate then returns SMOLVLM_ERR_CANCELLED). */
typedef int (*smolvlm_progress_callback)(int32_t stage, int64_t done, int64_t total, void* user_data);

typedef enum smolvlm_image_mode {
    SMOLVLM_IMAGE_EXACT = 0,   /* as the Hugging Face processor (default) */
    SMOLVLM_IMAGE_BUDGET = 1   /* small images are not upscaled first (fewer tiles) */
} smolvlm_image_mode;

typedef struct smolvlm_generate_params {
    uint32_t struct_size;
    int32_t max_new_tokens;        /* default 256; stops earlier at the context's end */
    /* sampling: repetition penalty, temperature, top-k, top-p, min-p (Hugging Face order) */
    float temperature;             /* 0 = greedy (default) */
    int32_t top_k;                 /* 0 = off */
    float top_p;                   /* 1 = off */
    float min_p;                   /* 0 = off */
    float repetition_penalty;      /* 1 = off */
    uint64_t seed;                 /* same seed, same tokens, on every platform */
    int32_t ignore_eos;            /* generate max_new_tokens (ends of a grammar still end) */
    int32_t image_mode;            /* smolvlm_image_mode */
    /* structured output: NULL = free text */
    const smolvlm_grammar* grammar;
    /* the chat template */
    const char* system_prompt;     /* used when the conversation has no system message; NULL = template's */
    const char* today_date;        /* SmolLM3 "Today Date:" line, e.g. "04 July 2025"; NULL = today */
    const char* chat_template_kwargs; /* JSON object: {"enable_thinking": false, "add_generation_prompt": true} */
    /* callbacks */
    smolvlm_token_callback on_token;
    smolvlm_progress_callback on_progress;
    void* user_data;               /* passed to both callbacks */
} smolvlm_generate_params;

SMOLVLM_API void smolvlm_generate_params_init(smolvlm_generate_params* params, size_t struct_size);
static inline smolvlm_generate_params smolvlm_generate_default_params(void) {
    smolvlm_generate_params p;
    smolvlm_generate_params_init(&p, sizeof p);
    return p;
}

typedef enum smolvlm_stop_reason {
    SMOLVLM_STOP_LENGTH = 0,       /* max_new_tokens reached */
    SMOLVLM_STOP_EOS = 1,          /* an end-of-turn token */
    SMOLVLM_STOP_GRAMMAR = 2,      /* the grammar was complete */
    SMOLVLM_STOP_CANCELLED = 3,    /* on_token returned 0 */
    SMOLVLM_STOP_CONTEXT_FULL = 4  /* the KV cache is full */
} smolvlm_stop_reason;

typedef struct smolvlm_generate_result {
    uint32_t struct_size;
    int32_t stop_reason;           /* smolvlm_stop_reason */
    int64_t prompt_tokens;
    int64_t prompt_tokens_computed; /* the rest came from the KV cache */
    int64_t generated_tokens;
    int32_t n_tiles;               /* image tiles in the prompt */
    int32_t n_tiles_cached;        /* of which taken from the image cache */
    double encode_ms;              /* preprocessing + vision encoder */
    double prefill_ms;
    double decode_ms;
    double grammar_ms;             /* part of decode_ms spent on the grammar */
} smolvlm_generate_result;

/* Render the conversation with the model's chat template, encode its images, run the prompt
 * (reusing the longest prefix already in the session's KV cache) and generate the reply,
 * streaming it through params->on_token. `result` may be NULL (else set its struct_size).
 * Cancelling from on_token is not an error: the result says SMOLVLM_STOP_CANCELLED. */
SMOLVLM_API smolvlm_status smolvlm_session_generate(smolvlm_session* session, const smolvlm_prompt* prompt,
                                                    const smolvlm_generate_params* params,
                                                    smolvlm_generate_result* result);

/* The last generation of a session, valid until its next generate / reset / free. */
SMOLVLM_API const char* smolvlm_session_output_text(const smolvlm_session* session, size_t* len);
SMOLVLM_API const int32_t* smolvlm_session_output_tokens(const smolvlm_session* session, size_t* n);
SMOLVLM_API const int32_t* smolvlm_session_prompt_tokens(const smolvlm_session* session, size_t* n);

/* ---- utilities ------------------------------------------------------------------------- */

/* Decode an image file's bytes into 8-bit pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
 * channels, rows packed). Release with smolvlm_image_free. */
typedef struct smolvlm_image {
    uint8_t* pixels;
    int32_t width;
    int32_t height;
    int32_t channels;
} smolvlm_image;

SMOLVLM_API smolvlm_status smolvlm_image_decode(const void* data, size_t size, smolvlm_image* out);
SMOLVLM_API void smolvlm_image_free(smolvlm_image* image);

/* Token ids of `text` with the model's tokenizer (special tokens parsed). Writes at most
 * `capacity` ids and returns the total count in *n_out (call with capacity 0 to size). */
SMOLVLM_API smolvlm_status smolvlm_tokenize(const smolvlm_model* model, const char* text, int32_t* ids,
                                            size_t capacity, size_t* n_out);

#ifdef __cplusplus
}  /* extern "C" */
#endif

/* ---- the implementation (one C++ translation unit defines SMOLVLM_IMPLEMENTATION) -------- */
#if defined(SMOLVLM_IMPLEMENTATION) && !defined(SMOLVLM_C_IMPLEMENTATION_INCLUDED)
#define SMOLVLM_C_IMPLEMENTATION_INCLUDED
#ifndef __cplusplus
#error "SMOLVLM_IMPLEMENTATION: compile this translation unit as C++17 (e.g. smolvlm_c.cpp)"
#endif
#include "smolvlm/c_api_impl.hpp"
#endif

#endif /* SMOLVLM_H */
