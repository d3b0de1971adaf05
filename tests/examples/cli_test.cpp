#include <algorithm>
// smolvlm-cli from the outside, on models the test generates itself with make-random-model
// (so this runs without ../shared): exit codes, --ids, --dump shapes, determinism, multi-turn
// chat, and clean errors for bad input.
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "../test_util.hpp"

using namespace smolvlm;

#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)

namespace {

struct run_result {
    int rc;
    std::string out, err;
};

run_result run(const std::string& args, const std::string& input = "") {
    static int counter = 0;
    const std::string base = smolvlm_test::temp_dir() + "/cli_run" + std::to_string(counter++);
    std::string cmd = std::string("'") + SMOLVLM_CLI_PATH + "' " + args + " > '" + base + ".out' 2> '" + base + ".err'";
    if (!input.empty()) {
        std::FILE* f = std::fopen((base + ".in").c_str(), "wb");
        std::fwrite(input.data(), 1, input.size(), f);
        std::fclose(f);
        cmd += " < '" + base + ".in'";
    } else {
        cmd += " < /dev/null";
    }
    const int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, smolvlm_test::read_file(base + ".out"), smolvlm_test::read_file(base + ".err")};
}

const std::string& tiny_model(const char* shape) {
    static std::string dirs[2];
    std::string& d = dirs[std::string(shape) == "tiny" ? 0 : 1];
    if (d.empty()) {
        d = smolvlm_test::temp_dir() + "/model_" + shape;
        const std::string cmd = std::string("'") + SMOLVLM_MAKE_RANDOM_MODEL_PATH + "' '" + d + "' --shape " + shape +
                                " --seed 3 > /dev/null";
        REQUIRE(std::system(cmd.c_str()) == 0);
    }
    return d;
}

std::string write_ppm(int w, int h) {
    const std::string p = smolvlm_test::temp_dir() + "/img_" + std::to_string(w) + "x" + std::to_string(h) + ".ppm";
    std::string data = "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            data.push_back(char(x * 255 / w));
            data.push_back(char(y * 255 / h));
            data.push_back(char((x ^ y) & 255));
        }
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fwrite(data.data(), 1, data.size(), f);
    std::fclose(f);
    return p;
}

std::vector<long> ids_after(const std::string& out, const std::string& label) {
    std::vector<long> v;
    const std::size_t p = out.find(label + ":");
    if (p == std::string::npos) return v;
    std::istringstream ss(out.substr(p + label.size() + 1, out.find('\n', p) - p - label.size() - 1));
    long x;
    while (ss >> x) v.push_back(x);
    return v;
}

}  // namespace

TEST_CASE("cli describes an image with a generated model, deterministically", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string img = write_ppm(70, 45);
    const std::string args = "-m '" + m + "' --image '" + img + "' -p 'Describe.' -n 12 --ignore-eos --ids -t 2";
    run_result a = run(args + " --json-timings");
    INFO(a.err);
    REQUIRE(a.rc == 0);
    const std::vector<long> prompt = ids_after(a.out, "prompt_ids"), out = ids_after(a.out, "output_ids");
    CHECK(out.size() == 12);
    // tiny shape: 32 px tiles, patch 8, scale 2 -> 4 <image> tokens per tile; 70x45 -> 64 px -> 2x2 tiles + global
    // make-random-model's tokenizer puts <image> at id 5: 5 tiles x 4 tokens.
    CHECK(std::count(prompt.begin(), prompt.end(), 5L) == 20);
    CHECK(a.err.find("\"n_tiles\":5") != std::string::npos);
    CHECK(a.err.find("\"gen_tokens\":12") != std::string::npos);
    run_result b = run(args);
    REQUIRE(b.rc == 0);
    CHECK(ids_after(b.out, "output_ids") == out);
    CHECK(b.err.find("decode:") != std::string::npos);
    // Sampling with a seed is deterministic too, and differs from greedy in general.
    run_result s1 = run(args + " --temp 1.0 -s 7"), s2 = run(args + " --temp 1.0 -s 7");
    REQUIRE(s1.rc == 0);
    CHECK(ids_after(s1.out, "output_ids") == ids_after(s2.out, "output_ids"));
}

