// smolvlm/io/gguf.hpp — reading and writing GGUF files (llama.cpp's weight format), v2 and v3.
//
// Layout (little-endian throughout; strings are [u64 length][bytes], no terminator):
//
//   "GGUF"  u32 version  u64 n_tensors  u64 n_kv
//   n_kv x      key: string, u32 value type, value
//                 value: u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool(1 byte) | string |
//                        array = u32 item type, u64 count, count items (no arrays of arrays)
//   n_tensors x name: string, u32 n_dims (<= 4), u64 ne[n_dims], u32 ggml type, u64 offset
//   padding to `general.alignment` (a u32 key, default 32)
//   data section: each tensor at its offset from the section start (a multiple of the alignment)
//
// ne lists a tensor's dims innermost first: ne[0] is the row length (contiguous), ne[1] the
// number of rows... A 2-D weight with ne = [in, out] is the row-major (out, in) matrix that
// PyTorch stores; gguf_tensor::shape() gives that outermost-first order. Block formats
// (io/ggml_type.hpp) cut rows along ne[0].
//
// Everything is validated before any tensor or value is handed out: magic, version,
// every count against the bytes left in the file (so nothing is allocated from a count the
// file cannot back), string and array lengths, value types, duplicate keys and tensor names,
// n_dims, dims (>= 1, product without overflow), ggml type, ne[0] a multiple of the type's
// block size, general.alignment (a power of two), offsets aligned, every tensor inside the
// data section and no two tensors overlapping. A violation is a one-line status naming the
// key or tensor, never an out-of-bounds read. Version 1 (u32 counts) and big-endian files
// are refused.
//
// Nothing is copied: keys, string values, arrays and tensor data are views into the file
// (mmap'd, read fallback) or the caller's buffer, valid while the gguf_file lives.
//
//   auto f = gguf_file::open("model.gguf");                  // result<gguf_file>
//   auto arch = f->get_string("general.architecture");       // result<std::string_view>
//   auto n = f->get_u32("llama.block_count");                // any integer type that fits
//   auto toks = f->get_string_array("tokenizer.ggml.tokens");
//   const gguf_tensor* t = f->find("blk.0.attn_q.weight");   // type, ne / shape(), data, nbytes
//   kernels::ggml::dequantize_row(t->type, t->data, out, t->row_length());  // kernels/ggml_blocks.hpp
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "file.hpp"
#include "ggml_type.hpp"

namespace smolvlm {

inline constexpr std::uint32_t k_gguf_default_alignment = 32;
inline constexpr int k_gguf_max_dims = 4;
inline constexpr std::size_t k_gguf_max_name = 64;  // tensor name bytes (the GGUF spec's limit)

enum class gguf_value_type : std::uint32_t {
    u8 = 0,
    i8 = 1,
    u16 = 2,
    i16 = 3,
    u32 = 4,
    i32 = 5,
    f32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    u64 = 10,
    i64 = 11,
    f64 = 12,
};

inline const char* gguf_value_type_name(gguf_value_type t) {
    switch (t) {
        case gguf_value_type::u8: return "u8";
        case gguf_value_type::i8: return "i8";
        case gguf_value_type::u16: return "u16";
        case gguf_value_type::i16: return "i16";
        case gguf_value_type::u32: return "u32";
        case gguf_value_type::i32: return "i32";
        case gguf_value_type::f32: return "f32";
        case gguf_value_type::boolean: return "bool";
        case gguf_value_type::string: return "string";
        case gguf_value_type::array: return "array";
        case gguf_value_type::u64: return "u64";
        case gguf_value_type::i64: return "i64";
        case gguf_value_type::f64: return "f64";
    }
    return "?";
}

// Bytes of one scalar of type t; 0 for string, array and numbers that are no type.
inline std::size_t gguf_scalar_size(gguf_value_type t) {
    switch (t) {
        case gguf_value_type::u8:
        case gguf_value_type::i8:
        case gguf_value_type::boolean: return 1;
        case gguf_value_type::u16:
        case gguf_value_type::i16: return 2;
        case gguf_value_type::u32:
        case gguf_value_type::i32:
        case gguf_value_type::f32: return 4;
        case gguf_value_type::u64:
        case gguf_value_type::i64:
        case gguf_value_type::f64: return 8;
        default: return 0;
    }
}

namespace detail {

inline std::uint16_t load_le16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }
inline std::uint32_t load_le32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[3]) << 24);
}
inline std::uint64_t load_le64(const std::uint8_t* p) {
    return std::uint64_t(load_le32(p)) | (std::uint64_t(load_le32(p + 4)) << 32);
}

// A name for an error message: at most 64 bytes, control bytes shown as '?', "..." when cut.
struct printable_name {
    char s[72];
    explicit printable_name(std::string_view v) {
        const std::size_t n = v.size() < 64 ? v.size() : 64;
        for (std::size_t i = 0; i < n; ++i) {
            const unsigned char c = static_cast<unsigned char>(v[i]);
            s[i] = (c < 0x20 || c == 0x7f) ? '?' : char(c);
        }
        std::size_t e = n;
        if (v.size() > n) {
            std::memcpy(s + e, "...", 3);
            e += 3;
        }
        s[e] = '\0';
    }
    const char* c_str() const { return s; }
};

}  // namespace detail

// One scalar value: its type and its little-endian bits, zero-extended (f32: the float's bits).
struct gguf_scalar {
    gguf_value_type type = gguf_value_type::u8;
    std::uint64_t bits = 0;

