// embed-example — the embedding API in one page: a game asks the model about a frame it
// rendered, spreading the work over its frame loop. No files but the model; no exceptions.
//
//   embed-example MODEL_DIR [QUESTION]
#include <smolvlm.hpp>

#include <cstdio>
#include <vector>

using namespace smolvlm;

int main(int argc, char** argv) {
    if (argc < 2) return std::fprintf(stderr, "usage: embed-example MODEL_DIR [QUESTION]\n"), 1;
    thread_pool pool(2);                                       // the caller decides the threads
    auto loaded = model::load(argv[1], {}, &pool);             // mmap'd weights, shared read-only
    if (!loaded) return std::fprintf(stderr, "error: %s\n", loaded.error().message()), 1;
    const model& m = *loaded.value();

    std::vector<std::uint8_t> rgb(96 * 64 * 3);                // a frame from the renderer: 96x64 RGB8
    for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t((i * 7) % 251);
    const frame_view frame{rgb.data(), 96, 64, 96 * 3, pixel_format::rgb8};
    auto view = as_image_view(frame);                          // no copy for RGB8
    if (!view) return std::fprintf(stderr, "error: %s\n", view.error().message()), 1;
    media_input picture;
    picture.picture = view.value();

    chat_message ask{"user", {}};
    if (m.config().has_vision) ask.content.push_back(chat_part::make_image());
    ask.content.push_back(chat_part::make_text(argc > 2 ? argv[2] : "What is in this frame?"));

    session s(m, session_options{}, &pool);                    // KV cache + scratch: one per conversation
    prompt_job job;                                            // tokenize, preprocess, then encode tile by tile
    status st = job.begin(m, s.context(), {ask}, &picture, m.config().has_vision ? 1 : 0, prompt_options{});
    while (st.is_ok() && !job.done()) st = job.step();         // one tile per game frame
    const prepared_prompt& p = job.prompt();
    if (st.is_ok()) st = s.prefill_begin(p.ids, p.features.data(), p.n_image_tokens);
    while (st.is_ok() && !s.prefill_done()) st = s.prefill_step(32);  // 32 prompt tokens per game frame
    generate_options g;
    g.max_new_tokens = 32;
    if (st.is_ok()) st = s.generate(g, [](token_id, std::string_view piece) {   // streamed answer
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        return true;                                           // false would cancel
    });
    if (!st) return std::fprintf(stderr, "\nerror: %s\n", st.message()), 1;
    std::printf("\n");
    return 0;
}
