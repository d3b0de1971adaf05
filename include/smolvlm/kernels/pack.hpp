// smolvlm/kernels/pack.hpp — turn a stored weight matrix into what the kernels read.
//
//   result<packed_weight> pack_weight(src, src_type, rows, cols, target, pool)
//
// src points at a row-major [rows, cols] matrix of f32, bf16 or f16 (as nn.Linear and
// safetensors store it). target is the dtype the kernels should read:
//   f32 / bf16 / f16 : same as src_type -> a non-owning *view* of src (zero copy: keep
//                      src alive, e.g. the mmap'd file); otherwise converted into owned
//                      row-major storage.
//   q8 / q4          : quantized (kernels/quant.hpp) and repacked into the 16-row panel
//                      layout, owned. cols must be a multiple of 32.
// packed_weight::matrix() gives the weight_matrix to pass to a matmul_fn.
#pragma once

#include <cstdint>
#include <cstring>
#include <utility>

#include "../core/status.hpp"
#include "dispatch.hpp"
#include "matmul.hpp"
#include "quant.hpp"

namespace smolvlm::kernels {

class packed_weight {
public:
    packed_weight() = default;
    packed_weight(const packed_weight&) = delete;
    packed_weight& operator=(const packed_weight&) = delete;
    packed_weight(packed_weight&& o) noexcept { *this = std::move(o); }
    packed_weight& operator=(packed_weight&& o) noexcept {
        if (this != &o) {
            release();
            m_ = o.m_;
            buf_ = o.buf_;
            bytes_ = o.bytes_;
            o.buf_ = nullptr;
            o.bytes_ = 0;
            o.m_ = weight_matrix{};
        }
        return *this;
    }
    ~packed_weight() { release(); }

    const weight_matrix& matrix() const { return m_; }
    bool owns_memory() const { return buf_ != nullptr; }
    std::size_t owned_bytes() const { return bytes_; }

