// smolvlm-quantize — write a prequantized model directory.
//
//   smolvlm-quantize IN_DIR OUT_DIR [--dtype q4|q8] [-t THREADS] [--shard-mb N]
//
// Converts IN_DIR's weights (one model.safetensors or shards with
// model.safetensors.index.json) matrix by matrix with bounded memory
// (pipeline/prequantize.hpp: the source is mmap'd and each converted range handed back,
// the output streamed; peak RSS stays near the writer's chunk + one shard's scales,
// whatever the model size), making the same matrices q4 / q8 / dense as
// `smolvlm-cli --dtype q4|q8` would at load, then writes OUT_DIR:
//   - every file of IN_DIR except the safetensors weights, copied byte for byte
//     (config, tokenizer, chat template, processor configs, ...);
//   - model.safetensors (or model-0000k-of-0000n.safetensors + model.safetensors.index.json
//     when over --shard-mb, default 2048): each quantized matrix W as the two tensors the kernels read
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
#include <smolvlm/pipeline/prequantize.hpp>

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
                 "usage: smolvlm-quantize IN_DIR OUT_DIR [--dtype q4|q8] [-t THREADS] [--shard-mb N]\n"
                 "  Writes OUT_DIR/model.safetensors with the linear layers prequantized (default q4:\n"
                 "  int4 layers, int8 lm_head) and copies the other files of IN_DIR. Load OUT_DIR\n"
                 "  like any model directory; the packed weights are used in place.\n");
}

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

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> pos;
    std::string dtype_arg = "q4";
    int threads = 0;
    long long shard_mb = 2048;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        }
        if (a == "--dtype" || a == "-t" || a == "--shard-mb") {
            if (i + 1 >= argc) return fail(a + " needs a value");
            const std::string v = argv[++i];
            if (a == "--dtype") {
                dtype_arg = v;
            } else {
                char* end = nullptr;
                const long long n = std::strtoll(v.c_str(), &end, 10);
                if (a == "-t") {
                    if (!end || *end || n < 0 || n > 1024) return fail("-t needs a thread count (0 = all cores)");
                    threads = int(n);
                } else {
                    if (!end || *end || n < 1 || n > (1 << 20)) return fail("--shard-mb needs a size in MiB (>= 1)");
                    shard_mb = n;
                }
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
    struct stat st;
    if (::stat(in.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return fail("'" + in + "' is not a model directory");
    if (::stat(out.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return fail("'" + out + "' exists and is not a directory");
    } else if (::mkdir(out.c_str(), 0777) != 0) {
        return fail("cannot create directory '" + out + "'");
    }
    struct stat si, so;
    if (::stat(in.c_str(), &si) == 0 && ::stat(out.c_str(), &so) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
        return fail("OUT_DIR must differ from IN_DIR");
    thread_pool pool(threads);
    quantize_options qo;
    qo.format = fmt;
    qo.pool = &pool;
    qo.max_shard_bytes = std::size_t(shard_mb) << 20;
    auto r = quantize_checkpoint(in, out, qo);
    if (!r) return fail(r.error().message());
    int copied = 0;
    status s = copy_side_files(in, out, copied);
    if (!s) return fail(s.message());
    std::size_t in_bytes = 0;
    {
        auto set = safetensors_set::open_dir(in);
        if (set)
            for (const st_tensor* t : set->all()) in_bytes += t->nbytes;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %s, %d packed matrices, %d other tensors in %zu file(s), %d other files copied; weights "
                "%.2f MB -> %.2f MB (%.1fs)\n",
                out.c_str(), weight_format_name(fmt), r->packed, r->plain, r->files, copied, double(in_bytes) / 1e6,
                double(r->bytes) / 1e6, secs);
    return 0;
}
