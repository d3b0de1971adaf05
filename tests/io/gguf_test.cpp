// io/gguf.hpp: the GGUF reader and writer. Files written by the test (every value type, several
// tensor types and dims, alignments, v2 / v3) round-trip; the fixture GGUFs (llama.cpp's
// converter and quantizer) load and say what conversions.json and the README say.
// Malformed files: gguf_malformed_test.cpp.
#include <smolvlm/io/gguf.hpp>
#include <smolvlm/io/json.hpp>

#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_io_gguf_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::vector<std::uint8_t> bytes_of(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(seed + i * 7);
    return b;
}

// A writer with one of everything.
gguf_writer everything(std::uint32_t alignment, std::uint32_t version) {
    gguf_writer w;
    REQUIRE(w.set_alignment(alignment).is_ok());
    REQUIRE(w.set_version(version).is_ok());
    REQUIRE(w.add_string("general.architecture", "llama").is_ok());
    REQUIRE(w.add_u8("t.u8", 200).is_ok());
    REQUIRE(w.add_i8("t.i8", -100).is_ok());
    REQUIRE(w.add_u16("t.u16", 60000).is_ok());
    REQUIRE(w.add_i16("t.i16", -30000).is_ok());
    REQUIRE(w.add_u32("t.u32", 4000000000u).is_ok());
    REQUIRE(w.add_i32("t.i32", -5).is_ok());
    REQUIRE(w.add_u64("t.u64", 0xfedcba9876543210ull).is_ok());
    REQUIRE(w.add_i64("t.i64", -(std::int64_t(1) << 40)).is_ok());
    REQUIRE(w.add_f32("t.f32", 1e-5f).is_ok());
    REQUIRE(w.add_f64("t.f64", 0.1).is_ok());
    REQUIRE(w.add_bool("t.bool", true).is_ok());
    REQUIRE(w.add_string("t.empty_string", "").is_ok());
    REQUIRE(w.add_string("t.utf8", "caf\xc3\xa9 \xe2\x9c\x93\n{{ x }}").is_ok());
    REQUIRE(w.add_array("t.a_i32", std::vector<std::int32_t>{1, -2, 3}).is_ok());
    REQUIRE(w.add_array("t.a_u8", std::vector<std::uint8_t>{0, 255}).is_ok());
    REQUIRE(w.add_array("t.a_i16", std::vector<std::int16_t>{-1}).is_ok());
    REQUIRE(w.add_array("t.a_u64", std::vector<std::uint64_t>{1, ~0ull}).is_ok());
    REQUIRE(w.add_array("t.a_f32", std::vector<float>{0.5f, 0.25f, -3.0f}).is_ok());
    REQUIRE(w.add_array("t.a_f64", std::vector<double>{1.0 / 3.0}).is_ok());
    REQUIRE(w.add_array("t.a_bool", std::vector<bool>{true, false, true}).is_ok());
    REQUIRE(w.add_array("t.a_empty", std::vector<std::int32_t>{}).is_ok());
    REQUIRE(w.add_string_array("t.a_str", std::vector<std::string>{"a", "", "Ġt ect"}).is_ok());
    return w;
}

}  // namespace

