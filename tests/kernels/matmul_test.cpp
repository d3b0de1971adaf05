#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/kernels/pack.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_kernels_matmul_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using namespace smolvlm::kernels;

namespace {

std::vector<float> gaussian(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

std::vector<isa> host_isas() {
    const cpu_features f = detect_cpu();
    std::vector<isa> out;
    for (isa i : {isa::scalar, isa::avx2, isa::avx_vnni, isa::avx512, isa::avx512_vnni, isa::neon, isa::neon_dotprod})
        if (isa_supported(f, i)) out.push_back(i);
    return out;
}

// f32 reference in double: y[t][r] = sum_c w[r][c] * x[t][c] (+bias), and sum |w*x|.
void reference(const std::vector<float>& w, const std::vector<float>& x, std::int64_t rows, std::int64_t cols,
               std::int64_t n, const float* bias, std::vector<double>& y, std::vector<double>& mag) {
    y.assign(std::size_t(n * rows), 0.0);
    mag.assign(std::size_t(n * rows), 0.0);
    for (std::int64_t t = 0; t < n; ++t)
        for (std::int64_t r = 0; r < rows; ++r) {
            double s = 0.0, m = 0.0;
            for (std::int64_t c = 0; c < cols; ++c) {
                const double p = double(w[std::size_t(r * cols + c)]) * double(x[std::size_t(t * cols + c)]);
                s += p;
                m += std::fabs(p);
            }
            y[std::size_t(t * rows + r)] = s + (bias ? bias[r] : 0.0);
            mag[std::size_t(t * rows + r)] = m + (bias ? std::fabs(bias[r]) : 0.0);
        }
}

// The weights each dtype really holds, as f32 (dequantized / rounded).
std::vector<float> effective_weights(const weight_matrix& m) {
    std::vector<float> out(std::size_t(m.rows * m.cols));
    const std::int64_t nb = m.cols / 32;
    for (std::int64_t r = 0; r < m.rows; ++r)
        for (std::int64_t c = 0; c < m.cols; ++c) {
            float v;
            if (m.type == dtype::q4)
                v = float(panel_q4_code(static_cast<const std::uint8_t*>(m.data), nb, r, c) - 8) *
                    panel_scale(static_cast<const std::uint16_t*>(m.scales), nb, r, c);
            else if (m.type == dtype::q8)
                v = float(panel_q8_value(static_cast<const std::uint8_t*>(m.data), nb, r, c)) *
                    panel_scale(static_cast<const std::uint16_t*>(m.scales), nb, r, c);
            else
                v = scalar::load_weight(m, r, c);
            out[std::size_t(r * m.cols + c)] = v;
        }
    return out;
}

}  // namespace

TEST_CASE("every host ISA matches the scalar reference on odd shapes", "[kernels][matmul]") {
    const auto isas = host_isas();
    WARN("ISAs tested on this host: " << isas.size());
    thread_pool pool2(2);
    int checked = 0;
    for (std::int64_t rows : {1, 3, 33, 100}) {
        for (std::int64_t cols : {32, 64, 96, 608}) {
            const auto wf = gaussian(std::size_t(rows * cols), unsigned(rows * 7 + cols));
            const auto bias = gaussian(std::size_t(rows), 5);
            for (dtype t : {dtype::f32, dtype::bf16, dtype::f16, dtype::q8, dtype::q4}) {
                auto pw = pack_weight(wf.data(), dtype::f32, rows, cols, t);
                REQUIRE(pw.is_ok());
                const weight_matrix& m = pw->matrix();
                const auto weff = effective_weights(m);
                for (std::int64_t n : {1, 2, 5, 17}) {
                    const auto x = gaussian(std::size_t(n * cols), unsigned(n + 100));
                    for (bool use_bias : {false, true}) {
                        const float* b = use_bias ? bias.data() : nullptr;
                        std::vector<double> yref, mag;
                        reference(weff, x, rows, cols, n, b, yref, mag);
                        std::vector<float> ys(std::size_t(n * rows), -1.0f);
                        scalar::matmul(m, x.data(), n, ys.data(), b, nullptr);
                        // Scalar vs exact arithmetic on the weights it holds:
                        //   dense: f32 rounding, |err| <= cols * 2^-24 * sum|w*x| ~ 4e-5 rel;
                        //   int: activations rounded to 1/254 of each group's max, so
                        //   |err| <= sum|w| * max|x| / 254 per group; in terms of
                        //   sum|w*x| that is a few percent on Gaussian data: 3e-2 bound.
                        const double tol_ref = (t == dtype::q8 || t == dtype::q4) ? 3e-2 : 1e-4;
                        for (std::size_t i = 0; i < ys.size(); ++i)
                            REQUIRE(std::fabs(ys[i] - yref[i]) <= tol_ref * mag[i] + 1e-6);
                        for (isa i : isas) {
                            const kernel_table k = select_kernels(detect_cpu(), i);
                            REQUIRE(k.chosen == i);
                            REQUIRE_FALSE(k.forced_unavailable);
                            for (thread_pool* pool : {static_cast<thread_pool*>(nullptr), &pool2}) {
                                std::vector<float> y(std::size_t(n * rows), -1.0f);
                                k.matmul(m, x.data(), n, y.data(), b, pool);
                                // SIMD vs scalar: same integer dot products (int paths) and
                                // the same inputs, only the order of f32 additions differs:
                                // bound 1e-5 of sum|w*x| (cols <= 608 adds at 2^-24 each,
                                // plus the f16 scale products which are exact in f32).
                                for (std::size_t j = 0; j < y.size(); ++j) {
                                    INFO(isa_name(i) << " " << dtype_name(t) << " rows " << rows << " cols " << cols
                                                     << " n " << n << " bias " << use_bias << " j " << j);
                                    REQUIRE(std::fabs(double(y[j]) - double(ys[j])) <= 1e-5 * mag[j] + 1e-6);
                                }
                                ++checked;
                            }
                        }
                    }
                }
            }
        }
    }
    CHECK(checked == 4 * 4 * 5 * 4 * 2 * int(isas.size()) * 2);
}

TEST_CASE("dense kernels handle columns that are not a multiple of the vector width", "[kernels][matmul]") {
    for (isa i : host_isas()) {
        const kernel_table k = select_kernels(detect_cpu(), i);
        for (std::int64_t cols : {1, 7, 17, 33}) {
            const std::int64_t rows = 5, n = 3;
            const auto wf = gaussian(std::size_t(rows * cols), 1);
            const auto x = gaussian(std::size_t(n * cols), 2);
            for (dtype t : {dtype::f32, dtype::bf16, dtype::f16}) {
                auto pw = pack_weight(wf.data(), dtype::f32, rows, cols, t);
                REQUIRE(pw.is_ok());
                std::vector<float> ys(std::size_t(n * rows)), y(std::size_t(n * rows));
                scalar::matmul(pw->matrix(), x.data(), n, ys.data(), nullptr, nullptr);
                k.matmul(pw->matrix(), x.data(), n, y.data(), nullptr, nullptr);
                for (std::size_t j = 0; j < y.size(); ++j) REQUIRE(y[j] == Approx(ys[j]).margin(1e-4).epsilon(1e-5));
            }
        }
    }
}

TEST_CASE("large token counts take the heap path and agree with scalar", "[kernels][matmul]") {
    // n * (cols + cols/32*8) > 16 KiB: the activation buffer is allocated, not on the stack.
    const std::int64_t rows = 40, cols = 256, n = 70;
    const auto wf = gaussian(std::size_t(rows * cols), 3);
    const auto x = gaussian(std::size_t(n * cols), 4);
    thread_pool pool(2);
    for (dtype t : {dtype::q8, dtype::q4}) {
        auto pw = pack_weight(wf.data(), dtype::f32, rows, cols, t, &pool);
        REQUIRE(pw.is_ok());
        std::vector<float> ys(std::size_t(n * rows));
        scalar::matmul(pw->matrix(), x.data(), n, ys.data(), nullptr, nullptr);
        for (isa i : host_isas()) {
            std::vector<float> y(std::size_t(n * rows));
            select_kernels(detect_cpu(), i).matmul(pw->matrix(), x.data(), n, y.data(), nullptr, &pool);
            for (std::size_t j = 0; j < y.size(); ++j) REQUIRE(y[j] == Approx(ys[j]).margin(1e-3).epsilon(1e-4));
        }
    }
}

TEST_CASE("select_kernels: best, forced and unavailable ISAs", "[kernels][dispatch]") {
    const cpu_features f = detect_cpu();
    const kernel_table best = select_kernels(f);
    CHECK(isa_supported(f, best.chosen));
    CHECK_FALSE(best.forced_unavailable);
    CHECK(select_kernels(f, isa::scalar).chosen == isa::scalar);
    // An empty feature set cannot run anything but scalar.
    const cpu_features none{};
    for (isa i : {isa::avx2, isa::avx_vnni, isa::avx512, isa::avx512_vnni, isa::neon, isa::neon_dotprod}) {
        const kernel_table k = select_kernels(none, i);
        CHECK(k.forced_unavailable);
        CHECK(k.chosen == isa::scalar);
        CHECK(k.matmul == &scalar::matmul);
    }
    CHECK(select_kernels(none).chosen == isa::scalar);
#if SMOLVLM_X86_64
    // ARM kernels are never available on x86 and vice versa.
    CHECK(select_kernels(f, isa::neon).forced_unavailable);
#endif
}

TEST_CASE("vector helpers match their scalar twins", "[kernels][vec]") {
    const auto a = gaussian(1003, 1), b = gaussian(1003, 2);
    for (isa i : host_isas()) {
        const kernel_table k = select_kernels(detect_cpu(), i);
        for (std::int64_t n : {0, 1, 7, 8, 17, 64, 1003}) {
            double m = 0.0;
            for (std::int64_t j = 0; j < n; ++j) m += std::fabs(double(a[std::size_t(j)]) * b[std::size_t(j)]);
            // Reordered f32 sums: <= n * 2^-24 * sum|a*b|.
            CHECK(std::fabs(k.dot(a.data(), b.data(), n) - scalar::dot(a.data(), b.data(), n)) <= 1e-4 * m + 1e-7);
            std::vector<float> y1(b.begin(), b.end()), y2(b.begin(), b.end());
            k.axpy(0.37f, a.data(), y1.data(), n);
            scalar::axpy(0.37f, a.data(), y2.data(), n);
            // FMA rounds once, the scalar twin may round twice: 1 ulp-ish.
            for (std::int64_t j = 0; j < n; ++j)
                REQUIRE(y1[std::size_t(j)] == Approx(y2[std::size_t(j)]).margin(1e-6).epsilon(1e-6));
        }
    }
}

TEST_CASE("exp_f32 is accurate over the softmax range", "[kernels][vec]") {
    double worst = 0.0;
    for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
        const double ref = std::exp(double(x));
        worst = std::fmax(worst, std::fabs(double(scalar::exp_f32(x)) - ref) / ref);
    }
    CHECK(worst < 1e-6);  // polynomial error ~2e-7 plus f32 rounding of r
    CHECK(scalar::exp_f32(-100.0f) == 0.0f);
    CHECK(std::isinf(scalar::exp_f32(100.0f)));
    CHECK(scalar::exp_f32(0.0f) == 1.0f);
}