    bool is_integer() const {
        switch (type) {
            case gguf_value_type::u8:
            case gguf_value_type::i8:
            case gguf_value_type::u16:
            case gguf_value_type::i16:
            case gguf_value_type::u32:
            case gguf_value_type::i32:
            case gguf_value_type::u64:
            case gguf_value_type::i64: return true;
            default: return false;
        }
    }
    bool is_float() const { return type == gguf_value_type::f32 || type == gguf_value_type::f64; }
    bool is_signed() const {
        return type == gguf_value_type::i8 || type == gguf_value_type::i16 || type == gguf_value_type::i32 ||
               type == gguf_value_type::i64;
    }
    // Integer value, sign-extended for the signed types (integer types only).
    std::int64_t as_i64() const {
        switch (type) {
            case gguf_value_type::i8: return std::int8_t(std::uint8_t(bits));
            case gguf_value_type::i16: return std::int16_t(std::uint16_t(bits));
            case gguf_value_type::i32: return std::int32_t(std::uint32_t(bits));
            default: return std::int64_t(bits);
        }
    }
    // Float value of an f32 / f64 (or any integer) scalar.
    double as_f64() const {
        if (type == gguf_value_type::f32) return double(f32_from_bits(std::uint32_t(bits)));
        if (type == gguf_value_type::f64) {
            double d;
            std::memcpy(&d, &bits, 8);
            return d;
        }
        if (type == gguf_value_type::boolean) return bits ? 1.0 : 0.0;
        return is_signed() ? double(as_i64()) : double(bits);
    }
    // The value as integer type T when it is an integer that fits.
    template <class T>
    bool to_int(T& out) const {
        static_assert(std::is_integral<T>::value && !std::is_same<T, bool>::value, "integer types only");
        if (!is_integer()) return false;
        if (is_signed()) {
            const std::int64_t v = as_i64();
            if (std::is_unsigned<T>::value) {
                if (v < 0 || std::uint64_t(v) > std::uint64_t(std::numeric_limits<T>::max())) return false;
            } else if (v < std::int64_t(std::numeric_limits<T>::min()) || v > std::int64_t(std::numeric_limits<T>::max())) {
                return false;
            }
            out = T(v);
            return true;
        }
        if (bits > std::uint64_t(std::numeric_limits<T>::max())) return false;
        out = T(bits);
        return true;
    }
    // "42", "-3", "1.5", "true": for messages and listings.
    void format(char* buf, std::size_t cap) const {
        if (type == gguf_value_type::boolean)
            std::snprintf(buf, cap, "%s", bits ? "true" : "false");
        else if (is_float())
            std::snprintf(buf, cap, "%.9g", as_f64());
        else if (is_signed())
            std::snprintf(buf, cap, "%lld", (long long)as_i64());
        else
            std::snprintf(buf, cap, "%llu", (unsigned long long)bits);
    }
};

// An array value: a view of its items in the file (validated when the file was read).
class gguf_array {
public:
    gguf_array() = default;
    gguf_array(gguf_value_type type, std::uint64_t count, const std::uint8_t* data, std::size_t nbytes)
        : type_(type), count_(count), data_(data), nbytes_(nbytes) {}

    gguf_value_type type() const { return type_; }
    std::uint64_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    const std::uint8_t* data() const { return data_; }  // raw items (strings: [u64 length][bytes] each)
    std::size_t nbytes() const { return nbytes_; }

    // Item i of an array of scalars (i < size()).
    gguf_scalar at(std::uint64_t i) const {
        const std::size_t es = gguf_scalar_size(type_);
        SMOLVLM_ASSERT(es != 0 && i < count_);
        const std::uint8_t* p = data_ + std::size_t(i) * es;
        gguf_scalar s;
        s.type = type_;
        s.bits = es == 1 ? p[0] : es == 2 ? detail::load_le16(p) : es == 4 ? detail::load_le32(p) : detail::load_le64(p);
        return s;
    }

    // The strings of an array of strings, in order: for (std::string_view s : a.strings()).
    class string_iterator {
    public:
        string_iterator(const std::uint8_t* p, std::uint64_t i) : p_(p), i_(i) {}
        std::string_view operator*() const {
            return std::string_view(reinterpret_cast<const char*>(p_ + 8), std::size_t(detail::load_le64(p_)));
        }
        string_iterator& operator++() {
            p_ += 8 + std::size_t(detail::load_le64(p_));
            ++i_;
            return *this;
        }
        bool operator!=(const string_iterator& o) const { return i_ != o.i_; }
        bool operator==(const string_iterator& o) const { return i_ == o.i_; }

    private:
        const std::uint8_t* p_;
        std::uint64_t i_;
    };
    struct string_range {
        string_iterator b, e;
        string_iterator begin() const { return b; }
        string_iterator end() const { return e; }
    };
    string_range strings() const {
        const std::uint64_t n = type_ == gguf_value_type::string ? count_ : 0;
        return {string_iterator(data_, 0), string_iterator(data_, n)};
    }

private:
    gguf_value_type type_ = gguf_value_type::u8;
    std::uint64_t count_ = 0;
    const std::uint8_t* data_ = nullptr;
    std::size_t nbytes_ = 0;
};

// One metadata entry.
struct gguf_kv {
    std::string_view key;
    gguf_value_type type = gguf_value_type::u8;
    gguf_scalar scalar;    // scalar types
    std::string_view str;  // type == string
    gguf_array array;      // type == array
};

// One tensor.
struct gguf_tensor {
    std::string_view name;
    ggml_type type = ggml_type::f32;
    int n_dims = 0;
    std::int64_t ne[k_gguf_max_dims] = {1, 1, 1, 1};  // GGUF order: ne[0] innermost; unused dims are 1
    std::uint64_t offset = 0;                         // from the start of the data section
    const std::uint8_t* data = nullptr;               // points into the file / buffer
    std::size_t nbytes = 0;                           // type x shape

    std::int64_t numel() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
    std::int64_t row_length() const { return ne[0]; }
    std::int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
    std::size_t row_bytes() const { return nbytes / std::size_t(n_rows()); }
    const std::uint8_t* row(std::int64_t r) const { return data + std::size_t(r) * row_bytes(); }
    const char* type_name() const { return ggml_type_name(type); }
    // PyTorch order, outermost first: ne reversed ([] for a 0-d tensor).
    shape_t shape() const {
        shape_t s;
        s.ndim = n_dims;
        for (int i = 0; i < n_dims; ++i) s.dims[i] = ne[n_dims - 1 - i];
        return s;
    }
};

struct gguf_options {
    bool allow_mmap = true;
};

class gguf_file {
public:
    gguf_file() = default;
    gguf_file(gguf_file&&) = default;
    gguf_file& operator=(gguf_file&&) = default;
    gguf_file(const gguf_file&) = delete;
    gguf_file& operator=(const gguf_file&) = delete;

