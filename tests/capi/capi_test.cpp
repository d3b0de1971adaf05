// The C API (include/smolvlm.h). In process (this file is the test binary's one
// SMOLVLM_IMPLEMENTATION translation unit): params versioning, the same tokens as the C++ API,
// raw frames (RGB / BGR / padded rows) equal to the encoded picture, the image cache, progress
// and cancellation, the context limit, chat template options, memory_required, structured
// output on random weights, errors. Out of process, the real clients: the C99 program
// (tests/capi/c_client.c), the Python ctypes script (tests/capi/ctypes_client.py) and the
// program built against single_include/smolvlm.hpp alone: each on the golden fixture when
// ../shared has it, else on a random-weight model against smolvlm-cli's ids.
#define SMOLVLM_IMPLEMENTATION
#include <smolvlm.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../random_model.hpp"
#include "../test_util.hpp"
#include "../text/json_schema_test_util.hpp"

namespace smolvlm_test_capi_capi_cases {  // one namespace per test file: the files also build as one unity translation unit

namespace {

struct run_result {
    int rc = -1;
    std::string out, err;
};

run_result run(const std::string& cmd) {
    static int counter = 0;
    const std::string base = smolvlm_test::temp_dir() + "/capi_run" + std::to_string(counter++);
    const int st = std::system((cmd + " > '" + base + ".out' 2> '" + base + ".err' < /dev/null").c_str());
    run_result r;
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = smolvlm_test::read_file(base + ".out");
    r.err = smolvlm_test::read_file(base + ".err");
    return r;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

std::vector<long> ids_after(const std::string& out, const std::string& label) {
    std::vector<long> v;
    const std::size_t p = out.find(label + ":");
    if (p == std::string::npos) return v;
    std::istringstream ss(out.substr(p + label.size() + 1, out.find('\n', p) - p - label.size() - 1));
    long x;
    while (ss >> x) v.push_back(x);
    return v;
}

std::vector<std::int32_t> span(const std::int32_t* p, std::size_t n) { return std::vector<std::int32_t>(p, p + n); }

const char* const k_golden_case = "idefics3_f32_rgb_split";
const char* const k_golden_image = "rgb_640x480.png";
const char* const k_golden_text = "Describe this image in detail.";

// RAII over the handles.
struct model_handle {
    smolvlm_model* p = nullptr;
    ~model_handle() { smolvlm_model_free(p); }
};
struct session_handle {
    smolvlm_session* p = nullptr;
    ~session_handle() { smolvlm_session_free(p); }
};
struct prompt_handle {
    smolvlm_prompt* p = smolvlm_prompt_create();
    ~prompt_handle() { smolvlm_prompt_free(p); }
};
struct grammar_handle {
    smolvlm_grammar* p = nullptr;
    ~grammar_handle() { smolvlm_grammar_free(p); }
};

std::vector<std::int32_t> generate_ids(smolvlm_session* s, const smolvlm_prompt* p, int n, smolvlm_generate_result* res = nullptr) {
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    gp.max_new_tokens = n;
    gp.ignore_eos = 1;
    const smolvlm_status st = smolvlm_session_generate(s, p, &gp, res);
    INFO(smolvlm_last_error());
    REQUIRE(st == SMOLVLM_OK);
    std::size_t k = 0;
    const std::int32_t* ids = smolvlm_session_output_tokens(s, &k);
    return span(ids, k);
}

}  // namespace

TEST_CASE("C API: version, status names, default params", "[capi]") {
    CHECK(std::string(smolvlm_version()) == SMOLVLM_VERSION_STRING);
    CHECK(smolvlm_version_number() == SMOLVLM_VERSION_MAJOR * 10000 + SMOLVLM_VERSION_MINOR * 100 + SMOLVLM_VERSION_PATCH);
    CHECK(smolvlm_c_api_version() == SMOLVLM_C_API_VERSION);
    CHECK(std::string(smolvlm_status_name(SMOLVLM_OK)) == "ok");
    CHECK(std::string(smolvlm_status_name(SMOLVLM_ERR_CANCELLED)) == "cancelled");
    CHECK(std::string(smolvlm_status_name(smolvlm_status(99))) == "unknown");
    const smolvlm_generate_params g = smolvlm_generate_default_params();
    CHECK(g.struct_size == sizeof g);
    CHECK(g.max_new_tokens == 256);
    CHECK(g.temperature == 0.0f);
    CHECK(g.top_p == 1.0f);
    CHECK(g.repetition_penalty == 1.0f);
    CHECK(g.grammar == nullptr);
    const smolvlm_session_params s = smolvlm_session_default_params();
    CHECK(s.n_ctx == 4096);
    CHECK(s.max_chunk == 256);
    const smolvlm_model_params m = smolvlm_model_default_params();
    CHECK(m.use_mmap == 1);
    CHECK(m.weight_format == SMOLVLM_WEIGHTS_NATIVE);
    // An older caller's smaller struct: only its bytes are written.
    unsigned char buf[64];
    std::memset(buf, 0xab, sizeof buf);
    smolvlm_generate_params_init(reinterpret_cast<smolvlm_generate_params*>(buf), 8);
    CHECK(buf[8] == 0xab);
    // (read as bytes: the buffer is shorter than the struct, as an older caller's would be)
    std::uint32_t size8 = 0;
    std::memcpy(&size8, buf, sizeof size8);
    CHECK(size8 == 8);
    static_assert(offsetof(smolvlm_generate_params, max_new_tokens) + sizeof(std::int32_t) <= 8,
                  "max_new_tokens is within an 8-byte first version");
    std::int32_t max_new = 0;
    std::memcpy(&max_new, buf + offsetof(smolvlm_generate_params, max_new_tokens), sizeof max_new);
    CHECK(max_new == 256);
}

TEST_CASE("C API: params struct_size rules (ABI notes)", "[capi]") {
    const char* cfg = "{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,"
                      "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":100}";
    smolvlm_memory mem;
    mem.struct_size = sizeof mem;
    smolvlm_session_params sp = smolvlm_session_default_params();
    sp.n_threads = 1;
    REQUIRE(smolvlm_memory_required(cfg, std::strlen(cfg), nullptr, &sp, &mem) == SMOLVLM_OK);
    CHECK(mem.mapped_bytes > 0);
    auto parsed = smolvlm::parse_model_config(cfg);
    REQUIRE(parsed.is_ok());
    CHECK(mem.kv_bytes_per_token == smolvlm::kv_cache::bytes_needed(parsed.value().text, 1, smolvlm::dtype::f32));
    CHECK(mem.session_bytes == smolvlm::session::memory_required(parsed.value(), smolvlm::session_options{}, 1));
    CHECK(mem.vision_bytes == 0);
    CHECK(mem.total_bytes == mem.weights_bytes + mem.session_bytes);
    // q4 weights are heap bytes, and fewer than the bf16 file
    smolvlm_model_params mp = smolvlm_model_default_params();
    mp.weight_format = SMOLVLM_WEIGHTS_Q4;
    smolvlm_memory q4;
    q4.struct_size = sizeof q4;
    REQUIRE(smolvlm_memory_required(cfg, std::strlen(cfg), &mp, &sp, &q4) == SMOLVLM_OK);
    CHECK(q4.weights_bytes > mem.weights_bytes);
    CHECK(q4.weights_bytes < q4.mapped_bytes);

