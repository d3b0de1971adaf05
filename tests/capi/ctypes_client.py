#!/usr/bin/env python3
"""tests/capi/ctypes_client.py — the C API from Python through ctypes (standard library only).

    ctypes_client.py LIB golden MODEL_DIR IMAGE TEXT GOLDEN_JSON
        one user turn (IMAGE, then TEXT), 16 greedy tokens without EOS stopping, streamed
        through a Python callback: prompt and output ids must be golden.json's; the same
        picture as raw RGB bytes gives the same ids; a callback that returns 0 cancels;
        a JSON-constrained answer parses with json.loads. Prints "ok" (exit 0).
    ctypes_client.py LIB ids MODEL_DIR IMAGE|- TEXT N
        prints "prompt_ids: ..." and "output_ids: ..." (N greedy tokens, EOS ignored).

LIB is the shared library (libsmolvlm_c.so). The structs below mirror include/smolvlm.h;
their struct_size is what ctypes computes, and the library fills in its defaults.
"""
import ctypes as C
import json
import sys

u32, i32, i64, u64, f32, f64 = C.c_uint32, C.c_int32, C.c_int64, C.c_uint64, C.c_float, C.c_double

TOKEN_CB = C.CFUNCTYPE(C.c_int, i32, C.c_char_p, C.c_size_t, C.c_void_p)
PROGRESS_CB = C.CFUNCTYPE(C.c_int, i32, i64, i64, C.c_void_p)


class ModelParams(C.Structure):
    _fields_ = [("struct_size", u32), ("weight_format", i32), ("n_threads", i32), ("use_mmap", i32),
                ("isa", C.c_char_p)]


class SessionParams(C.Structure):
    _fields_ = [("struct_size", u32), ("n_threads", i32), ("kv_type", i32), ("n_ctx", i64), ("max_chunk", i64),
                ("max_bytes", u64), ("image_cache", C.c_void_p)]


class GenerateParams(C.Structure):
    _fields_ = [("struct_size", u32), ("max_new_tokens", i32), ("temperature", f32), ("top_k", i32), ("top_p", f32),
                ("min_p", f32), ("repetition_penalty", f32), ("seed", u64), ("ignore_eos", i32), ("image_mode", i32),
                ("grammar", C.c_void_p), ("system_prompt", C.c_char_p), ("today_date", C.c_char_p),
                ("chat_template_kwargs", C.c_char_p), ("on_token", TOKEN_CB), ("on_progress", PROGRESS_CB),
                ("user_data", C.c_void_p)]


class GenerateResult(C.Structure):
    _fields_ = [("struct_size", u32), ("stop_reason", i32), ("prompt_tokens", i64), ("prompt_tokens_computed", i64),
                ("generated_tokens", i64), ("n_tiles", i32), ("n_tiles_cached", i32), ("encode_ms", f64),
                ("prefill_ms", f64), ("decode_ms", f64), ("grammar_ms", f64)]


class Image(C.Structure):
    _fields_ = [("pixels", C.POINTER(C.c_uint8)), ("width", i32), ("height", i32), ("channels", i32)]


STOP_LENGTH, STOP_EOS, STOP_GRAMMAR, STOP_CANCELLED = 0, 1, 2, 3
PIXEL_RGB8, PIXEL_RGBA8 = 0, 1


