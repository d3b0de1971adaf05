// Model directories with random weights, made by the make-random-model program the build
// provides (SMOLVLM_MAKE_RANDOM_MODEL_PATH), once per shape and seed per test run: the tests
// that use them stand alone without ../shared. Shapes: "tiny" (a SmolVLM with a 32-px
// tile), "tiny-text" (SmolLM2-like); both come with a small byte-level tokenizer.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "test_util.hpp"

namespace smolvlm_test {

#if defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)
inline std::string random_model(const std::string& shape, int seed = 3) {
    static std::map<std::string, std::string> made;
    const std::string key = shape + "/" + std::to_string(seed);
    auto it = made.find(key);
    if (it != made.end()) return it->second;
    const std::string dir = temp_dir() + "/random_" + shape + "_" + std::to_string(seed);
    const std::string cmd = std::string("'") + SMOLVLM_MAKE_RANDOM_MODEL_PATH + "' '" + dir + "' --shape " + shape +
                            " --seed " + std::to_string(seed) + " > /dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    made[key] = dir;
    return dir;
}
#endif

// A binary PPM test picture (gradients), written once under the temp dir.
inline std::string test_picture(int w, int h) {
    const std::string p = temp_dir() + "/picture_" + std::to_string(w) + "x" + std::to_string(h) + ".ppm";
    std::string data = "P6\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            data.push_back(char(x * 255 / w));
            data.push_back(char(y * 255 / h));
            data.push_back(char((x ^ y) & 255));
        }
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (f) {
        std::fwrite(data.data(), 1, data.size(), f);
        std::fclose(f);
    }
    return p;
}

}  // namespace smolvlm_test
