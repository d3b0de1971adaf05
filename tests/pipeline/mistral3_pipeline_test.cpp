// Mistral 3 through the whole pipeline on a model this test generates
// (make-random-model --shape tiny-mistral3): sharded bf16 checkpoints, prompts with several
// images of different sizes, text-only chats, bounded-memory quantization
// (pipeline/prequantize.hpp: prequantized == converted at load, bit for bit), a random
// prequantized q4 directory written directly, and the bad inputs of the issue — images over
// the processor's caps, more image tokens than the context, a missing shard, a tensor of the
// wrong shape, a processor that does not fit the tower — each one clear error, refused
// before anything is allocated.
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/loader.hpp>
#include <smolvlm/pipeline/prequantize.hpp>
#include <smolvlm/pipeline/prompt_job.hpp>
#include <smolvlm/pipeline/session.hpp>

#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifdef SMOLVLM_MAKE_RANDOM_MODEL_PATH

namespace smolvlm_test_pipeline_mistral3_pipeline_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// The tiny Mistral 3 model in bf16, sharded into several files (a small --shard-mb).
const std::string& tiny_dir() {
    static const std::string dir = [] {
        const std::string d = smolvlm_test::temp_dir() + "/m3_tiny";
        sh("rm -rf " + q(d));
        sh(q(SMOLVLM_MAKE_RANDOM_MODEL_PATH) + " " + q(d) + " --shape tiny-mistral3 --dtype bf16 --shard-mb 0.2 --seed 3");
        return d;
    }();
    return dir;
}

std::unique_ptr<model> load(const std::string& dir, weight_format f, thread_pool* pool) {
    model_options o;
    o.format = f;
    auto m = model::load(dir, o, pool);
    INFO(dir << ": " << (m ? std::string("ok") : std::string(m.error().message())));
    REQUIRE(m.is_ok());
    return std::move(m).value();
}

image make_image(int w, int h, int channels, int seed) {
    image im;
    im.width = w;
    im.height = h;
    im.channels = channels;
    im.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(channels));
    for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = std::uint8_t((i * 31 + std::size_t(seed) * 7 + i / 13) & 255);
    return im;
}

struct out_t {
    std::vector<float> logits, features;
    std::vector<token_id> ids;
};

