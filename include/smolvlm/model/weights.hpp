// smolvlm/model/weights.hpp — weight slots and the binder that fills them from a tensor source.
//
// A model family lists, once, every checkpoint tensor it reads as a `weight_slot`: the
// safetensors key, the shape its config implies, and where the bound tensor goes. That
// one list (the family's tensor-name table) drives everything that needs tensor names:
//   - bind_slots (here): find each tensor in the source, check dtype and shape, bind it
//     (matrices in place, small vectors as f32 copies); a missing or mis-shaped tensor is
//     an error naming it;
//   - the weight formats (pipeline/loader.hpp): every `linear` slot is converted to q8/q4/
//     bf16/f32 on request, and smolvlm-quantize writes them out prequantized;
//   - the decode-bytes count (slots marked `per_token`).
//
// Prequantized checkpoints (written by examples/smolvlm-quantize.cpp) store a linear layer
// `W` [rows, cols] as two tensors holding exactly what the q8/q4 kernels read (the panel
// layout of kernels/quant.hpp), instead of `W` itself:
//   W.q4_panels  U8  [ceil(rows/16), cols/32, 256]    (q8: W.q8_panels, [..., 512])
//   W.q4_scales  F16 [ceil(rows/16), cols/32, 16]     (q8: W.q8_scales)
// The file's __metadata__ names the format ("smolvlm.quant": "q4" or "q8") and each packed
// matrix's logical shape ("smolvlm.shape.W": "rows,cols"); the loader checks both. The
// binder maps such pairs in place like any other matrix.
//
// GGUF sources (tensor_naming::gguf) are read under each slot's second spelling,
// `gguf_name`, which the family fills (model/smollm.hpp, model/smolvlm.hpp), and the binder
// undoes what llama.cpp's converter changed:
//   - Q/K rows permuted for llama.cpp's interleaved RoPE (gguf_unpermute_heads = n heads):
//     W_hf = W_gguf.reshape(n, r, 2, in).swapaxes(1, 2).reshape(rows, in), r = rows / n / 2.
//     Whole rows move, so block-quantized rows are copied as they are (no decoding).
//   - ffn_up / ffn_down swapped in some published mmproj files: when the tensor under
//     gguf_name has the wrong shape and the one under gguf_swap_name the right one, that
//     one is bound (recognised by shape; SigLIP's fc1 [I, D] and fc2 [D, I] differ).
//   - a tied output head is simply absent (the slot's tied_to applies).
// Block-quantized matrices (Q4_K, Q8_0, ...) are bound in place with weight_matrix::ggml
// set, for the loader to repack (linear slots) or to decode row by row (rows_only: token
// embeddings); other slots, and every slot when the caller asks for runnable weights
// (bind_options::keep_blocks = false), are dequantized to f32 bit-exactly here.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/tensor_source.hpp"
#include "../kernels/ggml_blocks.hpp"
#include "../kernels/matmul.hpp"

namespace smolvlm {

// One checkpoint tensor a model reads.
struct weight_slot {
    std::string name;                           // checkpoint key, e.g. "model.norm.weight"
    shape_t shape;                              // what the config implies (matrices: {rows, cols})
    kernels::weight_matrix* matrix = nullptr;   // destination of a matrix (used in place)
    std::vector<float>* vector = nullptr;       // destination of a small tensor (an f32 copy)
    bool linear = false;        // a weight format (q8 / q4 / bf16 / f32) applies to it
    bool per_token = false;     // read once per decoded token (text layers, lm_head)
    bool is_lm_head = false;    // q4 keeps the head in q8
    bool flatten = false;       // stored with more dims: first dim rows, the rest multiply to cols
    bool optional = false;      // may be absent (then left empty)
    bool rows_only = false;     // only single rows are read (token embeddings): ggml blocks may stay
    // Tied output head: when the file has no packed copy of this slot, bind `tied_to` instead.
    const kernels::weight_matrix* tied_to = nullptr;
    // The GGUF spelling (llama.cpp's converter; filled by the family), empty when GGUF files
    // have no such tensor; see the top of this file for the other two.
    std::string gguf_name;
    std::int64_t gguf_unpermute_heads = 0;
    std::string gguf_swap_name;
    // ... and only when the file has no dense copy either (a head that is tied by default but
    // present in the checkpoint is used: transformers 5 unties such a pair, Mistral 3).
    bool tie_if_absent = false;

