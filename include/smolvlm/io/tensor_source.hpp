// smolvlm/io/tensor_source.hpp — where a model's weights come from: name -> dtype, shape, bytes.
//
// The weight binder (model/weights.hpp) reads every tensor through this interface, so a
// new weight source is one new `from_*` function here (or beside its reader) and nothing
// in model/ changes:
//
//   tensor_source src = tensor_source::from_safetensors(std::move(set));  // file(s), mmap'd or in memory
//   const source_tensor* t = src.find("model.norm.weight");              // null when absent
//   t->type, t->shape (outermost first, PyTorch order), t->data, t->nbytes
//   src.metadata("smolvlm.quant")                                         // string metadata, if any
//
// A source owns what backs the bytes (the mapped files or the reader that points into a
// caller's buffer); tensors stay valid while it lives. Moving it keeps them valid.
// Block-quantized tensors (GGUF's Q4_K and friends) carry their block type in
// `block_type` (>= 0) and their logical element shape in `shape`; plain tensors have -1.
//
// GGUF (io/gguf.hpp): tensor_source::from_gguf(file) and append_gguf(file) for the second
// file of a pair (text + mmproj). Names stay the GGUF spellings ("blk.0.attn_q.weight"),
// naming() says so: the families spell both (weight_slot::gguf_name, model/weights.hpp).
// Shapes are PyTorch order (GGUF's ne reversed); F32/F16/BF16 are plain tensors, every
// other ggml type a block tensor whose `type` is f32 (what its blocks decode to).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "gguf.hpp"
#include "safetensors.hpp"

namespace smolvlm {

// How a source spells tensor names: Hugging Face checkpoint keys or llama.cpp's GGUF names.
enum class tensor_naming : std::uint8_t { hf, gguf };

struct source_tensor {
    std::string name;
    dtype type = dtype::f32;            // element type (for block_type >= 0: the type blocks decode to)
    int block_type = -1;                // -1: plain elements; else the source's block format id (GGUF ggml_type)
    shape_t shape;                      // outermost first
    const std::uint8_t* data = nullptr; // valid while the source lives
    std::size_t nbytes = 0;
    std::size_t file = 0;               // which backing file (shards)

    // Aligned to `a` bytes (0: to its element size, what the kernels need to load elements).
    bool aligned(std::size_t a = 0) const {
        if (a == 0) a = dtype_size(type) ? dtype_size(type) : 1;
        return reinterpret_cast<std::uintptr_t>(data) % a == 0;
    }
};

class tensor_source {
public:
    tensor_source() = default;
    tensor_source(tensor_source&&) noexcept = default;
    tensor_source& operator=(tensor_source&&) noexcept = default;
    tensor_source(const tensor_source&) = delete;
    tensor_source& operator=(const tensor_source&) = delete;

    // Safetensors: one file, a sharded checkpoint (model.safetensors.index.json), a
    // prequantized directory, or a caller's buffer (see io/safetensors.hpp).
    static result<tensor_source> from_safetensors(safetensors_set set) {
        auto owned = std::make_shared<safetensors_set>(std::move(set));
        SMOLVLM_ASSIGN_OR_RETURN(tensor_source s, view_of(*owned));
        s.mapped_ = owned->n_files() > 0 && owned->file(0).is_mapped();
        s.backing_ = std::move(owned);
        return s;
    }

    // GGUF: one file (the text model, or a lone mmproj), mapped or in memory.
    static result<tensor_source> from_gguf(gguf_file f) {
        tensor_source s;
        s.kind_ = "gguf";
        s.naming_ = tensor_naming::gguf;
        SMOLVLM_TRY(s.append_gguf(std::move(f)));
        return s;
    }
    // Add the tensors of a second GGUF file (the mmproj of a pair); names must not repeat.
    status append_gguf(gguf_file f) {
        auto owned = std::make_shared<gguf_file>(std::move(f));
        const std::size_t file = metadata_.size();
        for (const gguf_tensor& t : owned->tensors()) {
            source_tensor e;
            e.name = std::string(t.name);
            dtype plain = dtype::f32;
            if (ggml_type_to_dtype(t.type, plain) && (plain == dtype::f32 || plain == dtype::f16 || plain == dtype::bf16)) {
                e.type = plain;
            } else {
                e.type = dtype::f32;
                e.block_type = int(static_cast<std::uint32_t>(t.type));
            }
            e.shape = t.shape();
            e.data = t.data;
            e.nbytes = t.nbytes;
            e.file = file;
            SMOLVLM_TRY(add(std::move(e)));
        }
        metadata_.emplace_back();
        mapped_ = (file == 0 || mapped_) && owned->is_mapped();
        extra_backing_.push_back(std::move(owned));
        return status::ok();
    }