    smolvlm_session_params small = sp;
    small.struct_size = 4;
    CHECK(smolvlm_memory_required(cfg, std::strlen(cfg), nullptr, &small, &mem) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(std::string(smolvlm_last_error()).find("struct_size") != std::string::npos);
    struct newer {
        smolvlm_session_params p;
        std::uint64_t added_field;
    } n{};
    smolvlm_session_params_init(&n.p, sizeof n);
    CHECK(n.p.struct_size == sizeof n);
    CHECK(smolvlm_memory_required(cfg, std::strlen(cfg), nullptr, &n.p, &mem) == SMOLVLM_OK);  // zero tail: ok
    n.added_field = 7;
    CHECK(smolvlm_memory_required(cfg, std::strlen(cfg), nullptr, &n.p, &mem) == SMOLVLM_ERR_UNSUPPORTED);
    // An output struct is written up to the caller's size.
    smolvlm_memory tiny_out;
    tiny_out.struct_size = 2;
    CHECK(smolvlm_memory_required(cfg, std::strlen(cfg), nullptr, &sp, &tiny_out) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(smolvlm_memory_required("{", 1, nullptr, &sp, &mem) == SMOLVLM_ERR_BAD_FORMAT);
}

TEST_CASE("C API: errors are codes and messages", "[capi]") {
    smolvlm_model* m = reinterpret_cast<smolvlm_model*>(1);
    CHECK(smolvlm_model_load(nullptr, nullptr, &m) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(m == nullptr);
    CHECK(smolvlm_model_load("/nonexistent/dir", nullptr, &m) != SMOLVLM_OK);
    CHECK(std::strlen(smolvlm_last_error()) > 0);
    CHECK(smolvlm_model_load("x", nullptr, nullptr) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(smolvlm_model_load_gguf("a.gguf", "mmproj.gguf", nullptr, &m) != SMOLVLM_OK);
    CHECK(m == nullptr);
    CHECK(std::string(smolvlm_last_error()).find("a.gguf") != std::string::npos);
    CHECK(smolvlm_model_load_gguf(nullptr, nullptr, nullptr, &m) == SMOLVLM_ERR_INVALID_ARGUMENT);
    smolvlm_model_buffers b = smolvlm_model_default_buffers();
    CHECK(smolvlm_model_load_from_memory(&b, nullptr, &m) == SMOLVLM_ERR_INVALID_ARGUMENT);
    smolvlm_model_params mp = smolvlm_model_default_params();
    mp.isa = "pentium";
    CHECK(smolvlm_model_load("x", &mp, &m) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(smolvlm_session_create(nullptr, nullptr, reinterpret_cast<smolvlm_session**>(&m)) == SMOLVLM_ERR_INVALID_ARGUMENT);
    smolvlm_grammar* g = nullptr;
    CHECK(smolvlm_grammar_from_gbnf("root ::= (", nullptr, &g) == SMOLVLM_ERR_BAD_FORMAT);
    CHECK(g == nullptr);
    CHECK(smolvlm_grammar_from_gbnf("start ::= \"x\"", "root", &g) != SMOLVLM_OK);
    REQUIRE(smolvlm_grammar_from_gbnf("start ::= \"x\"", "start", &g) == SMOLVLM_OK);
    CHECK(std::string(smolvlm_grammar_gbnf(g)).find("start") != std::string::npos);
    smolvlm_grammar_free(g);
    CHECK(smolvlm_grammar_from_json_schema("{\"type\":\"nope\"}", &g) != SMOLVLM_OK);
    REQUIRE(smolvlm_grammar_from_json_schema("{\"type\":\"boolean\"}", &g) == SMOLVLM_OK);
    CHECK(std::string(smolvlm_grammar_gbnf(g)).find("true") != std::string::npos);
    smolvlm_grammar_free(g);
    prompt_handle p;
    CHECK(smolvlm_prompt_add_text(p.p, "x") == SMOLVLM_ERR_INVALID_ARGUMENT);
    REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
    const unsigned char px[12] = {0};
    CHECK(smolvlm_prompt_add_image_pixels(p.p, px, 2, 2, 0, 9) == SMOLVLM_ERR_INVALID_ARGUMENT);
    CHECK(smolvlm_prompt_add_image_pixels(p.p, px, 2, 2, 3, SMOLVLM_PIXEL_RGB8) == SMOLVLM_ERR_INVALID_ARGUMENT);  // stride < row
    CHECK(smolvlm_prompt_add_image_pixels(p.p, px, 0, 2, 0, SMOLVLM_PIXEL_RGB8) != SMOLVLM_OK);
    CHECK(smolvlm_prompt_add_image_encoded(p.p, "GIF89a", 6) != SMOLVLM_OK);
    CHECK(smolvlm_prompt_add_image_file(p.p, "/nonexistent.png") == SMOLVLM_ERR_IO);
    CHECK(smolvlm_prompt_n_messages(p.p) == 1);
    smolvlm_image img;
    CHECK(smolvlm_image_decode("nope", 4, &img) == SMOLVLM_ERR_BAD_FORMAT);
    CHECK(img.pixels == nullptr);
    smolvlm_image_free(&img);
    smolvlm_image_free(nullptr);
    smolvlm_model_free(nullptr);
    smolvlm_session_free(nullptr);
    smolvlm_prompt_free(nullptr);
    smolvlm_grammar_free(nullptr);
    smolvlm_image_cache_free(nullptr);
}

#if defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)

TEST_CASE("C API: the same tokens as the C++ API; raw frames equal the encoded picture", "[capi]") {
    using namespace smolvlm;
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    // C++ reference
    auto m = model::load(dir);
    REQUIRE(m.is_ok());
    auto img = load_image_file(pic.c_str());
    REQUIRE(img.is_ok());
    std::vector<token_id> want_prompt, want;
    {
        session s(**m);
        prompt_job job;
        const media_input media = media_input::from_image(img.value());
        const chat_message u{"user", {chat_part::make_image(), chat_part::make_text("What is it?")}};
        REQUIRE(job.begin(**m, s.context(), {u}, &media, 1, prompt_options{}).is_ok());
        REQUIRE(job.finish().is_ok());
        want_prompt = job.prompt().ids;
        REQUIRE(s.prefill(job.prompt().ids, job.prompt().features.data(), job.prompt().n_image_tokens).is_ok());
        generate_options g;
        g.max_new_tokens = 12;
        g.ignore_eos = true;
        REQUIRE(s.generate(g, nullptr, &want).is_ok());
    }
    model_handle mh;
    REQUIRE(smolvlm_model_load(dir.c_str(), nullptr, &mh.p) == SMOLVLM_OK);
    smolvlm_model_info info;
    info.struct_size = sizeof info;
    REQUIRE(smolvlm_model_get_info(mh.p, &info) == SMOLVLM_OK);
    CHECK(info.has_vision == 1);
    CHECK(info.image_size == 32);
    CHECK(std::string(info.chat_template) == "smolvlm");
    smolvlm_image_cache* cache = smolvlm_image_cache_create(0);
    smolvlm_session_params sp = smolvlm_session_default_params();
    sp.n_threads = 2;
    sp.image_cache = cache;
    session_handle sh;
    REQUIRE(smolvlm_session_create(mh.p, &sp, &sh.p) == SMOLVLM_OK);

    auto with_picture = [&](const std::function<smolvlm_status(smolvlm_prompt*)>& add) {
        prompt_handle p;
        REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
        const smolvlm_status st = add(p.p);
        INFO(smolvlm_last_error());
        REQUIRE(st == SMOLVLM_OK);
        REQUIRE(smolvlm_prompt_add_text(p.p, "What is it?") == SMOLVLM_OK);
        smolvlm_generate_result res;
        res.struct_size = sizeof res;
        const std::vector<std::int32_t> out = generate_ids(sh.p, p.p, 12, &res);
        std::size_t n = 0;
        const std::int32_t* pids = smolvlm_session_prompt_tokens(sh.p, &n);
        CHECK(span(pids, n) == want_prompt);
        return std::make_pair(out, res);
    };
    // 1. the file
    auto r1 = with_picture([&](smolvlm_prompt* p) { return smolvlm_prompt_add_image_file(p, pic.c_str()); });
    CHECK(r1.first == want);
    CHECK(r1.second.n_tiles > 0);
    CHECK(r1.second.n_tiles_cached == 0);
    CHECK(r1.second.stop_reason == SMOLVLM_STOP_LENGTH);
    // 2. the encoded bytes
    const std::string bytes = smolvlm_test::read_file(pic);
    auto r2 = with_picture([&](smolvlm_prompt* p) { return smolvlm_prompt_add_image_encoded(p, bytes.data(), bytes.size()); });
    CHECK(r2.first == want);
    CHECK(r2.second.n_tiles_cached == r2.second.n_tiles);  // same pixels: from the image cache
    CHECK(smolvlm_image_cache_entries(cache) > 0);
    CHECK(smolvlm_image_cache_hits(cache) > 0);
    // 3. raw frames: RGB, BGR (swapped back), padded rows, RGBA
    const image& im = img.value();
    const int W = im.width, H = im.height;
    std::vector<std::uint8_t> bgr(std::size_t(W * H * 3)), padded(std::size_t((W * 3 + 13) * H)), rgba(std::size_t(W * H * 4));
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x) {
            const std::uint8_t* s = im.row(y) + x * 3;
            std::uint8_t* b = bgr.data() + (y * W + x) * 3;
            b[0] = s[2], b[1] = s[1], b[2] = s[0];
            std::memcpy(padded.data() + y * (W * 3 + 13) + x * 3, s, 3);
            std::uint8_t* a = rgba.data() + (y * W + x) * 4;
            a[0] = s[0], a[1] = s[1], a[2] = s[2], a[3] = 255;
        }
    auto r3 = with_picture([&](smolvlm_prompt* p) {
        return smolvlm_prompt_add_image_pixels(p, im.pixels.data(), W, H, 0, SMOLVLM_PIXEL_RGB8);
    });
    CHECK(r3.first == want);
    auto r4 = with_picture([&](smolvlm_prompt* p) {
        return smolvlm_prompt_add_image_pixels(p, bgr.data(), W, H, 0, SMOLVLM_PIXEL_BGR8);
    });
    CHECK(r4.first == want);
    auto r5 = with_picture([&](smolvlm_prompt* p) {
        return smolvlm_prompt_add_image_pixels(p, padded.data(), W, H, std::size_t(W * 3 + 13), SMOLVLM_PIXEL_RGB8);
    });
    CHECK(r5.first == want);
    auto r6 = with_picture([&](smolvlm_prompt* p) {
        return smolvlm_prompt_add_image_pixels(p, rgba.data(), W, H, 0, SMOLVLM_PIXEL_RGBA8);
    });
    CHECK(r6.first == want);  // opaque alpha composited over white: the same pixels
    smolvlm_session_free(sh.p);
    sh.p = nullptr;
    smolvlm_image_cache_free(cache);
}

TEST_CASE("C API: streaming, progress, cancellation, the context limit", "[capi]") {
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    model_handle mh;
    REQUIRE(smolvlm_model_load(dir.c_str(), nullptr, &mh.p) == SMOLVLM_OK);
    session_handle sh;
    REQUIRE(smolvlm_session_create(mh.p, nullptr, &sh.p) == SMOLVLM_OK);
    prompt_handle p;
    REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_image_file(p.p, pic.c_str()) == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_text(p.p, "Describe.") == SMOLVLM_OK);

    struct log {
        std::string text;
        int tokens = 0, stop_after = -1;
        std::vector<std::pair<int, std::int64_t>> stages;
        int cancel_stage = -1;
    } lg;
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    gp.max_new_tokens = 10;
    gp.ignore_eos = 1;
    gp.user_data = &lg;
    gp.on_token = [](int32_t, const char* piece, size_t len, void* u) -> int {
        log& l = *static_cast<log*>(u);
        l.text.append(piece, len);
        ++l.tokens;
        return l.stop_after < 0 || l.tokens < l.stop_after;
    };
    gp.on_progress = [](int32_t stage, int64_t done, int64_t total, void* u) -> int {
        log& l = *static_cast<log*>(u);
        l.stages.emplace_back(stage, total);
        (void)done;
        return stage != l.cancel_stage;
    };
    smolvlm_generate_result res;
    res.struct_size = sizeof res;
    REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_OK);
    std::size_t len = 0;
    const char* text = smolvlm_session_output_text(sh.p, &len);
    CHECK(lg.text == std::string(text, len));
    CHECK(res.generated_tokens == 10);
    bool saw_encode = false, saw_prefill = false;
    for (const auto& s : lg.stages) {
        saw_encode = saw_encode || (s.first == SMOLVLM_STAGE_ENCODE_IMAGES && s.second == res.n_tiles);
        saw_prefill = saw_prefill || (s.first == SMOLVLM_STAGE_PREFILL && s.second == res.prompt_tokens);
    }
    CHECK(saw_encode);
    CHECK(saw_prefill);
    // cancel from on_token: not an error
    lg = log();
    lg.stop_after = 4;
    REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_OK);
    CHECK(res.stop_reason == SMOLVLM_STOP_CANCELLED);
    CHECK(res.generated_tokens == 4);
    // cancel from on_progress: SMOLVLM_ERR_CANCELLED
    smolvlm_session_reset(sh.p);
    lg = log();
    lg.cancel_stage = SMOLVLM_STAGE_PREFILL;
    CHECK(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_ERR_CANCELLED);
    lg.cancel_stage = SMOLVLM_STAGE_ENCODE_IMAGES;
    CHECK(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_ERR_CANCELLED);
    lg.cancel_stage = -1;
    REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_OK);  // the session is still usable
    // the context's end
    smolvlm_session_params sp = smolvlm_session_default_params();
    sp.n_ctx = res.prompt_tokens + 3;
    session_handle small;
    REQUIRE(smolvlm_session_create(mh.p, &sp, &small.p) == SMOLVLM_OK);
    gp.on_token = nullptr;
    gp.on_progress = nullptr;
    REQUIRE(smolvlm_session_generate(small.p, p.p, &gp, &res) == SMOLVLM_OK);
    CHECK(res.stop_reason == SMOLVLM_STOP_CONTEXT_FULL);
    CHECK(res.generated_tokens == 3);
    sp.n_ctx = 8;  // the prompt does not fit at all
    session_handle tiny;
    REQUIRE(smolvlm_session_create(mh.p, &sp, &tiny.p) == SMOLVLM_OK);
    CHECK(smolvlm_session_generate(tiny.p, p.p, &gp, &res) == SMOLVLM_ERR_NO_MEMORY);
    // max_bytes refuses an over-budget session up front; memory_required says how much
    sp.n_ctx = 4096;
    sp.n_threads = 1;
    const std::uint64_t need = smolvlm_session_memory_required(mh.p, &sp);
    CHECK(need > 0);
    sp.max_bytes = need - 1;
    session_handle capped;
    CHECK(smolvlm_session_create(mh.p, &sp, &capped.p) == SMOLVLM_ERR_NO_MEMORY);
    sp.max_bytes = need;
    REQUIRE(smolvlm_session_create(mh.p, &sp, &capped.p) == SMOLVLM_OK);
    // memory_required from the config alone agrees on the session
    const std::string cfg = smolvlm_test::read_file(dir + "/config.json");
    smolvlm_memory mem;
    mem.struct_size = sizeof mem;
    REQUIRE(smolvlm_memory_required(cfg.data(), cfg.size(), nullptr, &sp, &mem) == SMOLVLM_OK);
    CHECK(mem.session_bytes == need);
    CHECK(mem.vision_bytes > 0);
}

TEST_CASE("C API: chat template options (system prompt, generation prompt, kwargs)", "[capi]") {
    const std::string dir = smolvlm_test::random_model("tiny-text");
    model_handle mh;
    REQUIRE(smolvlm_model_load(dir.c_str(), nullptr, &mh.p) == SMOLVLM_OK);
    session_handle sh;
    REQUIRE(smolvlm_session_create(mh.p, nullptr, &sh.p) == SMOLVLM_OK);
    prompt_handle p;
    REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_text(p.p, "Hi") == SMOLVLM_OK);
    auto prompt_text = [&](const smolvlm_generate_params& gp) {
        REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, nullptr) == SMOLVLM_OK);
        std::size_t n = 0;
        const std::int32_t* ids = smolvlm_session_prompt_tokens(sh.p, &n);
        return std::vector<std::int32_t>(ids, ids + n);
    };
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    gp.max_new_tokens = 1;
    const std::vector<std::int32_t> base = prompt_text(gp);
    gp.system_prompt = "Be brief.";
    const std::vector<std::int32_t> sys = prompt_text(gp);
    CHECK(sys != base);
    gp.system_prompt = nullptr;
    gp.chat_template_kwargs = "{\"add_generation_prompt\": false, \"enable_thinking\": true, \"unknown\": [1]}";
    const std::vector<std::int32_t> no_gen = prompt_text(gp);
    CHECK(no_gen.size() < base.size());
    CHECK(std::equal(no_gen.begin(), no_gen.end(), base.begin()));
    gp.chat_template_kwargs = "{\"enable_thinking\": 1}";
    CHECK(smolvlm_session_generate(sh.p, p.p, &gp, nullptr) == SMOLVLM_ERR_INVALID_ARGUMENT);
    gp.chat_template_kwargs = "[true]";
    CHECK(smolvlm_session_generate(sh.p, p.p, &gp, nullptr) == SMOLVLM_ERR_INVALID_ARGUMENT);
    gp.chat_template_kwargs = "{";
    CHECK(smolvlm_session_generate(sh.p, p.p, &gp, nullptr) != SMOLVLM_OK);
    // tokenize: sizing call, then the ids
    std::size_t n = 0;
    REQUIRE(smolvlm_tokenize(mh.p, "the cat", nullptr, 0, &n) == SMOLVLM_OK);
    std::vector<std::int32_t> ids(n);
    REQUIRE(smolvlm_tokenize(mh.p, "the cat", ids.data(), ids.size(), &n) == SMOLVLM_OK);
    CHECK(n == ids.size());
}

