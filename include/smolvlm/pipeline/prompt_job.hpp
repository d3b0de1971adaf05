// smolvlm/pipeline/prompt_job.hpp — from a conversation with pictures to prompt ids and image features.
//
// The textbook page of the multimodal path (Idefics3/SmolVLM processor + get_image_features):
//
//   messages --render_chat--> text with <image> / <video> placeholders
//   images   --preprocess---> tiles [n_tiles, 3, m, m] (+ rows/cols per image)      processor
//   text + rows/cols --expand_prompt--> <fake_token_around_image><row_1_col_1><image>...
//   expanded text --tokenizer--> ids
//   tiles --vision encoder + projector--> features [n_tiles * seq, Dt]               model/smolvlm.hpp
//   session.prefill(ids, features)  splices feature rows into the <image> positions
//
// Mistral 3 (config arch mistral3) takes the same path with its own processor and layout
// (pipeline/preprocess_pixtral.hpp): no tiles, one [3, H, W] image per picture, each [IMG]
// expanded to rows of [IMG] x cols + [IMG_BREAK] ([IMG_END] last); a step encodes one
// picture. The prompt's length is known from the image sizes alone, so a prompt longer than
// prompt_options::max_tokens is refused before any pixel buffer is made.
//
// A `prompt_job` does the cheap steps in begin() and then encodes one tile per step(),
// so a game can spread a picture's vision encoding over frames. Tiles already seen
// (same pixels) are taken from an `image_feature_cache`, so a second question about the
// same picture does not encode it again.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../io/image.hpp"
#include "../model/smolvlm.hpp"
#include "../model/vision.hpp"
#include "../text/chat_template.hpp"
#include "loader.hpp"
#include "preprocess.hpp"
#include "preprocess_pixtral.hpp"

namespace smolvlm {

// One picture or one video of a conversation, in the order of the placeholders.
struct media_input {
    enum class kind : std::uint8_t { image, video };
    kind type = kind::image;
    image_view picture;                 // kind::image (not copied; must outlive begin())
    int orientation = 1;                // EXIF orientation of `picture`
    std::vector<image_view> frames;     // kind::video: the sampled frames
    std::vector<double> timestamps;     // seconds, one per frame
    double duration = 0.0;              // seconds

    static media_input from_image(const image& img) {
        media_input m;
        m.picture = img.view();
        m.orientation = img.orientation;
        return m;
    }
};

// Features of tiles already encoded, keyed by a hash of the tile's pixel values.
class image_feature_cache {
public:
    explicit image_feature_cache(std::size_t max_bytes = std::size_t(256) << 20) : max_bytes_(max_bytes) {}

    const std::vector<float>* find(std::uint64_t key) const {
        auto it = map_.find(key);
        return it == map_.end() ? nullptr : &it->second;
    }
    void insert(std::uint64_t key, const float* v, std::size_t n) {
        if (n * sizeof(float) > max_bytes_) return;
        while (bytes_ + n * sizeof(float) > max_bytes_ && !order_.empty()) {  // evict oldest
            auto it = map_.find(order_.front());
            if (it != map_.end()) {
                bytes_ -= it->second.size() * sizeof(float);
                map_.erase(it);
            }
            order_.erase(order_.begin());
        }
        if (map_.emplace(key, std::vector<float>(v, v + n)).second) {
            bytes_ += n * sizeof(float);
            order_.push_back(key);
        }
    }
    std::size_t size() const { return map_.size(); }
    std::size_t hits() const { return hits_; }
    void count_hit() { ++hits_; }

    // FNV-1a over the bytes of a tile.
    static std::uint64_t hash(const void* data, std::size_t n) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        std::uint64_t h = 1469598103934665603ULL;
        for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
        return h ^ n;
    }

private:
    std::unordered_map<std::uint64_t, std::vector<float>> map_;
    std::vector<std::uint64_t> order_;
    std::size_t bytes_ = 0, max_bytes_;
    std::size_t hits_ = 0;
};

