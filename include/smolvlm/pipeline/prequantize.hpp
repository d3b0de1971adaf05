// smolvlm/pipeline/prequantize.hpp — writing (prequantized) checkpoints with bounded memory.
//
//   checkpoint_writer   a list of output tensors, each with a function that produces its
//                       bytes in chunks; write() streams them into one model.safetensors or
//                       shards + model.safetensors.index.json. Nothing is held in memory but
//                       one chunk (16 MiB) and the f16 scales of the shard being written
//                       (1/9 of a q4 shard: at most ~230 MiB with the default 2 GiB shards).
//   quantize_checkpoint a Hugging Face model directory (one file or shards, bf16/f16/f32) ->
//                       a prequantized q4 / q8 directory's weights, matrix by matrix, reading
//                       the source through mmap and handing every page back to the kernel
//                       once it is converted: peak memory stays at the writer's bound
//                       whatever the model size (24B bf16 = 48 GB in, 14 GB out).
//
// File layout (model/weights.hpp has the tensor names and metadata; the loader maps the
// panels in place): in each file the header is padded so the data starts at a multiple
// of 64 bytes, then every packed matrix's panels (multiples of 256 bytes, so each starts
// 64-byte aligned), then their scales, then the other tensors by element size (8, 4, 2, 1
// bytes): contiguous, each aligned to its element size, as any safetensors reader wants.
// A packed matrix's panels and scales share a shard; every shard carries "smolvlm.quant"
// and the "smolvlm.shape.W" keys of the matrices it holds.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/file.hpp"
#include "../io/json.hpp"
#include "../io/safetensors.hpp"
#include "../io/tensor_source.hpp"
#include "../kernels/pack.hpp"
#include "../model/families.hpp"
#include "../model/weights.hpp"
#include "loader.hpp"

namespace smolvlm {

class checkpoint_writer {
public:
    // Panels [p0, p1) of a packed matrix (16 rows each): q gets (p1 - p0) panels' codes,
    // d their (p1 - p0) * cols/32 * 16 f16 scales (the layout of kernels/quant.hpp).
    using fill_panels_fn = std::function<status(std::int64_t p0, std::int64_t p1, std::uint8_t* q, std::uint16_t* d)>;
    // Bytes [off, off + n) of a plain tensor.
    using fill_bytes_fn = std::function<status(std::size_t off, std::size_t n, std::uint8_t* dst)>;

    static constexpr std::size_t k_chunk_bytes = std::size_t(16) << 20;

    // A q4 / q8 matrix [rows, cols] (cols % 32 == 0), written as name.q4_panels + name.q4_scales.
    status add_packed(const std::string& name, dtype type, std::int64_t rows, std::int64_t cols, fill_panels_fn fill) {
        if (type != dtype::q4 && type != dtype::q8) return status(errc::invalid_argument, "add_packed: q4 or q8 only");
        if (rows <= 0 || cols <= 0 || cols % kernels::k_group != 0)
            return status::fmt(errc::bad_shape, "add_packed '%.100s': bad shape", name.c_str());
        item it;
        it.name = name;
        it.type = type;
        it.rows = rows;
        it.cols = cols;
        it.packed = true;
        it.fill_q = std::move(fill);
        items_.push_back(std::move(it));
        return status::ok();
    }
    status add_tensor(const std::string& name, dtype type, const shape_t& shape, fill_bytes_fn fill) {
        if (dtype_size(type) == 0) return status(errc::invalid_argument, "add_tensor: packed dtypes go through add_packed");
        item it;
        it.name = name;
        it.type = type;
        it.shape = shape;
        it.packed = false;
        it.fill_b = std::move(fill);
        items_.push_back(std::move(it));
        return status::ok();
    }
    // Metadata of every file ("format": "pt" is always there).
    void set_metadata(const std::string& key, const std::string& value) { meta_.emplace_back(key, value); }

    struct stats {
        std::size_t files = 0, bytes = 0;   // data + headers
        int packed = 0, plain = 0;
    };

