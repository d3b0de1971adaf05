// A program built against single_include/smolvlm.hpp alone (no other header of the project
// on its include path), with -fno-exceptions -fno-rtti: tests/capi/capi_test.cpp runs it.
//
//   smolvlm-single-header MODEL_DIR IMAGE|- TEXT N [--json]
//
// One user turn (IMAGE first, then TEXT), N greedy tokens without EOS stopping; prints
// "prompt_ids: ..." and "output_ids: ...". With --json the output is constrained to a JSON
// value (EOS allowed) and printed as "json: TEXT".
#include <smolvlm.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace smolvlm;

namespace {
[[noreturn]] void fail(const status& s) {
    std::fprintf(stderr, "error: %s\n", s.message());
    std::exit(1);
}
void print_ids(const char* label, const std::vector<token_id>& ids) {
    std::printf("%s:", label);
    for (token_id id : ids) std::printf(" %d", int(id));
    std::printf("\n");
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: %s MODEL_DIR IMAGE|- TEXT N [--json]\n", argv[0]);
        return 2;
    }
    const bool json = argc > 5 && std::strcmp(argv[5], "--json") == 0;
    thread_pool pool(2);
    auto m = model::load(argv[1], {}, &pool);
    if (!m) fail(m.error());
    image picture;
    std::vector<media_input> media;
    chat_message user{"user", {}};
    if (std::strcmp(argv[2], "-") != 0) {
        auto img = load_image_file(argv[2]);
        if (!img) fail(img.error());
        picture = std::move(img).value();
        media.push_back(media_input::from_image(picture));
        user.content.push_back(chat_part::make_image());
    }
    user.content.push_back(chat_part::make_text(argv[3]));
    session s(**m, session_options{}, &pool);
    prompt_job job;
    status st = job.begin(**m, s.context(), {user}, media.data(), media.size(), prompt_options{});
    if (st) st = job.finish();
    if (!st) fail(st);
    const prepared_prompt& p = job.prompt();
    st = s.prefill(p.ids, p.features.data(), p.n_image_tokens);
    if (!st) fail(st);
    generate_options g;
    g.max_new_tokens = std::atoi(argv[4]);
    g.ignore_eos = !json;
    result<grammar> gram = json_any_value_grammar();
    if (!gram) fail(gram.error());
    const grammar_vocab vocab = grammar_vocab_for(**m);
    grammar_matcher matcher(gram.value(), vocab);
    if (json) g.grammar = &matcher;
    std::vector<token_id> out;
    std::string text;
    st = s.generate(g, [&](token_id, std::string_view piece) {
        text += piece;
        return true;
    }, &out);
    if (!st) fail(st);
    print_ids("prompt_ids", p.ids);
    print_ids("output_ids", out);
    if (json) std::printf("json: %s\n", text.c_str());
    return 0;
}
