// kernels/ggml_repack.hpp: ggml blocks into the engine's q4 / q8 panels and dense weights.
// "Exact" means: the value the engine's weight holds (panel scale x code) has the same f32 bits
// as ggml's dequantized value, for every element.
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/kernels/ggml_repack.hpp>
#include <smolvlm/core/cpu.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_kernels_ggml_repack_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using namespace smolvlm::kernels;
namespace gg = smolvlm::kernels::ggml;

namespace {

// Random blocks of type t (rows x cols values) with sane f16 scales at the given offsets.
std::vector<std::uint8_t> random_matrix(std::mt19937& rng, ggml_type t, std::int64_t rows, std::int64_t cols) {
    const ggml_type_traits tr = ggml_traits(t);
    const std::size_t nblocks = std::size_t(rows * cols / tr.block_size);
    std::vector<std::uint8_t> b(nblocks * tr.block_bytes);
    for (auto& v : b) v = std::uint8_t(rng());
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (std::size_t i = 0; i < nblocks; ++i) {  // every format here starts with its f16 d
        const std::uint16_t d = f32_to_f16(u(rng) / 32.0f);
        b[i * tr.block_bytes] = std::uint8_t(d);
        b[i * tr.block_bytes + 1] = std::uint8_t(d >> 8);
    }
    return b;
}

// Value (row, col) of a q4 / q8 panel weight, as the engine's dequantize_row_q4 / _q8 computes it.
float panel_value(const weight_matrix& w, std::int64_t r, std::int64_t c) {
    const std::int64_t nb = w.cols / k_group;
    const float d = panel_scale(static_cast<const std::uint16_t*>(w.scales), nb, r, c);
    const auto* q = static_cast<const std::uint8_t*>(w.data);
    return w.type == dtype::q4 ? d * float(panel_q4_code(q, nb, r, c) - 8) : d * float(panel_q8_value(q, nb, r, c));
}

// Elements where the packed weight differs from ggml's dequantization of src (bitwise).
std::int64_t count_inexact(const weight_matrix& w, ggml_type t, const void* src) {
    std::vector<float> ref(std::size_t(w.rows * w.cols));
    REQUIRE(gg::dequantize_row(t, src, ref.data(), w.rows * w.cols).is_ok());
    std::int64_t bad = 0;
    for (std::int64_t r = 0; r < w.rows; ++r)
        for (std::int64_t c = 0; c < w.cols; ++c) {
            const float v = panel_value(w, r, c), e = ref[std::size_t(r * w.cols + c)];
            if (std::memcmp(&v, &e, 4) != 0) ++bad;
        }
    return bad;
}

}  // namespace

TEST_CASE("ggml repack: block level, engine dequantizers give ggml's values bit for bit", "[kernels][ggml][repack]") {
    std::mt19937 rng(5);
    const std::int64_t nb = 40;
    std::vector<float> want(std::size_t(nb * 32)), got(std::size_t(nb * 32));
    // Q4_0 -> q4 (a copy)
    {
        auto src = random_matrix(rng, ggml_type::q4_0, 1, nb * 32);
        std::vector<block_q4> q4(static_cast<std::size_t>(nb));
        repack_q4_0_to_q4(src.data(), q4.data(), nb);
        CHECK(std::memcmp(q4.data(), src.data(), src.size()) == 0);
        gg::dequantize_row_q4_0(src.data(), want.data(), nb * 32);
        dequantize_row_q4(q4.data(), got.data(), nb * 32);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * 4) == 0);
    }
    // -> q8
    for (ggml_type t : {ggml_type::q8_0, ggml_type::q4_0, ggml_type::q5_0, ggml_type::iq4_nl}) {
        INFO(ggml_type_name(t));
        auto src = random_matrix(rng, t, 1, nb * 32);
        if (t == ggml_type::q8_0) src[2] = 0x80;  // a -128 code
        std::vector<block_q8> q8(static_cast<std::size_t>(nb));
        REQUIRE(repack_to_q8(t, src.data(), q8.data(), nb));
        REQUIRE(gg::dequantize_row(t, src.data(), want.data(), nb * 32).is_ok());
        dequantize_row_q8(q8.data(), got.data(), nb * 32);
        CHECK(std::memcmp(want.data(), got.data(), want.size() * 4) == 0);
        CHECK(engine_holds_exactly(t, dtype::q8));
    }
    std::vector<block_q8> q8(1);
    CHECK_FALSE(repack_to_q8(ggml_type::q4_1, want.data(), q8.data(), 1));
    CHECK(smallest_exact_engine_type(ggml_type::q4_0) == dtype::q4);
    CHECK(smallest_exact_engine_type(ggml_type::iq4_nl) == dtype::q8);
    CHECK(smallest_exact_engine_type(ggml_type::q4_k) == dtype::f32);
    CHECK(smallest_exact_engine_type(ggml_type::bf16) == dtype::bf16);
    CHECK_FALSE(engine_holds_exactly(ggml_type::q4_1, dtype::q8));
    CHECK_FALSE(engine_holds_exactly(ggml_type::q8_0, dtype::q4));
    CHECK_FALSE(engine_holds_exactly(ggml_type::q6_k, dtype::q8));
}