TEST_CASE("C API: SmolLM3's date and thinking switch through the C API", "[capi][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/smollm3_bf16_chat/model";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    model_handle mh;
    const smolvlm_status st = smolvlm_model_load(dir.c_str(), nullptr, &mh.p);
    INFO(smolvlm_last_error());
    REQUIRE(st == SMOLVLM_OK);
    session_handle sh;
    REQUIRE(smolvlm_session_create(mh.p, nullptr, &sh.p) == SMOLVLM_OK);
    prompt_handle p;
    REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_text(p.p, "Hi") == SMOLVLM_OK);
    auto rendered = [&](const char* date, const char* kwargs) {
        smolvlm_generate_params gp = smolvlm_generate_default_params();
        gp.max_new_tokens = 0;
        gp.today_date = date;
        gp.chat_template_kwargs = kwargs;
        REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, nullptr) == SMOLVLM_OK);
        std::size_t n = 0;
        const std::int32_t* ids = smolvlm_session_prompt_tokens(sh.p, &n);
        return mh.p->m->tok().decode(std::vector<std::int32_t>(ids, ids + n));
    };
    const std::string a = rendered("04 July 2025", nullptr);
    CHECK(a.find("Today Date: 04 July 2025") != std::string::npos);
    CHECK(a.find("Reasoning Mode: /think") != std::string::npos);
    const std::string b = rendered("01 January 2030", "{\"enable_thinking\": false}");
    CHECK(b.find("Today Date: 01 January 2030") != std::string::npos);
    CHECK(b.find("Reasoning Mode: /no_think") != std::string::npos);
}

