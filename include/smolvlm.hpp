// smolvlm.hpp — one #include gives the whole engine.
//
// Header-only C++17 inference for SmolVLM / SmolVLM2 (SigLIP vision encoder +
// pixel-shuffle connector + Llama-style SmolLM2 decoder) and the text-only
// SmolLM2 / SmolLM3 models. No dependency beyond the standard library.
//
// Layers (includes point downward only):
//   core/      status, dtype, tensor, arena, threads, cpu features
//   io/        files, JSON, safetensors, image decoders
//   kernels/   scalar + SIMD GEMV/GEMM (int4/int8/f32/bf16), runtime dispatch
//   nn/        model-agnostic blocks: norms, RoPE, attention, MLP
//   text/      BPE tokenizer, chat templates
//   model/     configs, weights, SigLIP, connector, Llama, SmolVLM forward pass
//   pipeline/  preprocessing, sampling, generation, sessions (what apps call)
#pragma once

#include "smolvlm/version.hpp"
#include "smolvlm/config.hpp"
#include "smolvlm/core/status.hpp"
#include "smolvlm/core/dtype.hpp"
#include "smolvlm/core/tensor.hpp"
#include "smolvlm/core/parallel.hpp"
#include "smolvlm/kernels/matmul.hpp"
#include "smolvlm/nn/context.hpp"
#include "smolvlm/io/image.hpp"
#include "smolvlm/io/file.hpp"
#include "smolvlm/io/json.hpp"
#include "smolvlm/io/safetensors.hpp"
#include "smolvlm/nn/norm.hpp"
#include "smolvlm/nn/activation.hpp"
#include "smolvlm/nn/rope.hpp"
#include "smolvlm/nn/attention.hpp"
#include "smolvlm/model/config.hpp"
#include "smolvlm/model/weights.hpp"
#include "smolvlm/model/llama.hpp"
#include "smolvlm/pipeline/sampler.hpp"
#include "smolvlm/pipeline/model.hpp"
#include "smolvlm/pipeline/session.hpp"
#include "smolvlm/text/unicode.hpp"
#include "smolvlm/text/bpe.hpp"
#include "smolvlm/text/chat_template.hpp"
#include "smolvlm/core/arena.hpp"
#include "smolvlm/pipeline/resample.hpp"
#include "smolvlm/pipeline/preprocess.hpp"
#include "smolvlm/pipeline/prompt.hpp"
#include "smolvlm/io/inflate.hpp"
#include "smolvlm/io/png.hpp"
#include "smolvlm/io/jpeg.hpp"
#include "smolvlm/io/ppm.hpp"
#include "smolvlm/io/bmp.hpp"
#include "smolvlm/io/gif.hpp"
#include "smolvlm/io/webp.hpp"
#include "smolvlm/io/decode.hpp"
#include "smolvlm/pipeline/vlm.hpp"
#include "smolvlm/core/cpu.hpp"
#include "smolvlm/kernels/quant.hpp"
#include "smolvlm/kernels/pack.hpp"
#include "smolvlm/kernels/vec.hpp"
#include "smolvlm/kernels/dispatch.hpp"
#include "smolvlm/model/connector.hpp"
#include "smolvlm/model/siglip.hpp"
