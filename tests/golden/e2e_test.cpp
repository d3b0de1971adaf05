// End to end through smolvlm-cli, for every shared fixture whose model family the engine
// reads (the others are reported as skipped):
//   smolvlm-cli -m model --messages M.json -n 16 --temp 0 --ignore-eos --ids --dump D.safetensors
//               [--date golden.date] [--chat-template-kwargs golden.chat_template_kwargs]
// then every dumped stage against golden.safetensors: integers, masks and pixel values
// exactly; float tensors within golden.json's suggested_atol (10x the reference's own
// f32-vs-f64 error, see ../shared/fixtures/README*.md); the 16 greedy ids exactly.
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/model/families.hpp>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_golden_e2e_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

#ifdef SMOLVLM_CLI_PATH

namespace {

std::string messages_json(const json_value& golden, const std::string& dir) {
    // Fill each image/video place with the fixture's input files, in order. String content
    // (the text-only families) stays a string.
    const json_value empty = json_value::make_array();
    const json_value& inputs = golden.find("inputs") ? *golden.find("inputs") : empty;
    std::size_t next = 0;
    json_value msgs = *golden.find("messages");
    std::string out = "[";
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const json_value& m = msgs[i];
        if (i) out += ",";
        out += "{\"role\":";
        json_append_string(out, m.find("role")->as_string());
        const json_value& content = *m.find("content");
        if (content.is_string()) {
            out += ",\"content\":";
            json_append_string(out, content.as_string());
            out += "}";
            continue;
        }
        out += ",\"content\":[";
        for (std::size_t k = 0; k < content.size(); ++k) {
            const json_value& part = content[k];
            const std::string& type = part.find("type")->as_string();
            if (k) out += ",";
            if (type == "text") {
                out += "{\"type\":\"text\",\"text\":";
                json_append_string(out, part.find("text")->as_string());
                out += "}";
            } else if (type == "image") {
                out += "{\"type\":\"image\",\"path\":";
                json_append_string(out, dir + "/" + inputs[next++].find("file")->as_string());
                out += "}";
            } else {  // video: every input is a frame
                const json_value& v = *golden.find("video");
                out += "{\"type\":\"video\",\"frames\":[";
                for (std::size_t f = 0; f < inputs.size(); ++f) {
                    if (f) out += ",";
                    json_append_string(out, dir + "/" + inputs[f].find("file")->as_string());
                }
                out += "],\"timestamps\":";
                json_write(out, *v.find("timestamps_s"));
                out += ",\"duration\":";
                json_write(out, *v.find("duration_s"));
                out += "}";
                next = inputs.size();
            }
        }
        out += "]}";
    }
    return out + "]";
}

std::vector<std::int64_t> ids_line(const std::string& out, const std::string& label);

std::vector<std::int64_t> ids_line(const std::string& out, const std::string& label) {
    std::vector<std::int64_t> ids;
    const std::size_t p = out.find("\n" + label + ":");
    if (p == std::string::npos) return ids;
    std::istringstream ss(out.substr(p + label.size() + 2, out.find('\n', p + 1) - p - label.size() - 2));
    std::int64_t v;
    while (ss >> v) ids.push_back(v);
    return ids;
}

