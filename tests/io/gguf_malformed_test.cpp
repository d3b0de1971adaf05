// Hostile GGUF files, built byte by byte by the test from a valid small file: truncated at
// every offset, huge counts and lengths, bad types, bad alignment, bad offsets, duplicate
// names, overlapping tensors, every single-byte mutation. Each must be a one-line status with
// the right code naming what is wrong — never a crash, an out-of-bounds read (the ASan build
// runs this file too) or an allocation sized by a count the file cannot back.
#include <smolvlm/io/gguf.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace smolvlm_test_io_gguf_malformed_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// Little-endian byte builder.
struct bytes {
    std::vector<std::uint8_t> b;
    bytes& u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) b.push_back(std::uint8_t(v >> (8 * i)));
        return *this;
    }
    bytes& u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) b.push_back(std::uint8_t(v >> (8 * i)));
        return *this;
    }
    bytes& raw(const std::string& s) {
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    bytes& str(const std::string& s) { return u64(s.size()).raw(s); }
    bytes& pad(std::size_t a) {
        while (b.size() % a) b.push_back(0);
        return *this;
    }
    bytes& fill(std::size_t n, std::uint8_t v = 0x3c) {
        b.insert(b.end(), n, v);
        return *this;
    }
};

constexpr std::uint32_t T_U32 = 4, T_F32 = 6, T_BOOL = 7, T_STR = 8, T_ARR = 9, T_U64 = 10;
constexpr std::uint32_t G_F32 = 0, G_Q8_0 = 8;

// Parts of the baseline file, each replaceable by a case.
struct parts {
    std::uint32_t version = 3;
    std::uint64_t n_tensors = 2, n_kv = 3;
    std::string kvs;      // encoded key-values
    std::string tensors;  // encoded tensor infos
    std::size_t data = 256 + 34;
    std::size_t align = 32;
};

std::string enc(const bytes& x) { return std::string(x.b.begin(), x.b.end()); }
std::string kv_str(const std::string& k, const std::string& v) { return enc(bytes().str(k).u32(T_STR).str(v)); }
std::string kv_u32(const std::string& k, std::uint32_t v) { return enc(bytes().str(k).u32(T_U32).u32(v)); }
std::string kv_f32(const std::string& k, float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    return enc(bytes().str(k).u32(T_F32).u32(u));
}
std::string kv_strs(const std::string& k, const std::vector<std::string>& v) {
    bytes x;
    x.str(k).u32(T_ARR).u32(T_STR).u64(v.size());
    for (const auto& s : v) x.str(s);
    return enc(x);
}
std::string tinfo(const std::string& name, std::vector<std::uint64_t> ne, std::uint32_t type, std::uint64_t offset) {
    bytes x;
    x.str(name).u32(std::uint32_t(ne.size()));
    for (auto d : ne) x.u64(d);
    x.u32(type).u64(offset);
    return enc(x);
}

parts baseline() {
    parts p;
    p.kvs = kv_str("general.architecture", "llama") + kv_strs("a.arr", {"x", "yz"}) + kv_f32("b.f", 0.5f);
    p.tensors = tinfo("t0", {32, 2}, G_F32, 0) + tinfo("t1", {32}, G_Q8_0, 256);
    return p;
}

std::vector<std::uint8_t> build(const parts& p) {
    bytes x;
    x.raw("GGUF").u32(p.version).u64(p.n_tensors).u64(p.n_kv).raw(p.kvs).raw(p.tensors).pad(p.align).fill(p.data);
    return x.b;
}

status read(const std::vector<std::uint8_t>& file) {
    std::vector<std::uint8_t> exact(file);  // exactly sized: ASan sees one byte past the end
    auto r = gguf_file::from_memory(exact.data(), exact.size());
    return r.is_ok() ? status::ok() : r.error();
}

std::string why_not_rejected(const status& s, errc code, const std::string& phrase) {
    if (s.is_ok()) return "accepted";
    const std::string m = s.message();
    if (s.code() != code) return std::string("code ") + errc_name(s.code()) + " (want " + errc_name(code) + "): " + m;
    if (m.find(phrase) == std::string::npos) return "message lacks '" + phrase + "': " + m;
    if (m.rfind("gguf: ", 0) != 0) return "message does not start with 'gguf: ': " + m;
    if (m.find('\n') != std::string::npos) return "message is not one line: " + m;
    return "";
}
#define CHECK_REJECTED(st, code_, phrase) CHECK(why_not_rejected((st), (code_), (phrase)) == "")

