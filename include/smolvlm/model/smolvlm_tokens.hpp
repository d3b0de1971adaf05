// smolvlm/model/smolvlm_tokens.hpp — SmolVLM's prompt layout: expanding <image> and <video> placeholders into the
// token text the model was trained on, exactly as Idefics3Processor / SmolVLMProcessor do.
//
// The chat template renders one "<image>" per image. The processor then replaces the
// k-th "<image>" by the block of image k (N = image_seq_len <image> tokens per tile):
//
//   split (rows x cols tiles):
//     for each row r:  for each col c: <fake_token_around_image><row_r_col_c> + N x <image>
//                      then "\n"
//     then "\n<fake_token_around_image><global-img>" + N x <image> + "<fake_token_around_image>"
//   unsplit (0 x 0):   <fake_token_around_image><global-img> + N x <image> + <fake_token_around_image>
//
// Only <row_1_col_1> .. <row_6_col_6> are special tokens of the vocabulary; larger grids
// produce the same text ("<row_7_col_1>") which the tokenizer splits as ordinary text.
//
// SmolVLM2 replaces each "<video>" by
//   "You are provided the following series of {frames in words} frames from a {H:MM:SS} [H:MM:SS] video.\n"
//   + per frame: "\nFrame from {MM:SS}:" + the unsplit image block
//   + "\n\n"
// with the frame count in English words (num2words) and the duration as Python's
// str(timedelta(seconds=int(duration))).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "../core/status.hpp"

namespace smolvlm {

// The placeholder / marker strings (tokenizer attributes in HF; these are the defaults).
struct prompt_markers {
    std::string image = "<image>";
    std::string fake_around_image = "<fake_token_around_image>";
    std::string global_image = "<global-img>";
    std::string video = "<video>";
};

// Tile grid of one image (from the preprocessor): 0 x 0 = unsplit.
struct image_grid {
    int rows = 0;
    int cols = 0;
};

// What the video prompt needs from frame sampling.
struct video_prompt_info {
    std::vector<double> timestamps;  // seconds, one per frame
    double duration = 0.0;           // seconds
};

// Caps on untrusted sizes.
inline constexpr int k_max_image_seq_len = 1 << 16;
inline constexpr std::size_t k_max_expanded_prompt_bytes = std::size_t(64) << 20;

// English cardinal numbers as Python's num2words(n) (lang "en") writes them:
// 21 "twenty-one", 101 "one hundred and one", 1234 "one thousand, two hundred and thirty-four".
inline std::string number_to_words(long long n) {
    static const char* small[] = {"zero",    "one",     "two",       "three",    "four",     "five",    "six",
                                  "seven",   "eight",   "nine",      "ten",      "eleven",   "twelve",  "thirteen",
                                  "fourteen", "fifteen", "sixteen",  "seventeen", "eighteen", "nineteen"};
    static const char* tens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    if (n < 0) return "minus " + number_to_words(-n);
    auto below100 = [&](long long v) -> std::string {
        if (v < 20) return small[v];
        std::string s = tens[v / 10];
        if (v % 10) s += std::string("-") + small[v % 10];
        return s;
    };
    auto below1000 = [&](long long v) -> std::string {
        if (v < 100) return below100(v);
        std::string s = std::string(small[v / 100]) + " hundred";
        if (v % 100) s += " and " + below100(v % 100);
        return s;
    };
    if (n < 1000) return below1000(n);
    // Groups of three digits, largest first; num2words joins a trailing group < 100 with
    // " and ", any other with ", ".
    static const char* scale[] = {"", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion"};
    long long groups[7] = {0, 0, 0, 0, 0, 0, 0};
    int ng = 0;
    for (long long v = n; v > 0 && ng < 7; v /= 1000) groups[ng++] = v % 1000;
    std::string out;
    for (int g = ng - 1; g >= 0; --g) {
        if (groups[g] == 0) continue;
        if (!out.empty()) out += (g == 0 && groups[g] < 100) ? " and " : ", ";
        out += below1000(groups[g]) + scale[g];
    }
    return out;
}

// str(datetime.timedelta(seconds=s)) for s >= 0: "H:MM:SS", "1 day, H:MM:SS", "2 days, ...".
inline std::string format_timedelta(long long s) {
    if (s < 0) s = 0;
    const long long days = s / 86400;
    s %= 86400;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    if (days == 0) return buf;
    return std::to_string(days) + (days == 1 ? " day, " : " days, ") + buf;
}

// The block of one image (see the top of the file).
inline std::string image_prompt_string(int rows, int cols, int image_seq_len, const prompt_markers& mk = {}) {
    std::string tokens;
    tokens.reserve(mk.image.size() * std::size_t(image_seq_len > 0 ? image_seq_len : 0));
    for (int i = 0; i < image_seq_len; ++i) tokens += mk.image;
    std::string out;
    if (rows == 0 && cols == 0) {
        out = mk.fake_around_image + mk.global_image + tokens + mk.fake_around_image;
        return out;
    }
    char rc[48];
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            std::snprintf(rc, sizeof rc, "<row_%d_col_%d>", r + 1, c + 1);
            out += mk.fake_around_image;
            out += rc;
            out += tokens;
        }
        out += "\n";
    }
    out += "\n" + mk.fake_around_image + mk.global_image + tokens + mk.fake_around_image;
    return out;
}

