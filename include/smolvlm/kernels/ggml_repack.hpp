// smolvlm/kernels/ggml_repack.hpp — ggml-typed weights (from a GGUF) into the engine's formats.
//
//   result<packed_weight> pack_ggml_weight(src, type, rows, cols, target, pool)
//
// src points at a row-major [rows, cols] matrix stored as ggml `type` (a GGUF tensor with
// ne = [cols, rows]). target is what the kernels should read (kernels/pack.hpp):
//   f32 / f16 / bf16 : the same ggml type -> a zero-copy view of src (when src is aligned for
//                      the element type: a GGUF's data is, mmap'd); otherwise rows are
//                      dequantized (bit-exact, kernels/ggml_blocks.hpp) and converted.
//   q8 / q4          : repacked into the 16-row panel layout, *without requantizing* when the
//                      engine format holds the ggml type exactly (below); otherwise rows are
//                      dequantized to f32 and quantized by the engine's own quantizer (lossy).
//
// Which ggml types the engine's formats hold exactly (every value the same f32 bits):
//
//   engine q4 = f16 d + 16 bytes of nibbles, value d * (q - 8), value j in the low nibble of
//               byte j and j + 16 in its high nibble: byte for byte ggml's Q4_0. Q4_0 -> q4 is
//               a copy (and the engine's q4 blocks can be written to a GGUF as Q4_0 as they are).
//   engine q8 = f16 d + 32 int8, value d * qs: byte for byte ggml's Q8_0 (-128 included: the
//               kernels read the codes through +128 / sign tricks that cover it). With the
//               block's d unchanged, q8 also holds every "d x small integer" 32-block:
//               Q4_0 (q - 8 in -8..7), Q5_0 (q - 16 in -16..15), IQ4_NL (table levels in
//               -127..113). The engine computes d * float(code), the same single rounding as
//               ggml's dequantizer, so the values are bit-identical.
//   with group offsets (weight_matrix::group_offsets, one f32 per row and 32-group):
//               Q4_1 -> q4: the codes and d copied, offset m + 8d (q4 reads d * (q - 8));
//               Q5_1 -> q8: the 5-bit codes as int8, d copied, offset m. The values are
//               d * q + m up to the one f32 rounding of m + 8d (Q4_1; exact for Q5_1);
//               the matmul adds the offsets times the activations' group sums.
//   not exactly (without offsets): Q4_1 / Q5_1 add an f16 minimum m per block (q * d + m is no d' * integer
//               with an f16 d' in general); the K-quants have 2 (Q2_K, Q3_K, Q6_K: 16-value
//               sub-blocks) or 1 (Q4_K, Q5_K) derived scales per 32 values, d * sc rounded
//               in f32, and mins. (Q3_K is d * (sc - 32) * q with integer products in -124..128:
//               q8 with d would hold it except where the product is 128; not done.) For these
//               the exact option is f32 (dequantized, 4 bytes per value); q8 / q4 targets
//               requantize.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "../core/status.hpp"
#include "ggml_blocks.hpp"
#include "pack.hpp"
#include "quant.hpp"