    static result<gguf_file> open(const char* path, const gguf_options& opt = {}) {
        SMOLVLM_ASSIGN_OR_RETURN(mapped_file mf, mapped_file::open(path, opt.allow_mmap));
        gguf_file f;
        f.file_ = std::make_unique<mapped_file>(std::move(mf));
        status s = f.parse(f.file_->data(), f.file_->size());
        if (!s.is_ok()) {
            const std::string ctx = std::string(path) + ": ";
            return s.prepend(ctx.c_str());
        }
        return f;
    }

    // Over caller memory: nothing is copied; the buffer must outlive the object.
    static result<gguf_file> from_memory(const void* data, std::size_t size) {
        gguf_file f;
        SMOLVLM_TRY(f.parse(static_cast<const std::uint8_t*>(data), size));
        return f;
    }

    std::uint32_t version() const { return version_; }
    std::uint32_t alignment() const { return alignment_; }
    std::uint64_t data_offset() const { return data_offset_; }  // file byte where the data section starts
    std::uint64_t data_bytes() const { return data_bytes_; }
    std::size_t file_bytes() const { return size_; }
    bool is_mapped() const { return file_ && file_->is_mapped(); }

    // ---- tensors ----
    const std::vector<gguf_tensor>& tensors() const { return tensors_; }
    const gguf_tensor* find(std::string_view name) const {
        auto it = tensor_index_.find(name);
        return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
    }

    // ---- metadata ----
    const std::vector<gguf_kv>& metadata() const { return kvs_; }
    const gguf_kv* find_kv(std::string_view key) const {
        auto it = kv_index_.find(key);
        return it == kv_index_.end() ? nullptr : &kvs_[it->second];
    }
    bool has(std::string_view key) const { return find_kv(key) != nullptr; }

    // Integer getters accept any integer type whose value fits; float getters f32 or f64.
    result<std::uint8_t> get_u8(std::string_view key) const { return get_int<std::uint8_t>(key, "u8"); }
    result<std::int8_t> get_i8(std::string_view key) const { return get_int<std::int8_t>(key, "i8"); }
    result<std::uint16_t> get_u16(std::string_view key) const { return get_int<std::uint16_t>(key, "u16"); }
    result<std::int16_t> get_i16(std::string_view key) const { return get_int<std::int16_t>(key, "i16"); }
    result<std::uint32_t> get_u32(std::string_view key) const { return get_int<std::uint32_t>(key, "u32"); }
    result<std::int32_t> get_i32(std::string_view key) const { return get_int<std::int32_t>(key, "i32"); }
    result<std::uint64_t> get_u64(std::string_view key) const { return get_int<std::uint64_t>(key, "u64"); }
    result<std::int64_t> get_i64(std::string_view key) const { return get_int<std::int64_t>(key, "i64"); }
    result<double> get_f64(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(const gguf_kv* kv, lookup(key));
        if (!kv->scalar.is_float()) return wrong_type(*kv, "a float");
        return kv->scalar.as_f64();
    }
    result<float> get_f32(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(double v, get_f64(key));
        return float(v);
    }
    result<bool> get_bool(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(const gguf_kv* kv, lookup(key));
        if (kv->type != gguf_value_type::boolean) return wrong_type(*kv, "bool");
        return kv->scalar.bits != 0;
    }
    result<std::string_view> get_string(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(const gguf_kv* kv, lookup(key));
        if (kv->type != gguf_value_type::string) return wrong_type(*kv, "string");
        return kv->str;
    }
    result<gguf_array> get_array(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(const gguf_kv* kv, lookup(key));
        if (kv->type != gguf_value_type::array) return wrong_type(*kv, "array");
        return kv->array;
    }
    // An array's items converted to T: an integer type (items must be integers that fit),
    // float / double (items f32 or f64), bool, or std::string_view (an array of strings).
    template <class T>
    result<std::vector<T>> get_array_of(std::string_view key) const {
        SMOLVLM_ASSIGN_OR_RETURN(gguf_array a, get_array(key));
        std::vector<T> out;
        out.reserve(std::size_t(a.size()));  // bounded: the items are in the file
        const detail::printable_name k(key);
        if constexpr (std::is_same<T, std::string_view>::value) {
            if (a.type() != gguf_value_type::string)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is an array of %s, want strings", k.c_str(),
                                   gguf_value_type_name(a.type()));
            for (std::string_view s : a.strings()) out.push_back(s);
        } else if constexpr (std::is_same<T, bool>::value) {
            if (a.type() != gguf_value_type::boolean)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is an array of %s, want bools", k.c_str(),
                                   gguf_value_type_name(a.type()));
            for (std::uint64_t i = 0; i < a.size(); ++i) out.push_back(a.at(i).bits != 0);
        } else if constexpr (std::is_floating_point<T>::value) {
            if (a.type() != gguf_value_type::f32 && a.type() != gguf_value_type::f64)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is an array of %s, want floats", k.c_str(),
                                   gguf_value_type_name(a.type()));
            for (std::uint64_t i = 0; i < a.size(); ++i) out.push_back(T(a.at(i).as_f64()));
        } else {
            static_assert(std::is_integral<T>::value, "get_array_of<T>: integer, float, bool or string_view");
            if (!gguf_scalar{a.type(), 0}.is_integer())
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is an array of %s, want integers", k.c_str(),
                                   gguf_value_type_name(a.type()));
            for (std::uint64_t i = 0; i < a.size(); ++i) {
                const gguf_scalar s = a.at(i);
                T v{};
                if (!s.to_int(v)) {
                    char b[40];
                    s.format(b, sizeof b);
                    return status::fmt(errc::bad_format, "gguf: metadata '%s' item %llu = %s is out of range", k.c_str(),
                                       (unsigned long long)i, b);
                }
                out.push_back(v);
            }
        }
        return out;
    }
    result<std::vector<std::string_view>> get_string_array(std::string_view key) const {
        return get_array_of<std::string_view>(key);
    }

