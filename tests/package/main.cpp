// Consumer program for the packaging tests: uses the library the way an outside project
// would (umbrella header, status/result, JSON, a safetensors round trip in memory) and
// prints one line. Built by find_package/, add_subdirectory/, meson/ and pkg-config.
#include <smolvlm.hpp>

#include <cstdio>
#include <cstring>

int main() {
    auto j = smolvlm::parse_json(R"({"model_type":"llama","hidden_size":64})");
    if (!j.is_ok()) return 2;
    smolvlm::safetensors_writer w;
    const float x[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    if (!w.add("x", {2, 2}, x).is_ok()) return 3;
    const auto bytes = w.serialize();
    auto f = smolvlm::safetensors_file::from_memory(bytes.data(), bytes.size());
    if (!f.is_ok() || !f->find("x") || f->find("x")->nbytes != sizeof x) return 4;
    auto bad = smolvlm::safetensors_file::from_memory(bytes.data(), 5);
    if (bad.is_ok() || bad.error().code() != smolvlm::errc::truncated) return 5;
    if (std::strcmp(SMOLVLM_VERSION_STRING, "") == 0) return 6;
    std::printf("smolvlm %s consumer ok (hidden_size %lld)\n", SMOLVLM_VERSION_STRING,
                (long long)j->find("hidden_size")->as_int());
    return 0;
}