    // Write into `dir` (which must exist): model.safetensors when everything fits in
    // max_shard_bytes, else model-0000k-of-0000n.safetensors + model.safetensors.index.json.
    result<stats> write(const std::string& dir, std::size_t max_shard_bytes = std::size_t(2) << 30) const {
        if (items_.empty()) return status(errc::invalid_argument, "checkpoint_writer: no tensors");
        // Shards: tensors in order, a new shard when the next one would overflow (one tensor
        // larger than the limit gets a shard of its own).
        std::vector<std::vector<std::size_t>> shards(1);
        std::size_t cur = 0;
        for (std::size_t i = 0; i < items_.size(); ++i) {
            const std::size_t b = items_[i].bytes();
            if (!shards.back().empty() && cur + b > max_shard_bytes) {
                shards.emplace_back();
                cur = 0;
            }
            shards.back().push_back(i);
            cur += b;
        }
        stats st;
        const std::size_t n = shards.size();
        std::string index = "{\"metadata\":{\"total_size\":";
        std::string weight_map;
        std::size_t total = 0;
        for (std::size_t s = 0; s < n; ++s) {
            char fname[64];
            if (n == 1) std::snprintf(fname, sizeof fname, "model.safetensors");
            else std::snprintf(fname, sizeof fname, "model-%05zu-of-%05zu.safetensors", s + 1, n);
            std::size_t bytes = 0;
            SMOLVLM_TRY(write_shard(path_join(dir, fname), shards[s], bytes, st));
            st.bytes += bytes;
            ++st.files;
            for (std::size_t i : shards[s]) {
                const item& it = items_[i];
                for (const std::string& nm : it.file_names()) {
                    if (!weight_map.empty()) weight_map += ",";
                    json_append_string(weight_map, nm);
                    weight_map += ":";
                    json_append_string(weight_map, fname);
                }
                total += it.bytes();
            }
        }
        if (n == 1) {
            std::remove(path_join(dir, "model.safetensors.index.json").c_str());  // a stale index would win at load
        } else {
            index += std::to_string(total) + "},\"weight_map\":{" + weight_map + "}}\n";
            const std::string p = path_join(dir, "model.safetensors.index.json");
            std::FILE* f = std::fopen(p.c_str(), "wb");
            if (!f) return status::fmt(errc::io, "cannot create '%s'", p.c_str());
            const bool ok = std::fwrite(index.data(), 1, index.size(), f) == index.size();
            if (std::fclose(f) != 0 || !ok) return status::fmt(errc::io, "write error on '%s'", p.c_str());
            std::remove(path_join(dir, "model.safetensors").c_str());  // a stale single file beside the shards
        }
        return st;
    }

private:
    struct item {
        std::string name;
        dtype type = dtype::f32;
        std::int64_t rows = 0, cols = 0;  // packed
        shape_t shape;                     // plain
        bool packed = false;
        fill_panels_fn fill_q;
        fill_bytes_fn fill_b;

        std::int64_t panels() const { return kernels::panel_count(rows); }
        std::size_t panel_bytes() const { return std::size_t(cols / kernels::k_group) * (type == dtype::q4 ? 256 : 512); }
        std::size_t q_bytes() const { return std::size_t(panels()) * panel_bytes(); }
        std::size_t d_count() const { return kernels::panel_scale_count(rows, cols); }
        std::size_t bytes() const {
            return packed ? q_bytes() + d_count() * 2 : std::size_t(shape.numel()) * dtype_size(type);
        }
        std::vector<std::string> file_names() const {
            if (!packed) return {name};
            return {packed_panels_name(name, type), packed_scales_name(name, type)};
        }
    };

    static status put(std::FILE* f, const void* p, std::size_t n, const std::string& path) {
        if (n && std::fwrite(p, 1, n, f) != n) return status::fmt(errc::io, "write error on '%s'", path.c_str());
        return status::ok();
    }

