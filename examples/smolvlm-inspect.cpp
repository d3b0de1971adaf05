// smolvlm-inspect — print what is inside a model directory, a .safetensors or a .gguf file.
//
//   smolvlm-inspect MODEL_DIR          config summary, then every tensor, then totals
//   smolvlm-inspect FILE.safetensors   header metadata, then every tensor, then totals
//   smolvlm-inspect FILE.gguf          version, alignment, every metadata key (arrays
//                                      summarized: item type, length, first items), then
//                                      every tensor (ggml type, shape, GGUF ne, bytes), totals
//
// Tensors are listed in natural name order (layers.2 before layers.10): name, dtype, shape
// (PyTorch order, outermost first), bytes; totals count parameters as elements of the
// logical matrices (a packed q8/q4 pair counts rows x cols once). For a model dir the
// tensors are also bound against the family's tensor-name table (missing / mis-shaped
// tensors are an error). A file starting with "GGUF" is read as GGUF. Bad input: one line "error: ..." on stderr, exit status 1.
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/io/tensor_source.hpp>
#include <smolvlm/model/families.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace smolvlm;

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: smolvlm-inspect [-h] PATH\n"
                 "  PATH  a model directory (config.json + model.safetensors or\n"
                 "        model.safetensors.index.json), one .safetensors file or one .gguf file\n"
                 "Prints the config summary (model dirs), the header metadata (files), every\n"
                 "tensor sorted by name (dtype, shape, bytes), and totals.\n");
}

int fail(const status& s) {
    // One line: messages never contain newlines, but be sure.
    std::string m = s.message();
    std::replace(m.begin(), m.end(), '\n', ' ');
    std::fprintf(stderr, "error: %s\n", m.c_str());
    return 1;
}

void print_config(const model_config& c) {
    const text_config& t = c.text;
    std::printf("arch: %s (%s)\n", model_arch_name(c.arch), c.has_vision ? "vision + text" : "text only");
    std::printf("text: hidden %" PRId64 ", layers %" PRId64 ", heads %" PRId64 "/%" PRId64 " (head_dim %" PRId64
                "), ffn %" PRId64 ", vocab %" PRId64 "\n",
                t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.head_dim,
                t.intermediate_size, t.vocab_size);
    std::printf("      rope_theta %g, rms_norm_eps %g, max_position_embeddings %" PRId64 ", act %s\n", t.rope_theta,
                t.rms_norm_eps, t.max_position_embeddings, t.hidden_act.c_str());
    if (c.arch == model_arch::smollm3) {
        std::printf("      layers without RoPE (NoPE):");
        int n = 0;
        for (std::size_t i = 0; i < t.use_rope.size(); ++i)
            if (!t.use_rope[i]) {
                std::printf(" %zu", i);
                ++n;
            }
        std::printf("%s\n", n ? "" : " none");
    }
    if (c.has_vision) {
        const vision_config& v = c.vision;
        std::printf("vision: hidden %" PRId64 ", layers %" PRId64 ", heads %" PRId64 ", ffn %" PRId64 ", image %" PRId64
                    " px, patch %" PRId64 " (%" PRId64 "x%" PRId64 " patches), eps %g, act %s\n",
                    v.hidden_size, v.num_hidden_layers, v.num_attention_heads, v.intermediate_size, v.image_size,
                    v.patch_size, v.patches_per_side(), v.patches_per_side(), v.layer_norm_eps, v.hidden_act.c_str());
        std::printf("connector: scale_factor %" PRId64 ", image_seq_len %" PRId64 ", image_token_id %" PRId64 "\n",
                    c.scale_factor, c.image_seq_len(), c.image_token_id);
    }
    std::printf("tie_word_embeddings: %s\n", c.tie_word_embeddings ? "true" : "false");
    const generation_config& g = c.generation;
    std::printf("generation: bos %" PRId64 ", eos [", g.bos_token_id);
    for (std::size_t i = 0; i < g.eos_token_ids.size(); ++i) std::printf(i ? ", %" PRId64 : "%" PRId64, g.eos_token_ids[i]);
    std::printf("], pad %" PRId64 ", %s", g.pad_token_id, g.do_sample ? "sampling" : "greedy");
    if (g.do_sample) std::printf(" (temperature %g, top_p %g, top_k %" PRId64 ")", g.temperature, g.top_p, g.top_k);
    std::printf("\n");
}

