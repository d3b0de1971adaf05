// smolvlm-cli — describe images or chat with a SmolVLM / SmolLM model, llama.cpp style.
//
//   smolvlm-cli -m MODEL_DIR [-p PROMPT] [--image FILE]... [--messages FILE.json] [-sys TEXT]
//               [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [-s SEED]
//               [-t THREADS] [-c CTX] [--ignore-eos] [--ids] [--dump FILE.safetensors] [--json-timings] [-cnv]
//               [--dtype native|f32|bf16|q8|q4] [--isa NAME] [--image-mode exact|budget] [--load-image] [-f FILE] [-v]
//               [--grammar FILE.gbnf | --json-schema FILE.json | --json]
//
// Text streams to stdout (flushed per token); the timing summary and errors go to stderr.
// Exit code 1 with one line "error: ..." for any failure.
#include <smolvlm.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using namespace smolvlm;

namespace {

struct cli_args {
    std::string model_dir, prompt, system, messages_file, dump_file, prompt_file;
    std::vector<std::string> images;
    generate_options gen;
    int threads = 0;
    std::int64_t n_ctx = 0;
    bool ids = false, json_timings = false, interactive = false, verbose = false, load_image = false;
    weight_format format = weight_format::native;
    kernels::isa isa = kernels::isa::best;
    resize_mode mode = resize_mode::exact;
    std::string cache_k = "f32", cache_v = "f32";  // KV cache storage (-ctk / -ctv)
    std::string grammar_file, schema_file;          // structured output (--grammar / --json-schema)
    bool json_any = false;                          // --json
};

[[noreturn]] void fail(const std::string& msg) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    std::exit(1);
}

void usage(FILE* f) {
    std::fprintf(f,
        "usage: smolvlm-cli -m MODEL_DIR [options]\n"
        "  -m DIR                  model directory (config.json, model.safetensors, tokenizer.json, ...)\n"
        "  -p TEXT                 prompt (one user turn: images first, then the text)\n"
        "  -f FILE                 read the prompt from a file\n"
        "  --image FILE            image (PNG, JPEG, BMP, GIF, WebP, PPM/PGM); repeatable\n"
        "  --messages FILE.json    Hugging Face chat messages; image/video paths relative to the file\n"
        "  -sys TEXT               system prompt\n"
        "  -n N                    tokens to generate (default 256)\n"
        "  --temp T                temperature (default 0 = greedy)\n"
        "  --top-k K  --top-p P  --min-p P  --repeat-penalty R   sampling filters\n"
        "  -s SEED                 random seed\n"
        "  -t N                    threads (default: all cores)\n"
        "  -c N                    context size in tokens (default: prompt + n, at least 4096)\n"
        "  -ctk T  -ctv T          KV cache type, f32 (default, exact) or f16 (half the memory); K and V alike\n"
        "  --cache-type T          both at once\n"
        "  --ignore-eos            generate exactly -n tokens\n"
        "  --ids                   print prompt_ids: and output_ids: lines after the text\n"
        "  --dump FILE             write the stage tensors (input_ids, pixel_values, ..., logits_last) as safetensors\n"
        "  --json-timings          timing summary as one JSON line on stderr\n"
        "  -cnv                    interactive multi-turn chat on stdin\n"
        "  --dtype F               weights: native (as stored), f32, bf16, q8, q4\n"
        "  --isa NAME              force kernels: scalar, avx2, avx-vnni, avx512, avx512-vnni, neon, neon-dotprod\n"
        "  --image-mode M          exact (as the reference) or budget (no upscaling of small images)\n"
        "  --load-image            convert images to RGB and apply EXIF orientation first (HF load_image)\n"
        "  -v                      print the expanded prompt to stderr\n"
        "  --grammar FILE          constrain the output to a GBNF grammar (llama.cpp syntax, rule root)\n"
        "  --json-schema FILE      constrain the output to JSON valid under a JSON Schema\n"
        "  --json                  constrain the output to any JSON value\n");
}

double to_d(const char* s, const char* flag) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (!end || *end) fail(std::string("bad number for ") + flag + ": '" + s + "'");
    return v;
}