namespace smolvlm::kernels {

static_assert(sizeof(block_q4) == sizeof(ggml::block_q4_0), "engine q4 and ggml Q4_0 blocks are the same 18 bytes");
static_assert(sizeof(block_q8) == sizeof(ggml::block_q8_0), "engine q8 and ggml Q8_0 blocks are the same 34 bytes");

// Does the engine dtype `target` hold every value of ggml type `t` exactly?
inline bool engine_holds_exactly(ggml_type t, dtype target) {
    switch (target) {
        case dtype::q4: return t == ggml_type::q4_0;
        case dtype::q8:
            return t == ggml_type::q8_0 || t == ggml_type::q4_0 || t == ggml_type::q5_0 || t == ggml_type::iq4_nl;
        case dtype::f32: return ggml::can_dequantize(t);  // dequantized bit-exactly
        case dtype::f16: return t == ggml_type::f16;
        case dtype::bf16: return t == ggml_type::bf16;
        default: return false;
    }
}

// The smallest engine weight dtype that holds type t exactly (f32 when only dequantizing does).
inline dtype smallest_exact_engine_type(ggml_type t) {
    switch (t) {
        case ggml_type::q4_0: return dtype::q4;
        case ggml_type::q8_0:
        case ggml_type::q5_0:
        case ggml_type::iq4_nl: return dtype::q8;
        case ggml_type::f16: return dtype::f16;
        case ggml_type::bf16: return dtype::bf16;
        default: return dtype::f32;
    }
}

// ---- block repacking (row-major, nb blocks of 32 values) --------------------------------------

// Q4_0 -> engine q4: the same bytes.
inline void repack_q4_0_to_q4(const void* src, block_q4* dst, std::int64_t nb) {
    std::memcpy(dst, src, std::size_t(nb) * sizeof(block_q4));
}

// Q8_0 / Q4_0 / Q5_0 / IQ4_NL -> engine q8: d kept, codes written as the int8 values they stand
// for. False (nothing written) for other types.
inline bool repack_to_q8(ggml_type t, const void* src, block_q8* dst, std::int64_t nb) {
    switch (t) {
        case ggml_type::q8_0: std::memcpy(dst, src, std::size_t(nb) * sizeof(block_q8)); return true;
        case ggml_type::q4_0:
            for (std::int64_t i = 0; i < nb; ++i) {
                const auto b = ggml::detail::load_block<ggml::block_q4_0>(src, i);
                dst[i].d = b.d;
                for (int j = 0; j < 16; ++j) {
                    dst[i].qs[j] = std::int8_t((b.qs[j] & 0x0f) - 8);
                    dst[i].qs[j + 16] = std::int8_t((b.qs[j] >> 4) - 8);
                }
            }
            return true;
        case ggml_type::q5_0:
            for (std::int64_t i = 0; i < nb; ++i) {
                const auto b = ggml::detail::load_block<ggml::block_q5_0>(src, i);
                const std::uint32_t qh = std::uint32_t(b.qh[0]) | (std::uint32_t(b.qh[1]) << 8) |
                                         (std::uint32_t(b.qh[2]) << 16) | (std::uint32_t(b.qh[3]) << 24);
                dst[i].d = b.d;
                for (int j = 0; j < 16; ++j) {
                    dst[i].qs[j] = std::int8_t(((b.qs[j] & 0x0f) | (((qh >> j) & 1u) << 4)) - 16);
                    dst[i].qs[j + 16] = std::int8_t(((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4)) - 16);
                }
            }
            return true;
        case ggml_type::iq4_nl:
            for (std::int64_t i = 0; i < nb; ++i) {
                const auto b = ggml::detail::load_block<ggml::block_iq4_nl>(src, i);
                dst[i].d = b.d;
                for (int j = 0; j < 16; ++j) {
                    dst[i].qs[j] = ggml::k_iq4nl_values[b.qs[j] & 0x0f];
                    dst[i].qs[j + 16] = ggml::k_iq4nl_values[b.qs[j] >> 4];
                }
            }
            return true;
        default: return false;
    }
}

// ---- whole matrices -------------------------------------------------------------------------

// Q4_1 -> engine q4 codes + d (the same nibble layout as Q4_0); its offsets m + 8d go to off[nb].
inline void repack_q4_1_to_q4(const void* src, block_q4* dst, float* off, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i) {
        const auto b = ggml::detail::load_block<ggml::block_q4_1>(src, i);
        dst[i].d = b.d;
        std::memcpy(dst[i].qs, b.qs, 16);
        off[i] = f16_to_f32(b.m) + 8.0f * f16_to_f32(b.d);
    }
}
// Q5_1 -> engine q8 codes 0..31 + d; offsets m.
inline void repack_q5_1_to_q8(const void* src, block_q8* dst, float* off, std::int64_t nb) {
    for (std::int64_t i = 0; i < nb; ++i) {
        const auto b = ggml::detail::load_block<ggml::block_q5_1>(src, i);
        const std::uint32_t qh = std::uint32_t(b.qh[0]) | (std::uint32_t(b.qh[1]) << 8) | (std::uint32_t(b.qh[2]) << 16) |
                                 (std::uint32_t(b.qh[3]) << 24);
        dst[i].d = b.d;
        for (int j = 0; j < 16; ++j) {
            dst[i].qs[j] = std::int8_t((b.qs[j] & 0x0f) | (((qh >> j) & 1u) << 4));
            dst[i].qs[j + 16] = std::int8_t((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1u) << 4));
        }
        off[i] = f16_to_f32(b.m);
    }
}