TEST_CASE("C API: structured output on random weights validates, with a picture in the prompt", "[capi][structured]") {
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    model_handle mh;
    REQUIRE(smolvlm_model_load(dir.c_str(), nullptr, &mh.p) == SMOLVLM_OK);
    session_handle sh;
    REQUIRE(smolvlm_session_create(mh.p, nullptr, &sh.p) == SMOLVLM_OK);
    prompt_handle p;
    REQUIRE(smolvlm_prompt_add_message(p.p, "user") == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_image_file(p.p, pic.c_str()) == SMOLVLM_OK);
    REQUIRE(smolvlm_prompt_add_text(p.p, "Objects on screen, as JSON.") == SMOLVLM_OK);
    int outputs = 0;
    for (int i = 0; i < 20; ++i) {
        json_schema_test::schema_gen gen(31000 + std::uint64_t(i));
        const std::string schema = gen.root();
        INFO("schema: " << schema);
        grammar_handle g;
        const smolvlm_status st = smolvlm_grammar_from_json_schema(schema.c_str(), &g.p);
        INFO(smolvlm_last_error());
        REQUIRE(st == SMOLVLM_OK);
        auto doc = smolvlm::parse_json(schema);
        REQUIRE(doc.is_ok());
        for (int k = 0; k < 2; ++k) {
            smolvlm_generate_params gp = smolvlm_generate_default_params();
            gp.grammar = g.p;
            gp.temperature = 1.0f;
            gp.seed = std::uint64_t(i * 10 + k);
            gp.max_new_tokens = 200;
            smolvlm_generate_result res;
            res.struct_size = sizeof res;
            REQUIRE(smolvlm_session_generate(sh.p, p.p, &gp, &res) == SMOLVLM_OK);
            std::size_t len = 0;
            const char* t = smolvlm_session_output_text(sh.p, &len);
            const std::string out(t, len);
            INFO("output: " << out);
            CHECK(std::strlen(t) == len);
            auto parsed = smolvlm::parse_json(out);
            if (!parsed) FAIL("does not parse: " << parsed.error().message());
            json_schema_test::validator v(doc.value());
            if (!v.check(parsed.value(), doc.value())) FAIL("does not validate: " << v.why);
            CHECK(res.grammar_ms >= 0.0);
            ++outputs;
        }
    }
    CHECK(outputs == 40);
}

