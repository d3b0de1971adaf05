// smolvlm/io/safetensors.hpp — reading and writing safetensors checkpoints.
//
// Format: [u64 little-endian header length N][N bytes of JSON header][data section].
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets relative to the data section) plus an optional "__metadata__" object of
// string values.
//
// Everything is validated before any tensor is handed out: header length inside the
// file and below a cap, valid JSON object, no duplicate names, known dtype, shape
// products without overflow, data_offsets consistent with dtype x shape, inside the
// data section, no two tensors overlapping. A violation is a status naming the
// tensor, never an out-of-bounds read.
//
// Sources: a path (mmap'd, read fallback), or caller memory (not copied, not freed).
// Sharded checkpoints: `safetensors_set` follows model.safetensors.index.json.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "file.hpp"
#include "json.hpp"

namespace smolvlm {

struct safetensors_options {
    std::uint64_t max_header_bytes = std::uint64_t(100) << 20;  // the reference's own cap is 100 MB
    int max_json_depth = 16;
    bool allow_mmap = true;
};

struct st_tensor {
    std::string name;
    dtype type = dtype::f32;
    shape_t shape;
    std::uint64_t begin = 0, end = 0;     // offsets in the data section
    const std::uint8_t* data = nullptr;   // points into the file / buffer
    std::size_t nbytes = 0;

    tensor_ref ref() const { return tensor_ref{type, shape, data, nbytes}; }
    // True when data is aligned for its element type (bf16/f16: 2, f32: 4...).
    bool aligned() const {
        const std::size_t es = dtype_size(type);
        return es == 0 || (reinterpret_cast<std::uintptr_t>(data) % es) == 0;
    }
};

// Parse a safetensors dtype string. Known-but-unsupported ones give errc::unsupported.
inline result<dtype> parse_safetensors_dtype(std::string_view s) {
    struct entry {
        const char* name;
        dtype t;
    };
    static const entry table[] = {{"F32", dtype::f32}, {"F16", dtype::f16}, {"BF16", dtype::bf16},
                                  {"F64", dtype::f64}, {"I64", dtype::i64}, {"I32", dtype::i32},
                                  {"I16", dtype::i16}, {"I8", dtype::i8},   {"U8", dtype::u8},
                                  {"BOOL", dtype::boolean}};
    for (const auto& e : table)
        if (s == e.name) return e.t;
    static const char* other[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
                                  "C64"};
    for (const char* o : other)
        if (s == o) return status::fmt(errc::unsupported, "dtype %s is not supported", o);
    return status(errc::bad_format, "unknown dtype");
}

class safetensors_file {
public:
    safetensors_file() = default;
    safetensors_file(safetensors_file&&) = default;
    safetensors_file& operator=(safetensors_file&&) = default;
    safetensors_file(const safetensors_file&) = delete;
    safetensors_file& operator=(const safetensors_file&) = delete;

    static result<safetensors_file> open(const char* path, const safetensors_options& opt = {}) {
        SMOLVLM_ASSIGN_OR_RETURN(mapped_file mf, mapped_file::open(path, opt.allow_mmap));
        safetensors_file f;
        f.file_ = std::make_unique<mapped_file>(std::move(mf));
        status s = f.parse(f.file_->data(), f.file_->size(), opt);
        if (!s.is_ok()) {
            std::string ctx = std::string(path) + ": ";
            return s.prepend(ctx.c_str());
        }
        return f;
    }

    // Over caller memory: nothing is copied; the buffer must outlive the object.
    static result<safetensors_file> from_memory(const void* data, std::size_t size,
                                                const safetensors_options& opt = {}) {
        safetensors_file f;
        SMOLVLM_TRY(f.parse(static_cast<const std::uint8_t*>(data), size, opt));
        return f;
    }

