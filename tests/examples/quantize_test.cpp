// examples/smolvlm-quantize.cpp and prequantized loading (pipeline/model.hpp,
// model/weights.hpp): run the built program (SMOLVLM_QUANTIZE_PATH) on the tiny random
// model (SMOLVLM_MAKE_RANDOM_MODEL_PATH) and on a shared fixture, then check
//   - the prequantized directory gives bit-identical logits and image features to
//     loading the original with --dtype q4 / q8 (same bytes, same kernels: exact);
//   - the packed tensors are used in place: owned_bytes() == 0, every panel pointer is
//     64-byte aligned and points into the mapped file;
//   - damaged prequantized files are rejected with a status naming the problem.
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/loader.hpp>
#include <smolvlm/pipeline/session.hpp>
#include <smolvlm/pipeline/prompt_job.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>

#include "../test_util.hpp"

#if defined(SMOLVLM_QUANTIZE_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)

namespace smolvlm_test_examples_quantize_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

int run(const std::string& cmd, std::string* err = nullptr) {
    const std::string e = smolvlm_test::temp_dir() + "/quantize.err";
    const int st = std::system((cmd + " >/dev/null 2>'" + e + "'").c_str());
    if (err) *err = smolvlm_test::read_file(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// A fresh tiny random VLM (once per test run) and its q4 / q8 prequantized copies.
const std::string& tiny_dir() {
    static const std::string dir = [] {
        const std::string d = smolvlm_test::temp_dir() + "/quant_tiny";
        std::system(("rm -rf " + q(d) + " " + q(d + "_q4") + " " + q(d + "_q8")).c_str());
        run(q(SMOLVLM_MAKE_RANDOM_MODEL_PATH) + " " + q(d) + " --shape tiny --seed 7");
        return d;
    }();
    return dir;
}

std::unique_ptr<model> load(const std::string& dir, weight_format f, thread_pool* pool) {
    model_options o;
    o.format = f;
    auto m = model::load(dir, o, pool);
    INFO(dir << ": " << (m ? std::string() : m.error().message()));
    REQUIRE(m.is_ok());
    return std::move(m).value();
}

// Logits after a prompt plus 3 pushed tokens, and (VLMs) the features of one image.
struct run_out {
    std::vector<float> logits, features;
};

run_out run_model(const model& m, thread_pool* pool) {
    run_out r;
    session s(m, session_options{}, pool);
    std::vector<chat_message> msgs(1);
    msgs[0].role = "user";
    image img;
    if (m.config().has_vision) {  // a smooth gradient, 2 tiles wide
        img.width = 2 * int(m.config().vision.image_size) + 5;
        img.height = int(m.config().vision.image_size) + 3;
        img.channels = 3;
        img.pixels.resize(std::size_t(img.width * img.height * 3));
        for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = std::uint8_t((i * 7 + i / 97) & 255);
        msgs[0].content.push_back(chat_part::make_image());
    }
    msgs[0].content.push_back(chat_part::make_text("What is in the picture?"));
    const media_input media = media_input::from_image(img);
    prompt_job job;
    REQUIRE(job.begin(m, s.context(), msgs, &media, m.config().has_vision ? 1 : 0, prompt_options{}).is_ok());
    REQUIRE(job.finish().is_ok());
    prepared_prompt& pp = job.prompt();
    r.features = pp.features;
    REQUIRE(s.prefill(pp.ids, pp.features.data(), pp.n_image_tokens).is_ok());
    for (token_id t : {token_id(5), token_id(17), token_id(3)}) REQUIRE(s.push(t).is_ok());
    r.logits = s.logits();
    return r;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every packed matrix of `m` is used in place: 64-byte aligned panels inside the file.
void check_in_place(const model& m) {
    CHECK(m.prequantized());
    CHECK(m.owned_bytes() == 0);
    int packed = 0;
    for (const named_matrix& nm : m.linear_matrices()) {
        if (nm.matrix.type != dtype::q4 && nm.matrix.type != dtype::q8) continue;
        ++packed;
        const source_tensor* p = m.tensors().find(packed_panels_name(nm.name, nm.matrix.type));
        const source_tensor* s = m.tensors().find(packed_scales_name(nm.name, nm.matrix.type));
        INFO(nm.name);
        REQUIRE(p);
        REQUIRE(s);
        CHECK(nm.matrix.data == static_cast<const void*>(p->data));
        CHECK(nm.matrix.scales == static_cast<const void*>(s->data));
        CHECK(reinterpret_cast<std::uintptr_t>(p->data) % 64 == 0);
    }
    CHECK(packed > 0);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Quantize `src` into `dst` and compare against loading `src` with the same format.
void check_roundtrip(const std::string& src, const std::string& dst, weight_format f, thread_pool* pool) {
    std::string err;
    REQUIRE(run(q(SMOLVLM_QUANTIZE_PATH) + " " + q(src) + " " + q(dst) + " --dtype " + weight_format_name(f) + " -t 2",
                &err) == 0);
    INFO(err);
    auto t0 = std::chrono::steady_clock::now();
    auto a = load(src, f, pool);
    const double ms_convert = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    auto b = load(dst, weight_format::native, pool);
    const double ms_pre = ms_since(t0);
    CHECK(b->format() == f);
    CHECK(b->decode_weight_bytes() == a->decode_weight_bytes());
    check_in_place(*b);
    // Every matrix identical: same type, shape and bytes.
    const auto la = a->linear_matrices(), lb = b->linear_matrices();
    REQUIRE(la.size() == lb.size());
    for (std::size_t i = 0; i < la.size(); ++i) {
        const kernels::weight_matrix &x = la[i].matrix, &y = lb[i].matrix;
        INFO(la[i].name);
        REQUIRE(la[i].name == lb[i].name);
        REQUIRE(x.type == y.type);
        REQUIRE((x.rows == y.rows && x.cols == y.cols));
        if (x.type == dtype::q4 || x.type == dtype::q8) {
            const std::size_t qb = x.type == dtype::q4 ? kernels::panel_q4_bytes(x.rows, x.cols)
                                                       : kernels::panel_q8_bytes(x.rows, x.cols);
            CHECK(std::memcmp(x.data, y.data, qb) == 0);
            CHECK(std::memcmp(x.scales, y.scales, kernels::panel_scale_count(x.rows, x.cols) * 2) == 0);
        }
    }
    // Same bytes through the same kernels: bit-identical outputs.
    const run_out ra = run_model(*a, pool), rb = run_model(*b, pool);
    CHECK(same_bits(ra.logits, rb.logits));
    CHECK(same_bits(ra.features, rb.features));
    // Loading the prequantized dir asking for its own format works; another format does not.
    CHECK(model::load(dst, model_options{f}, pool).is_ok());
    auto other = model::load(dst, model_options{f == weight_format::q4 ? weight_format::q8 : weight_format::q4}, pool);
    REQUIRE(!other.is_ok());
    CHECK(other.error().code() == errc::invalid_argument);
    auto size = [](const std::string& p) { return smolvlm_test::read_file(p).size(); };
    WARN(src << " -> " << weight_format_name(f) << ": model.safetensors " << size(src + "/model.safetensors") << " -> "
             << size(dst + "/model.safetensors") << " bytes; load --dtype " << weight_format_name(f) << " " << ms_convert
             << " ms, prequantized " << ms_pre << " ms; owned bytes " << a->owned_bytes() << " vs " << b->owned_bytes());
}

}  // namespace

TEST_CASE("smolvlm-quantize: tiny model, prequantized == converted at load", "[examples][quantize]") {
    thread_pool pool(2);
    REQUIRE(smolvlm_test::path_exists(tiny_dir() + "/config.json"));
    check_roundtrip(tiny_dir(), tiny_dir() + "_q4", weight_format::q4, &pool);
    check_roundtrip(tiny_dir(), tiny_dir() + "_q8", weight_format::q8, &pool);
    // The prequantized file is an ordinary safetensors file: contiguous data, the
    // metadata naming the format, side files copied byte for byte.
    auto f = safetensors_file::open((tiny_dir() + "_q4/model.safetensors").c_str());
    REQUIRE(f.is_ok());
    REQUIRE(f->find_metadata("smolvlm.quant"));
    CHECK(*f->find_metadata("smolvlm.quant") == "q4");
    CHECK((8 + f->header_bytes()) % 64 == 0);
    std::uint64_t covered = 0;
    for (const st_tensor& t : f->tensors()) covered += t.nbytes;
    CHECK(covered == f->data_bytes());
    for (const char* side : {"config.json", "tokenizer.json", "preprocessor_config.json"})
        CHECK(smolvlm_test::read_file(tiny_dir() + "/" + side) == smolvlm_test::read_file(tiny_dir() + "_q4/" + side));
}

TEST_CASE("smolvlm-quantize: shared fixture model, prequantized == converted at load", "[examples][quantize]") {
    const std::string src = smolvlm_test::fixtures_dir() + "/idefics3_bf16_rgba_tall/model";
    SMOLVLM_REQUIRE_SHARED(src + "/config.json");
    thread_pool pool(2);
    check_roundtrip(src, smolvlm_test::temp_dir() + "/quant_fixture_q4", weight_format::q4, &pool);
}

TEST_CASE("smolvlm-quantize: bad arguments", "[examples][quantize]") {
    std::string err;
    CHECK(run(q(SMOLVLM_QUANTIZE_PATH)) == 1);
    CHECK(run(q(SMOLVLM_QUANTIZE_PATH) + " " + q(tiny_dir()) + " x --dtype q3", &err) == 1);
    CHECK(err == "error: --dtype must be q4 or q8\n");
    CHECK(run(q(SMOLVLM_QUANTIZE_PATH) + " /nonexistent/dir " + q(smolvlm_test::temp_dir() + "/quant_none"), &err) == 1);
    CHECK(err.rfind("error: ", 0) == 0);
    // Quantizing a prequantized model again is refused.
    const std::string pre = tiny_dir() + "_q4b";
    REQUIRE(run(q(SMOLVLM_QUANTIZE_PATH) + " " + q(tiny_dir()) + " " + q(pre)) == 0);
    CHECK(run(q(SMOLVLM_QUANTIZE_PATH) + " " + q(pre) + " " + q(pre + "_again"), &err) == 1);
    CHECK_THAT(err, Catch::Contains("prequantized"));
}

namespace {

// Rewrite dir/model.safetensors from `src` with `edit(name, type, shape, bytes)` applied
// to every tensor (return false to drop it) and `meta` as the metadata.
template <class Edit>
std::string variant(const std::string& good_dir, const std::string& name, Edit edit,
                    std::vector<std::pair<std::string, std::string>> meta) {
    const std::string dir = smolvlm_test::temp_dir() + "/quant_bad_" + name;
    std::system(("rm -rf " + q(dir) + " && cp -r " + q(good_dir) + " " + q(dir)).c_str());
    auto f = safetensors_file::open((good_dir + "/model.safetensors").c_str());
    REQUIRE(f.is_ok());
    safetensors_writer w;
    for (const auto& kv : meta) w.set_metadata(kv.first, kv.second);
    for (const st_tensor& t : f->tensors()) {
        std::string n = t.name;
        dtype ty = t.type;
        shape_t sh = t.shape;
        std::vector<std::uint8_t> bytes(t.data, t.data + t.nbytes);
        if (!edit(n, ty, sh, bytes)) continue;
        REQUIRE(w.add(n, ty, sh, bytes.data(), bytes.size()).is_ok());
    }
    REQUIRE(w.write((dir + "/model.safetensors").c_str()).is_ok());
    return dir;
}

}  // namespace

TEST_CASE("prequantized loading: damaged files are rejected", "[examples][quantize]") {
    thread_pool pool(2);
    const std::string good = tiny_dir() + "_q4c";
    REQUIRE(run(q(SMOLVLM_QUANTIZE_PATH) + " " + q(tiny_dir()) + " " + q(good)) == 0);
    std::vector<std::pair<std::string, std::string>> meta;
    {
        auto f = safetensors_file::open((good + "/model.safetensors").c_str());
        REQUIRE(f.is_ok());
        meta = f->metadata();
    }
    const std::string victim = "model.text_model.layers.0.mlp.up_proj.weight";
    auto keep = [](std::string&, dtype&, shape_t&, std::vector<std::uint8_t>&) { return true; };
    auto with_meta = [&](const std::string& key, const std::string* value) {
        std::vector<std::pair<std::string, std::string>> m;
        for (const auto& kv : meta)
            if (kv.first != key) m.push_back(kv);
        if (value) m.emplace_back(key, *value);
        return m;
    };
    auto expect_error = [&](const std::string& dir, const char* needle) {
        auto m = model::load(dir, model_options{}, &pool);
        REQUIRE(!m.is_ok());
        INFO(m.error().message());
        CHECK_THAT(m.error().message(), Catch::Contains(needle));
    };

    SECTION("rewritten unchanged (8-byte aligned, so panels are copied) still loads") {
        const std::string dir = variant(good, "same", keep, meta);
        auto m = model::load(dir, model_options{}, &pool);
        REQUIRE(m.is_ok());
        CHECK(m.value()->prequantized());
    }
    SECTION("unknown format name") {
        const std::string q3 = "q3";
        expect_error(variant(good, "fmt", keep, with_meta("smolvlm.quant", &q3)), "'q3' is not supported");
    }
    SECTION("packed panels without the metadata") {
        expect_error(variant(good, "nometa", keep, with_meta("smolvlm.quant", nullptr)), "no smolvlm.quant metadata");
    }
    SECTION("shape metadata missing or wrong") {
        expect_error(variant(good, "noshape", keep, with_meta("smolvlm.shape." + victim, nullptr)), "missing");
        const std::string wrong = "1,2";
        expect_error(variant(good, "badshape", keep, with_meta("smolvlm.shape." + victim, &wrong)), "wrong");
    }
    SECTION("scales missing") {
        expect_error(variant(good, "noscales",
                             [&](std::string& n, dtype&, shape_t&, std::vector<std::uint8_t>&) {
                                 return n != victim + ".q4_scales";
                             },
                             meta),
                     "missing tensor");
    }
    SECTION("panels of the wrong shape, dtype or kind") {
        expect_error(variant(good, "panelshape",
                             [&](std::string& n, dtype&, shape_t& sh, std::vector<std::uint8_t>& b) {
                                 if (n == victim + ".q4_panels") {
                                     sh.dims[2] = 128;
                                     b.resize(std::size_t(sh.numel()));
                                 }
                                 return true;
                             },
                             meta),
                     "q4_panels' has shape");
        expect_error(variant(good, "paneldtype",
                             [&](std::string& n, dtype& t, shape_t&, std::vector<std::uint8_t>&) {
                                 if (n == victim + ".q4_panels") t = dtype::i8;
                                 return true;
                             },
                             meta),
                     "must be U8");
        expect_error(variant(good, "scaledtype",
                             [&](std::string& n, dtype& t, shape_t& sh, std::vector<std::uint8_t>&) {
                                 if (n == victim + ".q4_scales") {
                                     t = dtype::bf16;
                                     (void)sh;
                                 }
                                 return true;
                             },
                             meta),
                     "must be F16");
        // q8 panels where the q4 format wants q4 (the names say q8, the sizes are q8's).
        expect_error(variant(good, "kind",
                             [&](std::string& n, dtype&, shape_t& sh, std::vector<std::uint8_t>& b) {
                                 if (n == victim + ".q4_panels") {
                                     n = victim + ".q8_panels";
                                     sh.dims[2] = 512;
                                     b.resize(std::size_t(sh.numel()));
                                 }
                                 if (n == victim + ".q4_scales") n = victim + ".q8_scales";
                                 return true;
                             },
                             meta),
                     "is Q8, expected Q4");
    }
    SECTION("a dense copy of a matrix the format packs") {
        expect_error(variant(good, "dense",
                             [&](std::string& n, dtype& t, shape_t& sh, std::vector<std::uint8_t>& b) {
                                 if (n == victim + ".q4_scales") return false;
                                 if (n == victim + ".q4_panels") {
                                     n = victim;
                                     t = dtype::f32;
                                     sh = shape_t{64, 32};  // tiny: ffn 64, hidden 32
                                     b.assign(64 * 32 * 4, 0);
                                 }
                                 return true;
                             },
                             meta),
                     "is F32, expected Q4");
    }
    SECTION("truncated file") {
        const std::string dir = variant(good, "trunc", keep, meta);
        const std::string bytes = smolvlm_test::read_file(dir + "/model.safetensors");
        std::FILE* fp = std::fopen((dir + "/model.safetensors").c_str(), "wb");
        REQUIRE(fp);
        std::fwrite(bytes.data(), 1, bytes.size() - 100, fp);
        std::fclose(fp);
        expect_error(dir, "past the end");
    }
}


}  // namespace smolvlm_test_examples_quantize_cases

#endif
