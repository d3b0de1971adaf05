// libFuzzer target for the GGUF reader (io/gguf.hpp), the ggml dequantizers
// (kernels/ggml_blocks.hpp) and the exact repack into engine q8/q4 panels (kernels/ggml_repack.hpp).
//   scripts/fuzz.sh 600 gguf
//
// Each input is read twice:
//   1. as given;
//   2. "padded": when it was refused as truncated, again with zeros appended up to 256 KB, so
//      a header cut from a real file (the seeds are fixture GGUFs cut to 64 KB) or mutated
//      offsets reach the tensor checks, the dequantizers and the repack.
// Accepted files are checked against what the reader promises (tensors inside the data
// section, aligned, nbytes = type x shape, no overlap, lookups find every entry), every
// metadata value is read through the getters, every tensor's bytes are read, the first rows of
// every decodable tensor are dequantized, and small matrices of Q4_0/Q8_0/Q5_0/IQ4_NL are
// packed into q8 / q4 panels and compared with the dequantized values bit for bit.
// The metadata parsers behind model::load_gguf run on every accepted file too: the
// tokenizer (text/gguf_tokenizer.hpp: tokenizer.ggml.* -> tokenizer.json -> tokenizer, then
// an encode / decode round trip) and each family's config reader (the file as the text
// model, and as its own mmproj).
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/kernels/ggml_blocks.hpp>
#include <smolvlm/kernels/ggml_repack.hpp>
#include <smolvlm/model/families.hpp>
#include <smolvlm/text/gguf_tokenizer.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace smolvlm;
namespace gg = smolvlm::kernels::ggml;

unsigned read_metadata(const gguf_file& f) {
    unsigned sum = 0;
    for (const gguf_kv& kv : f.metadata()) {
        if (f.find_kv(kv.key) != &kv) __builtin_trap();
        sum += unsigned(kv.key.size());
        const std::string_view k = kv.key;
        switch (kv.type) {
            case gguf_value_type::string: sum += unsigned(f.get_string(k)->size()); break;
            case gguf_value_type::boolean: sum += *f.get_bool(k); break;
            case gguf_value_type::f32:
            case gguf_value_type::f64: sum += unsigned(*f.get_f32(k) > 0.0f); break;
            case gguf_value_type::array: {
                const gguf_array a = *f.get_array(k);
                if (a.size() > (std::uint64_t(1) << 16)) break;
                if (a.type() == gguf_value_type::string) {
                    auto v = f.get_string_array(k);
                    if (!v.is_ok() || v->size() != a.size()) __builtin_trap();
                    for (std::string_view s : *v) sum += s.empty() ? 0u : unsigned(std::uint8_t(s.back()));
                } else if (a.type() == gguf_value_type::f32 || a.type() == gguf_value_type::f64) {
                    if (!f.get_array_of<double>(k).is_ok()) __builtin_trap();
                } else if (a.type() == gguf_value_type::boolean) {
                    if (!f.get_array_of<bool>(k).is_ok()) __builtin_trap();
                } else {
                    auto v = f.get_array_of<std::int64_t>(k);  // fails only for u64 items above INT64_MAX
                    if (!v.is_ok() && a.type() != gguf_value_type::u64) __builtin_trap();
                    (void)f.get_array_of<std::uint8_t>(k);
                }
                break;
            }
            default: {  // integers: every getter, in range or not
                if (!kv.scalar.is_integer()) __builtin_trap();
                sum += f.get_u8(k).is_ok() + f.get_i8(k).is_ok() + f.get_u32(k).is_ok() + f.get_i32(k).is_ok();
                sum += f.get_u64(k).is_ok() + f.get_i64(k).is_ok();
                if (f.get_string(k).is_ok()) __builtin_trap();
            }
        }
    }
    return sum;
}

// Value (r, c) of a q4 / q8 panel weight.
float panel_value(const kernels::weight_matrix& w, std::int64_t r, std::int64_t c) {
    const std::int64_t nb = w.cols / kernels::k_group;
    const float d = kernels::panel_scale(static_cast<const std::uint16_t*>(w.scales), nb, r, c);
    const auto* q = static_cast<const std::uint8_t*>(w.data);
    return w.type == dtype::q4 ? d * float(kernels::panel_q4_code(q, nb, r, c) - 8)
                               : d * float(kernels::panel_q8_value(q, nb, r, c));
}

