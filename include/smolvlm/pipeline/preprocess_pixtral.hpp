// smolvlm/pipeline/preprocess_pixtral.hpp — the Mistral 3 / Pixtral image processor and
// prompt layout (PixtralImageProcessor, PIL path, + PixtralProcessor), bit-identical to
// transformers 5.25.
//
// One image, any size, no tiles:
//
//   decoded uint8 image, native channels
//     | convert_to_rgb at its own size: alpha (RGBA, LA, tRNS) composited over opaque white
//     |   with Pillow's alpha_composite integers; L -> (v, v, v)
//     | fit: ratio = max(h / longest_edge, w / longest_edge) (double); if ratio > 1:
//     |   h = floor(h / ratio), w = floor(w / ratio); never upscaled
//     | round each side UP to a multiple of u = patch_size x spatial_merge_size (28):
//     |   ((h - 1) // u + 1) * u   (so a side may exceed longest_edge: 126 -> 140)
//     | one PIL BICUBIC resize straight to that size (aspect slightly distorted)  resample.hpp
//     | rescale float32(v * rescale_factor) (double product); normalize (x - mean) / std
//     |   in float32 with the CLIP mean / std
//     v pixel_values [3, H, W]; image_sizes (H, W)
//
// Prompt (PixtralProcessor.replace_image_token): each [IMG] of the rendered chat, in order,
// becomes rows = H / u lines of cols = W / u [IMG] tokens, each line closed by [IMG_BREAK],
// the last [IMG_BREAK] replaced by [IMG_END]. Only [IMG] positions receive image features.
//
// A batch of images of different sizes is zero-padded to a common size by the reference
// (image_sizes says what is real and the encoder crops); here every image keeps its own
// tensor, which is what the encoder reads anyway.
//
// Caps: input sides up to 65535 and at most k_pixtral_max_input_pixels pixels (Pillow's
// decompression-bomb error threshold); a side that the fit shrinks to 0 px is an error
// (the reference fails there too). Sizes are planned before any pixel is touched.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/image.hpp"
#include "../io/json.hpp"
#include "resample.hpp"

namespace smolvlm {

// preprocessor_config.json + processor_config.json of a PixtralProcessor. Defaults: the
// classes' own (PixtralImageProcessor, PixtralProcessor).
struct pixtral_processor_config {
    bool do_resize = true;
    bool do_rescale = true;
    bool do_normalize = true;
    bool do_convert_rgb = true;
    int max_height = 1024, max_width = 1024;  // size.longest_edge (or size.height / width)
    int patch_size = 16;                      // processor_config patch_size (the tower's patch)
    int spatial_merge_size = 1;               // processor_config spatial_merge_size
    resample_filter resample = resample_filter::bicubic;
    double rescale_factor = 1.0 / 255.0;
    float image_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    float image_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    std::string image_token = "[IMG]", image_break_token = "[IMG_BREAK]", image_end_token = "[IMG_END]";

    // Pixels per merged token side: patch_size x spatial_merge_size (28 for Mistral Small 3.1).
    int unit() const { return patch_size * spatial_merge_size; }
    // Largest side an image can have after the processor (its limit rounded up to unit()).
    int max_output_side() const {
        const int le = max_height > max_width ? max_height : max_width;
        return (le + unit() - 1) / unit() * unit();
    }
};

inline constexpr int k_pixtral_max_input_side = 65535;
inline constexpr std::int64_t k_pixtral_max_input_pixels = 2 * std::int64_t(89478485);  // PIL MAX_IMAGE_PIXELS x 2

namespace detail {

inline status px_int(const json_value* v, const char* key, int lo, int hi, int& out) {
    if (!v || v->is_null()) return status::ok();
    if (!v->is_integer()) return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" is not an integer", key);
    if (v->as_int() < lo || v->as_int() > hi)
        return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" = %lld is out of [%d, %d]", key,
                           (long long)v->as_int(), lo, hi);
    out = int(v->as_int());
    return status::ok();
}
inline status px_bool(const json_value& o, const char* key, bool& out) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (!v->is_bool()) return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" is not a boolean", key);
    out = v->as_bool();
    return status::ok();
}
inline status px_triple(const json_value& o, const char* key, float out[3]) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (v->is_number()) {
        out[0] = out[1] = out[2] = float(v->as_number());
        return status::ok();
    }
    if (!v->is_array() || v->size() != 3) return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" is not 3 numbers", key);
    for (std::size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number()) return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" is not 3 numbers", key);
        out[i] = float((*v)[i].as_number());
    }
    return status::ok();
}
inline status px_string(const json_value& o, const char* key, std::string& out) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (!v->is_string() || v->as_string().empty())
        return status::fmt(errc::bad_format, "pixtral processor config: \"%s\" is not a token string", key);
    out = v->as_string();
    return status::ok();
}

}  // namespace detail