// "layers.2" before "layers.10": digit runs compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
        if (da && db) {
            std::size_t i2 = i, j2 = j;
            while (i2 < a.size() && a[i2] >= '0' && a[i2] <= '9') ++i2;
            while (j2 < b.size() && b[j2] >= '0' && b[j2] <= '9') ++j2;
            std::size_t za = i, zb = j;  // skip leading zeros, then compare by length and digits
            while (za + 1 < i2 && a[za] == '0') ++za;
            while (zb + 1 < j2 && b[zb] == '0') ++zb;
            if (i2 - za != j2 - zb) return i2 - za < j2 - zb;
            const int c = a.compare(za, i2 - za, b, zb, j2 - zb);
            if (c != 0) return c < 0;
            i = i2, j = j2;
            continue;
        }
        if (a[i] != b[j]) return a[i] < b[j];
        ++i, ++j;
    }
    return a.size() - i < b.size() - j;
}

// One listed tensor: what the file stores, and how many parameters it holds (a packed
// q8/q4 matrix counts its logical rows x cols, given by the file's smolvlm.shape metadata).
struct listed {
    std::string name;
    const char* type;
    shape_t shape;
    std::size_t nbytes;
    std::uint64_t params;
};

std::uint64_t packed_params(const std::string& name, const std::string* shape_meta) {
    long long r = 0, c = 0;
    if (!shape_meta || std::sscanf(shape_meta->c_str(), "%lld,%lld", &r, &c) != 2 || r < 0 || c < 0) return 0;
    (void)name;
    return std::uint64_t(r) * std::uint64_t(c);
}

// Parameters of a stored tensor; the metadata lookup gives a packed matrix's logical shape.
template <class Meta>
std::uint64_t count_params(const std::string& name, const shape_t& shape, Meta meta) {
    for (const char* suffix : {".q4_panels", ".q8_panels"}) {
        const std::size_t n = std::strlen(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) {
            const std::string base = name.substr(0, name.size() - n);
            return packed_params(base, meta("smolvlm.shape." + base));
        }
    }
    for (const char* suffix : {".q4_scales", ".q8_scales"}) {
        const std::size_t n = std::strlen(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) return 0;  // counted with the panels
    }
    return std::uint64_t(shape.numel());
}

void print_tensors(std::vector<listed> ts) {
    std::sort(ts.begin(), ts.end(), [](const listed& a, const listed& b) { return natural_less(a.name, b.name); });
    std::size_t width = 4;
    for (const listed& t : ts) width = std::max(width, t.name.size());
    if (width > 80) width = 80;
    std::printf("\n%-*s  %-5s  %-22s  %s\n", int(width), "name", "dtype", "shape", "bytes");
    std::uint64_t bytes = 0, params = 0;
    for (const listed& t : ts) {
        char shape[96];
        shape_str(t.shape, shape, sizeof shape);
        std::printf("%-*s  %-5s  %-22s  %zu\n", int(width), t.name.c_str(), t.type, shape, t.nbytes);
        bytes += t.nbytes;
        params += t.params;
    }
    std::printf("\ntotal: %zu tensors, %" PRIu64 " bytes (%.2f MiB), %" PRIu64 " parameters (%.2f M)\n", ts.size(),
                bytes, double(bytes) / (1024.0 * 1024.0), params, double(params) / 1e6);
}