    const std::vector<st_tensor>& tensors() const { return tensors_; }
    const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
    const st_tensor* find(std::string_view name) const {
        auto it = index_.find(std::string(name));
        return it == index_.end() ? nullptr : &tensors_[it->second];
    }
    const std::string* find_metadata(std::string_view key) const {
        for (const auto& kv : metadata_)
            if (kv.first == key) return &kv.second;
        return nullptr;
    }
    std::uint64_t header_bytes() const { return header_len_; }
    std::uint64_t data_bytes() const { return data_len_; }
    bool is_mapped() const { return file_ && file_->is_mapped(); }

private:
    status parse(const std::uint8_t* bytes, std::size_t size, const safetensors_options& opt) {
        if (!bytes && size) return status(errc::invalid_argument, "null buffer");
        if (size < 8) return status::fmt(errc::truncated, "safetensors: file of %zu bytes has no header length", size);
        std::uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
        if (n > opt.max_header_bytes)
            return status::fmt(errc::bad_format, "safetensors: header length %llu is over the %llu-byte cap",
                               (unsigned long long)n, (unsigned long long)opt.max_header_bytes);
        if (n > size - 8)
            return status::fmt(errc::truncated, "safetensors: header length %llu runs past the end of the %zu-byte file",
                               (unsigned long long)n, size);
        if (n < 2) return status(errc::bad_format, "safetensors: header is too short to be a JSON object");
        header_len_ = n;
        const std::uint8_t* data = bytes + 8 + n;
        data_len_ = size - 8 - n;

        json_options jo;
        jo.max_depth = opt.max_json_depth;
        auto parsed = parse_json(std::string_view(reinterpret_cast<const char*>(bytes + 8), std::size_t(n)), jo);
        if (!parsed) {
            status s = parsed.error();
            return s.prepend("safetensors header: ");
        }
        const json_value& h = parsed.value();
        if (!h.is_object()) return status(errc::bad_format, "safetensors: header is not a JSON object");
        if (h.has_duplicate_keys()) return status(errc::bad_format, "safetensors: duplicate tensor names in the header");

        tensors_.reserve(h.size());
        for (const auto& m : h.members()) {
            const std::string& name = m.first;
            const json_value& v = m.second;
            if (name == "__metadata__") {
                if (!v.is_object()) return status(errc::bad_format, "safetensors: __metadata__ is not an object");
                for (const auto& kv : v.members()) {
                    if (!kv.second.is_string())
                        return status::fmt(errc::bad_format, "safetensors: __metadata__ value '%.64s' is not a string",
                                           kv.first.c_str());
                    metadata_.emplace_back(kv.first, kv.second.as_string());
                }
                continue;
            }
            st_tensor t;
            t.name = name;
            SMOLVLM_TRY(parse_entry(t, v, data_len_));
            t.data = data + t.begin;
            tensors_.push_back(std::move(t));
        }

        // No overlaps: sort (begin, end) and compare neighbours. Empty tensors overlap nothing.
        std::vector<std::size_t> order(tensors_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return tensors_[a].begin < tensors_[b].begin ||
                   (tensors_[a].begin == tensors_[b].begin && tensors_[a].end < tensors_[b].end);
        });
        const st_tensor* prev = nullptr;
        for (std::size_t i : order) {
            const st_tensor& t = tensors_[i];
            if (t.begin == t.end) continue;
            if (prev && t.begin < prev->end)
                return status::fmt(errc::bad_format, "safetensors: tensors '%.80s' and '%.80s' overlap",
                                   prev->name.c_str(), t.name.c_str());
            prev = &t;
        }
        index_.reserve(tensors_.size());
        for (std::size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
        return status::ok();
    }