// preprocessor: parsed preprocessor_config.json; processor: processor_config.json or null.
inline result<pixtral_processor_config> parse_pixtral_processor_config(const json_value& preprocessor,
                                                                       const json_value* processor) {
    if (!preprocessor.is_object()) return status(errc::bad_format, "preprocessor config is not a JSON object");
    pixtral_processor_config c;
    const json_value& p = preprocessor;
    SMOLVLM_TRY(detail::px_bool(p, "do_resize", c.do_resize));
    SMOLVLM_TRY(detail::px_bool(p, "do_rescale", c.do_rescale));
    SMOLVLM_TRY(detail::px_bool(p, "do_normalize", c.do_normalize));
    SMOLVLM_TRY(detail::px_bool(p, "do_convert_rgb", c.do_convert_rgb));
    if (const json_value* s = p.find("size"); s && !s->is_null()) {
        if (!s->is_object()) return status(errc::bad_format, "pixtral processor config: \"size\" is not an object");
        if (const json_value* le = s->find("longest_edge"); le && !le->is_null()) {
            SMOLVLM_TRY(detail::px_int(le, "size.longest_edge", 1, 16384, c.max_height));
            c.max_width = c.max_height;
        } else {
            SMOLVLM_TRY(detail::px_int(s->find("height"), "size.height", 1, 16384, c.max_height));
            SMOLVLM_TRY(detail::px_int(s->find("width"), "size.width", 1, 16384, c.max_width));
            if (!s->find("height") || !s->find("width"))
                return status(errc::bad_format, "pixtral processor config: \"size\" needs longest_edge or height and width");
        }
    }
    int rs = int(c.resample);
    SMOLVLM_TRY(detail::px_int(p.find("resample"), "resample", 0, 5, rs));
    c.resample = resample_filter(rs);
    if (const json_value* v = p.find("rescale_factor"); v && !v->is_null()) {
        if (!v->is_number() || !(v->as_number() > 0))
            return status(errc::bad_format, "pixtral processor config: rescale_factor is not a positive number");
        c.rescale_factor = v->as_number();
    }
    SMOLVLM_TRY(detail::px_triple(p, "image_mean", c.image_mean));
    SMOLVLM_TRY(detail::px_triple(p, "image_std", c.image_std));
    for (float s : c.image_std)
        if (!(s != 0.0f)) return status(errc::bad_format, "pixtral processor config: image_std has a zero");
    if (processor && processor->is_object()) {
        const json_value& q = *processor;
        SMOLVLM_TRY(detail::px_int(q.find("patch_size"), "patch_size", 1, 1024, c.patch_size));
        SMOLVLM_TRY(detail::px_int(q.find("spatial_merge_size"), "spatial_merge_size", 1, 64, c.spatial_merge_size));
        SMOLVLM_TRY(detail::px_string(q, "image_token", c.image_token));
        SMOLVLM_TRY(detail::px_string(q, "image_break_token", c.image_break_token));
        SMOLVLM_TRY(detail::px_string(q, "image_end_token", c.image_end_token));
    }
    if (!c.do_resize)
        return status(errc::unsupported, "pixtral processor config: do_resize false is not supported (sides must be "
                                         "multiples of patch_size x spatial_merge_size)");
    if (c.resample != resample_filter::bicubic && c.resample != resample_filter::bilinear &&
        c.resample != resample_filter::lanczos)
        return status::fmt(errc::unsupported, "pixtral processor config: resample %s is not supported",
                           resample_filter_name(c.resample));
    return c;
}

// ---------------------------------------------------------------- sizes

// Every size of one image and its token grid.
struct pixtral_plan {
    int width = 0, height = 0;                  // input
    int fit_width = 0, fit_height = 0;          // after the longest-edge fit, before rounding
    int resized_width = 0, resized_height = 0;  // what the encoder sees (multiples of unit)
    int rows = 0, cols = 0;                     // merged-token grid: resized / unit