struct prompt_options {
    chat_options chat;
    resize_mode mode = resize_mode::exact;   // token_budget: no upscaling of small images
    bool load_image_convention = false;      // convert to RGB (and apply EXIF) before resizing
    bool keep_traces = false;                // capture per-tile vision intermediates
    std::int64_t max_tokens = 0;             // > 0: refuse longer prompts (e.g. the session's n_ctx)
};

// Everything prefill needs, plus what --dump and the timing summary report.
struct prepared_prompt {
    std::string chat_text;          // rendered template
    std::string expanded_text;      // after <image>/<video> expansion
    std::vector<token_id> ids;      // [L]
    std::vector<float> features;    // [n_image_tokens, Dt] in prompt order
    std::int64_t n_image_tokens = 0;
    int n_images = 0, n_videos = 0;
    int n_tiles = 0;                // tiles to encode (padding dropped)
    int n_tiles_cached = 0;         // of which came from the cache
    double preprocess_ms = 0.0, encode_ms = 0.0;
    tensor<float> pixel_values;                 // [1, n_tiles, 3, m, m]
    tensor<std::uint8_t> pixel_attention_mask;  // [1, n_tiles, m, m]
    std::vector<image_plan> plans;              // per image / video frame
    std::vector<vision_trace> traces;           // per tile, with keep_traces
    // Mistral 3 (Pixtral processor): per picture, unpadded; traces are per picture and
    // concatenate (in prompt order) into the reference's one-sequence stages.
    std::vector<tensor<float>> image_pixels;    // [3, H, W] each
    std::vector<pixtral_plan> pixtral_plans;
    std::vector<image> resized_images;          // with keep_traces: RGB after the resize (image{k}_resized)
    bool per_image_traces = false;
};

