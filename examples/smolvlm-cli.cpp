// smolvlm-cli — describe images or chat with a SmolVLM / SmolLM model, llama.cpp style.
//
//   smolvlm-cli -m MODEL_DIR|MODEL.gguf [--mmproj MMPROJ.gguf] [--raw-prompt [--bos]] [-p PROMPT] [--image FILE]... [--messages FILE.json] [-sys TEXT]
//               [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R] [-s SEED]
//               [-t THREADS] [-c CTX] [--ignore-eos] [--ids] [--dump FILE.safetensors] [--json-timings] [-cnv]
//               [--dtype native|f32|bf16|q8|q4] [--isa NAME] [--image-mode exact|budget] [--load-image] [-f FILE] [-v]
//               [--date YYYY-MM-DD] [--chat-template-kwargs JSON] [--think | --no-think] [--color auto|always|never]
//               [--grammar FILE.gbnf | --json-schema FILE.json | --json]
//
// Text streams to stdout (flushed per token); the timing summary and errors go to stderr.
// Exit code 1 with one line "error: ..." for any failure.
//
// Reasoning models (SmolLM3): the thinking part of a reply, <think> ... </think>, is streamed
// as it comes; on a terminal (--color auto) it is shown dim, tags included, so it stands apart
// from the answer; into a pipe or file it passes through as plain text with its tags. -cnv
// keeps each reply verbatim as the assistant turn (the SmolLM3 template keeps a think block in
// /think mode and adds the empty one itself in /no_think mode).
#include <smolvlm.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
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
    std::string model_dir, mmproj, prompt, system, messages_file, dump_file, prompt_file;
    bool raw_prompt = false, add_bos = false;
    std::vector<std::string> images;
    generate_options gen;
    int threads = 0;
    std::int64_t n_ctx = 0;
    bool ids = false, json_timings = false, interactive = false, verbose = false, load_image = false;
    weight_format format = weight_format::native;
    kernels::isa isa = kernels::isa::best;
    resize_mode mode = resize_mode::exact;
    std::string cache_k = "auto", cache_v = "auto";  // KV cache storage (-ctk / -ctv)
    std::string date;                     // --date YYYY-MM-DD, as the template prints it ("07 December 2026")
    json_value template_kwargs;           // --chat-template-kwargs (a JSON object) + --think / --no-think
    int color = -1;                       // --color: -1 auto (a terminal), 0 never, 1 always
    std::string grammar_file, schema_file;          // structured output (--grammar / --json-schema)
    bool json_any = false;                          // --json
};

// -ctk/-ctv auto: a quantized model's error dwarfs f16's rounding of K and V, and f16 halves the
// bytes each decoded token reads from the cache; native weights keep the exact f32 cache.
dtype kv_type_for(const cli_args& a, const model& m) {
    const bool quantized = m.format() == weight_format::q8 || m.format() == weight_format::q4;
    return a.cache_k == "f16" || (a.cache_k == "auto" && quantized) ? dtype::f16 : dtype::f32;
}

[[noreturn]] void fail(const std::string& msg) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", msg.c_str());
    std::exit(1);
}