#endif  // SMOLVLM_MAKE_RANDOM_MODEL_PATH

// ---- the real clients ---------------------------------------------------------------------------

namespace {

struct golden_case {
    bool available = false;
    std::string model, image, json;
};

golden_case golden() {
    golden_case g;
    const std::string d = smolvlm_test::fixtures_dir() + "/" + k_golden_case;
    g.model = d + "/model";
    g.image = d + "/inputs/" + k_golden_image;
    g.json = d + "/golden.json";
    g.available = smolvlm_test::path_exists(g.json) && smolvlm_test::path_exists(g.model + "/model.safetensors");
    return g;
}

#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
// smolvlm-cli's ids for one turn on a random-weight model (the reference when ../shared is absent).
std::pair<std::vector<long>, std::vector<long>> cli_ids(const std::string& dir, const std::string& image,
                                                        const std::string& text, int n) {
    const run_result r = run(q(SMOLVLM_CLI_PATH) + " -m " + q(dir) + (image.empty() ? "" : " --image " + q(image)) +
                             " -p " + q(text) + " -n " + std::to_string(n) + " --ignore-eos --ids -t 2");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    return {ids_after(r.out, "prompt_ids"), ids_after(r.out, "output_ids")};
}
#endif

}  // namespace

#if defined(SMOLVLM_C_CLIENT_PATH)
TEST_CASE("C API: the C99 client runs the golden fixture end to end", "[capi][client]") {
    const golden_case g = golden();
    if (g.available) {
        const run_result r = run(q(SMOLVLM_C_CLIENT_PATH) + " golden " + q(g.model) + " " + q(g.image) + " " +
                                 q(k_golden_text) + " " + q(g.json));
        INFO(r.out << r.err);
        CHECK(r.rc == 0);
        CHECK(r.out.find("ok\n") != std::string::npos);
        return;
    }
#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
    WARN("no golden fixture: comparing the C client with smolvlm-cli on a random-weight model");
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    const auto want = cli_ids(dir, pic, "Describe.", 12);
    const run_result r = run(q(SMOLVLM_C_CLIENT_PATH) + " ids " + q(dir) + " " + q(pic) + " Describe. 12");
    INFO(r.out << r.err);
    REQUIRE(r.rc == 0);
    CHECK(ids_after(r.out, "prompt_ids") == want.first);
    CHECK(ids_after(r.out, "output_ids") == want.second);
#endif
}