TEST_CASE("cli --dump writes the stage tensors with their shapes", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string img = write_ppm(40, 90);
    const std::string dump = smolvlm_test::temp_dir() + "/cli_dump.safetensors";
    run_result r = run("-m '" + m + "' --image '" + img + "' -p 'What?' -n 3 --ignore-eos --dump '" + dump + "'");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    auto f = safetensors_file::open(dump.c_str());
    REQUIRE(f.is_ok());
    const st_tensor* ids = f->find("input_ids");
    REQUIRE(ids);
    const std::int64_t L = ids->shape[1];
    const st_tensor* pv = f->find("pixel_values");
    REQUIRE(pv);
    CHECK(pv->shape == shape_t{1, pv->shape[1], 3, 32, 32});
    const std::int64_t tiles = pv->shape[1];  // 40x90 -> 64 px longest -> 1x2 tiles + global = 3
    CHECK(tiles == 3);
    CHECK(f->find("image_features")->shape == shape_t{tiles, 4, 32});
    CHECK(f->find("vision_last_hidden_state")->shape == shape_t{tiles, 16, 32});
    CHECK(f->find("pixel_shuffle_output")->shape == shape_t{tiles, 4, 128});
    CHECK(f->find("inputs_embeds")->shape == shape_t{L, 32});
    CHECK(f->find("logits_last")->shape[0] >= 300);
    CHECK(f->find("generated_ids")->shape == shape_t{3});
    CHECK(f->find("text_layer1_output")->shape == shape_t{L, 32});
}

TEST_CASE("cli text model, quantized weights and interactive chat", "[examples][cli]") {
    const std::string& m = tiny_model("tiny-text");
    run_result a = run("-m '" + m + "' -p 'Hello the cat' -n 5 --ignore-eos --ids");
    INFO(a.err);
    REQUIRE(a.rc == 0);
    CHECK(ids_after(a.out, "output_ids").size() == 5);
    for (const char* d : {"q8", "q4", "f32", "bf16"}) {
        run_result q = run("-m '" + m + "' -p 'Hello' -n 4 --ignore-eos --ids --dtype " + d);
        INFO(d << ": " << q.err);
        CHECK(q.rc == 0);
        CHECK(ids_after(q.out, "output_ids").size() == 4);
    }
    // An f16 KV cache runs (both spellings) and, on this tiny model, keeps the greedy ids
    // of the f32 cache (its logits move by ~1e-3 of their range; a flip would need a tie).
    for (const char* flags : {"-ctk f16 -ctv f16", "--cache-type f16"}) {
        run_result h = run("-m '" + m + "' -p 'Hello the cat' -n 5 --ignore-eos --ids " + flags);
        INFO(flags << ": " << h.err);
        CHECK(h.rc == 0);
        CHECK(ids_after(h.out, "output_ids") == ids_after(a.out, "output_ids"));
    }
    // Two turns on stdin; the second reuses the cache (fewer computed than prompt tokens).
    run_result c = run("-m '" + m + "' -cnv -n 4 --ignore-eos --json-timings", "Hi the dog\nAnd the cat?\n\n");
    INFO(c.err);
    REQUIRE(c.rc == 0);
    std::size_t turns = 0;
    for (std::size_t p = c.err.find("\"prompt_tokens\""); p != std::string::npos; p = c.err.find("\"prompt_tokens\"", p + 1))
        ++turns;
    CHECK(turns == 2);
    const std::size_t last = c.err.rfind("\"prompt_tokens\":");
    const long prompt_tokens = std::strtol(c.err.c_str() + last + 16, nullptr, 10);
    const std::size_t pf = c.err.rfind("\"prefill_tokens\":");
    const long computed = std::strtol(c.err.c_str() + pf + 17, nullptr, 10);
    CHECK(computed < prompt_tokens);
}