TEST_CASE("gguf writer and reader round trip: every value type, tensors, alignments, v2/v3", "[io][gguf]") {
    for (std::uint32_t alignment : {32u, 64u, 1u}) {
        for (std::uint32_t version : {3u, 2u}) {
            INFO("alignment " << alignment << ", version " << version);
            gguf_writer w = everything(alignment, version);
            const auto f32 = bytes_of(2 * 3 * 4, 1), f16 = bytes_of(4 * 2, 2), q8 = bytes_of(2 * 2 * 34, 3),
                       q4k = bytes_of(144, 4), t4d = bytes_of(2 * 1 * 3 * 32 * 4, 5), i8 = bytes_of(3, 6);
            REQUIRE(w.add_tensor("a.weight", ggml_type::f32, {2, 3}, f32.data(), f32.size()).is_ok());
            REQUIRE(w.add_tensor("b", ggml_type::f16, {4}, f16.data(), f16.size()).is_ok());
            REQUIRE(w.add_tensor("c.q8", ggml_type::q8_0, {2, 64}, q8.data(), q8.size()).is_ok());
            REQUIRE(w.add_tensor("d.q4k", ggml_type::q4_k, {1, 256}, q4k.data(), q4k.size()).is_ok());
            REQUIRE(w.add_tensor("e.4d", ggml_type::f32, {2, 1, 3, 32}, t4d.data(), t4d.size()).is_ok());
            REQUIRE(w.add_tensor("f.i8", ggml_type::i8, {3}, i8.data(), i8.size()).is_ok());
            const std::vector<std::uint8_t> file = w.serialize();

            auto r = gguf_file::from_memory(file.data(), file.size());
            REQUIRE(r.is_ok());
            const gguf_file& f = r.value();
            CHECK(f.version() == version);
            CHECK(f.alignment() == alignment);
            CHECK(f.data_offset() % alignment == 0);
            CHECK(f.metadata().size() == 23 + (alignment != 32 ? 1 : 0));
            CHECK(f.has("general.alignment") == (alignment != 32));

            // Scalars, and integer getters across types.
            CHECK(*f.get_string("general.architecture") == "llama");
            CHECK(*f.get_u8("t.u8") == 200);
            CHECK(*f.get_u32("t.u8") == 200u);
            CHECK(*f.get_i64("t.u8") == 200);
            CHECK(*f.get_i8("t.i8") == -100);
            CHECK(*f.get_i32("t.i8") == -100);
            CHECK(*f.get_u16("t.u16") == 60000);
            CHECK(*f.get_i16("t.i16") == -30000);
            CHECK(*f.get_u32("t.u32") == 4000000000u);
            CHECK(*f.get_i64("t.u32") == 4000000000ll);
            CHECK(*f.get_i32("t.i32") == -5);
            CHECK(*f.get_u64("t.u64") == 0xfedcba9876543210ull);
            CHECK(*f.get_i64("t.i64") == -(std::int64_t(1) << 40));
            CHECK(*f.get_f32("t.f32") == 1e-5f);
            CHECK(*f.get_f64("t.f32") == double(1e-5f));
            CHECK(*f.get_f64("t.f64") == 0.1);
            CHECK(*f.get_bool("t.bool") == true);
            CHECK(f.get_string("t.empty_string")->empty());
            CHECK(*f.get_string("t.utf8") == "caf\xc3\xa9 \xe2\x9c\x93\n{{ x }}");

            // Getter errors: one line naming the key and what is wrong.
            auto e1 = f.get_u8("t.u32");
            REQUIRE_FALSE(e1.is_ok());
            CHECK(std::string(e1.error().message()) == "gguf: metadata 't.u32' = 4000000000 does not fit in u8");
            auto e2 = f.get_u32("t.i32");
            REQUIRE_FALSE(e2.is_ok());
            CHECK(std::string(e2.error().message()) == "gguf: metadata 't.i32' = -5 does not fit in u32");
            auto e3 = f.get_u32("general.architecture");
            REQUIRE_FALSE(e3.is_ok());
            CHECK(std::string(e3.error().message()) == "gguf: metadata 'general.architecture' is string, want an integer");
            auto e4 = f.get_string("nope.key");
            REQUIRE_FALSE(e4.is_ok());
            CHECK(std::string(e4.error().message()) == "gguf: metadata key 'nope.key' is missing");
            CHECK_FALSE(f.get_f32("t.u32").is_ok());
            CHECK_FALSE(f.get_bool("t.u8").is_ok());
            CHECK_FALSE(f.get_array("t.u8").is_ok());
            CHECK_FALSE(f.get_i64("t.a_i32").is_ok());
            CHECK_FALSE(f.get_i64("t.u64").is_ok());  // 0xfedc... > INT64_MAX

            // Arrays.
            CHECK(*f.get_array_of<std::int32_t>("t.a_i32") == std::vector<std::int32_t>{1, -2, 3});
            CHECK(*f.get_array_of<std::int64_t>("t.a_i32") == std::vector<std::int64_t>{1, -2, 3});
            CHECK_FALSE(f.get_array_of<std::uint32_t>("t.a_i32").is_ok());  // -2
            CHECK(*f.get_array_of<int>("t.a_u8") == std::vector<int>{0, 255});
            CHECK(*f.get_array_of<int>("t.a_i16") == std::vector<int>{-1});
            CHECK(*f.get_array_of<std::uint64_t>("t.a_u64") == std::vector<std::uint64_t>{1, ~0ull});
            CHECK(*f.get_array_of<float>("t.a_f32") == std::vector<float>{0.5f, 0.25f, -3.0f});
            CHECK(*f.get_array_of<double>("t.a_f64") == std::vector<double>{1.0 / 3.0});
            CHECK(*f.get_array_of<bool>("t.a_bool") == std::vector<bool>{true, false, true});
            CHECK(f.get_array_of<std::int32_t>("t.a_empty")->empty());
            CHECK(f.get_array("t.a_empty")->type() == gguf_value_type::i32);
            const auto strs = f.get_string_array("t.a_str");
            REQUIRE(strs.is_ok());
            CHECK(*strs == std::vector<std::string_view>{"a", "", "Ġt ect"});
            CHECK_FALSE(f.get_string_array("t.a_i32").is_ok());
            CHECK_FALSE(f.get_array_of<float>("t.a_i32").is_ok());
            CHECK_FALSE(f.get_array_of<int>("t.a_str").is_ok());
            const gguf_array a = *f.get_array("t.a_f32");
            CHECK(a.size() == 3);
            CHECK(a.at(2).as_f64() == -3.0);

            // Metadata in file order, then tensors in file order.
            CHECK(f.metadata()[alignment != 32 ? 1 : 0].key == "general.architecture");
            REQUIRE(f.tensors().size() == 6);
            const char* names[] = {"a.weight", "b", "c.q8", "d.q4k", "e.4d", "f.i8"};
            for (std::size_t i = 0; i < 6; ++i) CHECK(f.tensors()[i].name == names[i]);
            const gguf_tensor* a_t = f.find("a.weight");
            REQUIRE(a_t);
            CHECK(a_t->type == ggml_type::f32);
            CHECK(a_t->n_dims == 2);
            CHECK(a_t->ne[0] == 3);
            CHECK(a_t->ne[1] == 2);
            CHECK(a_t->shape() == shape_t{2, 3});
            CHECK(a_t->row_length() == 3);
            CHECK(a_t->n_rows() == 2);
            CHECK(a_t->nbytes == f32.size());
            CHECK(std::memcmp(a_t->data, f32.data(), f32.size()) == 0);
            const gguf_tensor* q = f.find("c.q8");
            REQUIRE(q);
            CHECK(q->shape() == shape_t{2, 64});
            CHECK(q->nbytes == q8.size());
            CHECK(q->row_bytes() == 68);
            CHECK(std::memcmp(q->row(1), q8.data() + 68, 68) == 0);
            CHECK(std::string(q->type_name()) == "Q8_0");
            const gguf_tensor* t4 = f.find("e.4d");
            REQUIRE(t4);
            CHECK(t4->shape() == shape_t{2, 1, 3, 32});
            CHECK((t4->ne[0] == 32 && t4->ne[1] == 3 && t4->ne[2] == 1 && t4->ne[3] == 2));
            CHECK(std::memcmp(t4->data, t4d.data(), t4d.size()) == 0);
            CHECK(std::memcmp(f.find("d.q4k")->data, q4k.data(), q4k.size()) == 0);
            CHECK(std::memcmp(f.find("f.i8")->data, i8.data(), 3) == 0);
            for (const auto& t : f.tensors()) {
                CHECK(t.offset % alignment == 0);
                CHECK(std::uint64_t(t.data - file.data()) == f.data_offset() + t.offset);
            }
            CHECK(f.find("nope") == nullptr);
            CHECK_FALSE(f.is_mapped());
        }
    }
}