    static status parse_entry(st_tensor& t, const json_value& v, std::uint64_t data_len) {
        const char* nm = t.name.c_str();
        if (!v.is_object()) return status::fmt(errc::bad_format, "safetensors: entry '%.80s' is not an object", nm);
        const json_value* dt = v.find("dtype");
        const json_value* sh = v.find("shape");
        const json_value* off = v.find("data_offsets");
        if (!dt || !dt->is_string())
            return status::fmt(errc::bad_format, "safetensors: tensor '%.80s' has no dtype string", nm);
        if (!sh || !sh->is_array())
            return status::fmt(errc::bad_format, "safetensors: tensor '%.80s' has no shape array", nm);
        if (!off || !off->is_array() || off->size() != 2)
            return status::fmt(errc::bad_format, "safetensors: tensor '%.80s' has no [begin, end] data_offsets", nm);
        auto ty = parse_safetensors_dtype(dt->as_string());
        if (!ty) {
            return status::fmt(ty.error().code(), "safetensors: tensor '%.80s': %s '%.16s'", nm, ty.error().message(),
                               dt->as_string().c_str());
        }
        t.type = ty.value();
        if (sh->size() > std::size_t(k_max_dims))
            return status::fmt(errc::unsupported, "safetensors: tensor '%.80s' has %zu dimensions (max %d)", nm,
                               sh->size(), k_max_dims);
        const std::uint64_t es = dtype_size(t.type);
        std::uint64_t bytes = es;
        t.shape.ndim = 0;
        for (const json_value& d : sh->items()) {
            if (!d.is_integer() || d.as_int() < 0)
                return status::fmt(errc::bad_shape, "safetensors: tensor '%.80s' has a negative or non-integer dimension",
                                   nm);
            const std::uint64_t dim = std::uint64_t(d.as_int());
            if (dim != 0 && bytes > (std::uint64_t(INT64_MAX) / dim))
                return status::fmt(errc::bad_shape, "safetensors: tensor '%.80s' shape overflows", nm);
            bytes *= dim;
            t.shape.dims[t.shape.ndim++] = std::int64_t(dim);
        }
        const json_value& b = off->items()[0];
        const json_value& e = off->items()[1];
        if (!b.is_integer() || !e.is_integer() || b.as_int() < 0 || e.as_int() < 0)
            return status::fmt(errc::bad_format, "safetensors: tensor '%.80s' has non-integer or negative offsets", nm);
        t.begin = std::uint64_t(b.as_int());
        t.end = std::uint64_t(e.as_int());
        if (t.end < t.begin)
            return status::fmt(errc::bad_format, "safetensors: tensor '%.80s' ends before it begins", nm);
        if (t.end > data_len)
            return status::fmt(errc::truncated,
                               "safetensors: tensor '%.80s' data [%llu, %llu) is past the end of the %llu-byte data section",
                               nm, (unsigned long long)t.begin, (unsigned long long)t.end,
                               (unsigned long long)data_len);
        if (t.end - t.begin != bytes)
            return status::fmt(errc::bad_shape, "safetensors: tensor '%.80s' has %llu bytes, dtype x shape needs %llu", nm,
                               (unsigned long long)(t.end - t.begin), (unsigned long long)bytes);
        t.nbytes = std::size_t(bytes);
        return status::ok();
    }

    std::unique_ptr<mapped_file> file_;  // null for caller memory
    std::vector<st_tensor> tensors_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<std::pair<std::string, std::string>> metadata_;
    std::uint64_t header_len_ = 0, data_len_ = 0;
};

// One or more safetensors files seen as one set of tensors: a single
// model.safetensors, or the shards named by model.safetensors.index.json.
class safetensors_set {
public:
    // dir: a model directory. Prefers model.safetensors.index.json, else model.safetensors.
    static result<safetensors_set> open_dir(const std::string& dir, const safetensors_options& opt = {}) {
        const std::string index = path_join(dir, "model.safetensors.index.json");
        if (file_exists(index.c_str())) return open_index(index, opt);
        const std::string single = path_join(dir, "model.safetensors");
        if (!file_exists(single.c_str()))
            return status::fmt(errc::io, "no model.safetensors or model.safetensors.index.json in '%s'", dir.c_str());
        return open_file(single, opt);
    }

    static result<safetensors_set> open_file(const std::string& path, const safetensors_options& opt = {}) {
        safetensors_set s;
        SMOLVLM_ASSIGN_OR_RETURN(safetensors_file f, safetensors_file::open(path.c_str(), opt));
        s.files_.push_back(std::make_unique<safetensors_file>(std::move(f)));
        s.build_index();
        return s;
    }

