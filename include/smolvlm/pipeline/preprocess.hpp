// smolvlm/pipeline/preprocess.hpp — pixels in, pixel_values out, bit-identical to the
// Hugging Face Idefics3 / SmolVLM image processor (slow, PIL path) and the SmolVLM2
// video processor.
//
// What SmolVLMImageProcessor.preprocess does to one image (and so what we do):
//
//   decoded uint8 image, native channels (1 = L, 2 = LA, 3 = RGB, 4 = RGBA)
//     | convert_to_rgb, at the image's own size (transformers 5 does this first):
//     |   alpha (LA, RGBA, or a tRNS key the decoder turned into alpha) composited
//     |   over opaque white with Pillow's alpha_composite integers; L -> (v, v, v)
//     |   (load_image convention instead: EXIF transpose, convert("RGB") drops alpha)
//     | resize: longest side := size.longest_edge (also upscaling), other side
//     |   int(long / aspect) made even; both sides capped at 4096          (PIL LANCZOS)
//     | resize_for_vision_encoder: long side rounded UP to a multiple of
//     |   max_image_size, short side int(long / aspect) rounded up too      (PIL LANCZOS)
//     | split: rows x cols tiles of max x max, row-major, then the whole
//     |   image resized to max x max ("global image")                       (PIL LANCZOS)
//     |   (do_image_splitting = false: just the max x max resize, 0 x 0 grid)
//     | rescale: float32(v * rescale_factor), computed in double
//     | normalize: (x - mean) / std in float32
//     v pixel_values [n_tiles, 3, max, max] (channels first), mask all ones
//
// Every resize is PIL LANCZOS on the 3-channel image (see resample.hpp). transformers 4.x
// resized in the native mode (gray as "P" with NEAREST, RGBA premultiplied) and converted
// after splitting; the goldens follow 5.x and so does this file. The resize rules are in
// `plan_image` and tested on every case of fixtures/_unit/resize_sizes.json.
//
// Beside the exact mode there is a `token_budget` mode (a documented deviation): images
// whose longest side is already <= size.longest_edge are not upscaled first, so a small
// picture costs fewer tiles (640x480 at 2048/512: 5 tiles instead of 13).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/decode.hpp"
#include "../io/image.hpp"
#include "../io/json.hpp"
#include "resample.hpp"

namespace smolvlm {

// ---------------------------------------------------------------- configuration

// preprocessor_config.json (+ processor_config.json / model config.json for image_seq_len).
// Defaults are the Hugging Face class defaults (SmolVLMImageProcessor.__init__).
struct image_processor_config {
    bool do_resize = true;
    int longest_edge = 4 * 364;        // size.longest_edge
    int max_image_size = 364;          // max_image_size.longest_edge: tile side = encoder input side
    bool do_image_splitting = true;
    resample_filter resample = resample_filter::lanczos;
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool do_normalize = true;
    float image_mean[3] = {0.5f, 0.5f, 0.5f};
    float image_std[3] = {0.5f, 0.5f, 0.5f};
    bool do_pad = true;
    bool do_convert_rgb = true;

    // SmolVLM2 video_sampling (absent for Idefics3 / SmolVLM 1).
    bool has_video_sampling = false;
    double video_fps = 1.0;
    int video_max_frames = 64;
    int video_longest_edge = 4 * 364;  // first resize of a frame (see parse_image_processor_config)