    static weight_slot mat(std::string name, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& dst,
                           bool linear = true) {
        weight_slot s;
        s.name = std::move(name);
        s.shape = shape_t{rows, cols};
        s.matrix = &dst;
        s.linear = linear;
        return s;
    }
    static weight_slot vec(std::string name, const shape_t& shape, std::vector<float>& dst) {
        weight_slot s;
        s.name = std::move(name);
        s.shape = shape;
        s.vector = &dst;
        return s;
    }
};

// `prefix` + i + "." + rest: "model.layers." 3 "mlp.up_proj.weight".
inline std::string layer_key(const std::string& prefix, std::size_t i, const char* rest) {
    return prefix + std::to_string(i) + "." + rest;
}

inline std::string packed_panels_name(const std::string& name, dtype t) {
    return name + (t == dtype::q8 ? ".q8_panels" : ".q4_panels");
}
inline std::string packed_scales_name(const std::string& name, dtype t) {
    return name + (t == dtype::q8 ? ".q8_scales" : ".q4_scales");
}

// Tensors that had to be copied (misaligned in the file); bound views point here.
struct owned_tensors {
    std::vector<std::unique_ptr<std::uint8_t[]>> blocks;
    std::size_t bytes = 0;

    // A 64-byte aligned copy of n bytes (null when out of memory).
    const std::uint8_t* copy(const std::uint8_t* src, std::size_t n) {
        std::unique_ptr<std::uint8_t[]> b(new (std::nothrow) std::uint8_t[n + 64]);
        if (!b) return nullptr;
        std::uint8_t* p = b.get();
        while (reinterpret_cast<std::uintptr_t>(p) % 64) ++p;
        std::memcpy(p, src, n);
        blocks.push_back(std::move(b));
        bytes += n + 64;
        return p;
    }
};

struct bind_options {
    // Leave block-quantized linear / rows_only matrices as ggml blocks (the loader repacks
    // them); false: dequantize every block tensor to f32 (runnable without a loader).
    bool keep_blocks = false;
};

namespace detail {

class weight_binder {
public:
    weight_binder(const tensor_source& src, owned_tensors& owned, const bind_options& opt = {})
        : src_(src), owned_(owned), opt_(opt) {}

    status bind(const weight_slot& s) {
        const bool gguf = src_.naming() == tensor_naming::gguf;
        if (gguf && s.gguf_name.empty()) {
            if (s.optional || (s.matrix && s.tied_to)) return bind_gguf_absent(s);
            return status::fmt(errc::unsupported, "tensor '%.100s' has no GGUF name (not readable from a GGUF file)",
                               s.name.c_str());
        }
        const std::string& name = gguf ? gguf_choice(s) : s.name;
        if (s.matrix) {
            if (s.tied_to && (gguf || packed_type(name) == dtype::f32) && !(s.tie_if_absent && src_.find(name))) {
                // tied head (a prequantized file may pack a copy)
                *s.matrix = *s.tied_to;
                return status::ok();
            }
            if (s.optional && !src_.find(name) && packed_type(name) == dtype::f32) return status::ok();
            SMOLVLM_TRY(matrix(name, s.shape[0], s.shape[1], *s.matrix, s.flatten));
            if (gguf && s.gguf_unpermute_heads > 0) SMOLVLM_TRY(unpermute(name, s.gguf_unpermute_heads, *s.matrix));
            if (s.matrix->ggml >= 0 && !(opt_.keep_blocks && (s.linear || s.rows_only)))
                return dequantize(name, *s.matrix);
            return status::ok();
        }
        if (s.vector) {
            if (s.optional && !src_.find(name)) return status::ok();
            return vec(name, s.shape, *s.vector);
        }
        return status::fmt(errc::invalid_argument, "weight slot '%.100s' has no destination", s.name.c_str());
    }

    // q8 / q4 when `name` is stored as a prequantized pair, else f32.
    dtype packed_type(const std::string& name) const {
        if (src_.find(packed_panels_name(name, dtype::q4))) return dtype::q4;
        if (src_.find(packed_panels_name(name, dtype::q8))) return dtype::q8;
        return dtype::f32;
    }

private:
    status bind_gguf_absent(const weight_slot& s) {
        if (s.matrix && s.tied_to) *s.matrix = *s.tied_to;
        return status::ok();
    }

    // gguf_name, or gguf_swap_name when only that one has the slot's shape.
    const std::string& gguf_choice(const weight_slot& s) const {
        if (s.gguf_swap_name.empty()) return s.gguf_name;
        const source_tensor* a = src_.find(s.gguf_name);
        const source_tensor* b = src_.find(s.gguf_swap_name);
        if (a && b && a->shape != s.shape && b->shape == s.shape) return s.gguf_swap_name;
        return s.gguf_name;
    }