unsigned read_tensors(const gguf_file& f, const std::uint8_t* buf, std::size_t size) {
    const std::uint8_t* data_begin = buf + f.data_offset();
    const std::uint8_t* end = buf + size;
    // With no tensors the file may end right after the header (data_offset = file size, unpadded).
    if (f.data_offset() > size || f.data_offset() + f.data_bytes() != size) __builtin_trap();
    if (!f.tensors().empty() && f.data_offset() % f.alignment() != 0) __builtin_trap();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
    unsigned sum = 0;
    for (const gguf_tensor& t : f.tensors()) {
        if (f.find(t.name) != &t) __builtin_trap();
        if (t.data < data_begin || t.nbytes > std::size_t(end - t.data)) __builtin_trap();
        if (std::uint64_t(t.data - data_begin) != t.offset || t.offset % f.alignment() != 0) __builtin_trap();
        if (t.n_dims < 0 || t.n_dims > 4 || t.name.empty() || t.name.size() > 64) __builtin_trap();
        std::uint64_t row = 0;
        if (!ggml_row_bytes(t.type, t.ne[0], row) || row * std::uint64_t(t.n_rows()) != t.nbytes) __builtin_trap();
        if (t.shape().numel() != t.numel()) __builtin_trap();
        spans.emplace_back(t.offset, t.offset + t.nbytes);
        for (std::size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];

        if (!gg::can_dequantize(t.type)) continue;
        const std::int64_t rows = std::min<std::int64_t>(t.n_rows(), 4);
        if (t.row_length() * rows > (std::int64_t(1) << 20)) continue;
        std::vector<float> y(std::size_t(t.row_length() * rows));
        if (!gg::dequantize_row(t.type, t.data, y.data(), t.row_length() * rows).is_ok()) __builtin_trap();
        for (float v : y) sum += v > 0.0f;

        // Exact repack of small matrices into engine panels.
        if (t.n_dims != 2 || t.numel() > 65536) continue;
        for (dtype target : {dtype::q8, dtype::q4}) {
            if (!kernels::engine_holds_exactly(t.type, target)) continue;
            auto p = kernels::pack_ggml_weight(t.data, t.type, t.n_rows(), t.row_length(), target);
            if (!p.is_ok()) __builtin_trap();
            for (std::int64_t r = 0; r < rows; ++r)
                for (std::int64_t c = 0; c < t.row_length(); ++c) {
                    const float a = panel_value(p->matrix(), r, c), b = y[std::size_t(r * t.row_length() + c)];
                    if (std::memcmp(&a, &b, 4) != 0) __builtin_trap();
                }
        }
    }
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].first < spans[i - 1].second) __builtin_trap();
    return sum;
}

// Returns the error code (errc::ok when accepted).
errc check(const std::uint8_t* buf, std::size_t size) {
    auto r = gguf_file::from_memory(buf, size);
    if (!r.is_ok()) {
        const char* m = r.error().message();
        if (std::strncmp(m, "gguf: ", 6) != 0 || std::strchr(m, '\n')) __builtin_trap();
        return r.error().code();
    }
    const unsigned sum = read_metadata(r.value()) + read_tensors(r.value(), buf, size);
    volatile unsigned sink = sum;  // keep the reads observable
    (void)sink;
    return errc::ok;
}

}  // namespace

// The GGUF metadata parsers of model::load_gguf on an accepted file.
void metadata_parsers(const std::uint8_t* data, std::size_t size) {
    auto f = gguf_file::from_memory(data, size);
    if (!f.is_ok()) return;
    if (const gguf_kv* t = f->find_kv("tokenizer.ggml.tokens"); t && t->array.size() <= 4096) {
        auto tok = tokenizer_from_gguf(*f);
        if (tok.is_ok()) {
            const std::vector<token_id> ids = tok->encode("Hello <|im_start|>world 12345 w\xc3\xa9!");
            (void)tok->decode(ids);
        }
    }
    for (const model_family* fam : k_families) {
        if (!fam->read_gguf) continue;
        model_config c;
        if (fam->read_gguf(*f, fam->gguf_mmproj ? &*f : nullptr, c).is_ok()) {
            model_weights w;  // the tensor-name table for that config (no binding: sizes only)
            if (c.text.num_hidden_layers <= 64 && c.vision.num_hidden_layers <= 64) (void)fam->build(c, w);
        }
    }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::uint8_t> buf(data, data + size);  // exactly sized: ASan sees one byte past the end
    const errc e = check(buf.data(), buf.size());
    if (e == errc::ok) metadata_parsers(buf.data(), buf.size());
    if (e != errc::truncated) return 0;
    constexpr std::size_t k_padded = std::size_t(256) << 10;
    if (size >= k_padded) return 0;
    buf.resize(k_padded, 0);
    if (check(buf.data(), buf.size()) == errc::ok) metadata_parsers(buf.data(), buf.size());
    return 0;
}