TEST_CASE("dense GEMM path (packed panels, n >= 8) matches scalar on panel and tile edges", "[kernels][matmul]") {
    // Rows around the 32-row panel, token counts hitting the 8-, 4- and 1-token tiles,
    // columns below and above one vector. Same tolerance argument as the odd-shapes test:
    // only the order of f32 additions differs from scalar (cols <= 70 adds at 2^-24).
    thread_pool pool(2);
    int checked = 0;
    for (isa i : host_isas()) {
        const kernel_table k = select_kernels(detect_cpu(), i);
        for (std::int64_t rows : {31, 32, 65})
            for (std::int64_t cols : {1, 7, 70})
                for (std::int64_t n : {8, 13, 29}) {
                    const auto wf = gaussian(std::size_t(rows * cols), unsigned(rows + cols));
                    const auto x = gaussian(std::size_t(n * cols), unsigned(n));
                    const auto bias = gaussian(std::size_t(rows), 9);
                    for (dtype t : {dtype::f32, dtype::bf16, dtype::f16}) {
                        auto pw = pack_weight(wf.data(), dtype::f32, rows, cols, t);
                        REQUIRE(pw.is_ok());
                        std::vector<float> ys(std::size_t(n * rows)), y(std::size_t(n * rows), -7.0f);
                        scalar::matmul(pw->matrix(), x.data(), n, ys.data(), bias.data(), nullptr);
                        k.matmul(pw->matrix(), x.data(), n, y.data(), bias.data(), &pool);
                        for (std::size_t j = 0; j < y.size(); ++j) {
                            INFO(isa_name(i) << " " << dtype_name(t) << " rows " << rows << " cols " << cols << " n " << n);
                            REQUIRE(y[j] == Approx(ys[j]).margin(1e-4).epsilon(1e-5));
                        }
                        ++checked;
                    }
                }
    }
    CHECK(checked == int(host_isas().size()) * 3 * 3 * 3 * 3);
}

