// smolvlm/pipeline/resample.hpp — image resizing bit-identical to Pillow (PIL).
//
// The Hugging Face image processors resize uint8 images with PIL's Image.resize, so
// an engine that wants the reference's pixel_values to the bit must do what Pillow's
// libImaging/Resample.c does, step by step:
//
//   1. For each output coordinate, a window of input samples and its weights are
//      computed in double precision (precompute_coeffs): the filter support (3 for
//      LANCZOS, 2 for BICUBIC, 1 for BILINEAR...) is widened by the downscale factor,
//      the window is [int(center - support + 0.5), int(center + support + 0.5)) clamped
//      to the image, the weights are normalised to sum 1.
//   2. The weights become 22-bit fixed point integers (32 - 8 - 2 precision bits),
//      rounded half away from zero.
//   3. Two separable passes on uint8 data with a uint8 intermediate: each output byte =
//      clip8((2^21 + sum(in * w)) >> 22), int32 arithmetic. Horizontal first (on only the
//      input rows the vertical pass reads), except that Pillow 13 runs the vertical pass
//      first when the height shrinks much more than the width (see resample_separable).
//      A pass whose size does not change is skipped; no change at all = exact copy.
//   4. RGBA and LA images are resampled in premultiplied alpha (Image.resize converts
//      RGBA -> RGBa, resizes, converts back) with Pillow's integer formulas. (The
//      preprocessing converts to RGB first, as transformers 5 does, so it never needs this.)
//
// The same kernels also reproduce torch's native uint8 antialiased resize (resample_rule::
// torch_aa: same weights, other scale rounding and fixed-point precision), which is what
// transformers' torchvision video processor runs.
//   5. NEAREST is a separate path (ImagingScaleAffine): source index = int(x0 + i*dx)
//      accumulated in double, x0 = dx/2.
//
// Also here: PIL's alpha_composite over opaque white (what HF's convert_to_rgb does)
// and the plain mode conversions of PIL's convert("RGB").
//
// Kernels: the two passes come from the kernel table (kernels/resample.hpp: a scalar
// reference and AVX2 twins with the same integer arithmetic, tested equal). Work is split
// over output rows with the caller's thread pool.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../config.hpp"
#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../core/cpu.hpp"
#include "../io/image.hpp"
#include "../kernels/dispatch.hpp"
#include "../kernels/resample.hpp"