class prompt_job {
public:
    // Render, preprocess, expand and tokenize. Cheap compared to the vision encoder.
    status begin(const model& m, const nn::context& ctx, const std::vector<chat_message>& messages,
                 const media_input* media, std::size_t n_media, const prompt_options& opt,
                 image_feature_cache* cache = nullptr) {
        m_ = &m;
        ctx_ = ctx;
        cache_ = cache;
        next_tile_ = 0;
        p_ = prepared_prompt();
        // Placeholders in the messages must match the media given.
        std::size_t want_images = 0, want_videos = 0;
        for (const auto& msg : messages)
            for (const auto& part : msg.content) {
                if (part.type == chat_part::kind::image) ++want_images;
                if (part.type == chat_part::kind::video) ++want_videos;
            }
        std::size_t got_images = 0, got_videos = 0;
        for (std::size_t i = 0; i < n_media; ++i) (media[i].type == media_input::kind::image ? got_images : got_videos)++;
        if (want_images != got_images || want_videos != got_videos)
            return status::fmt(errc::invalid_argument, "the messages have %zu image and %zu video places but %zu images and "
                               "%zu videos were given", want_images, want_videos, got_images, got_videos);
        if (n_media > 0 && !m.config().has_vision)
            return status(errc::invalid_argument, "this model has no vision tower: it cannot take images");
        SMOLVLM_ASSIGN_OR_RETURN(p_.chat_text, render_chat(m.chat_kind(), messages, opt.chat));
        if (m.config().arch == model_arch::mistral3) return begin_pixtral(m, media, n_media, opt);

        const auto t0 = std::chrono::steady_clock::now();
        std::vector<image_grid> grids;
        std::vector<video_prompt_info> videos;
        std::vector<tensor<float>> parts_px;
        std::vector<tensor<std::uint8_t>> parts_mask;
        if (n_media > 0) {
            const image_processor_config& icfg = m.image_config();
            preprocess_options po;
            po.mode = opt.mode;
            po.load_image_convention = opt.load_image_convention;
            po.pool = ctx.pool;
            po.kernels = &ctx.kt;
            // One call per picture or video, in placeholder order, so the tiles follow the
            // prompt even when images and videos are mixed (a picture's tiles do not depend
            // on the other pictures of the prompt: batch padding only applies across prompts).
            for (std::size_t i = 0; i < n_media; ++i) {
                const media_input& mi = media[i];
                processed_images part;
                if (mi.type == media_input::kind::image) {
                    const image_input one{mi.picture, mi.orientation};
                    SMOLVLM_ASSIGN_OR_RETURN(part, preprocess_images(&one, 1, icfg, po));
                    for (const image_plan& pl : part.plans) grids.push_back(image_grid{pl.rows, pl.cols});
                } else {
                    if (mi.frames.empty()) return status(errc::invalid_argument, "a video has no frames");
                    if (mi.timestamps.size() != mi.frames.size())
                        return status(errc::invalid_argument, "a video needs one timestamp per frame");
                    SMOLVLM_ASSIGN_OR_RETURN(part, preprocess_video_frames(mi.frames.data(), mi.frames.size(), icfg, po));
                    videos.push_back(video_prompt_info{mi.timestamps, mi.duration});
                }
                p_.plans.insert(p_.plans.end(), part.plans.begin(), part.plans.end());
                parts_px.push_back(std::move(part.pixel_values));
                parts_mask.push_back(std::move(part.pixel_attention_mask));
            }
            SMOLVLM_TRY(concat_tiles(parts_px, parts_mask));
            p_.n_images = int(got_images);
            p_.n_videos = int(got_videos);
        }
        p_.preprocess_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

        if (n_media > 0) {
            SMOLVLM_ASSIGN_OR_RETURN(p_.expanded_text,
                                     expand_prompt(p_.chat_text, grids.data(), grids.size(), int(m.config().image_seq_len()),
                                                   videos.data(), videos.size()));
        } else {
            p_.expanded_text = p_.chat_text;
        }
        SMOLVLM_ASSIGN_OR_RETURN(p_.ids, m.tok().try_encode(p_.expanded_text));  // parse_special, no BOS added
        SMOLVLM_TRY(check_length(opt));
        const token_id img = token_id(m.config().image_token_id);
        for (token_id id : p_.ids) p_.n_image_tokens += (m.config().has_vision && id == img) ? 1 : 0;

        // Which tiles to encode: the reference drops all-zero padding tiles.
        tiles_.clear();
        const std::int64_t total = p_.pixel_values.numel() ? p_.pixel_values.dim(1) : 0;
        for (std::int64_t t = 0; t < total; ++t)
            if (!is_padding_tile(tile_pixels(t), m.config().vision.image_size, m.config().vision.image_size))
                tiles_.push_back(t);
        p_.n_tiles = int(tiles_.size());
        const std::int64_t seq = m.config().image_seq_len();
        if (p_.n_image_tokens != std::int64_t(tiles_.size()) * seq)
            return status::fmt(errc::invalid_argument,
                               "the prompt has %lld <image> tokens but the images give %zu tiles of %lld (text that spells "
                               "<image> itself?)", (long long)p_.n_image_tokens, tiles_.size(), (long long)seq);
        p_.features.assign(std::size_t(p_.n_image_tokens * m.config().text.hidden_size), 0.0f);
        if (opt.keep_traces) p_.traces.resize(tiles_.size());
        return status::ok();
    }

    bool done() const { return next_tile_ >= tiles_.size(); }
    std::size_t tiles_left() const { return tiles_.size() - next_tile_; }

