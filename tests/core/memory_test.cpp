// core/arena.hpp: aligned allocation, the caller-supplied arena, arena_plan, memory_estimate.
#include <smolvlm/core/arena.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_core_memory_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("align_up, mul_size and is_aligned check their arithmetic", "[core][arena]") {
    std::size_t out = 0;
    REQUIRE(align_up(0, 64, &out));
    CHECK(out == 0);
    REQUIRE(align_up(1, 64, &out));
    CHECK(out == 64);
    REQUIRE(align_up(128, 64, &out));
    CHECK(out == 128);
    CHECK_FALSE(align_up(10, 48, &out));                     // not a power of two
    CHECK_FALSE(align_up(SIZE_MAX - 3, 64, &out));           // would wrap
    CHECK(mul_size(3, 5, &out));
    CHECK(out == 15);
    CHECK_FALSE(mul_size(SIZE_MAX / 2 + 1, 2, &out));
    alignas(64) unsigned char buf[128];
    CHECK(is_aligned(buf, 64));
    CHECK_FALSE(is_aligned(buf + 4, 8));
    CHECK_FALSE(is_aligned(buf, 3));
}

TEST_CASE("aligned_alloc_bytes and make_aligned honour the alignment and fail softly", "[core][arena]") {
    for (std::size_t a : {std::size_t(1), std::size_t(8), std::size_t(64), std::size_t(4096)}) {
        void* p = aligned_alloc_bytes(100, a);
        REQUIRE(p != nullptr);
        CHECK(is_aligned(p, a < sizeof(void*) ? sizeof(void*) : a));
        std::memset(p, 0xab, 100);  // writable (ASan checks the size)
        aligned_free(p);
    }
    CHECK(aligned_alloc_bytes(16, 24) == nullptr);  // bad alignment
    aligned_free(nullptr);                           // no-op
    auto f = make_aligned<float>(1000);
    REQUIRE(f);
    CHECK(is_aligned(f.get(), 64));
    f[999] = 1.0f;
    auto huge = make_aligned<double>(SIZE_MAX / 4);   // count x 8 overflows: null, no throw
    CHECK(!huge);
}

TEST_CASE("arena over a caller buffer: bump allocation, alignment, exhaustion, reset", "[core][arena]") {
    alignas(64) static unsigned char block[1024];
    arena a(block, sizeof block);
    CHECK(a.capacity() == 1024);
    CHECK(a.used() == 0);

    float* x = a.alloc_array<float>(10);  // 40 bytes at offset 0
    REQUIRE(x == reinterpret_cast<float*>(block));
    CHECK(a.used() == 40);
    unsigned char* b = static_cast<unsigned char*>(a.alloc(1, 1));
    CHECK(b == block + 40);
    double* d = a.alloc_array<double>(4, 64);  // aligned up to offset 64
    CHECK(reinterpret_cast<unsigned char*>(d) == block + 64);
    CHECK(a.used() == 64 + 32);
    CHECK(a.alloc(0, 64) == block + 128);      // zero bytes: a valid aligned pointer
    CHECK(a.alloc(16, 12) == nullptr);          // bad alignment
    CHECK(a.remaining() == 1024 - 128);

    CHECK(a.alloc(1024 - 128 + 1, 1) == nullptr);  // one byte too many
    CHECK(a.exhausted_once());
    CHECK(a.used() == 128);                        // a failed request consumes nothing
    void* rest = a.alloc(1024 - 128, 1);           // exactly the remainder fits
    CHECK(rest == block + 128);
    CHECK(a.remaining() == 0);
    CHECK(a.alloc(1, 1) == nullptr);
    CHECK(a.high_water() == 1024);

    a.reset();
    CHECK(a.used() == 0);
    CHECK(a.high_water() == 1024);  // the high-water mark survives reset
    CHECK(a.alloc_array<float>(SIZE_MAX / 2) == nullptr);  // count x 4 overflows
}

TEST_CASE("arena on a misaligned buffer aligns addresses, not offsets", "[core][arena]") {
    alignas(64) static unsigned char block[256];
    arena a(block + 3, 200);
    void* p = a.alloc(8, 16);
    REQUIRE(p != nullptr);
    CHECK(is_aligned(p, 16));
    CHECK(static_cast<unsigned char*>(p) == block + 16);
    CHECK(a.used() == 13 + 8);
}

