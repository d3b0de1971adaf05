// kernels/ggml_blocks.hpp: ggml's block formats.
//   - without fixtures: every field of every block format decoded by a second, element-by-element
//     reading of the layout prose (not the loops of the header), sizes, errors, quantizers;
//   - with fixtures (shared/fixtures/gguf/quant_types): every tensor of every type dequantizes
//     bit-exactly to ggml's values: the stored rows of <T>.dequant.safetensors byte for byte,
//     and the SHA-256 of the whole tensor that <T>.golden.json gives; ggml's reference
//     quantizers reproduce Q8_0.gguf and Q4_0.gguf from f32.gguf byte for byte.
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/kernels/ggml_blocks.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../sha256.hpp"
#include "../test_util.hpp"

namespace smolvlm_test_kernels_ggml_blocks_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
namespace gg = smolvlm::kernels::ggml;

namespace {

// Random bytes for a block, with its f16 scales replaced by finite values of moderate size
// (random bits would give inf / NaN, which compare badly).
std::vector<std::uint8_t> random_blocks(std::mt19937& rng, std::size_t nbytes) {
    std::vector<std::uint8_t> b(nbytes);
    for (auto& v : b) v = std::uint8_t(rng());
    return b;
}
std::uint16_t random_scale(std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-2.0f, 2.0f);
    return f32_to_f16(u(rng) / 64.0f);
}
void set_u16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
    b[at] = std::uint8_t(v);
    b[at + 1] = std::uint8_t(v >> 8);
}
float h(const std::uint8_t* p) { return f16_to_f32(std::uint16_t(p[0] | (p[1] << 8))); }

// ---- a second reading of each layout: value v of a block, straight from the prose ----------
// (Same float operation order as ggml, which the prose states, so results compare with ==.)

float ref_q4_0(const std::uint8_t* b, int v) {
    const int q = v < 16 ? (b[2 + v] & 15) : (b[2 + v - 16] >> 4);
    return float(q - 8) * h(b);
}
float ref_q4_1(const std::uint8_t* b, int v) {
    const int q = v < 16 ? (b[4 + v] & 15) : (b[4 + v - 16] >> 4);
    const float p = float(q) * h(b);
    return p + h(b + 2);
}
int q5_code(const std::uint8_t* qh, const std::uint8_t* qs, int v) {
    const int lo = v < 16 ? (qs[v] & 15) : (qs[v - 16] >> 4);
    const int hi = (qh[v / 8] >> (v % 8)) & 1;
    return lo | (hi << 4);
}
float ref_q5_0(const std::uint8_t* b, int v) { return float(q5_code(b + 2, b + 6, v) - 16) * h(b); }
float ref_q5_1(const std::uint8_t* b, int v) {
    const float p = float(q5_code(b + 4, b + 8, v)) * h(b);
    return p + h(b + 2);
}
float ref_q8_0(const std::uint8_t* b, int v) { return float(std::int8_t(b[2 + v])) * h(b); }
float ref_iq4_nl(const std::uint8_t* b, int v) {
    static const int levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    const int q = v < 16 ? (b[2 + v] & 15) : (b[2 + v - 16] >> 4);
    return h(b) * float(levels[q]);
}
// K-quants: value v of a 256 super-block.
int two_bit_code(const std::uint8_t* qs, int v) {  // Q2_K / Q3_K low bits
    const int run = v / 128, w = v % 128, slice = w / 32, l = w % 32;
    return (qs[32 * run + l] >> (2 * slice)) & 3;
}
float ref_q2_k(const std::uint8_t* b, int v) {
    const std::uint8_t sc = b[v / 16];
    const float dl = h(b + 80) * float(sc & 15), ml = h(b + 82) * float(sc >> 4);
    const float p = dl * float(two_bit_code(b + 16, v));
    return p - ml;
}
float ref_q3_k(const std::uint8_t* b, int v) {
    const std::uint8_t* hmask = b;
    const std::uint8_t* scales = b + 96;
    const int i = v / 16;  // 6-bit scale i
    const int lo = i < 8 ? (scales[i] & 15) : (scales[i - 8] >> 4);
    const int hi = (scales[8 + i % 4] >> (2 * (i / 4))) & 3;
    const int s = (lo | (hi << 4)) - 32;
    const int hbit = (hmask[v % 32] >> (v / 32)) & 1;
    const int q = two_bit_code(b + 32, v) - (hbit ? 0 : 4);
    return (h(b + 108) * float(s)) * float(q);
}
void k4_pair(const std::uint8_t* s, int j, int& sc, int& m) {  // spelled out per sub-block
    switch (j) {
        case 0: case 1: case 2: case 3: sc = s[j] & 63; m = s[j + 4] & 63; break;
        default:
            sc = (s[j + 4] & 15) + 16 * (s[j - 4] >> 6);
            m = (s[j + 4] >> 4) + 16 * (s[j] >> 6);
    }
}
float ref_q4_k(const std::uint8_t* b, int v) {
    const int j = v / 32, run = v / 64, l = v % 32;
    int sc, m;
    k4_pair(b + 4, j, sc, m);
    const std::uint8_t byte = b[16 + 32 * run + l];
    const int q = (v % 64) < 32 ? (byte & 15) : (byte >> 4);
    const float p = (h(b) * float(sc)) * float(q);
    return p - h(b + 2) * float(m);
}
float ref_q5_k(const std::uint8_t* b, int v) {
    const int j = v / 32, run = v / 64, l = v % 32;
    int sc, m;
    k4_pair(b + 4, j, sc, m);
    const std::uint8_t byte = b[48 + 32 * run + l];
    const int lo = (v % 64) < 32 ? (byte & 15) : (byte >> 4);
    const int hb = (b[16 + l] >> j) & 1;  // sub-block j's bit in qh[l]
    const float p = (h(b) * float(sc)) * float(lo + 16 * hb);
    return p - h(b + 2) * float(m);
}
float ref_q6_k(const std::uint8_t* b, int v) {
    const std::uint8_t* ql = b;
    const std::uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const std::int8_t*>(b + 192);
    const int run = v / 128, w = v % 128, quarter = w / 32, l = w % 32;
    const std::uint8_t lbyte = ql[64 * run + l + (quarter & 1 ? 32 : 0)];
    const int lo = quarter < 2 ? (lbyte & 15) : (lbyte >> 4);
    const int hi = (qh[32 * run + l] >> (2 * quarter)) & 3;
    const int q = (lo | (hi << 4)) - 32;
    return h(b + 208) * float(sc[8 * run + w / 16]) * float(q);
}