#if defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
TEST_CASE("C API: the C99 client's structured outputs validate", "[capi][client][structured]") {
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    for (int i = 0; i < 4; ++i) {
        json_schema_test::schema_gen gen(47000 + std::uint64_t(i));
        const std::string schema = gen.root();
        const std::string file = smolvlm_test::temp_dir() + "/capi_schema" + std::to_string(i) + ".json";
        {
            std::FILE* f = std::fopen(file.c_str(), "wb");
            REQUIRE(f);
            std::fwrite(schema.data(), 1, schema.size(), f);
            std::fclose(f);
        }
        const run_result r = run(q(SMOLVLM_C_CLIENT_PATH) + " schema " + q(dir) + " " + q(file) + " 3 160 " + q(pic));
        INFO("schema: " << schema << "\n" << r.err);
        REQUIRE(r.rc == 0);
        auto doc = smolvlm::parse_json(schema);
        REQUIRE(doc.is_ok());
        std::size_t pos = 0;
        int n = 0;
        while ((pos = r.out.find("output ", pos)) != std::string::npos) {
            const std::size_t nl = r.out.find('\n', pos);
            const std::size_t len = std::stoul(r.out.substr(pos + 7, nl - pos - 7));
            const std::string text = r.out.substr(nl + 1, len);
            INFO("output: " << text);
            auto parsed = smolvlm::parse_json(text);
            if (!parsed) FAIL(parsed.error().message());
            json_schema_test::validator v(doc.value());
            if (!v.check(parsed.value(), doc.value())) FAIL("does not validate: " << v.why);
            pos = nl + 1 + len;
            ++n;
        }
        CHECK(n == 3);
    }
}
#endif
#endif  // SMOLVLM_C_CLIENT_PATH