private:
    // ---- parsing ----
    struct cursor {
        const std::uint8_t* p;
        std::size_t size;
        std::size_t pos;
        std::size_t left() const { return size - pos; }
    };

    static status short_read(const char* what, const detail::printable_name& name, std::size_t need, const cursor& c) {
        return status::fmt(errc::truncated, "gguf: %s%s%s%s needs %zu bytes at byte %zu, the file has %zu left", what,
                           name.c_str()[0] ? " '" : "", name.c_str(), name.c_str()[0] ? "'" : "", need, c.pos,
                           c.left());
    }

    // [u64 length][bytes] -> view; `what` / `name` say whose string it is.
    static status read_string(cursor& c, std::string_view& out, const char* what, const detail::printable_name& name) {
        if (c.left() < 8) return short_read(what, name, 8, c);
        const std::uint64_t n = detail::load_le64(c.p + c.pos);
        if (n > c.left() - 8)
            return status::fmt(errc::truncated,
                               "gguf: %s%s%s%s: string length %llu at byte %zu runs past the end of the file (%zu bytes left)",
                               what, name.c_str()[0] ? " '" : "", name.c_str(), name.c_str()[0] ? "'" : "",
                               (unsigned long long)n, c.pos, c.left() - 8);
        out = std::string_view(reinterpret_cast<const char*>(c.p + c.pos + 8), std::size_t(n));
        c.pos += 8 + std::size_t(n);
        return status::ok();
    }

    static status read_value(cursor& c, gguf_kv& kv) {
        const detail::printable_name k(kv.key);
        const std::size_t es = gguf_scalar_size(kv.type);
        if (kv.type == gguf_value_type::string) return read_string(c, kv.str, "metadata", k);
        if (kv.type != gguf_value_type::array) {
            if (es == 0)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' has unknown value type %u", k.c_str(),
                                   unsigned(kv.type));
            if (c.left() < es) return short_read("metadata", k, es, c);
            kv.scalar = gguf_array(kv.type, 1, c.p + c.pos, es).at(0);
            if (kv.type == gguf_value_type::boolean && kv.scalar.bits > 1)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is a bool with byte value %u (want 0 or 1)",
                                   k.c_str(), unsigned(kv.scalar.bits));
            c.pos += es;
            return status::ok();
        }
        // array: u32 item type, u64 count, items
        if (c.left() < 12) return short_read("array", k, 12, c);
        const auto it = static_cast<gguf_value_type>(detail::load_le32(c.p + c.pos));
        const std::uint64_t n = detail::load_le64(c.p + c.pos + 4);
        c.pos += 12;
        if (it == gguf_value_type::array)
            return status::fmt(errc::unsupported, "gguf: metadata '%s' is an array of arrays (not supported)", k.c_str());
        const std::size_t start = c.pos;
        if (it == gguf_value_type::string) {
            if (n > c.left() / 8)  // each string takes at least its 8-byte length
                return status::fmt(errc::truncated,
                                   "gguf: metadata '%s': array of %llu strings cannot fit in the %zu bytes left", k.c_str(),
                                   (unsigned long long)n, c.left());
            for (std::uint64_t i = 0; i < n; ++i) {
                const std::uint64_t len = c.left() < 8 ? ~std::uint64_t(0) : detail::load_le64(c.p + c.pos);
                if (c.left() < 8 || len > c.left() - 8)
                    return status::fmt(errc::truncated,
                                       "gguf: metadata '%s' item %llu: string length %llu at byte %zu runs past the end of the file",
                                       k.c_str(), (unsigned long long)i, (unsigned long long)len, c.pos);
                c.pos += 8 + std::size_t(len);
            }
        } else {
            const std::size_t ies = gguf_scalar_size(it);
            if (ies == 0)
                return status::fmt(errc::bad_format, "gguf: metadata '%s' is an array of unknown value type %u", k.c_str(),
                                   unsigned(it));
            if (n > c.left() / ies)
                return status::fmt(errc::truncated,
                                   "gguf: metadata '%s': array of %llu %s runs past the end of the file (%zu bytes left)",
                                   k.c_str(), (unsigned long long)n, gguf_value_type_name(it), c.left());
            const std::size_t bytes = std::size_t(n) * ies;
            if (it == gguf_value_type::boolean)
                for (std::size_t i = 0; i < bytes; ++i)
                    if (c.p[c.pos + i] > 1)
                        return status::fmt(errc::bad_format, "gguf: metadata '%s': bool item %zu has byte value %u",
                                           k.c_str(), i, unsigned(c.p[c.pos + i]));
            c.pos += bytes;
        }
        kv.array = gguf_array(it, n, c.p + start, c.pos - start);
        return status::ok();
    }

    status read_tensor_info(cursor& c, std::uint64_t index, gguf_tensor& t) {
        char idx[40];
        std::snprintf(idx, sizeof idx, "#%llu", (unsigned long long)index);
        SMOLVLM_TRY(read_string(c, t.name, "tensor", detail::printable_name(idx)));
        const detail::printable_name nm(t.name);
        if (t.name.empty()) return status::fmt(errc::bad_format, "gguf: tensor %s has an empty name", idx);
        if (t.name.size() > k_gguf_max_name)
            return status::fmt(errc::bad_format, "gguf: tensor name '%s' is %zu bytes (GGUF allows %zu)", nm.c_str(),
                               t.name.size(), k_gguf_max_name);
        if (c.left() < 4) return short_read("tensor", nm, 4, c);
        const std::uint32_t n_dims = detail::load_le32(c.p + c.pos);
        c.pos += 4;
        if (n_dims > std::uint32_t(k_gguf_max_dims))
            return status::fmt(errc::bad_shape, "gguf: tensor '%s' has %u dims (GGUF allows at most %d)", nm.c_str(),
                               n_dims, k_gguf_max_dims);
        t.n_dims = int(n_dims);
        if (c.left() < std::size_t(8) * n_dims + 12) return short_read("tensor", nm, 8 * n_dims + 12, c);
        std::uint64_t numel = 1;
        for (std::uint32_t d = 0; d < n_dims; ++d) {
            const std::uint64_t v = detail::load_le64(c.p + c.pos + 8 * d);
            if (v == 0) return status::fmt(errc::bad_shape, "gguf: tensor '%s' has ne[%u] = 0", nm.c_str(), d);
            if (v > std::uint64_t(INT64_MAX))
                return status::fmt(errc::bad_shape, "gguf: tensor '%s' has ne[%u] = %lld (negative)", nm.c_str(), d,
                                   (long long)v);
            if (v > std::uint64_t(INT64_MAX) / numel)
                return status::fmt(errc::bad_shape, "gguf: tensor '%s': the element count overflows 63 bits", nm.c_str());
            numel *= v;
            t.ne[d] = std::int64_t(v);
        }
        c.pos += std::size_t(8) * n_dims;
        const std::uint32_t type = detail::load_le32(c.p + c.pos);
        t.offset = detail::load_le64(c.p + c.pos + 4);
        c.pos += 12;
        const ggml_type_traits tr = ggml_traits(type);
        if (!tr.known())
            return status::fmt(errc::unsupported, "gguf: tensor '%s' has unknown ggml type %u", nm.c_str(), type);
        t.type = static_cast<ggml_type>(type);
        if (std::uint64_t(t.ne[0]) % tr.block_size != 0)
            return status::fmt(errc::bad_shape, "gguf: tensor '%s': row length ne[0] = %lld is not a multiple of %s's block of %u",
                               nm.c_str(), (long long)t.ne[0], tr.name, tr.block_size);
        std::uint64_t row = 0;
        if (!ggml_row_bytes(t.type, t.ne[0], row) || numel / std::uint64_t(t.ne[0]) > std::uint64_t(INT64_MAX) / row)
            return status::fmt(errc::bad_shape, "gguf: tensor '%s': the byte size overflows 63 bits", nm.c_str());
        const std::uint64_t bytes = row * (numel / std::uint64_t(t.ne[0]));
        // Checked against the data section below (clamped where size_t is 32 bits: still too big).
        t.nbytes = std::size_t(std::min<std::uint64_t>(bytes, std::numeric_limits<std::size_t>::max()));
        return status::ok();
    }

    status parse(const std::uint8_t* bytes, std::size_t size) {
        if (!bytes && size) return status(errc::invalid_argument, "gguf: null buffer");
        size_ = size;
        if (size < 4) return status::fmt(errc::truncated, "gguf: file of %zu bytes is too short for the magic", size);
        if (std::memcmp(bytes, "GGUF", 4) != 0)
            return status::fmt(errc::bad_format, "gguf: bad magic %02x %02x %02x %02x (want \"GGUF\")", bytes[0], bytes[1],
                               bytes[2], bytes[3]);
        if (size < 24) return status::fmt(errc::truncated, "gguf: file of %zu bytes is too short for the 24-byte header", size);
        version_ = detail::load_le32(bytes + 4);
        if (version_ != 0 && (version_ & 0xffffu) == 0)
            return status::fmt(errc::unsupported, "gguf: big-endian file (version bytes %08x) is not supported", version_);
        if (version_ == 1)
            return status(errc::unsupported, "gguf: version 1 (32-bit counts) is not supported; re-convert the model");
        if (version_ != 2 && version_ != 3)
            return status::fmt(errc::unsupported, "gguf: version %u is not supported (2 and 3 are)", version_);
        const std::uint64_t n_tensors = detail::load_le64(bytes + 8);
        const std::uint64_t n_kv = detail::load_le64(bytes + 16);
        cursor c{bytes, size, 24};
        // Smallest possible entries: a key-value is 8 (key length) + 4 (type) + 1 (u8) bytes; a
        // tensor info 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset).
        if (n_kv > c.left() / 13)
            return status::fmt(errc::bad_format, "gguf: metadata count %llu cannot fit in the %zu bytes of the file",
                               (unsigned long long)n_kv, size);
        if (n_tensors > c.left() / 24)
            return status::fmt(errc::bad_format, "gguf: tensor count %llu cannot fit in the %zu bytes of the file",
                               (unsigned long long)n_tensors, size);

        // Reserve a little; growth beyond that is paid for by entries actually read.
        kvs_.reserve(std::size_t(std::min<std::uint64_t>(n_kv, 1024)));
        kv_index_.reserve(std::size_t(std::min<std::uint64_t>(n_kv, 1024)));
        for (std::uint64_t i = 0; i < n_kv; ++i) {
            gguf_kv kv;
            char idx[40];
            std::snprintf(idx, sizeof idx, "#%llu", (unsigned long long)i);
            SMOLVLM_TRY(read_string(c, kv.key, "metadata key", detail::printable_name(idx)));
            const detail::printable_name k(kv.key);
            if (c.left() < 4) return short_read("metadata", k, 4, c);
            kv.type = static_cast<gguf_value_type>(detail::load_le32(c.p + c.pos));
            kv.scalar.type = kv.type;  // string / array: a scalar that is neither integer nor float
            c.pos += 4;
            SMOLVLM_TRY(read_value(c, kv));
            if (!kv_index_.emplace(kv.key, kvs_.size()).second)
                return status::fmt(errc::bad_format, "gguf: duplicate metadata key '%s'", k.c_str());
            kvs_.push_back(kv);
        }

        alignment_ = k_gguf_default_alignment;
        if (const gguf_kv* a = find_kv("general.alignment")) {
            if (a->type != gguf_value_type::u32)
                return status::fmt(errc::bad_format, "gguf: general.alignment has type %s (want u32)",
                                   gguf_value_type_name(a->type));
            alignment_ = std::uint32_t(a->scalar.bits);
            if (alignment_ == 0 || (alignment_ & (alignment_ - 1)) != 0)
                return status::fmt(errc::bad_format, "gguf: general.alignment %u is not a power of two", alignment_);
        }

        tensors_.reserve(std::size_t(std::min<std::uint64_t>(n_tensors, 1024)));
        tensor_index_.reserve(std::size_t(std::min<std::uint64_t>(n_tensors, 1024)));
        for (std::uint64_t i = 0; i < n_tensors; ++i) {
            gguf_tensor t;
            SMOLVLM_TRY(read_tensor_info(c, i, t));
            if (!tensor_index_.emplace(t.name, tensors_.size()).second)
                return status::fmt(errc::bad_format, "gguf: duplicate tensor name '%s'", detail::printable_name(t.name).c_str());
            tensors_.push_back(t);
        }

        // The data section starts at the next multiple of the alignment (no overflow: the
        // header end is at most the file size, the alignment at most 2^31).
        const std::uint64_t header_end = c.pos;
        const std::uint64_t start = (header_end + alignment_ - 1) / alignment_ * alignment_;
        if (start > size) {
            if (!tensors_.empty())
                return status::fmt(errc::truncated,
                                   "gguf: the data section would start at byte %llu, past the end of the %zu-byte file",
                                   (unsigned long long)start, size);
            data_offset_ = size;  // no tensors: the file may end right after the header
        } else {
            data_offset_ = start;
        }
        data_bytes_ = size - data_offset_;
        for (gguf_tensor& t : tensors_) {
            const detail::printable_name nm(t.name);
            if (t.offset % alignment_ != 0)
                return status::fmt(errc::bad_format, "gguf: tensor '%s' offset %llu is not a multiple of the alignment %u",
                                   nm.c_str(), (unsigned long long)t.offset, alignment_);
            if (t.offset > data_bytes_ || t.nbytes > data_bytes_ - t.offset)
                return status::fmt(errc::truncated,
                                   "gguf: tensor '%s' (%s, %zu bytes at offset %llu) runs past the end of the %llu-byte data section",
                                   nm.c_str(), t.type_name(), t.nbytes, (unsigned long long)t.offset,
                                   (unsigned long long)data_bytes_);
            t.data = bytes + data_offset_ + t.offset;
        }
        // No two tensors share a byte: sort by offset, compare neighbours (no tensor is empty).
        std::vector<std::size_t> order(tensors_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return tensors_[a].offset < tensors_[b].offset; });
        for (std::size_t i = 1; i < order.size(); ++i) {
            const gguf_tensor& a = tensors_[order[i - 1]];
            const gguf_tensor& b = tensors_[order[i]];
            if (b.offset < a.offset + a.nbytes)
                return status::fmt(errc::bad_format, "gguf: tensors '%s' and '%s' overlap in the data section",
                                   detail::printable_name(a.name).c_str(), detail::printable_name(b.name).c_str());
        }
        return status::ok();
    }

    // ---- getters ----
    result<const gguf_kv*> lookup(std::string_view key) const {
        const gguf_kv* kv = find_kv(key);
        if (!kv) return status::fmt(errc::bad_format, "gguf: metadata key '%s' is missing", detail::printable_name(key).c_str());
        return kv;
    }
    static status wrong_type(const gguf_kv& kv, const char* want) {
        return status::fmt(errc::bad_format, "gguf: metadata '%s' is %s, want %s", detail::printable_name(kv.key).c_str(),
                           gguf_value_type_name(kv.type), want);
    }
    template <class T>
    result<T> get_int(std::string_view key, const char* tname) const {
        SMOLVLM_ASSIGN_OR_RETURN(const gguf_kv* kv, lookup(key));
        if (!kv->scalar.is_integer()) return wrong_type(*kv, "an integer");
        T v{};
        if (!kv->scalar.to_int(v)) {
            char b[40];
            kv->scalar.format(b, sizeof b);
            return status::fmt(errc::bad_format, "gguf: metadata '%s' = %s does not fit in %s",
                               detail::printable_name(key).c_str(), b, tname);
        }
        return v;
    }

    std::unique_ptr<mapped_file> file_;  // null for caller memory
    std::size_t size_ = 0;
    std::uint32_t version_ = 0;
    std::uint32_t alignment_ = k_gguf_default_alignment;
    std::uint64_t data_offset_ = 0, data_bytes_ = 0;
    std::vector<gguf_kv> kvs_;
    std::vector<gguf_tensor> tensors_;
    std::unordered_map<std::string_view, std::size_t> kv_index_;
    std::unordered_map<std::string_view, std::size_t> tensor_index_;
};