// The invariants an accepted file must satisfy (also used by the mutation sweep).
std::string check_accepted(const std::vector<std::uint8_t>& file) {
    auto r = gguf_file::from_memory(file.data(), file.size());
    if (!r.is_ok()) return "";
    const gguf_file& f = r.value();
    if (f.data_offset() > file.size() || f.data_offset() % f.alignment()) return "data offset";
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
    for (const auto& t : f.tensors()) {
        if (t.data < file.data() + f.data_offset() || t.data + t.nbytes > file.data() + file.size()) return "tensor outside";
        std::uint64_t row = 0;
        if (!ggml_row_bytes(t.type, t.ne[0], row) || row * std::uint64_t(t.n_rows()) != t.nbytes) return "nbytes";
        if (f.find(t.name) != &t) return "index";
        spans.emplace_back(t.offset, t.offset + t.nbytes);
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second) return "overlap";
    for (const auto& kv : f.metadata()) {
        if (f.find_kv(kv.key) != &kv) return "kv index";
        if (kv.type == gguf_value_type::array && kv.array.type() == gguf_value_type::string) {
            std::uint64_t n = 0;
            for (std::string_view s : kv.array.strings()) {
                if (reinterpret_cast<const std::uint8_t*>(s.data()) + s.size() > file.data() + file.size()) return "string";
                ++n;
            }
            if (n != kv.array.size()) return "string count";
        }
    }
    return "";
}

}  // namespace

TEST_CASE("malformed gguf: the baseline reads", "[io][gguf][malformed]") {
    const auto f = build(baseline());
    auto r = gguf_file::from_memory(f.data(), f.size());
    REQUIRE(r.is_ok());
    CHECK(r->tensors().size() == 2);
    CHECK(r->find("t1")->nbytes == 34);
    CHECK(r->data_bytes() == 290);
    CHECK(*r->get_string_array("a.arr") == std::vector<std::string_view>{"x", "yz"});
    CHECK(check_accepted(f) == "");
}

TEST_CASE("malformed gguf: truncated at every byte offset", "[io][gguf][malformed]") {
    const auto f = build(baseline());
    int n = 0;
    for (std::size_t len = 0; len < f.size(); ++len) {
        const status s = read(std::vector<std::uint8_t>(f.begin(), f.begin() + long(len)));
        INFO("length " << len << " of " << f.size() << ": " << s.message());
        REQUIRE_FALSE(s.is_ok());
        // Short counts / lengths are "truncated"; a count the short file cannot back is bad_format.
        CHECK((s.code() == errc::truncated || s.code() == errc::bad_format));
        CHECK(std::string(s.message()).rfind("gguf: ", 0) == 0);
        ++n;
    }
    CHECK(n > 400);
}

TEST_CASE("malformed gguf: header", "[io][gguf][malformed]") {
    CHECK_REJECTED(read({}), errc::truncated, "too short for the magic");
    CHECK_REJECTED(read({'G', 'G', 'U'}), errc::truncated, "too short for the magic");
    CHECK_REJECTED(read(bytes().raw("GGUF").u32(3).b), errc::truncated, "24-byte header");
    CHECK_REJECTED(read(bytes().raw("GGML").u32(3).u64(0).u64(0).b), errc::bad_format, "bad magic 47 47 4d 4c");
    parts p = baseline();
    p.version = 1;
    CHECK_REJECTED(read(build(p)), errc::unsupported, "version 1");
    p.version = 4;
    CHECK_REJECTED(read(build(p)), errc::unsupported, "version 4 is not supported");
    p.version = 0;
    CHECK_REJECTED(read(build(p)), errc::unsupported, "version 0");
    p.version = 0x03000000;
    CHECK_REJECTED(read(build(p)), errc::unsupported, "big-endian");
    p = baseline();
    p.version = 2;
    CHECK(read(build(p)).is_ok());
}

