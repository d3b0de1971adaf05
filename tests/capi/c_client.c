/* tests/capi/c_client.c — a real C99 client of the C API (built with -std=c99 -Wall -Wextra
 * -Werror -pedantic against the smolvlm::c library). tests/capi/capi_test.cpp runs it.
 *
 *   c_client golden MODEL_DIR IMAGE TEXT GOLDEN_JSON
 *       one user turn (IMAGE, then TEXT), 16 greedy tokens without EOS stopping: the prompt
 *       and output ids must be the golden ones; then the same picture as a raw frame (served
 *       by the image cache), the model loaded from memory buffers, cancellation, the params
 *       versioning rules, errors. Prints "ok" and exits 0 when every check passed.
 *   c_client ids MODEL_DIR IMAGE|- TEXT N
 *       prints "prompt_ids: ..." and "output_ids: ..." (N greedy tokens, EOS ignored).
 *   c_client schema MODEL_DIR SCHEMA_FILE|--json N_SEEDS N_TOKENS IMAGE|-
 *       N_SEEDS outputs sampled at temperature 1 under the schema, each printed as
 *       "output LEN STOP\n" + LEN bytes + "\n".
 */
#include <smolvlm.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_failures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "c_client:%d: check failed: %s\n", __LINE__, #cond); \
            ++g_failures;                                                        \
        }                                                                        \
    } while (0)

static void die(const char* what) {
    fprintf(stderr, "c_client: %s: %s\n", what, smolvlm_last_error());
    exit(1);
}

static unsigned char* read_file(const char* path, size_t* size) {
    FILE* f = fopen(path, "rb");
    unsigned char* data = NULL;
    size_t cap = 0, n = 0;
    if (!f) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            unsigned char* bigger;
            cap = cap ? cap * 2 : 65536;
            bigger = (unsigned char*)realloc(data, cap + 1);
            if (!bigger) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = bigger;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    data[n] = 0;
    *size = n;
    return data;
}

/* The integers of the first JSON array after "key": in text (enough for golden.json). */
static size_t json_ints(const char* text, const char* key, long* out, size_t cap) {
    char pattern[64];
    const char* p;
    size_t n = 0;
    sprintf(pattern, "\"%s\": [", key);
    p = strstr(text, pattern);
    if (!p) return 0;
    p += strlen(pattern);
    while (*p && *p != ']' && n < cap) {
        char* end;
        long v = strtol(p, &end, 10);
        if (end == p) {
            ++p;
            continue;
        }
        out[n++] = v;
        p = end;
    }
    return n;
}

static void print_ids(const char* label, const int32_t* ids, size_t n) {
    size_t i;
    printf("%s:", label);
    for (i = 0; i < n; ++i) printf(" %ld", (long)ids[i]);
    printf("\n");
}

/* on_token for counting and cancelling: user_data points at an int budget (-1: unlimited). */
static int count_tokens(int32_t token, const char* piece, size_t len, void* user_data) {
    int* left = (int*)user_data;
    (void)token;
    if (strlen(piece) != len) return 0; /* pieces are NUL-terminated with their length */
    if (*left < 0) return 1;
    --*left;
    return *left > 0;
}

static smolvlm_prompt* one_turn(const char* image, const char* text) {
    smolvlm_prompt* p = smolvlm_prompt_create();
    if (!p || smolvlm_prompt_add_message(p, "user") != SMOLVLM_OK) die("prompt");
    if (image && strcmp(image, "-") != 0 && smolvlm_prompt_add_image_file(p, image) != SMOLVLM_OK) die(image);
    if (smolvlm_prompt_add_text(p, text) != SMOLVLM_OK) die("prompt text");
    return p;
}

static int same_ids(const int32_t* a, size_t na, const long* b, size_t nb) {
    size_t i;
    if (na != nb) return 0;
    for (i = 0; i < na; ++i)
        if ((long)a[i] != b[i]) return 0;
    return 1;
}

