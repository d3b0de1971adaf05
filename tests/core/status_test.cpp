#include <smolvlm/core/status.hpp>
#include <smolvlm/version.hpp>

#include <memory>
#include <string>

#include "../test_util.hpp"

namespace smolvlm_test_core_status_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

static result<int> parse_digit(char c) {
    if (c < '0' || c > '9') return status::fmt(errc::bad_format, "not a digit: '%c'", c);
    return c - '0';
}

static status sum_digits(const char* s, int* out) {
    int total = 0;
    for (; *s; ++s) {
        SMOLVLM_ASSIGN_OR_RETURN(int d, parse_digit(*s));
        total += d;
    }
    *out = total;
    return status::ok();
}

TEST_CASE("status carries code and message", "[core][status]") {
    status ok;
    CHECK(ok.is_ok());
    CHECK(std::string(ok.message()) == "ok");
    status bad = status::fmt(errc::truncated, "need %d bytes", 12);
    CHECK_FALSE(bad.is_ok());
    CHECK(bad.code() == errc::truncated);
    CHECK(std::string(bad.message()) == "need 12 bytes");
    bad.prepend("file.bin: ");
    CHECK(std::string(bad.message()) == "file.bin: need 12 bytes");
    CHECK(std::string(errc_name(errc::bad_shape)) == "bad_shape");
}

TEST_CASE("status truncates long messages safely", "[core][status]") {
    std::string long_msg(1000, 'x');
    status s(errc::io, long_msg.c_str());
    CHECK(std::string(s.message()).size() == status::k_max_message - 1);
}

TEST_CASE("result holds a value or a status; TRY propagates", "[core][status]") {
    int total = 0;
    CHECK(sum_digits("123", &total).is_ok());
    CHECK(total == 6);
    status s = sum_digits("12x", &total);
    CHECK(s.code() == errc::bad_format);
    CHECK(std::string(s.message()) == "not a digit: 'x'");

    result<std::unique_ptr<int>> r(std::make_unique<int>(7));
    REQUIRE(r.is_ok());
    result<std::unique_ptr<int>> moved(std::move(r));
    CHECK(**moved == 7);
    result<std::string> e(errc::io, "nope");
    CHECK_FALSE(e.is_ok());
    CHECK(e.error().code() == errc::io);
}

TEST_CASE("version macros match the build files", "[core][version]") {
    std::string cm = smolvlm_test::read_file(std::string(SMOLVLM_SOURCE_DIR) + "/CMakeLists.txt");
    std::string ms = smolvlm_test::read_file(std::string(SMOLVLM_SOURCE_DIR) + "/meson.build");
    std::string v = SMOLVLM_VERSION_STRING;
    CHECK(cm.find("VERSION " + v) != std::string::npos);
    CHECK(ms.find("version : '" + v + "'") != std::string::npos);
    CHECK(v == std::to_string(SMOLVLM_VERSION_MAJOR) + "." + std::to_string(SMOLVLM_VERSION_MINOR) + "." +
                   std::to_string(SMOLVLM_VERSION_PATCH));
}

}  // namespace smolvlm_test_core_status_cases
