// smolvlm/io/webp_vp8.hpp — VP8 key-frame decoder (WebP lossy) and libwebp's YUV -> RGB.
//
//   status detail::vp8_read_info(data, size, &width, &height)           // a "VP8 " chunk
//   status detail::vp8_decode(data, size, vp8_planes&, lim)             // -> Y, U, V planes
//   void   detail::vp8_to_rgba(planes, dst, stride, channels, alpha)    // fancy upsampling
//
// The bitstream is RFC 6386 (key frames only: WebP has no inter frames): boolean entropy
// decoder, segment / filter / quantiser headers, token partitions, coefficient probability
// updates, 16x16 / 4x4 / chroma intra prediction with the 127 / 129 borders, inverse WHT and
// DCT, normal and simple loop filters with per-segment strengths and mode deltas. Decoding
// is normative, so the planes are what any conforming decoder gives; where libwebp (what PIL
// calls) makes a choice of its own, we make the same one:
//  - segment quantisers are not clamped before the per-plane deltas are added;
//  - a frame whose global filter level is 0 is not filtered at all;
//  - a partition that is read past its end is an error (libwebp's "premature end").
// RGB comes from libwebp's "fancy" upsampler (each output chroma sample is a 9-3-3-1
// blend of the four nearest chroma samples) and its 14-bit fixed-point BT.601 conversion,
// bit for bit: this is what WebPDecode gives PIL.
// The probability and quantiser tables are the ones in RFC 6386 (sections 13.5, 14.1, 11.5),
// laid out flat: [type][band][context][11], [dc/ac index], [above][left][9].
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {
namespace detail {

constexpr std::uint8_t k_vp8_coeff_probs0[] = {
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 253, 136, 254, 255, 228, 219, 128, 128, 128, 128, 128,
    189, 129, 242, 255, 227, 213, 255, 219, 128, 128, 128, 106, 126, 227, 252, 214, 209, 255, 255, 128, 128, 128,
    1, 98, 248, 255, 236, 226, 255, 255, 128, 128, 128, 181, 133, 238, 254, 221, 234, 255, 154, 128, 128, 128,
    78, 134, 202, 247, 198, 180, 255, 219, 128, 128, 128, 1, 185, 249, 255, 243, 255, 128, 128, 128, 128, 128,
    184, 150, 247, 255, 236, 224, 128, 128, 128, 128, 128, 77, 110, 216, 255, 236, 230, 128, 128, 128, 128, 128,
    1, 101, 251, 255, 241, 255, 128, 128, 128, 128, 128, 170, 139, 241, 252, 236, 209, 255, 255, 128, 128, 128,
    37, 116, 196, 243, 228, 255, 255, 255, 128, 128, 128, 1, 204, 254, 255, 245, 255, 128, 128, 128, 128, 128,
    207, 160, 250, 255, 238, 128, 128, 128, 128, 128, 128, 102, 103, 231, 255, 211, 171, 128, 128, 128, 128, 128,
    1, 152, 252, 255, 240, 255, 128, 128, 128, 128, 128, 177, 135, 243, 255, 234, 225, 128, 128, 128, 128, 128,
    80, 129, 211, 255, 194, 224, 128, 128, 128, 128, 128, 1, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    246, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128, 255, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    198, 35, 237, 223, 193, 187, 162, 160, 145, 155, 62, 131, 45, 198, 221, 172, 176, 220, 157, 252, 221, 1,
    68, 47, 146, 208, 149, 167, 221, 162, 255, 223, 128, 1, 149, 241, 255, 221, 224, 255, 255, 128, 128, 128,
    184, 141, 234, 253, 222, 220, 255, 199, 128, 128, 128, 81, 99, 181, 242, 176, 190, 249, 202, 255, 255, 128,
    1, 129, 232, 253, 214, 197, 242, 196, 255, 255, 128, 99, 121, 210, 250, 201, 198, 255, 202, 128, 128, 128,
    23, 91, 163, 242, 170, 187, 247, 210, 255, 255, 128, 1, 200, 246, 255, 234, 255, 128, 128, 128, 128, 128,
    109, 178, 241, 255, 231, 245, 255, 255, 128, 128, 128, 44, 130, 201, 253, 205, 192, 255, 255, 128, 128, 128,
    1, 132, 239, 251, 219, 209, 255, 165, 128, 128, 128, 94, 136, 225, 251, 218, 190, 255, 255, 128, 128, 128,
    22, 100, 174, 245, 186, 161, 255, 199, 128, 128, 128, 1, 182, 249, 255, 232, 235, 128, 128, 128, 128, 128,
    124, 143, 241, 255, 227, 234, 128, 128, 128, 128, 128, 35, 77, 181, 251, 193, 211, 255, 205, 128, 128, 128,
    1, 157, 247, 255, 236, 231, 255, 255, 128, 128, 128, 121, 141, 235, 255, 225, 227, 255, 255, 128, 128, 128,
    45, 99, 188, 251, 195, 217, 255, 224, 128, 128, 128, 1, 1, 251, 255, 213, 255, 128, 128, 128, 128, 128,
    203, 1, 248, 255, 255, 128, 128, 128, 128, 128, 128, 137, 1, 177, 255, 224, 255, 128, 128, 128, 128, 128,
    253, 9, 248, 251, 207, 208, 255, 192, 128, 128, 128, 175, 13, 224, 243, 193, 185, 249, 198, 255, 255, 128,
    73, 17, 171, 221, 161, 179, 236, 167, 255, 234, 128, 1, 95, 247, 253, 212, 183, 255, 255, 128, 128, 128,
    239, 90, 244, 250, 211, 209, 255, 255, 128, 128, 128, 155, 77, 195, 248, 188, 195, 255, 255, 128, 128, 128,
    1, 24, 239, 251, 218, 219, 255, 205, 128, 128, 128, 201, 51, 219, 255, 196, 186, 128, 128, 128, 128, 128,
    69, 46, 190, 239, 201, 218, 255, 228, 128, 128, 128, 1, 191, 251, 255, 255, 128, 128, 128, 128, 128, 128,
    223, 165, 249, 255, 213, 255, 128, 128, 128, 128, 128, 141, 124, 248, 255, 255, 128, 128, 128, 128, 128, 128,
    1, 16, 248, 255, 255, 128, 128, 128, 128, 128, 128, 190, 36, 230, 255, 236, 255, 128, 128, 128, 128, 128,
    149, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128, 1, 226, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    247, 192, 255, 128, 128, 128, 128, 128, 128, 128, 128, 240, 128, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    1, 134, 252, 255, 255, 128, 128, 128, 128, 128, 128, 213, 62, 250, 255, 255, 128, 128, 128, 128, 128, 128,
    55, 93, 255, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
    202, 24, 213, 235, 186, 191, 220, 160, 240, 175, 255, 126, 38, 182, 232, 169, 184, 228, 174, 255, 187, 128,
    61, 46, 138, 219, 151, 178, 240, 170, 255, 216, 128, 1, 112, 230, 250, 199, 191, 247, 159, 255, 255, 128,
    166, 109, 228, 252, 211, 215, 255, 174, 128, 128, 128, 39, 77, 162, 232, 172, 180, 245, 178, 255, 255, 128,
    1, 52, 220, 246, 198, 199, 249, 220, 255, 255, 128, 124, 74, 191, 243, 183, 193, 250, 221, 255, 255, 128,
    24, 71, 130, 219, 154, 170, 243, 182, 255, 255, 128, 1, 182, 225, 249, 219, 240, 255, 224, 128, 128, 128,
    149, 150, 226, 252, 216, 205, 255, 171, 128, 128, 128, 28, 108, 170, 242, 183, 194, 254, 223, 255, 255, 128,
    1, 81, 230, 252, 204, 203, 255, 192, 128, 128, 128, 123, 102, 209, 247, 188, 196, 255, 233, 128, 128, 128,
    20, 95, 153, 243, 164, 173, 255, 203, 128, 128, 128, 1, 222, 248, 255, 216, 213, 128, 128, 128, 128, 128,
    168, 175, 246, 252, 235, 205, 255, 255, 128, 128, 128, 47, 116, 215, 255, 211, 212, 255, 255, 128, 128, 128,
    1, 121, 236, 253, 212, 214, 255, 255, 128, 128, 128, 141, 84, 213, 252, 201, 202, 255, 219, 128, 128, 128,
    42, 80, 160, 240, 162, 185, 255, 205, 128, 128, 128, 1, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
    244, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128, 238, 1, 255, 128, 128, 128, 128, 128, 128, 128, 128,
};
constexpr std::uint8_t k_vp8_coeff_update_probs[] = {
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 176, 246, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    223, 241, 252, 255, 255, 255, 255, 255, 255, 255, 255, 249, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 244, 252, 255, 255, 255, 255, 255, 255, 255, 255, 234, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 246, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    239, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 248, 254, 255, 255, 255, 255, 255, 255, 255, 255, 251, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    251, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 253, 255, 254, 255, 255, 255, 255, 255, 255, 250, 255, 254, 255, 254, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    217, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 225, 252, 241, 253, 255, 255, 254, 255, 255, 255, 255,
    234, 250, 241, 250, 253, 255, 253, 254, 255, 255, 255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    223, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 238, 253, 254, 254, 255, 255, 255, 255, 255, 255, 255,
    255, 248, 254, 255, 255, 255, 255, 255, 255, 255, 255, 249, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 253, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    247, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255, 252, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 253, 255, 255, 255, 255, 255, 255, 255, 255, 250, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    186, 251, 250, 255, 255, 255, 255, 255, 255, 255, 255, 234, 251, 244, 254, 255, 255, 255, 255, 255, 255, 255,
    251, 251, 243, 253, 254, 255, 254, 255, 255, 255, 255, 255, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    236, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255, 251, 253, 253, 254, 254, 255, 255, 255, 255, 255, 255,
    255, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 254, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    248, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 250, 254, 252, 254, 255, 255, 255, 255, 255, 255, 255,
    248, 254, 249, 253, 255, 255, 255, 255, 255, 255, 255, 255, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    246, 253, 253, 255, 255, 255, 255, 255, 255, 255, 255, 252, 254, 251, 254, 254, 255, 255, 255, 255, 255, 255,
    255, 254, 252, 255, 255, 255, 255, 255, 255, 255, 255, 248, 254, 253, 255, 255, 255, 255, 255, 255, 255, 255,
    253, 255, 254, 254, 255, 255, 255, 255, 255, 255, 255, 255, 251, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    245, 251, 254, 255, 255, 255, 255, 255, 255, 255, 255, 253, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 251, 253, 255, 255, 255, 255, 255, 255, 255, 255, 252, 253, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 252, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    249, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 254, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 253, 255, 255, 255, 255, 255, 255, 255, 255, 250, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    254, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
};
constexpr std::uint8_t k_vp8_bmode_probs[] = {
    231, 120, 48, 89, 115, 113, 120, 152, 112, 152, 179, 64, 126, 170, 118, 46, 70, 95,
    175, 69, 143, 80, 85, 82, 72, 155, 103, 56, 58, 10, 171, 218, 189, 17, 13, 152,
    114, 26, 17, 163, 44, 195, 21, 10, 173, 121, 24, 80, 195, 26, 62, 44, 64, 85,
    144, 71, 10, 38, 171, 213, 144, 34, 26, 170, 46, 55, 19, 136, 160, 33, 206, 71,
    63, 20, 8, 114, 114, 208, 12, 9, 226, 81, 40, 11, 96, 182, 84, 29, 16, 36,
    134, 183, 89, 137, 98, 101, 106, 165, 148, 72, 187, 100, 130, 157, 111, 32, 75, 80,
    66, 102, 167, 99, 74, 62, 40, 234, 128, 41, 53, 9, 178, 241, 141, 26, 8, 107,
    74, 43, 26, 146, 73, 166, 49, 23, 157, 65, 38, 105, 160, 51, 52, 31, 115, 128,
    104, 79, 12, 27, 217, 255, 87, 17, 7, 87, 68, 71, 44, 114, 51, 15, 186, 23,
    47, 41, 14, 110, 182, 183, 21, 17, 194, 66, 45, 25, 102, 197, 189, 23, 18, 22,
    88, 88, 147, 150, 42, 46, 45, 196, 205, 43, 97, 183, 117, 85, 38, 35, 179, 61,
    39, 53, 200, 87, 26, 21, 43, 232, 171, 56, 34, 51, 104, 114, 102, 29, 93, 77,
    39, 28, 85, 171, 58, 165, 90, 98, 64, 34, 22, 116, 206, 23, 34, 43, 166, 73,
    107, 54, 32, 26, 51, 1, 81, 43, 31, 68, 25, 106, 22, 64, 171, 36, 225, 114,
    34, 19, 21, 102, 132, 188, 16, 76, 124, 62, 18, 78, 95, 85, 57, 50, 48, 51,
    193, 101, 35, 159, 215, 111, 89, 46, 111, 60, 148, 31, 172, 219, 228, 21, 18, 111,
    112, 113, 77, 85, 179, 255, 38, 120, 114, 40, 42, 1, 196, 245, 209, 10, 25, 109,
    88, 43, 29, 140, 166, 213, 37, 43, 154, 61, 63, 30, 155, 67, 45, 68, 1, 209,
    100, 80, 8, 43, 154, 1, 51, 26, 71, 142, 78, 78, 16, 255, 128, 34, 197, 171,
    41, 40, 5, 102, 211, 183, 4, 1, 221, 51, 50, 17, 168, 209, 192, 23, 25, 82,
    138, 31, 36, 171, 27, 166, 38, 44, 229, 67, 87, 58, 169, 82, 115, 26, 59, 179,
    63, 59, 90, 180, 59, 166, 93, 73, 154, 40, 40, 21, 116, 143, 209, 34, 39, 175,
    47, 15, 16, 183, 34, 223, 49, 45, 183, 46, 17, 33, 183, 6, 98, 15, 32, 183,
    57, 46, 22, 24, 128, 1, 54, 17, 37, 65, 32, 73, 115, 28, 128, 23, 128, 205,
    40, 3, 9, 115, 51, 192, 18, 6, 223, 87, 37, 9, 115, 59, 77, 64, 21, 47,
    104, 55, 44, 218, 9, 54, 53, 130, 226, 64, 90, 70, 205, 40, 41, 23, 26, 57,
    54, 57, 112, 184, 5, 41, 38, 166, 213, 30, 34, 26, 133, 152, 116, 10, 32, 134,
    39, 19, 53, 221, 26, 114, 32, 73, 255, 31, 9, 65, 234, 2, 15, 1, 118, 73,
    75, 32, 12, 51, 192, 255, 160, 43, 51, 88, 31, 35, 67, 102, 85, 55, 186, 85,
    56, 21, 23, 111, 59, 205, 45, 37, 192, 55, 38, 70, 124, 73, 102, 1, 34, 98,
    125, 98, 42, 88, 104, 85, 117, 175, 82, 95, 84, 53, 89, 128, 100, 113, 101, 45,
    75, 79, 123, 47, 51, 128, 81, 171, 1, 57, 17, 5, 71, 102, 57, 53, 41, 49,
    38, 33, 13, 121, 57, 73, 26, 1, 85, 41, 10, 67, 138, 77, 110, 90, 47, 114,
    115, 21, 2, 10, 102, 255, 166, 23, 6, 101, 29, 16, 10, 85, 128, 101, 196, 26,
    57, 18, 10, 102, 102, 213, 34, 20, 43, 117, 20, 15, 36, 163, 128, 68, 1, 26,
    102, 61, 71, 37, 34, 53, 31, 243, 192, 69, 60, 71, 38, 73, 119, 28, 222, 37,
    68, 45, 128, 34, 1, 47, 11, 245, 171, 62, 17, 19, 70, 146, 85, 55, 62, 70,
    37, 43, 37, 154, 100, 163, 85, 160, 1, 63, 9, 92, 136, 28, 64, 32, 201, 85,
    75, 15, 9, 9, 64, 255, 184, 119, 16, 86, 6, 28, 5, 64, 255, 25, 248, 1,
    56, 8, 17, 132, 137, 255, 55, 116, 128, 58, 15, 20, 82, 135, 57, 26, 121, 40,
    164, 50, 31, 137, 154, 133, 25, 35, 218, 51, 103, 44, 131, 131, 123, 31, 6, 158,
    86, 40, 64, 135, 148, 224, 45, 183, 128, 22, 26, 17, 131, 240, 154, 14, 1, 209,
    45, 16, 21, 91, 64, 222, 7, 1, 197, 56, 21, 39, 155, 60, 138, 23, 102, 213,
    83, 12, 13, 54, 192, 255, 68, 47, 28, 85, 26, 85, 85, 128, 128, 32, 146, 171,
    18, 11, 7, 63, 144, 171, 4, 4, 246, 35, 27, 10, 146, 174, 171, 12, 26, 128,
    190, 80, 35, 99, 180, 80, 126, 54, 45, 85, 126, 47, 87, 176, 51, 41, 20, 32,
    101, 75, 128, 139, 118, 146, 116, 128, 85, 56, 41, 15, 176, 236, 85, 37, 9, 62,
    71, 30, 17, 119, 118, 255, 17, 18, 138, 101, 38, 60, 138, 55, 70, 43, 26, 142,
    146, 36, 19, 30, 171, 255, 97, 27, 20, 138, 45, 61, 62, 219, 1, 81, 188, 64,
    32, 41, 20, 117, 151, 142, 20, 21, 163, 112, 19, 12, 61, 195, 128, 48, 4, 24,
};
constexpr std::uint8_t k_vp8_dc_q[] = {
    4, 5, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15, 16, 17, 17,
    18, 19, 20, 20, 21, 21, 22, 22, 23, 23, 24, 25, 25, 26, 27, 28,
    29, 30, 31, 32, 33, 34, 35, 36, 37, 37, 38, 39, 40, 41, 42, 43,
    44, 45, 46, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
    59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74,
    75, 76, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,
    91, 93, 95, 96, 98, 100, 101, 102, 104, 106, 108, 110, 112, 114, 116, 118,
    122, 124, 126, 128, 130, 132, 134, 136, 138, 140, 143, 145, 148, 151, 154, 157,
};
constexpr std::uint16_t k_vp8_ac_q[] = {
    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
    36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
    52, 53, 54, 55, 56, 57, 58, 60, 62, 64, 66, 68, 70, 72, 74, 76,
    78, 80, 82, 84, 86, 88, 90, 92, 94, 96, 98, 100, 102, 104, 106, 108,
    110, 112, 114, 116, 119, 122, 125, 128, 131, 134, 137, 140, 143, 146, 149, 152,
    155, 158, 161, 164, 167, 170, 173, 177, 181, 185, 189, 193, 197, 201, 205, 209,
    213, 217, 221, 225, 229, 234, 239, 245, 249, 254, 259, 264, 269, 274, 279, 284,
};

// Boolean entropy decoder (RFC 6386 section 7), kept the way libwebp keeps it: `range`
// holds range - 1 and `bits` counts the buffered bits beyond the 8 being decoded, so that
// "read past the end" is noticed at the same point as libwebp notices it.
struct vp8_bool_reader {
    const std::uint8_t* p = nullptr;
    const std::uint8_t* end = nullptr;
    std::uint64_t value = 0;
    int bits = -8;
    std::uint32_t range = 254;
    bool eof = false;

    void init(const std::uint8_t* data, std::size_t n) {
        p = data;
        end = data + n;
        value = 0;
        bits = -8;
        range = 254;
        eof = false;
        load();
    }
    void load() {
        if (p < end) {
            value = value << 8 | *p++;
            bits += 8;
        } else if (!eof) {
            value <<= 8;
            bits += 8;
            eof = true;
        } else {
            bits = 0;
        }
    }
    int get(int prob) {
        if (bits < 0) load();
        std::uint32_t r = range;
        const std::uint32_t split = (r * std::uint32_t(prob)) >> 8;
        const std::uint32_t v = std::uint32_t(value >> bits);
        const int bit = v > split;
        if (bit) {
            r -= split;
            value -= std::uint64_t(split + 1) << bits;
        } else {
            r = split + 1;
        }
#if defined(__GNUC__) || defined(__clang__)
        const int shift = __builtin_clz(r) - 24;  // r in [1, 255]: bring it back to [128, 255]
#else
        int shift = 0;
        while ((r << shift) < 128) ++shift;
#endif
        r <<= shift;
        bits -= shift;
        range = r - 1;
        return bit;
    }
    int get_value(int n) {
        int v = 0;
        while (n-- > 0) v |= get(0x80) << n;
        return v;
    }
    int get_signed_value(int n) {
        const int v = get_value(n);
        return get(0x80) ? -v : v;
    }
};

// Intra modes, numbered as libwebp numbers them (its 4x4 probability table uses this order).
enum : std::uint8_t { vp8_dc = 0, vp8_tm, vp8_ve, vp8_he, vp8_rd, vp8_vr, vp8_ld, vp8_vl, vp8_hd, vp8_hu };

struct vp8_planes {
    int width = 0, height = 0;   // visible size
    int mb_w = 0, mb_h = 0;
    std::size_t y_stride = 0, uv_stride = 0;
    std::vector<std::uint8_t> y, u, v;  // whole macroblocks: [mb_h*16, mb_w*16], [mb_h*8, mb_w*8]
};

inline status vp8_read_info(const std::uint8_t* data, std::size_t size, int* width, int* height) {
    if (size < 10) return status(errc::truncated, "webp: VP8 frame header is truncated");
    if (data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a)
        return status(errc::bad_format, "webp: bad VP8 start code");
    const std::uint32_t bits = std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 | std::uint32_t(data[2]) << 16;
    if (bits & 1) return status(errc::bad_format, "webp: VP8 frame is not a key frame");
    if (((bits >> 1) & 7) > 3) return status(errc::bad_format, "webp: unknown VP8 profile");
    if (!((bits >> 4) & 1)) return status(errc::bad_format, "webp: VP8 frame is not shown");
    if ((bits >> 5) >= size) return status(errc::bad_format, "webp: VP8 first partition is larger than the chunk");
    *width = int((std::uint32_t(data[7]) << 8 | data[6]) & 0x3fff);
    *height = int((std::uint32_t(data[9]) << 8 | data[8]) & 0x3fff);
    if (*width == 0 || *height == 0) return status(errc::bad_format, "webp: VP8 frame has a zero dimension");
    return status::ok();
}

constexpr int k_vp8_bps = 32;  // stride of the per-macroblock work buffers

inline std::uint8_t vp8_clip8(int v) { return std::uint8_t(v < 0 ? 0 : v > 255 ? 255 : v); }

// Inverse DCT of one 4x4 block, added to the prediction in `dst` (stride k_vp8_bps).
inline void vp8_idct_add(const std::int16_t* in, std::uint8_t* dst) {
    // a * sqrt(2) * cos(pi/8) and a * sqrt(2) * sin(pi/8) in 16-bit fixed point; 64-bit
    // products so that the out-of-range coefficients of a broken stream cannot overflow.
    auto mul1 = [](int a) { return int((std::int64_t(a) * 20091) >> 16) + a; };
    auto mul2 = [](int a) { return int((std::int64_t(a) * 35468) >> 16); };
    int tmp[16];
    for (int i = 0; i < 4; ++i) {  // columns
        const int a = in[i] + in[8 + i], b = in[i] - in[8 + i];
        const int c = mul2(in[4 + i]) - mul1(in[12 + i]);
        const int d = mul1(in[4 + i]) + mul2(in[12 + i]);
        tmp[4 * i + 0] = a + d;
        tmp[4 * i + 1] = b + c;
        tmp[4 * i + 2] = b - c;
        tmp[4 * i + 3] = a - d;
    }
    for (int i = 0; i < 4; ++i) {  // rows, with rounding
        const int dc = tmp[i] + 4;
        const int a = dc + tmp[8 + i], b = dc - tmp[8 + i];
        const int c = mul2(tmp[4 + i]) - mul1(tmp[12 + i]);
        const int d = mul1(tmp[4 + i]) + mul2(tmp[12 + i]);
        std::uint8_t* row = dst + i * k_vp8_bps;
        row[0] = vp8_clip8(row[0] + ((a + d) >> 3));
        row[1] = vp8_clip8(row[1] + ((b + c) >> 3));
        row[2] = vp8_clip8(row[2] + ((b - c) >> 3));
        row[3] = vp8_clip8(row[3] + ((a - d) >> 3));
    }
}

// Inverse Walsh-Hadamard transform of the Y2 block into the DC of the 16 luma blocks.
inline void vp8_iwht(const std::int16_t* in, std::int16_t* out /* [16][16] */) {
    int tmp[16];
    for (int i = 0; i < 4; ++i) {
        const int a0 = in[i] + in[12 + i], a1 = in[4 + i] + in[8 + i];
        const int a2 = in[4 + i] - in[8 + i], a3 = in[i] - in[12 + i];
        tmp[i] = a0 + a1;
        tmp[8 + i] = a0 - a1;
        tmp[4 + i] = a3 + a2;
        tmp[12 + i] = a3 - a2;
    }
    for (int i = 0; i < 4; ++i) {
        const int dc = tmp[4 * i] + 3;
        const int a0 = dc + tmp[4 * i + 3], a1 = tmp[4 * i + 1] + tmp[4 * i + 2];
        const int a2 = tmp[4 * i + 1] - tmp[4 * i + 2], a3 = dc - tmp[4 * i + 3];
        out[(4 * i + 0) * 16] = std::int16_t((a0 + a1) >> 3);
        out[(4 * i + 1) * 16] = std::int16_t((a3 + a2) >> 3);
        out[(4 * i + 2) * 16] = std::int16_t((a0 - a1) >> 3);
        out[(4 * i + 3) * 16] = std::int16_t((a3 - a2) >> 3);
    }
}

inline int vp8_avg3(int a, int b, int c) { return (a + 2 * b + c + 2) >> 2; }
inline int vp8_avg2(int a, int b) { return (a + b + 1) >> 1; }

// 4x4 luma prediction at `d` (stride k_vp8_bps); the row above holds 8 samples (4 above-right).
inline void vp8_predict4(int mode, std::uint8_t* d) {
    const int B = k_vp8_bps;
    const std::uint8_t* t = d - B;
    const int X = t[-1], A = t[0], Bv = t[1], C = t[2], D = t[3], E = t[4], F = t[5], G = t[6], H = t[7];
    const int I = d[-1], J = d[B - 1], K = d[2 * B - 1], L = d[3 * B - 1];
    auto at = [&](int x, int y) -> std::uint8_t& { return d[y * B + x]; };
    switch (mode) {
        case vp8_dc: {
            const int dc = (A + Bv + C + D + I + J + K + L + 4) >> 3;
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) at(x, y) = std::uint8_t(dc);
            break;
        }
        case vp8_tm:
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) at(x, y) = vp8_clip8(t[x] + d[y * B - 1] - X);
            break;
        case vp8_ve: {
            const int v[4] = {vp8_avg3(X, A, Bv), vp8_avg3(A, Bv, C), vp8_avg3(Bv, C, D), vp8_avg3(C, D, E)};
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) at(x, y) = std::uint8_t(v[x]);
            break;
        }
        case vp8_he: {
            const int v[4] = {vp8_avg3(X, I, J), vp8_avg3(I, J, K), vp8_avg3(J, K, L), vp8_avg3(K, L, L)};
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) at(x, y) = std::uint8_t(v[y]);
            break;
        }
        default: break;
    }
    // The directional modes, as RFC 6386 section 12.3 defines them.
    switch (mode) {
        case vp8_rd:
            at(0, 3) = std::uint8_t(vp8_avg3(J, K, L));
            at(1, 3) = at(0, 2) = std::uint8_t(vp8_avg3(I, J, K));
            at(2, 3) = at(1, 2) = at(0, 1) = std::uint8_t(vp8_avg3(X, I, J));
            at(3, 3) = at(2, 2) = at(1, 1) = at(0, 0) = std::uint8_t(vp8_avg3(A, X, I));
            at(3, 2) = at(2, 1) = at(1, 0) = std::uint8_t(vp8_avg3(Bv, A, X));
            at(3, 1) = at(2, 0) = std::uint8_t(vp8_avg3(C, Bv, A));
            at(3, 0) = std::uint8_t(vp8_avg3(D, C, Bv));
            break;
        case vp8_ld:
            at(0, 0) = std::uint8_t(vp8_avg3(A, Bv, C));
            at(1, 0) = at(0, 1) = std::uint8_t(vp8_avg3(Bv, C, D));
            at(2, 0) = at(1, 1) = at(0, 2) = std::uint8_t(vp8_avg3(C, D, E));
            at(3, 0) = at(2, 1) = at(1, 2) = at(0, 3) = std::uint8_t(vp8_avg3(D, E, F));
            at(3, 1) = at(2, 2) = at(1, 3) = std::uint8_t(vp8_avg3(E, F, G));
            at(3, 2) = at(2, 3) = std::uint8_t(vp8_avg3(F, G, H));
            at(3, 3) = std::uint8_t(vp8_avg3(G, H, H));
            break;
        case vp8_vr:
            at(0, 0) = at(1, 2) = std::uint8_t(vp8_avg2(X, A));
            at(1, 0) = at(2, 2) = std::uint8_t(vp8_avg2(A, Bv));
            at(2, 0) = at(3, 2) = std::uint8_t(vp8_avg2(Bv, C));
            at(3, 0) = std::uint8_t(vp8_avg2(C, D));
            at(0, 3) = std::uint8_t(vp8_avg3(K, J, I));
            at(0, 2) = std::uint8_t(vp8_avg3(J, I, X));
            at(0, 1) = at(1, 3) = std::uint8_t(vp8_avg3(I, X, A));
            at(1, 1) = at(2, 3) = std::uint8_t(vp8_avg3(X, A, Bv));
            at(2, 1) = at(3, 3) = std::uint8_t(vp8_avg3(A, Bv, C));
            at(3, 1) = std::uint8_t(vp8_avg3(Bv, C, D));
            break;
        case vp8_vl:
            at(0, 0) = std::uint8_t(vp8_avg2(A, Bv));
            at(1, 0) = at(0, 2) = std::uint8_t(vp8_avg2(Bv, C));
            at(2, 0) = at(1, 2) = std::uint8_t(vp8_avg2(C, D));
            at(3, 0) = at(2, 2) = std::uint8_t(vp8_avg2(D, E));
            at(0, 1) = std::uint8_t(vp8_avg3(A, Bv, C));
            at(1, 1) = at(0, 3) = std::uint8_t(vp8_avg3(Bv, C, D));
            at(2, 1) = at(1, 3) = std::uint8_t(vp8_avg3(C, D, E));
            at(3, 1) = at(2, 3) = std::uint8_t(vp8_avg3(D, E, F));
            at(3, 2) = std::uint8_t(vp8_avg3(E, F, G));
            at(3, 3) = std::uint8_t(vp8_avg3(F, G, H));
            break;
        case vp8_hu:
            at(0, 0) = std::uint8_t(vp8_avg2(I, J));
            at(2, 0) = at(0, 1) = std::uint8_t(vp8_avg2(J, K));
            at(2, 1) = at(0, 2) = std::uint8_t(vp8_avg2(K, L));
            at(1, 0) = std::uint8_t(vp8_avg3(I, J, K));
            at(3, 0) = at(1, 1) = std::uint8_t(vp8_avg3(J, K, L));
            at(3, 1) = at(1, 2) = std::uint8_t(vp8_avg3(K, L, L));
            at(3, 2) = at(2, 2) = at(0, 3) = at(1, 3) = at(2, 3) = at(3, 3) = std::uint8_t(L);
            break;
        case vp8_hd:
            at(0, 0) = at(2, 1) = std::uint8_t(vp8_avg2(I, X));
            at(0, 1) = at(2, 2) = std::uint8_t(vp8_avg2(J, I));
            at(0, 2) = at(2, 3) = std::uint8_t(vp8_avg2(K, J));
            at(0, 3) = std::uint8_t(vp8_avg2(L, K));
            at(3, 0) = std::uint8_t(vp8_avg3(A, Bv, C));
            at(2, 0) = std::uint8_t(vp8_avg3(X, A, Bv));
            at(1, 0) = at(3, 1) = std::uint8_t(vp8_avg3(I, X, A));
            at(1, 1) = at(3, 2) = std::uint8_t(vp8_avg3(J, I, X));
            at(1, 2) = at(3, 3) = std::uint8_t(vp8_avg3(K, J, I));
            at(1, 3) = std::uint8_t(vp8_avg3(L, K, J));
            break;
        default: break;
    }
}

