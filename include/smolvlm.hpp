// smolvlm.hpp — one #include gives the whole engine.
//
// Header-only C++17 inference for SmolVLM / SmolVLM2 (SigLIP vision encoder +
// pixel-shuffle connector + Llama-style SmolLM2 decoder) and the text-only
// SmolLM2 / SmolLM3 models. No dependency beyond the standard library.
//
// The list below is the table of contents, in layer order: each header includes only
// headers above it (docs/ARCHITECTURE.md draws the picture). Start reading at
// model/smolvlm.hpp, the forward pass top-down.
#pragma once

#include "smolvlm/version.hpp"
#include "smolvlm/config.hpp"            // build configuration: SIMD switches, allocation hooks

// core/ — status and errors, dtypes, tensors, memory, threads, CPU features
#include "smolvlm/core/status.hpp"
#include "smolvlm/core/dtype.hpp"
#include "smolvlm/core/tensor.hpp"
#include "smolvlm/core/arena.hpp"
#include "smolvlm/core/parallel.hpp"
#include "smolvlm/core/cpu.hpp"

// io/ — files, JSON, weight sources (safetensors, GGUF), image decoders
#include "smolvlm/io/file.hpp"
#include "smolvlm/io/json.hpp"
#include "smolvlm/io/safetensors.hpp"
#include "smolvlm/io/ggml_type.hpp"
#include "smolvlm/io/gguf.hpp"
#include "smolvlm/io/tensor_source.hpp"
#include "smolvlm/io/image.hpp"
#include "smolvlm/io/inflate.hpp"
#include "smolvlm/io/png.hpp"
#include "smolvlm/io/jpeg.hpp"
#include "smolvlm/io/ppm.hpp"
#include "smolvlm/io/bmp.hpp"
#include "smolvlm/io/gif.hpp"
#include "smolvlm/io/webp.hpp"
#include "smolvlm/io/decode.hpp"

// kernels/ — scalar references and their SIMD twins, chosen at run time
#include "smolvlm/kernels/quant.hpp"
#include "smolvlm/kernels/matmul.hpp"
#include "smolvlm/kernels/vec.hpp"
#include "smolvlm/kernels/resample.hpp"
#include "smolvlm/kernels/dispatch.hpp"
#include "smolvlm/kernels/pack.hpp"
#include "smolvlm/kernels/ggml_blocks.hpp"
#include "smolvlm/kernels/ggml_repack.hpp"

// nn/ — model-agnostic blocks
#include "smolvlm/nn/context.hpp"
#include "smolvlm/nn/linear.hpp"
#include "smolvlm/nn/norm.hpp"
#include "smolvlm/nn/activation.hpp"
#include "smolvlm/nn/rope.hpp"
#include "smolvlm/nn/attention.hpp"

// text/ — tokenizer, chat templates, grammars for constrained decoding (GBNF, JSON Schema)
#include "smolvlm/text/unicode.hpp"
#include "smolvlm/text/bpe.hpp"
#include "smolvlm/text/gguf_tokenizer.hpp"
#include "smolvlm/text/chat_template.hpp"
#include "smolvlm/text/grammar.hpp"
#include "smolvlm/text/grammar_matcher.hpp"
#include "smolvlm/text/json_schema.hpp"

// model/ — configs, weights, the modules, the families
#include "smolvlm/model/config.hpp"
#include "smolvlm/model/weights.hpp"
#include "smolvlm/model/llama.hpp"
#include "smolvlm/model/vision.hpp"
#include "smolvlm/model/siglip.hpp"
#include "smolvlm/model/connector.hpp"
#include "smolvlm/model/pixtral.hpp"
#include "smolvlm/model/patch_merger.hpp"
#include "smolvlm/model/family.hpp"
#include "smolvlm/model/smolvlm_tokens.hpp"
#include "smolvlm/model/smolvlm.hpp"
#include "smolvlm/model/smollm.hpp"
#include "smolvlm/model/mistral3.hpp"
#include "smolvlm/model/families.hpp"

// pipeline/ — what applications call
#include "smolvlm/pipeline/resample.hpp"
#include "smolvlm/pipeline/preprocess.hpp"
#include "smolvlm/pipeline/preprocess_pixtral.hpp"
#include "smolvlm/pipeline/loader.hpp"
#include "smolvlm/pipeline/sampler.hpp"
#include "smolvlm/pipeline/session.hpp"
#include "smolvlm/pipeline/prompt_job.hpp"
#include "smolvlm/pipeline/prequantize.hpp"
