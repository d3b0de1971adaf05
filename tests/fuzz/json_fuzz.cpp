// libFuzzer target for the JSON parser and writer (io/json.hpp).
//   scripts/fuzz.sh 60 json
//
// Properties checked beyond "no crash, no sanitizer report":
//   * a tight depth limit (first input byte picks 1..32) is never exceeded;
//   * whatever parses, the writer's output parses again, and writing is a fixed point
//     after one round (the first round may normalise "-0" to "0", "1.0" to "1").
#include <smolvlm/io/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace {

int depth_of(const smolvlm::json_value& v) {
    int d = 0;
    if (v.is_array())
        for (const auto& e : v.items()) d = std::max(d, depth_of(e));
    if (v.is_object())
        for (const auto& m : v.members()) d = std::max(d, depth_of(m.second));
    return (v.is_array() || v.is_object()) ? d + 1 : d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto full = smolvlm::parse_json(text);  // default options (depth 128)

    if (size > 0) {
        smolvlm::json_options o;
        o.max_depth = 1 + data[0] % 32;
        auto r = smolvlm::parse_json(text.substr(1), o);
        if (r.is_ok() && depth_of(r.value()) > o.max_depth) __builtin_trap();
        if (!r.is_ok() && r.error().message()[0] == '\0') __builtin_trap();  // every error says something
    }

    if (full.is_ok()) {
        std::string w1, w2, w3;
        smolvlm::json_write(w1, full.value());
        auto r2 = smolvlm::parse_json(w1);
        if (!r2.is_ok()) __builtin_trap();
        smolvlm::json_write(w2, r2.value());
        auto r3 = smolvlm::parse_json(w2);
        if (!r3.is_ok()) __builtin_trap();
        smolvlm::json_write(w3, r3.value());
        if (w2 != w3) __builtin_trap();
        (void)full->has_duplicate_keys();
    }
    return 0;
}