long long to_i(const char* s, const char* flag) {
    char* end = nullptr;
    const long long v = std::strtoll(s, &end, 10);
    if (!end || *end) fail(std::string("bad integer for ") + flag + ": '" + s + "'");
    return v;
}

cli_args parse_args(int argc, char** argv) {
    cli_args a;
    a.gen.max_new_tokens = 256;
    for (int i = 1; i < argc; ++i) {
        const std::string f = argv[i];
        auto val = [&]() -> const char* {
            if (i + 1 >= argc) fail("missing value for " + f);
            return argv[++i];
        };
        if (f == "-h" || f == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (f == "-m" || f == "--model") a.model_dir = val();
        else if (f == "-p" || f == "--prompt") a.prompt = val();
        else if (f == "-f" || f == "--file") a.prompt_file = val();
        else if (f == "--image") a.images.push_back(val());
        else if (f == "--messages") a.messages_file = val();
        else if (f == "-sys" || f == "--system-prompt") a.system = val();
        else if (f == "-n" || f == "--n-predict") a.gen.max_new_tokens = to_i(val(), "-n");
        else if (f == "--temp") a.gen.sampling.temperature = float(to_d(val(), "--temp"));
        else if (f == "--top-k") a.gen.sampling.top_k = to_i(val(), "--top-k");
        else if (f == "--top-p") a.gen.sampling.top_p = float(to_d(val(), "--top-p"));
        else if (f == "--min-p") a.gen.sampling.min_p = float(to_d(val(), "--min-p"));
        else if (f == "--repeat-penalty") a.gen.sampling.repetition_penalty = float(to_d(val(), "--repeat-penalty"));
        else if (f == "-s" || f == "--seed") a.gen.sampling.seed = std::uint64_t(to_i(val(), "-s"));
        else if (f == "-t" || f == "--threads") a.threads = int(to_i(val(), "-t"));
        else if (f == "-c" || f == "--ctx-size") a.n_ctx = to_i(val(), "-c");
        else if (f == "-ctk" || f == "--cache-type-k") a.cache_k = val();
        else if (f == "-ctv" || f == "--cache-type-v") a.cache_v = val();
        else if (f == "--cache-type") a.cache_k = a.cache_v = val();
        else if (f == "--ignore-eos") a.gen.ignore_eos = true;
        else if (f == "--ids") a.ids = true;
        else if (f == "--dump") a.dump_file = val();
        else if (f == "--json-timings") a.json_timings = true;
        else if (f == "-cnv" || f == "--conversation") a.interactive = true;
        else if (f == "-v" || f == "--verbose") a.verbose = true;
        else if (f == "--load-image") a.load_image = true;
        else if (f == "--grammar") a.grammar_file = val();
        else if (f == "--json-schema") a.schema_file = val();
        else if (f == "--json") a.json_any = true;
        else if (f == "--dtype") {
            auto r = parse_weight_format(val());
            if (!r) fail(r.error().message());
            a.format = r.value();
        } else if (f == "--isa") {
            const std::string v = val();
            bool found = false;
            for (kernels::isa k : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx_vnni, kernels::isa::avx512,
                                   kernels::isa::avx512_vnni, kernels::isa::neon, kernels::isa::neon_dotprod})
                if (v == kernels::isa_name(k)) {
                    a.isa = k;
                    found = true;
                }
            if (!found) fail("unknown --isa '" + v + "'");
        } else if (f == "--image-mode") {
            const std::string v = val();
            if (v == "exact") a.mode = resize_mode::exact;
            else if (v == "budget") a.mode = resize_mode::token_budget;
            else fail("--image-mode must be exact or budget");
        } else {
            fail("unknown argument '" + f + "' (see -h)");
        }
    }
    if (a.model_dir.empty()) fail("no model directory: use -m MODEL_DIR (see -h)");
    if (a.gen.max_new_tokens < 0) fail("-n must be >= 0");
    if (a.gen.sampling.temperature < 0) fail("--temp must be >= 0");
    if (a.gen.sampling.top_k < 0) fail("--top-k must be >= 0");
    if (!(a.gen.sampling.top_p > 0.0f && a.gen.sampling.top_p <= 1.0f)) fail("--top-p must be in (0, 1]");
    if (!(a.gen.sampling.min_p >= 0.0f && a.gen.sampling.min_p <= 1.0f)) fail("--min-p must be in [0, 1]");
    if (!(a.gen.sampling.repetition_penalty > 0.0f)) fail("--repeat-penalty must be > 0");
    if (a.threads < 0 || a.threads > 1024) fail("-t must be between 0 and 1024");
    if (a.n_ctx < 0) fail("-c must be >= 0");
    for (const std::string* t : {&a.cache_k, &a.cache_v})
        if (*t != "f32" && *t != "f16") fail("KV cache type '" + *t + "': want f32 or f16");
    if (a.cache_k != a.cache_v) fail("-ctk and -ctv must name the same type (keys and values are stored alike)");
    if (!a.messages_file.empty() && (!a.prompt.empty() || !a.images.empty() || !a.prompt_file.empty()))
        fail("--messages cannot be combined with -p, -f or --image");
    if (int(!a.grammar_file.empty()) + int(!a.schema_file.empty()) + int(a.json_any) > 1)
        fail("use at most one of --grammar, --json-schema and --json");
    return a;
}

