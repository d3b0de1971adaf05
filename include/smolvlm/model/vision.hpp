// smolvlm/model/vision.hpp — the seam between a vision-language model's parts.
//
// A VLM family plugs two objects into the pipeline:
//
//   vision_encoder    one image (or tile) of normalised pixels  ->  hidden rows [n, D]
//                     (SigLIP for SmolVLM, Pixtral for Mistral Small 3.1)
//   vision_projector  those rows (and their patch grid)         ->  text rows [m, Dt]
//                     (pixel shuffle + linear for SmolVLM, patch merger + MLP for Mistral)
//
// and the text rows replace the image-placeholder tokens' embeddings (splice_image_rows,
// below). Both objects own their weights, list them for the binder as weight slots
// (model/weights.hpp), and take their scratch memory from a vision_workspace the caller
// owns (sized up front with workspace_bytes). Nothing here allocates per image except an
// optional trace.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/arena.hpp"
#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../nn/context.hpp"
#include "weights.hpp"

namespace smolvlm {

// One image for the encoder: channels-first normalised pixels.
struct vision_image {
    const float* pixels = nullptr;            // [3, height, width]
    std::int64_t height = 0, width = 0;
    const std::uint8_t* pixel_mask = nullptr; // [height, width], 1 = real pixel; null: all real
};

// Patches per column and per row of an encoded image: the encoder's output is
// rows * cols hidden rows, row-major.
struct vision_grid {
    std::int64_t rows = 0, cols = 0;
    std::int64_t count() const { return rows * cols; }
};

// Optional capture of one image's intermediates under the reference's stage names
// (tests, --dump). Allocates; not for firmware.
struct vision_trace {
    struct stage {
        std::string name;             // e.g. "vision_layer3_output"
        dtype type = dtype::f32;      // f32, i64 or u8
        shape_t shape;
        std::vector<std::uint8_t> bytes;
    };
    bool capture_layers = true;       // per-layer outputs (the big ones)
    std::vector<stage> stages;

    template <class T>
    void add(std::string name, const shape_t& shape, const T* data) {
        stage s;
        s.name = std::move(name);
        s.type = sizeof(T) == 8 ? dtype::i64 : sizeof(T) == 1 ? dtype::u8 : dtype::f32;
        s.shape = shape;
        const std::size_t n = std::size_t(shape.numel()) * sizeof(T);
        s.bytes.assign(reinterpret_cast<const std::uint8_t*>(data), reinterpret_cast<const std::uint8_t*>(data) + n);
        stages.push_back(std::move(s));
    }
    const stage* find(const std::string& name) const {
        for (const stage& s : stages)
            if (s.name == name) return &s;
        return nullptr;
    }
    // A float stage as a vector (empty when absent).
    std::vector<float> floats(const std::string& name) const {
        const stage* s = find(name);
        if (!s || s->type != dtype::f32) return {};
        std::vector<float> v(s->bytes.size() / sizeof(float));
        std::memcpy(v.data(), s->bytes.data(), s->bytes.size());
        return v;
    }
};

// A block of memory for the vision modules' buffers: owned (reserve) or the caller's
// (bind). Each encode carves it afresh with an arena.
class vision_workspace {
public:
    vision_workspace() = default;
    vision_workspace(vision_workspace&& o) noexcept { *this = std::move(o); }
    vision_workspace& operator=(vision_workspace&& o) noexcept {
        if (this != &o) {
            owned_ = std::move(o.owned_);
            base_ = o.base_;
            bytes_ = o.bytes_;
            o.base_ = nullptr;
            o.bytes_ = 0;
        }
        return *this;
    }
    vision_workspace(const vision_workspace&) = delete;
    vision_workspace& operator=(const vision_workspace&) = delete;