out_t run(const model& m, thread_pool* pool, const std::vector<image>& images, const std::string& text = "Describe.") {
    out_t r;
    std::vector<chat_message> msgs(1);
    msgs[0].role = "user";
    std::vector<media_input> media;
    for (const image& im : images) {
        msgs[0].content.push_back(chat_part::make_image());
        media.push_back(media_input::from_image(im));
    }
    msgs[0].content.push_back(chat_part::make_text(text));
    session s(m, session_options{}, pool);
    prompt_job job;
    prompt_options po;
    po.chat.today_date = "2026-12-07";
    status st = job.begin(m, s.context(), msgs, media.data(), media.size(), po);
    INFO(st.message());
    REQUIRE(st.is_ok());
    REQUIRE(job.finish().is_ok());
    prepared_prompt& pp = job.prompt();
    r.features = pp.features;
    r.ids = pp.ids;
    REQUIRE(s.prefill(pp.ids, pp.features.data(), pp.n_image_tokens).is_ok());
    for (token_id t : {token_id(1005), token_id(1017)}) REQUIRE(s.push(t).is_ok());
    r.logits = s.logits();
    return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("mistral3 tiny model: sharded bf16, several images, text only", "[pipeline][mistral3]") {
    REQUIRE(smolvlm_test::path_exists(tiny_dir() + "/model.safetensors.index.json"));
    thread_pool pool(2);
    auto m = load(tiny_dir(), weight_format::native, &pool);
    CHECK(m->config().arch == model_arch::mistral3);
    CHECK(m->chat_kind() == chat_template_kind::mistral_v7);
    CHECK(m->tensors().n_files() > 1);
    // Two images of different sizes (one RGBA, one gray) and a text-only chat.
    const std::vector<image> imgs = {make_image(100, 37, 4, 1), make_image(20, 90, 1, 2)};
    out_t a = run(*m, &pool, imgs);
    CHECK(!a.features.empty());
    // [IMG] x cols + [IMG_BREAK] per row, [IMG_END] last, in prompt order.
    std::size_t n_img = 0, n_break = 0, n_end = 0;
    for (token_id t : a.ids) {
        n_img += t == 10;
        n_break += t == 12;
        n_end += t == 13;
    }
    // tiny-mistral3: patch 8, merge 2 -> 16 px tokens; longest edge 64:
    //   100x37 -> 64x23 -> 64x32: 4 x 2 tokens; 20x90 -> 14x64 -> 16x64: 1 x 4 tokens
    CHECK(n_img == 8 + 4);
    CHECK(n_end == 2);
    CHECK(n_break == (2 - 1) + (4 - 1));
    CHECK(a.ids[0] == 1);
    out_t b = run(*m, &pool, imgs);
    CHECK(same_bits(a.logits, b.logits));  // deterministic
    out_t t = run(*m, &pool, {}, "Hello there");
    CHECK(t.features.empty());
    CHECK(!t.logits.empty());
}

TEST_CASE("mistral3: bounded-memory quantization == conversion at load", "[pipeline][mistral3][quantize]") {
    thread_pool pool(2);
    for (weight_format f : {weight_format::q4, weight_format::q8}) {
        const std::string out = tiny_dir() + "_" + weight_format_name(f);
        sh("rm -rf " + q(out) + " && mkdir -p " + q(out));
        // Side files (the tool copies them; here by hand).
        sh("cp " + q(tiny_dir()) + "/*.json " + q(out) + " && rm -f " + q(out + "/model.safetensors.index.json"));
        quantize_options qo;
        qo.format = f;
        qo.pool = &pool;
        qo.max_shard_bytes = std::size_t(1) << 17;  // several shards again
        auto r = quantize_checkpoint(tiny_dir(), out, qo);
        INFO((r.is_ok() ? "ok" : r.error().message()));
        REQUIRE(r.is_ok());
        CHECK(r->files > 1);
        auto a = load(tiny_dir(), f, &pool);
        auto b = load(out, weight_format::native, &pool);
        CHECK(b->prequantized());
        CHECK(b->owned_bytes() == 0);
        CHECK(b->format() == f);
        const std::vector<image> imgs = {make_image(64, 48, 3, 5)};
        out_t ra = run(*a, &pool, imgs), rb = run(*b, &pool, imgs);
        CHECK(same_bits(ra.logits, rb.logits));
        CHECK(same_bits(ra.features, rb.features));
    }
    // A prequantized checkpoint is not quantized again.
    auto again = quantize_checkpoint(tiny_dir() + "_q4", smolvlm_test::temp_dir(), quantize_options{});
    REQUIRE(!again.is_ok());
    CHECK_THAT(again.error().message(), Catch::Contains("prequantized"));
}

TEST_CASE("mistral3: make-random-model writes a prequantized q4 directory directly", "[pipeline][mistral3][quantize]") {
    const std::string d = smolvlm_test::temp_dir() + "/m3_tiny_rq4";
    sh("rm -rf " + q(d));
    REQUIRE(sh(q(SMOLVLM_MAKE_RANDOM_MODEL_PATH) + " " + q(d) + " --shape tiny-mistral3 --dtype q4 --shard-mb 0.1") == 0);
    thread_pool pool(2);
    auto m = load(d, weight_format::native, &pool);
    CHECK(m->prequantized());
    CHECK(m->format() == weight_format::q4);
    CHECK(m->owned_bytes() == 0);
    out_t r = run(*m, &pool, {make_image(30, 30, 3, 9)});
    for (float v : r.logits) REQUIRE(std::isfinite(v));
}

TEST_CASE("mistral3 bad input: one clear error each, nothing allocated first", "[pipeline][mistral3][errors]") {
    thread_pool pool(2);
    auto m = load(tiny_dir(), weight_format::native, &pool);
    session s(*m, session_options{}, &pool);
    std::vector<chat_message> msgs(1);
    msgs[0].role = "user";
    msgs[0].content.push_back(chat_part::make_image());
    msgs[0].content.push_back(chat_part::make_text("x"));

    SECTION("an image over the processor's caps") {
        std::vector<std::uint8_t> px(16);  // a view claiming 70000 x 2: sizes are checked before any pixel is read
        media_input mi;
        mi.picture = image_view{px.data(), 70000, 2, 3, std::size_t(70000) * 3};
        prompt_job job;
        status st = job.begin(*m, s.context(), msgs, &mi, 1, prompt_options{});
        REQUIRE(!st.is_ok());
        CHECK(st.code() == errc::unsupported);
        CHECK_THAT(st.message(), Catch::Contains("cap"));
        CHECK(job.prompt().image_pixels.empty());
    }
    SECTION("more image tokens than the context") {
        const image im = make_image(64, 64, 3, 1);  // 4 x 4 tokens + breaks
        const media_input mi = media_input::from_image(im);
        prompt_options po;
        po.max_tokens = 40;
        prompt_job job;
        status st = job.begin(*m, s.context(), msgs, &mi, 1, po);
        REQUIRE(!st.is_ok());
        CHECK_THAT(st.message(), Catch::Contains("context"));
        CHECK(job.prompt().image_pixels.empty());  // refused before the pixels were made
        CHECK(job.prompt().features.empty());
        // And a session too small for the prompt says so too (not a crash).
        po.max_tokens = 0;
        REQUIRE(job.begin(*m, s.context(), msgs, &mi, 1, po).is_ok());
        REQUIRE(job.finish().is_ok());
        session small(*m, session_options{32, 16}, &pool);
        status ps = small.prefill(job.prompt().ids, job.prompt().features.data(), job.prompt().n_image_tokens);
        REQUIRE(!ps.is_ok());
        CHECK_THAT(ps.message(), Catch::Contains("context"));
    }
    SECTION("placeholders and images disagree") {
        prompt_job job;
        CHECK(!job.begin(*m, s.context(), msgs, nullptr, 0, prompt_options{}).is_ok());
        std::vector<chat_message> spelled = {chat_message::make("user", "look: [IMG]")};
        const status st = job.begin(*m, s.context(), spelled, nullptr, 0, prompt_options{});
        REQUIRE(!st.is_ok());
        CHECK_THAT(st.message(), Catch::Contains("[IMG]"));
    }
}

TEST_CASE("mistral3 bad checkpoints: missing shard, wrong shape, config and processor mismatches", "[pipeline][mistral3][errors]") {
    const std::string good = tiny_dir();
    auto copy = [&](const std::string& name) {
        const std::string d = smolvlm_test::temp_dir() + "/m3_bad_" + name;
        sh("rm -rf " + q(d) + " && cp -r " + q(good) + " " + q(d));
        return d;
    };
    auto expect = [](const std::string& dir, const char* needle) {
        auto m = model::load(dir);
        REQUIRE(!m.is_ok());
        INFO(m.error().message());
        CHECK_THAT(m.error().message(), Catch::Contains(needle));
    };
    SECTION("a missing shard") {
        const std::string d = copy("shard");
        REQUIRE(sh("rm " + q(d + "/model-00002-of-") + "*") == 0);
        expect(d, "model-00002-of-");
    }
    SECTION("a tensor of the wrong shape") {
        const std::string d = copy("shape");
        // Rewrite the shard that holds linear_1 with a transposed shape.
        const std::string victim = "multi_modal_projector.linear_1.weight";
        auto index = parse_json(smolvlm_test::read_file(d + "/model.safetensors.index.json"));
        REQUIRE(index.is_ok());
        const json_value* shard = index->find("weight_map")->find(victim);
        REQUIRE(shard);
        const std::string file = d + "/" + shard->as_string();
        std::vector<std::uint8_t> bytes;
        {
            auto f = safetensors_file::open(file.c_str());
            REQUIRE(f.is_ok());
            safetensors_writer w;
            for (const st_tensor& t : f->tensors()) {
                shape_t shp = t.shape;
                if (t.name == victim) std::swap(shp.dims[0], shp.dims[1]);
                REQUIRE(w.add(t.name, t.type, shp, t.data, t.nbytes).is_ok());
            }
            bytes = w.serialize();
        }
        std::FILE* fp = std::fopen(file.c_str(), "wb");
        REQUIRE(fp);
        std::fwrite(bytes.data(), 1, bytes.size(), fp);
        std::fclose(fp);
        expect(d, "linear_1.weight' has shape");
    }
    SECTION("a config whose vision sizes do not fit the weights") {
        const std::string d = copy("cfg");
        std::string cfg = smolvlm_test::read_file(d + "/config.json");
        const std::string from = "\"intermediate_size\":64", to = "\"intermediate_size\":96";
        REQUIRE(cfg.find(from) != std::string::npos);
        cfg.replace(cfg.find(from), from.size(), to);
        std::FILE* fp = std::fopen((d + "/config.json").c_str(), "wb");
        std::fwrite(cfg.data(), 1, cfg.size(), fp);
        std::fclose(fp);
        expect(d, "feed_forward");
    }
    SECTION("a processor whose patch does not match the tower") {
        const std::string d = copy("proc");
        std::FILE* fp = std::fopen((d + "/processor_config.json").c_str(), "wb");
        const std::string p = "{\"patch_size\":14,\"spatial_merge_size\":2}";
        std::fwrite(p.data(), 1, p.size(), fp);
        std::fclose(fp);
        expect(d, "patch_size");
    }
    SECTION("a processor that makes images larger than the tower takes") {
        const std::string d = copy("edge");
        std::string pre = smolvlm_test::read_file(d + "/preprocessor_config.json");
        const std::string from = "\"longest_edge\":64", to = "\"longest_edge\":512";
        REQUIRE(pre.find(from) != std::string::npos);
        pre.replace(pre.find(from), from.size(), to);
        std::FILE* fp = std::fopen((d + "/preprocessor_config.json").c_str(), "wb");
        std::fwrite(pre.data(), 1, pre.size(), fp);
        std::fclose(fp);
        expect(d, "image_size");
    }
}

}  // namespace smolvlm_test_pipeline_mistral3_pipeline_cases