    // Rows back into Hugging Face order (see the top of the file), into an owned copy.
    status unpermute(const std::string& name, std::int64_t n_heads, kernels::weight_matrix& m) {
        const std::int64_t rows = m.rows;
        if (n_heads <= 0 || rows % (2 * n_heads) != 0)
            return status::fmt(errc::bad_shape, "tensor '%.100s': %lld rows do not split into %lld heads of pairs",
                               name.c_str(), (long long)rows, (long long)n_heads);
        const source_tensor* t = src_.find(name);
        const std::size_t row_bytes = t->nbytes / std::size_t(rows);
        std::unique_ptr<std::uint8_t[]> tmp(new (std::nothrow) std::uint8_t[t->nbytes]);
        if (!tmp) return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", name.c_str());
        const auto* src = static_cast<const std::uint8_t*>(m.data);
        const std::int64_t r = rows / n_heads / 2;
        for (std::int64_t h = 0; h < n_heads; ++h)
            for (std::int64_t j = 0; j < 2; ++j)
                for (std::int64_t i = 0; i < r; ++i) {
                    const std::int64_t hf = h * 2 * r + j * r + i, gg = h * 2 * r + i * 2 + j;
                    std::memcpy(tmp.get() + std::size_t(hf) * row_bytes, src + std::size_t(gg) * row_bytes, row_bytes);
                }
        m.data = owned_.copy(tmp.get(), t->nbytes);
        if (!m.data) return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", name.c_str());
        return status::ok();
    }

    // ggml blocks -> f32 rows (bit-exact), owned.
    status dequantize(const std::string& name, kernels::weight_matrix& m) {
        const ggml_type gt = static_cast<ggml_type>(std::uint32_t(m.ggml));
        const kernels::ggml::dequantize_fn f = kernels::ggml::dequantizer(gt);
        if (!f) return status::fmt(errc::unsupported, "tensor '%.100s': ggml type %s cannot be decoded", name.c_str(),
                                   ggml_type_name(gt));
        const std::size_t n = std::size_t(m.rows) * std::size_t(m.cols);
        std::unique_ptr<float[]> tmp(new (std::nothrow) float[n]);
        if (!tmp) return status::fmt(errc::no_memory, "cannot dequantize tensor '%.100s'", name.c_str());
        const ggml_type_traits tr = ggml_traits(gt);
        const std::size_t row_bytes = std::size_t(m.cols) / tr.block_size * tr.block_bytes;
        for (std::int64_t r = 0; r < m.rows; ++r)
            f(static_cast<const std::uint8_t*>(m.data) + std::size_t(r) * row_bytes, tmp.get() + std::size_t(r) * std::size_t(m.cols),
              m.cols);
        const void* p = owned_.copy(reinterpret_cast<const std::uint8_t*>(tmp.get()), n * sizeof(float));
        if (!p) return status::fmt(errc::no_memory, "cannot dequantize tensor '%.100s'", name.c_str());
        m = kernels::weight_matrix{dtype::f32, p, nullptr, m.rows, m.cols};
        return status::ok();
    }

    // A matrix used in place; shape must equal {rows, cols} or, with `flatten`, any shape
    // whose first dim is rows and whose trailing dims multiply to cols.
    status matrix(const std::string& name, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& out,
                  bool flatten) {
        if (!src_.find(name) && packed_type(name) != dtype::f32) return packed(name, rows, cols, out);
        SMOLVLM_ASSIGN_OR_RETURN(const source_tensor* t, find(name));
        bool ok = t->shape.ndim >= 2 && t->shape[0] == rows && t->shape.numel() == rows * cols;
        if (!flatten) ok = ok && t->shape.ndim == 2;
        if (!ok) return shape_error(name, *t, {rows, cols});
        if (t->block_type >= 0) {  // ggml blocks, in place (bind() decides what becomes of them)
            if (!kernels::ggml::can_dequantize(static_cast<ggml_type>(std::uint32_t(t->block_type))))
                return status::fmt(errc::unsupported, "tensor '%.100s': ggml type %s is not supported", name.c_str(),
                                   ggml_type_name(static_cast<ggml_type>(std::uint32_t(t->block_type))));
            out = kernels::weight_matrix{dtype::f32, t->data, nullptr, rows, cols};
            out.ggml = t->block_type;
            return status::ok();
        }
        if (t->type != dtype::f32 && t->type != dtype::bf16 && t->type != dtype::f16)
            return status::fmt(errc::unsupported, "tensor '%.100s': dtype %s is not a weight dtype (F32/F16/BF16)",
                               name.c_str(), dtype_name(t->type));
        out = kernels::weight_matrix{t->type, t->data, nullptr, rows, cols};
        if (!t->aligned()) {  // copy into aligned memory so kernels may load whole elements
            out.data = owned_.copy(t->data, t->nbytes);
            if (!out.data) return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", name.c_str());
        }
        return status::ok();
    }