    // Encode one tile (or take it from the cache).
    status step() {
        if (done()) return status::ok();
        if (p_.per_image_traces) return step_pixtral();
        const auto t0 = std::chrono::steady_clock::now();
        const model_config& cfg = m_->config();
        const std::int64_t t = tiles_[next_tile_];
        const std::int64_t m = cfg.vision.image_size;
        const std::size_t out_n = std::size_t(cfg.image_seq_len() * cfg.text.hidden_size);
        float* out = p_.features.data() + next_tile_ * out_n;
        const float* px = tile_pixels(t);
        const std::uint8_t* mask = p_.pixel_attention_mask.data() + t * m * m;
        const bool tracing = !p_.traces.empty();
        std::uint64_t key = 0;
        const std::vector<float>* hit = nullptr;
        if (cache_ && !tracing) {
            key = image_feature_cache::hash(px, std::size_t(3 * m * m) * sizeof(float)) ^
                  image_feature_cache::hash(mask, std::size_t(m * m));
            hit = cache_->find(key);
        }
        if (hit && hit->size() == out_n) {
            std::memcpy(out, hit->data(), out_n * sizeof(float));
            cache_->count_hit();
            ++p_.n_tiles_cached;
        } else {
            const model_weights& w = m_->weights();
            SMOLVLM_TRY(encode_tile(ctx_, *w.encoder, *w.projector, vision_image{px, m, m, mask}, out, ws_,
                                    tracing ? &p_.traces[next_tile_] : nullptr));
            if (cache_ && !tracing) cache_->insert(key, out, out_n);
        }
        ++next_tile_;
        p_.encode_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return status::ok();
    }

    // Run every remaining step.
    status finish() {
        while (!done()) SMOLVLM_TRY(step());
        return status::ok();
    }

    prepared_prompt& prompt() { return p_; }

private:
    status check_length(const prompt_options& opt) const {
        if (opt.max_tokens > 0 && std::int64_t(p_.ids.size()) > opt.max_tokens)
            return status::fmt(errc::invalid_argument,
                               "the prompt has %zu tokens (%lld of them image tokens) but at most %lld fit in the context",
                               p_.ids.size(), (long long)p_.n_image_tokens, (long long)opt.max_tokens);
        return status::ok();
    }

    // Mistral 3: plan every picture, expand and tokenize, check the length, then preprocess.
    status begin_pixtral(const model& m, const media_input* media, std::size_t n_media, const prompt_options& opt) {
        const pixtral_processor_config& pc = m.pixtral_config();
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n_media; ++i) {
            if (media[i].type != media_input::kind::image)
                return status(errc::unsupported, "Mistral 3 takes images, not videos");
            int w = media[i].picture.width, h = media[i].picture.height;
            if (opt.load_image_convention && media[i].orientation >= 5 && media[i].orientation <= 8) std::swap(w, h);
            SMOLVLM_ASSIGN_OR_RETURN(pixtral_plan pl, plan_pixtral_image(w, h, pc));
            p_.pixtral_plans.push_back(pl);
        }
        SMOLVLM_ASSIGN_OR_RETURN(p_.expanded_text,
                                 expand_pixtral_prompt(p_.chat_text, p_.pixtral_plans.data(), p_.pixtral_plans.size(), pc));
        SMOLVLM_ASSIGN_OR_RETURN(p_.ids, m.tok().try_encode(p_.expanded_text));  // the text has its own <s>
        const token_id img = token_id(m.config().image_token_id);
        for (token_id id : p_.ids) p_.n_image_tokens += id == img ? 1 : 0;
        std::int64_t want = 0;
        for (const pixtral_plan& pl : p_.pixtral_plans) want += pl.n_image_tokens();
        if (p_.n_image_tokens != want)
            return status::fmt(errc::invalid_argument, "the prompt has %lld %s tokens but the images give %lld",
                               (long long)p_.n_image_tokens, pc.image_token.c_str(), (long long)want);
        SMOLVLM_TRY(check_length(opt));  // before any pixel buffer exists