// Media files referenced by the messages, decoded, in placeholder order.
struct loaded_media {
    std::vector<image> images;                // every decoded picture / frame (stable storage)
    std::vector<media_input> inputs;
};

struct media_ref {
    bool video = false;
    std::vector<std::string> paths;
    std::vector<double> timestamps;
    double duration = 0.0;
};

std::string resolve(const std::string& base, const std::string& p) { return p.empty() || p[0] == '/' ? p : path_join(base, p); }

// Parse Hugging Face chat messages JSON.
void parse_messages(const std::string& file, std::vector<chat_message>& msgs, std::vector<media_ref>& media) {
    auto text = read_text_file(file.c_str(), std::size_t(64) << 20);
    if (!text) fail(text.error().message());
    auto doc = parse_json(text.value());
    if (!doc) fail(file + ": " + doc.error().message());
    const std::string base = path_dirname(file);
    const json_value* arr = &doc.value();
    if (arr->is_object() && arr->find("messages")) arr = arr->find("messages");
    if (!arr->is_array() || arr->size() == 0) fail(file + ": expected a non-empty list of messages");
    for (const json_value& m : arr->items()) {
        const json_value* role = m.find("role");
        const json_value* content = m.find("content");
        if (!role || !role->is_string() || !content) fail(file + ": every message needs a role and content");
        chat_message cm;
        cm.role = role->as_string();
        if (content->is_string()) {
            cm.content.push_back(chat_part::make_text(content->as_string()));
        } else if (content->is_array()) {
            for (const json_value& part : content->items()) {
                const json_value* type = part.find("type");
                if (!type || !type->is_string()) fail(file + ": a content item has no type");
                const std::string& t = type->as_string();
                if (t == "text") {
                    const json_value* tx = part.find("text");
                    if (!tx || !tx->is_string()) fail(file + ": a text item has no text");
                    cm.content.push_back(chat_part::make_text(tx->as_string()));
                } else if (t == "image") {
                    const json_value* p = part.find("path");
                    if (!p) p = part.find("image");
                    if (!p) p = part.find("url");
                    if (!p || !p->is_string()) fail(file + ": an image item needs a \"path\"");
                    media_ref r;
                    r.paths.push_back(resolve(base, p->as_string()));
                    media.push_back(r);
                    cm.content.push_back(chat_part::make_image());
                } else if (t == "video") {
                    const json_value* fr = part.find("frames");
                    const json_value* ts = part.find("timestamps");
                    const json_value* du = part.find("duration");
                    if (!fr || !fr->is_array() || fr->size() == 0) fail(file + ": a video item needs \"frames\" (paths)");
                    media_ref r;
                    r.video = true;
                    for (const json_value& f : fr->items()) {
                        if (!f.is_string()) fail(file + ": video frames must be paths");
                        r.paths.push_back(resolve(base, f.as_string()));
                    }
                    if (ts) {
                        if (!ts->is_array() || ts->size() != fr->size()) fail(file + ": one timestamp per video frame");
                        for (const json_value& v : ts->items()) {
                            if (!v.is_number()) fail(file + ": timestamps must be numbers");
                            r.timestamps.push_back(v.as_number());
                        }
                    } else {  // one frame per second
                        for (std::size_t k = 0; k < fr->size(); ++k) r.timestamps.push_back(double(k));
                    }
                    r.duration = du && du->is_number() ? du->as_number()
                                                        : (r.timestamps.empty() ? 0.0 : r.timestamps.back() + 1.0);
                    media.push_back(r);
                    cm.content.push_back(chat_part::make_video());
                } else {
                    fail(file + ": unknown content type '" + t + "'");
                }
            }
        } else {
            fail(file + ": content must be a string or a list");
        }
        msgs.push_back(std::move(cm));
    }
}