    // <image> tokens per tile: (image_size / patch_size)^2 / scale_factor^2. From
    // processor_config.json "image_seq_len", else computed from the model config; 0 = unknown.
    int image_seq_len = 0;
};

// Hard caps (firmware): nothing above these is accepted from a config file.
inline constexpr int k_max_longest_edge = 16384;
inline constexpr int k_max_tile_side = 4096;
inline constexpr int k_max_tiles_per_image = 1024;
inline constexpr int k_hf_max_image_size = 4096;  // MAX_IMAGE_SIZE of the HF processors

// (image_size // patch_size)^2 / scale_factor^2, as int(... / ...) in the processor docs.
inline int compute_image_seq_len(int image_size, int patch_size, int scale_factor) {
    if (image_size <= 0 || patch_size <= 0 || scale_factor <= 0) return 0;
    const long long p = image_size / patch_size;
    const long long s = scale_factor;
    return int((p * p) / (s * s));
}

namespace detail {
inline status cfg_bool(const json_value& o, const char* key, bool& out) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (!v->is_bool()) return status::fmt(errc::bad_format, "preprocessor config: \"%s\" is not a boolean", key);
    out = v->as_bool();
    return status::ok();
}
inline status cfg_int(const json_value* v, const char* key, int lo, int hi, int& out) {
    if (!v || v->is_null()) return status::ok();
    if (!v->is_number() || v->as_number() != std::floor(v->as_number()))
        return status::fmt(errc::bad_format, "preprocessor config: \"%s\" is not an integer", key);
    const double d = v->as_number();
    if (d < lo || d > hi) return status::fmt(errc::bad_format, "preprocessor config: \"%s\" = %g is out of [%d, %d]", key, d, lo, hi);
    out = int(d);
    return status::ok();
}
inline status cfg_longest_edge(const json_value& o, const char* key, int& out) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (v->is_number()) return cfg_int(v, key, 1, k_max_longest_edge, out);
    if (!v->is_object()) return status::fmt(errc::bad_format, "preprocessor config: \"%s\" is not an object", key);
    const json_value* le = v->find("longest_edge");
    if (!le) {
        // {"height": h, "width": w}: only square sizes make sense here.
        const json_value* h = v->find("height");
        const json_value* w = v->find("width");
        if (!h || !w) return status::fmt(errc::bad_format, "preprocessor config: \"%s\" has no longest_edge", key);
        int hh = 0, ww = 0;
        SMOLVLM_TRY(cfg_int(h, key, 1, k_max_longest_edge, hh));
        SMOLVLM_TRY(cfg_int(w, key, 1, k_max_longest_edge, ww));
        if (hh != ww) return status::fmt(errc::unsupported, "preprocessor config: \"%s\" is not square", key);
        out = hh;
        return status::ok();
    }
    return cfg_int(le, key, 1, k_max_longest_edge, out);
}
inline status cfg_triple(const json_value& o, const char* key, float out[3]) {
    const json_value* v = o.find(key);
    if (!v || v->is_null()) return status::ok();
    if (v->is_number()) {
        out[0] = out[1] = out[2] = float(v->as_number());
        return status::ok();
    }
    if (!v->is_array() || v->size() != 3)
        return status::fmt(errc::bad_format, "preprocessor config: \"%s\" is not 3 numbers", key);
    for (std::size_t i = 0; i < 3; ++i) {
        if (!(*v)[i].is_number()) return status::fmt(errc::bad_format, "preprocessor config: \"%s\" is not 3 numbers", key);
        out[i] = float((*v)[i].as_number());
    }
    return status::ok();
}
}  // namespace detail

// preprocessor: parsed preprocessor_config.json (required). processor: processor_config.json
// (optional, for image_seq_len). model: config.json (optional, image_seq_len fallback from
// vision_config.image_size / patch_size and scale_factor).
inline result<image_processor_config> parse_image_processor_config(const json_value& preprocessor,
                                                                   const json_value* processor = nullptr,
                                                                   const json_value* model = nullptr) {
    if (!preprocessor.is_object()) return status(errc::bad_format, "preprocessor config is not a JSON object");
    image_processor_config c;
    const json_value& p = preprocessor;
    SMOLVLM_TRY(detail::cfg_bool(p, "do_resize", c.do_resize));
    SMOLVLM_TRY(detail::cfg_bool(p, "do_image_splitting", c.do_image_splitting));
    SMOLVLM_TRY(detail::cfg_bool(p, "do_rescale", c.do_rescale));
    SMOLVLM_TRY(detail::cfg_bool(p, "do_normalize", c.do_normalize));
    SMOLVLM_TRY(detail::cfg_bool(p, "do_pad", c.do_pad));
    SMOLVLM_TRY(detail::cfg_bool(p, "do_convert_rgb", c.do_convert_rgb));
    SMOLVLM_TRY(detail::cfg_longest_edge(p, "size", c.longest_edge));
    SMOLVLM_TRY(detail::cfg_longest_edge(p, "max_image_size", c.max_image_size));
    if (c.max_image_size > k_max_tile_side)
        return status::fmt(errc::unsupported, "preprocessor config: max_image_size %d is over %d", c.max_image_size,
                           k_max_tile_side);
    int rs = int(c.resample);
    SMOLVLM_TRY(detail::cfg_int(p.find("resample"), "resample", 0, 5, rs));
    c.resample = resample_filter(rs);
    if (const json_value* v = p.find("rescale_factor")) {
        if (!v->is_number() || !(v->as_number() > 0))
            return status(errc::bad_format, "preprocessor config: rescale_factor is not a positive number");
        c.rescale_factor = v->as_number();
    }
    SMOLVLM_TRY(detail::cfg_triple(p, "image_mean", c.image_mean));
    SMOLVLM_TRY(detail::cfg_triple(p, "image_std", c.image_std));
    for (float s : c.image_std)
        if (!(s != 0.0f)) return status(errc::bad_format, "preprocessor config: image_std has a zero");
    if (const json_value* vs = p.find("video_sampling")) {
        if (!vs->is_object()) return status(errc::bad_format, "preprocessor config: video_sampling is not an object");
        c.has_video_sampling = true;
        if (const json_value* f = vs->find("fps")) {
            if (!f->is_number() || !(f->as_number() > 0) || f->as_number() > 1000)
                return status(errc::bad_format, "preprocessor config: video_sampling.fps is not in (0, 1000]");
            c.video_fps = f->as_number();
        }
        SMOLVLM_TRY(detail::cfg_int(vs->find("max_frames"), "video_sampling.max_frames", 1, 4096, c.video_max_frames));
        SMOLVLM_TRY(detail::cfg_longest_edge(*vs, "video_size", c.video_longest_edge));
    }
    // SmolVLMVideoProcessor.__init__: with both `size` and `video_sampling` in the file,
    // video_sampling.video_size is overwritten by `size`; without video_sampling the
    // video processor uses `size` too.
    if (p.find("size") || !c.has_video_sampling) c.video_longest_edge = c.longest_edge;
    if (processor && processor->is_object())
        SMOLVLM_TRY(detail::cfg_int(processor->find("image_seq_len"), "image_seq_len", 1, 1 << 20, c.image_seq_len));
    if (c.image_seq_len == 0 && model && model->is_object()) {
        int image_size = 224, patch = 32, scale = 2;  // Idefics3VisionConfig / Idefics3Config defaults
        if (const json_value* vc = model->find("vision_config")) {
            SMOLVLM_TRY(detail::cfg_int(vc->find("image_size"), "vision_config.image_size", 1, 1 << 16, image_size));
            SMOLVLM_TRY(detail::cfg_int(vc->find("patch_size"), "vision_config.patch_size", 1, 1 << 16, patch));
        }
        SMOLVLM_TRY(detail::cfg_int(model->find("scale_factor"), "scale_factor", 1, 64, scale));
        c.image_seq_len = compute_image_seq_len(image_size, patch, scale);
    }
    return c;
}