    int n_image_tokens() const { return rows * cols; }           // [IMG] tokens (feature rows)
    int n_prompt_tokens() const { return rows * (cols + 1); }    // + one [IMG_BREAK] / [IMG_END] per row
};

// get_resize_output_image_size of the PIL processor, with PixtralProcessor's patch size
// (patch_size x spatial_merge_size), in Python's float64 arithmetic.
inline result<pixtral_plan> plan_pixtral_image(int width, int height, const pixtral_processor_config& c) {
    if (width <= 0 || height <= 0) return status::fmt(errc::invalid_argument, "image: bad size %dx%d", width, height);
    if (width > k_pixtral_max_input_side || height > k_pixtral_max_input_side ||
        std::int64_t(width) * height > k_pixtral_max_input_pixels)
        return status::fmt(errc::unsupported, "image: %dx%d is over the processor's cap (%d px a side, %lld pixels)", width,
                           height, k_pixtral_max_input_side, (long long)k_pixtral_max_input_pixels);
    const int u = c.unit();
    if (u <= 0 || c.max_height <= 0 || c.max_width <= 0) return status(errc::invalid_argument, "pixtral processor: bad sizes");
    pixtral_plan p;
    p.width = width;
    p.height = height;
    double h = height, w = width;
    const double ratio = std::max(h / double(c.max_height), w / double(c.max_width));
    int fh = height, fw = width;
    if (ratio > 1.0) {
        fh = int(std::floor(h / ratio));
        fw = int(std::floor(w / ratio));
    }
    p.fit_height = fh;
    p.fit_width = fw;
    if (fh <= 0 || fw <= 0)
        return status::fmt(errc::invalid_argument, "image: %dx%d is too thin: a side becomes %dx%d px after the fit to %d",
                           width, height, fw, fh, c.max_height > c.max_width ? c.max_height : c.max_width);
    p.rows = (fh - 1) / u + 1;
    p.cols = (fw - 1) / u + 1;
    p.resized_height = p.rows * u;
    p.resized_width = p.cols * u;
    return p;
}

// ---------------------------------------------------------------- pixels

// uint8 -> float32 per channel: float32(double(v) * rescale), then (x - mean) / std in float32.
struct pixtral_lut {
    float v[3][256];
};
inline pixtral_lut make_pixtral_lut(const pixtral_processor_config& c) {
    pixtral_lut l;
    for (int ch = 0; ch < 3; ++ch)
        for (int i = 0; i < 256; ++i) {
            float x = c.do_rescale ? float(double(i) * c.rescale_factor) : float(i);
            if (c.do_normalize) x = (x - c.image_mean[ch]) / c.image_std[ch];
            l.v[ch][i] = x;
        }
    return l;
}

struct pixtral_preprocess_options {
    // transformers' load_image convention (a file path handed to the processor): EXIF
    // applied by the caller and convert("RGB") dropping alpha. Off: convert_to_rgb composites.
    bool load_image_convention = false;
    const kernels::kernel_table* kernels = nullptr;  // resize kernels (null: this CPU's best)
    thread_pool* pool = nullptr;
    std::size_t max_bytes = std::size_t(1) << 30;    // cap on any buffer built here
};