namespace smolvlm {

// Pillow's resampling filters, with PIL's integer codes (Image.Resampling).
enum class resample_filter : int { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

inline const char* resample_filter_name(resample_filter f) {
    switch (f) {
        case resample_filter::nearest: return "nearest";
        case resample_filter::lanczos: return "lanczos";
        case resample_filter::bilinear: return "bilinear";
        case resample_filter::bicubic: return "bicubic";
        case resample_filter::box: return "box";
        case resample_filter::hamming: return "hamming";
    }
    return "unknown";
}

// Whose fixed-point arithmetic to reproduce. Both are separable, horizontal pass first,
// uint8 intermediate, int32 accumulation, and compute the same double-precision weights
// (center = (i + 0.5) * scale, window [int(center - support + 0.5), int(center + support
// + 0.5)), support widened by the downscale factor, weights normalised to sum 1); they
// differ in the scale and in the fixed-point precision:
//   pil:      scale = float(in) / out; weights * 2^22 (Resample.c)
//   torch_aa: scale = in / out in double; weights * 2^p with the largest p < 22 that keeps
//             every weight below 2^15 (int16 weights): torch's native uint8 antialiased
//             kernel (interpolate(uint8, antialias=True), what torchvision's resize of a
//             uint8 tensor runs on CPU for BILINEAR, BICUBIC and LANCZOS).
enum class resample_rule : std::uint8_t { pil, torch_aa };

// Which pass Pillow runs first (the uint8 intermediate makes the order visible in the
// result). torch always runs the horizontal pass first.
enum class pillow_pass_order : std::uint8_t {
    pillow13,    // Pillow >= 13 (current): vertical first iff in_h - out_h > max(0, 2 * (in_w - out_w))
    horizontal,  // Pillow <= 12.3 (and torch): horizontal first (12.2-12.3 excepted images
                 // over 100 times taller than wide, in Image.resize; not reproduced)
};


struct resample_options {
    const kernels::kernel_table* kernels = nullptr;  // the passes to run (null: this CPU's best)
    resample_rule rule = resample_rule::pil;
    pillow_pass_order order = pillow_pass_order::pillow13;  // rule::pil only
    thread_pool* pool = nullptr;  // null: run on the calling thread
    // Refuse outputs (and intermediates) larger than this many bytes.
    std::size_t max_bytes = std::size_t(512) << 20;
};

namespace detail {

// ---------------------------------------------------------------- filters (Resample.c)

inline constexpr double k_pil_pi = 3.14159265358979323846;  // M_PI

inline double pil_sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * k_pil_pi;
    return std::sin(x) / x;
}
inline double pil_filter(resample_filter f, double x) {
    switch (f) {
        case resample_filter::box: return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
        case resample_filter::bilinear:
            if (x < 0.0) x = -x;
            return x < 1.0 ? 1.0 - x : 0.0;
        case resample_filter::hamming:
            if (x < 0.0) x = -x;
            if (x == 0.0) return 1.0;
            if (x >= 1.0) return 0.0;
            x = x * k_pil_pi;
            return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
        case resample_filter::bicubic: {
            const double a = -0.5;
            if (x < 0.0) x = -x;
            if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
            return 0.0;
        }
        case resample_filter::lanczos:
            if (-3.0 <= x && x < 3.0) return pil_sinc(x) * pil_sinc(x / 3);
            return 0.0;
        case resample_filter::nearest: break;
    }
    return 0.0;
}
inline double pil_filter_support(resample_filter f) {
    switch (f) {
        case resample_filter::box: return 0.5;
        case resample_filter::bilinear: return 1.0;
        case resample_filter::hamming: return 1.0;
        case resample_filter::bicubic: return 2.0;
        case resample_filter::lanczos: return 3.0;
        case resample_filter::nearest: break;
    }
    return 0.0;
}

using kernels::resample_coeffs;
inline constexpr int k_pil_precision_bits = kernels::k_resample_max_precision;  // 22


// precompute_coeffs + normalize_coeffs_8bpc for the box [0, in_size).
inline status compute_resample_coeffs(int in_size, int out_size, resample_filter f, resample_coeffs& c,
                                      resample_rule rule = resample_rule::pil) {
    if (in_size <= 0 || out_size <= 0) return status(errc::invalid_argument, "resample: empty size");
    // Pillow: (double)(in1 - in0) / outSize with the box in float; torch: in / out in double.
    double scale = rule == resample_rule::pil ? double(float(in_size)) / out_size : double(in_size) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = pil_filter_support(f) * filterscale;
    const double ksize_d = std::ceil(support) * 2 + 1;
    if (ksize_d > 1e6 || double(out_size) * ksize_d > 1e9)
        return status::fmt(errc::unsupported, "resample: %d -> %d needs too many weights", in_size, out_size);
    c.ksize = int(ksize_d);
    c.first.assign(std::size_t(out_size), 0);
    c.count.assign(std::size_t(out_size), 0);
    c.k.assign(std::size_t(out_size) * std::size_t(c.ksize), 0);
    std::vector<double> w(std::size_t(c.ksize), 0.0);
    std::vector<double> wd(c.k.size(), 0.0);  // normalised weights, [out, ksize]
    double wmax = 0.0;
    const double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = (xx + 0.5) * scale;
        int xmin = int(center - support + 0.5);  // truncation, as the C cast
        if (xmin < 0) xmin = 0;
        int xmax = int(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        if (xmax > c.ksize) xmax = c.ksize;  // cannot happen; guards the buffer
        if (xmax < 0) xmax = 0;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            w[std::size_t(x)] = pil_filter(f, (x + xmin - center + 0.5) * ss);
            ww += w[std::size_t(x)];
        }
        double* wn = &wd[std::size_t(xx) * std::size_t(c.ksize)];
        for (int x = 0; x < xmax; ++x) {
            double v = w[std::size_t(x)];
            if (ww != 0.0) v /= ww;
            wn[x] = v;
            if (v > wmax) wmax = v;
        }
        c.first[std::size_t(xx)] = xmin;
        c.count[std::size_t(xx)] = xmax;
    }
    c.precision = k_pil_precision_bits;
    if (rule == resample_rule::torch_aa) {
        // _compute_index_ranges_int16_weights: the largest precision whose rounded maximum
        // weight, doubled, still fits below 2^15.
        int p = 0;
        for (; p < k_pil_precision_bits; ++p)
            if (int(0.5 + wmax * double(1 << (p + 1))) >= (1 << 15)) break;
        c.precision = p;
    }
    for (int xx = 0; xx < out_size; ++xx) {
        const double* wn = &wd[std::size_t(xx) * std::size_t(c.ksize)];
        std::int32_t* k = &c.k[std::size_t(xx) * std::size_t(c.ksize)];
        for (int x = 0; x < c.count[std::size_t(xx)]; ++x) {
            const double v = wn[x];
            const double s = v * double(1 << c.precision);
            k[x] = v < 0 ? std::int32_t(-0.5 + s) : std::int32_t(0.5 + s);
        }
    }
    return status::ok();
}

// Horizontal pass: rows [row0, row0 + rows) of `src` -> `rows` rows of out_w pixels at dst.
inline void resample_pass_h(const image_view& src, int row0, int rows, int out_w, const resample_coeffs& ch,
                            std::uint8_t* dst, const kernels::kernel_table& kt, thread_pool* pool) {
    const std::size_t out_row = std::size_t(out_w) * std::size_t(src.channels);
    parallel_for(pool, rows, [&](std::int64_t b, std::int64_t e, int) {
        for (std::int64_t y = b; y < e; ++y)
            kt.resample_h(src.channels, src.row(int(y) + row0), src.width, dst + std::size_t(y) * out_row, out_w, ch);
    }, 8);
}

// Vertical pass: out_h rows of src.width pixels at dst; output row yy reads the rows
// [cv.first[yy] - row_shift, ... + cv.count[yy]) of `src`.
inline void resample_pass_v(const image_view& src, int out_h, const resample_coeffs& cv, int row_shift,
                            std::uint8_t* dst, const kernels::kernel_table& kt, thread_pool* pool) {
    const std::size_t n = std::size_t(src.width) * std::size_t(src.channels);
    parallel_for(pool, out_h, [&](std::int64_t b, std::int64_t e, int) {
        for (std::int64_t yy = b; yy < e; ++yy)
            kt.resample_v(src.row(cv.first[std::size_t(yy)] - row_shift), src.stride, dst + std::size_t(yy) * n, n,
                          &cv.k[std::size_t(yy) * std::size_t(cv.ksize)], cv.count[std::size_t(yy)], cv.precision);
    }, 4);
}

// Separable resample of interleaved uint8 (any channel count 1..4): exact Pillow
// ImagingResampleInner (or torch's kernel, see resample_rule). `dst` must hold out_h rows
// of out_w * channels bytes.
//
// Pass order (resample_options::order). torch and Pillow <= 12.3 run the horizontal pass
// first, on only the input rows the vertical pass will read. Pillow 13 runs the vertical
// pass first when the height shrinks by more than twice as many pixels as the width does
// (in_h - out_h > 2 * (in_w - out_w), in_h > out_h) — read off Pillow 13.0.0's compiled
// ImagingResampleInner and checked against it on 550 random shapes (and 12.1 / 12.2 / 12.3
// against horizontal-first). The uint8 intermediate makes the order visible: a tall
// image's global tile differs by up to ~17 steps when it is not followed.
inline status resample_separable(const image_view& src, int out_w, int out_h, resample_filter f, std::uint8_t* dst,
                                 const resample_options& opt) {
    const int C = src.channels;
    const std::size_t out_row = std::size_t(out_w) * std::size_t(C);
    const bool need_h = out_w != src.width;
    const bool need_v = out_h != src.height;
    const kernels::kernel_table kt = opt.kernels ? *opt.kernels : kernels::select_kernels(detect_cpu());

    if (!need_h && !need_v) {  // neither pass: exact copy
        for (int y = 0; y < src.height; ++y) std::memcpy(dst + std::size_t(y) * out_row, src.row(y), out_row);
        return status::ok();
    }
    resample_coeffs ch, cv;
    if (need_h) SMOLVLM_TRY(compute_resample_coeffs(src.width, out_w, f, ch, opt.rule));
    if (need_v) SMOLVLM_TRY(compute_resample_coeffs(src.height, out_h, f, cv, opt.rule));
    if (!need_v) {
        resample_pass_h(src, 0, src.height, out_w, ch, dst, kt, opt.pool);
        return status::ok();
    }
    if (!need_h) {
        resample_pass_v(src, out_h, cv, 0, dst, kt, opt.pool);
        return status::ok();
    }
    const long long shrink_h = (long long)src.height - out_h, shrink_w = (long long)src.width - out_w;
    bool vertical_first = false;
    if (opt.rule == resample_rule::pil) {
        switch (opt.order) {
            case pillow_pass_order::pillow13: vertical_first = shrink_h > 0 && shrink_h > 2 * shrink_w; break;
            case pillow_pass_order::horizontal: break;
        }
    }
    std::vector<std::uint8_t> tmp;
    if (vertical_first) {
        const std::size_t mid_row = std::size_t(src.width) * std::size_t(C);
        if (mid_row > opt.max_bytes / std::size_t(out_h))
            return status::fmt(errc::no_memory, "resample: intermediate %dx%d exceeds the byte cap", src.width, out_h);
        tmp.resize(mid_row * std::size_t(out_h));
        resample_pass_v(src, out_h, cv, 0, tmp.data(), kt, opt.pool);
        const image_view mid{tmp.data(), src.width, out_h, C, mid_row};
        resample_pass_h(mid, 0, out_h, out_w, ch, dst, kt, opt.pool);
        return status::ok();
    }
    // Horizontal first, on rows [y_first, y_last) only: the ones the vertical pass reads.
    const int y_first = cv.first[0];
    const int y_last = cv.first[std::size_t(out_h) - 1] + cv.count[std::size_t(out_h) - 1];
    const int rows = y_last - y_first;
    if (rows > 0 && out_row > opt.max_bytes / std::size_t(rows))
        return status::fmt(errc::no_memory, "resample: intermediate %dx%d exceeds the byte cap", out_w, rows);
    tmp.resize(out_row * std::size_t(rows > 0 ? rows : 0));
    resample_pass_h(src, y_first, rows, out_w, ch, tmp.data(), kt, opt.pool);
    const image_view mid{tmp.data(), out_w, rows, C, out_row};
    resample_pass_v(mid, out_h, cv, y_first, dst, kt, opt.pool);
    return status::ok();
}

// Pillow's ImagingScaleAffine (NEAREST): index = int(x0 + i * dx), accumulated in double.
inline void resample_nearest(const image_view& src, int out_w, int out_h, std::uint8_t* dst) {
    const int C = src.channels;
    std::vector<int> xin(std::size_t(out_w), -1);
    const double dx = double(float(src.width)) / out_w;
    const double dy = double(float(src.height)) / out_h;
    double xo = 0.0 + dx * 0.5;
    for (int x = 0; x < out_w; ++x) {
        const int xi = xo < 0.0 ? -1 : int(xo);
        xin[std::size_t(x)] = (xi >= 0 && xi < src.width) ? xi : -1;
        xo += dx;
    }
    double yo = 0.0 + dy * 0.5;
    const std::size_t out_row = std::size_t(out_w) * std::size_t(C);
    for (int y = 0; y < out_h; ++y) {
        const int yi = yo < 0.0 ? -1 : int(yo);
        std::uint8_t* out = dst + std::size_t(y) * out_row;
        if (yi >= 0 && yi < src.height) {
            const std::uint8_t* in = src.row(yi);
            for (int x = 0; x < out_w; ++x) {
                const int xi = xin[std::size_t(x)];
                for (int c = 0; c < C; ++c)
                    out[std::size_t(x) * std::size_t(C) + std::size_t(c)] =
                        xi >= 0 ? in[std::size_t(xi) * std::size_t(C) + std::size_t(c)] : 0;
            }
        } else {
            std::memset(out, 0, out_row);
        }
        yo += dy;
    }
}

// MULDIV255 and SHIFTFORDIV255 of Pillow.
inline std::uint32_t pil_muldiv255(std::uint32_t a, std::uint32_t b) {
    const std::uint32_t t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}
inline std::uint32_t pil_shiftdiv255(std::uint32_t a) { return ((a >> 8) + a) >> 8; }

// RGBA -> RGBa (Convert.c rgbA2rgba); LA -> La likewise on the one colour channel.
inline void premultiply_alpha(const image_view& src, std::uint8_t* dst) {
    const int C = src.channels;
    const std::size_t row = std::size_t(src.width) * std::size_t(C);
    for (int y = 0; y < src.height; ++y) {
        const std::uint8_t* in = src.row(y);
        std::uint8_t* out = dst + std::size_t(y) * row;
        for (int x = 0; x < src.width; ++x, in += C, out += C) {
            const std::uint32_t a = in[C - 1];
            for (int c = 0; c < C - 1; ++c) out[c] = std::uint8_t(pil_muldiv255(in[c], a));
            out[C - 1] = std::uint8_t(a);
        }
    }
}

// RGBa -> RGBA (Convert.c rgba2rgbA): 255 * v / a, truncated, clipped; a in {0, 255} copies.
inline void unpremultiply_alpha(std::uint8_t* p, std::size_t n_pixels, int C) {
    for (std::size_t i = 0; i < n_pixels; ++i, p += C) {
        const std::uint32_t a = p[C - 1];
        if (a == 255 || a == 0) continue;
        for (int c = 0; c < C - 1; ++c) {
            const std::uint32_t v = 255u * p[c] / a;
            p[c] = std::uint8_t(v > 255 ? 255 : v);
        }
    }
}

}  // namespace detail