    // Internal: used by pack_weight.
    static result<packed_weight> allocate(std::size_t bytes) {
        packed_weight p;
        p.buf_ = SMOLVLM_MALLOC(bytes ? bytes : 1, k_alignment);
        if (!p.buf_) return status::fmt(errc::no_memory, "packing a weight: cannot allocate %zu bytes", bytes);
        p.bytes_ = bytes;
        return p;
    }
    void* buffer() { return buf_; }
    weight_matrix& matrix_mut() { return m_; }

private:
    void release() {
        if (buf_) SMOLVLM_FREE(buf_);
        buf_ = nullptr;
        bytes_ = 0;
    }
    weight_matrix m_{};
    void* buf_ = nullptr;
    std::size_t bytes_ = 0;
};

namespace detail {

inline bool is_dense(dtype t) { return t == dtype::f32 || t == dtype::bf16 || t == dtype::f16; }

template <class Block>
inline void pack_panels(const unsigned char* src, dtype src_type, std::int64_t rows, std::int64_t cols,
                        std::uint8_t* q, std::uint16_t* d, thread_pool* pool, q4_row_fn q4,
                        q8_row_fn q8) {
    const std::int64_t nb = cols / k_group;
    const std::size_t panel_bytes = std::size_t(nb) * (sizeof(Block) == sizeof(block_q8) ? 512 : 256);
    const std::size_t row_bytes = std::size_t(cols) * dtype_size(src_type);
    parallel_for(pool, panel_count(rows), [&](std::int64_t p0, std::int64_t p1, int) {
        Block* row = static_cast<Block*>(SMOLVLM_MALLOC(std::size_t(nb) * sizeof(Block), k_alignment));
        Block tmp;  // fallback when the scratch row cannot be allocated: one block at a time
        for (std::int64_t p = p0; p < p1; ++p) {
            std::uint8_t* pq = q + std::size_t(p) * panel_bytes;
            std::uint16_t* pd = d + std::size_t(p) * std::size_t(nb) * k_panel;
            for (int r = 0; r < k_panel; ++r) {
                const std::int64_t gr = p * k_panel + r;
                if (gr >= rows) break;  // padded rows stay zero (scale 0)
                const unsigned char* s = src + std::size_t(gr) * row_bytes;
                if (row) {
                    quantize_row<Block>(src_type, s, row, cols, q4, q8);  // the whole row at once
                } else {
                    for (std::int64_t b = 0; b < nb; ++b) {
                        quantize_row<Block>(src_type, s + std::size_t(b) * k_group * dtype_size(src_type), &tmp,
                                            k_group, q4, q8);
                        if constexpr (sizeof(Block) == sizeof(block_q8))
                            put_panel_row_q8(&tmp, 1, r, pq + b * 512, pd + b * k_panel);
                        else
                            put_panel_row_q4(&tmp, 1, r, pq + b * 256, pd + b * k_panel);
                    }
                }
                if (row) {
                    if constexpr (sizeof(Block) == sizeof(block_q8))
                        put_panel_row_q8(row, nb, r, pq, pd);
                    else
                        put_panel_row_q4(row, nb, r, pq, pd);
                }
            }
        }
        if (row) SMOLVLM_FREE(row);
    });
}


}  // namespace detail

// Quantize a row-major f32 [rows, cols] matrix (cols % 32 == 0) to q8 in caller memory, in
// the panel layout the int8 GEMMs read: q gets panel_q8_bytes(rows, cols) bytes, d gets
// panel_scale_count(rows, cols) f16 scales (both zeroed first: padded panel rows read 0).
// For matrices made at run time (siglip's attention quantizes K and V per head with it);
// q8: the row quantizer (a kernel table's q8_row, chosen once, not per call).
inline weight_matrix pack_q8_into(const float* src, std::int64_t rows, std::int64_t cols, std::uint8_t* q,
                                  std::uint16_t* d, q8_row_fn q8, thread_pool* pool = nullptr) {
    std::memset(q, 0, panel_q8_bytes(rows, cols));
    std::memset(d, 0, panel_scale_count(rows, cols) * sizeof(std::uint16_t));
    detail::pack_panels<block_q8>(reinterpret_cast<const unsigned char*>(src), dtype::f32, rows, cols, q, d, pool,
                                  &quantize_row_q4, q8);
    return weight_matrix{dtype::q8, q, d, rows, cols};
}

// `kt`: the kernel table whose row quantizers to use (null: the scalar ones; the SIMD twins
// give the same bytes faster).
inline result<packed_weight> pack_weight(const void* src, dtype src_type, std::int64_t rows, std::int64_t cols,
                                         dtype target, thread_pool* pool = nullptr, const kernel_table* kt = nullptr) {
    if (!src) return status(errc::invalid_argument, "pack_weight: null source");
    if (!detail::is_dense(src_type))
        return status::fmt(errc::unsupported, "pack_weight: source dtype %s (want F32, BF16 or F16)",
                           dtype_name(src_type));
    if (rows <= 0 || cols <= 0 || rows > (std::int64_t(1) << 31) || cols > (std::int64_t(1) << 31) ||
        rows * cols > (std::int64_t(1) << 40))
        return status::fmt(errc::bad_shape, "pack_weight: bad shape [%lld, %lld]", (long long)rows, (long long)cols);
    const auto* s = static_cast<const unsigned char*>(src);

    if (detail::is_dense(target)) {
        packed_weight p;
        if (target == src_type) {  // zero-copy view
            p.matrix_mut() = weight_matrix{target, src, nullptr, rows, cols};
            return p;
        }
        const std::size_t n = std::size_t(rows * cols);
        SMOLVLM_ASSIGN_OR_RETURN(p, packed_weight::allocate(n * dtype_size(target)));
        float tmp[256];
        for (std::size_t i = 0; i < n; i += 256) {
            const std::size_t m = n - i < 256 ? n - i : 256;
            convert_to_f32(src_type, s + i * dtype_size(src_type), tmp, m);
            for (std::size_t j = 0; j < m; ++j) {
                if (target == dtype::f32)
                    static_cast<float*>(p.buffer())[i + j] = tmp[j];
                else
                    static_cast<std::uint16_t*>(p.buffer())[i + j] =
                        target == dtype::bf16 ? f32_to_bf16(tmp[j]) : f32_to_f16(tmp[j]);
            }
        }
        p.matrix_mut() = weight_matrix{target, p.buffer(), nullptr, rows, cols};
        return p;
    }

    if (target != dtype::q8 && target != dtype::q4)
        return status::fmt(errc::unsupported, "pack_weight: target dtype %s (want F32, BF16, F16, Q8 or Q4)",
                           dtype_name(target));
    if (cols % k_group != 0)
        return status::fmt(errc::bad_shape, "pack_weight: %s needs cols %% 32 == 0, got %lld", dtype_name(target),
                           (long long)cols);
    const std::size_t qbytes = target == dtype::q8 ? panel_q8_bytes(rows, cols) : panel_q4_bytes(rows, cols);
    const std::size_t dcount = panel_scale_count(rows, cols);
    packed_weight p;
    SMOLVLM_ASSIGN_OR_RETURN(p, packed_weight::allocate(qbytes + dcount * 2));
    auto* q = static_cast<std::uint8_t*>(p.buffer());
    auto* d = reinterpret_cast<std::uint16_t*>(q + qbytes);
    std::memset(p.buffer(), 0, qbytes + dcount * 2);
    const q4_row_fn q4 = kt ? kt->q4_row : &quantize_row_q4;
    const q8_row_fn q8 = kt ? kt->q8_row : &quantize_row_q8;
    if (target == dtype::q8)
        detail::pack_panels<block_q8>(s, src_type, rows, cols, q, d, pool, q4, q8);
    else
        detail::pack_panels<block_q4>(s, src_type, rows, cols, q, d, pool, q4, q8);
    p.matrix_mut() = weight_matrix{target, q, d, rows, cols};
    return p;
}

}  // namespace smolvlm::kernels
