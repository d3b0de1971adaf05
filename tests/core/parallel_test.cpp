#include <smolvlm/core/parallel.hpp>
#include <smolvlm/core/tensor.hpp>

#include <atomic>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_core_parallel_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("parallel_for covers every index exactly once", "[core][parallel]") {
    for (int threads : {1, 2, 3, 8}) {
        thread_pool pool(threads);
        CHECK(pool.size() == threads);
        for (std::int64_t n : {0, 1, 2, 7, 64, 1001}) {
            for (std::int64_t grain : {1, 4, 32}) {
                std::vector<std::atomic<int>> hits(std::size_t(n > 0 ? n : 1));
                for (auto& h : hits) h = 0;
                pool.parallel_for(n, [&](std::int64_t b, std::int64_t e, int t) {
                    REQUIRE(t >= 0);
                    REQUIRE(t < threads);
                    for (std::int64_t i = b; i < e; ++i) hits[std::size_t(i)]++;
                }, grain);
                for (std::int64_t i = 0; i < n; ++i) REQUIRE(hits[std::size_t(i)] == 1);
            }
        }
    }
}

TEST_CASE("a pool runs many jobs back to back", "[core][parallel]") {
    thread_pool pool(2);
    std::atomic<long> total{0};
    for (int job = 0; job < 2000; ++job)
        pool.parallel_for(10, [&](std::int64_t b, std::int64_t e, int) { total += e - b; });
    CHECK(total == 20000);
}

TEST_CASE("tensor owns aligned zeroed memory and views index row-major", "[core][tensor]") {
    auto r = tensor<float>::zeros({2, 3, 4});
    REQUIRE(r.is_ok());
    tensor<float> t = std::move(r).value();
    CHECK(t.numel() == 24);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % k_alignment == 0);
    for (int i = 0; i < 24; ++i) CHECK(t[i] == 0.0f);
    auto v = t.view();
    v(1, 2, 3) = 5.0f;
    CHECK(t[1 * 12 + 2 * 4 + 3] == 5.0f);
    CHECK(v[1](2, 3) == 5.0f);
    CHECK(v.contiguous());
    CHECK(t.reshape({6, 4}).is_ok());
    CHECK_FALSE(t.reshape({5, 4}).is_ok());
    auto bad = tensor<float>::zeros({-1, 2});
    CHECK(bad.error().code() == errc::bad_shape);
    auto huge = tensor<float>::zeros({INT64_MAX / 2, 4});
    CHECK(huge.error().code() == errc::bad_shape);
}

}  // namespace smolvlm_test_core_parallel_cases