TEST_CASE("arena marks rewind scratch scopes; try_alloc_array names what did not fit", "[core][arena]") {
    alignas(64) static unsigned char block[512];
    arena a(block, sizeof block);
    (void)a.alloc(100, 1);
    auto m = a.mark();
    (void)a.alloc(200, 1);
    CHECK(a.used() == 300);
    a.rewind(m);
    CHECK(a.used() == 100);
    CHECK(a.high_water() == 300);

    auto ok = a.try_alloc_array<float>(16, "attention scores");
    REQUIRE(ok.is_ok());
    auto bad = a.try_alloc_array<float>(1000, "attention scores");
    REQUIRE_FALSE(bad.is_ok());
    CHECK(bad.error().code() == errc::no_memory);
    CHECK_THAT(bad.error().message(), Catch::Contains("attention scores"));

    arena empty;  // default: no memory at all
    CHECK(empty.alloc(1, 1) == nullptr);
    CHECK(empty.capacity() == 0);
    arena null_buf(nullptr, 1000);  // a null buffer has no capacity whatever the size says
    CHECK(null_buf.capacity() == 0);
    CHECK(null_buf.alloc(1, 1) == nullptr);
}

TEST_CASE("owning arena: with_capacity, move", "[core][arena]") {
    auto r = arena::with_capacity(4096);
    REQUIRE(r.is_ok());
    arena a = std::move(r.value());
    CHECK(is_aligned(a.data(), 64));
    float* p = a.alloc_array<float>(1024);
    REQUIRE(p != nullptr);
    p[1023] = 2.0f;
    arena b = std::move(a);
    CHECK(a.capacity() == 0);
    CHECK(b.capacity() == 4096);
    CHECK(b.used() == 4096);
    auto huge = arena::with_capacity(SIZE_MAX - 8);
    REQUIRE_FALSE(huge.is_ok());
    CHECK(huge.error().code() == errc::no_memory);
}

TEST_CASE("arena_plan sizes a block that the same requests then fit exactly", "[core][arena]") {
    // A transformer-step-like sequence: odd sizes, mixed alignments.
    struct req { std::size_t bytes, align; };
    const req reqs[] = {{576 * 4 * 7, 64}, {3, 1}, {49280 * 4, 64}, {10, 8}, {1536 * 4 * 7, 64}, {1, 128}};
    arena_plan plan;  // block aligned to 64
    for (const auto& q : reqs) plan.add(q.bytes, q.align);
    auto total = plan.total();
    REQUIRE(total.is_ok());

    auto owned = make_aligned<unsigned char>(total.value() + 128, 128);  // room to test a +64 offset too
    for (std::size_t off : {std::size_t(0), std::size_t(64)}) {
        arena a(owned.get() + off, total.value());
        for (const auto& q : reqs) CHECK(a.alloc(q.bytes, q.align) != nullptr);
        CHECK(a.used() <= total.value());
    }
    // Planned for a 128-aligned block the plan is exact: one byte less must fail somewhere.
    arena_plan exact(128);
    for (const auto& q : reqs) exact.add(q.bytes, q.align);
    REQUIRE(exact.total().is_ok());
    CHECK(exact.total().value() <= total.value());
    arena tight(owned.get(), exact.total().value() - 1);
    bool all = true;
    for (const auto& q : reqs) all = all && tight.alloc(q.bytes, q.align) != nullptr;
    CHECK_FALSE(all);

    arena_plan over;
    over.add(SIZE_MAX - 10, 1);
    over.add(100, 1);
    CHECK_FALSE(over.total().is_ok());
    arena_plan bad;
    bad.add(8, 3);
    CHECK_FALSE(bad.total().is_ok());
}

TEST_CASE("memory_estimate: totals, budget check, longest context, saturation", "[core][arena]") {
    // SmolVLM-256M text decoder: 30 layers, 3 KV heads x 64, K and V in f32.
    memory_estimate m;
    m.weights_bytes = 513ull << 20;
    m.kv_bytes_per_token = 2ull * 30 * 3 * 64 * 4;  // 46080
    m.scratch_bytes = 8ull << 20;
    m.fixed_bytes = 1ull << 20;
    CHECK(m.kv_bytes_per_token == 46080);
    const std::uint64_t base = (513ull + 8 + 1) << 20;
    CHECK(m.total(0) == base);
    CHECK(m.total(2048) == base + 2048ull * 46080);
    CHECK(m.fits(base + 2048ull * 46080, 2048));
    CHECK_FALSE(m.fits(base + 2048ull * 46080 - 1, 2048));
    CHECK(m.max_context(base + 2048ull * 46080 + 100) == 2048);
    CHECK(m.max_context(base - 1) == 0);
    memory_estimate huge = m;
    huge.kv_bytes_per_token = UINT64_MAX / 2;
    CHECK(huge.total(4) == UINT64_MAX);  // saturates instead of wrapping
    CHECK_FALSE(huge.fits(UINT64_MAX - 1, 4));
    memory_estimate no_kv;
    CHECK(no_kv.max_context(10) == UINT64_MAX);
}

}  // namespace smolvlm_test_core_memory_cases