class Lib:
    def __init__(self, path):
        L = C.CDLL(path)
        self.L = L
        P = C.c_void_p
        sigs = {
            "smolvlm_last_error": (C.c_char_p, []),
            "smolvlm_version": (C.c_char_p, []),
            "smolvlm_c_api_version": (u32, []),
            "smolvlm_model_params_init": (None, [C.POINTER(ModelParams), C.c_size_t]),
            "smolvlm_session_params_init": (None, [C.POINTER(SessionParams), C.c_size_t]),
            "smolvlm_generate_params_init": (None, [C.POINTER(GenerateParams), C.c_size_t]),
            "smolvlm_model_load": (C.c_int, [C.c_char_p, C.POINTER(ModelParams), C.POINTER(P)]),
            "smolvlm_model_free": (None, [P]),
            "smolvlm_session_create": (C.c_int, [P, C.POINTER(SessionParams), C.POINTER(P)]),
            "smolvlm_session_free": (None, [P]),
            "smolvlm_prompt_create": (P, []),
            "smolvlm_prompt_free": (None, [P]),
            "smolvlm_prompt_add_message": (C.c_int, [P, C.c_char_p]),
            "smolvlm_prompt_add_text": (C.c_int, [P, C.c_char_p]),
            "smolvlm_prompt_add_image_file": (C.c_int, [P, C.c_char_p]),
            "smolvlm_prompt_add_image_pixels": (C.c_int, [P, C.c_void_p, i32, i32, C.c_size_t, i32]),
            "smolvlm_grammar_json": (C.c_int, [C.POINTER(P)]),
            "smolvlm_grammar_free": (None, [P]),
            "smolvlm_session_generate": (C.c_int, [P, P, C.POINTER(GenerateParams), C.POINTER(GenerateResult)]),
            "smolvlm_session_output_text": (C.c_char_p, [P, C.POINTER(C.c_size_t)]),
            "smolvlm_session_output_tokens": (C.POINTER(i32), [P, C.POINTER(C.c_size_t)]),
            "smolvlm_session_prompt_tokens": (C.POINTER(i32), [P, C.POINTER(C.c_size_t)]),
            "smolvlm_image_decode": (C.c_int, [C.c_void_p, C.c_size_t, C.POINTER(Image)]),
            "smolvlm_image_free": (None, [C.POINTER(Image)]),
        }
        for name, (res, args) in sigs.items():
            fn = getattr(L, name)
            fn.restype = res
            fn.argtypes = args
            setattr(self, name[len("smolvlm_"):], fn)

    def check(self, status, what):
        if status != 0:
            raise SystemExit("ctypes_client: %s: status %d: %s" % (what, status, self.last_error().decode()))

    def params(self, cls, init):
        p = cls()
        init(C.byref(p), C.sizeof(p))
        assert p.struct_size == C.sizeof(p)
        return p


def tokens(lib, fn, session):
    n = C.c_size_t()
    ptr = fn(session, C.byref(n))
    return [ptr[i] for i in range(n.value)]


def load(lib, model_dir):
    model = C.c_void_p()
    lib.check(lib.model_load(model_dir.encode(), None, C.byref(model)), "smolvlm_model_load")
    session = C.c_void_p()
    sp = lib.params(SessionParams, lib.session_params_init)
    sp.n_threads = 2
    lib.check(lib.session_create(model, C.byref(sp), C.byref(session)), "smolvlm_session_create")
    return model, session


def one_turn(lib, image, text):
    prompt = lib.prompt_create()
    lib.check(lib.prompt_add_message(prompt, b"user"), "add_message")
    if image and image != "-":
        lib.check(lib.prompt_add_image_file(prompt, image.encode()), "add_image_file")
    lib.check(lib.prompt_add_text(prompt, text.encode()), "add_text")
    return prompt