// ---------------------------------------------------------------- sizes and tiles

enum class resize_mode : std::uint8_t {
    exact,         // the reference: longest side always resized to size.longest_edge
    token_budget,  // deviation: never upscale in the first resize (fewer tiles for small images)
};

// Sizes of every stage of one image and its tile grid.
struct image_plan {
    int width = 0, height = 0;                  // input
    int resized_width = 0, resized_height = 0;  // after the longest-edge resize
    int encoder_width = 0, encoder_height = 0;  // after the resize to multiples of max (or to max x max)
    int rows = 0, cols = 0;                     // tile grid; 0 x 0 = one unsplit image
    int n_tiles = 0;                            // rows * cols + 1 (the global image last)
};

namespace detail {
// _resize_output_size_rescale_to_max_len + _resize_output_size_scale_below_upper_bound (HF),
// with Python's float arithmetic: aspect = w / h in double, int() truncates.
inline void hf_longest_edge_size(int h, int w, int max_len, int& oh, int& ow) {
    double aspect = double(w) / double(h);
    if (w >= h) {
        w = max_len;
        h = int(double(w) / aspect);
        if (h % 2 != 0) h += 1;
    } else {
        h = max_len;
        w = int(double(h) * aspect);
        if (w % 2 != 0) w += 1;
    }
    if (h < 1) h = 1;
    if (w < 1) w = 1;
    aspect = double(w) / double(h);
    if (w >= h && w > k_hf_max_image_size) {
        w = k_hf_max_image_size;
        h = int(double(w) / aspect);
    } else if (h > w && h > k_hf_max_image_size) {
        h = k_hf_max_image_size;
        w = int(double(h) * aspect);
    }
    oh = h < 1 ? 1 : h;
    ow = w < 1 ? 1 : w;
}
inline int ceil_multiple(int v, int m) { return (v + m - 1) / m * m; }
// resize_for_vision_encoder: both sides up to multiples of m, the short side recomputed.
inline void hf_encoder_size(int h, int w, int m, int& oh, int& ow) {
    const double aspect = double(w) / double(h);
    if (w >= h) {
        w = ceil_multiple(w, m);
        h = int(double(w) / aspect);
        h = ceil_multiple(h, m);
    } else {
        h = ceil_multiple(h, m);
        w = int(double(h) * aspect);
        w = ceil_multiple(w, m);
    }
    oh = h;
    ow = w;
}
}  // namespace detail