        pixtral_preprocess_options po;
        po.load_image_convention = opt.load_image_convention;
        po.kernels = &ctx_.kt;
        po.pool = ctx_.pool;
        p_.image_pixels.resize(n_media);
        if (opt.keep_traces) p_.resized_images.resize(n_media);
        for (std::size_t i = 0; i < n_media; ++i) {
            image_view src = media[i].picture;
            image oriented;
            if (opt.load_image_convention && media[i].orientation >= 2 && media[i].orientation <= 8) {
                oriented = apply_orientation(detail::copy_of(src), media[i].orientation);
                src = oriented.view();
            }
            SMOLVLM_TRY(preprocess_pixtral_image(src, p_.pixtral_plans[i], pc, po, p_.image_pixels[i],
                                                 opt.keep_traces ? &p_.resized_images[i] : nullptr));
        }
        p_.preprocess_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        p_.n_images = int(n_media);
        p_.per_image_traces = true;
        tiles_.clear();
        for (std::size_t i = 0; i < n_media; ++i) tiles_.push_back(std::int64_t(i));
        p_.n_tiles = int(n_media);
        p_.features.assign(std::size_t(p_.n_image_tokens * m.config().text.hidden_size), 0.0f);
        if (opt.keep_traces) p_.traces.resize(n_media);
        return status::ok();
    }

    // Mistral 3: encode picture next_tile_ (or take it from the cache).
    status step_pixtral() {
        const auto t0 = std::chrono::steady_clock::now();
        const std::size_t i = next_tile_;
        const pixtral_plan& pl = p_.pixtral_plans[i];
        const std::int64_t Dt = m_->config().text.hidden_size;
        std::int64_t row0 = 0;
        for (std::size_t k = 0; k < i; ++k) row0 += p_.pixtral_plans[k].n_image_tokens();
        float* out = p_.features.data() + row0 * Dt;
        const std::size_t out_n = std::size_t(pl.n_image_tokens() * Dt);
        const tensor<float>& px = p_.image_pixels[i];
        const bool tracing = !p_.traces.empty();
        std::uint64_t key = 0;
        const std::vector<float>* hit = nullptr;
        if (cache_ && !tracing) {
            key = image_feature_cache::hash(px.data(), px.nbytes()) ^
                  (std::uint64_t(pl.resized_height) << 32 | std::uint64_t(pl.resized_width));
            hit = cache_->find(key);
        }
        if (hit && hit->size() == out_n) {
            std::memcpy(out, hit->data(), out_n * sizeof(float));
            cache_->count_hit();
            ++p_.n_tiles_cached;
        } else {
            const model_weights& w = m_->weights();
            SMOLVLM_TRY(encode_tile(ctx_, *w.encoder, *w.projector,
                                    vision_image{px.data(), pl.resized_height, pl.resized_width, nullptr}, out, ws_,
                                    tracing ? &p_.traces[i] : nullptr));
            if (cache_ && !tracing) cache_->insert(key, out, out_n);
        }
        ++next_tile_;
        p_.encode_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return status::ok();
    }

    const float* tile_pixels(std::int64_t t) const {
        const std::int64_t m = p_.pixel_values.dim(3);
        return p_.pixel_values.data() + t * 3 * m * m;
    }

    status concat_tiles(std::vector<tensor<float>>& px, std::vector<tensor<std::uint8_t>>& mk) {
        if (px.size() == 1) {
            p_.pixel_values = std::move(px[0]);
            p_.pixel_attention_mask = std::move(mk[0]);
            return status::ok();
        }
        std::int64_t n = 0, m = 0;
        for (const auto& t : px) {
            n += t.dim(1);
            m = t.dim(3);
        }
        SMOLVLM_TRY(p_.pixel_values.resize({1, n, 3, m, m}));
        SMOLVLM_TRY(p_.pixel_attention_mask.resize({1, n, m, m}));
        std::size_t off = 0, moff = 0;
        for (std::size_t i = 0; i < px.size(); ++i) {
            std::memcpy(p_.pixel_values.data() + off, px[i].data(), px[i].nbytes());
            std::memcpy(p_.pixel_attention_mask.data() + moff, mk[i].data(), mk[i].nbytes());
            off += std::size_t(px[i].numel());
            moff += std::size_t(mk[i].numel());
        }
        return status::ok();
    }

    const model* m_ = nullptr;
    nn::context ctx_;
    image_feature_cache* cache_ = nullptr;
    prepared_prompt p_;
    std::vector<std::int64_t> tiles_;
    std::size_t next_tile_ = 0;
    vision_workspace ws_;  // the vision modules' buffers, reused for every tile
};

}  // namespace smolvlm