TEST_CASE("matmul_multi gives exactly the results of separate matmul calls, every host ISA", "[kernels][matmul]") {
    // q, k, v-like (different row counts, shared input), gate/up-like, a mixed list (falls
    // back to one call each), decode (n = 1) and prefill (n = 37) sizes, with and without bias.
    thread_pool pool(2);
    const std::int64_t cols = 96;
    for (isa i : host_isas()) {
        const kernel_table kt = select_kernels(detect_cpu(), i);
        INFO("isa " << isa_name(i));
        for (dtype t : {dtype::q4, dtype::q8, dtype::f32}) {
            for (std::int64_t n : {1, 3, 37}) {
                const std::int64_t rows[3] = {40, 17, 33};
                std::vector<std::vector<float>> wf;
                std::vector<packed_weight> pw;
                std::vector<weight_matrix> ws;
                for (int k = 0; k < 3; ++k) {
                    wf.push_back(gaussian(std::size_t(rows[k] * cols), unsigned(100 + k)));
                    auto p = pack_weight(wf.back().data(), dtype::f32, rows[k], cols, t, nullptr, &kt);
                    REQUIRE(p.is_ok());
                    pw.push_back(std::move(p.value()));
                    ws.push_back(pw.back().matrix());
                }
                if (t == dtype::q8) {  // and a mixed list: q8, q8, f32
                    auto p = pack_weight(wf[2].data(), dtype::f32, rows[2], cols, dtype::f32);
                    REQUIRE(p.is_ok());
                    pw.push_back(std::move(p.value()));
                    ws[2] = pw.back().matrix();
                }
                const std::vector<float> x = gaussian(std::size_t(n * cols), 7);
                const std::vector<float> bias = gaussian(64, 9);
                std::vector<std::vector<float>> sep(3), multi(3);
                for (int k = 0; k < 3; ++k) {
                    sep[std::size_t(k)].assign(std::size_t(n * rows[k]), 0.0f);
                    multi[std::size_t(k)].assign(std::size_t(n * rows[k]), -1.0f);
                    kt.matmul(ws[std::size_t(k)], x.data(), n, sep[std::size_t(k)].data(), k == 1 ? bias.data() : nullptr,
                              &pool);
                }
                float* const ys[3] = {multi[0].data(), multi[1].data(), multi[2].data()};
                const float* const bs[3] = {nullptr, bias.data(), nullptr};
                kt.matmul_multi(ws.data(), 3, x.data(), n, ys, bs, &pool);
                INFO("dtype " << dtype_name(t) << " n " << n);
                for (int k = 0; k < 3; ++k) CHECK(multi[std::size_t(k)] == sep[std::size_t(k)]);
            }
        }
    }
}

}  // namespace smolvlm_test_kernels_matmul_cases
