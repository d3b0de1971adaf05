// Tests for model/connector.hpp: pixel shuffle and the modality projection.
//
// The pixel shuffle is checked against a literal replay of the reference's
// view / permute / reshape chain on a hand-made tensor (every element distinct, so a
// wrong index cannot hide), and against the README's closed formula. The projection is
// checked against a naive double-precision matmul. Golden comparisons of
// pixel_shuffle_output / image_features live in siglip_test.cpp (they need the tower).
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/model/connector.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace smolvlm_test_model_connector_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// permute(0, 2, 1, 3) of a contiguous [a, b, c, d] tensor, materialised as [a, c, b, d]
// (what torch's reshape does after a permute: a contiguous copy).
std::vector<float> permute_0213(const std::vector<float>& x, std::int64_t a, std::int64_t b, std::int64_t c,
                                std::int64_t d) {
    std::vector<float> y(x.size());
    for (std::int64_t i = 0; i < a; ++i)
        for (std::int64_t j = 0; j < b; ++j)
            for (std::int64_t k = 0; k < c; ++k)
                for (std::int64_t l = 0; l < d; ++l)
                    y[std::size_t(((i * c + k) * b + j) * d + l)] = x[std::size_t(((i * b + j) * c + k) * d + l)];
    return y;
}

// Idefics3Connector.pixel_shuffle replayed step by step (bsz = 1; views of contiguous data
// only reinterpret the shape, so they are no-ops on the flat buffer).
std::vector<float> reference_pixel_shuffle(std::vector<float> x, std::int64_t seq, std::int64_t D, std::int64_t s) {
    const std::int64_t h = std::int64_t(std::lround(std::sqrt(double(seq)))), w = h;
    // x.view(1, h, w, D).view(1, h, w/s, D*s)
    // .permute(0, 2, 1, 3)                      -> [1, w/s, h, D*s]
    x = permute_0213(x, 1, h, w / s, D * s);
    // .reshape(1, w/s, h/s, D*s*s)              (contiguous: a reinterpretation)
    // .permute(0, 2, 1, 3)                      -> [1, h/s, w/s, D*s*s]
    x = permute_0213(x, 1, w / s, h / s, D * s * s);
    // .reshape(1, seq/s^2, D*s*s)
    return x;
}

}  // namespace

TEST_CASE("connector: pixel shuffle replays the reference view/permute/reshape chain", "[connector]") {
    struct shape_case {
        std::int64_t side, D, s;
    };
    for (const shape_case sc : {shape_case{4, 3, 2}, shape_case{6, 5, 3}, shape_case{6, 2, 2}, shape_case{4, 1, 4},
                                shape_case{8, 4, 4}, shape_case{3, 7, 1}}) {
        const std::int64_t seq = sc.side * sc.side;
        std::vector<float> x(std::size_t(seq * sc.D));
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i);  // every value distinct
        std::vector<float> y(x.size(), -1.0f);
        nn::context ctx;
        pixel_shuffle(ctx, x.data(), sc.side, sc.D, sc.s, y.data());
        INFO("side " << sc.side << " D " << sc.D << " s " << sc.s);
        CHECK(y == reference_pixel_shuffle(x, seq, sc.D, sc.s));
        // README: output token (i, j), feature r*s*D + c*D + d = patch (i*s+r, j*s+c), feature d.
        const std::int64_t os = sc.side / sc.s;
        bool formula = true;
        for (std::int64_t i = 0; i < os; ++i)
            for (std::int64_t j = 0; j < os; ++j)
                for (std::int64_t r = 0; r < sc.s; ++r)
                    for (std::int64_t c = 0; c < sc.s; ++c)
                        for (std::int64_t d = 0; d < sc.D; ++d)
                            formula = formula && y[std::size_t((i * os + j) * sc.D * sc.s * sc.s + r * sc.s * sc.D +
                                                               c * sc.D + d)] ==
                                                     x[std::size_t(((i * sc.s + r) * sc.side + j * sc.s + c) * sc.D + d)];
        CHECK(formula);
    }
}

TEST_CASE("connector: pixel shuffle is the same with a thread pool", "[connector]") {
    const std::int64_t side = 16, D = 8, s = 2;
    std::vector<float> x(std::size_t(side * side * D));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i) * 0.5f;
    std::vector<float> a(x.size()), b(x.size());
    thread_pool pool(2);
    nn::context serial, threaded;
    threaded.pool = &pool;
    pixel_shuffle(serial, x.data(), side, D, s, a.data());
    pixel_shuffle(threaded, x.data(), side, D, s, b.data());
    CHECK(a == b);
}

TEST_CASE("connector: forward = projection of the shuffled features, no bias", "[connector]") {
    // 8 px tiles of 2 px patches: a 4 x 4 grid of D = 3, scale 2 -> 4 tokens of Dt = 5.
    const std::int64_t seq = 16, D = 3, s = 2, Dt = 5, K = D * s * s;
    const vision_grid grid{4, 4};
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> wdata(std::size_t(Dt * K)), x(std::size_t(seq * D));
    for (float& v : wdata) v = nd(rng);
    for (float& v : x) v = nd(rng);
    kernels::weight_matrix wm{dtype::f32, wdata.data(), nullptr, Dt, K};
    pixel_shuffle_projector proj(D, s, wm);
    REQUIRE(proj.check().is_ok());
    REQUIRE(proj.output_rows(grid).value() == 4);
    CHECK(proj.output_size() == Dt);
    std::vector<float> out(std::size_t(4 * Dt));
    nn::context ctx;
    vision_workspace ws;
    vision_trace tr;
    REQUIRE(proj.project(ctx, x.data(), grid, out.data(), ws, &tr).is_ok());
    const std::vector<float> ref_shuffled = reference_pixel_shuffle(x, seq, D, s);
    CHECK(tr.floats("pixel_shuffle_output") == ref_shuffled);
    double err = 0;
    for (std::int64_t t = 0; t < 4; ++t)
        for (std::int64_t r = 0; r < Dt; ++r) {
            double acc = 0;
            for (std::int64_t c = 0; c < K; ++c)
                acc += double(wdata[std::size_t(r * K + c)]) * double(ref_shuffled[std::size_t(t * K + c)]);
            err = std::max(err, std::fabs(acc - double(out[std::size_t(t * Dt + r)])));
        }
    // 12-term f32 dot products of N(0,1) values: rounding error ~1e-6.
    CHECK(err < 1e-5);

    // A weight that does not fit, null buffers, a grid the scale does not divide: errors.
    kernels::weight_matrix bad = wm;
    bad.cols = K + 1;
    CHECK(pixel_shuffle_projector(D, s, bad).project(ctx, x.data(), grid, out.data(), ws, nullptr).code() ==
          errc::invalid_argument);
    CHECK(proj.project(ctx, nullptr, grid, out.data(), ws, nullptr).code() == errc::invalid_argument);
    CHECK(pixel_shuffle_projector(D, 3, wm).project(ctx, x.data(), grid, out.data(), ws, nullptr).code() ==
          errc::invalid_argument);
    // A caller-bound workspace that is too small is refused, not overrun.
    alignas(64) static unsigned char tiny[64];
    vision_workspace small;
    REQUIRE(small.bind(tiny, sizeof tiny).is_ok());
    CHECK(proj.project(ctx, x.data(), grid, out.data(), small, nullptr).code() == errc::no_memory);
}

}  // namespace smolvlm_test_model_connector_cases
