// smolvlm-quantize — write a prequantized model directory.
//
//   smolvlm-quantize IN_DIR OUT_DIR [--dtype q4|q8] [-t THREADS]
//
// Loads IN_DIR the way `smolvlm-cli --dtype q4|q8` does (pipeline/model.hpp decides
// which matrices become q4 / q8 / stay dense), then writes OUT_DIR:
//   - every file of IN_DIR except the safetensors weights, copied byte for byte
//     (config, tokenizer, chat template, processor configs, ...);
//   - model.safetensors: each quantized matrix W as the two tensors the kernels read
//     (W.q4_panels U8 + W.q4_scales F16, layout in model/weights.hpp and
//     kernels/quant.hpp), dense fallbacks (input features not a multiple of 32) as F32,
//     and all other tensors exactly as stored. __metadata__: "smolvlm.quant" = q4|q8,
//     "smolvlm.shape.W" = "rows,cols" per packed matrix.
//
// File layout: the header is padded with spaces so the data section starts at a
// multiple of 64 bytes, and the panels come first (each a multiple of 64 bytes long),
// so every panel tensor starts 64-byte aligned in the file, hence in the mmap. Then
// the scales (multiples of 32 bytes), then the other tensors by element size
// (8, 4, 2, 1 bytes): every tensor stays aligned to its element size with no gaps
// between tensors, so standard safetensors readers accept the file.
//
// Loading OUT_DIR (model::load, any format option native or the stored one) maps the
// panels in place: no conversion, no copy. Errors: one line "error: ..." on stderr, exit 1.
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/loader.hpp>

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace smolvlm;

int fail(const std::string& msg) {
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    return 1;
}

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: smolvlm-quantize IN_DIR OUT_DIR [--dtype q4|q8] [-t THREADS]\n"
                 "  Writes OUT_DIR/model.safetensors with the linear layers prequantized (default q4:\n"
                 "  int4 layers, int8 lm_head) and copies the other files of IN_DIR. Load OUT_DIR\n"
                 "  like any model directory; the packed weights are used in place.\n");
}

// One output tensor: where its bytes are (inside the loaded model or its mmap'd file).
struct out_tensor {
    tensor_spec spec;
    const void* data = nullptr;
    int order = -1;  // 0 panels, 1 scales, 2..5 others by element size (-1: not yet sorted)
};

status copy_file(const std::string& from, const std::string& to) {
    std::FILE* in = std::fopen(from.c_str(), "rb");
    if (!in) return status::fmt(errc::io, "cannot open '%s'", from.c_str());
    std::FILE* out = std::fopen(to.c_str(), "wb");
    if (!out) {
        std::fclose(in);
        return status::fmt(errc::io, "cannot create '%s'", to.c_str());
    }
    char buf[1 << 16];
    bool ok = true;
    for (;;) {
        const std::size_t n = std::fread(buf, 1, sizeof buf, in);
        if (n == 0) break;
        if (std::fwrite(buf, 1, n, out) != n) {
            ok = false;
            break;
        }
    }
    ok = ok && !std::ferror(in);
    std::fclose(in);
    ok = std::fclose(out) == 0 && ok;
    return ok ? status::ok() : status::fmt(errc::io, "cannot copy '%s' to '%s'", from.c_str(), to.c_str());
}