struct layout_case {
    ggml_type type;
    float (*ref)(const std::uint8_t*, int);
    std::vector<std::size_t> scale_at;  // byte offsets of the f16 fields
};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

}  // namespace

TEST_CASE("ggml block layouts: every value of random blocks, decoded two ways", "[kernels][ggml]") {
    const layout_case cases[] = {
        {ggml_type::q4_0, ref_q4_0, {0}},          {ggml_type::q4_1, ref_q4_1, {0, 2}},
        {ggml_type::q5_0, ref_q5_0, {0}},          {ggml_type::q5_1, ref_q5_1, {0, 2}},
        {ggml_type::q8_0, ref_q8_0, {0}},          {ggml_type::iq4_nl, ref_iq4_nl, {0}},
        {ggml_type::q2_k, ref_q2_k, {80, 82}},     {ggml_type::q3_k, ref_q3_k, {108}},
        {ggml_type::q4_k, ref_q4_k, {0, 2}},       {ggml_type::q5_k, ref_q5_k, {0, 2}},
        {ggml_type::q6_k, ref_q6_k, {208}},
    };
    std::mt19937 rng(1234);
    for (const auto& c : cases) {
        const ggml_type_traits tr = ggml_traits(c.type);
        INFO(tr.name);
        const int blocks = 7;
        std::vector<std::uint8_t> b = random_blocks(rng, std::size_t(blocks) * tr.block_bytes);
        for (int i = 0; i < blocks; ++i)
            for (std::size_t at : c.scale_at) set_u16(b, std::size_t(i) * tr.block_bytes + at, random_scale(rng));
        const std::int64_t n = std::int64_t(blocks) * tr.block_size;
        std::vector<float> y(std::size_t(n), -1.0f);
        REQUIRE(gg::dequantize_row(c.type, b.data(), y.data(), n).is_ok());
        int bad = 0;
        for (int i = 0; i < blocks; ++i)
            for (std::uint32_t v = 0; v < tr.block_size; ++v) {
                const float want = c.ref(b.data() + std::size_t(i) * tr.block_bytes, int(v));
                if (!same_bits(y[std::size_t(i) * tr.block_size + v], want) && bad++ < 3)
                    UNSCOPED_INFO("block " << i << " value " << v << ": " << y[std::size_t(i) * tr.block_size + v]
                                           << " vs " << want);
            }
        CHECK(bad == 0);
        // Unaligned source: same values.
        std::vector<std::uint8_t> shifted(b.size() + 1);
        std::memcpy(shifted.data() + 1, b.data(), b.size());
        std::vector<float> y2(y.size());
        gg::dequantizer(c.type)(shifted.data() + 1, y2.data(), n);
        CHECK(std::memcmp(y.data(), y2.data(), y.size() * 4) == 0);
    }
}