TEST_CASE("ggml repack: pack_ggml_weight panels are exact where the engine format holds the type",
          "[kernels][ggml][repack]") {
    std::mt19937 rng(6);
    const std::int64_t rows = 37, cols = 256;  // a partial last panel
    struct c {
        ggml_type t;
        dtype target;
    };
    for (c k : {c{ggml_type::q4_0, dtype::q4}, c{ggml_type::q4_0, dtype::q8}, c{ggml_type::q8_0, dtype::q8},
                c{ggml_type::q5_0, dtype::q8}, c{ggml_type::iq4_nl, dtype::q8}}) {
        INFO(ggml_type_name(k.t) << " -> " << dtype_name(k.target));
        const auto src = random_matrix(rng, k.t, rows, cols);
        auto p = pack_ggml_weight(src.data(), k.t, rows, cols, k.target);
        REQUIRE(p.is_ok());
        CHECK(p->matrix().type == k.target);
        CHECK(count_inexact(p->matrix(), k.t, src.data()) == 0);
        // Padded panel rows read zero.
        const std::int64_t nb = cols / k_group;
        CHECK(panel_scale(static_cast<const std::uint16_t*>(p->matrix().scales), nb, 47, 0) == 0.0f);
    }
    // Not exact: requantized by the engine, close to the dequantized values.
    for (ggml_type t : {ggml_type::q4_k, ggml_type::q6_k, ggml_type::q4_1}) {
        INFO(ggml_type_name(t));
        auto src = random_matrix(rng, t, rows, cols);
        if (t == ggml_type::q4_k) {  // sane dmin too (offset 2 of each 144-byte block)
            for (std::size_t i = 0; i < src.size(); i += 144) src[i + 2] = 0, src[i + 3] = 0x10;
        }
        if (t == ggml_type::q4_1)
            for (std::size_t i = 0; i < src.size(); i += 20) src[i + 2] = 0, src[i + 3] = 0x10;
        if (t == ggml_type::q6_k)  // d is the last field of a Q6_K block
            for (std::size_t i = 0; i < src.size(); i += 210) src[i + 208] = 0, src[i + 209] = 0x10;
        auto p = pack_ggml_weight(src.data(), t, rows, cols, dtype::q8);
        REQUIRE(p.is_ok());
        std::vector<float> ref(std::size_t(rows * cols));
        REQUIRE(gg::dequantize_row(t, src.data(), ref.data(), rows * cols).is_ok());
        double err = 0, rms = 0;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t cc = 0; cc < cols; ++cc) {
                const double e = ref[std::size_t(r * cols + cc)];
                err += (panel_value(p->matrix(), r, cc) - e) * (panel_value(p->matrix(), r, cc) - e);
                rms += e * e;
            }
        CHECK(std::sqrt(err / rms) < 0.02);  // q8: ~1% of the RMS
    }
}