    status write_shard(const std::string& path, const std::vector<std::size_t>& idx, std::size_t& bytes, stats& st) const {
        // Order: panels, scales, then the rest by element size (alignment; see the top).
        std::vector<std::size_t> plain = {};
        for (std::size_t i : idx)
            if (!items_[i].packed) plain.push_back(i);
        std::stable_sort(plain.begin(), plain.end(), [&](std::size_t a, std::size_t b) {
            return dtype_size(items_[a].type) > dtype_size(items_[b].type);
        });
        std::vector<tensor_spec> specs;
        std::vector<std::pair<std::string, std::string>> meta = {{"format", "pt"}};
        for (const auto& kv : meta_) meta.push_back(kv);
        std::size_t scale_total = 0;
        for (std::size_t i : idx) {
            const item& it = items_[i];
            if (!it.packed) continue;
            specs.push_back(tensor_spec{packed_panels_name(it.name, it.type), dtype::u8,
                                        shape_t{it.panels(), it.cols / kernels::k_group, it.type == dtype::q4 ? 256 : 512}});
            meta.emplace_back(quant_shape_key(it.name), std::to_string(it.rows) + "," + std::to_string(it.cols));
            scale_total += it.d_count();
        }
        for (std::size_t i : idx) {
            const item& it = items_[i];
            if (it.packed)
                specs.push_back(tensor_spec{packed_scales_name(it.name, it.type), dtype::f16,
                                            shape_t{it.panels(), it.cols / kernels::k_group, kernels::k_panel}});
        }
        for (std::size_t i : plain) specs.push_back(tensor_spec{items_[i].name, items_[i].type, items_[i].shape});
        std::string h = safetensors_header(specs, meta).substr(8);
        while ((h.size() + 8) % 64 != 0) h += ' ';
        std::string header(8, '\0');
        for (int b = 0; b < 8; ++b) header[std::size_t(b)] = char(std::uint8_t(std::uint64_t(h.size()) >> (8 * b)));
        header += h;

        std::FILE* f = std::fopen(path.c_str(), "wb");
        if (!f) return status::fmt(errc::io, "cannot create '%s'", path.c_str());
        struct closer {
            std::FILE* f;
            ~closer() {
                if (f) std::fclose(f);
            }
        } guard{f};
        SMOLVLM_TRY(put(f, header.data(), header.size(), path));
        bytes = header.size();
        // Panels, streamed; the shard's scales kept (they are written after every panel).
        std::vector<std::uint16_t> scales(scale_total);
        std::vector<std::uint8_t> buf;
        std::size_t soff = 0;
        for (std::size_t i : idx) {
            const item& it = items_[i];
            if (!it.packed) continue;
            const std::int64_t per = std::max<std::int64_t>(1, std::int64_t(k_chunk_bytes / it.panel_bytes()));
            const std::size_t d_per_panel = std::size_t(it.cols / kernels::k_group) * kernels::k_panel;
            for (std::int64_t p0 = 0; p0 < it.panels(); p0 += per) {
                const std::int64_t p1 = std::min(it.panels(), p0 + per);
                buf.assign(std::size_t(p1 - p0) * it.panel_bytes(), 0);
                std::uint16_t* d = scales.data() + soff + std::size_t(p0) * d_per_panel;
                std::memset(d, 0, std::size_t(p1 - p0) * d_per_panel * 2);
                status s = it.fill_q(p0, p1, buf.data(), d);
                if (!s.is_ok()) return s.prepend((it.name + ": ").c_str());
                SMOLVLM_TRY(put(f, buf.data(), buf.size(), path));
            }
            soff += it.d_count();
            bytes += it.q_bytes();
            ++st.packed;
        }
        SMOLVLM_TRY(put(f, scales.data(), scales.size() * 2, path));
        bytes += scales.size() * 2;
        std::vector<std::uint16_t>().swap(scales);
        for (std::size_t i : plain) {
            const item& it = items_[i];
            const std::size_t n = it.bytes();
            for (std::size_t off = 0; off < n; off += k_chunk_bytes) {
                const std::size_t m = std::min(k_chunk_bytes, n - off);
                buf.assign(m, 0);
                status s = it.fill_b(off, m, buf.data());
                if (!s.is_ok()) return s.prepend((it.name + ": ").c_str());
                SMOLVLM_TRY(put(f, buf.data(), m, path));
            }
            bytes += n;
            ++st.plain;
        }
        guard.f = nullptr;
        if (std::fclose(f) != 0) return status::fmt(errc::io, "write error on '%s'", path.c_str());
        return status::ok();
    }