// A numeric metadata value appended to `json` as the member "json_key":value (after a comma
// unless `json` ends with '{'). The family readers (model/smollm.hpp, model/smolvlm.hpp) build a
// config.json-shaped object from GGUF keys and let the config.json reader check it. An absent key
// is an error when `required`, else nothing is appended; `what` names the file in messages
// ("gguf", "gguf mmproj").
inline status append_gguf_number(const gguf_file& f, const std::string& key, const char* json_key, bool required,
                                 const char* what, std::string& json) {
    const gguf_kv* kv = f.find_kv(key);
    if (!kv) {
        if (required) return status::fmt(errc::bad_format, "%s: metadata key '%s' is missing", what, key.c_str());
        return status::ok();
    }
    if (!kv->scalar.is_integer() && !kv->scalar.is_float())
        return status::fmt(errc::bad_format, "%s: metadata '%s' is not a number", what, key.c_str());
    char b[64];
    if (kv->scalar.is_integer()) {
        kv->scalar.format(b, sizeof b);
    } else {
        const double v = kv->scalar.as_f64();
        if (!(v == v) || v > 1e300 || v < -1e300)
            return status::fmt(errc::bad_format, "%s: metadata '%s' is not finite", what, key.c_str());
        std::snprintf(b, sizeof b, "%.17g", v);
    }
    if (!json.empty() && json.back() != '{') json += ",";
    json += "\"" + std::string(json_key) + "\":" + b;
    return status::ok();
}