void load_media(const std::vector<media_ref>& refs, loaded_media& out) {
    std::size_t n = 0;
    for (const auto& r : refs) n += r.paths.size();
    out.images.reserve(n);  // views below point into this vector: no reallocation after this
    for (const auto& r : refs) {
        media_input mi;
        mi.type = r.video ? media_input::kind::video : media_input::kind::image;
        for (const std::string& p : r.paths) {
            auto img = load_image_file(p.c_str());
            if (!img) fail(p + ": " + img.error().message());
            out.images.push_back(std::move(img).value());
            if (r.video) {
                // Frames read from files go through transformers' load_image: EXIF
                // orientation applied, convert("RGB") (alpha dropped, gray replicated).
                image& f = out.images.back();
                apply_exif_orientation(f);
                if (f.channels != 3) {
                    image rgb;
                    rgb.width = f.width;
                    rgb.height = f.height;
                    rgb.channels = 3;
                    rgb.pixels.resize(std::size_t(f.width) * std::size_t(f.height) * 3);
                    convert_rgb_drop_alpha(f.view(), rgb.pixels.data());
                    f = std::move(rgb);
                }
                mi.frames.push_back(f.view());
            } else {
                mi.picture = out.images.back().view();
                mi.orientation = out.images.back().orientation;
            }
        }
        mi.timestamps = r.timestamps;
        mi.duration = r.duration;
        out.inputs.push_back(std::move(mi));
    }
}