TEST_CASE("malformed gguf: absurd counts fail before anything is allocated for them", "[io][gguf][malformed]") {
    for (std::uint64_t n : {std::uint64_t(1) << 63, ~std::uint64_t(0), std::uint64_t(1) << 40, std::uint64_t(100000)}) {
        parts p = baseline();
        p.n_kv = n;
        CHECK_REJECTED(read(build(p)), errc::bad_format, "metadata count");
        p = baseline();
        p.n_tensors = n;
        CHECK_REJECTED(read(build(p)), errc::bad_format, "tensor count");
    }
    // Counts the bytes could back but that are wrong: the next field is misread, and that is
    // caught (tensor infos read as key-values, or data bytes read as tensor infos).
    parts p = baseline();
    p.n_kv = 4;
    CHECK_FALSE(read(build(p)).is_ok());
    p = baseline();
    p.n_tensors = 3;
    CHECK_FALSE(read(build(p)).is_ok());
    // Fewer than there are: the rest is taken for the data section, offsets then disagree.
    p = baseline();
    p.n_kv = 2;
    CHECK_FALSE(read(build(p)).is_ok());
}

TEST_CASE("malformed gguf: metadata strings, types and arrays", "[io][gguf][malformed]") {
    auto with_kvs = [](const std::string& kvs, std::uint64_t n_kv) {
        parts p = baseline();
        p.kvs = kvs;
        p.n_kv = n_kv;
        return build(p);
    };
    const std::string ok = kv_str("general.architecture", "llama");
    // Key and string lengths past the end of the file.
    CHECK_REJECTED(read(with_kvs(enc(bytes().u64(~0ull).raw("k")), 1)), errc::truncated, "metadata key '#0'");
    CHECK_REJECTED(read(with_kvs(enc(bytes().u64(1ull << 62)), 1)), errc::truncated, "string length 4611686018427387904");
    CHECK_REJECTED(read(with_kvs(ok + enc(bytes().str("k").u32(T_STR).u64(1ull << 40)), 2)), errc::truncated,
                   "metadata 'k': string length 1099511627776");
    // Value types.
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(13).u32(0)), 1)), errc::bad_format, "'k' has unknown value type 13");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(0xffffffffu).u32(0)), 1)), errc::bad_format,
                   "unknown value type 4294967295");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_BOOL).raw("\x02")), 1)), errc::bad_format,
                   "bool with byte value 2");
    // Arrays.
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_ARR).u64(1).u32(T_U32).u64(1).u32(7)), 1)),
                   errc::unsupported, "'k' is an array of arrays");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(99).u64(1).u32(7)), 1)), errc::bad_format,
                   "array of unknown value type 99");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_U32).u64(1ull << 62)), 1)), errc::truncated,
                   "array of 4611686018427387904 u32");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_U64).u64(~0ull / 4)), 1)), errc::truncated,
                   "u64 runs past the end");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_STR).u64(1ull << 60)), 1)), errc::truncated,
                   "array of 1152921504606846976 strings cannot fit");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_STR).u64(2).str("a").u64(1ull << 50)), 1)),
                   errc::truncated, "metadata 'k' item 1: string length 1125899906842624");
    CHECK_REJECTED(read(with_kvs(enc(bytes().str("k").u32(T_ARR).u32(T_BOOL).u64(3).raw(std::string("\x01\x00\x05", 3))), 1)),
                   errc::bad_format, "bool item 2 has byte value 5");
    // The array header itself cut off.
    CHECK_REJECTED(read(bytes().raw("GGUF").u32(3).u64(0).u64(1).str("k").u32(T_ARR).u32(T_U32).b), errc::truncated,
                   "array 'k' needs 12 bytes");
    // Duplicates (and a key with control bytes printed safely on one line).
    CHECK_REJECTED(read(with_kvs(ok + kv_u32("b.f", 1) + kv_u32("b.f", 2), 3)), errc::bad_format,
                   "duplicate metadata key 'b.f'");
    CHECK_REJECTED(read(with_kvs(kv_u32("a\nb", 1) + kv_u32("a\nb", 2), 2)), errc::bad_format, "duplicate metadata key 'a?b'");
    CHECK_REJECTED(read(with_kvs(kv_u32(std::string(300, 'k'), 1) + kv_u32(std::string(300, 'k'), 2), 2)),
                   errc::bad_format, "'" + std::string(64, 'k') + "...'");
}