// 16x16 luma or 8x8 chroma prediction at `d`. DC uses only the edges that exist
// (no top row in the first macroblock row, no left column in the first column).
inline void vp8_predict_block(int mode, std::uint8_t* d, int n, bool has_top, bool has_left) {
    const int B = k_vp8_bps;
    const std::uint8_t* t = d - B;
    const int shift = n == 16 ? 4 : 3;
    switch (mode) {
        case vp8_dc: {
            int dc;
            if (has_top && has_left) {
                int s = 0;
                for (int i = 0; i < n; ++i) s += t[i] + d[i * B - 1];
                dc = (s + n) >> (shift + 1);
            } else if (has_top || has_left) {
                int s = 0;
                for (int i = 0; i < n; ++i) s += has_top ? t[i] : d[i * B - 1];
                dc = (s + (n >> 1)) >> shift;
            } else {
                dc = 0x80;
            }
            for (int y = 0; y < n; ++y) std::memset(d + y * B, dc, std::size_t(n));
            break;
        }
        case vp8_tm:
            for (int y = 0; y < n; ++y)
                for (int x = 0; x < n; ++x) d[y * B + x] = vp8_clip8(t[x] + d[y * B - 1] - t[-1]);
            break;
        case vp8_ve:
            for (int y = 0; y < n; ++y) std::memcpy(d + y * B, t, std::size_t(n));
            break;
        case vp8_he:
            for (int y = 0; y < n; ++y) std::memset(d + y * B, d[y * B - 1], std::size_t(n));
            break;
        default: break;
    }
}