#if defined(SMOLVLM_C_LIB_PATH)
TEST_CASE("C API: the Python ctypes client runs the golden fixture end to end", "[capi][client]") {
    if (std::system("python3 -c 'import ctypes' > /dev/null 2>&1") != 0) {
        WARN("skipped: no python3 with ctypes");
        return;
    }
    const std::string script = std::string(SMOLVLM_SOURCE_DIR) + "/tests/capi/ctypes_client.py";
    const golden_case g = golden();
    if (g.available) {
        const run_result r = run("python3 " + q(script) + " " + q(SMOLVLM_C_LIB_PATH) + " golden " + q(g.model) + " " +
                                 q(g.image) + " " + q(k_golden_text) + " " + q(g.json));
        INFO(r.out << r.err);
        CHECK(r.rc == 0);
        CHECK(r.out.find("ok\n") != std::string::npos);
        return;
    }
#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
    WARN("no golden fixture: comparing the ctypes client with smolvlm-cli on a random-weight model");
    const std::string dir = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    const auto want = cli_ids(dir, pic, "Describe.", 12);
    const run_result r = run("python3 " + q(script) + " " + q(SMOLVLM_C_LIB_PATH) + " ids " + q(dir) + " " + q(pic) +
                             " Describe. 12");
    INFO(r.out << r.err);
    REQUIRE(r.rc == 0);
    CHECK(ids_after(r.out, "prompt_ids") == want.first);
    CHECK(ids_after(r.out, "output_ids") == want.second);
#endif
}
#endif

