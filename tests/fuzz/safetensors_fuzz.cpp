// libFuzzer target for the safetensors reader (io/safetensors.hpp), from memory.
//   scripts/fuzz.sh 60 safetensors
//
// Each input is read twice:
//   1. as given: the whole file is the fuzz input;
//   2. "padded": when the header parses as JSON, the data section is extended with
//      zeros up to the largest data_offsets end it names (capped at 1 MB), so mutated
//      headers reach the offset / shape / overlap checks instead of stopping at
//      "past the end of the data section".
// Every tensor that is handed out is read byte by byte (ASan reports any pointer
// outside the buffer), converted to f32, and checked against the invariants the
// reader promises: inside the data section, nbytes == dtype x shape, sorted without
// overlap.
#include <smolvlm/io/safetensors.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

void check(const std::uint8_t* buf, std::size_t size) {
    auto r = smolvlm::safetensors_file::from_memory(buf, size);
    if (!r.is_ok()) {
        if (r.error().message()[0] == '\0') __builtin_trap();
        return;
    }
    const auto& f = r.value();
    const std::uint8_t* data_begin = buf + 8 + f.header_bytes();
    const std::uint8_t* data_end = buf + size;
    if (data_begin > data_end || std::uint64_t(data_end - data_begin) != f.data_bytes()) __builtin_trap();
    unsigned sum = 0;
    for (const auto& t : f.tensors()) {
        if (t.data < data_begin || t.nbytes > std::size_t(data_end - t.data)) __builtin_trap();
        if (t.end - t.begin != t.nbytes) __builtin_trap();
        if (std::uint64_t(t.shape.numel()) * smolvlm::dtype_size(t.type) != t.nbytes) __builtin_trap();
        if (f.find(t.name) != &t) __builtin_trap();
        for (std::size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
        if (t.nbytes <= (std::size_t(1) << 20)) {
            std::vector<float> out;
            (void)smolvlm::read_as_f32(t, out);
        }
    }
    for (const auto& kv : f.metadata()) sum += unsigned(kv.first.size() + kv.second.size());
    // Keep the reads observable.
    volatile unsigned sink = sum;
    (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    {
        // Copy into an exactly-sized heap block so ASan sees reads one past the end.
        std::vector<std::uint8_t> exact(data, data + size);
        check(exact.data(), exact.size());
    }

    if (size < 8) return 0;
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
    if (n > size - 8) return 0;
    auto h = smolvlm::parse_json(std::string_view(reinterpret_cast<const char*>(data + 8), std::size_t(n)));
    if (!h.is_ok() || !h->is_object()) return 0;
    std::uint64_t need = 0;
    for (const auto& m : h->members()) {
        const smolvlm::json_value* off = m.second.find("data_offsets");
        if (!off || !off->is_array()) continue;
        for (const auto& e : off->items())
            if (e.is_integer() && e.as_int() > 0 && std::uint64_t(e.as_int()) > need) need = std::uint64_t(e.as_int());
    }
    const std::uint64_t have = size - 8 - n;
    if (need <= have || need > (std::uint64_t(1) << 20)) return 0;
    std::vector<std::uint8_t> padded(data, data + size);
    padded.resize(std::size_t(8 + n + need), 0);
    check(padded.data(), padded.size());
    return 0;
}