// ---- loop filter (RFC 6386 section 15), in libwebp's integer form ----
inline int vp8_sclip1(int v) { return v < -128 ? -128 : v > 127 ? 127 : v; }  // [-1020, 1020] -> int8
inline int vp8_sclip2(int v) { return v < -16 ? -16 : v > 15 ? 15 : v; }      // [-112, 112] -> [-16, 15]
inline int vp8_abs(int v) { return v < 0 ? -v : v; }

inline void vp8_filter2(std::uint8_t* p, std::ptrdiff_t step) {  // common adjustment, outer taps used
    const int p1 = p[-2 * step], p0 = p[-step], q0 = p[0], q1 = p[step];
    const int a = 3 * (q0 - p0) + vp8_sclip1(p1 - q1);
    const int a1 = vp8_sclip2((a + 4) >> 3), a2 = vp8_sclip2((a + 3) >> 3);
    p[-step] = vp8_clip8(p0 + a2);
    p[0] = vp8_clip8(q0 - a1);
}
inline void vp8_filter4(std::uint8_t* p, std::ptrdiff_t step) {  // subblock edge, no high edge variance
    const int p1 = p[-2 * step], p0 = p[-step], q0 = p[0], q1 = p[step];
    const int a = 3 * (q0 - p0);
    const int a1 = vp8_sclip2((a + 4) >> 3), a2 = vp8_sclip2((a + 3) >> 3);
    const int a3 = (a1 + 1) >> 1;
    p[-2 * step] = vp8_clip8(p1 + a3);
    p[-step] = vp8_clip8(p0 + a2);
    p[0] = vp8_clip8(q0 - a1);
    p[step] = vp8_clip8(q1 - a3);
}
inline void vp8_filter6(std::uint8_t* p, std::ptrdiff_t step) {  // macroblock edge, no high edge variance
    const int p2 = p[-3 * step], p1 = p[-2 * step], p0 = p[-step];
    const int q0 = p[0], q1 = p[step], q2 = p[2 * step];
    const int a = vp8_sclip1(3 * (q0 - p0) + vp8_sclip1(p1 - q1));
    const int a1 = (27 * a + 63) >> 7, a2 = (18 * a + 63) >> 7, a3 = (9 * a + 63) >> 7;
    p[-3 * step] = vp8_clip8(p2 + a3);
    p[-2 * step] = vp8_clip8(p1 + a2);
    p[-step] = vp8_clip8(p0 + a1);
    p[0] = vp8_clip8(q0 - a1);
    p[step] = vp8_clip8(q1 - a2);
    p[2 * step] = vp8_clip8(q2 - a3);
}
inline bool vp8_hev(const std::uint8_t* p, std::ptrdiff_t step, int thresh) {
    return vp8_abs(p[-2 * step] - p[-step]) > thresh || vp8_abs(p[step] - p[0]) > thresh;
}
inline bool vp8_needs_filter(const std::uint8_t* p, std::ptrdiff_t step, int t) {
    return 4 * vp8_abs(p[-step] - p[0]) + vp8_abs(p[-2 * step] - p[step]) <= t;
}
inline bool vp8_needs_filter2(const std::uint8_t* p, std::ptrdiff_t step, int t, int it) {
    const int p3 = p[-4 * step], p2 = p[-3 * step], p1 = p[-2 * step], p0 = p[-step];
    const int q0 = p[0], q1 = p[step], q2 = p[2 * step], q3 = p[3 * step];
    if (4 * vp8_abs(p0 - q0) + vp8_abs(p1 - q1) > t) return false;
    return vp8_abs(p3 - p2) <= it && vp8_abs(p2 - p1) <= it && vp8_abs(p1 - p0) <= it && vp8_abs(q3 - q2) <= it &&
           vp8_abs(q2 - q1) <= it && vp8_abs(q1 - q0) <= it;
}
// `n` pixels along an edge: `step` crosses the edge, `along` moves along it.
inline void vp8_simple_edge(std::uint8_t* p, std::ptrdiff_t step, std::ptrdiff_t along, int n, int thresh) {
    const int t2 = 2 * thresh + 1;
    for (int i = 0; i < n; ++i, p += along)
        if (vp8_needs_filter(p, step, t2)) vp8_filter2(p, step);
}
inline void vp8_normal_edge(std::uint8_t* p, std::ptrdiff_t step, std::ptrdiff_t along, int n, int thresh, int ithresh,
                            int hev_thresh, bool mb_edge) {
    const int t2 = 2 * thresh + 1;
    for (int i = 0; i < n; ++i, p += along) {
        if (!vp8_needs_filter2(p, step, t2, ithresh)) continue;
        if (vp8_hev(p, step, hev_thresh)) vp8_filter2(p, step);
        else if (mb_edge) vp8_filter6(p, step);
        else vp8_filter4(p, step);
    }
}