    static result<safetensors_set> from_memory(const void* data, std::size_t size, const safetensors_options& opt = {}) {
        safetensors_set s;
        SMOLVLM_ASSIGN_OR_RETURN(safetensors_file f, safetensors_file::from_memory(data, size, opt));
        s.files_.push_back(std::make_unique<safetensors_file>(std::move(f)));
        s.build_index();
        return s;
    }

    static result<safetensors_set> open_index(const std::string& index_path, const safetensors_options& opt = {}) {
        SMOLVLM_ASSIGN_OR_RETURN(std::string text, read_text_file(index_path.c_str(), std::size_t(64) << 20));
        auto parsed = parse_json(text);
        if (!parsed) {
            status st = parsed.error();
            std::string ctx = index_path + ": ";
            return st.prepend(ctx.c_str());
        }
        const json_value* wm = parsed->find("weight_map");
        if (!wm || !wm->is_object())
            return status::fmt(errc::bad_format, "%s: no weight_map object", index_path.c_str());
        const std::string dir = path_dirname(index_path);
        safetensors_set s;
        std::unordered_map<std::string, std::size_t> shard_of_file;
        for (const auto& m : wm->members()) {
            if (!m.second.is_string())
                return status::fmt(errc::bad_format, "%s: weight_map value for '%.80s' is not a string",
                                   index_path.c_str(), m.first.c_str());
            const std::string& fname = m.second.as_string();
            if (fname.empty() || fname.find('/') != std::string::npos || fname.find('\\') != std::string::npos ||
                fname == "." || fname == "..")
                return status::fmt(errc::bad_format, "%s: shard name '%.80s' is not a plain file name",
                                   index_path.c_str(), fname.c_str());
            if (!shard_of_file.count(fname)) {
                SMOLVLM_ASSIGN_OR_RETURN(safetensors_file f,
                                         safetensors_file::open(path_join(dir, fname).c_str(), opt));
                shard_of_file.emplace(fname, s.files_.size());
                s.files_.push_back(std::make_unique<safetensors_file>(std::move(f)));
            }
            const safetensors_file& shard = *s.files_[shard_of_file[fname]];
            if (!shard.find(m.first))
                return status::fmt(errc::bad_shape, "%s: tensor '%.80s' is not in shard '%.80s'", index_path.c_str(),
                                   m.first.c_str(), fname.c_str());
        }
        s.build_index();
        if (s.duplicate_)
            return status::fmt(errc::bad_format, "%s: tensor '%.80s' appears in two shards", index_path.c_str(),
                               s.duplicate_name_.c_str());
        return s;
    }

    const st_tensor* find(std::string_view name) const {
        auto it = index_.find(std::string(name));
        return it == index_.end() ? nullptr : it->second;
    }
    std::vector<const st_tensor*> all() const {
        std::vector<const st_tensor*> v;
        for (const auto& f : files_)
            for (const auto& t : f->tensors()) v.push_back(&t);
        return v;
    }
    std::size_t n_files() const { return files_.size(); }
    const safetensors_file& file(std::size_t i) const { return *files_[i]; }

private:
    void build_index() {
        for (const auto& f : files_)
            for (const auto& t : f->tensors()) {
                if (!index_.emplace(t.name, &t).second && !duplicate_) {
                    duplicate_ = true;
                    duplicate_name_ = t.name;
                }
            }
    }
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::unordered_map<std::string, const st_tensor*> index_;
    bool duplicate_ = false;
    std::string duplicate_name_;
};

// ---- writer ----------------------------------------------------------------------------------

struct tensor_spec {
    std::string name;
    dtype type = dtype::f32;
    shape_t shape;
    std::size_t nbytes() const { return std::size_t(shape.numel()) * dtype_size(type); }
};

// The header for tensors stored back to back in `specs` order, padded with spaces so
// the data section starts 8-byte aligned, as the reference writer does.
inline std::string safetensors_header(const std::vector<tensor_spec>& specs,
                                      const std::vector<std::pair<std::string, std::string>>& metadata) {
    std::string h = "{";
    bool first = true;
    if (!metadata.empty()) {
        h += "\"__metadata__\":{";
        for (std::size_t i = 0; i < metadata.size(); ++i) {
            if (i) h += ",";
            json_append_string(h, metadata[i].first);
            h += ":";
            json_append_string(h, metadata[i].second);
        }
        h += "}";
        first = false;
    }
    std::uint64_t off = 0;
    for (const auto& e : specs) {
        if (!first) h += ",";
        first = false;
        json_append_string(h, e.name);
        h += ":{\"dtype\":\"";
        h += dtype_name(e.type);
        h += "\",\"shape\":[";
        for (int d = 0; d < e.shape.ndim; ++d) {
            if (d) h += ",";
            h += std::to_string(e.shape.dims[d]);
        }
        h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + e.nbytes()) + "]}";
        off += e.nbytes();
    }
    h += "}";
    while ((h.size() + 8) % 8 != 0) h += ' ';
    std::string out(8, '\0');
    const std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char(std::uint8_t(n >> (8 * i)));
    return out + h;
}