TEST_CASE("gguf from a file: mmap'd and read", "[io][gguf]") {
    gguf_writer w = everything(32, 3);
    const auto b = bytes_of(64 * 4, 9);
    REQUIRE(w.add_tensor("x", ggml_type::f32, {64}, b.data(), b.size()).is_ok());
    const std::string path = smolvlm_test::temp_dir() + "/roundtrip.gguf";
    REQUIRE(w.write(path.c_str()).is_ok());
    for (bool mm : {true, false}) {
        gguf_options o;
        o.allow_mmap = mm;
        auto f = gguf_file::open(path.c_str(), o);
        REQUIRE(f.is_ok());
        CHECK(f->is_mapped() == (mm && SMOLVLM_HAVE_MMAP));
        CHECK(std::memcmp(f->find("x")->data, b.data(), b.size()) == 0);
        CHECK(*f->get_u16("t.u16") == 60000);
    }
    auto missing = gguf_file::open((smolvlm_test::temp_dir() + "/no-such.gguf").c_str());
    REQUIRE_FALSE(missing.is_ok());
    CHECK(missing.error().code() == errc::io);
    // A file that is not a GGUF: the path and the reason on one line.
    const std::string bad = smolvlm_test::temp_dir() + "/not.gguf";
    {
        std::FILE* fp = std::fopen(bad.c_str(), "wb");
        REQUIRE(fp);
        std::fputs("{\"not\": \"gguf\"} and more bytes", fp);
        std::fclose(fp);
    }
    auto nf = gguf_file::open(bad.c_str());
    REQUIRE_FALSE(nf.is_ok());
    CHECK(std::string(nf.error().message()) == bad + ": gguf: bad magic 7b 22 6e 6f (want \"GGUF\")");
}