#if defined(SMOLVLM_SINGLE_HEADER_PATH)
TEST_CASE("single header: a program built on single_include/smolvlm.hpp alone runs a fixture", "[capi][single_header]") {
    const golden_case g = golden();
    std::vector<long> want_prompt, want_out;
    std::string dir, image, text;
    if (g.available) {
        dir = g.model;
        image = g.image;
        text = k_golden_text;
        std::vector<std::int64_t> v;
        auto gs = smolvlm::safetensors_file::open((smolvlm_test::fixtures_dir() + "/" + k_golden_case + "/golden.safetensors").c_str());
        REQUIRE(gs.is_ok());
        REQUIRE(smolvlm::read_as_i64(*gs->find("input_ids"), v).is_ok());
        want_prompt.assign(v.begin(), v.end());
        REQUIRE(smolvlm::read_as_i64(*gs->find("generated_ids"), v).is_ok());
        want_out.assign(v.begin(), v.end());
    } else {
#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
        WARN("no golden fixture: comparing with smolvlm-cli on a random-weight model");
        dir = smolvlm_test::random_model("tiny");
        image = smolvlm_test::test_picture(80, 48);
        text = "Describe.";
        const auto want = cli_ids(dir, image, text, 16);
        want_prompt = want.first;
        want_out = want.second;
#else
        WARN("skipped: no golden fixture and no smolvlm-cli to compare with");
        return;
#endif
    }
    const run_result r = run(q(SMOLVLM_SINGLE_HEADER_PATH) + " " + q(dir) + " " + q(image) + " " + q(text) + " 16");
    INFO(r.out << r.err);
    REQUIRE(r.rc == 0);
    CHECK(ids_after(r.out, "prompt_ids") == want_prompt);
    CHECK(ids_after(r.out, "output_ids") == want_out);
    const run_result j = run(q(SMOLVLM_SINGLE_HEADER_PATH) + " " + q(dir) + " " + q(image) + " " + q(text) + " 40 --json");
    INFO(j.out << j.err);
    REQUIRE(j.rc == 0);
    const std::size_t at = j.out.find("json: ");
    REQUIRE(at != std::string::npos);
    std::string out = j.out.substr(at + 6);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    INFO(out);
    CHECK(smolvlm::parse_json(out).is_ok());
}
#endif

TEST_CASE("C API: a GGUF pair loads (llama.cpp's files of a fixture)", "[capi][gguf]") {
    const std::string g = smolvlm_test::fixtures_dir() + "/gguf/idefics3_f32_rgb_split";
    SMOLVLM_REQUIRE_SHARED(g + "/text-f32.gguf");
    model_handle mh;
    REQUIRE(smolvlm_model_load_gguf((g + "/text-f32.gguf").c_str(), (g + "/mmproj-f32.gguf").c_str(), nullptr, &mh.p) ==
            SMOLVLM_OK);
    smolvlm_model_info info;
    info.struct_size = sizeof info;
    REQUIRE(smolvlm_model_get_info(mh.p, &info) == SMOLVLM_OK);
    CHECK(info.has_vision == 1);
    CHECK(std::string(info.chat_template) == "smolvlm");
    // The text file alone is a text model; a truncated file is an error with a message.
    model_handle text_only;
    CHECK(smolvlm_model_load_gguf((g + "/text-f32.gguf").c_str(), nullptr, nullptr, &text_only.p) == SMOLVLM_OK);
    const std::string cut = smolvlm_test::temp_dir() + "/capi_cut.gguf";
    {
        const std::string bytes = smolvlm_test::read_file(g + "/text-f32.gguf");
        std::FILE* f = std::fopen(cut.c_str(), "wb");
        REQUIRE(f);
        std::fwrite(bytes.data(), 1, bytes.size() / 3, f);
        std::fclose(f);
    }
    smolvlm_model* bad = nullptr;
    CHECK(smolvlm_model_load_gguf(cut.c_str(), nullptr, nullptr, &bad) != SMOLVLM_OK);
    CHECK(bad == nullptr);
    CHECK(std::strlen(smolvlm_last_error()) > 0);
}

}  // namespace smolvlm_test_capi_capi_cases