// Image.resize((out_w, out_h), filter) of Pillow on an image of native channel count:
// 1 = "L", 2 = "LA", 3 = "RGB", 4 = "RGBA" (LA/RGBA resampled in premultiplied alpha).
// Same size returns an exact copy.
inline result<image> pil_resize(const image_view& src, int out_w, int out_h, resample_filter f,
                                const resample_options& opt = {}) {
    if (!src.data || src.width <= 0 || src.height <= 0) return status(errc::invalid_argument, "resize: empty image");
    if (src.channels < 1 || src.channels > 4)
        return status::fmt(errc::unsupported, "resize: %d channels (1..4 supported)", src.channels);
    if (src.stride < std::size_t(src.width) * std::size_t(src.channels))
        return status(errc::invalid_argument, "resize: stride shorter than a row");
    if (out_w <= 0 || out_h <= 0) return status::fmt(errc::invalid_argument, "resize: bad output size %dx%d", out_w, out_h);
    if (int(f) < 0 || int(f) > 5) return status::fmt(errc::invalid_argument, "resize: unknown filter %d", int(f));
    const std::uint64_t bytes = std::uint64_t(out_w) * std::uint64_t(out_h) * std::uint64_t(src.channels);
    if (bytes > opt.max_bytes)
        return status::fmt(errc::no_memory, "resize: %dx%d output exceeds the %zu-byte cap", out_w, out_h, opt.max_bytes);

    image out;
    out.width = out_w;
    out.height = out_h;
    out.channels = src.channels;
    out.pixels.resize(std::size_t(bytes));
    const bool alpha = src.channels == 2 || src.channels == 4;
    if (f == resample_filter::nearest) {
        detail::resample_nearest(src, out_w, out_h, out.pixels.data());
        return out;
    }
    if (out_w == src.width && out_h == src.height) {  // Image.resize returns self.copy()
        for (int y = 0; y < src.height; ++y) std::memcpy(out.row(y), src.row(y), out.row_bytes());
        return out;
    }
    if (alpha && opt.rule == resample_rule::pil) {  // torch resamples every channel alike
        std::vector<std::uint8_t> pm(std::size_t(src.width) * std::size_t(src.height) * std::size_t(src.channels));
        detail::premultiply_alpha(src, pm.data());
        image_view pv{pm.data(), src.width, src.height, src.channels, std::size_t(src.width) * std::size_t(src.channels)};
        SMOLVLM_TRY(detail::resample_separable(pv, out_w, out_h, f, out.pixels.data(), opt));
        detail::unpremultiply_alpha(out.pixels.data(), std::size_t(out_w) * std::size_t(out_h), src.channels);
        return out;
    }
    SMOLVLM_TRY(detail::resample_separable(src, out_w, out_h, f, out.pixels.data(), opt));
    return out;
}