int inspect_dir(const std::string& dir) {
    auto cfg = load_model_config(dir);
    if (!cfg) return fail(cfg.error());
    auto set = safetensors_set::open_dir(dir);
    if (!set) return fail(set.error());
    const std::size_t n_files = set->n_files();
    auto src = tensor_source::from_safetensors(std::move(set).value());
    if (!src) return fail(src.error());
    // Bind every tensor the family's table names, as the loader would (nothing converted).
    model_weights w;
    status s = cfg->family->build(cfg.value(), w);
    if (s) s = bind_slots(src.value(), w.slots, w.owned);
    if (!s) return fail(s.prepend("weights do not match config.json: "));
    std::printf("model: %s\n", dir.c_str());
    print_config(cfg.value());
    std::printf("files: %zu safetensors file%s\n", n_files, n_files == 1 ? "" : "s");
    std::vector<listed> ts;
    for (const source_tensor& t : src->tensors())
        ts.push_back(listed{t.name, dtype_name(t.type), t.shape, t.nbytes,
                            count_params(t.name, t.shape, [&](const std::string& k) { return src->metadata(k); })});
    print_tensors(std::move(ts));
    return 0;
}

int inspect_file(const std::string& path) {
    auto f = safetensors_file::open(path.c_str());
    if (!f) return fail(f.error());
    std::printf("file: %s\n", path.c_str());
    std::printf("header: %" PRIu64 " bytes, data: %" PRIu64 " bytes\n", f->header_bytes(), f->data_bytes());
    std::printf("metadata:%s\n", f->metadata().empty() ? " none" : "");
    for (const auto& kv : f->metadata()) std::printf("  %s: %s\n", kv.first.c_str(), kv.second.c_str());
    std::vector<listed> ts;
    for (const auto& t : f->tensors())
        ts.push_back(listed{t.name, dtype_name(t.type), t.shape, t.nbytes,
                            count_params(t.name, t.shape, [&](const std::string& k) { return f->find_metadata(k); })});
    print_tensors(std::move(ts));
    return 0;
}

// ---- GGUF ----------------------------------------------------------------------------------

// s with control bytes, quotes and backslashes escaped; cut after `max` bytes.
std::string escaped(std::string_view s, std::size_t max) {
    std::string o;
    const std::size_t n = s.size() < max ? s.size() : max;
    for (std::size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n') o += "\\n";
        else if (c == '\t') o += "\\t";
        else if (c == '"' || c == '\\') o += std::string("\\") + char(c);
        else if (c < 0x20 || c == 0x7f) {
            char b[8];
            std::snprintf(b, sizeof b, "\\x%02x", c);
            o += b;
        } else {
            o += char(c);
        }
    }
    return o;
}

// "text", or "first 48 bytes"... (N bytes) when longer.
std::string quoted(std::string_view s, std::size_t max = 48) {
    std::string o = "\"" + escaped(s, max) + "\"";
    if (s.size() > max) o += "... (" + std::to_string(s.size()) + " bytes)";
    return o;
}

std::string scalar_text(const gguf_scalar& v) {
    char b[48];
    v.format(b, sizeof b);
    return b;
}

void print_gguf_value(const gguf_kv& kv) {
    if (kv.type == gguf_value_type::string) {
        std::printf("string = %s\n", quoted(kv.str).c_str());
        return;
    }
    if (kv.type != gguf_value_type::array) {
        std::printf("%s = %s\n", gguf_value_type_name(kv.type), scalar_text(kv.scalar).c_str());
        return;
    }
    const gguf_array& a = kv.array;
    std::printf("array[%s x %llu] = [", gguf_value_type_name(a.type()), (unsigned long long)a.size());
    const std::uint64_t show = a.size() < 4 ? a.size() : 4;
    if (a.type() == gguf_value_type::string) {
        std::uint64_t i = 0;
        for (std::string_view s : a.strings()) {
            if (i == show) break;
            std::printf(i ? ", %s" : "%s", quoted(s, 24).c_str());
            ++i;
        }
    } else {
        for (std::uint64_t i = 0; i < show; ++i) std::printf(i ? ", %s" : "%s", scalar_text(a.at(i)).c_str());
    }
    std::printf("%s]\n", a.size() > show ? ", ..." : "");
}