// Plan the sizes and tiles of an image of width x height.
inline result<image_plan> plan_image(int width, int height, const image_processor_config& cfg,
                                     resize_mode mode = resize_mode::exact) {
    if (width <= 0 || height <= 0) return status::fmt(errc::invalid_argument, "image: bad size %dx%d", width, height);
    if (width > 65535 || height > 65535) return status::fmt(errc::unsupported, "image: %dx%d is too large", width, height);
    const int m = cfg.max_image_size;
    if (m <= 0 || m > k_max_tile_side || cfg.longest_edge <= 0 || cfg.longest_edge > k_max_longest_edge)
        return status(errc::invalid_argument, "image processor config: bad size / max_image_size");
    image_plan p;
    p.width = width;
    p.height = height;
    p.resized_width = width;
    p.resized_height = height;
    if (cfg.do_resize) {
        const bool keep = mode == resize_mode::token_budget && (width > height ? width : height) <= cfg.longest_edge;
        if (!keep) detail::hf_longest_edge_size(height, width, cfg.longest_edge, p.resized_height, p.resized_width);
    }
    if (cfg.do_image_splitting) {
        detail::hf_encoder_size(p.resized_height, p.resized_width, m, p.encoder_height, p.encoder_width);
        if (p.encoder_height > m || p.encoder_width > m) {
            p.rows = (p.encoder_height + m - 1) / m;
            p.cols = (p.encoder_width + m - 1) / m;
        }
    } else {
        p.encoder_height = p.encoder_width = m;
    }
    p.n_tiles = p.rows * p.cols + 1;
    if (p.n_tiles > k_max_tiles_per_image)
        return status::fmt(errc::unsupported, "image: %d tiles exceed the cap of %d", p.n_tiles, k_max_tiles_per_image);
    return p;
}

// ---------------------------------------------------------------- pixel values

// uint8 -> float32 tables, one per channel, exactly as the processors compute them.
struct pixel_lut {
    float v[3][256];
};

// Image processor (slow, numpy): float32(double(v) * rescale), then (x - mean) / std in float32.
inline pixel_lut make_image_lut(const image_processor_config& cfg) {
    pixel_lut l;
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 256; ++i) {
            float x = cfg.do_rescale ? float(double(i) * cfg.rescale_factor) : float(i);
            if (cfg.do_normalize) x = (x - cfg.image_mean[c]) / cfg.image_std[c];
            l.v[c][i] = x;
        }
    return l;
}

// Video processor (fast, torch): rescale fused into normalize, mean and std scaled by
// 1 / rescale_factor: (float32(v) - 127.5f) / 127.5f for mean = std = 0.5.
inline pixel_lut make_video_lut(const image_processor_config& cfg) {
    pixel_lut l;
    for (int c = 0; c < 3; ++c) {
        float mean = cfg.image_mean[c], stdv = cfg.image_std[c];
        if (cfg.do_rescale && cfg.do_normalize) {
            mean = float(double(cfg.image_mean[c]) * (1.0 / cfg.rescale_factor));
            stdv = float(double(cfg.image_std[c]) * (1.0 / cfg.rescale_factor));
        }
        for (int i = 0; i < 256; ++i) {
            float x = float(i);
            if (cfg.do_normalize) x = (x - mean) / stdv;
            else if (cfg.do_rescale) x = x * float(cfg.rescale_factor);
            l.v[c][i] = x;
        }
    }
    return l;
}

// What preprocessing keeps of one image beside its tiles (for tests and debugging).
struct image_intermediates {
    image resized_longest_edge;  // RGB
    image resized_for_encoder;   // RGB
};

struct preprocess_options {
    resize_mode mode = resize_mode::exact;
    // transformers.image_utils.load_image convention: EXIF orientation applied and the
    // image converted with convert("RGB") (alpha dropped, not composited). Off = the
    // processor handed the decoded image (convert_to_rgb: alpha composited over white).
    bool load_image_convention = false;
    bool keep_intermediates = false;
    const kernels::kernel_table* kernels = nullptr;  // resize kernels (null: this CPU's best)
    thread_pool* pool = nullptr;
    std::size_t max_bytes = std::size_t(1) << 30;  // cap on any buffer built here
};

// The processor output for a batch of prompts.
struct processed_images {
    tensor<float> pixel_values;                 // [batch, max_tiles, 3, tile, tile]
    tensor<std::uint8_t> pixel_attention_mask;  // [batch, max_tiles, tile, tile], 1 = real pixel
    std::vector<image_plan> plans;              // every image, in order (sample by sample)
    std::vector<int> tiles_per_sample;          // real tiles of each sample (the rest is padding)
    std::vector<image_intermediates> intermediates;  // when keep_intermediates
    int tile_size = 0;
    int total_tiles() const {
        int n = 0;
        for (int t : tiles_per_sample) n += t;
        return n;
    }
};