// HF convert_to_rgb: image.convert("RGBA") composited over an opaque white background
// with Pillow's ImagingAlphaComposite integer formulas, then convert("RGB").
// 1 channel: gray replicated; 2: gray + alpha; 3: unchanged values; 4: RGBA.
// Writes width*height*3 bytes to dst.
inline void composite_on_white(const image_view& src, std::uint8_t* dst) {
    const int C = src.channels;
    constexpr std::uint32_t prec = 7;
    for (int y = 0; y < src.height; ++y) {
        const std::uint8_t* in = src.row(y);
        std::uint8_t* out = dst + std::size_t(y) * std::size_t(src.width) * 3;
        for (int x = 0; x < src.width; ++x, in += C, out += 3) {
            std::uint32_t rgb[3];
            std::uint32_t a = 255;
            if (C <= 2) rgb[0] = rgb[1] = rgb[2] = in[0];
            else rgb[0] = in[0], rgb[1] = in[1], rgb[2] = in[2];
            if (C == 2) a = in[1];
            if (C == 4) a = in[3];
            if (a == 0) {
                out[0] = out[1] = out[2] = 255;
                continue;
            }
            // dst (background) = white, alpha 255.
            const std::uint32_t blend = 255u * (255u - a);
            const std::uint32_t outa255 = a * 255u + blend;
            const std::uint32_t coef1 = a * 255u * 255u * (1u << prec) / outa255;
            const std::uint32_t coef2 = 255u * (1u << prec) - coef1;
            for (int c = 0; c < 3; ++c) {
                const std::uint32_t t = rgb[c] * coef1 + 255u * coef2;
                out[c] = std::uint8_t(detail::pil_shiftdiv255(t + (0x80u << prec)) >> prec);
            }
        }
    }
}

// PIL convert("RGB") as transformers.image_utils.load_image does it: alpha dropped (no
// compositing), gray replicated. Writes width*height*3 bytes.
inline void convert_rgb_drop_alpha(const image_view& src, std::uint8_t* dst) {
    const int C = src.channels;
    for (int y = 0; y < src.height; ++y) {
        const std::uint8_t* in = src.row(y);
        std::uint8_t* out = dst + std::size_t(y) * std::size_t(src.width) * 3;
        for (int x = 0; x < src.width; ++x, in += C, out += 3) {
            if (C <= 2) out[0] = out[1] = out[2] = in[0];
            else out[0] = in[0], out[1] = in[1], out[2] = in[2];
        }
    }
}

}  // namespace smolvlm