int inspect_gguf(const std::string& path) {
    auto f = gguf_file::open(path.c_str());
    if (!f) return fail(f.error());
    std::printf("file: %s\n", path.c_str());
    std::printf("gguf: version %u, alignment %u, %zu metadata keys, %zu tensors, data at byte %llu (%llu bytes)\n",
                f->version(), f->alignment(), f->metadata().size(), f->tensors().size(),
                (unsigned long long)f->data_offset(), (unsigned long long)f->data_bytes());
    std::printf("metadata:%s\n", f->metadata().empty() ? " none" : "");
    for (const gguf_kv& kv : f->metadata()) {
        std::printf("  %s%s: ", escaped(kv.key, 96).c_str(), kv.key.size() > 96 ? "..." : "");
        print_gguf_value(kv);
    }
    std::vector<const gguf_tensor*> ts;
    for (const auto& t : f->tensors()) ts.push_back(&t);
    std::sort(ts.begin(), ts.end(), [](const gguf_tensor* a, const gguf_tensor* b) { return natural_less(std::string(a->name), std::string(b->name)); });
    std::size_t width = 4;
    for (const gguf_tensor* t : ts) width = std::max(width, t->name.size());
    std::printf("\n%-*s  %-7s  %-22s  %-22s  %s\n", int(width), "name", "type", "shape", "ne (gguf)", "bytes");
    std::uint64_t bytes = 0, params = 0;
    std::vector<std::pair<std::string, int>> per_type;
    for (const gguf_tensor* t : ts) {
        char shape[96], ne[96];
        shape_str(t->shape(), shape, sizeof shape);
        shape_t g;
        g.ndim = t->n_dims;
        for (int i = 0; i < t->n_dims; ++i) g.dims[i] = t->ne[i];
        shape_str(g, ne, sizeof ne);
        std::printf("%-*s  %-7s  %-22s  %-22s  %zu\n", int(width), escaped(t->name, 64).c_str(), t->type_name(), shape,
                    ne, t->nbytes);
        bytes += t->nbytes;
        params += std::uint64_t(t->numel());
        auto it = std::find_if(per_type.begin(), per_type.end(),
                               [&](const std::pair<std::string, int>& e) { return e.first == t->type_name(); });
        if (it == per_type.end())
            per_type.emplace_back(t->type_name(), 1);
        else
            ++it->second;
    }
    std::printf("\ntotal: %zu tensors, %" PRIu64 " bytes (%.2f MiB), %" PRIu64 " parameters (%.2f M)\n", ts.size(),
                bytes, double(bytes) / (1024.0 * 1024.0), params, double(params) / 1e6);
    std::printf("types:");
    for (std::size_t i = 0; i < per_type.size(); ++i)
        std::printf("%s %s x %d", i ? "," : "", per_type[i].first.c_str(), per_type[i].second);
    std::printf("%s\n", per_type.empty() ? " none" : "");
    return 0;
}

bool starts_with_gguf_magic(const char* path) {
    std::FILE* fp = std::fopen(path, "rb");
    if (!fp) return false;
    char m[4] = {0, 0, 0, 0};
    const bool ok = std::fread(m, 1, 4, fp) == 4 && std::memcmp(m, "GGUF", 4) == 0;
    std::fclose(fp);
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            std::fprintf(stderr, "error: unknown option '%s' (see -h)\n", argv[i]);
            return 1;
        }
        if (path) {
            std::fprintf(stderr, "error: one PATH only (see -h)\n");
            return 1;
        }
        path = argv[i];
    }
    if (!path) {
        std::fprintf(stderr, "error: no PATH given (see -h)\n");
        return 1;
    }
    struct stat sb;
    if (::stat(path, &sb) != 0) return fail(status::fmt(errc::io, "cannot open '%s'", path));
    if (S_ISDIR(sb.st_mode)) return inspect_dir(path);
    return starts_with_gguf_magic(path) ? inspect_gguf(path) : inspect_file(path);
}