namespace detail {

// Tile (x0, y0) of the RGB image `src` -> out [3, m, m] floats through the per-channel table.
inline void write_tile(const image_view& src, int x0, int y0, int m, const pixel_lut& lut, float* out) {
    const std::size_t plane = std::size_t(m) * std::size_t(m);
    for (int y = 0; y < m; ++y) {
        const std::uint8_t* px = src.row(y0 + y) + std::size_t(x0) * 3;
        float* r = out + std::size_t(y) * std::size_t(m);
        float* g = r + plane;
        float* b = g + plane;
        for (int x = 0; x < m; ++x) {
            r[x] = lut.v[0][px[3 * x + 0]];
            g[x] = lut.v[1][px[3 * x + 1]];
            b[x] = lut.v[2][px[3 * x + 2]];
        }
    }
}

// Resize keeping a view when nothing changes (PIL's resize would copy: same bytes).
inline status resize_or_view(const image_view& src, int w, int h, resample_filter f, const resample_options& ro,
                             image& holder, image_view& out) {
    if (w == src.width && h == src.height) {
        out = src;
        return status::ok();
    }
    SMOLVLM_ASSIGN_OR_RETURN(holder, pil_resize(src, w, h, f, ro));
    out = holder.view();
    return status::ok();
}

inline image copy_of(const image_view& v) {
    image im;
    im.width = v.width;
    im.height = v.height;
    im.channels = v.channels;
    im.pixels.resize(std::size_t(v.width) * std::size_t(v.height) * std::size_t(v.channels));
    for (int y = 0; y < v.height; ++y) std::memcpy(im.row(y), v.row(y), im.row_bytes());
    return im;
}

inline status check_view(const image_view& v) {
    if (!v.data || v.width <= 0 || v.height <= 0) return status(errc::invalid_argument, "image: empty");
    if (v.channels < 1 || v.channels > 4)
        return status::fmt(errc::unsupported, "image: %d channels (1..4 supported)", v.channels);
    if (v.stride < std::size_t(v.width) * std::size_t(v.channels))
        return status(errc::invalid_argument, "image: stride shorter than a row");
    return status::ok();
}

}  // namespace detail

// One image -> plan.n_tiles tiles written to out ([n_tiles, 3, m, m] floats).
// `orientation` is only used with the load_image convention.
inline status preprocess_image_into(const image_view& input, const image_plan& plan, const image_processor_config& cfg,
                                    const preprocess_options& opt, const pixel_lut& lut, float* out,
                                    image_intermediates* keep = nullptr, int orientation = 1) {
    SMOLVLM_TRY(detail::check_view(input));
    resample_options ro;
    ro.kernels = opt.kernels;
    ro.pool = opt.pool;
    ro.max_bytes = opt.max_bytes;

    // 1. RGB first, at the image's own size (transformers 5 order).
    image_view src = input;
    image oriented, rgb;
    if (opt.load_image_convention && orientation >= 2 && orientation <= 8) {  // ImageOps.exif_transpose
        oriented = apply_orientation(detail::copy_of(src), orientation);
        src = oriented.view();
    }
    if (src.width != plan.width || src.height != plan.height)
        return status(errc::invalid_argument, "preprocess: plan does not match the image size");
    if (src.channels != 3) {
        if (!opt.load_image_convention && !cfg.do_convert_rgb)
            return status::fmt(errc::unsupported, "preprocess: %d-channel image with do_convert_rgb = false", src.channels);
        const std::size_t bytes = std::size_t(src.width) * std::size_t(src.height) * 3;
        if (bytes > opt.max_bytes) return status(errc::no_memory, "preprocess: RGB copy exceeds the byte cap");
        rgb.width = src.width;
        rgb.height = src.height;
        rgb.channels = 3;
        rgb.pixels.resize(bytes);
        // load_image: convert("RGB") drops alpha; the processor's convert_to_rgb composites.
        if (opt.load_image_convention) convert_rgb_drop_alpha(src, rgb.pixels.data());
        else composite_on_white(src, rgb.pixels.data());
        src = rgb.view();
    }
    const resample_filter f = cfg.resample;

    image h1, h2, hg;
    image_view v1, v2, vg;
    SMOLVLM_TRY(detail::resize_or_view(src, plan.resized_width, plan.resized_height, f, ro, h1, v1));
    SMOLVLM_TRY(detail::resize_or_view(v1, plan.encoder_width, plan.encoder_height, f, ro, h2, v2));
    if (keep) {
        keep->resized_longest_edge = h1.pixels.empty() ? detail::copy_of(v1) : h1;
        keep->resized_for_encoder = h2.pixels.empty() ? detail::copy_of(v2) : h2;
    }
    const int m = cfg.max_image_size;
    const std::size_t tile_floats = std::size_t(3) * std::size_t(m) * std::size_t(m);
    if (plan.rows == 0 && plan.cols == 0) {
        if (v2.width != m || v2.height != m) return status(errc::invalid_argument, "preprocess: bad unsplit plan");
        detail::write_tile(v2, 0, 0, m, lut, out);
        return status::ok();
    }
    if (v2.width != plan.cols * m || v2.height != plan.rows * m)
        return status(errc::invalid_argument, "preprocess: tile grid does not match the encoder size");
    // Global image: the encoder image resized to m x m (after the tiles in the output).
    SMOLVLM_TRY(detail::resize_or_view(v2, m, m, f, ro, hg, vg));
    const int n_split = plan.rows * plan.cols;
    parallel_for(opt.pool, n_split + 1, [&](std::int64_t b, std::int64_t e, int) {
        for (std::int64_t t = b; t < e; ++t) {
            float* dst = out + std::size_t(t) * tile_floats;
            if (t == n_split) detail::write_tile(vg, 0, 0, m, lut, dst);
            else detail::write_tile(v2, int(t % plan.cols) * m, int(t / plan.cols) * m, m, lut, dst);
        }
    });
    return status::ok();
}

