// libFuzzer target for the PNG decoder (and through it, inflate).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/png_fuzz.cpp
//
// Each input is decoded twice: as given (exercises the checksum error paths), and after
// the harness repairs every chunk CRC and the zlib Adler-32, so that mutations reach the
// inflater, unfilter and pixel conversion instead of being stopped by a checksum (Pillow,
// and so decode_png, checks the CRCs of the chunks before the image data, and the Adler-32
// when zlib reaches it).
#include <smolvlm/io/png.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

std::uint32_t rd32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
void wr32(std::uint8_t* p, std::uint32_t v) {
    p[0] = std::uint8_t(v >> 24); p[1] = std::uint8_t(v >> 16); p[2] = std::uint8_t(v >> 8); p[3] = std::uint8_t(v);
}

void repair_checksums(std::vector<std::uint8_t>& f) {
    struct span { std::size_t at, len; };
    std::vector<span> chunks, idats;
    std::size_t pos = 8;
    while (f.size() >= 12 && pos <= f.size() - 12) {
        std::uint32_t len = rd32(&f[pos]);
        if (len > f.size() - pos - 12) break;
        chunks.push_back({pos, len});
        if (std::memcmp(&f[pos + 4], "IDAT", 4) == 0) idats.push_back({pos + 8, len});
        pos += 12 + std::size_t(len);
    }
    // Fix the Adler-32 at the end of the zlib stream, if the stream inflates.
    std::vector<std::uint8_t> z;
    for (auto& s : idats) z.insert(z.end(), f.begin() + long(s.at), f.begin() + long(s.at + s.len));
    if (z.size() > 2 && f.size() >= 33) {
        // The filtered image size from IHDR (interlacing adds at most a few rows per pass),
        // capped at 4 MB: zlib data beyond that is left alone.
        std::uint64_t w = rd32(&f[16]), h = rd32(&f[20]);
        std::uint64_t bits = std::uint64_t(f[24]) * 4, row = (w * bits + 7) / 8 + 1;
        std::uint64_t cap64 = (h + 8) * (row + 8) * 2;
        std::size_t cap = cap64 < (std::uint64_t(1) << 22) ? std::size_t(cap64) : std::size_t(1) << 22;
        std::vector<std::uint8_t> out(cap);
        std::size_t n = 0, used = 0;
        smolvlm::inflate_report rep;
        rep.stop_when_full = true;
        if (smolvlm::inflate_raw(z.data() + 2, z.size() - 2, out.data(), out.size(), &n, &used, &rep).is_ok() &&
            !rep.stopped && z.size() - 2 - used >= 4) {
            std::uint32_t a = smolvlm::adler32(1, out.data(), n);
            std::uint8_t be[4];
            wr32(be, a);
            for (int k = 0; k < 4; ++k) {  // map stream offset -> file offset
                std::size_t off = 2 + used + std::size_t(k);
                for (auto& s : idats) {
                    if (off < s.len) { f[s.at + off] = be[k]; break; }
                    off -= s.len;
                }
            }
        }
    }
    for (auto& c : chunks) wr32(&f[c.at + 8 + c.len], smolvlm::crc32(0, &f[c.at + 4], c.len + 4));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    smolvlm::image_limits lim;
    lim.max_width = 4096;
    lim.max_height = 4096;
    lim.max_pixels = 1 << 22;
    lim.max_bytes = std::size_t(64) << 20;
    {
        auto r = smolvlm::decode_png(data, size, lim);
        if (r.is_ok() && r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
    }
    std::vector<std::uint8_t> f(data, data + size);
    repair_checksums(f);
    auto r = smolvlm::decode_png(f.data(), f.size(), lim);
    if (r.is_ok()) {
        if (r->channels < 1 || r->channels > 4) __builtin_trap();
        if (r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
    }
    return 0;
}