void usage(FILE* f) {
    std::fprintf(f,
        "usage: smolvlm-cli -m MODEL_DIR|MODEL.gguf [options]\n"
        "  -m DIR|FILE.gguf        model directory (config.json, model.safetensors, tokenizer.json, ...) or a GGUF file\n"
        "  --mmproj FILE.gguf      the vision file of a GGUF pair (SmolVLM: -m text.gguf --mmproj mmproj.gguf)\n"
        "  --raw-prompt            tokenize -p / -f as it is: special tokens recognised, no chat template, no BOS\n"
        "  --bos                   with --raw-prompt: put the tokenizer's BOS first\n"
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
        "  -c N                    context size in tokens (default: max(4096, prompt + n))\n"
        "  -ctk T  -ctv T          KV cache type: auto (default: f16 for q8/q4 weights, f32 otherwise), f32\n"
        "                          (exact: what the goldens check) or f16 (half the memory); K and V alike\n"
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
        "  --date YYYY-MM-DD       the date chat templates print (SmolLM3's \"Today Date\"; default: today)\n"
        "  --chat-template-kwargs J  template variables as a JSON object, e.g. '{\"enable_thinking\": false}'\n"
        "                          (SmolLM3: enable_thinking, xml_tools, python_tools, tools)\n"
        "  --think, --no-think     shorthands for enable_thinking true / false (a /think or /no_think in the\n"
        "                          system prompt still wins, as in the template)\n"
        "  --color WHEN            auto (default), always or never: show a reply's thinking part\n"
        "                          (<think> ... </think>) dim on a terminal; otherwise it is printed as is\n"
        "  --grammar FILE          constrain the output to a GBNF grammar (llama.cpp syntax, rule root)\n"
        "  --json-schema FILE      constrain the output to JSON valid under a JSON Schema\n"
        "  --json                  constrain the output to any JSON value\n"
        "--messages FILE: a JSON list of {\"role\": system|user|assistant|tool, \"content\": string or list of\n"
        "  parts}, or {\"messages\": [...], \"tools\": [...]}. SmolLM3's template, like transformers, renders\n"
        "  list content as an empty string: give its content as strings.\n");
}

double to_d(const char* s, const char* flag) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (!end || *end) fail(std::string("bad number for ") + flag + ": '" + s + "'");
    return v;
}