// One input image of a batch: pixels plus its EXIF orientation (used with load_image_convention).
struct image_input {
    image_view pixels;
    int orientation = 1;
};

// Batch of prompts: samples[s] has counts[s] images. Output padded to the largest tile
// count with all-zero images and zero masks (HF's pad with do_pad).
inline result<processed_images> preprocess_batch(const image_input* const* samples, const std::size_t* counts,
                                                 std::size_t batch, const image_processor_config& cfg,
                                                 const preprocess_options& opt = {}) {
    if (batch == 0) return status(errc::invalid_argument, "preprocess: empty batch");
    processed_images r;
    const int m = cfg.max_image_size;
    r.tile_size = m;
    int max_tiles = 0;
    for (std::size_t s = 0; s < batch; ++s) {
        int tiles = 0;
        for (std::size_t i = 0; i < counts[s]; ++i) {
            const image_input& in = samples[s][i];
            SMOLVLM_TRY(detail::check_view(in.pixels));
            int w = in.pixels.width, h = in.pixels.height;
            if (opt.load_image_convention && in.orientation >= 5 && in.orientation <= 8) std::swap(w, h);
            SMOLVLM_ASSIGN_OR_RETURN(image_plan p, plan_image(w, h, cfg, opt.mode));
            r.plans.push_back(p);
            tiles += p.n_tiles;
        }
        r.tiles_per_sample.push_back(tiles);
        if (tiles > max_tiles) max_tiles = tiles;
    }
    if (max_tiles == 0) return status(errc::invalid_argument, "preprocess: no images");
    const std::uint64_t floats = std::uint64_t(batch) * std::uint64_t(max_tiles) * 3u * std::uint64_t(m) * std::uint64_t(m);
    if (floats * 4 > opt.max_bytes)
        return status::fmt(errc::no_memory, "preprocess: pixel_values of %llu floats exceed the byte cap",
                           (unsigned long long)floats);
    SMOLVLM_TRY(r.pixel_values.resize(shape_t{std::int64_t(batch), max_tiles, 3, m, m}));  // zero-filled
    SMOLVLM_TRY(r.pixel_attention_mask.resize(shape_t{std::int64_t(batch), max_tiles, m, m}));
    const pixel_lut lut = make_image_lut(cfg);
    const std::size_t tile_floats = std::size_t(3) * std::size_t(m) * std::size_t(m);
    const std::size_t plane = std::size_t(m) * std::size_t(m);
    if (opt.keep_intermediates) r.intermediates.resize(r.plans.size());
    std::size_t k = 0;
    for (std::size_t s = 0; s < batch; ++s) {
        std::size_t tile = 0;
        for (std::size_t i = 0; i < counts[s]; ++i, ++k) {
            const image_plan& p = r.plans[k];
            float* dst = r.pixel_values.data() + (s * std::size_t(max_tiles) + tile) * tile_floats;
            SMOLVLM_TRY(preprocess_image_into(samples[s][i].pixels, p, cfg, opt, lut, dst,
                                              opt.keep_intermediates ? &r.intermediates[k] : nullptr,
                                              samples[s][i].orientation));
            tile += std::size_t(p.n_tiles);
        }
        // Every real tile is m x m: its mask is all ones; padding tiles stay zero.
        std::memset(r.pixel_attention_mask.data() + s * std::size_t(max_tiles) * plane, 1, tile * plane);
    }
    return r;
}