// One fixture through smolvlm-cli, the model given by `model_args` ("-m DIR" or a GGUF pair).
void run_fixture(const std::string& c, const std::string& model_args, const std::string& tag) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO("fixture " << c << " " << tag);
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());
        // The template's inputs beside the messages: its date and kwargs.
        std::string extra;
        if (const json_value* date = meta->find("date"); date && date->is_string()) extra += " --date " + date->as_string();
        if (const json_value* kw = meta->find("chat_template_kwargs"); kw && kw->is_object() && kw->size() > 0) {
            std::string j;
            json_write(j, *kw);
            const std::string kf = smolvlm_test::temp_dir() + "/e2e_" + c + tag + ".kwargs";
            extra += " --chat-template-kwargs \"$(cat '" + kf + "')\"";
            std::FILE* f = std::fopen(kf.c_str(), "wb");
            REQUIRE(f);
            std::fwrite(j.data(), 1, j.size(), f);
            std::fclose(f);
        }
        const std::string tmp = smolvlm_test::temp_dir() + "/e2e_" + c + tag;
        {
            std::FILE* f = std::fopen((tmp + ".json").c_str(), "wb");
            REQUIRE(f);
            const std::string j = messages_json(meta.value(), dir);
            std::fwrite(j.data(), 1, j.size(), f);
            std::fclose(f);
        }
        const std::string cmd = std::string("'") + SMOLVLM_CLI_PATH + "' " + model_args + " --messages '" + tmp +
                                ".json' -n 16 --temp 0 --ignore-eos --ids -t 2 --dump '" + tmp + ".safetensors'" + extra + " > '" +
                                tmp + ".out' 2> '" + tmp + ".err'";
        const int rc = std::system(cmd.c_str());
        INFO("stderr: " << smolvlm_test::read_file(tmp + ".err"));
        REQUIRE(rc == 0);
        const std::string out = smolvlm_test::read_file(tmp + ".out");

        auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
        auto d = safetensors_file::open((tmp + ".safetensors").c_str());
        REQUIRE(g.is_ok());
        REQUIRE(d.is_ok());
        const json_value* tensors = meta->find("tensors");

        // Prompt ids and greedy ids, from stdout and from the dump.
        std::vector<std::int64_t> gi, gg, di, dg;
        REQUIRE(read_as_i64(*g->find("input_ids"), gi).is_ok());
        REQUIRE(read_as_i64(*g->find("generated_ids"), gg).is_ok());
        REQUIRE(read_as_i64(*d->find("input_ids"), di).is_ok());
        REQUIRE(read_as_i64(*d->find("generated_ids"), dg).is_ok());
        CHECK(ids_line(out, "prompt_ids") == gi);
        CHECK(ids_line(out, "output_ids") == gg);
        CHECK(di == gi);
        CHECK(dg == gg);

        // Exact stages (integers, masks, pixel values; Mistral 3: per image, and the resized uint8 images).
        std::vector<std::string> exact = {"pixel_values", "pixel_attention_mask", "patch_attention_mask",
                                          "vision_position_ids", "image_sizes"};
        for (int k = 0; k < 16; ++k) {
            exact.push_back("pixel_values_" + std::to_string(k));
            exact.push_back("image" + std::to_string(k) + "_resized");
        }
        for (const std::string& name : exact) {
            const st_tensor* gt = g->find(name);
            if (!gt) continue;
            const st_tensor* dt = d->find(name);
            INFO(name);
            REQUIRE(dt);
            std::vector<float> a, b;
            REQUIRE(read_as_f32(*gt, a).is_ok());
            REQUIRE(read_as_f32(*dt, b).is_ok());
            REQUIRE(a.size() == b.size());
            std::size_t diff = 0;
            for (std::size_t i = 0; i < a.size(); ++i) diff += a[i] != b[i];
            CHECK(diff == 0);
        }
        // Float stages within the suggested tolerance.
        for (const auto& kv : tensors->members()) {
            const json_value* atol = kv.second.find("suggested_atol");
            if (!atol || kv.first == "gen_topk_logits") continue;
            const st_tensor* gt = g->find(kv.first);
            const st_tensor* dt = d->find(kv.first);
            INFO("stage " << kv.first);
            REQUIRE(gt);
            REQUIRE(dt);
            std::vector<float> a, b;
            REQUIRE(read_as_f32(*gt, a).is_ok());
            REQUIRE(read_as_f32(*dt, b).is_ok());
            REQUIRE(a.size() == b.size());
            float err = 0.0f;
            for (std::size_t i = 0; i < a.size(); ++i) err = std::max(err, std::fabs(a[i] - b[i]));
            WARN(c << tag << " " << kv.first << ": max abs err " << err << " (atol " << atol->as_number() << ")");
            CHECK(err <= atol->as_number());
        }
}

}  // namespace

TEST_CASE("every fixture end to end through smolvlm-cli", "[golden][e2e]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir() + "/README.md");
    int ran = 0;
    for (const std::string& c : smolvlm_test::all_fixture_cases()) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        INFO("fixture " << c);
        auto cfg = parse_json(smolvlm_test::read_file(dir + "/model/config.json"));
        REQUIRE(cfg.is_ok());
        const json_value* type = cfg->find("model_type");
        if (!type || !type->is_string() || !find_family(type->as_string())) {
            WARN("skipped: " << c << " (model_type " << (type && type->is_string() ? type->as_string() : "?")
                             << " is not read by this engine yet)");
            continue;
        }
        ++ran;
        run_fixture(c, "-m '" + dir + "/model'", "");
    }
    CHECK(ran >= 10);  // the six SmolVLM cases, the two SmolLM3 and the two Mistral 3 ones at least
}

// The same golden through the GGUF pair llama.cpp's converter made of the fixture (lossless
// f32: ../shared/fixtures/gguf/README.md): same prompt ids, same greedy ids, stages within atol.
TEST_CASE("idefics3_f32_rgb_split end to end through its GGUF pair", "[golden][e2e][gguf]") {
    const std::string g = smolvlm_test::fixtures_dir() + "/gguf/idefics3_f32_rgb_split";
    SMOLVLM_REQUIRE_SHARED(g + "/text-f32.gguf");
    run_fixture("idefics3_f32_rgb_split", "-m '" + g + "/text-f32.gguf' --mmproj '" + g + "/mmproj-f32.gguf'", "_gguf");
}

#endif  // SMOLVLM_CLI_PATH

}  // namespace smolvlm_test_golden_e2e_cases
