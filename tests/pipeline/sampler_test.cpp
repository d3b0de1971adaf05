#include <smolvlm/pipeline/sampler.hpp>

#include <map>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_sampler_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("greedy picks the argmax, lowest id on ties", "[pipeline][sampler]") {
    sampler s;
    std::vector<float> l = {0.1f, 3.0f, -1.0f, 3.0f};
    CHECK(s.sample(l.data(), 4, {}) == 1);
}

TEST_CASE("repetition penalty follows the HF rule", "[pipeline][sampler]") {
    sampling_params p;
    p.repetition_penalty = 2.0f;
    sampler s(p);
    std::vector<float> l = {4.0f, 3.0f, -1.0f};
    // token 0 seen: 4 / 2 = 2 < 3, so greedy moves to token 1; negative logits are multiplied.
    CHECK(s.sample(l.data(), 3, {0, 2, 0}) == 1);
    CHECK(l[0] == 2.0f);
    CHECK(l[2] == -2.0f);
}

TEST_CASE("sampling is deterministic per seed and respects top-k / top-p / min-p", "[pipeline][sampler]") {
    std::vector<float> base = {2.0f, 1.9f, 1.8f, 0.0f, -5.0f, 1.0f};
    auto draw = [&](sampling_params p, int n) {
        sampler s(p);
        std::vector<int> out;
        for (int i = 0; i < n; ++i) {
            std::vector<float> l = base;
            out.push_back(s.sample(l.data(), std::int64_t(l.size()), {}));
        }
        return out;
    };
    sampling_params p;
    p.temperature = 1.0f;
    p.seed = 42;
    CHECK(draw(p, 50) == draw(p, 50));
    p.seed = 43;
    auto other = draw(p, 50);
    p.seed = 42;
    CHECK(draw(p, 50) != other);

    p.top_k = 2;
    for (int id : draw(p, 200)) CHECK((id == 0 || id == 1));
    p.top_k = 0;
    p.top_p = 0.3f;  // p(0) ~ 0.30, p(0)+p(1) > 0.3 -> at most ids 0 and 1
    for (int id : draw(p, 200)) CHECK((id == 0 || id == 1));
    p.top_p = 1.0f;
    p.min_p = 0.5f;  // keeps ids with p >= 0.5 p(0): 0, 1, 2 (e^-0.2=0.82), 5 (e^-1=0.37 no)
    std::map<int, int> hist;
    for (int id : draw(p, 600)) hist[id]++;
    CHECK(hist.count(3) == 0);
    CHECK(hist.count(4) == 0);
    CHECK(hist.count(5) == 0);
    CHECK(hist[0] > hist[2]);
}

TEST_CASE("pcg32 matches its published reference stream", "[pipeline][sampler]") {
    // Reference output of pcg32_random_r with state seeded (42, 54), from the PCG paper's demo.
    pcg32 r(42u, 54u);
    const std::uint32_t expect[] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u, 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    for (std::uint32_t e : expect) CHECK(r.next_u32() == e);
}

}  // namespace smolvlm_test_pipeline_sampler_cases
