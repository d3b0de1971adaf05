#include <smolvlm/io/safetensors.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_io_safetensors_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("safetensors writer and reader round trip", "[io][safetensors]") {
    safetensors_writer w;
    std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, 5.0f, 6.0f};
    std::vector<std::uint16_t> b = {f32_to_bf16(1.5f), f32_to_bf16(-3.0f)};
    std::vector<std::int64_t> c = {7, -8, 9};
    REQUIRE(w.add("layer.a", {2, 3}, a.data()).is_ok());
    REQUIRE(w.add("layer.b", dtype::bf16, {2}, b.data(), 4).is_ok());
    REQUIRE(w.add("ids", {3}, c.data()).is_ok());
    REQUIRE(w.add("empty", dtype::f32, {0, 4}, nullptr, 0).is_ok());
    CHECK_FALSE(w.add("ids", {3}, c.data()).is_ok());  // duplicate
    w.set_metadata("format", "pt");
    std::vector<std::uint8_t> bytes = w.serialize();

    auto r = safetensors_file::from_memory(bytes.data(), bytes.size());
    REQUIRE(r.is_ok());
    const safetensors_file& f = r.value();
    CHECK(f.tensors().size() == 4);
    CHECK((8 + f.header_bytes()) % 8 == 0);
    REQUIRE(f.find_metadata("format"));
    CHECK(*f.find_metadata("format") == "pt");
    const st_tensor* ta = f.find("layer.a");
    REQUIRE(ta);
    CHECK(ta->type == dtype::f32);
    CHECK(ta->shape == shape_t{2, 3});
    std::vector<float> got;
    REQUIRE(read_as_f32(*ta, got).is_ok());
    CHECK(got == a);
    REQUIRE(read_as_f32(*f.find("layer.b"), got).is_ok());
    CHECK(got == std::vector<float>{1.5f, -3.0f});
    std::vector<std::int64_t> ids;
    REQUIRE(read_as_i64(*f.find("ids"), ids).is_ok());
    CHECK(ids == c);
    CHECK(f.find("empty")->nbytes == 0);
    CHECK(f.find("nope") == nullptr);

    // Through a file, mmap'd and read.
    std::string path = smolvlm_test::temp_dir() + "/roundtrip.safetensors";
    REQUIRE(w.write(path.c_str()).is_ok());
    for (bool mm : {true, false}) {
        safetensors_options o;
        o.allow_mmap = mm;
        auto rf = safetensors_file::open(path.c_str(), o);
        REQUIRE(rf.is_ok());
        CHECK(rf->is_mapped() == (mm && SMOLVLM_HAVE_MMAP));
        REQUIRE(read_as_f32(*rf->find("layer.a"), got).is_ok());
        CHECK(got == a);
    }
}

TEST_CASE("safetensors reads every fixture checkpoint", "[io][safetensors][shared]") {
    for (const std::string& c : smolvlm_test::fixture_cases()) {
        std::string p = smolvlm_test::fixtures_dir() + "/" + c + "/model/model.safetensors";
        SMOLVLM_REQUIRE_SHARED(p);
        auto r = safetensors_set::open_dir(smolvlm_test::fixtures_dir() + "/" + c + "/model");
        INFO(c);
        REQUIRE(r.is_ok());
        const st_tensor* emb = r->find("model.text_model.embed_tokens.weight");
        REQUIRE(emb);
        CHECK(emb->shape[0] == 49280);
        CHECK(emb->aligned());
    }
}

}  // namespace smolvlm_test_io_safetensors_cases