double peak_rss_mb() {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

template <class T>
void dump_add(safetensors_writer& w, const std::string& name, const shape_t& s, const T* data) {
    status st = w.add(name, s, data);
    if (!st) fail("--dump " + name + ": " + st.message());
}

struct run_timing {
    double load_ms = 0.0;
};

void print_timings(const cli_args& a, const run_timing& rt, const prepared_prompt& pp, const session& s) {
    const generation_stats& g = s.stats();
    const double prefill_tps = g.prefill_ms > 0 ? double(g.prefill_tokens) / (g.prefill_ms / 1000.0) : 0.0;
    const double decode_tps = g.decode_ms > 0 ? double(g.gen_tokens) / (g.decode_ms / 1000.0) : 0.0;
    const double per_tile = pp.n_tiles - pp.n_tiles_cached > 0 ? pp.encode_ms / double(pp.n_tiles - pp.n_tiles_cached) : 0.0;
    const double ttft = pp.preprocess_ms + pp.encode_ms + g.prefill_ms;
    if (a.json_timings) {
        char extra[200] = "";
        if (a.gen.grammar)  // structured output
            std::snprintf(extra, sizeof extra, ",\"grammar_ms\":%.2f,\"grammar_ms_per_token\":%.4f,\"grammar_masks\":%lld,"
                          "\"grammar_budget_steps\":%lld,\"stopped_by_grammar\":%s", g.grammar_ms,
                          g.gen_tokens ? g.grammar_ms / double(g.gen_tokens) : 0.0, (long long)g.grammar_masks,
                          (long long)g.grammar_budget_steps, g.stopped_by_grammar ? "true" : "false");
        std::fprintf(stderr,
                     "{\"load_ms\":%.2f,\"n_images\":%d,\"n_videos\":%d,\"n_tiles\":%d,\"n_tiles_cached\":%d,"
                     "\"preprocess_ms\":%.2f,\"image_encode_ms\":%.2f,\"image_encode_ms_per_tile\":%.2f,"
                     "\"prompt_tokens\":%lld,\"prefill_tokens\":%lld,\"prefill_ms\":%.2f,\"prefill_tok_s\":%.2f,"
                     "\"ttft_ms\":%.2f,\"gen_tokens\":%lld,\"decode_ms\":%.2f,\"decode_tok_s\":%.2f,\"peak_rss_mb\":%.1f%s}\n",
                     rt.load_ms, pp.n_images, pp.n_videos, pp.n_tiles, pp.n_tiles_cached, pp.preprocess_ms, pp.encode_ms,
                     per_tile, (long long)g.prompt_tokens, (long long)g.prefill_tokens, g.prefill_ms, prefill_tps, ttft,
                     (long long)g.gen_tokens, g.decode_ms, decode_tps, peak_rss_mb(), extra);
    } else {
        std::fprintf(stderr, "\n--- timings ---\nload:        %8.1f ms\n", rt.load_ms);
        if (pp.n_tiles > 0)
            std::fprintf(stderr, "images:      %d image(s), %d video(s), %d tiles (%d cached); preprocess %.1f ms, "
                                 "encode %.1f ms (%.1f ms/tile)\n",
                         pp.n_images, pp.n_videos, pp.n_tiles, pp.n_tiles_cached, pp.preprocess_ms, pp.encode_ms, per_tile);
        std::fprintf(stderr, "prefill:     %lld prompt tokens (%lld computed) in %.1f ms = %.1f tok/s\n",
                     (long long)g.prompt_tokens, (long long)g.prefill_tokens, g.prefill_ms, prefill_tps);
        std::fprintf(stderr, "first token: %.1f ms after the prompt was ready\n", ttft);
        std::fprintf(stderr, "decode:      %lld tokens in %.1f ms = %.1f tok/s\n", (long long)g.gen_tokens, g.decode_ms,
                     decode_tps);
        if (a.gen.grammar)
            std::fprintf(stderr, "grammar:     %.2f ms (%.3f ms/token), %lld full masks%s\n", g.grammar_ms,
                         g.gen_tokens ? g.grammar_ms / double(g.gen_tokens) : 0.0, (long long)g.grammar_masks,
                         g.stopped_by_grammar ? ", stopped: grammar complete" : "");
        std::fprintf(stderr, "peak RSS:    %.1f MB\n", peak_rss_mb());
    }
}

// --dump: every stage of the last turn under the reference's tensor names (fixtures/README.md).
void write_dump(const std::string& file, const model& m, const prepared_prompt& pp, const session& s,
                const llama_trace& trace, const std::vector<float>& logits_last, const std::vector<token_id>& out_ids) {
    safetensors_writer w;
    const std::int64_t L = std::int64_t(pp.ids.size()), D = m.config().text.hidden_size;
    std::vector<std::int64_t> ids64(pp.ids.begin(), pp.ids.end()), gen64(out_ids.begin(), out_ids.end());
    dump_add(w, "input_ids", {1, L}, ids64.data());
    dump_add(w, "logits_last", {m.config().text.vocab_size}, logits_last.data());
    dump_add(w, "generated_ids", {std::int64_t(gen64.size())}, gen64.data());
    dump_add(w, "inputs_embeds", {L, D}, s.traced_inputs().data());
    for (std::size_t l = 0; l < trace.layer_outputs.size(); ++l)
        dump_add(w, "text_layer" + std::to_string(l) + "_output", {L, D}, trace.layer_outputs[l].data());
    dump_add(w, "text_final_hidden", {L, D}, trace.final_hidden.data());
    if (pp.pixel_values.numel() > 0) {
        dump_add(w, "pixel_values", pp.pixel_values.shape(), pp.pixel_values.data());
        dump_add(w, "pixel_attention_mask", pp.pixel_attention_mask.shape(), pp.pixel_attention_mask.data());
        const std::int64_t nt = std::int64_t(pp.traces.size());
        if (nt > 0) dump_add(w, "image_features", {nt, pp.n_image_tokens / nt, D}, pp.features.data());
        // Each vision stage of every tile, stacked: [n_tiles, ...the stage's shape].
        if (nt > 0) {
            for (const vision_trace::stage& first : pp.traces[0].stages) {
                std::vector<std::uint8_t> all;
                bool same = true;
                for (const vision_trace& tr : pp.traces) {
                    const vision_trace::stage* st = tr.find(first.name);
                    if (!st || st->shape != first.shape || st->type != first.type) {
                        same = false;
                        break;
                    }
                    all.insert(all.end(), st->bytes.begin(), st->bytes.end());
                }
                if (!same) continue;
                shape_t sh;
                sh.ndim = first.shape.ndim + 1;
                sh.dims[0] = nt;
                for (int k = 0; k < first.shape.ndim; ++k) sh.dims[k + 1] = first.shape.dims[k];
                status st = w.add(first.name, first.type, sh, all.data(), all.size());
                if (!st) fail(st.message());
            }
        }
    }
    status ws = w.write(file.c_str());
    if (!ws) fail(ws.message());
}

void print_ids(const char* label, const std::vector<token_id>& ids) {
    std::printf("%s:", label);
    for (token_id id : ids) std::printf(" %d", int(id));
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    cli_args a = parse_args(argc, argv);
    const auto t_load = std::chrono::steady_clock::now();
    thread_pool pool(a.threads);
    model_options mo;
    mo.format = a.format;
    mo.isa = a.isa;
    auto loaded = model::load(a.model_dir, mo, &pool);
    if (!loaded) fail(loaded.error().message());
    const model& m = *loaded.value();
    run_timing rt;
    rt.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_load).count();

    // ---- structured output: compile the grammar once, match it over the model's vocabulary ----
    std::unique_ptr<grammar> gram;
    std::unique_ptr<grammar_vocab> gvocab;
    std::unique_ptr<grammar_matcher> gmatch;
    if (!a.grammar_file.empty() || !a.schema_file.empty() || a.json_any) {
        result<grammar> g = status(errc::invalid_argument, "no grammar");
        if (a.json_any) {
            g = json_any_value_grammar();
        } else {
            const std::string& file = a.grammar_file.empty() ? a.schema_file : a.grammar_file;
            auto text = read_text_file(file.c_str(), std::size_t(16) << 20);
            if (!text) fail(text.error().message());
            g = a.grammar_file.empty() ? grammar_from_json_schema(std::string_view(text.value())) : compile_gbnf(text.value());
            if (!g) fail(file + ": " + g.error().message());
        }
        if (!g) fail(g.error().message());
        gram.reset(new grammar(std::move(g).value()));
        gvocab.reset(new grammar_vocab(grammar_vocab_for(m)));
        gmatch.reset(new grammar_matcher(*gram, *gvocab));
        a.gen.grammar = gmatch.get();
    }

    // ---- the conversation ----
    std::vector<chat_message> msgs;
    std::vector<media_ref> refs;
    if (!a.messages_file.empty()) {
        parse_messages(a.messages_file, msgs, refs);
    } else {
        std::string text = a.prompt;
        if (!a.prompt_file.empty()) {
            auto t = read_text_file(a.prompt_file.c_str(), std::size_t(16) << 20);
            if (!t) fail(t.error().message());
            text = t.value();
        }
        if (text.empty() && a.images.empty() && !a.interactive)
            fail("no prompt: use -p TEXT, -f FILE, --messages FILE or -cnv");
        if (text.empty() && !a.images.empty() && !a.interactive) text = "Describe this image.";
        if (a.interactive && text.empty()) {
            // -cnv without -p: the images go with the first line typed.
            for (const std::string& p : a.images) {
                media_ref r;
                r.paths.push_back(p);
                refs.push_back(r);
            }
        } else if (!text.empty() || !a.images.empty()) {
            chat_message u;
            u.role = "user";
            for (const std::string& p : a.images) {  // images first, then the text (as the HF examples)
                media_ref r;
                r.paths.push_back(p);
                refs.push_back(r);
                u.content.push_back(chat_part::make_image());
            }
            if (!text.empty()) u.content.push_back(chat_part::make_text(text));
            msgs.push_back(u);
        }
    }
    loaded_media media;
    load_media(refs, media);

    const std::int64_t n_ctx = a.n_ctx > 0 ? a.n_ctx : std::int64_t(4096) + a.gen.max_new_tokens;
    session_options so;
    so.n_ctx = n_ctx;
    so.kv_type = a.cache_k == "f16" ? dtype::f16 : dtype::f32;
    session s(m, so, &pool);
    image_feature_cache cache;
    prompt_options po;
    po.chat.system_prompt = a.system;
    po.mode = a.mode;
    po.load_image_convention = a.load_image;
    po.keep_traces = !a.dump_file.empty();

    auto run_turn = [&](const std::vector<chat_message>& conv, std::vector<token_id>& out_ids, std::string& out_text,
                        prepared_prompt*& pp_out, prompt_job& job) {
        status st = job.begin(m, s.context(), conv, media.inputs.data(), media.inputs.size(), po, &cache);
        if (!st) fail(st.message());
        st = job.finish();
        if (!st) fail(st.message());
        prepared_prompt& pp = job.prompt();
        pp_out = &pp;
        if (a.verbose) std::fprintf(stderr, "--- prompt (%zu tokens) ---\n%s\n---\n", pp.ids.size(), pp.expanded_text.c_str());
        if (std::int64_t(pp.ids.size()) + a.gen.max_new_tokens > n_ctx)
            fail("the prompt (" + std::to_string(pp.ids.size()) + " tokens) and -n do not fit the context (-c " +
                 std::to_string(n_ctx) + ")");
        llama_trace trace;
        trace.capture_layers = !a.dump_file.empty();
        st = s.prefill(pp.ids, pp.features.data(), pp.n_image_tokens, a.dump_file.empty() ? nullptr : &trace);
        if (!st) fail(st.message());
        std::vector<float> logits_last = s.logits();
        if (a.gen.grammar) a.gen.grammar->reset();  // each turn's answer is one value of the grammar
        st = s.generate(a.gen, [&](token_id, std::string_view piece) {
            out_text += piece;
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
            return true;
        }, &out_ids);
        if (!st) fail(st.message());
        if (!a.dump_file.empty()) write_dump(a.dump_file, m, pp, s, trace, logits_last, out_ids);
    };

    if (!a.interactive) {
        std::vector<token_id> out_ids;
        std::string out_text;
        prepared_prompt* pp = nullptr;
        prompt_job job;
        run_turn(msgs, out_ids, out_text, pp, job);
        std::printf("\n");
        if (a.ids) {
            print_ids("prompt_ids", pp->ids);
            print_ids("output_ids", out_ids);
        }
        std::fflush(stdout);
        print_timings(a, rt, *pp, s);
        return 0;
    }

    // ---- interactive chat ----
    std::vector<chat_message> conv = msgs;
    std::fprintf(stderr, "chat with %s (empty line or Ctrl-D to quit)\n", a.model_dir.c_str());
    bool first = true;
    for (;;) {
        if (!(first && !conv.empty())) {
            std::fprintf(stderr, "> ");
            std::string line;
            if (!std::getline(std::cin, line) || line.empty()) break;
            chat_message u;
            u.role = "user";
            if (first) {
                for (std::size_t k = 0; k < refs.size(); ++k) u.content.push_back(chat_part::make_image());
            }
            u.content.push_back(chat_part::make_text(line));
            conv.push_back(u);
        }
        first = false;
        std::vector<token_id> out_ids;
        std::string out_text;
        prepared_prompt* pp = nullptr;
        prompt_job job;
        run_turn(conv, out_ids, out_text, pp, job);
        std::printf("\n");
        std::fflush(stdout);
        if (a.ids) {
            print_ids("prompt_ids", pp->ids);
            print_ids("output_ids", out_ids);
        }
        print_timings(a, rt, *pp, s);
        chat_message reply;
        reply.role = "assistant";
        // The template adds its own space after "Assistant:"; the model's reply starts with one.
        reply.content.push_back(chat_part::make_text(out_text));
        conv.push_back(reply);
    }
    return 0;
}
