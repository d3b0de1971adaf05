// smolvlm/io/webp.hpp — WebP decoder: RIFF container, lossy (VP8) and lossless (VP8L),
// alpha, and the first frame of an animation, as PIL opens them.
//
//   bool          is_webp(const uint8_t* data, size_t size);
//   result<image> decode_webp(const uint8_t* data, size_t size, const image_limits& = {});
//
// PIL hands every WebP file to libwebp's animation decoder and asks for RGBA; the image is
// "RGBA" when libwebp's WebPGetFeatures reports alpha, else "RGB" (the fourth byte dropped):
//   simple "VP8 "                 -> RGB
//   simple "VP8L"                 -> RGBA when the lossless header's alpha bit is set, else RGB
//   "VP8X" still image, VP8L      -> as the lossless header says (the VP8X flag is not used)
//   "VP8X" still image, VP8       -> RGBA when the VP8X alpha flag is set or an ALPH chunk is
//                                    present, else RGB; the ALPH chunk is used only when the
//                                    flag is set (libwebp's demuxer drops it otherwise), so
//                                    alpha is 255 without it
//   "VP8X" animation              -> RGBA when the VP8X alpha flag is set, else RGB; the
//                                    first frame is drawn at its offset on a canvas of
//                                    transparent black (0,0,0,0), as libwebp's WebPAnimDecoder
//                                    does for a key frame (the ANIM background colour is
//                                    not used).
// ALPH chunks: raw or lossless-compressed alpha, with the horizontal / vertical / gradient
// filters undone; colour channels under transparent pixels are kept as decoded (PIL's
// convert("RGB") shows them). Alpha level quantisation ("pre-processing") needs no work:
// libwebp only dithers it on request, and PIL does not ask.
// Lossy colour comes from libwebp's fancy upsampler and fixed-point YUV -> RGB (webp_vp8.hpp).
// EXIF orientation (an EXIF chunk with the VP8X EXIF flag) goes to image::orientation, not
// applied, as for PNG and JPEG.
// Files PIL refuses are refused, following libwebp's demuxer: truncated data, chunks running
// past the RIFF size, reserved VP8X flags, an ALPH chunk not right before its VP8 image or
// next to a lossless one, a second still image, ANMF before ANIM, images outside ANMF in an
// animation, a still image that does not match the canvas, any animation frame that does
// not fit it. An ANMF frame's size is its bitstream's (the ANMF width / height are not used).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"
#include "webp_vp8.hpp"
#include "webp_vp8l.hpp"