TEST_CASE("gguf writer refuses what the reader would refuse", "[io][gguf]") {
    gguf_writer w;
    const float x[64] = {};
    CHECK(w.add_u32("k", 1).is_ok());
    CHECK(w.add_u32("k", 2).code() == errc::invalid_argument);  // duplicate key
    CHECK(w.add_u32("", 2).code() == errc::invalid_argument);
    CHECK(w.add_u32("general.alignment", 64).code() == errc::invalid_argument);
    CHECK(w.set_alignment(48).code() == errc::invalid_argument);
    CHECK(w.set_version(1).code() == errc::invalid_argument);
    CHECK(w.add_tensor("t", ggml_type::f32, {2, 32}, x, 256).is_ok());
    CHECK(w.add_tensor("t", ggml_type::f32, {64}, x, 256).code() == errc::invalid_argument);  // duplicate name
    CHECK(w.add_tensor("u", ggml_type::f32, {64}, x, 255).code() == errc::invalid_argument);  // bytes
    CHECK(w.add_tensor("u", ggml_type::q8_0, {2, 16}, x, 68).code() == errc::invalid_argument);  // 16 % 32
    CHECK(w.add_tensor("u", ggml_type::f32, {1, 1, 1, 1, 64}, x, 256).code() == errc::invalid_argument);  // 5 dims
    CHECK(w.add_tensor("u", ggml_type::f32, {0, 64}, x, 0).code() == errc::invalid_argument);
    CHECK(w.add_tensor(std::string(64, 'n'), ggml_type::f32, {64}, x, 256).code() == errc::invalid_argument);  // llama.cpp: < 64
    CHECK(w.add_tensor(std::string(63, 'n'), ggml_type::f32, {64}, x, 256).is_ok());
    CHECK(w.add_tensor("u", static_cast<ggml_type>(4), {64}, x, 256).code() == errc::invalid_argument);
    const auto file = w.serialize();
    auto f = gguf_file::from_memory(file.data(), file.size());
    REQUIRE(f.is_ok());
    CHECK(f->tensors().size() == 2);
    CHECK(f->metadata().size() == 1);
    // No tensors, no metadata: a valid 24-byte file.
    const auto empty = gguf_writer().serialize();
    CHECK(empty.size() == 24);
    auto e = gguf_file::from_memory(empty.data(), empty.size());
    REQUIRE(e.is_ok());
    CHECK(e->tensors().empty());
    CHECK(e->data_bytes() == 0);
}

// ---- fixtures ---------------------------------------------------------------------------------