// Does (t -> target) keep the values with group offsets (Q4_1 -> q4, Q5_1 -> q8)?
inline bool repacks_with_offsets(ggml_type t, dtype target) {
    return (t == ggml_type::q4_1 && target == dtype::q4) || (t == ggml_type::q5_1 && target == dtype::q8);
}

inline result<packed_weight> pack_ggml_weight(const void* src, ggml_type t, std::int64_t rows, std::int64_t cols,
                                              dtype target, thread_pool* pool = nullptr,
                                              const kernel_table* kt = nullptr) {
    const ggml_type_traits tr = ggml_traits(t);
    if (!src) return status(errc::invalid_argument, "pack_ggml_weight: null source");
    if (!ggml::can_dequantize(t))
        return status::fmt(errc::unsupported, "pack_ggml_weight: ggml type %s cannot be decoded", ggml_type_name(t));
    if (rows <= 0 || cols <= 0 || rows > (std::int64_t(1) << 31) || cols > (std::int64_t(1) << 31) ||
        rows * cols > (std::int64_t(1) << 40) || cols % std::int64_t(tr.block_size) != 0)
        return status::fmt(errc::bad_shape, "pack_ggml_weight: bad shape [%lld, %lld] for %s", (long long)rows,
                           (long long)cols, tr.name);
    const auto* s = static_cast<const unsigned char*>(src);
    const std::size_t src_row = std::size_t(cols) / tr.block_size * tr.block_bytes;
    const ggml::dequantize_fn deq = ggml::dequantizer(t);

    if (detail::is_dense(target)) {
        dtype same = dtype::f32;
        const bool aligned = reinterpret_cast<std::uintptr_t>(src) % dtype_size(target) == 0;
        if (ggml_type_to_dtype(t, same) && same == target && aligned) {  // zero-copy view (else copied below)
            packed_weight p;
            p.matrix_mut() = weight_matrix{target, src, nullptr, rows, cols};
            return p;
        }
        packed_weight p;
        SMOLVLM_ASSIGN_OR_RETURN(p, packed_weight::allocate(std::size_t(rows * cols) * dtype_size(target)));
        unsigned char* out = static_cast<unsigned char*>(p.buffer());
        std::atomic<bool> oom{false};
        parallel_for(pool, rows, [&](std::int64_t r0, std::int64_t r1, int) {
            float* tmp = target == dtype::f32 ? nullptr
                                              : static_cast<float*>(SMOLVLM_MALLOC(std::size_t(cols) * 4, k_alignment));
            if (target != dtype::f32 && !tmp) {
                oom = true;
                return;
            }
            for (std::int64_t r = r0; r < r1; ++r) {
                const unsigned char* in = s + std::size_t(r) * src_row;
                if (target == dtype::f32) {
                    deq(in, reinterpret_cast<float*>(out) + r * cols, cols);
                    continue;
                }
                deq(in, tmp, cols);
                auto* o = reinterpret_cast<std::uint16_t*>(out) + r * cols;
                for (std::int64_t c = 0; c < cols; ++c)
                    o[c] = target == dtype::bf16 ? f32_to_bf16(tmp[c]) : f32_to_f16(tmp[c]);
            }
            if (tmp) SMOLVLM_FREE(tmp);
        });
        if (oom) return status(errc::no_memory, "pack_ggml_weight: cannot allocate a row buffer");
        p.matrix_mut() = weight_matrix{target, p.buffer(), nullptr, rows, cols};
        return p;
    }

    if (target != dtype::q8 && target != dtype::q4)
        return status::fmt(errc::unsupported, "pack_ggml_weight: target dtype %s (want F32, BF16, F16, Q8 or Q4)",
                           dtype_name(target));
    if (cols % k_group != 0)
        return status::fmt(errc::bad_shape, "pack_ggml_weight: %s needs cols %% 32 == 0, got %lld", dtype_name(target),
                           (long long)cols);
    const bool q8 = target == dtype::q8;
    const bool offsets = repacks_with_offsets(t, target);
    const bool exact = engine_holds_exactly(t, target) || offsets;
    const std::int64_t nb = cols / k_group;
    const std::size_t qbytes = q8 ? panel_q8_bytes(rows, cols) : panel_q4_bytes(rows, cols);
    const std::size_t dcount = panel_scale_count(rows, cols);
    const std::size_t obytes = offsets ? std::size_t(rows * nb) * 4 : 0;
    const std::size_t obegin = (qbytes + dcount * 2 + 63) / 64 * 64;
    packed_weight p;
    SMOLVLM_ASSIGN_OR_RETURN(p, packed_weight::allocate(obegin + obytes));
    auto* q = static_cast<std::uint8_t*>(p.buffer());
    auto* d = reinterpret_cast<std::uint16_t*>(q + qbytes);
    float* off = offsets ? reinterpret_cast<float*>(q + obegin) : nullptr;
    std::memset(p.buffer(), 0, qbytes + dcount * 2);  // padded panel rows: scale 0
    const q4_row_fn q4f = kt ? kt->q4_row : &quantize_row_q4;  // (SIMD twins give the same bytes faster)
    const q8_row_fn q8f = kt ? kt->q8_row : &quantize_row_q8;
    const std::size_t panel_bytes = std::size_t(nb) * (q8 ? 512 : 256);
    std::atomic<bool> oom{false};
    parallel_for(pool, panel_count(rows), [&](std::int64_t p0, std::int64_t p1, int) {
        // One row of engine blocks, plus an f32 row when requantizing.
        const std::size_t blocks_bytes = std::size_t(nb) * (q8 ? sizeof(block_q8) : sizeof(block_q4));
        auto* buf = static_cast<unsigned char*>(
            SMOLVLM_MALLOC(blocks_bytes + (exact ? 0 : std::size_t(cols) * 4), k_alignment));
        if (!buf) {
            oom = true;
            return;
        }
        auto* f = reinterpret_cast<float*>(buf + blocks_bytes);
        for (std::int64_t pi = p0; pi < p1; ++pi) {
            std::uint8_t* pq = q + std::size_t(pi) * panel_bytes;
            std::uint16_t* pd = d + std::size_t(pi) * std::size_t(nb) * k_panel;
            for (int r = 0; r < k_panel && pi * k_panel + r < rows; ++r) {
                const unsigned char* in = s + std::size_t(pi * k_panel + r) * src_row;
                const std::int64_t rr = pi * k_panel + r;
                if (q8) {
                    auto* row = reinterpret_cast<block_q8*>(buf);
                    if (offsets) {
                        repack_q5_1_to_q8(in, row, off + rr * nb, nb);
                    } else if (exact) {
                        repack_to_q8(t, in, row, nb);
                    } else {
                        deq(in, f, cols);
                        q8f(f, row, cols);
                    }
                    put_panel_row_q8(row, nb, r, pq, pd);
                } else {
                    auto* row = reinterpret_cast<block_q4*>(buf);
                    if (offsets) {
                        repack_q4_1_to_q4(in, row, off + rr * nb, nb);
                    } else if (exact) {
                        repack_q4_0_to_q4(in, row, nb);
                    } else {
                        deq(in, f, cols);
                        q4f(f, row, cols);
                    }
                    put_panel_row_q4(row, nb, r, pq, pd);
                }
            }
        }
        SMOLVLM_FREE(buf);
    });
    if (oom) return status(errc::no_memory, "pack_ggml_weight: cannot allocate a row buffer");
    p.matrix_mut() = weight_matrix{target, q, d, rows, cols};
    p.matrix_mut().group_offsets = off;
    return p;
}

}  // namespace smolvlm::kernels