// The block of one video (SmolVLMProcessor.process_video).
inline std::string video_prompt_string(const video_prompt_info& v, int image_seq_len, const prompt_markers& mk = {}) {
    std::string out = "You are provided the following series of " + number_to_words((long long)v.timestamps.size()) +
                      " frames from a " + format_timedelta((long long)v.duration) + " [H:MM:SS] video.\n";
    const std::string frame = image_prompt_string(0, 0, image_seq_len, mk);
    char ts[64];
    for (double t : v.timestamps) {
        if (!(t >= 0)) t = 0;
        // (int(second // 60), int(second % 60)) for non-negative seconds.
        // Python: a // b = (a - fmod(a, b)) / b and a % b = fmod(a, b) for a, b > 0.
        const double rem = std::fmod(t, 60.0);
        const long long minutes = (long long)((t - rem) / 60.0);
        const long long secs = (long long)rem;
        std::snprintf(ts, sizeof ts, "\nFrame from %02lld:%02lld:", minutes, secs);
        out += ts;
        out += frame;
    }
    out += "\n\n";
    return out;
}

// Replace, left to right, the k-th image placeholder by image k's block and the k-th video
// placeholder by video k's block. The counts must match exactly (as the processor checks).
inline result<std::string> expand_prompt(std::string_view text, const image_grid* images, std::size_t n_images,
                                         int image_seq_len, const video_prompt_info* videos = nullptr,
                                         std::size_t n_videos = 0, const prompt_markers& mk = {}) {
    if (image_seq_len < 1 || image_seq_len > k_max_image_seq_len)
        return status::fmt(errc::invalid_argument, "prompt: image_seq_len %d is out of range", image_seq_len);
    if (mk.image.empty() || mk.video.empty()) return status(errc::invalid_argument, "prompt: empty placeholder");
    std::string out;
    std::size_t next_image = 0, next_video = 0, pos = 0;
    while (pos <= text.size()) {
        const std::size_t pi = text.find(mk.image, pos);
        const std::size_t pv = text.find(mk.video, pos);
        const std::size_t p = pi < pv ? pi : pv;
        if (p == std::string_view::npos) {
            out.append(text.substr(pos));
            break;
        }
        out.append(text.substr(pos, p - pos));
        if (p == pi) {
            if (next_image >= n_images)
                return status::fmt(errc::invalid_argument, "prompt: more %s placeholders than the %zu images given",
                                   mk.image.c_str(), n_images);
            const image_grid& g = images[next_image++];
            if (g.rows < 0 || g.cols < 0 || g.rows > 1024 || g.cols > 1024 || (g.rows == 0) != (g.cols == 0))
                return status::fmt(errc::invalid_argument, "prompt: bad tile grid %dx%d", g.rows, g.cols);
            const std::size_t need =
                std::size_t(g.rows * g.cols + 1) * std::size_t(image_seq_len) * mk.image.size();
            if (out.size() + need > k_max_expanded_prompt_bytes)
                return status(errc::unsupported, "prompt: the expanded prompt exceeds the size cap");
            out += image_prompt_string(g.rows, g.cols, image_seq_len, mk);
            pos = p + mk.image.size();
        } else {
            if (next_video >= n_videos)
                return status::fmt(errc::invalid_argument, "prompt: more %s placeholders than the %zu videos given",
                                   mk.video.c_str(), n_videos);
            const video_prompt_info& v = videos[next_video++];
            const std::size_t need = (v.timestamps.size() + 1) * std::size_t(image_seq_len) * mk.image.size();
            if (v.timestamps.size() > 100000 || out.size() + need > k_max_expanded_prompt_bytes)
                return status(errc::unsupported, "prompt: the expanded prompt exceeds the size cap");
            out += video_prompt_string(v, image_seq_len, mk);
            pos = p + mk.video.size();
        }
    }
    if (next_image != n_images)
        return status::fmt(errc::invalid_argument, "prompt: %zu %s placeholders for %zu images", next_image,
                           mk.image.c_str(), n_images);
    if (next_video != n_videos)
        return status::fmt(errc::invalid_argument, "prompt: %zu %s placeholders for %zu videos", next_video,
                           mk.video.c_str(), n_videos);
    return out;
}

}  // namespace smolvlm