TEST_CASE("ggml repack: dense targets", "[kernels][ggml][repack]") {
    std::mt19937 rng(7);
    const std::int64_t rows = 5, cols = 256;
    std::vector<std::uint16_t> f16(std::size_t(rows * cols));
    for (auto& v : f16) v = f32_to_f16(float(int(rng() % 2001) - 1000) / 512.0f);
    auto v = pack_ggml_weight(f16.data(), ggml_type::f16, rows, cols, dtype::f16);
    REQUIRE(v.is_ok());
    CHECK(v->matrix().data == f16.data());  // a view
    CHECK_FALSE(v->owns_memory());
    // A misaligned f16 source is copied, not viewed (the kernels load whole elements).
    std::vector<std::uint8_t> shifted(f16.size() * 2 + 1);
    std::memcpy(shifted.data() + 1, f16.data(), f16.size() * 2);
    auto c = pack_ggml_weight(shifted.data() + 1, ggml_type::f16, rows, cols, dtype::f16);
    REQUIRE(c.is_ok());
    CHECK(c->owns_memory());
    CHECK(std::memcmp(c->matrix().data, f16.data(), f16.size() * 2) == 0);
    // Q6_K -> f32: the dequantized values, bit for bit; -> bf16: their rounding.
    auto src = random_matrix(rng, ggml_type::q6_k, rows, cols);
    for (std::size_t i = 0; i < src.size(); i += 210) src[i + 208] = 0, src[i + 209] = 0x10;
    std::vector<float> ref(std::size_t(rows * cols));
    REQUIRE(gg::dequantize_row(ggml_type::q6_k, src.data(), ref.data(), rows * cols).is_ok());
    auto f = pack_ggml_weight(src.data(), ggml_type::q6_k, rows, cols, dtype::f32);
    REQUIRE(f.is_ok());
    CHECK(std::memcmp(f->matrix().data, ref.data(), ref.size() * 4) == 0);
    auto b = pack_ggml_weight(src.data(), ggml_type::q6_k, rows, cols, dtype::bf16);
    REQUIRE(b.is_ok());
    const auto* bb = static_cast<const std::uint16_t*>(b->matrix().data);
    int bad = 0;
    for (std::size_t i = 0; i < ref.size(); ++i) bad += bb[i] != f32_to_bf16(ref[i]);
    CHECK(bad == 0);
    // Errors.
    CHECK(pack_ggml_weight(src.data(), ggml_type::q6_k, rows, 100, dtype::f32).error().code() == errc::bad_shape);
    CHECK(pack_ggml_weight(src.data(), ggml_type::iq2_xs, rows, cols, dtype::f32).error().code() == errc::unsupported);
    CHECK(pack_ggml_weight(nullptr, ggml_type::f32, rows, cols, dtype::f32).error().code() == errc::invalid_argument);
    CHECK(pack_ggml_weight(src.data(), ggml_type::q6_k, rows, cols, dtype::i8).error().code() == errc::unsupported);
}

