// examples/smolvlm-inspect.cpp: run the built program (SMOLVLM_INSPECT_PATH, set by the
// build when the example exists) on a fixture dir, a written file and bad input.
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <sys/wait.h>

#include "../test_util.hpp"

#ifdef SMOLVLM_INSPECT_PATH

namespace smolvlm_test_examples_inspect_cases {  // one namespace per test file: the files also build as one unity translation unit

namespace {

struct run_result {
    int code = -1;
    std::string out, err;
};

run_result run_inspect(const std::string& args) {
    const std::string dir = smolvlm_test::temp_dir();
    const std::string out = dir + "/inspect.out", err = dir + "/inspect.err";
    const std::string cmd = std::string("'") + SMOLVLM_INSPECT_PATH + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int st = std::system(cmd.c_str());
    run_result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = smolvlm_test::read_file(out);
    r.err = smolvlm_test::read_file(err);
    return r;
}

bool one_error_line(const std::string& s) {
    return s.rfind("error: ", 0) == 0 && s.find('\n') == s.size() - 1;
}

}  // namespace

TEST_CASE("smolvlm-inspect: model dir", "[examples][inspect]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/idefics3_bf16_rgba_tall/model";
    SMOLVLM_REQUIRE_SHARED(dir + "/config.json");
    const run_result r = run_inspect("'" + dir + "'");
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("arch: idefics3 (vision + text)"));
    CHECK_THAT(r.out, Catch::Contains("heads 4/1 (head_dim 8)"));
    CHECK_THAT(r.out, Catch::Contains("patch 8 (8x8 patches)"));
    CHECK_THAT(r.out, Catch::Contains("scale_factor 4, image_seq_len 4, image_token_id 49190"));
    CHECK_THAT(r.out, Catch::Contains("tie_word_embeddings: false"));
    CHECK_THAT(r.out, Catch::Contains("total: 59 tensors, 6505120 bytes"));
    CHECK_THAT(r.out, Catch::Contains("3252560 parameters"));
    // Every tensor, sorted by name, with dtype / shape / bytes.
    const auto lm = r.out.find("\nlm_head.weight ");
    const auto emb = r.out.find("\nmodel.text_model.embed_tokens.weight ");
    const auto vis = r.out.find("\nmodel.vision_model.post_layernorm.weight ");
    REQUIRE(lm != std::string::npos);
    REQUIRE(emb != std::string::npos);
    REQUIRE(vis != std::string::npos);
    CHECK(lm < emb);
    CHECK(emb < vis);
    CHECK_THAT(r.out.substr(emb, 120), Catch::Contains("BF16") && Catch::Contains("[49280, 32]") &&
                                           Catch::Contains("3153920"));
}

TEST_CASE("smolvlm-inspect: safetensors file with metadata", "[examples][inspect]") {
    smolvlm::safetensors_writer w;
    const float a[6] = {1, 2, 3, 4, 5, 6};
    const std::int64_t ids[2] = {7, 8};
    REQUIRE(w.add("zeta", {2, 3}, a).is_ok());
    REQUIRE(w.add("alpha", {2}, ids).is_ok());
    w.set_metadata("format", "pt");
    const std::string path = smolvlm_test::temp_dir() + "/inspect_test.safetensors";
    REQUIRE(w.write(path.c_str()).is_ok());
    const run_result r = run_inspect("'" + path + "'");
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("  format: pt"));
    CHECK_THAT(r.out, Catch::Contains("total: 2 tensors, 40 bytes"));
    CHECK_THAT(r.out, Catch::Contains("8 parameters"));
    const auto pa = r.out.find("\nalpha "), pz = r.out.find("\nzeta ");
    REQUIRE(pa != std::string::npos);
    REQUIRE(pz != std::string::npos);
    CHECK(pa < pz);
    CHECK_THAT(r.out.substr(pa, 80), Catch::Contains("I64") && Catch::Contains("[2]") && Catch::Contains("16"));
}

TEST_CASE("smolvlm-inspect: bad input exits 1 with one error line", "[examples][inspect]") {
    const std::string dir = smolvlm_test::temp_dir();
    const std::string bad = dir + "/inspect_bad.safetensors";
    {
        std::FILE* fp = std::fopen(bad.c_str(), "wb");
        REQUIRE(fp);
        const unsigned char len[8] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};  // 65535-byte header, file of 10 bytes
        std::fwrite(len, 1, 8, fp);
        std::fwrite("{}", 1, 2, fp);
        std::fclose(fp);
    }
    run_result r = run_inspect("'" + bad + "'");
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(one_error_line(r.err));
    CHECK_THAT(r.err, Catch::Contains("past the end"));

    r = run_inspect("'" + dir + "/does-not-exist'");
    CHECK(r.code == 1);
    CHECK(one_error_line(r.err));

    r = run_inspect("'" + dir + "'");  // a directory without config.json
    CHECK(r.code == 1);
    CHECK(one_error_line(r.err));
    CHECK_THAT(r.err, Catch::Contains("config.json"));

    r = run_inspect("");
    CHECK(r.code == 1);
    CHECK(one_error_line(r.err));
    r = run_inspect("--bogus x");
    CHECK(r.code == 1);
    CHECK(one_error_line(r.err));

    r = run_inspect("-h");
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("usage: smolvlm-inspect"));
}