// Collects tensors (copies their bytes) and writes a safetensors file.
class safetensors_writer {
public:
    status add(const std::string& name, dtype type, const shape_t& shape, const void* data, std::size_t nbytes) {
        if (name.empty() || name == "__metadata__") return status(errc::invalid_argument, "bad tensor name");
        for (const auto& e : entries_)
            if (e.spec.name == name) return status::fmt(errc::invalid_argument, "duplicate tensor '%.80s'", name.c_str());
        const std::size_t es = dtype_size(type);
        if (es == 0) return status(errc::unsupported, "packed dtypes are written as U8 tensors");
        if (std::uint64_t(shape.numel()) * es != nbytes)
            return status::fmt(errc::bad_shape, "tensor '%.80s': %zu bytes do not match its shape", name.c_str(), nbytes);
        entry e;
        e.spec = tensor_spec{name, type, shape};
        if (nbytes)
            e.bytes.assign(static_cast<const std::uint8_t*>(data), static_cast<const std::uint8_t*>(data) + nbytes);
        entries_.push_back(std::move(e));
        return status::ok();
    }
    template <class T>
    status add(const std::string& name, const shape_t& shape, const T* data) {
        return add(name, dtype_of<T>::value, shape, data, std::size_t(shape.numel()) * sizeof(T));
    }
    void set_metadata(const std::string& key, const std::string& value) {
        for (auto& kv : metadata_)
            if (kv.first == key) {
                kv.second = value;
                return;
            }
        metadata_.emplace_back(key, value);
    }

    // The whole file as bytes.
    std::vector<std::uint8_t> serialize() const {
        std::vector<tensor_spec> specs;
        std::size_t total = 0;
        for (const auto& e : entries_) {
            specs.push_back(e.spec);
            total += e.bytes.size();
        }
        const std::string h = safetensors_header(specs, metadata_);
        std::vector<std::uint8_t> out;
        out.reserve(h.size() + total);
        out.insert(out.end(), h.begin(), h.end());
        for (const auto& e : entries_) out.insert(out.end(), e.bytes.begin(), e.bytes.end());
        return out;
    }

    status write(const char* path) const {
        std::vector<std::uint8_t> bytes = serialize();
        std::FILE* fp = std::fopen(path, "wb");
        if (!fp) return status::fmt(errc::io, "cannot create '%s'", path);
        const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
        const bool closed = std::fclose(fp) == 0;
        if (!ok || !closed) return status::fmt(errc::io, "write error on '%s'", path);
        return status::ok();
    }

private:
    struct entry {
        tensor_spec spec;
        std::vector<std::uint8_t> bytes;
    };
    std::vector<entry> entries_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

// Writes a large file without holding it in memory: the header from the specs first,
// then each tensor's bytes in spec order through write().
class safetensors_stream_writer {
public:
    safetensors_stream_writer() = default;
    safetensors_stream_writer(const safetensors_stream_writer&) = delete;
    safetensors_stream_writer& operator=(const safetensors_stream_writer&) = delete;
    ~safetensors_stream_writer() {
        if (fp_) std::fclose(fp_);
    }