struct vp8_filter_info {
    std::uint8_t limit = 0, ilevel = 0, hev = 0, inner = 0;
};

struct vp8_mb {
    std::uint8_t segment = 0, skip = 0, is_i4x4 = 0, uvmode = 0;
    std::uint8_t imodes[16] = {};  // 4x4 modes, or imodes[0] = the 16x16 mode
};

// Coefficient tokens of one block (RFC 6386 section 13); returns the index after the
// last non-zero coefficient (or `n` when the block ends at once).
inline int vp8_get_coeffs(vp8_bool_reader& br, const std::uint8_t (*probs)[3][11], int ctx, const int dq[2], int n,
                          std::int16_t* out) {
    static constexpr std::uint8_t bands[17] = {0, 1, 2, 3, 6, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 0};
    static constexpr std::uint8_t zigzag[16] = {0, 1, 4, 8, 5, 2, 3, 6, 9, 12, 13, 10, 7, 11, 14, 15};
    static constexpr std::uint8_t cat3[] = {173, 148, 140, 0}, cat4[] = {176, 155, 140, 135, 0},
                                  cat5[] = {180, 157, 141, 134, 130, 0},
                                  cat6[] = {254, 254, 243, 230, 196, 177, 153, 140, 133, 130, 129, 0};
    static constexpr const std::uint8_t* cats[4] = {cat3, cat4, cat5, cat6};
    const std::uint8_t* p = probs[bands[n]][ctx];
    for (; n < 16; ++n) {
        if (!br.get(p[0])) return n;  // end of block
        while (!br.get(p[1])) {       // a run of zeros
            if (++n == 16) return 16;
            p = probs[bands[n]][0];
        }
        int v;
        if (!br.get(p[2])) {
            v = 1;
            p = probs[bands[n + 1]][1];
        } else {
            if (!br.get(p[3])) {
                v = !br.get(p[4]) ? 2 : 3 + br.get(p[5]);
            } else if (!br.get(p[6])) {
                v = !br.get(p[7]) ? 5 + br.get(159) : 7 + 2 * br.get(165) + br.get(145);
            } else {
                const int b1 = br.get(p[8]);
                const int b0 = br.get(p[9 + b1]);
                const int cat = 2 * b1 + b0;
                v = 0;
                for (const std::uint8_t* t = cats[cat]; *t; ++t) v += v + br.get(*t);
                v += 3 + (8 << cat);
            }
            p = probs[bands[n + 1]][2];
        }
        const int s = br.get(0x80) ? -v : v;
        out[zigzag[n]] = std::int16_t(s * dq[n > 0]);
    }
    return 16;
}