TEST_CASE("smolvlm-inspect: gguf file", "[examples][inspect][gguf]") {
    smolvlm::gguf_writer w;
    REQUIRE(w.add_string("general.architecture", "llama").is_ok());
    REQUIRE(w.add_u32("llama.block_count", 2).is_ok());
    REQUIRE(w.add_f32("llama.rope.freq_base", 100000.0f).is_ok());
    REQUIRE(w.add_string("tokenizer.chat_template", std::string(100, 'x') + "\n").is_ok());
    REQUIRE(w.add_string_array("tokenizer.ggml.tokens", std::vector<std::string>{"<s>", "a\"b", "c", "d", "e"}).is_ok());
    REQUIRE(w.add_array("tokenizer.ggml.token_type", std::vector<std::int32_t>{3, 1}).is_ok());
    std::vector<std::uint8_t> q8(2 * 2 * 34, 0), f32(64 * 4, 0);
    REQUIRE(w.add_tensor("zeta.weight", smolvlm::ggml_type::q8_0, {2, 64}, q8.data(), q8.size()).is_ok());
    REQUIRE(w.add_tensor("alpha", smolvlm::ggml_type::f32, {64}, f32.data(), f32.size()).is_ok());
    const std::string path = smolvlm_test::temp_dir() + "/inspect_test.gguf";
    REQUIRE(w.write(path.c_str()).is_ok());
    const run_result r = run_inspect("'" + path + "'");
    INFO(r.out << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("gguf: version 3, alignment 32, 6 metadata keys, 2 tensors"));
    CHECK_THAT(r.out, Catch::Contains("  general.architecture: string = \"llama\"\n"));
    CHECK_THAT(r.out, Catch::Contains("  llama.block_count: u32 = 2\n"));
    CHECK_THAT(r.out, Catch::Contains("  llama.rope.freq_base: f32 = 100000\n"));
    CHECK_THAT(r.out, Catch::Contains("  tokenizer.chat_template: string = \"" + std::string(48, 'x') + "\"... (101 bytes)\n"));
    CHECK_THAT(r.out, Catch::Contains("  tokenizer.ggml.tokens: array[string x 5] = [\"<s>\", \"a\\\"b\", \"c\", \"d\", ...]\n"));
    CHECK_THAT(r.out, Catch::Contains("  tokenizer.ggml.token_type: array[i32 x 2] = [3, 1]\n"));
    const auto pa = r.out.find("\nalpha "), pz = r.out.find("\nzeta.weight ");
    REQUIRE(pa != std::string::npos);
    REQUIRE(pz != std::string::npos);
    CHECK(pa < pz);  // sorted by name
    CHECK_THAT(r.out.substr(pz, 100), Catch::Contains("Q8_0") && Catch::Contains("[2, 64]") && Catch::Contains("[64, 2]") &&
                                          Catch::Contains("136"));
    CHECK_THAT(r.out, Catch::Contains("total: 2 tensors, 392 bytes"));
    CHECK_THAT(r.out, Catch::Contains("192 parameters"));
    CHECK_THAT(r.out, Catch::Contains("types: F32 x 1, Q8_0 x 1"));

    // A bad GGUF: one error line naming the problem.
    std::vector<std::uint8_t> bytes = w.serialize();
    bytes.resize(bytes.size() - 10);
    const std::string bad = smolvlm_test::temp_dir() + "/inspect_bad.gguf";
    std::FILE* fp = std::fopen(bad.c_str(), "wb");
    REQUIRE(fp);
    std::fwrite(bytes.data(), 1, bytes.size(), fp);
    std::fclose(fp);
    const run_result e = run_inspect("'" + bad + "'");
    CHECK(e.code == 1);
    CHECK(e.out.empty());
    CHECK(one_error_line(e.err));
    CHECK_THAT(e.err, Catch::Contains("gguf: tensor 'alpha'") && Catch::Contains("runs past the end"));
}

TEST_CASE("smolvlm-inspect: fixture gguf", "[examples][inspect][gguf]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/gguf/quant_types/Q4_K.gguf";
    SMOLVLM_REQUIRE_SHARED(path);
    const run_result r = run_inspect("'" + path + "'");
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK_THAT(r.out, Catch::Contains("29 metadata keys, 12 tensors, data at byte 13152 (482304 bytes)"));
    CHECK_THAT(r.out, Catch::Contains("  tokenizer.ggml.merges: array[string x 260] = [\"Ġ t\", \"Ġ a\", \"i n\", \"h e\", ...]"));
    const auto p = r.out.find("\nblk.0.ffn_down.weight ");
    REQUIRE(p != std::string::npos);
    CHECK_THAT(r.out.substr(p, 100), Catch::Contains("Q4_K") && Catch::Contains("[256, 512]") &&
                                         Catch::Contains("[512, 256]") && Catch::Contains("73728"));
    CHECK_THAT(r.out, Catch::Contains("types: Q4_K x 9, F32 x 3"));
}


}  // namespace smolvlm_test_examples_inspect_cases

#endif  // SMOLVLM_INSPECT_PATH