// One prompt with n images (batch 1): pixel_values [1, n_tiles, 3, m, m].
inline result<processed_images> preprocess_images(const image_input* images, std::size_t n,
                                                  const image_processor_config& cfg,
                                                  const preprocess_options& opt = {}) {
    const image_input* s[1] = {images};
    const std::size_t c[1] = {n};
    return preprocess_batch(s, c, 1, cfg, opt);
}

inline result<processed_images> preprocess_images(const image* images, std::size_t n, const image_processor_config& cfg,
                                                  const preprocess_options& opt = {}) {
    std::vector<image_input> in(n);
    for (std::size_t i = 0; i < n; ++i) in[i] = image_input{images[i].view(), images[i].orientation};
    return preprocess_images(in.data(), n, cfg, opt);
}

// ---------------------------------------------------------------- video (SmolVLM2)

// Frames chosen from a decoded video: SmolVLMVideoProcessor.sample_frames.
struct video_frame_selection {
    std::vector<int> indices;        // sorted, unique frame indices
    std::vector<double> timestamps;  // seconds: index / video_fps
    double duration = 0.0;           // seconds
};

// total_frames frames at video_fps; target cfg.video_fps frames per second, at most
// cfg.video_max_frames, skipping skip_secs at both ends of long videos.
inline result<video_frame_selection> sample_video_frames(int total_frames, double video_fps,
                                                         const image_processor_config& cfg, double duration = -1.0,
                                                         double skip_secs = 1.0) {
    if (total_frames <= 0 || total_frames > (1 << 24)) return status(errc::invalid_argument, "video: bad frame count");
    if (!(video_fps > 0) || video_fps > 1e4) return status(errc::invalid_argument, "video: bad fps");
    video_frame_selection s;
    s.duration = duration > 0 ? duration : double(total_frames) / video_fps;
    const int num_frames = cfg.video_max_frames;
    const double fps = cfg.video_fps;
    // Python round(): half to even (nearbyint in the default rounding mode).
    const double est = std::nearbyint(fps * s.duration);
    int desired = est < double(num_frames) ? int(est) : num_frames;
    if (desired < 1) desired = 1;
    int start = 0, end = total_frames - 1;
    if (skip_secs > 0 && (s.duration - 2 * skip_secs) > (num_frames * fps)) {
        start = int(skip_secs * video_fps);
        end = int(total_frames - skip_secs * video_fps);
    }
    if (start < 0) start = 0;
    if (end > total_frames - 1) end = total_frames - 1;
    if (start >= end) start = 0, end = total_frames - 1;
    // np.linspace(start, end, desired, dtype=int): i * step + start, last = end, truncated.
    std::vector<int> idx(static_cast<std::size_t>(desired), 0);
    if (desired == 1) {
        idx[0] = start;
    } else {
        const double step = double(end - start) / double(desired - 1);
        for (int i = 0; i < desired; ++i) idx[std::size_t(i)] = int(double(i) * step + double(start));
        idx[std::size_t(desired) - 1] = end;
    }
    for (std::size_t i = 0; i < idx.size(); ++i)  // np.unique (already sorted)
        if (s.indices.empty() || s.indices.back() != idx[i]) s.indices.push_back(idx[i]);
    for (int i : s.indices) s.timestamps.push_back(double(i) / video_fps);
    return s;
}

// Frame sizes of the video path: longest side := video longest edge (same int/even rule,
// capped at 4096), then squashed to max x max; frames are never split.
inline result<image_plan> plan_video_frame(int width, int height, const image_processor_config& cfg) {
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
        return status::fmt(errc::invalid_argument, "video frame: bad size %dx%d", width, height);
    const int le = cfg.video_longest_edge < k_hf_max_image_size ? cfg.video_longest_edge : k_hf_max_image_size;
    if (le <= 0 || cfg.max_image_size <= 0 || cfg.max_image_size > k_max_tile_side)
        return status(errc::invalid_argument, "video: bad video_size / max_image_size");
    image_plan p;
    p.width = width;
    p.height = height;
    p.resized_width = width;
    p.resized_height = height;
    if (cfg.do_resize) detail::hf_longest_edge_size(height, width, le, p.resized_height, p.resized_width);
    p.encoder_width = p.encoder_height = cfg.max_image_size;
    p.n_tiles = 1;
    return p;
}