TEST_CASE("malformed gguf: general.alignment", "[io][gguf][malformed]") {
    auto with_align = [](const std::string& kv, std::size_t pad) {
        parts p = baseline();
        p.kvs += kv;
        p.n_kv += 1;
        p.align = pad;
        return build(p);
    };
    CHECK_REJECTED(read(with_align(enc(bytes().str("general.alignment").u32(T_U64).u64(32)), 32)), errc::bad_format,
                   "general.alignment has type u64 (want u32)");
    CHECK_REJECTED(read(with_align(kv_str("general.alignment", "32"), 32)), errc::bad_format, "has type string");
    CHECK_REJECTED(read(with_align(kv_u32("general.alignment", 0), 32)), errc::bad_format, "alignment 0 is not a power of two");
    CHECK_REJECTED(read(with_align(kv_u32("general.alignment", 48), 32)), errc::bad_format, "alignment 48 is not a power of two");
    CHECK_REJECTED(read(with_align(kv_u32("general.alignment", 0x80000000u), 32)), errc::truncated,
                   "data section would start at byte 2147483648");
    // Valid other alignments: the data section and offsets follow them.
    CHECK(read(with_align(kv_u32("general.alignment", 64), 64)).is_ok());
    CHECK(read(with_align(kv_u32("general.alignment", 8), 8)).is_ok());
    // The data section computed with 512 when the writer padded to 32: it starts 256 bytes
    // later than the tensors were written, and t0 no longer fits.
    CHECK_REJECTED(read(with_align(kv_u32("general.alignment", 512), 32)), errc::truncated, "'t0' (F32, 256 bytes at offset 0)");
    // Offsets must be multiples of the alignment (here 64: t1 at 256 still is; at 288 is not).
    parts p = baseline();
    p.kvs += kv_u32("general.alignment", 64);
    p.n_kv += 1;
    p.align = 64;
    p.tensors = tinfo("t0", {32, 2}, G_F32, 0) + tinfo("t1", {32}, G_Q8_0, 288);
    p.data = 288 + 34;
    CHECK_REJECTED(read(build(p)), errc::bad_format, "tensor 't1' offset 288 is not a multiple of the alignment 64");
}