TEST_CASE("ggml repack: Q8_0 with -128 codes through the host's int8 GEMM", "[kernels][ggml][repack]") {
    // ggml's quantizer never writes -128, but a Q8_0 file may hold it; the engine's kernels read
    // q8 codes with sign tricks (|w| as u8) that must cover it. Host ISA vs the scalar reference
    // (the same integer arithmetic) on a weight full of -128 and 127.
    std::mt19937 rng(8);
    const std::int64_t rows = 35, cols = 128, n = 6;
    auto src = random_matrix(rng, ggml_type::q8_0, rows, cols);
    for (std::size_t i = 0; i < src.size(); i += 34)
        for (int j = 2; j < 34; j += 3) src[i + std::size_t(j)] = (j % 2) ? 0x80 : 0x7f;
    auto p = pack_ggml_weight(src.data(), ggml_type::q8_0, rows, cols, dtype::q8);
    REQUIRE(p.is_ok());
    std::vector<float> x(std::size_t(n * cols));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    std::vector<float> y_ref(std::size_t(n * rows)), y_host(std::size_t(n * rows)), y_f32(std::size_t(n * rows));
    scalar::matmul(p->matrix(), x.data(), n, y_ref.data(), nullptr, nullptr);
    const kernel_table k = select_kernels(detect_cpu());
    INFO("host kernels: " << isa_name(k.chosen));
    k.matmul(p->matrix(), x.data(), n, y_host.data(), nullptr, nullptr);
    // And the f32 product with the dequantized weight (only activation quantization differs).
    std::vector<float> w(std::size_t(rows * cols));
    REQUIRE(gg::dequantize_row(ggml_type::q8_0, src.data(), w.data(), rows * cols).is_ok());
    scalar::matmul(weight_matrix{dtype::f32, w.data(), nullptr, rows, cols}, x.data(), n, y_f32.data(), nullptr, nullptr);
    int bad_host = 0, bad_f32 = 0;
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::size_t i = std::size_t(t * rows + r);
            double ww = 0, xx = 0;  // the activations' int8 rounding error is bounded by |w| |x| / 127
            for (std::int64_t c = 0; c < cols; ++c) {
                ww += double(w[std::size_t(r * cols + c)]) * w[std::size_t(r * cols + c)];
                xx += double(x[std::size_t(t * cols + c)]) * x[std::size_t(t * cols + c)];
            }
            bad_host += !(std::fabs(y_host[i] - y_ref[i]) <= 1e-4f * (1.0f + std::fabs(y_ref[i])));
            bad_f32 += !(std::fabs(y_ref[i] - y_f32[i]) <= std::sqrt(ww * xx) / 127.0);
        }
    CHECK(bad_host == 0);
    CHECK(bad_f32 == 0);
}