TEST_CASE("ggml plain types and dequantize_row errors", "[kernels][ggml]") {
    const float f[3] = {1.5f, -0.0f, 3e-39f};
    float y[3];
    REQUIRE(gg::dequantize_row(ggml_type::f32, f, y, 3).is_ok());
    CHECK(std::memcmp(f, y, sizeof f) == 0);
    const std::uint16_t hf[3] = {0x3c00, 0x8001, 0x7bff};  // 1, -2^-24 (subnormal), 65504
    REQUIRE(gg::dequantize_row(ggml_type::f16, hf, y, 3).is_ok());
    CHECK(y[0] == 1.0f);
    CHECK(y[1] == -std::ldexp(1.0f, -24));
    CHECK(y[2] == 65504.0f);
    const std::uint16_t bf[2] = {0x3fc0, 0xc2f7};  // 1.5, -123.5
    REQUIRE(gg::dequantize_row(ggml_type::bf16, bf, y, 2).is_ok());
    CHECK(y[0] == 1.5f);
    CHECK(y[1] == -123.5f);

    status s = gg::dequantize_row(ggml_type::q4_k, nullptr, y, 100);
    CHECK(s.code() == errc::bad_shape);
    CHECK(std::string(s.message()).find("Q4_K") != std::string::npos);
    s = gg::dequantize_row(ggml_type::iq2_xxs, nullptr, y, 256);
    CHECK(s.code() == errc::unsupported);
    CHECK(std::string(s.message()).find("IQ2_XXS") != std::string::npos);
    s = gg::dequantize_row(static_cast<ggml_type>(77), nullptr, y, 0);
    CHECK(s.code() == errc::unsupported);
    CHECK(gg::can_dequantize(ggml_type::q6_k));
    CHECK_FALSE(gg::can_dequantize(ggml_type::q8_k));
    CHECK(std::string(ggml_type_name(ggml_type::iq4_nl)) == "IQ4_NL");
    CHECK(std::string(ggml_type_name(static_cast<ggml_type>(4))) == "?");  // removed Q4_2
    std::uint64_t bytes = 0;
    CHECK(ggml_row_bytes(ggml_type::q6_k, 512, bytes));
    CHECK(bytes == 420);
    CHECK_FALSE(ggml_row_bytes(ggml_type::q6_k, 500, bytes));
}