namespace {

std::string gguf_dir() { return smolvlm_test::fixtures_dir() + "/gguf"; }

// Every key of a conversions.json metadata summary against the file: numbers by the file's
// type (integers exactly, f32 / f64 by their double value), strings, bools, float lists,
// "array[N]" (an array of N items) and "string[N]" (a string of N characters; the smollm3
// template has 5498 characters in 5598 UTF-8 bytes). Returns keys checked.
int check_metadata(const gguf_file& f, const json_value& want) {
    int n = 0;
    for (const auto& m : want.members()) {
        const std::string& key = m.first;
        const json_value& v = m.second;
        INFO("key " << key);
        const gguf_kv* kv = f.find_kv(key);
        REQUIRE(kv);
        if (v.is_string() && v.as_string().rfind("array[", 0) == 0) {
            REQUIRE(kv->type == gguf_value_type::array);
            CHECK("array[" + std::to_string(kv->array.size()) + "]" == v.as_string());
        } else if (v.is_string() && v.as_string().rfind("string[", 0) == 0 && key == "tokenizer.chat_template") {
            REQUIRE(kv->type == gguf_value_type::string);
            std::size_t chars = 0;  // conversions.json counts characters (Python len), not bytes
            for (char ch : kv->str) chars += (static_cast<unsigned char>(ch) & 0xc0) != 0x80;
            CHECK("string[" + std::to_string(chars) + "]" == v.as_string());
        } else if (v.is_string()) {
            CHECK(*f.get_string(key) == v.as_string());
        } else if (v.is_bool()) {
            CHECK(*f.get_bool(key) == v.as_bool());
        } else if (v.is_number()) {
            if (kv->scalar.is_float())
                CHECK(kv->scalar.as_f64() == v.as_number());
            else
                CHECK(*f.get_i64(key) == v.as_int());
        } else if (v.is_array()) {
            auto a = f.get_array_of<double>(key);
            REQUIRE(a.is_ok());
            REQUIRE(a->size() == v.size());
            for (std::size_t i = 0; i < v.size(); ++i) CHECK((*a)[i] == v.items()[i].as_number());
        } else {
            FAIL("unexpected JSON value for " << key);
        }
        ++n;
    }
    return n;
}

// A file's size, tensor count and set of ggml types against a conversions.json "text"/"mmproj" entry.
void check_file_summary(const gguf_file& f, const json_value& s) {
    CHECK(f.file_bytes() == std::size_t(s.find("bytes")->as_int()));
    CHECK(f.tensors().size() == std::size_t(s.find("n_tensors")->as_int()));
    std::set<std::string> have, want;
    for (const auto& t : f.tensors()) {
        std::string n = t.type_name();
        for (auto& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
        have.insert(n);
    }
    for (const auto& t : s.find("ggml_types")->items()) want.insert(t.as_string());
    CHECK(have == want);
}

}  // namespace

TEST_CASE("gguf reads every fixture file and its metadata matches conversions.json", "[io][gguf][shared]") {
    SMOLVLM_REQUIRE_SHARED(gguf_dir() + "/conversions.json");
    auto conv = parse_json(smolvlm_test::read_file(gguf_dir() + "/conversions.json"));
    REQUIRE(conv.is_ok());
    struct file_case {
        const char* path;        // under gguf/
        const char* summary;     // conversions.json path of the file summary
        const char* metadata;    // conversions.json path of the metadata summary ("" if none)
    };
    const file_case cases[] = {
        {"idefics3_f32_rgb_split/text-f32.gguf", "idefics3_f32_rgb_split.text", "idefics3_f32_rgb_split.text_metadata"},
        {"idefics3_f32_rgb_split/mmproj-f32.gguf", "idefics3_f32_rgb_split.mmproj", "idefics3_f32_rgb_split.mmproj_metadata"},
        {"smolvlm_bf16_nosplit/text-f16.gguf", "smolvlm_bf16_nosplit.text", ""},
        {"smolvlm_bf16_nosplit/mmproj-f16.gguf", "smolvlm_bf16_nosplit.mmproj", "smolvlm_bf16_nosplit.mmproj_metadata"},
        {"smollm3_bf16_chat/f32.gguf", "smollm3_bf16_chat.text", "smollm3_bf16_chat.metadata"},
    };
    int keys = 0;
    for (const auto& c : cases) {
        INFO(c.path);
        auto f = gguf_file::open((gguf_dir() + "/" + c.path).c_str());
        REQUIRE(f.is_ok());
        CHECK(f->version() == 3);
        CHECK(f->alignment() == 32);
        CHECK_FALSE(f->has("general.alignment"));  // README: no alignment key, 32 by default
        for (const auto& t : f->tensors()) CHECK(t.offset % 32 == 0);
        const json_value* s = conv->find_path(c.summary);
        REQUIRE(s);
        check_file_summary(*f, *s);
        if (c.metadata[0]) {
            const json_value* m = conv->find_path(c.metadata);
            REQUIRE(m);
            keys += check_metadata(*f, *m);
        }
    }
    CHECK(keys > 80);

    // Every quant_types file: the 2-D weights are the named type, the norms stay F32.
    const json_value* types = conv->find_path("quant_types.types");
    REQUIRE(types);
    int files = 0;
    for (const auto& m : types->members()) {
        INFO(m.first);
        const std::string file = m.first == "F32" ? "f32.gguf" : m.first + ".gguf";
        auto f = gguf_file::open((gguf_dir() + "/quant_types/" + file).c_str());
        REQUIRE(f.is_ok());
        CHECK(f->file_bytes() == std::size_t(m.second.find("gguf_bytes")->as_int()));
        std::set<std::string> kept;
        for (const auto& k : m.second.find("kept_f32")->items()) kept.insert(k.as_string());
        REQUIRE(f->tensors().size() == 12);
        for (const auto& t : f->tensors()) {
            const std::string name(t.name);
            CHECK(std::string(t.type_name()) == (kept.count(name) ? "F32" : m.second.find("ggml_type_2d")->as_string()));
        }
        CHECK(*f->get_string("general.architecture") == "llama");
        CHECK(*f->get_u32("llama.embedding_length") == 256);
        CHECK(f->get_string_array("tokenizer.ggml.tokens")->size() == 512);
        ++files;
    }
    CHECK(files == 14);
}

TEST_CASE("gguf fixture tensors: dims order, tokenizer arrays, chat template", "[io][gguf][shared]") {
    const std::string text = gguf_dir() + "/idefics3_f32_rgb_split/text-f32.gguf";
    SMOLVLM_REQUIRE_SHARED(text);
    // README "Dims order": ffn_down ne [512, 256] is HF down_proj (256, 512).
    auto q = gguf_file::open((gguf_dir() + "/quant_types/Q4_K.gguf").c_str());
    REQUIRE(q.is_ok());
    const gguf_tensor* down = q->find("blk.0.ffn_down.weight");
    REQUIRE(down);
    CHECK((down->ne[0] == 512 && down->ne[1] == 256));
    CHECK(down->shape() == shape_t{256, 512});
    CHECK(down->nbytes == 256u * 2 * 144);
    // The mmproj patch embedding: ne [16, 16, 3, C] = HF conv weight (C, 3, 16, 16).
    auto mm = gguf_file::open((gguf_dir() + "/idefics3_f32_rgb_split/mmproj-f32.gguf").c_str());
    REQUIRE(mm.is_ok());
    const gguf_tensor* pe = mm->find("v.patch_embd.weight");
    REQUIRE(pe);
    CHECK(pe->shape() == shape_t{64, 3, 16, 16});
    CHECK(mm->find("mm.model.fc.weight") != nullptr);

    // The tokenizer arrays are the case's tokenizer.json: vocabulary by id, merges in rank order.
    auto f = gguf_file::open(text.c_str());
    REQUIRE(f.is_ok());
    CHECK(f->find("output.weight") == nullptr);  // tied
    auto tok = parse_json(smolvlm_test::read_file(smolvlm_test::fixtures_dir() +
                                                  "/idefics3_f32_rgb_split/model/tokenizer.json"));
    REQUIRE(tok.is_ok());
    const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    REQUIRE(tokens.is_ok());
    REQUIRE(tokens->size() == 49280);
    int vocab_checked = 0, bad = 0;
    for (const auto& m : tok->find_path("model.vocab")->members()) {
        const auto id = std::size_t(m.second.as_int());
        bad += id >= tokens->size() || (*tokens)[id] != m.first;
        ++vocab_checked;
    }
    for (const auto& a : tok->find("added_tokens")->items()) {
        const auto id = std::size_t(a.find("id")->as_int());
        bad += id >= tokens->size() || (*tokens)[id] != a.find("content")->as_string();
        ++vocab_checked;
    }
    CHECK(vocab_checked >= 49280);
    CHECK(bad == 0);
    CHECK((*tokens)[0] == "<|endoftext|>");
    const auto merges = f->get_string_array("tokenizer.ggml.merges");
    REQUIRE(merges.is_ok());
    const json_value* jm = tok->find_path("model.merges");
    REQUIRE(merges->size() == jm->size());
    bad = 0;
    for (std::size_t i = 0; i < jm->size(); ++i) {
        const json_value& e = jm->items()[i];
        const std::string want = e.is_array() ? e.items()[0].as_string() + " " + e.items()[1].as_string() : e.as_string();
        bad += (*merges)[i] != want;
    }
    CHECK(bad == 0);
    const auto types = f->get_array_of<std::int32_t>("tokenizer.ggml.token_type");
    REQUIRE(types.is_ok());
    CHECK(types->size() == 49280);
    CHECK((*types)[0] == 3);    // control
    CHECK((*types)[100] == 1);  // normal
    auto ct = parse_json(smolvlm_test::read_file(smolvlm_test::fixtures_dir() +
                                                 "/idefics3_f32_rgb_split/model/chat_template.json"));
    REQUIRE(ct.is_ok());
    CHECK(*f->get_string("tokenizer.chat_template") == ct->find("chat_template")->as_string());
    CHECK(*f->get_u32("tokenizer.ggml.eos_token_id") == 49279);
    CHECK(*f->get_bool("tokenizer.ggml.add_space_prefix") == false);
    CHECK(*f->get_f32("llama.attention.layer_norm_rms_epsilon") == 1e-5f);
}

}  // namespace smolvlm_test_io_gguf_cases