static int run_golden(const char* dir, const char* image, const char* text, const char* golden_path) {
    static long want_prompt[8192], want_out[64];
    size_t n_want_prompt, n_want_out, n, size;
    unsigned char* golden = read_file(golden_path, &size);
    smolvlm_model* model = NULL;
    smolvlm_session* s = NULL;
    smolvlm_image_cache* cache = smolvlm_image_cache_create(0);
    smolvlm_session_params sp = smolvlm_session_default_params();
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    smolvlm_generate_result res;
    smolvlm_prompt* p;
    const int32_t* ids;
    char path[4096];

    if (!golden) die(golden_path);
    n_want_prompt = json_ints((const char*)golden, "input_ids", want_prompt, 8192);
    n_want_out = json_ints((const char*)golden, "generated_ids", want_out, 64);
    free(golden);
    CHECK(n_want_prompt > 0 && n_want_out == 16);

    CHECK(strcmp(smolvlm_version(), "") != 0);
    CHECK(smolvlm_c_api_version() >= SMOLVLM_C_API_VERSION);
    CHECK(strcmp(smolvlm_status_name(SMOLVLM_ERR_BAD_FORMAT), "bad_format") == 0);

    /* memory_required from config.json alone */
    {
        smolvlm_memory mem;
        unsigned char* cfg;
        sprintf(path, "%s/config.json", dir);
        cfg = read_file(path, &size);
        if (!cfg) die(path);
        mem.struct_size = sizeof mem;
        if (smolvlm_memory_required((const char*)cfg, size, NULL, &sp, &mem) != SMOLVLM_OK) die("memory_required");
        CHECK(mem.mapped_bytes > 0 && mem.session_bytes > 0 && mem.kv_bytes_per_token > 0 && mem.vision_bytes > 0);
        CHECK(mem.total_bytes == mem.weights_bytes + mem.session_bytes + mem.vision_bytes);
        free(cfg);
    }

    if (smolvlm_model_load(dir, NULL, &model) != SMOLVLM_OK) die("smolvlm_model_load");
    {
        smolvlm_model_info info;
        info.struct_size = sizeof info;
        CHECK(smolvlm_model_get_info(model, &info) == SMOLVLM_OK);
        CHECK(info.has_vision == 1 && info.vocab_size > 0 && strcmp(info.chat_template, "smolvlm") == 0);
    }
    sp.n_threads = 2;
    sp.image_cache = cache;
    CHECK(smolvlm_session_memory_required(model, &sp) > 0);
    if (smolvlm_session_create(model, &sp, &s) != SMOLVLM_OK) die("smolvlm_session_create");

    /* 1. the image file: golden prompt and output ids */
    gp.max_new_tokens = 16;
    gp.ignore_eos = 1;
    res.struct_size = sizeof res;
    p = one_turn(image, text);
    if (smolvlm_session_generate(s, p, &gp, &res) != SMOLVLM_OK) die("generate");
    ids = smolvlm_session_prompt_tokens(s, &n);
    CHECK(same_ids(ids, n, want_prompt, n_want_prompt));
    ids = smolvlm_session_output_tokens(s, &n);
    CHECK(same_ids(ids, n, want_out, n_want_out));
    print_ids("output_ids", ids, n);
    CHECK(res.stop_reason == SMOLVLM_STOP_LENGTH && res.generated_tokens == 16 && res.n_tiles > 0);
    CHECK(res.n_tiles_cached == 0);
    smolvlm_prompt_free(p);

    /* 2. the same picture as a raw frame: same ids, every tile from the image cache */
    {
        smolvlm_image img;
        unsigned char* bytes = read_file(image, &size);
        if (!bytes) die(image);
        if (smolvlm_image_decode(bytes, size, &img) != SMOLVLM_OK) die("smolvlm_image_decode");
        free(bytes);
        CHECK(img.channels == 3 || img.channels == 4);
        p = smolvlm_prompt_create();
        CHECK(smolvlm_prompt_add_message(p, "user") == SMOLVLM_OK);
        CHECK(smolvlm_prompt_add_image_pixels(p, img.pixels, img.width, img.height, 0,
                                              img.channels == 3 ? SMOLVLM_PIXEL_RGB8 : SMOLVLM_PIXEL_RGBA8) == SMOLVLM_OK);
        smolvlm_image_free(&img);  /* the prompt holds its own copy */
        CHECK(smolvlm_prompt_add_text(p, text) == SMOLVLM_OK);
        if (smolvlm_session_generate(s, p, &gp, &res) != SMOLVLM_OK) die("generate (raw frame)");
        ids = smolvlm_session_output_tokens(s, &n);
        CHECK(same_ids(ids, n, want_out, n_want_out));
        CHECK(res.n_tiles_cached == res.n_tiles && smolvlm_image_cache_hits(cache) > 0);
        CHECK(res.prompt_tokens_computed < res.prompt_tokens); /* the KV cache prefix was reused */
        smolvlm_prompt_free(p);
    }

    /* 3. cancellation from the token callback */
    {
        int budget = 3;
        p = one_turn(image, text);
        gp.on_token = count_tokens;
        gp.user_data = &budget;
        CHECK(smolvlm_session_generate(s, p, &gp, &res) == SMOLVLM_OK);
        CHECK(res.stop_reason == SMOLVLM_STOP_CANCELLED && res.generated_tokens == 3);
        gp.on_token = NULL;
        gp.user_data = NULL;
        smolvlm_prompt_free(p);
    }

    /* 4. params versioning (ABI notes in smolvlm.h) */
    {
        struct {
            smolvlm_generate_params p;
            unsigned char newer_fields[16];
        } big;
        smolvlm_generate_params old = gp;
        p = one_turn(image, text);
        old.struct_size = 8; /* below the first version */
        CHECK(smolvlm_session_generate(s, p, &old, NULL) == SMOLVLM_ERR_INVALID_ARGUMENT);
        CHECK(strstr(smolvlm_last_error(), "struct_size") != NULL);
        memset(&big, 0, sizeof big);
        smolvlm_generate_params_init(&big.p, sizeof big);
        CHECK(big.p.struct_size == sizeof big && big.p.max_new_tokens == 256 && big.newer_fields[0] == 0);
        big.p.max_new_tokens = 2;
        CHECK(smolvlm_session_generate(s, p, &big.p, NULL) == SMOLVLM_OK); /* unknown fields all zero: fine */
        big.newer_fields[3] = 1;
        CHECK(smolvlm_session_generate(s, p, &big.p, NULL) == SMOLVLM_ERR_UNSUPPORTED);
        smolvlm_prompt_free(p);
    }

    /* 5. errors are codes plus a message, never a crash */
    {
        smolvlm_model* bad = NULL;
        smolvlm_grammar* g = NULL;
        CHECK(smolvlm_model_load("/nonexistent/model", NULL, &bad) != SMOLVLM_OK && bad == NULL);
        CHECK(strlen(smolvlm_last_error()) > 0);
        CHECK(smolvlm_model_load_gguf("/nonexistent/model.gguf", NULL, NULL, &bad) != SMOLVLM_OK && bad == NULL);
        CHECK(smolvlm_grammar_from_gbnf("root ::= root \"x\"", NULL, &g) != SMOLVLM_OK && g == NULL);
        CHECK(smolvlm_grammar_from_json_schema("{\"type\":\"integer\",\"minimum\":5,\"maximum\":1}", &g) != SMOLVLM_OK);
        p = smolvlm_prompt_create();
        CHECK(smolvlm_prompt_add_text(p, "no message yet") == SMOLVLM_ERR_INVALID_ARGUMENT);
        CHECK(smolvlm_prompt_add_message(p, "user") == SMOLVLM_OK);
        CHECK(smolvlm_prompt_add_image_encoded(p, "not an image", 12) == SMOLVLM_ERR_BAD_FORMAT);
        CHECK(smolvlm_prompt_add_image_pixels(p, NULL, 4, 4, 0, SMOLVLM_PIXEL_RGB8) == SMOLVLM_ERR_INVALID_ARGUMENT);
        smolvlm_prompt_free(p);
    }
    smolvlm_session_free(s);

    /* 6. the same model from memory buffers */
    {
        static const char* const names[] = {"config.json", "tokenizer.json", "model.safetensors", "generation_config.json",
                                             "tokenizer_config.json", "chat_template.json", "preprocessor_config.json",
                                             "processor_config.json"};
        unsigned char* data[8];
        size_t sizes[8];
        smolvlm_model_buffers b = smolvlm_model_default_buffers();
        smolvlm_buffer* slots[8];
        smolvlm_model* mm = NULL;
        int i;
        slots[0] = &b.config_json;
        slots[1] = &b.tokenizer_json;
        slots[2] = &b.safetensors;
        slots[3] = &b.generation_config_json;
        slots[4] = &b.tokenizer_config_json;
        slots[5] = &b.chat_template;
        slots[6] = &b.preprocessor_config_json;
        slots[7] = &b.processor_config_json;
        for (i = 0; i < 8; ++i) {
            sprintf(path, "%s/%s", dir, names[i]);
            data[i] = read_file(path, &sizes[i]);
            slots[i]->data = data[i];
            slots[i]->size = data[i] ? sizes[i] : 0;
        }
        if (smolvlm_model_load_from_memory(&b, NULL, &mm) != SMOLVLM_OK) die("smolvlm_model_load_from_memory");
        for (i = 0; i < 8; ++i)
            if (i != 2) free(data[i]); /* text files are parsed: only the weights must stay */
        if (smolvlm_session_create(mm, NULL, &s) != SMOLVLM_OK) die("session (memory model)");
        p = one_turn(image, text);
        if (smolvlm_session_generate(s, p, &gp, NULL) != SMOLVLM_OK) die("generate (memory model)");
        ids = smolvlm_session_output_tokens(s, &n);
        CHECK(same_ids(ids, n, want_out, n_want_out));
        smolvlm_prompt_free(p);
        smolvlm_session_free(s);
        smolvlm_model_free(mm);
        free(data[2]);
    }

    smolvlm_image_cache_free(cache);
    smolvlm_model_free(model);
    if (g_failures) {
        fprintf(stderr, "c_client: %d check(s) failed\n", g_failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int run_ids(const char* dir, const char* image, const char* text, int n_tokens) {
    smolvlm_model* model = NULL;
    smolvlm_session* s = NULL;
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    smolvlm_prompt* p;
    const int32_t* ids;
    size_t n;
    if (smolvlm_model_load(dir, NULL, &model) != SMOLVLM_OK) die("smolvlm_model_load");
    if (smolvlm_session_create(model, NULL, &s) != SMOLVLM_OK) die("smolvlm_session_create");
    gp.max_new_tokens = n_tokens;
    gp.ignore_eos = 1;
    p = one_turn(image, text);
    if (smolvlm_session_generate(s, p, &gp, NULL) != SMOLVLM_OK) die("generate");
    ids = smolvlm_session_prompt_tokens(s, &n);
    print_ids("prompt_ids", ids, n);
    ids = smolvlm_session_output_tokens(s, &n);
    print_ids("output_ids", ids, n);
    smolvlm_prompt_free(p);
    smolvlm_session_free(s);
    smolvlm_model_free(model);
    return 0;
}

static int run_schema(const char* dir, const char* schema_file, int n_seeds, int n_tokens, const char* image) {
    smolvlm_model* model = NULL;
    smolvlm_session* s = NULL;
    smolvlm_grammar* g = NULL;
    smolvlm_generate_params gp = smolvlm_generate_default_params();
    smolvlm_generate_result res;
    smolvlm_prompt* p;
    int seed;
    if (strcmp(schema_file, "--json") == 0) {
        if (smolvlm_grammar_json(&g) != SMOLVLM_OK) die("smolvlm_grammar_json");
    } else {
        size_t size;
        unsigned char* schema = read_file(schema_file, &size);
        if (!schema) die(schema_file);
        if (smolvlm_grammar_from_json_schema((const char*)schema, &g) != SMOLVLM_OK) die("schema");
        free(schema);
    }
    if (smolvlm_model_load(dir, NULL, &model) != SMOLVLM_OK) die("smolvlm_model_load");
    if (smolvlm_session_create(model, NULL, &s) != SMOLVLM_OK) die("smolvlm_session_create");
    p = one_turn(image, "Answer in JSON.");
    gp.grammar = g;
    gp.temperature = 1.0f;
    gp.max_new_tokens = n_tokens;
    res.struct_size = sizeof res;
    for (seed = 0; seed < n_seeds; ++seed) {
        const char* text;
        size_t len;
        gp.seed = (uint64_t)seed;
        if (smolvlm_session_generate(s, p, &gp, &res) != SMOLVLM_OK) die("generate");
        text = smolvlm_session_output_text(s, &len);
        printf("output %lu %d\n", (unsigned long)len, (int)res.stop_reason);
        fwrite(text, 1, len, stdout);
        printf("\n");
    }
    smolvlm_prompt_free(p);
    smolvlm_grammar_free(g);
    smolvlm_session_free(s);
    smolvlm_model_free(model);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 6 && strcmp(argv[1], "golden") == 0) return run_golden(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 6 && strcmp(argv[1], "ids") == 0) return run_ids(argv[2], argv[3], argv[4], atoi(argv[5]));
    if (argc == 7 && strcmp(argv[1], "schema") == 0)
        return run_schema(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), argv[6]);
    fprintf(stderr, "usage: c_client golden MODEL_DIR IMAGE TEXT GOLDEN_JSON\n"
                    "       c_client ids MODEL_DIR IMAGE|- TEXT N\n"
                    "       c_client schema MODEL_DIR SCHEMA_FILE|--json N_SEEDS N_TOKENS IMAGE|-\n");
    return 2;
}
