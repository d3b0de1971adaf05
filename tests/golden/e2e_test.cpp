// End to end through smolvlm-cli, for every shared fixture:
//   smolvlm-cli -m model --messages M.json -n 16 --temp 0 --ignore-eos --ids --dump D.safetensors
// then every dumped stage against golden.safetensors: integers, masks and pixel values
// exactly; float tensors within golden.json's suggested_atol (10x the reference's own
// f32-vs-f64 error, see ../shared/fixtures/README.md); the 16 greedy ids exactly.
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "../test_util.hpp"

using namespace smolvlm;

#ifdef SMOLVLM_CLI_PATH

namespace {

std::string messages_json(const json_value& golden, const std::string& dir) {
    // Fill each image/video place with the fixture's input files, in order.
    const json_value& inputs = *golden.find("inputs");
    std::size_t next = 0;
    json_value msgs = *golden.find("messages");
    std::string out = "[";
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const json_value& m = msgs[i];
        if (i) out += ",";
        out += "{\"role\":";
        json_append_string(out, m.find("role")->as_string());
        out += ",\"content\":[";
        const json_value& content = *m.find("content");
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

std::vector<std::int64_t> ids_line(const std::string& out, const std::string& label) {
    std::vector<std::int64_t> ids;
    const std::size_t p = out.find("\n" + label + ":");
    if (p == std::string::npos) return ids;
    std::istringstream ss(out.substr(p + label.size() + 2, out.find('\n', p + 1) - p - label.size() - 2));
    std::int64_t v;
    while (ss >> v) ids.push_back(v);
    return ids;
}

}  // namespace

TEST_CASE("every fixture end to end through smolvlm-cli", "[golden][e2e]") {
    std::vector<std::string> cases = smolvlm_test::fixture_cases();
    for (const char* c : {"mistral3_bf16_one_image", "mistral3_f32_two_images"}) cases.push_back(c);
    for (const std::string& c : cases) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO("fixture " << c);
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());
        const std::string tmp = smolvlm_test::temp_dir() + "/e2e_" + c;
        {
            std::FILE* f = std::fopen((tmp + ".json").c_str(), "wb");
            REQUIRE(f);
            const std::string j = messages_json(meta.value(), dir);
            std::fwrite(j.data(), 1, j.size(), f);
            std::fclose(f);
        }
        // The date templates render (strftime_now), when the fixture pins one.
        const json_value* date = meta->find("date");
        const std::string date_arg = date && date->is_string() ? " --date " + date->as_string() : "";
        const std::string cmd = std::string("'") + SMOLVLM_CLI_PATH + "' -m '" + dir + "/model' --messages '" + tmp +
                                ".json' -n 16 --temp 0 --ignore-eos --ids -t 2" + date_arg + " --dump '" + tmp +
                                ".safetensors' > '" + tmp + ".out' 2> '" + tmp + ".err'";
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
            WARN(c << " " << kv.first << ": max abs err " << err << " (atol " << atol->as_number() << ")");
            CHECK(err <= atol->as_number());
        }
    }
}

#endif  // SMOLVLM_CLI_PATH