// ---- writer ----------------------------------------------------------------------------------
//
// Collects metadata and tensors (their bytes are copied) and writes a GGUF v3 file that
// gguf_file (and llama.cpp) read: keys in the order added, tensors in the order added, each
// tensor's data at the next multiple of the alignment.
//
//   gguf_writer w;
//   w.add_string("general.architecture", "llama");
//   w.add_u32("llama.block_count", 2);
//   w.add_string_array("tokenizer.ggml.tokens", tokens);
//   w.add_tensor("token_embd.weight", ggml_type::q8_0, {vocab, hidden}, blocks, nbytes);  // PyTorch order
//   w.write("model.gguf");
class gguf_writer {
public:
    // A power of two; other than 32 it is stored as general.alignment (u32).
    status set_alignment(std::uint32_t a) {
        if (a == 0 || (a & (a - 1)) != 0)
            return status::fmt(errc::invalid_argument, "gguf writer: alignment %u is not a power of two", a);
        alignment_ = a;
        return status::ok();
    }
    // 3 (default) or 2: the same layout for little-endian files.
    status set_version(std::uint32_t v) {
        if (v != 2 && v != 3) return status::fmt(errc::invalid_argument, "gguf writer: version %u (want 2 or 3)", v);
        version_ = v;
        return status::ok();
    }