    // A non-owning view of `set` (which must outlive the source): tests and tools.
    static result<tensor_source> view_of(const safetensors_set& set) {
        tensor_source s;
        s.kind_ = "safetensors";
        for (std::size_t f = 0; f < set.n_files(); ++f) {
            for (const st_tensor& t : set.file(f).tensors()) {
                source_tensor e;
                e.name = t.name;
                e.type = t.type;
                e.shape = t.shape;
                e.data = t.data;
                e.nbytes = t.nbytes;
                e.file = f;
                SMOLVLM_TRY(s.add(std::move(e)));
            }
            s.metadata_.push_back(set.file(f).metadata());
        }
        return s;
    }

    // For other readers: register tensors whose bytes `backing` keeps alive.
    status add(source_tensor t) {
        auto it = index_.find(t.name);
        if (it != index_.end()) return status::fmt(errc::bad_format, "tensor '%.160s' appears twice", t.name.c_str());
        index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
        return status::ok();
    }
    void set_backing(std::shared_ptr<void> backing, const char* kind, bool mapped) {
        backing_ = std::move(backing);
        kind_ = kind;
        mapped_ = mapped;
    }
    void add_file_metadata(std::vector<std::pair<std::string, std::string>> kv) { metadata_.push_back(std::move(kv)); }

    const source_tensor* find(std::string_view name) const {
        auto it = index_.find(std::string(name));
        return it == index_.end() ? nullptr : &tensors_[it->second];
    }
    const std::vector<source_tensor>& tensors() const { return tensors_; }
    std::size_t size() const { return tensors_.size(); }

    // String metadata of backing file `f` (safetensors "__metadata__").
    std::size_t n_files() const { return metadata_.size(); }
    const std::string* file_metadata(std::size_t f, std::string_view key) const {
        if (f >= metadata_.size()) return nullptr;
        for (const auto& kv : metadata_[f])
            if (kv.first == key) return &kv.second;
        return nullptr;
    }
    // The first file's value of `key`, else any file's.
    const std::string* metadata(std::string_view key) const {
        for (std::size_t f = 0; f < metadata_.size(); ++f)
            if (const std::string* v = file_metadata(f, key)) return v;
        return nullptr;
    }

    const char* kind() const { return kind_; }  // "safetensors", "gguf", ...
    tensor_naming naming() const { return naming_; }
    bool is_mapped() const { return mapped_; }
    std::size_t total_bytes() const {
        std::size_t n = 0;
        for (const source_tensor& t : tensors_) n += t.nbytes;
        return n;
    }

private:
    std::vector<source_tensor> tensors_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<std::vector<std::pair<std::string, std::string>>> metadata_;  // per backing file
    std::shared_ptr<void> backing_;  // what keeps `data` valid
    std::vector<std::shared_ptr<void>> extra_backing_;  // GGUF files
    tensor_naming naming_ = tensor_naming::hf;
    const char* kind_ = "none";
    bool mapped_ = false;
};

// A plain float tensor's values as f32.
inline status read_as_f32(const source_tensor& t, std::vector<float>& out) {
    if (t.block_type >= 0 || (t.type != dtype::f32 && t.type != dtype::bf16 && t.type != dtype::f16))
        return status::fmt(errc::unsupported, "tensor '%.100s' is not a plain float tensor", t.name.c_str());
    const std::size_t n = std::size_t(t.shape.numel());
    if (t.nbytes != n * dtype_size(t.type))
        return status::fmt(errc::bad_format, "tensor '%.100s': %zu bytes for %zu elements", t.name.c_str(), t.nbytes, n);
    out.resize(n);
    convert_to_f32(t.type, t.data, out.data(), n);
    return status::ok();
}

}  // namespace smolvlm
