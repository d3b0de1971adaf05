// Helpers shared by the tests: where the shared fixtures live, and how a test says
// "skipped" when they are absent (Catch2 v2 has no SKIP: we WARN and return).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace smolvlm_test {

// ../shared (or $SMOLVLM_SHARED when set).
inline std::string shared_dir() {
    if (const char* e = std::getenv("SMOLVLM_SHARED")) return e;
#ifdef SMOLVLM_SHARED_DIR
    return SMOLVLM_SHARED_DIR;
#else
    return "../shared";
#endif
}

inline bool path_exists(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return f.good();
}

inline std::string fixtures_dir() { return shared_dir() + "/fixtures"; }

inline std::vector<std::string> fixture_cases() {
    return {"idefics3_f32_rgb_split",   "idefics3_bf16_rgba_tall", "smolvlm_bf16_multi_image",
            "smolvlm_bf16_video",       "idefics3_bf16_text_only", "smolvlm_bf16_nosplit"};
}

// Every case folder of fixtures_dir() (a golden.json and a model/config.json), sorted: the
// SmolVLM cases above and those of the other families (README-*.md).
inline std::vector<std::string> all_fixture_cases() {
    std::vector<std::string> out;
    if (DIR* d = opendir(fixtures_dir().c_str())) {
        while (const dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name.empty() || name[0] == '.' || name[0] == '_') continue;
            const std::string dir = fixtures_dir() + "/" + name;
            if (path_exists(dir + "/golden.json") && path_exists(dir + "/model/config.json")) out.push_back(name);
        }
        closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
}

inline std::string read_file(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::vector<unsigned char> read_bytes(const std::string& p) {
    std::string s = read_file(p);
    return std::vector<unsigned char>(s.begin(), s.end());
}

// A writable scratch folder under the build tree.
inline std::string temp_dir() {
#ifdef SMOLVLM_BINARY_DIR
    std::string d = std::string(SMOLVLM_BINARY_DIR) + "/test-tmp";
#else
    std::string d = "test-tmp";
#endif
    std::string cmd = "mkdir -p '" + d + "'";
    (void)std::system(cmd.c_str());
    return d;
}

}  // namespace smolvlm_test

// Use at the top of a TEST_CASE that needs ../shared: warns "skipped" and returns.
#define SMOLVLM_REQUIRE_SHARED(path)                                                   \
    do {                                                                               \
        if (!smolvlm_test::path_exists(path)) {                                        \
            WARN("skipped: " << (path) << " is absent (shared fixtures not available)"); \
            return;                                                                    \
        }                                                                              \
    } while (0)