    status add_u8(std::string_view key, std::uint8_t v) { return add_scalar(key, gguf_value_type::u8, v); }
    status add_i8(std::string_view key, std::int8_t v) { return add_scalar(key, gguf_value_type::i8, std::uint8_t(v)); }
    status add_u16(std::string_view key, std::uint16_t v) { return add_scalar(key, gguf_value_type::u16, v); }
    status add_i16(std::string_view key, std::int16_t v) { return add_scalar(key, gguf_value_type::i16, std::uint16_t(v)); }
    status add_u32(std::string_view key, std::uint32_t v) { return add_scalar(key, gguf_value_type::u32, v); }
    status add_i32(std::string_view key, std::int32_t v) { return add_scalar(key, gguf_value_type::i32, std::uint32_t(v)); }
    status add_u64(std::string_view key, std::uint64_t v) { return add_scalar(key, gguf_value_type::u64, v); }
    status add_i64(std::string_view key, std::int64_t v) { return add_scalar(key, gguf_value_type::i64, std::uint64_t(v)); }
    status add_f32(std::string_view key, float v) { return add_scalar(key, gguf_value_type::f32, f32_to_bits(v)); }
    status add_f64(std::string_view key, double v) {
        std::uint64_t b;
        std::memcpy(&b, &v, 8);
        return add_scalar(key, gguf_value_type::f64, b);
    }
    status add_bool(std::string_view key, bool v) { return add_scalar(key, gguf_value_type::boolean, std::uint8_t(v ? 1 : 0)); }
    status add_string(std::string_view key, std::string_view v) {
        SMOLVLM_TRY(check_key(key));
        std::string b;
        put(b, std::uint32_t(gguf_value_type::string), 4);
        put_string(b, v);
        return push_kv(key, std::move(b));
    }
    // Arrays of integers, float, double or bool (items written little-endian).
    template <class T>
    status add_array(std::string_view key, const T* v, std::size_t n) {
        SMOLVLM_TRY(check_key(key));
        const gguf_value_type t = value_type_of<T>();
        std::string b;
        put(b, std::uint32_t(gguf_value_type::array), 4);
        put(b, std::uint32_t(t), 4);
        put(b, std::uint64_t(n), 8);
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t bits = 0;
            if constexpr (std::is_same<T, bool>::value) {
                bits = v[i] ? 1 : 0;
            } else if constexpr (std::is_same<T, float>::value) {
                bits = f32_to_bits(v[i]);
            } else if constexpr (std::is_same<T, double>::value) {
                std::memcpy(&bits, &v[i], 8);
            } else {
                bits = std::uint64_t(v[i]);  // two's complement; put() keeps the low bytes
            }
            put(b, bits, gguf_scalar_size(t));
        }
        return push_kv(key, std::move(b));
    }
    template <class T>
    status add_array(std::string_view key, const std::vector<T>& v) {
        if constexpr (std::is_same<T, bool>::value) {  // vector<bool> has no data()
            std::unique_ptr<bool[]> tmp(new bool[v.size() ? v.size() : 1]);
            for (std::size_t i = 0; i < v.size(); ++i) tmp[i] = v[i];
            return add_array(key, tmp.get(), v.size());
        } else {
            return add_array(key, v.data(), v.size());
        }
    }
    template <class S>
    status add_string_array(std::string_view key, const std::vector<S>& v) {  // S: std::string or std::string_view
        SMOLVLM_TRY(check_key(key));
        std::string b;
        put(b, std::uint32_t(gguf_value_type::array), 4);
        put(b, std::uint32_t(gguf_value_type::string), 4);
        put(b, std::uint64_t(v.size()), 8);
        for (const auto& e : v) put_string(b, std::string_view(e));
        return push_kv(key, std::move(b));
    }

    // A tensor with its shape in PyTorch order (outermost first): ne is that reversed.
    // nbytes must be what the type and shape take.
    status add_tensor(std::string_view name, ggml_type type, const shape_t& shape, const void* data, std::size_t nbytes) {
        if (shape.ndim > k_gguf_max_dims)
            return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s' has %d dims (at most %d)",
                               detail::printable_name(name).c_str(), shape.ndim, k_gguf_max_dims);
        std::int64_t ne[k_gguf_max_dims] = {1, 1, 1, 1};
        for (int i = 0; i < shape.ndim; ++i) ne[i] = shape.dims[shape.ndim - 1 - i];
        return add_tensor_ne(name, type, ne, shape.ndim, data, nbytes);
    }
    // The same with ne in GGUF order (innermost first).
    status add_tensor_ne(std::string_view name, ggml_type type, const std::int64_t* ne, int n_dims, const void* data,
                         std::size_t nbytes) {
        const detail::printable_name nm(name);
        // The spec allows 64 bytes; llama.cpp keeps names in char[64] with the terminator, so
        // what we write stays at 63 to be readable there.
        if (name.empty() || name.size() >= k_gguf_max_name)
            return status::fmt(errc::invalid_argument, "gguf writer: tensor name '%s' must be 1 to %zu bytes", nm.c_str(),
                               k_gguf_max_name - 1);
        for (const auto& t : tensors_)
            if (t.name == name) return status::fmt(errc::invalid_argument, "gguf writer: duplicate tensor '%s'", nm.c_str());
        if (n_dims < 0 || n_dims > k_gguf_max_dims)
            return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s' has %d dims", nm.c_str(), n_dims);
        const ggml_type_traits tr = ggml_traits(type);
        if (!tr.known()) return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s': unknown ggml type", nm.c_str());
        std::uint64_t numel = 1;
        for (int d = 0; d < n_dims; ++d) {
            if (ne[d] <= 0 || std::uint64_t(ne[d]) > std::uint64_t(INT64_MAX) / numel)
                return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s': bad ne[%d] = %lld", nm.c_str(), d,
                                   (long long)ne[d]);
            numel *= std::uint64_t(ne[d]);
        }
        const std::int64_t ne0 = n_dims > 0 ? ne[0] : 1;
        std::uint64_t row = 0;
        if (!ggml_row_bytes(type, ne0, row))
            return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s': ne[0] = %lld is not a multiple of %s's block of %u",
                               nm.c_str(), (long long)ne0, tr.name, tr.block_size);
        if (numel / std::uint64_t(ne0) > std::uint64_t(INT64_MAX) / row || row * (numel / std::uint64_t(ne0)) != nbytes)
            return status::fmt(errc::invalid_argument, "gguf writer: tensor '%s': %zu bytes do not match %s x its shape",
                               nm.c_str(), nbytes, tr.name);
        tensor t;
        t.name.assign(name.data(), name.size());
        t.type = type;
        t.n_dims = n_dims;
        for (int d = 0; d < n_dims; ++d) t.ne[d] = ne[d];
        if (nbytes) t.bytes.assign(static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + nbytes);
        tensors_.push_back(std::move(t));
        return status::ok();
    }

    // The whole file as bytes.
    std::vector<std::uint8_t> serialize() const {
        std::string h;
        h.append("GGUF", 4);
        put(h, version_, 4);
        put(h, std::uint64_t(tensors_.size()), 8);
        const bool align_key = alignment_ != k_gguf_default_alignment;
        put(h, std::uint64_t(kvs_.size() + (align_key ? 1 : 0)), 8);
        if (align_key) {
            put_string(h, "general.alignment");
            put(h, std::uint32_t(gguf_value_type::u32), 4);
            put(h, alignment_, 4);
        }
        for (const auto& kv : kvs_) {
            put_string(h, kv.first);
            h += kv.second;
        }
        std::uint64_t off = 0;
        for (const auto& t : tensors_) {
            put_string(h, t.name);
            put(h, std::uint32_t(t.n_dims), 4);
            for (int d = 0; d < t.n_dims; ++d) put(h, std::uint64_t(t.ne[d]), 8);
            put(h, std::uint32_t(t.type), 4);
            put(h, off, 8);
            off = pad(off + t.bytes.size());
        }
        std::vector<std::uint8_t> out(h.begin(), h.end());
        if (!tensors_.empty()) out.resize(std::size_t(pad(out.size())), 0);
        for (const auto& t : tensors_) {
            out.insert(out.end(), t.bytes.begin(), t.bytes.end());
            out.resize(std::size_t(out.size() + (pad(t.bytes.size()) - t.bytes.size())), 0);
        }
        return out;
    }

    status write(const char* path) const {
        const std::vector<std::uint8_t> bytes = serialize();
        std::FILE* fp = std::fopen(path, "wb");
        if (!fp) return status::fmt(errc::io, "cannot create '%s'", path);
        const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
        const bool closed = std::fclose(fp) == 0;
        if (!ok || !closed) return status::fmt(errc::io, "write error on '%s'", path);
        return status::ok();
    }

