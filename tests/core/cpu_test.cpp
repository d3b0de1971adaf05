#include <smolvlm/core/cpu.hpp>

#include <set>
#include <sstream>
#include <string>

#include "../test_util.hpp"

namespace smolvlm_test_core_cpu_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// The "flags" line of /proc/cpuinfo (Linux x86), empty elsewhere.
[[maybe_unused]] std::set<std::string> proc_cpu_flags() {
    std::set<std::string> out;
    std::istringstream in(smolvlm_test::read_file("/proc/cpuinfo"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("flags", 0) != 0) continue;
        std::istringstream words(line.substr(line.find(':') + 1));
        std::string w;
        while (words >> w) out.insert(w);
        break;
    }
    return out;
}

}  // namespace

TEST_CASE("detect_cpu is consistent and stateless", "[core][cpu]") {
    const cpu_features a = detect_cpu(), b = detect_cpu();
    CHECK(a.avx2 == b.avx2);
    CHECK(a.avx512_vnni == b.avx512_vnni);
    CHECK(a.neon_dotprod == b.neon_dotprod);
    // Implications every real CPU satisfies (and that detect_cpu enforces).
    if (a.avx512bw || a.avx512vl || a.avx512_vnni || a.avx512_bf16 || a.avx512dq) CHECK(a.avx512f);
    if (a.amx_int8 || a.amx_bf16) CHECK(a.amx_tile);
    if (a.neon_dotprod || a.neon_i8mm) CHECK(a.neon);
#if SMOLVLM_AARCH64
    CHECK(a.neon);
    CHECK_FALSE(a.avx2);
#endif
#if SMOLVLM_X86_64
    CHECK_FALSE(a.neon);
#endif
}

#if SMOLVLM_X86_64 && defined(__linux__)
TEST_CASE("detect_cpu agrees with the kernel's /proc/cpuinfo flags", "[core][cpu]") {
    const auto flags = proc_cpu_flags();
    if (flags.empty()) {
        WARN("skipped: /proc/cpuinfo has no flags line");
        return;
    }
    const cpu_features f = detect_cpu();
    // Linux clears a flag when it does not enable the matching register state, so the
    // flags mirror CPUID + XGETBV.
    CHECK(f.avx2 == (flags.count("avx2") == 1));
    CHECK(f.fma == (flags.count("fma") == 1));
    CHECK(f.f16c == (flags.count("f16c") == 1));
    CHECK(f.avx512f == (flags.count("avx512f") == 1));
    CHECK(f.avx512bw == (flags.count("avx512bw") == 1));
    CHECK(f.avx512vl == (flags.count("avx512vl") == 1));
    CHECK(f.avx512dq == (flags.count("avx512dq") == 1));
    CHECK(f.avx512_vnni == (flags.count("avx512_vnni") == 1));
    CHECK(f.avx512_bf16 == (flags.count("avx512_bf16") == 1));
    CHECK(f.avx_vnni == (flags.count("avx_vnni") == 1));
    CHECK(f.amx_tile == (flags.count("amx_tile") == 1));
    CHECK(f.amx_int8 == (flags.count("amx_int8") == 1));
    CHECK(f.amx_bf16 == (flags.count("amx_bf16") == 1));
}
#endif

}  // namespace smolvlm_test_core_cpu_cases