#endif  // SMOLVLM_MAKE_RANDOM_MODEL_PATH

#if defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH) && defined(SMOLVLM_CLI_PATH)

namespace smolvlm_test_pipeline_mistral3_pipeline_cases {

TEST_CASE("mistral3 through smolvlm-cli: images, --date, and a context too small", "[pipeline][mistral3][cli]") {
    const std::string dir = tiny_dir();
    const std::string tmp = smolvlm_test::temp_dir() + "/m3_cli";
    // A gray PGM picture.
    {
        std::FILE* f = std::fopen((tmp + ".pgm").c_str(), "wb");
        REQUIRE(f);
        std::fprintf(f, "P5 37 90 255\n");
        for (int i = 0; i < 37 * 90; ++i) std::fputc((i * 7) & 255, f);
        std::fclose(f);
    }
    const std::string base = std::string("'") + SMOLVLM_CLI_PATH + "' -m '" + dir + "' --image '" + tmp + ".pgm' -p Describe -n 4 --temp 0 --ignore-eos --ids --date 2026-12-07 -t 2";
    REQUIRE(std::system((base + " > '" + tmp + ".out' 2> '" + tmp + ".err'").c_str()) == 0);
    const std::string out = smolvlm_test::read_file(tmp + ".out");
    CHECK(out.find("prompt_ids: 1 17 ") != std::string::npos);  // <s>[SYSTEM_PROMPT]
    CHECK(out.find(" 10 13 ") != std::string::npos);           // a one-token-wide image: [IMG][IMG_END]
    // The date reaches the system prompt.
    REQUIRE(std::system((base + " -v > /dev/null 2> '" + tmp + ".err'").c_str()) == 0);
    CHECK(smolvlm_test::read_file(tmp + ".err").find("The current date is 2026-12-07.") != std::string::npos);
    // More tokens than the context: one error line, before the image is encoded.
    const int rc = std::system((base + " -c 64 > '" + tmp + ".out' 2> '" + tmp + ".err'").c_str());
    CHECK(rc != 0);
    const std::string err = smolvlm_test::read_file(tmp + ".err");
    CHECK(err.rfind("error: the prompt has ", 0) == 0);
    CHECK(err.find("context") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(std::system(("'" + std::string(SMOLVLM_CLI_PATH) + "' -m '" + dir + "' -p x --date 2026-13-01 > /dev/null 2>&1").c_str()) != 0);
}


}  // namespace smolvlm_test_pipeline_mistral3_pipeline_cases

#endif