private:
    struct tensor {
        std::string name;
        ggml_type type = ggml_type::f32;
        int n_dims = 0;
        std::int64_t ne[k_gguf_max_dims] = {1, 1, 1, 1};
        std::vector<std::uint8_t> bytes;
    };

    template <class T>
    static constexpr gguf_value_type value_type_of() {
        if constexpr (std::is_same<T, bool>::value) return gguf_value_type::boolean;
        else if constexpr (std::is_same<T, float>::value) return gguf_value_type::f32;
        else if constexpr (std::is_same<T, double>::value) return gguf_value_type::f64;
        else {
            static_assert(std::is_integral<T>::value && sizeof(T) <= 8, "gguf arrays: integers, float, double, bool");
            if constexpr (sizeof(T) == 1) return std::is_signed<T>::value ? gguf_value_type::i8 : gguf_value_type::u8;
            else if constexpr (sizeof(T) == 2) return std::is_signed<T>::value ? gguf_value_type::i16 : gguf_value_type::u16;
            else if constexpr (sizeof(T) == 4) return std::is_signed<T>::value ? gguf_value_type::i32 : gguf_value_type::u32;
            else return std::is_signed<T>::value ? gguf_value_type::i64 : gguf_value_type::u64;
        }
    }
    static void put(std::string& b, std::uint64_t v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) b.push_back(char(std::uint8_t(v >> (8 * i))));
    }
    static void put_string(std::string& b, std::string_view s) {
        put(b, std::uint64_t(s.size()), 8);
        b.append(s.data(), s.size());
    }
    std::uint64_t pad(std::uint64_t n) const { return (n + alignment_ - 1) / alignment_ * alignment_; }

    status check_key(std::string_view key) const {
        if (key.empty()) return status(errc::invalid_argument, "gguf writer: empty metadata key");
        if (key == "general.alignment")
            return status(errc::invalid_argument, "gguf writer: set general.alignment with set_alignment()");
        for (const auto& kv : kvs_)
            if (kv.first == key)
                return status::fmt(errc::invalid_argument, "gguf writer: duplicate metadata key '%s'",
                                   detail::printable_name(key).c_str());
        return status::ok();
    }
    status add_scalar(std::string_view key, gguf_value_type t, std::uint64_t bits) {
        SMOLVLM_TRY(check_key(key));
        std::string b;
        put(b, std::uint32_t(t), 4);
        put(b, bits, gguf_scalar_size(t));
        return push_kv(key, std::move(b));
    }
    status push_kv(std::string_view key, std::string&& encoded) {
        kvs_.emplace_back(std::string(key), std::move(encoded));
        return status::ok();
    }

    std::uint32_t version_ = 3;
    std::uint32_t alignment_ = k_gguf_default_alignment;
    std::vector<std::pair<std::string, std::string>> kvs_;  // key, encoded type + value
    std::vector<tensor> tensors_;
};

}  // namespace smolvlm