bool ends_with(const std::string& s, const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Copy every regular file of in_dir except the weights.
status copy_side_files(const std::string& in_dir, const std::string& out_dir, int& copied) {
    DIR* d = ::opendir(in_dir.c_str());
    if (!d) return status::fmt(errc::io, "cannot list '%s'", in_dir.c_str());
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) names.push_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
        if (n == "." || n == ".." || ends_with(n, ".safetensors") || n == "model.safetensors.index.json") continue;
        const std::string from = path_join(in_dir, n);
        struct stat st;
        if (::stat(from.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        SMOLVLM_TRY(copy_file(from, path_join(out_dir, n)));
        ++copied;
    }
    return status::ok();
}

// Header (8-byte length + JSON) with the data section starting at a multiple of 64.
// safetensors_header pads to 8; the JSON may end in any number of spaces, so add more.
std::string aligned_header(const std::vector<tensor_spec>& specs,
                           const std::vector<std::pair<std::string, std::string>>& metadata) {
    std::string h = safetensors_header(specs, metadata).substr(8);
    while ((h.size() + 8) % 64 != 0) h += ' ';
    std::string out(8, '\0');
    const std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out[std::size_t(i)] = char(std::uint8_t(n >> (8 * i)));
    return out + h;
}

status write_model(const model& m, const std::string& path, weight_format fmt, std::size_t& file_bytes,
                   int& n_packed, int& n_dense) {
    std::vector<out_tensor> outs;
    std::vector<std::pair<std::string, std::string>> meta = {{"format", "pt"},
                                                             {k_quant_metadata_key, weight_format_name(fmt)}};
    std::vector<std::string> replaced;  // source names written in another form
    for (const named_matrix& nm : m.linear_matrices()) {
        const kernels::weight_matrix& w = nm.matrix;
        if (w.type == dtype::q8 || w.type == dtype::q4) {
            const std::int64_t panels = kernels::panel_count(w.rows), nb = w.cols / kernels::k_group;
            const std::int64_t per = w.type == dtype::q4 ? 256 : 512;
            outs.push_back({tensor_spec{packed_panels_name(nm.name, w.type), dtype::u8, {panels, nb, per}}, w.data, 0});
            outs.push_back({tensor_spec{packed_scales_name(nm.name, w.type), dtype::f16, {panels, nb, kernels::k_panel}},
                            w.scales, 1});
            meta.emplace_back(quant_shape_key(nm.name), std::to_string(w.rows) + "," + std::to_string(w.cols));
            ++n_packed;
        } else if (m.tensors().find(nm.name)) {  // a dense fallback: stored as the format made it (f32)
            outs.push_back({tensor_spec{nm.name, w.type, {w.rows, w.cols}}, w.data, -1});
            ++n_dense;
        } else {
            continue;  // a tied head kept as the embedding: nothing to write
        }
        replaced.push_back(nm.name);
    }
    for (const source_tensor& t : m.tensors().tensors()) {
        if (std::find(replaced.begin(), replaced.end(), t.name) != replaced.end()) continue;
        outs.push_back({tensor_spec{t.name, t.type, t.shape}, t.data, -1});
    }
    for (out_tensor& o : outs)
        if (o.order < 0) {
            const std::size_t es = dtype_size(o.spec.type);
            o.order = es >= 8 ? 2 : es == 4 ? 3 : es == 2 ? 4 : 5;
        }
    std::stable_sort(outs.begin(), outs.end(), [](const out_tensor& a, const out_tensor& b) { return a.order < b.order; });

    std::vector<tensor_spec> specs;
    std::size_t data_bytes = 0;
    for (const out_tensor& o : outs) {
        specs.push_back(o.spec);
        data_bytes += o.spec.nbytes();
    }
    const std::string header = aligned_header(specs, meta);
    std::FILE* fp = std::fopen(path.c_str(), "wb");
    if (!fp) return status::fmt(errc::io, "cannot create '%s'", path.c_str());
    bool ok = std::fwrite(header.data(), 1, header.size(), fp) == header.size();
    for (const out_tensor& o : outs) {
        const std::size_t n = o.spec.nbytes();
        if (ok && n) ok = std::fwrite(o.data, 1, n, fp) == n;
    }
    ok = std::fclose(fp) == 0 && ok;
    if (!ok) return status::fmt(errc::io, "write error on '%s'", path.c_str());
    file_bytes = header.size() + data_bytes;
    return status::ok();
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    std::string dtype_arg = "q4";
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        }
        if (a == "--dtype" || a == "-t") {
            if (i + 1 >= argc) return fail(a + " needs a value");
            const std::string v = argv[++i];
            if (a == "--dtype") {
                dtype_arg = v;
            } else {
                char* end = nullptr;
                const long n = std::strtol(v.c_str(), &end, 10);
                if (!end || *end || n < 0 || n > 1024) return fail("-t needs a thread count (0 = all cores)");
                threads = int(n);
            }
            continue;
        }
        if (!a.empty() && a[0] == '-') return fail("unknown option '" + a + "' (see --help)");
        pos.push_back(a);
    }
    if (pos.size() != 2) {
        usage(stderr);
        return 1;
    }
    if (dtype_arg != "q4" && dtype_arg != "q8") return fail("--dtype must be q4 or q8");
    const weight_format fmt = dtype_arg == "q4" ? weight_format::q4 : weight_format::q8;
    const std::string in = pos[0], out = pos[1];
    if (model::is_gguf_path(in))  // its tensors would need Hugging Face names, config.json and tokenizer.json written
        return fail("'" + in + "': GGUF input is not supported yet; load the GGUF directly (smolvlm-cli -m FILE.gguf)");

    const auto t0 = std::chrono::steady_clock::now();
    thread_pool pool(threads);
    model_options opt;
    opt.format = fmt;
    auto loaded = model::load(in, opt, &pool);
    if (!loaded) return fail(loaded.error().message());
    const model& m = *loaded.value();
    if (m.prequantized()) return fail("'" + in + "' is already prequantized (" + weight_format_name(m.format()) + ")");

    struct stat st;
    if (::stat(out.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return fail("'" + out + "' exists and is not a directory");
    } else if (::mkdir(out.c_str(), 0777) != 0) {
        return fail("cannot create directory '" + out + "'");
    }
    const std::string out_st = path_join(out, "model.safetensors");
    if (out_st == path_join(in, "model.safetensors")) return fail("OUT_DIR must differ from IN_DIR");
    int copied = 0, n_packed = 0, n_dense = 0;
    status s = copy_side_files(in, out, copied);
    if (!s) return fail(s.message());
    std::size_t bytes = 0;
    s = write_model(m, out_st, fmt, bytes, n_packed, n_dense);
    if (!s) return fail(s.message());
    std::size_t in_bytes = 0;
    for (const source_tensor& t : m.tensors().tensors()) in_bytes += t.nbytes;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %s, %d packed matrices, %d dense, %d other files copied; weights %.2f MB -> %.2f MB "
                "(%.1fs)\n",
                out_st.c_str(), weight_format_name(fmt), n_packed, n_dense, copied, double(in_bytes) / 1e6,
                double(bytes) / 1e6, secs);
    return 0;
}