    std::vector<item> items_;
    std::vector<std::pair<std::string, std::string>> meta_;
};

// ---- quantizing a checkpoint ----------------------------------------------------------------

struct quantize_options {
    weight_format format = weight_format::q4;  // q4 (lm_head q8) or q8
    std::size_t max_shard_bytes = std::size_t(2) << 30;
    thread_pool* pool = nullptr;
    const kernels::kernel_table* kernels = nullptr;  // row quantizers (null: this CPU's best)
    bool release_source_pages = true;  // hand converted source pages back (mmap'd sources only)
};

namespace detail {

// Hand the whole pages inside [p, p + n) of a read-only file mapping back to the kernel:
// they stop counting as this process's memory and are read again if touched.
inline void release_mapped_pages(const void* p, std::size_t n) {
#if SMOLVLM_HAVE_MMAP
    const std::uintptr_t page = std::uintptr_t(::sysconf(_SC_PAGESIZE) > 0 ? ::sysconf(_SC_PAGESIZE) : 4096);
    std::uintptr_t a = (reinterpret_cast<std::uintptr_t>(p) + page - 1) / page * page;
    const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(p) + n) / page * page;
    if (e > a) ::madvise(reinterpret_cast<void*>(a), e - a, MADV_DONTNEED);
#else
    (void)p;
    (void)n;
#endif
}

}  // namespace detail