// One image -> pixel_values [3, H, W] (H, W = plan.resized_*). `resized` (optional) gets the
// RGB uint8 image after the resize (the golden stage image{k}_resized).
inline status preprocess_pixtral_image(const image_view& input, const pixtral_plan& plan, const pixtral_processor_config& c,
                                       const pixtral_preprocess_options& opt, tensor<float>& out, image* resized = nullptr) {
    if (!input.data || input.width <= 0 || input.height <= 0) return status(errc::invalid_argument, "image: empty");
    if (input.channels < 1 || input.channels > 4)
        return status::fmt(errc::unsupported, "image: %d channels (1..4 supported)", input.channels);
    if (input.stride < std::size_t(input.width) * std::size_t(input.channels))
        return status(errc::invalid_argument, "image: stride shorter than a row");
    if (input.width != plan.width || input.height != plan.height)
        return status(errc::invalid_argument, "preprocess: plan does not match the image size");
    const std::size_t out_floats = std::size_t(3) * std::size_t(plan.resized_height) * std::size_t(plan.resized_width);
    const std::size_t rgb_bytes = std::size_t(input.width) * std::size_t(input.height) * 3;
    if (out_floats * sizeof(float) > opt.max_bytes || (input.channels != 3 && rgb_bytes > opt.max_bytes))
        return status(errc::no_memory, "preprocess: the image's buffers exceed the byte cap");
    // 1. RGB at the image's own size.
    image_view src = input;
    image rgb;
    if (src.channels != 3) {
        if (!opt.load_image_convention && !c.do_convert_rgb)
            return status::fmt(errc::unsupported, "preprocess: %d-channel image with do_convert_rgb = false", src.channels);
        rgb.width = src.width;
        rgb.height = src.height;
        rgb.channels = 3;
        rgb.pixels.resize(rgb_bytes);
        if (opt.load_image_convention) convert_rgb_drop_alpha(src, rgb.pixels.data());
        else composite_on_white(src, rgb.pixels.data());
        src = rgb.view();
    }
    // 2. One resize straight to the rounded size (unchanged size: an exact copy, as PIL).
    image sized;
    image_view v = src;
    if (plan.resized_width != src.width || plan.resized_height != src.height) {
        resample_options ro;
        ro.kernels = opt.kernels;
        ro.pool = opt.pool;
        ro.max_bytes = opt.max_bytes;
        SMOLVLM_ASSIGN_OR_RETURN(sized, pil_resize(src, plan.resized_width, plan.resized_height, c.resample, ro));
        v = sized.view();
    }
    if (resized) {
        resized->width = v.width;
        resized->height = v.height;
        resized->channels = 3;
        resized->pixels.resize(std::size_t(v.width) * std::size_t(v.height) * 3);
        for (int y = 0; y < v.height; ++y) std::memcpy(resized->row(y), v.row(y), resized->row_bytes());
    }
    // 3. Rescale + normalize, channels first.
    SMOLVLM_TRY(out.resize(shape_t{3, plan.resized_height, plan.resized_width}));
    const pixtral_lut lut = make_pixtral_lut(c);
    const std::size_t plane = std::size_t(plan.resized_height) * std::size_t(plan.resized_width);
    float* dst = out.data();
    parallel_for(opt.pool, plan.resized_height, [&](std::int64_t y0, std::int64_t y1, int) {
        for (std::int64_t y = y0; y < y1; ++y) {
            const std::uint8_t* px = v.row(int(y));
            float* r = dst + std::size_t(y) * std::size_t(plan.resized_width);
            for (int x = 0; x < plan.resized_width; ++x) {
                r[x] = lut.v[0][px[3 * x + 0]];
                r[x + plane] = lut.v[1][px[3 * x + 1]];
                r[x + 2 * plane] = lut.v[2][px[3 * x + 2]];
            }
        }
    }, 16);
    return status::ok();
}

// ---------------------------------------------------------------- prompt

// The text an image's [IMG] placeholder becomes.
inline std::string pixtral_image_tokens(const pixtral_plan& p, const pixtral_processor_config& c) {
    std::string s;
    s.reserve(std::size_t(p.n_prompt_tokens()) * c.image_token.size());
    for (int r = 0; r < p.rows; ++r) {
        for (int k = 0; k < p.cols; ++k) s += c.image_token;
        s += r + 1 == p.rows ? c.image_end_token : c.image_break_token;
    }
    return s;
}

// Replace the i-th image token of `text` by image i's block. The number of placeholders
// must equal n (text that spells the image token itself counts: the reference fails too).
inline result<std::string> expand_pixtral_prompt(std::string_view text, const pixtral_plan* plans, std::size_t n,
                                                 const pixtral_processor_config& c) {
    std::string out;
    std::size_t pos = 0, k = 0;
    const std::string& tok = c.image_token;
    for (;;) {
        const std::size_t hit = text.find(tok, pos);
        if (hit == std::string_view::npos) break;
        if (k >= n)
            return status::fmt(errc::invalid_argument, "the prompt has more %s placeholders than the %zu images given",
                               tok.c_str(), n);
        out.append(text.data() + pos, hit - pos);
        out += pixtral_image_tokens(plans[k++], c);
        pos = hit + tok.size();
    }
    if (k != n)
        return status::fmt(errc::invalid_argument, "the prompt has %zu %s placeholders but %zu images were given", k,
                           tok.c_str(), n);
    out.append(text.data() + pos, text.size() - pos);
    return out;
}

}  // namespace smolvlm