inline status vp8_decode(const std::uint8_t* data, std::size_t size, vp8_planes& pl, const image_limits& lim) {
    int width = 0, height = 0;
    SMOLVLM_TRY(vp8_read_info(data, size, &width, &height));
    const std::uint32_t part0 = (std::uint32_t(data[0]) | std::uint32_t(data[1]) << 8 | std::uint32_t(data[2]) << 16) >> 5;
    const int mb_w = (width + 15) >> 4, mb_h = (height + 15) >> 4;
    {
        const std::uint64_t bytes = std::uint64_t(mb_w) * std::uint64_t(mb_h) * (256 + 128 + 32);
        if (bytes > lim.max_bytes)
            return status::fmt(errc::no_memory, "webp: %dx%d VP8 planes exceed the %zu-byte limit", width, height,
                               lim.max_bytes);
    }
    const std::uint8_t* buf = data + 10;
    std::size_t left = size - 10;
    if (part0 > left) return status(errc::truncated, "webp: VP8 first partition is truncated");
    vp8_bool_reader br;
    br.init(buf, part0);
    buf += part0;
    left -= part0;

    br.get(0x80);  // colour space
    br.get(0x80);  // clamping type (libwebp always clamps)
    // Segments (9.3)
    bool use_segment = br.get(0x80) != 0, update_map = false, absolute = true;
    int seg_quant[4] = {0, 0, 0, 0}, seg_filter[4] = {0, 0, 0, 0};
    std::uint8_t seg_probs[3] = {255, 255, 255};
    if (use_segment) {
        update_map = br.get(0x80) != 0;
        if (br.get(0x80)) {
            absolute = br.get(0x80) != 0;
            for (auto& q : seg_quant) q = br.get(0x80) ? br.get_signed_value(7) : 0;
            for (auto& f : seg_filter) f = br.get(0x80) ? br.get_signed_value(6) : 0;
        }
        if (update_map)
            for (auto& sp : seg_probs) sp = std::uint8_t(br.get(0x80) ? br.get_value(8) : 255);
    }
    // Loop filter (9.4)
    const bool simple = br.get(0x80) != 0;
    const int level = br.get_value(6), sharpness = br.get_value(3);
    const bool use_lf_delta = br.get(0x80) != 0;
    int ref_delta[4] = {0, 0, 0, 0}, mode_delta[4] = {0, 0, 0, 0};
    if (use_lf_delta && br.get(0x80)) {
        for (auto& d : ref_delta)
            if (br.get(0x80)) d = br.get_signed_value(6);
        for (auto& d : mode_delta)
            if (br.get(0x80)) d = br.get_signed_value(6);
    }
    const int filter_type = level == 0 ? 0 : simple ? 1 : 2;
    if (br.eof) return status(errc::truncated, "webp: VP8 header is truncated");
    // Token partitions (9.5)
    const int num_parts = 1 << br.get_value(2);
    std::vector<vp8_bool_reader> parts(static_cast<std::size_t>(num_parts));
    {
        const std::size_t last = std::size_t(num_parts - 1);
        if (left < 3 * last) return status(errc::truncated, "webp: VP8 partition sizes are truncated");
        const std::uint8_t* sz = buf;
        const std::uint8_t* start = buf + 3 * last;
        std::size_t remain = left - 3 * last;
        for (std::size_t i = 0; i < last; ++i, sz += 3) {
            std::size_t ps = std::size_t(sz[0]) | std::size_t(sz[1]) << 8 | std::size_t(sz[2]) << 16;
            if (ps > remain) ps = remain;
            parts[i].init(start, ps);
            start += ps;
            remain -= ps;
        }
        if (remain == 0) return status(errc::truncated, "webp: VP8 data ends before the last partition");
        parts[last].init(start, remain);
    }
    // Quantisers (9.6)
    const int base_q = br.get_value(7);
    int dq_delta[5];
    for (auto& d : dq_delta) d = br.get(0x80) ? br.get_signed_value(4) : 0;
    struct dequant { int y1[2], y2[2], uv[2]; } dqm[4];
    auto clip = [](int v, int m) { return v < 0 ? 0 : v > m ? m : v; };
    for (int s = 0; s < 4; ++s) {
        int q = base_q;
        if (use_segment) q = seg_quant[s] + (absolute ? 0 : base_q);
        else if (s > 0) { dqm[s] = dqm[0]; continue; }
        dqm[s].y1[0] = k_vp8_dc_q[clip(q + dq_delta[0], 127)];
        dqm[s].y1[1] = k_vp8_ac_q[clip(q, 127)];
        dqm[s].y2[0] = k_vp8_dc_q[clip(q + dq_delta[1], 127)] * 2;
        dqm[s].y2[1] = k_vp8_ac_q[clip(q + dq_delta[2], 127)] * 101581 >> 16;  // x * 155 / 100
        if (dqm[s].y2[1] < 8) dqm[s].y2[1] = 8;
        dqm[s].uv[0] = k_vp8_dc_q[clip(q + dq_delta[3], 117)];
        dqm[s].uv[1] = k_vp8_ac_q[clip(q + dq_delta[4], 127)];
    }
    br.get(0x80);  // refresh_entropy_probs: meaningless for a single key frame
    // Coefficient probabilities (13.4)
    std::uint8_t probs[4][8][3][11];
    for (int t = 0; t < 4; ++t)
        for (int b = 0; b < 8; ++b)
            for (int c = 0; c < 3; ++c)
                for (int k = 0; k < 11; ++k) {
                    const int i = ((t * 8 + b) * 3 + c) * 11 + k;
                    probs[t][b][c][k] = std::uint8_t(br.get(k_vp8_coeff_update_probs[i]) ? br.get_value(8)
                                                                                       : k_vp8_coeff_probs0[i]);
                }
    const bool use_skip = br.get(0x80) != 0;
    const int skip_prob = use_skip ? br.get_value(8) : 0;

    // Filter strengths per segment and per "is 4x4" (libwebp's PrecomputeFilterStrengths).
    vp8_filter_info fstr[4][2];
    if (filter_type > 0) {
        for (int s = 0; s < 4; ++s) {
            int base = level;
            if (use_segment) base = seg_filter[s] + (absolute ? 0 : level);
            for (int i4 = 0; i4 < 2; ++i4) {
                int lv = base;
                if (use_lf_delta) lv += ref_delta[0] + (i4 ? mode_delta[0] : 0);
                lv = lv < 0 ? 0 : lv > 63 ? 63 : lv;
                vp8_filter_info& f = fstr[s][i4];
                f.inner = std::uint8_t(i4);
                if (lv > 0) {
                    int il = lv;
                    if (sharpness > 0) {
                        il >>= sharpness > 4 ? 2 : 1;
                        if (il > 9 - sharpness) il = 9 - sharpness;
                    }
                    if (il < 1) il = 1;
                    f.ilevel = std::uint8_t(il);
                    f.limit = std::uint8_t(2 * lv + il);
                    f.hev = std::uint8_t(lv >= 40 ? 2 : lv >= 15 ? 1 : 0);
                } else {
                    f.limit = 0;
                }
            }
        }
    }

    pl.width = width;
    pl.height = height;
    pl.mb_w = mb_w;
    pl.mb_h = mb_h;
    pl.y_stride = std::size_t(mb_w) * 16;
    pl.uv_stride = std::size_t(mb_w) * 8;
    pl.y.assign(pl.y_stride * std::size_t(mb_h) * 16, 0);
    pl.u.assign(pl.uv_stride * std::size_t(mb_h) * 8, 0);
    pl.v.assign(pl.uv_stride * std::size_t(mb_h) * 8, 0);
    std::vector<vp8_filter_info> finfo(std::size_t(mb_w) * std::size_t(mb_h));

    std::vector<std::uint8_t> intra_t(std::size_t(mb_w) * 4, vp8_dc);
    std::vector<vp8_mb> row(static_cast<std::size_t>(mb_w));
    std::vector<std::uint8_t> top_nz(std::size_t(mb_w) * 9, 0);  // 4 Y, 2 U, 2 V, 1 Y2 per column
    std::int16_t coeffs[384];
    std::uint8_t ws_y[21 * k_vp8_bps], ws_u[9 * k_vp8_bps], ws_v[9 * k_vp8_bps];
    const int B = k_vp8_bps;
    std::uint8_t* const wy = ws_y + B + 8;  // origin of the 16x16 block; row -1 and column -1 are borders
    std::uint8_t* const wu = ws_u + B + 8;
    std::uint8_t* const wv = ws_v + B + 8;

    for (int mb_y = 0; mb_y < mb_h; ++mb_y) {
        // Modes of the whole row, from the first partition (11.2 - 11.4).
        std::uint8_t intra_l[4] = {vp8_dc, vp8_dc, vp8_dc, vp8_dc};
        for (int mb_x = 0; mb_x < mb_w; ++mb_x) {
            vp8_mb& m = row[std::size_t(mb_x)];
            m.segment = std::uint8_t(update_map ? (!br.get(seg_probs[0]) ? br.get(seg_probs[1]) : 2 + br.get(seg_probs[2]))
                                                : 0);
            m.skip = std::uint8_t(use_skip ? br.get(skip_prob) : 0);
            m.is_i4x4 = std::uint8_t(!br.get(145));
            std::uint8_t* top = &intra_t[std::size_t(mb_x) * 4];
            if (!m.is_i4x4) {
                const int ymode = br.get(156) ? (br.get(128) ? vp8_tm : vp8_he) : (br.get(163) ? vp8_ve : vp8_dc);
                m.imodes[0] = std::uint8_t(ymode);
                std::memset(top, ymode, 4);
                std::memset(intra_l, ymode, 4);
            } else {
                for (int y = 0; y < 4; ++y) {
                    int ymode = intra_l[y];
                    for (int x = 0; x < 4; ++x) {
                        const std::uint8_t* pr = &k_vp8_bmode_probs[(top[x] * 10 + ymode) * 9];
                        if (!br.get(pr[0])) ymode = vp8_dc;
                        else if (!br.get(pr[1])) ymode = vp8_tm;
                        else if (!br.get(pr[2])) ymode = vp8_ve;
                        else if (!br.get(pr[3])) ymode = !br.get(pr[4]) ? vp8_he : (!br.get(pr[5]) ? vp8_rd : vp8_vr);
                        else if (!br.get(pr[6])) ymode = vp8_ld;
                        else if (!br.get(pr[7])) ymode = vp8_vl;
                        else ymode = !br.get(pr[8]) ? vp8_hd : vp8_hu;
                        top[x] = std::uint8_t(ymode);
                        m.imodes[y * 4 + x] = std::uint8_t(ymode);
                    }
                    intra_l[y] = std::uint8_t(ymode);
                }
            }
            m.uvmode = std::uint8_t(!br.get(142) ? vp8_dc : !br.get(114) ? vp8_ve : br.get(183) ? vp8_tm : vp8_he);
        }
        if (br.eof) return status(errc::truncated, "webp: VP8 first partition ends early");

        vp8_bool_reader& tb = parts[std::size_t(mb_y & (num_parts - 1))];
        std::uint8_t left_nz[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        for (int mb_x = 0; mb_x < mb_w; ++mb_x) {
            const vp8_mb& m = row[std::size_t(mb_x)];
            std::uint8_t* tnz = &top_nz[std::size_t(mb_x) * 9];
            const dequant& q = dqm[m.segment];
            std::memset(coeffs, 0, sizeof(coeffs));
            bool any_nz = false;  // libwebp's "not skip": some block has coefficients
            if (!m.skip) {
                int first = 0;
                const std::uint8_t (*ac_probs)[3][11] = probs[3];
                if (!m.is_i4x4) {
                    std::int16_t dc[16] = {0};
                    const int nz = vp8_get_coeffs(tb, probs[1], tnz[8] + left_nz[8], q.y2, 0, dc);
                    tnz[8] = left_nz[8] = std::uint8_t(nz > 0);
                    vp8_iwht(dc, coeffs);
                    first = 1;
                    ac_probs = probs[0];
                }
                for (int y = 0; y < 4; ++y)
                    for (int x = 0; x < 4; ++x) {
                        std::int16_t* blk = coeffs + (y * 4 + x) * 16;
                        const int nz = vp8_get_coeffs(tb, ac_probs, tnz[x] + left_nz[y], q.y1, first, blk);
                        tnz[x] = left_nz[y] = std::uint8_t(nz > first);
                        if (nz > 1 || blk[0] != 0) any_nz = true;
                    }
                for (int ch = 0; ch < 2; ++ch)
                    for (int y = 0; y < 2; ++y)
                        for (int x = 0; x < 2; ++x) {
                            std::int16_t* blk = coeffs + 256 + ch * 64 + (y * 2 + x) * 16;
                            const int nz =
                                vp8_get_coeffs(tb, probs[2], tnz[4 + ch * 2 + x] + left_nz[4 + ch * 2 + y], q.uv, 0, blk);
                            tnz[4 + ch * 2 + x] = left_nz[4 + ch * 2 + y] = std::uint8_t(nz > 0);
                            if (nz > 1 || blk[0] != 0) any_nz = true;
                        }
            } else {
                std::memset(tnz, 0, 8);
                std::memset(left_nz, 0, 8);
                if (!m.is_i4x4) tnz[8] = left_nz[8] = 0;
            }
            if (filter_type > 0) {
                vp8_filter_info f = fstr[m.segment][m.is_i4x4];
                f.inner = std::uint8_t(f.inner | any_nz);
                finfo[std::size_t(mb_y) * std::size_t(mb_w) + std::size_t(mb_x)] = f;
            }

            // Reconstruction: borders into the work buffers, predict, add residuals.
            std::uint8_t* py = pl.y.data() + std::size_t(mb_y) * 16 * pl.y_stride + std::size_t(mb_x) * 16;
            std::uint8_t* pu = pl.u.data() + std::size_t(mb_y) * 8 * pl.uv_stride + std::size_t(mb_x) * 8;
            std::uint8_t* pv = pl.v.data() + std::size_t(mb_y) * 8 * pl.uv_stride + std::size_t(mb_x) * 8;
            auto borders = [&](std::uint8_t* w, const std::uint8_t* plane, std::size_t stride, int n) {
                if (mb_y == 0) {
                    std::memset(w - B - 1, 127, std::size_t(n + 1 + (n == 16 ? 4 : 0)));
                } else {
                    std::memcpy(w - B, plane - stride, std::size_t(n));
                    w[-B - 1] = mb_x == 0 ? 129 : plane[-std::ptrdiff_t(stride) - 1];
                }
                for (int j = 0; j < n; ++j) w[j * B - 1] = mb_x == 0 ? 129 : plane[std::ptrdiff_t(std::size_t(j) * stride) - 1];
            };
            borders(wy, py, pl.y_stride, 16);
            borders(wu, pu, pl.uv_stride, 8);
            borders(wv, pv, pl.uv_stride, 8);
            if (m.is_i4x4) {
                std::uint8_t* tr = wy - B + 16;
                if (mb_y > 0) {
                    if (mb_x >= mb_w - 1) std::memset(tr, py[-std::ptrdiff_t(pl.y_stride) + 15], 4);
                    else std::memcpy(tr, py - pl.y_stride + 16, 4);
                }
                for (int k = 1; k <= 3; ++k) std::memcpy(tr + 4 * k * B, tr, 4);
                for (int n = 0; n < 16; ++n) {
                    std::uint8_t* d = wy + (n >> 2) * 4 * B + (n & 3) * 4;
                    vp8_predict4(m.imodes[n], d);
                    vp8_idct_add(coeffs + n * 16, d);
                }
            } else {
                vp8_predict_block(m.imodes[0], wy, 16, mb_y > 0, mb_x > 0);
                for (int n = 0; n < 16; ++n) vp8_idct_add(coeffs + n * 16, wy + (n >> 2) * 4 * B + (n & 3) * 4);
            }
            vp8_predict_block(m.uvmode, wu, 8, mb_y > 0, mb_x > 0);
            vp8_predict_block(m.uvmode, wv, 8, mb_y > 0, mb_x > 0);
            for (int n = 0; n < 4; ++n) {
                vp8_idct_add(coeffs + 256 + n * 16, wu + (n >> 1) * 4 * B + (n & 1) * 4);
                vp8_idct_add(coeffs + 320 + n * 16, wv + (n >> 1) * 4 * B + (n & 1) * 4);
            }
            for (int j = 0; j < 16; ++j) std::memcpy(py + std::size_t(j) * pl.y_stride, wy + j * B, 16);
            for (int j = 0; j < 8; ++j) {
                std::memcpy(pu + std::size_t(j) * pl.uv_stride, wu + j * B, 8);
                std::memcpy(pv + std::size_t(j) * pl.uv_stride, wv + j * B, 8);
            }
        }
        if (tb.eof) return status(errc::truncated, "webp: VP8 data ends early");
    }

    // Loop filter over the reconstructed frame, macroblock by macroblock in raster order.
    if (filter_type > 0) {
        const std::ptrdiff_t ys = std::ptrdiff_t(pl.y_stride), uvs = std::ptrdiff_t(pl.uv_stride);
        for (int mb_y = 0; mb_y < mb_h; ++mb_y)
            for (int mb_x = 0; mb_x < mb_w; ++mb_x) {
                const vp8_filter_info& f = finfo[std::size_t(mb_y) * std::size_t(mb_w) + std::size_t(mb_x)];
                const int limit = f.limit;
                if (limit == 0) continue;
                std::uint8_t* y = pl.y.data() + std::size_t(mb_y) * 16 * pl.y_stride + std::size_t(mb_x) * 16;
                if (filter_type == 1) {
                    if (mb_x > 0) vp8_simple_edge(y, 1, ys, 16, limit + 4);
                    if (f.inner)
                        for (int k = 4; k < 16; k += 4) vp8_simple_edge(y + k, 1, ys, 16, limit);
                    if (mb_y > 0) vp8_simple_edge(y, ys, 1, 16, limit + 4);
                    if (f.inner)
                        for (int k = 4; k < 16; k += 4) vp8_simple_edge(y + k * ys, ys, 1, 16, limit);
                    continue;
                }
                std::uint8_t* u = pl.u.data() + std::size_t(mb_y) * 8 * pl.uv_stride + std::size_t(mb_x) * 8;
                std::uint8_t* v = pl.v.data() + std::size_t(mb_y) * 8 * pl.uv_stride + std::size_t(mb_x) * 8;
                const int il = f.ilevel, hev = f.hev;
                if (mb_x > 0) {
                    vp8_normal_edge(y, 1, ys, 16, limit + 4, il, hev, true);
                    vp8_normal_edge(u, 1, uvs, 8, limit + 4, il, hev, true);
                    vp8_normal_edge(v, 1, uvs, 8, limit + 4, il, hev, true);
                }
                if (f.inner) {
                    for (int k = 4; k < 16; k += 4) vp8_normal_edge(y + k, 1, ys, 16, limit, il, hev, false);
                    vp8_normal_edge(u + 4, 1, uvs, 8, limit, il, hev, false);
                    vp8_normal_edge(v + 4, 1, uvs, 8, limit, il, hev, false);
                }
                if (mb_y > 0) {
                    vp8_normal_edge(y, ys, 1, 16, limit + 4, il, hev, true);
                    vp8_normal_edge(u, uvs, 1, 8, limit + 4, il, hev, true);
                    vp8_normal_edge(v, uvs, 1, 8, limit + 4, il, hev, true);
                }
                if (f.inner) {
                    for (int k = 4; k < 16; k += 4) vp8_normal_edge(y + k * ys, ys, 1, 16, limit, il, hev, false);
                    vp8_normal_edge(u + 4 * uvs, uvs, 1, 8, limit, il, hev, false);
                    vp8_normal_edge(v + 4 * uvs, uvs, 1, 8, limit, il, hev, false);
                }
            }
    }
    return status::ok();
}

// ---- YUV 4:2:0 -> RGB, as libwebp's WebPDecode with fancy upsampling ----
// libwebp's fixed point: 14-bit multipliers applied to 8-bit samples, result in 1/64 steps.
inline int vp8_mulhi(int v, int c) { return (v * c) >> 8; }
inline std::uint8_t vp8_clip_rgb(int v) {
    return std::uint8_t((v & ~16383) == 0 ? v >> 6 : v < 0 ? 0 : 255);
}
inline void vp8_yuv_to_rgb(int y, int u, int v, std::uint8_t* rgb) {
    rgb[0] = vp8_clip_rgb(vp8_mulhi(y, 19077) + vp8_mulhi(v, 26149) - 14234);
    rgb[1] = vp8_clip_rgb(vp8_mulhi(y, 19077) - vp8_mulhi(u, 6419) - vp8_mulhi(v, 13320) + 8708);
    rgb[2] = vp8_clip_rgb(vp8_mulhi(y, 19077) + vp8_mulhi(u, 33050) - 17685);
}

// One output row: `near` / `far` are the chroma rows nearest to and next nearest to it.
inline void vp8_upsample_row(const std::uint8_t* y, const std::uint8_t* nu, const std::uint8_t* nv,
                             const std::uint8_t* fu, const std::uint8_t* fv, int len, std::uint8_t* dst, int channels) {
    // For each chroma column pair (a = near[x-1], b = near[x], c = far[x-1], d = far[x]):
    //   pixel 2x-1 = ((a + b + c + d + 8 + 2 (b + c)) >> 3 + a) >> 1   ~ (9a + 3b + 3c + d) / 16
    //   pixel 2x   = ((a + b + c + d + 8 + 2 (a + d)) >> 3 + b) >> 1   ~ (3a + 9b + c + 3d) / 16
    auto put = [&](int x, int u, int v) { vp8_yuv_to_rgb(y[x], u, v, dst + std::size_t(x) * std::size_t(channels)); };
    put(0, (3 * nu[0] + fu[0] + 2) >> 2, (3 * nv[0] + fv[0] + 2) >> 2);
    const int pairs = (len - 1) >> 1;
    for (int x = 1; x <= pairs; ++x) {
        const int au = nu[x - 1], bu = nu[x], cu = fu[x - 1], du = fu[x];
        const int av = nv[x - 1], bv = nv[x], cv = fv[x - 1], dv = fv[x];
        const int su = au + bu + cu + du + 8, sv = av + bv + cv + dv + 8;
        put(2 * x - 1, (((su + 2 * (bu + cu)) >> 3) + au) >> 1, (((sv + 2 * (bv + cv)) >> 3) + av) >> 1);
        put(2 * x, (((su + 2 * (au + du)) >> 3) + bu) >> 1, (((sv + 2 * (av + dv)) >> 3) + bv) >> 1);
    }
    if (!(len & 1)) {
        const int x = pairs;
        put(len - 1, (3 * nu[x] + fu[x] + 2) >> 2, (3 * nv[x] + fv[x] + 2) >> 2);
    }
}

// Write RGB (channels 3) or RGB + 255 alpha (channels 4) for the visible area.
inline void vp8_to_rgb(const vp8_planes& pl, std::uint8_t* dst, std::size_t stride, int channels) {
    const int w = pl.width, h = pl.height;
    const int last_uv = (h - 1) >> 1;
    for (int row = 0; row < h; ++row) {
        int nr, fr;  // chroma rows: nearest, next nearest
        if (row == 0) {
            nr = fr = 0;
        } else if (row & 1) {
            nr = (row - 1) >> 1;
            fr = nr + 1 > last_uv ? nr : nr + 1;
        } else {
            nr = row >> 1;
            fr = nr - 1;
        }
        const std::uint8_t* nu = pl.u.data() + std::size_t(nr) * pl.uv_stride;
        const std::uint8_t* nv = pl.v.data() + std::size_t(nr) * pl.uv_stride;
        const std::uint8_t* fu = pl.u.data() + std::size_t(fr) * pl.uv_stride;
        const std::uint8_t* fv = pl.v.data() + std::size_t(fr) * pl.uv_stride;
        std::uint8_t* out = dst + std::size_t(row) * stride;
        vp8_upsample_row(pl.y.data() + std::size_t(row) * pl.y_stride, nu, nv, fu, fv, w, out, channels);
        if (channels == 4)
            for (int x = 0; x < w; ++x) out[std::size_t(x) * 4 + 3] = 255;
    }
}

}  // namespace detail
}  // namespace smolvlm
