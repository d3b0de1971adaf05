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

namespace smolvlm_test_examples_cli_cases {  // one namespace per test file: the files also build as one unity translation unit

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
    static std::string dirs[3];
    const std::string sh = shape;
    std::string& d = dirs[sh == "tiny" ? 0 : sh == "tiny-text" ? 1 : 2];
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
    CHECK(r.err.rfind("error: the prompt has ", 0) == 0);
    CHECK(r.err.find("fit in the context") != std::string::npos);
    const long n_prompt = std::strtol(r.err.c_str() + std::strlen("error: the prompt has "), nullptr, 10);
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

namespace {

std::string write_text_file(const std::string& name, const std::string& text) {
    const std::string p = smolvlm_test::temp_dir() + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p;
}

std::size_t count_of(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("cli SmolLM3: --date, --no-think / --think, --chat-template-kwargs, tool turns", "[examples][cli][smollm3]") {
    const std::string& m = tiny_model("tiny-smollm3");
    const std::string base = "-m '" + m + "' -p 'Hello the cat' -n 2 --ignore-eos --ids -v --date 2026-12-07";
    run_result think = run(base);
    INFO(think.err);
    REQUIRE(think.rc == 0);
    CHECK(think.err.find("Today Date: 07 December 2026\nReasoning Mode: /think\n") != std::string::npos);
    CHECK(think.err.find("<|im_start|>assistant\n\n---") != std::string::npos);  // nothing after the prompt
    run_result no = run(base + " --no-think");
    REQUIRE(no.rc == 0);
    CHECK(no.err.find("Reasoning Mode: /no_think\n") != std::string::npos);
    CHECK(no.err.find("<|im_start|>assistant\n<think>\n\n</think>\n\n---") != std::string::npos);
    run_result kw = run(base + " --chat-template-kwargs '{\"enable_thinking\": false}'");
    REQUIRE(kw.rc == 0);
    CHECK(ids_after(kw.out, "prompt_ids") == ids_after(no.out, "prompt_ids"));
    run_result both = run(base + " --chat-template-kwargs '{\"enable_thinking\": false}' --think");  // later flag wins
    REQUIRE(both.rc == 0);
    CHECK(ids_after(both.out, "prompt_ids") == ids_after(think.out, "prompt_ids"));
    run_result sys = run(base + " -sys 'Be short. /no_think'");  // the system prompt's flag wins over the kwarg
    REQUIRE(sys.rc == 0);
    CHECK(sys.err.find("Reasoning Mode: /no_think\n\n## Custom Instructions\n\nBe short.\n\n") != std::string::npos);

    // Tool turns and tools from a messages file; the tool result is a user turn.
    const std::string msgs = write_text_file(
        "smollm3_tools.json",
        R"({"tools":[{"name":"get_time","parameters":{"tz":"string"}}],"messages":[)"
        R"({"role":"user","content":"Time?"},{"role":"assistant","content":null},)"
        R"({"role":"tool","content":"12:00"},{"role":"user","content":[{"type":"text","text":"dropped"}]}]})");
    run_result t = run("-m '" + m + "' --messages '" + msgs + "' -n 1 -v --no-think --date 2026-12-07");
    INFO(t.err);
    REQUIRE(t.rc == 0);
    CHECK(t.err.find("<tools>\n{'name': 'get_time', 'parameters': {'tz': 'string'}}\n</tools>") != std::string::npos);
    CHECK(t.err.find("\n\n<|im_end|>\n<|im_start|>user\nTime?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n"
                     "<|im_end|>\n<|im_start|>user\n12:00<|im_end|>\n<|im_start|>user\n<|im_end|>\n") != std::string::npos);
    CHECK(t.err.find("warning: SmolLM3's chat template renders list content as an empty string") != std::string::npos);
}

TEST_CASE("cli SmolLM3: the thinking part is marked on a terminal, plain in a pipe", "[examples][cli][smollm3]") {
    const std::string& m = tiny_model("tiny-smollm3");
    // A near-uniform sampler over the ~380 ids of the tiny vocabulary meets <think> and
    // </think> within a few thousand tokens (fixed seed: deterministic).
    const std::string args = "-m '" + m + "' -p 'Hi' -n 3000 --ignore-eos --temp 1000 -s 11";
    run_result plain = run(args), color = run(args + " --color always");
    INFO(plain.err);
    REQUIRE(plain.rc == 0);
    REQUIRE(color.rc == 0);
    REQUIRE(plain.out.find("<think>") != std::string::npos);
    CHECK(plain.out.find("\x1b[") == std::string::npos);  // not a terminal: no escape codes
    CHECK(color.out.find("\x1b[2m<think>") != std::string::npos);
    CHECK(count_of(color.out, "\x1b[2m") == count_of(color.out, "\x1b[0m"));
    std::string stripped = color.out;  // the same text once the marks are removed
    for (const char* mark : {"\x1b[2m", "\x1b[0m"})
        for (std::size_t p = stripped.find(mark); p != std::string::npos; p = stripped.find(mark)) stripped.erase(p, 4);
    CHECK(stripped == plain.out);
}

TEST_CASE("cli SmolLM3: -cnv keeps the replies as the template expects", "[examples][cli][smollm3]") {
    const std::string& m = tiny_model("tiny-smollm3");
    run_result c = run("-m '" + m + "' -cnv --no-think -n 4 --ignore-eos -v --json-timings --date 2026-12-07",
                       "Hi the dog\nAnd the cat?\n\n");
    INFO(c.err);
    REQUIRE(c.rc == 0);
    const std::size_t second = c.err.rfind("--- prompt");
    REQUIRE(second != std::string::npos);
    const std::string p2 = c.err.substr(second);
    // The first reply is an assistant turn with the empty think block the template adds in
    // /no_think mode, then the second question and the generation prompt.
    CHECK(count_of(p2, "<|im_start|>assistant\n<think>\n\n</think>\n") == 2);
    CHECK(p2.find("<|im_end|>\n<|im_start|>user\nAnd the cat?<|im_end|>\n") != std::string::npos);
    const long prompt_tokens = std::strtol(c.err.c_str() + c.err.rfind("\"prompt_tokens\":") + 16, nullptr, 10);
    const long computed = std::strtol(c.err.c_str() + c.err.rfind("\"prefill_tokens\":") + 17, nullptr, 10);
    CHECK(computed < prompt_tokens / 2);  // the first turn's prefix comes from the cache
}

namespace {

// A copy of model dir `from` in `to` whose file `name` has `what` replaced by `with`.
std::string altered_model(const std::string& from, const std::string& to, const std::string& name,
                          const std::string& what, const std::string& with) {
    REQUIRE(std::system(("rm -rf '" + to + "' && cp -r '" + from + "' '" + to + "'").c_str()) == 0);
    std::string text = smolvlm_test::read_file(to + "/" + name);
    const std::size_t at = text.find(what);
    REQUIRE(at != std::string::npos);
    text.replace(at, what.size(), with);
    std::FILE* f = std::fopen((to + "/" + name).c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return to;
}

}  // namespace

TEST_CASE("cli SmolLM3: bad input gives one error line", "[examples][cli][smollm3]") {
    const std::string& m = tiny_model("tiny-smollm3");
    const std::string tmp = smolvlm_test::temp_dir();
    const std::string short_nope = altered_model(m, tmp + "/model_bad_nope", "config.json", "\"no_rope_layers\":[1,1,1,0]",
                                                 "\"no_rope_layers\":[1,1,1]");
    const std::string nfkc = altered_model(m, tmp + "/model_bad_tok", "tokenizer.json", "\"normalizer\":null",
                                           "\"normalizer\":{\"type\":\"NFKC\"}");
    const std::string bad_utf8 = write_text_file("bad_utf8.txt", "caf\xC3 au lait");
    const std::string bad_role = write_text_file("bad_role.json", R"([{"role":"narrator","content":"x"}])");
    const std::string bad_tools = write_text_file("bad_tools.json", R"({"tools":{"a":1},"messages":[{"role":"user","content":"x"}]})");
    const std::string long_prompt = write_text_file("long.txt", std::string(3000, 'a') + " the cat");
    const std::vector<std::string> bad = {
        "-m '" + m + "' -f '" + bad_utf8 + "' -n 1",                                         // invalid UTF-8
        "-m '" + m + "' -f '" + long_prompt + "' -n 1 -c 64",                                // longer than the context
        "-m '" + m + "' -p hi --chat-template-kwargs '{\"enable_thinking\": \"false\"}'",     // wrong kwarg type
        "-m '" + m + "' -p hi --chat-template-kwargs '{\"xml_tools\": \"x\"}'",               //
        "-m '" + m + "' -p hi --chat-template-kwargs '[1]'",                                 // not an object
        "-m '" + m + "' -p hi --chat-template-kwargs '{'",                                   // not JSON
        "-m '" + m + "' -p hi --date 2026-02-30",                                            // not a date
        "-m '" + m + "' -p hi --date today",                                                 //
        "-m '" + m + "' -p hi --color maybe",                                                //
        "-m '" + m + "' --messages '" + bad_role + "'",                                      // unknown role
        "-m '" + m + "' --messages '" + bad_tools + "'",                                     // tools not a list
        "-m '" + short_nope + "' -p hi",                                                     // no_rope_layers too short
        "-m '" + nfkc + "' -p hi",                                                           // unsupported normalizer
    };
    for (const std::string& args : bad) {
        run_result r = run(args);
        INFO("args: " << args << "\nstderr: " << r.err);
        CHECK(r.rc == 1);
        CHECK(r.err.rfind("error: ", 0) != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

#endif

}  // namespace smolvlm_test_examples_cli_cases