TEST_CASE("ggml reference quantizers: round trip error and edge cases", "[kernels][ggml]") {
    std::mt19937 rng(99);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> x(32 * 64);
    for (auto& v : x) v = nd(rng);
    x[5] = 0.0f;
    std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // an all-zero block
    x[200] = NAN;                                      // must not be UB (clamped)
    x[300] = INFINITY;
    std::vector<gg::block_q8_0> q8(64);
    std::vector<gg::block_q4_0> q4(64);
    gg::quantize_row_q8_0(x.data(), q8.data(), std::int64_t(x.size()));
    gg::quantize_row_q4_0(x.data(), q4.data(), std::int64_t(x.size()));
    std::vector<float> y8(x.size()), y4(x.size());
    gg::dequantize_row_q8_0(q8.data(), y8.data(), std::int64_t(x.size()));
    gg::dequantize_row_q4_0(q4.data(), y4.data(), std::int64_t(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (i / 32 == 200 / 32 || i / 32 == 300 / 32) continue;  // the NaN / inf blocks
        float amax = 0.0f;
        for (std::size_t j = i / 32 * 32; j < i / 32 * 32 + 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        // Q8_0: half a step, plus the f16 rounding of d (2^-11 relative) over up to 127 steps.
        CHECK(std::fabs(y8[i] - x[i]) <= amax / 127.0f * (0.5f + 127.0f / 2048.0f));
        // Q4_0: half a step, except at the end opposite to max, where code 16 is clipped to 15.
        CHECK(std::fabs(y4[i] - x[i]) <= amax / 8.0f * (1.0f + 8.0f / 2048.0f));
    }
    for (int i = 64; i < 96; ++i) CHECK(y8[std::size_t(i)] == 0.0f);
    CHECK(y4[5] == 0.0f);  // a zero weight on a scale q = 8 is exactly 0
}

// ---- fixtures -------------------------------------------------------------------------------

namespace {

const char* const k_fixture_types[] = {"F32",  "F16",  "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                       "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL"};

std::string quant_dir() { return smolvlm_test::fixtures_dir() + "/gguf/quant_types"; }

}  // namespace

TEST_CASE("sha256 test vectors", "[kernels][ggml]") {
    CHECK(smolvlm_test::sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string m(1000, 'a');
    CHECK(smolvlm_test::sha256_hex(m.data(), m.size()) ==
          "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST_CASE("ggml dequantizers are bit-exact with ggml on every fixture type", "[kernels][ggml][shared]") {
    SMOLVLM_REQUIRE_SHARED(quant_dir() + "/Q4_K.gguf");
    int tensors_checked = 0;
    for (const char* tname : k_fixture_types) {
        const std::string T = tname;
        INFO("type " << T);
        const std::string gguf_path = quant_dir() + (T == "F32" ? "/f32.gguf" : "/" + T + ".gguf");
        auto f = gguf_file::open(gguf_path.c_str());
        REQUIRE(f.is_ok());
        auto js = parse_json(smolvlm_test::read_file(quant_dir() + "/" + T + ".golden.json"));
        REQUIRE(js.is_ok());
        const json_value* check = js->find_path("dequant_check.tensors");
        REQUIRE(check);
        REQUIRE(check->is_object());
        CHECK(check->size() == f->tensors().size());
        std::vector<std::uint8_t> st_bytes;
        result<safetensors_file> st = status(errc::io, "no dequant file");
        if (T != "F32") {
            st_bytes = smolvlm_test::read_bytes(quant_dir() + "/" + T + ".dequant.safetensors");
            st = safetensors_file::from_memory(st_bytes.data(), st_bytes.size());
            REQUIRE(st.is_ok());
        }
        for (const gguf_tensor& t : f->tensors()) {
            const std::string name(t.name);
            INFO("tensor " << name);
            const json_value* want = check->find(name);
            REQUIRE(want);
            CHECK(want->find("ggml_type")->as_string() == t.type_name());
            const json_value* ne = want->find("ne");
            REQUIRE(ne->size() == std::size_t(t.n_dims));
            for (int d = 0; d < t.n_dims; ++d) CHECK(ne->items()[std::size_t(d)].as_int() == t.ne[d]);
            std::vector<float> y(std::size_t(t.numel()));
            REQUIRE(gg::dequantize_row(t.type, t.data, y.data(), t.numel()).is_ok());
            CHECK(smolvlm_test::sha256_hex(y.data(), y.size() * 4) == want->find("sha256_f32le_full")->as_string());
            double sum = 0.0;
            for (float v : y) sum += double(v);
            CHECK(std::fabs(sum - want->find("sum_f64_full")->as_number()) <= 1e-6 * (1.0 + std::fabs(sum)));
            if (st.is_ok()) {  // the stored first rows, byte for byte
                const st_tensor* s = st->find(name);
                REQUIRE(s);
                REQUIRE(s->type == dtype::f32);
                REQUIRE(s->nbytes <= y.size() * 4);
                CHECK(std::memcmp(s->data, y.data(), s->nbytes) == 0);
            }
            ++tensors_checked;
        }
    }
    CHECK(tensors_checked == 14 * 12);
}

TEST_CASE("ggml reference quantizers reproduce llama-quantize's Q8_0 and Q4_0 files", "[kernels][ggml][shared]") {
    SMOLVLM_REQUIRE_SHARED(quant_dir() + "/f32.gguf");
    auto f32 = gguf_file::open((quant_dir() + "/f32.gguf").c_str());
    REQUIRE(f32.is_ok());
    for (ggml_type qt : {ggml_type::q8_0, ggml_type::q4_0}) {
        const std::string T = ggml_type_name(qt);
        INFO(T);
        auto q = gguf_file::open((quant_dir() + "/" + T + ".gguf").c_str());
        REQUIRE(q.is_ok());
        int quantized = 0;
        for (const gguf_tensor& t : q->tensors()) {
            const gguf_tensor* src = f32->find(t.name);
            REQUIRE(src);
            if (t.type != qt) continue;
            std::vector<std::uint8_t> out(t.nbytes);
            const auto* x = reinterpret_cast<const float*>(src->data);  // mmap'd, 32-byte aligned
            if (qt == ggml_type::q8_0)
                gg::quantize_row_q8_0(x, out.data(), src->numel());
            else
                gg::quantize_row_q4_0(x, out.data(), src->numel());
            INFO(std::string(t.name));
            CHECK(std::memcmp(out.data(), t.data, t.nbytes) == 0);
            ++quantized;
        }
        CHECK(quantized == 9);
    }
}

}  // namespace smolvlm_test_kernels_ggml_blocks_cases