def run_golden(lib, model_dir, image, text, golden_path):
    golden = json.load(open(golden_path))
    want_prompt, want_out = golden["input_ids"], golden["generation"]["generated_ids"]
    assert lib.c_api_version() >= 1 and lib.version()
    model, session = load(lib, model_dir)

    pieces = []

    @TOKEN_CB
    def on_token(token, piece, length, user):
        pieces.append(piece[:length] if piece else b"")
        return 1

    gp = lib.params(GenerateParams, lib.generate_params_init)
    gp.max_new_tokens, gp.ignore_eos, gp.on_token = 16, 1, on_token
    res = GenerateResult()
    res.struct_size = C.sizeof(res)
    prompt = one_turn(lib, image, text)
    lib.check(lib.session_generate(session, prompt, C.byref(gp), C.byref(res)), "generate")
    got_prompt = tokens(lib, lib.session_prompt_tokens, session)
    got_out = tokens(lib, lib.session_output_tokens, session)
    assert got_prompt == want_prompt, "prompt ids differ"
    assert got_out == want_out, "output ids %s, golden %s" % (got_out, want_out)
    assert res.generated_tokens == 16 and res.stop_reason == STOP_LENGTH
    n = C.c_size_t()
    text_out = lib.session_output_text(session, C.byref(n))
    assert b"".join(pieces) == text_out[: n.value], "streamed text differs from the output text"
    lib.prompt_free(prompt)

    # The picture as raw pixels (decoded by the library): the same ids.
    data = open(image, "rb").read()
    img = Image()
    lib.check(lib.image_decode(data, len(data), C.byref(img)), "image_decode")
    fmt = PIXEL_RGB8 if img.channels == 3 else PIXEL_RGBA8
    raw = C.string_at(img.pixels, img.width * img.height * img.channels)
    prompt = lib.prompt_create()
    lib.check(lib.prompt_add_message(prompt, b"user"), "add_message")
    lib.check(lib.prompt_add_image_pixels(prompt, raw, img.width, img.height, 0, fmt), "add_image_pixels")
    lib.image_free(C.byref(img))
    lib.check(lib.prompt_add_text(prompt, text.encode()), "add_text")
    lib.check(lib.session_generate(session, prompt, C.byref(gp), None), "generate (raw pixels)")
    assert tokens(lib, lib.session_output_tokens, session) == want_out, "raw pixels give other ids"

    # Cancel from the callback after 5 tokens.
    count = [0]

    @TOKEN_CB
    def cancel_after_5(token, piece, length, user):
        count[0] += 1
        return 0 if count[0] >= 5 else 1

    gp.on_token = cancel_after_5
    lib.check(lib.session_generate(session, prompt, C.byref(gp), C.byref(res)), "generate (cancel)")
    assert res.stop_reason == STOP_CANCELLED and res.generated_tokens == 5
    lib.prompt_free(prompt)

    # Structured output: any JSON value, parsed by Python.
    grammar = C.c_void_p()
    lib.check(lib.grammar_json(C.byref(grammar)), "grammar_json")
    gp = lib.params(GenerateParams, lib.generate_params_init)
    gp.grammar, gp.max_new_tokens, gp.temperature = grammar, 48, 1.0
    prompt = one_turn(lib, image, "Answer with JSON.")
    for seed in range(3):
        gp.seed = seed
        lib.check(lib.session_generate(session, prompt, C.byref(gp), C.byref(res)), "generate (json)")
        out = lib.session_output_text(session, C.byref(n))[: n.value].decode("utf-8")
        json.loads(out)
    lib.prompt_free(prompt)
    lib.grammar_free(grammar)

    # Errors come back as codes and messages.
    bad = C.c_void_p()
    assert lib.model_load(b"/nonexistent", None, C.byref(bad)) != 0 and not bad.value
    assert len(lib.last_error()) > 0
    lib.session_free(session)
    lib.model_free(model)
    print("ok")
    return 0


def run_ids(lib, model_dir, image, text, n_tokens):
    model, session = load(lib, model_dir)
    gp = lib.params(GenerateParams, lib.generate_params_init)
    gp.max_new_tokens, gp.ignore_eos = n_tokens, 1
    prompt = one_turn(lib, image, text)
    lib.check(lib.session_generate(session, prompt, C.byref(gp), None), "generate")
    print("prompt_ids: " + " ".join(str(i) for i in tokens(lib, lib.session_prompt_tokens, session)))
    print("output_ids: " + " ".join(str(i) for i in tokens(lib, lib.session_output_tokens, session)))
    lib.prompt_free(prompt)
    lib.session_free(session)
    lib.model_free(model)
    return 0


def main(argv):
    if len(argv) == 7 and argv[2] == "golden":
        return run_golden(Lib(argv[1]), argv[3], argv[4], argv[5], argv[6])
    if len(argv) == 7 and argv[2] == "ids":
        return run_ids(Lib(argv[1]), argv[3], argv[4], argv[5], int(argv[6]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