TEST_CASE("ggml repack: engine q4 / q8 blocks written as Q4_0 / Q8_0 read back exactly", "[kernels][ggml][repack]") {
    std::mt19937 rng(9);
    const std::int64_t rows = 3, cols = 64;
    std::vector<float> x(std::size_t(rows * cols));
    std::normal_distribution<float> nd(0.0f, 0.1f);
    for (auto& v : x) v = nd(rng);
    std::vector<block_q4> q4(std::size_t(rows * cols / 32));
    std::vector<block_q8> q8(q4.size());
    quantize_row_q4(x.data(), q4.data(), rows * cols);  // the engine's searched-scale quantizer
    quantize_row_q8(x.data(), q8.data(), rows * cols);
    gguf_writer wr;
    REQUIRE(wr.add_tensor("w4", ggml_type::q4_0, {rows, cols}, q4.data(), q4.size() * sizeof(block_q4)).is_ok());
    REQUIRE(wr.add_tensor("w8", ggml_type::q8_0, {rows, cols}, q8.data(), q8.size() * sizeof(block_q8)).is_ok());
    const auto bytes = wr.serialize();
    auto f = gguf_file::from_memory(bytes.data(), bytes.size());
    REQUIRE(f.is_ok());
    std::vector<float> a(x.size()), b(x.size());
    REQUIRE(gg::dequantize_row(ggml_type::q4_0, f->find("w4")->data, a.data(), rows * cols).is_ok());
    dequantize_row_q4(q4.data(), b.data(), rows * cols);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    REQUIRE(gg::dequantize_row(ggml_type::q8_0, f->find("w8")->data, a.data(), rows * cols).is_ok());
    dequantize_row_q8(q8.data(), b.data(), rows * cols);
    CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

TEST_CASE("ggml repack: every fixture Q4_0 / Q8_0 / Q5_0 / IQ4_NL weight packs exactly", "[kernels][ggml][repack][shared]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/gguf/quant_types";
    SMOLVLM_REQUIRE_SHARED(dir + "/Q4_0.gguf");
    struct c {
        const char* file;
        dtype target;
    };
    for (c k : {c{"Q4_0", dtype::q4}, c{"Q4_0", dtype::q8}, c{"Q8_0", dtype::q8}, c{"Q5_0", dtype::q8},
                c{"IQ4_NL", dtype::q8}}) {
        INFO(k.file << " -> " << dtype_name(k.target));
        auto f = gguf_file::open((dir + "/" + k.file + ".gguf").c_str());
        REQUIRE(f.is_ok());
        int packed = 0;
        for (const gguf_tensor& t : f->tensors()) {
            if (t.n_dims != 2) continue;
            INFO(std::string(t.name));
            REQUIRE(engine_holds_exactly(t.type, k.target));
            auto p = pack_ggml_weight(t.data, t.type, t.n_rows(), t.row_length(), k.target);
            REQUIRE(p.is_ok());
            CHECK(count_inexact(p->matrix(), t.type, t.data) == 0);
            ++packed;
        }
        CHECK(packed == 9);
    }
}

TEST_CASE("ggml repack: Q4_1 -> q4 and Q5_1 -> q8 with group offsets hold the values", "[kernels][ggml][repack]") {
    std::mt19937 rng(11);
    const std::int64_t rows = 37, cols = 256;
    for (auto k : {std::make_pair(ggml_type::q4_1, dtype::q4), std::make_pair(ggml_type::q5_1, dtype::q8)}) {
        INFO(ggml_type_name(k.first) << " -> " << dtype_name(k.second));
        auto src = random_matrix(rng, k.first, rows, cols);
        const std::size_t bb = ggml_traits(k.first).block_bytes;
        std::uniform_real_distribution<float> u(-1.0f, 1.0f);
        for (std::size_t i = 0; i < src.size(); i += bb) {  // sane f16 minimum m (bytes 2..3)
            const std::uint16_t m = f32_to_f16(u(rng) / 4.0f);
            src[i + 2] = std::uint8_t(m);
            src[i + 3] = std::uint8_t(m >> 8);
        }
        REQUIRE(repacks_with_offsets(k.first, k.second));
        auto p = pack_ggml_weight(src.data(), k.first, rows, cols, k.second);
        REQUIRE(p.is_ok());
        const weight_matrix& w = p->matrix();
        REQUIRE(w.group_offsets);
        std::vector<float> ref(std::size_t(rows * cols));
        REQUIRE(gg::dequantize_row(k.first, src.data(), ref.data(), rows * cols).is_ok());
        const std::int64_t nb = cols / k_group;
        std::int64_t bad = 0;
        double maxe = 0;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c) {
                const float v = panel_value(w, r, c) + w.group_offsets[r * nb + c / k_group];
                const float e = ref[std::size_t(r * cols + c)];
                bad += v != e;
                maxe = std::max(maxe, double(std::fabs(v - e)));
            }
        // Q5_1: d * q + m exactly; Q4_1: d * (q - 8) + (m + 8d), equal up to f32 rounding.
        CHECK(maxe <= 1e-6);
        if (k.first == ggml_type::q5_1) CHECK(bad == 0);
        // The matmul: q kernels + offsets vs f32 on ggml's values (only the int8 activations differ).
        std::normal_distribution<float> nd;
        std::vector<float> x(std::size_t(3 * cols)), y(std::size_t(3 * rows)), yr(std::size_t(3 * rows));
        for (auto& v : x) v = nd(rng);
        const kernel_table kt = select_kernels(detect_cpu());
        kt.matmul(w, x.data(), 3, y.data(), nullptr, nullptr);
        add_group_offsets(w, x.data(), 3, y.data(), nullptr);
        scalar::matmul(weight_matrix{dtype::f32, ref.data(), nullptr, rows, cols}, x.data(), 3, yr.data(), nullptr, nullptr);
        double e2 = 0, n2 = 0;
        for (std::size_t i = 0; i < y.size(); ++i) {
            e2 += (y[i] - yr[i]) * (y[i] - yr[i]);
            n2 += yr[i] * yr[i];
        }
        CHECK(std::sqrt(e2 / n2) < 0.02);
    }
}

}  // namespace smolvlm_test_kernels_ggml_repack_cases