    status open(const char* path, const std::vector<tensor_spec>& specs,
                const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
        for (const auto& s : specs) {
            if (dtype_size(s.type) == 0) return status(errc::unsupported, "packed dtypes are written as U8 tensors");
            expected_ += s.nbytes();
        }
        fp_ = std::fopen(path, "wb");
        if (!fp_) return status::fmt(errc::io, "cannot create '%s'", path);
        const std::string h = safetensors_header(specs, metadata);
        if (std::fwrite(h.data(), 1, h.size(), fp_) != h.size()) return status::fmt(errc::io, "write error on '%s'", path);
        return status::ok();
    }
    status write(const void* data, std::size_t n) {
        if (!fp_) return status(errc::invalid_argument, "stream writer is not open");
        if (written_ + n > expected_) return status(errc::invalid_argument, "more tensor bytes than the specs declare");
        if (n && std::fwrite(data, 1, n, fp_) != n) return status(errc::io, "write error");
        written_ += n;
        return status::ok();
    }
    status close() {
        if (!fp_) return status(errc::invalid_argument, "stream writer is not open");
        const bool ok = std::fclose(fp_) == 0;
        fp_ = nullptr;
        if (!ok) return status(errc::io, "write error on close");
        if (written_ != expected_)
            return status::fmt(errc::invalid_argument, "wrote %zu tensor bytes, the specs declare %zu", written_, expected_);
        return status::ok();
    }

private:
    std::FILE* fp_ = nullptr;
    std::size_t expected_ = 0, written_ = 0;
};

// Read a stored tensor as f32 (f32/f16/bf16/f64/integers) into out; used by tools and tests.
inline status read_as_f32(const st_tensor& t, std::vector<float>& out) {
    const std::size_t n = std::size_t(t.shape.numel());
    out.resize(n);
    if (convert_to_f32(t.type, t.data, out.data(), n)) return status::ok();
    for (std::size_t i = 0; i < n; ++i) {
        switch (t.type) {
            case dtype::f64: { double v; std::memcpy(&v, t.data + 8 * i, 8); out[i] = float(v); break; }
            case dtype::i64: { std::int64_t v; std::memcpy(&v, t.data + 8 * i, 8); out[i] = float(v); break; }
            case dtype::i32: { std::int32_t v; std::memcpy(&v, t.data + 4 * i, 4); out[i] = float(v); break; }
            case dtype::i16: { std::int16_t v; std::memcpy(&v, t.data + 2 * i, 2); out[i] = float(v); break; }
            case dtype::i8: out[i] = float(std::int8_t(t.data[i])); break;
            case dtype::u8:
            case dtype::boolean: out[i] = float(t.data[i]); break;
            default: return status(errc::unsupported, "cannot convert this dtype to f32");
        }
    }
    return status::ok();
}

// Read an integer tensor (i64/i32/u8/...) as int64.
inline status read_as_i64(const st_tensor& t, std::vector<std::int64_t>& out) {
    const std::size_t n = std::size_t(t.shape.numel());
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        switch (t.type) {
            case dtype::i64: std::memcpy(&out[i], t.data + 8 * i, 8); break;
            case dtype::i32: { std::int32_t v; std::memcpy(&v, t.data + 4 * i, 4); out[i] = v; break; }
            case dtype::i16: { std::int16_t v; std::memcpy(&v, t.data + 2 * i, 2); out[i] = v; break; }
            case dtype::i8: out[i] = std::int8_t(t.data[i]); break;
            case dtype::u8:
            case dtype::boolean: out[i] = t.data[i]; break;
            default: return status(errc::unsupported, "not an integer tensor");
        }
    }
    return status::ok();
}

}  // namespace smolvlm