TEST_CASE("cli chat about a picture encodes it once", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string img = write_ppm(70, 45);
    run_result c = run("-m '" + m + "' --image '" + img + "' -cnv -n 3 --ignore-eos --json-timings",
                       "What is this?\nAnd the colours?\n\n");
    INFO(c.err);
    REQUIRE(c.rc == 0);
    // First turn encodes the 5 tiles; the second takes all 5 from the cache and reuses the KV prefix.
    CHECK(c.err.find("\"n_tiles\":5,\"n_tiles_cached\":0") != std::string::npos);
    CHECK(c.err.find("\"n_tiles\":5,\"n_tiles_cached\":5") != std::string::npos);
    const std::size_t last = c.err.rfind("\"prompt_tokens\":");
    const long prompt_tokens = std::strtol(c.err.c_str() + last + 16, nullptr, 10);
    const long computed = std::strtol(c.err.c_str() + c.err.rfind("\"prefill_tokens\":") + 17, nullptr, 10);
    CHECK(computed < prompt_tokens / 2);
}

TEST_CASE("cli fails cleanly with one error line", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string bad_img = smolvlm_test::temp_dir() + "/not_an_image.png";
    {
        std::FILE* f = std::fopen(bad_img.c_str(), "wb");
        std::fputs("\x89PNG\r\n\x1a\ngarbage", f);
        std::fclose(f);
    }
    const std::vector<std::string> bad = {
        "",                                                       // no model
        "-m /nonexistent/model -p hi",                            // missing dir
        "-m '" + m + "' --image '" + bad_img + "' -p hi",         // corrupt image
        "-m '" + m + "' --image /nonexistent.png -p hi",          // missing image
        "-m '" + m + "' -p hi --temp -1",                         // bad flag value
        "-m '" + m + "' -p hi --top-p 0",                         //
        "-m '" + m + "' -p hi -n abc",                            //
        "-m '" + m + "' -p hi --bogus",                           // unknown flag
        "-m '" + m + "' -p hi -c 4",                              // context too small
        "-m '" + m + "' --messages /nonexistent.json",            // missing messages file
        "-m '" + m + "' -p '<image>' -n 1",                       // placeholder text without an image
        "-m '" + m + "' -p hi --dtype q3",                        // unknown dtype
        "-m '" + m + "' -p hi -ctk q8",                           // unknown KV cache type
        "-m '" + m + "' -p hi -ctk f16",                          // K and V types differ
        "-m '" + m + "'",                                         // no prompt, no image
    };
    for (const std::string& args : bad) {
        run_result r = run(args);
        INFO("args: " << args << "\nstderr: " << r.err);
        CHECK(r.rc == 1);
        CHECK(r.err.rfind("error: ", 0) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("cli names a bad image file once in its error", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string bad_img = smolvlm_test::temp_dir() + "/trunc.png";
    {
        std::FILE* f = std::fopen(bad_img.c_str(), "wb");
        std::fputs("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", f);
        std::fclose(f);
    }
    for (const std::string& flags : {"--image '" + bad_img + "' -p hi", std::string("--image /nonexistent/trunc.png -p hi")}) {
        run_result r = run("-m '" + m + "' " + flags);
        INFO(r.err);
        CHECK(r.rc == 1);
        std::size_t n = 0;
        for (std::size_t p = r.err.find("trunc.png"); p != std::string::npos; p = r.err.find("trunc.png", p + 1)) ++n;
        CHECK(n == 1);
    }
    // The same through --messages (the path resolved against the JSON file's folder).
    const std::string msgs = smolvlm_test::temp_dir() + "/trunc_msgs.json";
    {
        std::FILE* f = std::fopen(msgs.c_str(), "wb");
        std::fputs("[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"path\":\"trunc.png\"}]}]", f);
        std::fclose(f);
    }
    run_result r = run("-m '" + m + "' --messages '" + msgs + "'");
    INFO(r.err);
    CHECK(r.rc == 1);
    CHECK(r.err.find("trunc.png") == r.err.rfind("trunc.png"));
}

TEST_CASE("cli context: checked before the tiles are encoded; default max(4096, prompt + n)", "[examples][cli]") {
    const std::string& m = tiny_model("tiny");
    const std::string img = write_ppm(70, 45);
    // -c 1 with an image: the error counts the image tokens (5 tiles x 4) with the text: the check
    // runs once the prompt is tokenized (prompt_job::begin), before the tiles are encoded.
    run_result r = run("-m '" + m + "' --image '" + img + "' -p hi -n 4 -c 1 --json-timings");
    INFO(r.err);
    CHECK(r.rc == 1);
    CHECK(r.err.rfind("error: the prompt (", 0) == 0);
    CHECK(r.err.find("do not fit the context (-c 1)") != std::string::npos);
    const long n_prompt = std::strtol(r.err.c_str() + std::strlen("error: the prompt ("), nullptr, 10);
    CHECK(n_prompt > 20);
    // An explicit -c that fits runs.
    run_result ok = run("-m '" + m + "' --image '" + img + "' -p hi -n 2 --ignore-eos -c " + std::to_string(n_prompt + 2));
    INFO(ok.err);
    CHECK(ok.rc == 0);
    run_result over = run("-m '" + m + "' --image '" + img + "' -p hi -n 3 --ignore-eos -c " + std::to_string(n_prompt + 2));
    CHECK(over.rc == 1);
    // No -c: a prompt longer than 4096 tokens gets a context of prompt + n (it used to be 4096 + n).
    const std::string& t = tiny_model("tiny-text");
    const std::string long_prompt = smolvlm_test::temp_dir() + "/long_prompt.txt";
    {
        std::string text;
        for (int i = 0; i < 5000; ++i) text += " the";
        std::FILE* f = std::fopen(long_prompt.c_str(), "wb");
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    run_result big = run("-m '" + t + "' -f '" + long_prompt + "' -n 2 --ignore-eos --json-timings");
    INFO(big.err);
    REQUIRE(big.rc == 0);
    const std::size_t pt = big.err.find("\"prompt_tokens\":");
    REQUIRE(pt != std::string::npos);
    CHECK(std::strtol(big.err.c_str() + pt + 16, nullptr, 10) > 5000);
    CHECK(big.err.find("\"gen_tokens\":2") != std::string::npos);
}

TEST_CASE("make-random-model: a full vocabulary decodes every generated id; the test picture", "[examples][cli]") {
    // The real shapes get a generated tokenizer with the model's vocabulary size, so a random
    // model's output shows as word pieces (with the old ~400-id tokenizer, ids above it printed
    // nothing). --vocab gives the tiny text shape SmolVLM's 49280 ids the same way.
    const std::string d = smolvlm_test::temp_dir() + "/model_tiny_text_49280";
    const std::string mk = std::string("'") + SMOLVLM_MAKE_RANDOM_MODEL_PATH + "' ";
    REQUIRE(std::system((mk + "'" + d + "' --shape tiny-text --vocab 49280 --seed 5 > /dev/null").c_str()) == 0);
    auto tj = parse_json(smolvlm_test::read_file(d + "/tokenizer.json"));
    REQUIRE(tj.is_ok());
    const json_value* model = tj->find("model");
    REQUIRE(model);
    CHECK(model->find("vocab")->size() == 49280);  // ids 0..49279, the special tokens included
    CHECK(smolvlm_test::read_file(d + "/config.json").find("\"vocab_size\":49280") != std::string::npos);
    run_result r = run("-m '" + d + "' -p 'Describe the picture.' -n 24 --ignore-eos --temp 1 -s 3 --ids");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const std::vector<long> out = ids_after(r.out, "output_ids");
    REQUIRE(out.size() == 24);
    for (long id : out) CHECK((id >= 0 && id < 49280));
    const std::string text = r.out.substr(0, r.out.find("prompt_ids:"));
    CHECK(std::count_if(text.begin(), text.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }) >= 24);

    const std::string pic = smolvlm_test::temp_dir() + "/demo_picture.ppm";
    REQUIRE(std::system((mk + "--picture '" + pic + "'").c_str()) == 0);
    const std::string px = smolvlm_test::read_file(pic);
    const std::string head = "P6\n640 480\n255\n";
    CHECK(px.compare(0, head.size(), head) == 0);
    CHECK(px.size() == head.size() + 640 * 480 * 3);
    run_result v = run("-m '" + tiny_model("tiny") + "' --image '" + pic + "' -p hi -n 2 --ignore-eos --json-timings");
    INFO(v.err);
    CHECK(v.rc == 0);
    CHECK(v.err.find("\"n_tiles\":5") != std::string::npos);  // 4:3 -> 2x2 tiles of 32 px + the global one
}

#endif