namespace smolvlm {

inline bool is_webp(const std::uint8_t* data, std::size_t size) {
    return data && size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0;
}

namespace detail {

inline std::uint32_t webp_u24(const std::uint8_t* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16;
}
inline std::uint32_t webp_u32(const std::uint8_t* p) { return webp_u24(p) | std::uint32_t(p[3]) << 24; }

struct webp_chunk {
    char tag[4] = {0, 0, 0, 0};
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    bool is(const char* t) const { return std::memcmp(tag, t, 4) == 0; }
};

// Split [p, p + n) into chunks; a chunk whose payload runs past the end is an error.
inline status webp_chunks(const std::uint8_t* p, std::size_t n, std::vector<webp_chunk>& out) {
    std::size_t pos = 0;
    while (pos < n) {
        if (n - pos < 8) return status(errc::truncated, "webp: file ends inside a chunk header");
        webp_chunk c;
        std::memcpy(c.tag, p + pos, 4);
        const std::size_t len = webp_u32(p + pos + 4);
        pos += 8;
        if (len > n - pos) return status(errc::truncated, "webp: a chunk runs past the end of the file");
        c.data = p + pos;
        c.size = len;
        out.push_back(c);
        pos += len + (len & 1);
    }
    return status::ok();
}

// Undo an ALPH filter on `alpha` [h, w] in place (libwebp's unfilters).
inline void webp_unfilter_alpha(int filter, std::uint8_t* a, int w, int h) {
    if (filter == 0) return;
    for (int y = 0; y < h; ++y) {
        std::uint8_t* row = a + std::size_t(y) * std::size_t(w);
        const std::uint8_t* prev = y ? row - w : nullptr;
        if (!prev || filter == 1) {  // horizontal (and the first row of every filter)
            std::uint8_t pred = prev ? prev[0] : 0;
            for (int x = 0; x < w; ++x) pred = row[x] = std::uint8_t(pred + row[x]);
        } else if (filter == 2) {  // vertical
            for (int x = 0; x < w; ++x) row[x] = std::uint8_t(prev[x] + row[x]);
        } else {  // gradient: clip(left + top - top_left)
            int left = prev[0], top_left = prev[0];
            for (int x = 0; x < w; ++x) {
                const int top = prev[x];
                int g = left + top - top_left;
                g = g < 0 ? 0 : g > 255 ? 255 : g;
                left = std::uint8_t(row[x] + g);
                row[x] = std::uint8_t(left);
                top_left = top;
            }
        }
    }
}

inline status webp_decode_alpha(const webp_chunk& alph, int w, int h, std::vector<std::uint8_t>& alpha,
                                 const image_limits& lim) {
    if (alph.size <= 1) return status(errc::truncated, "webp: ALPH chunk is empty");
    const int method = alph.data[0] & 3, filter = alph.data[0] >> 2 & 3, pre = alph.data[0] >> 4 & 3;
    if (method > 1 || pre > 1 || (alph.data[0] >> 6) != 0) return status(errc::bad_format, "webp: bad ALPH header");
    const std::size_t n = std::size_t(w) * std::size_t(h);
    if (method == 0) {
        if (alph.size - 1 < n) return status(errc::truncated, "webp: raw alpha data is truncated");
        alpha.assign(alph.data + 1, alph.data + 1 + n);
    } else {
        SMOLVLM_TRY(vp8l_decode_alpha(alph.data + 1, alph.size - 1, w, h, alpha, lim));
    }
    webp_unfilter_alpha(filter, alpha.data(), w, h);
    return status::ok();
}

// Decode one frame's image (an optional ALPH chunk and a VP8 / VP8L chunk) as RGB
// (channels 3) or RGBA (channels 4) into `dst`, rows `stride` bytes apart. `w`, `h` must be
// the bitstream's size.
inline status webp_decode_frame(const webp_chunk* alph, const webp_chunk& img, int w, int h, std::uint8_t* dst,
                                std::size_t stride, int channels, const image_limits& lim) {
    if (img.is("VP8L")) {
        std::vector<std::uint32_t> argb;
        SMOLVLM_TRY(vp8l_decode_image(img.data, img.size, w, h, argb, lim));
        for (int y = 0; y < h; ++y) {
            std::uint8_t* d = dst + std::size_t(y) * stride;
            const std::uint32_t* s = argb.data() + std::size_t(y) * std::size_t(w);
            for (int x = 0; x < w; ++x, d += channels) {
                d[0] = std::uint8_t(s[x] >> 16);
                d[1] = std::uint8_t(s[x] >> 8);
                d[2] = std::uint8_t(s[x]);
                if (channels == 4) d[3] = std::uint8_t(s[x] >> 24);
            }
        }
        return status::ok();
    }
    vp8_planes pl;
    SMOLVLM_TRY(vp8_decode(img.data, img.size, pl, lim));
    // The alpha plane is decoded after the colour, as libwebp does: a broken ALPH chunk
    // fails the frame either way.
    std::vector<std::uint8_t> alpha;
    if (alph) SMOLVLM_TRY(webp_decode_alpha(*alph, w, h, alpha, lim));
    vp8_to_rgb(pl, dst, stride, channels);
    if (alph && channels == 4) {
        for (int y = 0; y < h; ++y) {
            std::uint8_t* d = dst + std::size_t(y) * stride + 3;
            const std::uint8_t* a = alpha.data() + std::size_t(y) * std::size_t(w);
            for (int x = 0; x < w; ++x) d[std::size_t(x) * 4] = a[x];
        }
    }
    return status::ok();
}

// libwebp's StoreFrame: from chunk k, an optional ALPH then a VP8 / VP8L chunk, adjacent;
// any other chunk ends the frame. Returns the index after the frame's chunks.
inline std::size_t webp_store_frame(const std::vector<webp_chunk>& list, std::size_t k, const webp_chunk** alph,
                                    const webp_chunk** img) {
    *alph = nullptr;
    *img = nullptr;
    for (; k < list.size(); ++k) {
        const webp_chunk& c = list[k];
        if (c.is("ALPH") && !*alph && !*img) *alph = &c;
        else if ((c.is("VP8 ") || c.is("VP8L")) && !*img) *img = &c;
        else break;
    }
    return k;
}

// Bitstream size of a VP8 / VP8L chunk (and the lossless alpha bit).
inline status webp_image_info(const webp_chunk& c, int* w, int* h, bool* vp8l_alpha) {
    *vp8l_alpha = false;
    if (c.is("VP8L")) return vp8l_read_header(c.data, c.size, w, h, vp8l_alpha);
    return vp8_read_info(c.data, c.size, w, h);
}

}  // namespace detail

inline result<image> decode_webp(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    using namespace detail;
    if (!data || size == 0) return status(errc::truncated, "webp: the file is empty");
    if (!is_webp(data, size)) return status(errc::bad_format, "webp: not a WebP file (no RIFF/WEBP header)");
    const std::uint32_t riff = webp_u32(data + 4);
    if (riff < 12) return status(errc::bad_format, "webp: RIFF size is too small");
    if (riff > size - 8) return status(errc::truncated, "webp: file is shorter than its RIFF size");
    std::vector<webp_chunk> chunks;
    SMOLVLM_TRY(webp_chunks(data + 12, std::size_t(riff) - 4, chunks));
    if (chunks.empty()) return status(errc::truncated, "webp: no chunks");

    const webp_chunk* alph = nullptr;
    const webp_chunk* img = nullptr;
    int canvas_w = 0, canvas_h = 0, frame_x = 0, frame_y = 0;
    bool has_alpha = false;
    std::vector<webp_chunk> frame_chunks;  // the first ANMF's sub-chunks
    const webp_chunk& first = chunks[0];
    bool animated = false;
    if (first.is("VP8 ") || first.is("VP8L")) {
        img = &first;
    } else if (first.is("VP8X")) {
        // The structure libwebp's demuxer accepts (PIL opens every WebP through it).
        if (first.size < 10) return status(errc::bad_format, "webp: VP8X chunk is too short");
        const std::uint8_t flags = first.data[0];
        if (flags & ~0x3e) return status(errc::bad_format, "webp: unknown VP8X flags");
        canvas_w = int(webp_u24(first.data + 4)) + 1;
        canvas_h = int(webp_u24(first.data + 7)) + 1;
        has_alpha = (flags & 0x10) != 0;
        animated = (flags & 0x02) != 0;
        bool anim_chunk = false, have_frame = false;
        for (std::size_t i = 1; i < chunks.size();) {
            const webp_chunk& c = chunks[i];
            if (c.is("VP8X")) return status(errc::bad_format, "webp: a second VP8X chunk");
            if (c.is("ALPH") || c.is("VP8 ") || c.is("VP8L")) {
                if (animated || anim_chunk) return status(errc::bad_format, "webp: an image outside the animation frames");
                if (have_frame) return status(errc::bad_format, "webp: more than one still image");
                const webp_chunk *a = nullptr, *m = nullptr;
                i = webp_store_frame(chunks, i, &a, &m);
                if (!m) return status(errc::bad_format, "webp: ALPH chunk without its image");
                if (a && m->is("VP8L")) return status(errc::bad_format, "webp: ALPH chunk next to a lossless image");
                alph = a;
                img = m;
                have_frame = true;
                continue;
            }
            if (c.is("ANIM")) {
                if (c.size + (c.size & 1) < 6) return status(errc::bad_format, "webp: ANIM chunk is too short");
                anim_chunk = true;
            } else if (c.is("ANMF")) {
                if (!anim_chunk) return status(errc::bad_format, "webp: ANMF before ANIM");
                if (c.size < 16) return status(errc::bad_format, "webp: ANMF chunk is too short");
                std::vector<webp_chunk> sub;
                SMOLVLM_TRY(webp_chunks(c.data + 16, c.size - 16, sub));
                const webp_chunk *a = nullptr, *m = nullptr;
                webp_store_frame(sub, 0, &a, &m);
                if (!m) return status(errc::bad_format, "webp: animation frame without an image");
                if (a && m->is("VP8L")) return status(errc::bad_format, "webp: ALPH chunk next to a lossless image");
                int fw = 0, fh = 0;
                bool unused = false;
                SMOLVLM_TRY(webp_image_info(*m, &fw, &fh, &unused));
                // The frame's size is its bitstream's; it must fit the canvas (every frame).
                const std::int64_t fx = 2 * std::int64_t(webp_u24(c.data)), fy = 2 * std::int64_t(webp_u24(c.data + 3));
                if (fx + fw > canvas_w || fy + fh > canvas_h)
                    return status(errc::bad_format, "webp: an animation frame does not fit the canvas");
                if (animated && frame_chunks.empty()) {
                    frame_chunks = sub;
                    frame_x = int(fx);
                    frame_y = int(fy);
                }
            }
            ++i;
        }
        if (animated) {
            if (frame_chunks.empty()) return status(errc::bad_format, "webp: animation without frames");
            const webp_chunk *a = nullptr, *m = nullptr;
            webp_store_frame(frame_chunks, 0, &a, &m);
            alph = a;
            img = m;
        } else if (!img) {
            return status(errc::bad_format, "webp: VP8X file without an image chunk");
        }
    } else {
        return status(errc::bad_format, "webp: first chunk is not VP8, VP8L or VP8X");
    }

    // libwebp's demuxer drops the ALPH chunk of a still image whose VP8X alpha flag is
    // clear, while WebPGetFeatures still counts it: PIL then says "RGBA", with alpha 255.
    const bool vp8x_alpha_flag = has_alpha;
    int w = 0, h = 0;
    bool vp8l_alpha = false;
    SMOLVLM_TRY(webp_image_info(*img, &w, &h, &vp8l_alpha));
    const bool lossless = img->is("VP8L");
    if (animated) {
        // the frame's size is its bitstream's (checked against the canvas above)
    } else if (canvas_w) {
        if (w != canvas_w || h != canvas_h) return status(errc::bad_format, "webp: canvas size does not match the image");
        has_alpha = lossless ? vp8l_alpha : (has_alpha || alph != nullptr);
    } else {
        canvas_w = w;
        canvas_h = h;
        has_alpha = lossless && vp8l_alpha;
    }
    SMOLVLM_TRY(check_pil_bomb(canvas_w, canvas_h, "webp"));
    SMOLVLM_TRY(check_image_limits(canvas_w, canvas_h, 4, lim, "webp"));

    image out;
    out.width = canvas_w;
    out.height = canvas_h;
    out.channels = has_alpha ? 4 : 3;
    // EXIF orientation from an EXIF chunk (kept by libwebp's demuxer when the VP8X flag says
    // so), read and not applied, as for PNG and JPEG (see decode.hpp, apply_orientation).
    if (first.is("VP8X") && (first.data[0] & 0x08)) {
        for (const auto& c : chunks) {
            if (!c.is("EXIF")) continue;
            const bool prefixed = c.size >= 6 && std::memcmp(c.data, "Exif\0\0", 6) == 0;
            out.orientation = exif_orientation(c.data + (prefixed ? 6 : 0), c.size - (prefixed ? 6 : 0));
            break;
        }
    }
    const std::size_t cw = std::size_t(canvas_w), ch = std::size_t(canvas_h), oc = std::size_t(out.channels);
    if (!animated) {  // the image is the canvas
        out.pixels.resize(cw * ch * oc);
        const webp_chunk* still_alph = (lossless || !vp8x_alpha_flag) ? nullptr : alph;
        SMOLVLM_TRY(webp_decode_frame(still_alph, *img, w, h, out.pixels.data(), cw * oc, out.channels, lim));
        return out;
    }
    // The first frame of an animation, on a canvas of transparent black.
    std::vector<std::uint8_t> frame(std::size_t(w) * std::size_t(h) * 4);
    SMOLVLM_TRY(webp_decode_frame(lossless ? nullptr : alph, *img, w, h, frame.data(), std::size_t(w) * 4, 4, lim));
    out.pixels.assign(cw * ch * oc, 0);
    for (int y = 0; y < h; ++y) {
        const std::uint8_t* s = frame.data() + std::size_t(y) * std::size_t(w) * 4;
        std::uint8_t* d = out.pixels.data() + ((std::size_t(frame_y) + std::size_t(y)) * cw + std::size_t(frame_x)) * oc;
        for (int x = 0; x < w; ++x, s += 4, d += oc) std::memcpy(d, s, oc);
    }
    return out;
}

}  // namespace smolvlm