    // A prequantized matrix, used in place (copied only if the panels are not 64-byte aligned).
    status packed(const std::string& name, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& out) {
        const dtype q = packed_type(name);
        if (src_.find(packed_panels_name(name, q == dtype::q4 ? dtype::q8 : dtype::q4)))
            return status::fmt(errc::bad_format, "tensor '%.100s' is stored both as q4 and as q8 panels", name.c_str());
        const std::string pn = packed_panels_name(name, q), sn = packed_scales_name(name, q);
        const source_tensor* p = src_.find(pn);
        const source_tensor* s = src_.find(sn);
        if (!s) return status::fmt(errc::bad_shape, "missing tensor '%.160s' (scales of '%.100s')", sn.c_str(), pn.c_str());
        if (cols % kernels::k_group != 0)
            return status::fmt(errc::bad_shape, "tensor '%.100s': %lld input features are not a multiple of %d",
                               pn.c_str(), (long long)cols, kernels::k_group);
        const std::int64_t panels = kernels::panel_count(rows), nb = cols / kernels::k_group;
        const std::int64_t per = q == dtype::q4 ? 256 : 512;
        if (p->type != dtype::u8) return status::fmt(errc::bad_format, "tensor '%.100s' must be U8", pn.c_str());
        if (p->shape != shape_t{panels, nb, per}) return shape_error(pn, *p, {panels, nb, per});
        if (s->type != dtype::f16) return status::fmt(errc::bad_format, "tensor '%.100s' must be F16", sn.c_str());
        if (s->shape != shape_t{panels, nb, kernels::k_panel}) return shape_error(sn, *s, {panels, nb, kernels::k_panel});
        out = kernels::weight_matrix{q, p->data, s->data, rows, cols};
        if (!p->aligned(64) && !(out.data = owned_.copy(p->data, p->nbytes)))
            return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", pn.c_str());
        if (!s->aligned(2) && !(out.scales = owned_.copy(s->data, s->nbytes)))
            return status::fmt(errc::no_memory, "cannot copy tensor '%.100s'", sn.c_str());
        return status::ok();
    }

    // A small tensor converted to f32; its shape must equal `shape`.
    status vec(const std::string& name, const shape_t& shape, std::vector<float>& out) {
        SMOLVLM_ASSIGN_OR_RETURN(const source_tensor* t, find(name));
        if (t->shape != shape) return shape_error(name, *t, shape);
        if (t->block_type >= 0) {
            const ggml_type gt = static_cast<ggml_type>(std::uint32_t(t->block_type));
            out.resize(std::size_t(t->shape.numel()));
            return kernels::ggml::dequantize_row(gt, t->data, out.data(), t->shape.numel());
        }
        if (t->type != dtype::f32 && t->type != dtype::bf16 && t->type != dtype::f16)
            return status::fmt(errc::unsupported, "tensor '%.100s': dtype %s is not a float dtype", name.c_str(),
                               t->block_type >= 0 ? "block-quantized" : dtype_name(t->type));
        const std::size_t n = std::size_t(t->shape.numel());
        if (t->nbytes != n * dtype_size(t->type))
            return status::fmt(errc::bad_format, "tensor '%.100s': %zu bytes for %zu elements", name.c_str(), t->nbytes, n);
        out.resize(n);
        convert_to_f32(t->type, t->data, out.data(), n);
        return status::ok();
    }

    result<const source_tensor*> find(const std::string& name) const {
        const source_tensor* t = src_.find(name);
        if (!t) return status::fmt(errc::bad_shape, "missing tensor '%.160s'", name.c_str());
        return t;
    }
    static status shape_error(const std::string& name, const source_tensor& t, const shape_t& want) {
        char a[96], b[96];
        return status::fmt(errc::bad_shape, "tensor '%.100s' has shape %s, the config implies %s", name.c_str(),
                           shape_str(t.shape, a, sizeof a), shape_str(want, b, sizeof b));
    }

    const tensor_source& src_;
    owned_tensors& owned_;
    bind_options opt_;
};

}  // namespace detail

// Bind every slot from `src`, in order (a tied head comes after the embedding it points to).
inline status bind_slots(const tensor_source& src, const std::vector<weight_slot>& slots, owned_tensors& owned,
                         const bind_options& opt = {}) {
    detail::weight_binder b(src, owned, opt);
    for (const weight_slot& s : slots) SMOLVLM_TRY(b.bind(s));
    return status::ok();
}

// The dtype a prequantized pair of `name` has in `src` (q8 / q4), or f32 when it is not packed.
inline dtype stored_packed_type(const tensor_source& src, const std::string& name) {
    if (src.find(packed_panels_name(name, dtype::q4))) return dtype::q4;
    if (src.find(packed_panels_name(name, dtype::q8))) return dtype::q8;
    return dtype::f32;
}

}  // namespace smolvlm