// The weights of the model directory in_dir, prequantized into out_dir (which must exist;
// the side files are the caller's). The config picks the family; its tensor-name table
// says which matrices are linear layers (as at load time: model::load with this format
// would build the very same panels, byte for byte). Every tensor the table names is
// checked (presence, dtype, shape) before anything is written.
inline result<checkpoint_writer::stats> quantize_checkpoint(const std::string& in_dir, const std::string& out_dir,
                                                            const quantize_options& opt = {}) {
    if (opt.format != weight_format::q4 && opt.format != weight_format::q8)
        return status(errc::invalid_argument, "quantize: the format must be q4 or q8");
    SMOLVLM_ASSIGN_OR_RETURN(model_config cfg, load_model_config(in_dir));
    SMOLVLM_ASSIGN_OR_RETURN(safetensors_set set, safetensors_set::open_dir(in_dir));
    SMOLVLM_ASSIGN_OR_RETURN(tensor_source src, tensor_source::from_safetensors(std::move(set)));
    for (std::size_t i = 0; i < src.n_files(); ++i)
        if (src.file_metadata(i, k_quant_metadata_key))
            return status::fmt(errc::invalid_argument, "'%s' is already prequantized", in_dir.c_str());
    if (!cfg.family) return status(errc::invalid_argument, "the config names no model family");
    std::unique_ptr<model_weights> w(new (std::nothrow) model_weights());
    if (!w) return status(errc::no_memory, "cannot allocate the weights");
    SMOLVLM_TRY(cfg.family->build(cfg, *w));
    SMOLVLM_TRY(bind_slots(src, w->slots, w->owned));  // every named tensor present, with its shape
    if (w->encoder) SMOLVLM_TRY(w->encoder->check());
    if (w->projector) SMOLVLM_TRY(w->projector->check());
    kernels::kernel_table kt = opt.kernels ? *opt.kernels : kernels::select_kernels(detect_cpu());
    const bool release = opt.release_source_pages && src.is_mapped();

    checkpoint_writer out;
    out.set_metadata(k_quant_metadata_key, weight_format_name(opt.format));
    std::vector<std::string> consumed;  // source tensors written in another form
    const tensor_source* S = &src;
    for (const weight_slot& slot : w->slots) {
        if (!slot.linear || !slot.matrix) continue;
        const kernels::weight_matrix m = *slot.matrix;  // bound view (the source's bytes)
        const source_tensor* own = src.find(slot.name);
        // The source of a tied head is the embedding it is tied to.
        const source_tensor* from = own;
        if (!from)
            for (const weight_slot& o : w->slots)
                if (o.matrix == slot.tied_to) from = src.find(o.name);
        const dtype target = detail::format_target(opt.format, m.type, m.cols, slot.is_lm_head);
        if (target == dtype::q4 || target == dtype::q8) {
            const std::size_t row_bytes = std::size_t(m.cols) * dtype_size(m.type);
            const std::uint8_t* base = static_cast<const std::uint8_t*>(m.data);
            const std::int64_t rows = m.rows, cols = m.cols;
            const dtype st = m.type;
            const bool rel = release && own != nullptr && base == own->data;  // (a tied head is released with the embedding)
            SMOLVLM_TRY(out.add_packed(slot.name, target, rows, cols,
                [=, &kt](std::int64_t p0, std::int64_t p1, std::uint8_t* q, std::uint16_t* d) -> status {
                    const std::int64_t r0 = p0 * kernels::k_panel, r1 = std::min(rows, p1 * kernels::k_panel);
                    SMOLVLM_ASSIGN_OR_RETURN(kernels::packed_weight pw,
                                             kernels::pack_weight(base + std::size_t(r0) * row_bytes, st, r1 - r0, cols,
                                                                  target, opt.pool, &kt));
                    const kernels::weight_matrix& pm = pw.matrix();
                    const std::size_t qb = target == dtype::q4 ? kernels::panel_q4_bytes(r1 - r0, cols)
                                                               : kernels::panel_q8_bytes(r1 - r0, cols);
                    std::memcpy(q, pm.data, qb);
                    std::memcpy(d, pm.scales, kernels::panel_scale_count(r1 - r0, cols) * 2);
                    if (rel) detail::release_mapped_pages(base + std::size_t(r0) * row_bytes, std::size_t(r1 - r0) * row_bytes);
                    return status::ok();
                }));
            if (own) consumed.push_back(slot.name);
        } else if (own && target != m.type) {  // a dense fallback, stored as the format makes it (f32)
            const std::int64_t rows = m.rows, cols = m.cols;
            const dtype st = m.type;
            const std::uint8_t* base = static_cast<const std::uint8_t*>(m.data);
            SMOLVLM_TRY(out.add_tensor(slot.name, target, shape_t{rows, cols},
                [=](std::size_t off, std::size_t n, std::uint8_t* dst) -> status {
                    const std::size_t es = dtype_size(target), ss = dtype_size(st);
                    std::vector<float> tmp(n / es);
                    convert_to_f32(st, base + off / es * ss, tmp.data(), tmp.size());
                    for (std::size_t i = 0; i < tmp.size(); ++i) {
                        if (target == dtype::f32) std::memcpy(dst + i * 4, &tmp[i], 4);
                        else {
                            const std::uint16_t h = target == dtype::bf16 ? f32_to_bf16(tmp[i]) : f32_to_f16(tmp[i]);
                            std::memcpy(dst + i * 2, &h, 2);
                        }
                    }
                    return status::ok();
                }));
            consumed.push_back(slot.name);
        }
    }
    // Everything else exactly as stored.
    for (const source_tensor& t : S->tensors()) {
        if (std::find(consumed.begin(), consumed.end(), t.name) != consumed.end()) continue;
        const std::uint8_t* base = t.data;
        SMOLVLM_TRY(out.add_tensor(t.name, t.type, t.shape, [=](std::size_t off, std::size_t n, std::uint8_t* dst) -> status {
            std::memcpy(dst, base + off, n);
            if (release) detail::release_mapped_pages(base + off, n);
            return status::ok();
        }));
    }
    return out.write(out_dir, opt.max_shard_bytes);
}

}  // namespace smolvlm