// Sampled frames -> pixel_values [1, n_frames, 3, m, m], as SmolVLMVideoProcessor
// (torchvision backend) computes them: frames as uint8 tensors; resize 1 to the video
// longest edge, resize 2 to m x m, both torch's native uint8 antialiased kernel with the
// processor's filter (LANCZOS: resample_rule::torch_aa, not PIL's arithmetic); the
// normalisation is the fused (v - 127.5) / 127.5. Gray frames are replicated to RGB
// (grayscale_to_rgb). Frames with alpha: an opaque alpha is dropped (as the processor
// does); a transparent one is composited over white with Pillow's integer formula, where
// transformers blends in float and resizes the float frame (a documented difference of at
// most one uint8 step; files loaded as frames go through load_image, which drops alpha).
inline result<processed_images> preprocess_video_frames(const image_view* frames, std::size_t n,
                                                        const image_processor_config& cfg,
                                                        const preprocess_options& opt = {}) {
    if (n == 0) return status(errc::invalid_argument, "video: no frames");
    if (n > 4096) return status(errc::unsupported, "video: too many frames");
    processed_images r;
    const int m = cfg.max_image_size;
    r.tile_size = m;
    for (std::size_t i = 0; i < n; ++i) {
        SMOLVLM_TRY(detail::check_view(frames[i]));
        SMOLVLM_ASSIGN_OR_RETURN(image_plan p, plan_video_frame(frames[i].width, frames[i].height, cfg));
        r.plans.push_back(p);
    }
    r.tiles_per_sample.push_back(int(n));
    const std::uint64_t floats = std::uint64_t(n) * 3u * std::uint64_t(m) * std::uint64_t(m);
    if (floats * 4 > opt.max_bytes) return status(errc::no_memory, "video: pixel_values exceed the byte cap");
    SMOLVLM_TRY(r.pixel_values.resize(shape_t{1, std::int64_t(n), 3, m, m}));
    SMOLVLM_TRY(r.pixel_attention_mask.resize(shape_t{1, std::int64_t(n), m, m}));
    std::memset(r.pixel_attention_mask.data(), 1, std::size_t(r.pixel_attention_mask.numel()));
    const pixel_lut lut = make_video_lut(cfg);
    const resample_filter f = cfg.resample;
    if (f != resample_filter::lanczos && f != resample_filter::bicubic && f != resample_filter::bilinear)
        return status::fmt(errc::unsupported, "video: resample filter %s is not supported for frames",
                           resample_filter_name(f));
    resample_options ro;
    ro.kernels = opt.kernels;
    ro.rule = resample_rule::torch_aa;
    ro.max_bytes = opt.max_bytes;
    if (opt.keep_intermediates) r.intermediates.resize(n);
    const std::size_t tile_floats = std::size_t(3) * std::size_t(m) * std::size_t(m);
    std::vector<status> errs(n);  // one per frame: no shared write between threads
    parallel_for(opt.pool, std::int64_t(n), [&](std::int64_t b, std::int64_t e, int) {
        for (std::int64_t i = b; i < e; ++i) {
            const image_plan& p = r.plans[std::size_t(i)];
            image_view src = frames[i];
            image rgb;
            if (src.channels != 3) {
                rgb.width = src.width;
                rgb.height = src.height;
                rgb.channels = 3;
                rgb.pixels.resize(std::size_t(src.width) * std::size_t(src.height) * 3);
                composite_on_white(src, rgb.pixels.data());
                src = rgb.view();
            }
            image h1, h2;
            image_view v1, v2;
            status s = detail::resize_or_view(src, p.resized_width, p.resized_height, f, ro, h1, v1);
            if (s.is_ok()) s = detail::resize_or_view(v1, m, m, f, ro, h2, v2);
            if (!s.is_ok()) {
                errs[std::size_t(i)] = s;
                continue;
            }
            if (opt.keep_intermediates) {
                r.intermediates[std::size_t(i)].resized_longest_edge = h1.pixels.empty() ? detail::copy_of(v1) : h1;
                r.intermediates[std::size_t(i)].resized_for_encoder = h2.pixels.empty() ? detail::copy_of(v2) : h2;
            }
            detail::write_tile(v2, 0, 0, m, lut, r.pixel_values.data() + std::size_t(i) * tile_floats);
        }
    });
    for (const status& s : errs) SMOLVLM_TRY(s);
    return r;
}

}  // namespace smolvlm