// o[key] = v (replacing a member of that name).
void json_set(json_value& o, const std::string& key, json_value v) {
    for (auto& m : o.members_mut())
        if (m.first == key) {
            m.second = std::move(v);
            return;
        }
    o.members_mut().emplace_back(key, std::move(v));
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
        else if (f == "--mmproj") a.mmproj = val();
        else if (f == "--raw-prompt") a.raw_prompt = true;
        else if (f == "--bos") a.add_bos = true;
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
        else if (f == "--date") {
            auto d = parse_template_date(val());
            if (!d) fail(std::string("--date: ") + d.error().message());
            a.date = d.value();
        } else if (f == "--chat-template-kwargs") {
            const char* v = val();
            auto j = parse_json(v);
            if (!j) fail(std::string("--chat-template-kwargs: ") + j.error().message());
            if (!j->is_object()) fail("--chat-template-kwargs must be a JSON object, e.g. '{\"enable_thinking\": false}'");
            if (j->has_duplicate_keys()) fail("--chat-template-kwargs: repeated keys");
            // keys given before (--think / --no-think) stay unless this object sets them
            json_value merged = j.value();
            if (a.template_kwargs.is_object())
                for (const auto& kv : a.template_kwargs.members())
                    if (!merged.find(kv.first)) json_set(merged, kv.first, kv.second);
            a.template_kwargs = std::move(merged);
        } else if (f == "--think" || f == "--no-think") {
            if (!a.template_kwargs.is_object()) a.template_kwargs = json_value::make_object();
            json_set(a.template_kwargs, "enable_thinking", json_value::make_bool(f == "--think"));
        } else if (f == "--color") {
            const std::string v = val();
            if (v == "auto") a.color = -1;
            else if (v == "always" || v == "on") a.color = 1;
            else if (v == "never" || v == "off") a.color = 0;
            else fail("--color must be auto, always or never");
        }
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
        if (*t != "auto" && *t != "f32" && *t != "f16") fail("KV cache type '" + *t + "': want auto, f32 or f16");
    if (a.cache_k != a.cache_v) fail("-ctk and -ctv must name the same type (keys and values are stored alike)");
    if (!a.messages_file.empty() && (!a.prompt.empty() || !a.images.empty() || !a.prompt_file.empty()))
        fail("--messages cannot be combined with -p, -f or --image");
    if (a.raw_prompt && (!a.messages_file.empty() || !a.images.empty() || a.interactive || !a.dump_file.empty()))
        fail("--raw-prompt takes -p or -f only (no --messages, --image, -cnv or --dump)");
    if (a.add_bos && !a.raw_prompt) fail("--bos goes with --raw-prompt");
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

// Parse Hugging Face chat messages JSON: a list of messages, or {"messages": [...],
// "tools": [...]} (tools: apply_chat_template's tools). A message's content is a string, a
// list of parts, or null / absent (an assistant turn that only calls tools).
void parse_messages(const std::string& file, std::vector<chat_message>& msgs, std::vector<media_ref>& media,
                    json_value* tools) {
    auto text = read_text_file(file.c_str(), std::size_t(64) << 20);
    if (!text) fail(text.error().message());
    auto doc = parse_json(text.value());
    if (!doc) fail(file + ": " + doc.error().message());
    const std::string base = path_dirname(file);
    const json_value* arr = &doc.value();
    if (arr->is_object()) {
        if (const json_value* t = arr->find("tools"); t && !t->is_null()) {
            if (!t->is_array()) fail(file + ": \"tools\" must be a list");
            *tools = *t;
        }
        arr = arr->find("messages");
        if (!arr) fail(file + ": an object needs \"messages\"");
    }
    if (!arr->is_array() || arr->size() == 0) fail(file + ": expected a non-empty list of messages");
    for (const json_value& m : arr->items()) {
        const json_value* role = m.find("role");
        const json_value* content = m.find("content");
        if (!m.is_object() || !role || !role->is_string()) fail(file + ": every message needs a \"role\" string");
        const std::string& r = role->as_string();
        if (r != "system" && r != "user" && r != "assistant" && r != "tool")
            fail(file + ": role '" + r + "' is not one of system, user, assistant, tool");
        chat_message cm;
        cm.role = r;
        if (!content || content->is_null()) {
            // no content: renders as an empty string
        } else if (content->is_string()) {
            cm.content.push_back(chat_part::make_text(content->as_string()));
        } else if (content->is_array()) {
            cm.content_is_list = true;
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
            fail(file + ": content must be a string, a list of parts or null");
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
            if (!img) fail(img.error().message());  // load_image_file already names the file
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
    std::size_t decode_weight_bytes = 0;  // weight bytes the matmuls read per decoded token
    std::size_t kv_cache_bytes = 0;       // the session's KV cache
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
                     "\"ttft_ms\":%.2f,\"gen_tokens\":%lld,\"decode_ms\":%.2f,\"decode_tok_s\":%.2f,\"peak_rss_mb\":%.1f,"
                     "\"decode_weight_bytes\":%zu,\"kv_cache_bytes\":%zu%s}\n",
                     rt.load_ms, pp.n_images, pp.n_videos, pp.n_tiles, pp.n_tiles_cached, pp.preprocess_ms, pp.encode_ms,
                     per_tile, (long long)g.prompt_tokens, (long long)g.prefill_tokens, g.prefill_ms, prefill_tps, ttft,
                     (long long)g.gen_tokens, g.decode_ms, decode_tps, peak_rss_mb(), rt.decode_weight_bytes,
                     rt.kv_cache_bytes, extra);
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
    if (pp.per_image_traces && !pp.image_pixels.empty()) {  // Mistral 3: per picture, stages concatenated
        std::vector<std::int64_t> sizes;
        for (std::size_t k = 0; k < pp.image_pixels.size(); ++k) {
            const std::string ks = std::to_string(k);
            dump_add(w, "pixel_values_" + ks, pp.image_pixels[k].shape(), pp.image_pixels[k].data());
            if (k < pp.resized_images.size()) {
                const image& r = pp.resized_images[k];
                dump_add(w, "image" + ks + "_resized", {r.height, r.width, 3}, r.pixels.data());
            }
            sizes.push_back(pp.pixtral_plans[k].resized_height);
            sizes.push_back(pp.pixtral_plans[k].resized_width);
        }
        dump_add(w, "image_sizes", {std::int64_t(pp.image_pixels.size()), 2}, sizes.data());
        dump_add(w, "image_features", {pp.n_image_tokens, D}, pp.features.data());
        if (!pp.traces.empty()) {
            for (const vision_trace::stage& first : pp.traces[0].stages) {
                std::vector<std::uint8_t> all;
                std::int64_t rows = 0;
                bool same = true;
                for (const vision_trace& tr : pp.traces) {
                    const vision_trace::stage* st = tr.find(first.name);
                    if (!st || st->type != first.type || st->shape.ndim != 2 || st->shape[1] != first.shape[1]) {
                        same = false;
                        break;
                    }
                    all.insert(all.end(), st->bytes.begin(), st->bytes.end());
                    rows += st->shape[0];
                }
                if (!same) continue;
                status st = w.add(first.name, first.type, shape_t{rows, first.shape[1]}, all.data(), all.size());
                if (!st) fail(st.message());
            }
        }
    } else if (pp.pixel_values.numel() > 0) {
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
    auto loaded = !a.mmproj.empty() ? model::load_gguf(a.model_dir, a.mmproj, mo, &pool) : model::load(a.model_dir, mo, &pool);
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

    // ---- a raw prompt: the text's ids as they are ----
    if (a.raw_prompt) {
        std::string text = a.prompt;
        if (!a.prompt_file.empty()) {
            auto t = read_text_file(a.prompt_file.c_str(), std::size_t(16) << 20);
            if (!t) fail(t.error().message());
            text = t.value();
        }
        if (text.empty()) fail("--raw-prompt needs -p TEXT or -f FILE");
        prepared_prompt pp;
        pp.chat_text = pp.expanded_text = text;
        if (a.add_bos) {
            if (m.config().generation.bos_token_id < 0) fail("--bos: the model names no BOS token");
            pp.ids.push_back(token_id(m.config().generation.bos_token_id));
        }
        m.tok().encode_append(text, pp.ids);
        if (pp.ids.empty()) fail("the prompt tokenizes to nothing");
        const std::int64_t ctx = a.n_ctx > 0 ? a.n_ctx : std::int64_t(pp.ids.size()) + a.gen.max_new_tokens + 16;
        session_options so;
        so.n_ctx = ctx;
        so.kv_type = kv_type_for(a, m);
        session s(m, so, &pool);
        if (std::int64_t(pp.ids.size()) + a.gen.max_new_tokens > ctx) fail("the prompt and -n do not fit the context (-c)");
        status st = s.prefill(pp.ids);
        if (!st) fail(st.message());
        std::vector<token_id> out_ids;
        st = s.generate(a.gen, [&](token_id, std::string_view piece) {
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
            return true;
        }, &out_ids);
        if (!st) fail(st.message());
        std::printf("\n");
        if (a.ids) {
            print_ids("prompt_ids", pp.ids);
            print_ids("output_ids", out_ids);
        }
        std::fflush(stdout);
        print_timings(a, rt, pp, s);
        return 0;
    }

    // ---- the conversation ----
    std::vector<chat_message> msgs;
    std::vector<media_ref> refs;
    json_value tools;
    if (!a.messages_file.empty()) {
        parse_messages(a.messages_file, msgs, refs, &tools);
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

    // The KV cache holds -c tokens, by default max(4096, first prompt + -n): the session is
    // sized once the first prompt has been tokenized (it allocates nothing before its first
    // prefill, so replacing it then costs nothing).
    session_options so;
    so.n_ctx = a.n_ctx > 0 ? a.n_ctx : 4096;
    // A config with a sliding window (attention here is always full): the default context stays
    // inside it.
    const std::int64_t window = m.config().text.sliding_window;
    if (a.n_ctx == 0 && window > 0) so.n_ctx = std::min<std::int64_t>(so.n_ctx, window);
    so.kv_type = kv_type_for(a, m);
    std::unique_ptr<session> sp(new session(m, so, &pool));
    bool ctx_sized = a.n_ctx > 0;
    rt.decode_weight_bytes = m.decode_weight_bytes();
    image_feature_cache cache;
    prompt_options po;
    po.chat.system_prompt = a.system;
    po.chat.today_date = a.date;  // empty: today
    po.chat.kwargs = a.template_kwargs;
    po.chat.tools = tools;
    if (m.chat_kind() == chat_template_kind::smollm3)
        for (const chat_message& cm : msgs)
            if (cm.content_is_list && !cm.content.empty()) {
                std::fprintf(stderr, "warning: SmolLM3's chat template renders list content as an empty string (as "
                                     "transformers does): give message content as strings\n");
                break;
            }
    // The thinking part of a reply (<think> ... </think>) is shown dim on a terminal.
    const bool color = a.color == 1 || (a.color < 0 && isatty(STDOUT_FILENO));
    const token_id think_open = m.tok().token_to_id("<think>"), think_close = m.tok().token_to_id("</think>");
    // An explicit (or window-bound) context: prompt_job refuses a longer prompt before it makes any
    // pixel buffer (Pixtral images are preprocessed after the prompt is tokenized).
    if (a.n_ctx > 0 || window > 0) po.max_tokens = std::max<std::int64_t>(1, so.n_ctx - a.gen.max_new_tokens);
    po.mode = a.mode;
    po.load_image_convention = a.load_image;
    po.keep_traces = !a.dump_file.empty();

    auto run_turn = [&](const std::vector<chat_message>& conv, std::vector<token_id>& out_ids, std::string& out_text,
                        prepared_prompt*& pp_out, prompt_job& job) {
        status st = job.begin(m, sp->context(), conv, media.inputs.data(), media.inputs.size(), po, &cache);
        if (!st) fail(st.message());
        prepared_prompt& pp = job.prompt();
        pp_out = &pp;
        if (a.verbose) std::fprintf(stderr, "--- prompt (%zu tokens) ---\n%s\n---\n", pp.ids.size(), pp.expanded_text.c_str());
        // begin() preprocessed and tokenized: the prompt's length, image tokens included, is
        // known before the expensive part (encoding the tiles), so check the context now.
        const std::int64_t need = std::int64_t(pp.ids.size()) + a.gen.max_new_tokens;
        if (!ctx_sized) {
            if (need > so.n_ctx && !(window > 0 && need > window)) {
                so.n_ctx = need;
                sp.reset(new session(m, so, &pool));
            }
            ctx_sized = true;
        }
        if (need > so.n_ctx)
            fail("the prompt (" + std::to_string(pp.ids.size()) + " tokens) and -n " +
                 std::to_string(a.gen.max_new_tokens) + " do not fit the context (-c " + std::to_string(so.n_ctx) + ")");
        st = job.finish();
        if (!st) fail(st.message());
        session& s = *sp;
        rt.kv_cache_bytes = kv_cache::bytes_needed(m.config().text, so.n_ctx, so.kv_type);
        static bool warned = false;
        const text_config& tc = m.config().text;
        if (!warned && tc.rope_scaling.type == nn::rope_type::plain &&
            std::int64_t(pp.ids.size()) + a.gen.max_new_tokens > tc.max_position_embeddings) {
            std::fprintf(stderr, "warning: prompt + -n exceed the model's max_position_embeddings (%lld): quality may "
                                 "drop\n", (long long)tc.max_position_embeddings);
            warned = true;
        }
        llama_trace trace;
        trace.capture_layers = !a.dump_file.empty();
        st = s.prefill(pp.ids, pp.features.data(), pp.n_image_tokens, a.dump_file.empty() ? nullptr : &trace);
        if (!st) fail(st.message());
        std::vector<float> logits_last = s.logits();
        bool thinking = false;
        if (a.gen.grammar) a.gen.grammar->reset();  // each turn's answer is one value of the grammar
        st = s.generate(a.gen, [&](token_id id, std::string_view piece) {
            out_text += piece;
            if (color && id >= 0 && id == think_open && !thinking) {
                std::fputs("\x1b[2m", stdout);  // dim
                thinking = true;
            }
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            if (color && thinking && id >= 0 && id == think_close) {
                std::fputs("\x1b[0m", stdout);
                thinking = false;
            }
            std::fflush(stdout);
            return true;
        }, &out_ids);
        if (thinking) std::fputs("\x1b[0m", stdout);  // a reply cut off while thinking
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
        print_timings(a, rt, *pp, *sp);
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
        print_timings(a, rt, *pp, *sp);
        chat_message reply;
        reply.role = "assistant";
        // The template adds its own space after "Assistant:"; the model's reply starts with one.
        reply.content.push_back(chat_part::make_text(out_text));
        conv.push_back(reply);
    }
    return 0;
}