    // Own at least `bytes` (keeps the current block when it is large enough).
    status reserve(std::size_t bytes) {
        if (owned_ && bytes <= bytes_) return status::ok();
        aligned_ptr<std::uint8_t> p = make_aligned<std::uint8_t>(bytes ? bytes : 1);
        if (!p) return status::fmt(errc::no_memory, "vision workspace: cannot allocate %zu bytes", bytes);
        base_ = p.get();
        bytes_ = bytes;
        owned_ = std::move(p);
        return status::ok();
    }
    // Use caller memory (64-byte aligned); never freed here.
    status bind(void* memory, std::size_t bytes) {
        if (!memory || !is_aligned(memory, k_default_alignment))
            return status(errc::invalid_argument, "vision workspace: memory must be non-null and 64-byte aligned");
        owned_.reset();
        base_ = static_cast<std::uint8_t*>(memory);
        bytes_ = bytes;
        return status::ok();
    }
    // Make sure `need` bytes are there: grow an owned (or empty) workspace, refuse a bound one.
    status ensure(std::size_t need) {
        if (base_ && bytes_ >= need) return status::ok();
        if (base_ && !owned_)
            return status::fmt(errc::no_memory,
                               "vision workspace: the caller's %zu bytes are fewer than the %zu needed "
                               "(workspace_bytes for this image size and thread count)", bytes_, need);
        return reserve(need);
    }
    arena carve() const { return arena(base_, bytes_); }
    std::size_t size_bytes() const { return bytes_; }
    bool owns_memory() const { return owned_ != nullptr; }

private:
    aligned_ptr<std::uint8_t> owned_;
    std::uint8_t* base_ = nullptr;
    std::size_t bytes_ = 0;
};

// Buffers are described once, as a sequence of requests, and either sized (plan) or
// carved (arena) with the same code: template <class Carver> void take(Carver&).
struct workspace_planner {
    static constexpr bool carving = false;
    arena_plan plan;
    template <class T>
    T* take(std::size_t count) {
        plan.add_array<T>(count);
        return nullptr;
    }
};
struct workspace_carver {
    static constexpr bool carving = true;
    arena a;
    template <class T>
    T* take(std::size_t count) {
        return a.alloc_array<T>(count);
    }
};

class vision_encoder {
public:
    virtual ~vision_encoder() = default;
    virtual const char* name() const = 0;
    // The checkpoint tensors this encoder reads, pointing at its weights.
    virtual void weight_slots(std::vector<weight_slot>& out) = 0;
    // After binding: do the bound weights have the shapes the config implies?
    virtual status check() const = 0;
    virtual std::int64_t hidden_size() const = 0;
    // The patch grid of an image of height x width (an error for sizes it cannot take).
    virtual result<vision_grid> grid_for(std::int64_t height, std::int64_t width) const = 0;
    // Workspace bytes for images up to max_height x max_width on `threads` threads.
    virtual result<std::size_t> workspace_bytes(std::int64_t max_height, std::int64_t max_width, int threads) const = 0;
    // hidden: [grid.count(), hidden_size()]; ws must hold workspace_bytes (an owned, empty
    // workspace is grown here).
    virtual status encode(const nn::context& ctx, const vision_image& image, float* hidden, vision_workspace& ws,
                          vision_trace* trace) const = 0;
};

class vision_projector {
public:
    virtual ~vision_projector() = default;
    virtual const char* name() const = 0;
    virtual void weight_slots(std::vector<weight_slot>& out) = 0;
    virtual status check() const = 0;
    virtual std::int64_t output_size() const = 0;  // = the text model's hidden size
    // Text rows an image of this grid becomes.
    virtual result<std::int64_t> output_rows(const vision_grid& grid) const = 0;
    virtual result<std::size_t> workspace_bytes(const vision_grid& max_grid, int threads) const = 0;
    // hidden: [grid.count(), encoder hidden] -> out: [output_rows, output_size()]
    virtual status project(const nn::context& ctx, const float* hidden, const vision_grid& grid, float* out,
                           vision_workspace& ws, vision_trace* trace) const = 0;
};

// The splice: rows of `image_rows` ([n_image_rows, D], in prompt order) replace, one by
// one, the embeddings of the tokens equal to image_token ([n, D] embeds of ids[0, n)).
// `next_row` is the first unused image row and advances.
inline status splice_image_rows(const std::int32_t* ids, std::int64_t n, std::int32_t image_token, const float* image_rows,
                                std::int64_t n_image_rows, std::int64_t& next_row, std::int64_t D, float* embeds) {
    for (std::int64_t i = 0; i < n; ++i) {
        if (ids[i] != image_token) continue;
        if (next_row >= n_image_rows || !image_rows)
            return status(errc::invalid_argument, "more image tokens in the prompt than image feature rows");
        std::memcpy(embeds + i * D, image_rows + next_row * D, std::size_t(D) * sizeof(float));
        ++next_row;
    }
    return status::ok();
}

}  // namespace smolvlm