TEST_CASE("malformed gguf: tensor infos", "[io][gguf][malformed]") {
    auto with_t = [](const std::string& tensors, std::uint64_t n = 2, std::size_t data = 256 + 34) {
        parts p = baseline();
        p.tensors = tensors;
        p.n_tensors = n;
        p.data = data;
        return build(p);
    };
    const std::string t0 = tinfo("t0", {32, 2}, G_F32, 0);
    // Names.
    CHECK_REJECTED(read(with_t(tinfo("", {32}, G_F32, 0), 1)), errc::bad_format, "tensor #0 has an empty name");
    CHECK_REJECTED(read(with_t(tinfo(std::string(65, 'n'), {32}, G_F32, 0), 1)), errc::bad_format,
                   "is 65 bytes (GGUF allows 64)");
    CHECK(read(with_t(tinfo(std::string(64, 'n'), {32}, G_F32, 0), 1)).is_ok());
    CHECK_REJECTED(read(with_t(enc(bytes().u64(1ull << 61)), 1)), errc::truncated, "tensor '#0': string length");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t0", {32}, G_Q8_0, 256))), errc::bad_format, "duplicate tensor name 't0'");
    // Dims.
    CHECK_REJECTED(read(with_t(tinfo("t", {1, 1, 1, 1, 32}, G_F32, 0), 1)), errc::bad_shape, "'t' has 5 dims (GGUF allows at most 4)");
    CHECK_REJECTED(read(with_t(enc(bytes().str("t").u32(0xffffffffu)), 1)), errc::bad_shape, "has 4294967295 dims");
    CHECK_REJECTED(read(with_t(tinfo("t", {32, 0}, G_F32, 0), 1)), errc::bad_shape, "'t' has ne[1] = 0");
    CHECK_REJECTED(read(with_t(tinfo("t", {1ull << 63}, G_F32, 0), 1)), errc::bad_shape, "(negative)");
    CHECK_REJECTED(read(with_t(tinfo("t", {1ull << 32, 1ull << 32}, G_F32, 0), 1)), errc::bad_shape,
                   "element count overflows");
    CHECK_REJECTED(read(with_t(tinfo("t", {1ull << 61}, G_F32, 0), 1)), errc::bad_shape, "byte size overflows");
    CHECK_REJECTED(read(bytes().raw("GGUF").u32(3).u64(1).u64(0).str("t").u32(2).u64(32).u32(0).b), errc::truncated,
                   "tensor 't' needs 28 bytes");
    // Types.
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, 4, 256))), errc::unsupported, "'t1' has unknown ggml type 4");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, 1000, 256))), errc::unsupported, "unknown ggml type 1000");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {16, 2}, G_Q8_0, 256))), errc::bad_shape,
                   "row length ne[0] = 16 is not a multiple of Q8_0's block of 32");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {128}, 12 /*Q4_K*/, 256))), errc::bad_shape, "Q4_K's block of 256");
    // Known types the engine cannot decode are still read (their size is known).
    CHECK(read(with_t(t0 + tinfo("t1", {256}, 16 /*IQ2_XXS*/, 256), 2, 256 + 66)).is_ok());
    // Offsets.
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, G_Q8_0, 260))), errc::bad_format,
                   "tensor 't1' offset 260 is not a multiple of the alignment 32");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, G_Q8_0, 288))), errc::truncated,
                   "tensor 't1' (Q8_0, 34 bytes at offset 288) runs past the end of the 290-byte data section");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, G_Q8_0, ~std::uint64_t(31)))), errc::truncated, "runs past the end");
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, G_Q8_0, 384))), errc::truncated,
                   "'t1' (Q8_0, 34 bytes at offset 384)");
    CHECK_REJECTED(read(with_t(tinfo("t0", {32, 3}, G_F32, 0), 1, 256)), errc::truncated, "'t0' (F32, 384 bytes at offset 0)");
    // Overlaps: the type x shape size reaches into the next tensor, or two share an offset.
    CHECK_REJECTED(read(with_t(t0 + tinfo("t1", {32}, G_Q8_0, 224))), errc::bad_format, "tensors 't0' and 't1' overlap");
    CHECK_REJECTED(read(with_t(tinfo("t1", {32}, G_Q8_0, 0) + tinfo("t0", {32}, G_F32, 0))), errc::bad_format, "overlap");
    CHECK_REJECTED(read(with_t(tinfo("a", {32, 2}, G_F32, 32) + tinfo("b", {8}, G_F32, 256))), errc::bad_format,
                   "tensors 'a' and 'b' overlap");
    // Tensors in any order, with gaps, are fine.
    CHECK(read(with_t(tinfo("t1", {32}, G_Q8_0, 256) + t0)).is_ok());
    CHECK(read(with_t(tinfo("t1", {8}, G_F32, 64), 1)).is_ok());
    // Header ends where the data should start: no data section at all.
    parts p = baseline();
    p.data = 0;
    p.align = 1;
    CHECK_REJECTED(read(build(p)), errc::truncated, "data section would start");
    // No tensors: the file may end right after the header, unpadded.
    const auto only_kv = bytes().raw("GGUF").u32(3).u64(0).u64(1).str("k").u32(T_U32).u32(7).b;
    CHECK(read(only_kv).is_ok());
    // ... or a little after it, without reaching the next multiple of the alignment (found by
    // the fuzzer: the data section is then the file's end, unaligned, and empty).
    const auto odd = bytes().raw("GGUF").u32(3).u64(0).u64(0).fill(1, 0).b;
    auto r = gguf_file::from_memory(odd.data(), odd.size());
    REQUIRE(r.is_ok());
    CHECK(r->data_offset() == 25);
    CHECK(r->data_bytes() == 0);
}

TEST_CASE("malformed gguf: every single-byte mutation of the baseline", "[io][gguf][malformed]") {
    // Each byte of the header set to 0x00, 0xff, +1 and -1: accepted files must satisfy every
    // invariant the reader promises; rejected ones carry a "gguf: " message.
    const auto f = build(baseline());
    parts p = baseline();
    const std::size_t header = 24 + p.kvs.size() + p.tensors.size();
    int accepted = 0, rejected = 0, bad = 0;
    for (std::size_t i = 0; i < header; ++i)
        for (int m = 0; m < 4; ++m) {
            std::vector<std::uint8_t> g(f);
            g[i] = m == 0 ? 0x00 : m == 1 ? 0xff : m == 2 ? std::uint8_t(g[i] + 1) : std::uint8_t(g[i] - 1);
            const status s = read(g);
            if (s.is_ok()) {
                ++accepted;
                const std::string why = check_accepted(g);
                if (!why.empty() && bad++ < 5) UNSCOPED_INFO("byte " << i << " mutation " << m << ": " << why);
            } else {
                ++rejected;
                const std::string msg = s.message();
                if ((msg.rfind("gguf: ", 0) != 0 || msg.find('\n') != std::string::npos) && bad++ < 5)
                    UNSCOPED_INFO("byte " << i << " mutation " << m << ": " << msg);
            }
        }
    CHECK(bad == 0);
    CHECK(accepted > 0);
    CHECK(rejected > 0);
}

}  // namespace smolvlm_test_io_gguf_malformed_cases
#undef CHECK_REJECTED
