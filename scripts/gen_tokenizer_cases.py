#!/usr/bin/env python3
"""Regenerate the tokenizer test data under tests/text/data/ with the Rust `tokenizers`
library (Python binding), the reference the C++ tokenizer must match exactly.

  python scripts/gen_tokenizer_cases.py [--shared ../shared]

Writes
  tests/text/data/smollm3_extra_cases.json  strings encoded with the full SmolLM3 tokenizer
      (shared/fixtures/_unit/smollm3_tokenizer.json, the real 128256-id vocabulary): unicode,
      numbers, whitespace runs, code, CJK, emoji, contractions in odd cases, added tokens.
  tests/text/data/regex_cases.json  Oniguruma's matches (through tokenizers' Split pre-tokenizer
      with behavior Removed + invert, which keeps exactly the non-empty matches) for the
      tokenizer patterns, hand-written patterns for each supported construct and random
      patterns over them, on random subjects; "error" where Oniguruma rejects the pattern.
  tests/text/data/synthetic_tokenizers.json  small tokenizers (trained here on a fixed corpus,
      so the file is self-contained) whose configurations exercise what the shipped models do
      not: added-token flags (lstrip / rstrip / single_word / normalized / special), every Split
      behavior and invert, String patterns, Digits, Whitespace, WhitespaceSplit, Metaspace,
      ByteLevel with add_prefix_space, normalizers (Prepend, Replace, Strip), byte_fallback /
      unk / fuse_unk, continuing_subword_prefix / end_of_word_suffix, TemplateProcessing
      single + pair, and the decoders (Replace, ByteFallback, Fuse, Strip, Metaspace,
      BPEDecoder). Each case: ids with add_special_tokens false and true, ids with special
      tokens not parsed (encode_special_tokens), the pair encoding, and decodes.
Needs: pip install tokenizers (0.23.x was used).
"""
import argparse
import json
import os
import random

import tokenizers
from tokenizers import Tokenizer, models, trainers, pre_tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "text", "data")

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure they've said it's fine; we'll see what you'd do.",
    "In 2024, revenue grew 13.7% to $1,234,567.89 (see Table 4).",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "def forward(self, x):\n    return self.proj(x) ** 2  # square",
    "Café, naïve, résumé — déjà vu. Ça va? Größe, Straße.",
    "日本語のテキストと中文测试。한국어 텍스트.",
    "Русский текст, пример. Ελληνικά γράμματα.",
    "emoji 😀👍🏽 and math ∑∫√∞ ≤ ≥ ½ ² ٣",
    "  indented\n\n\tTabbed line   with   spaces\r\n",
    "pre-trained state-of-the-art well--known e-mail",
    "hello world hello there world of words wording worded",
]

# Strings for both parts: plain text of many kinds plus the features below.
BASE_TEXTS = [
    "", " ", "  ", "\n", "\t", "a", "Hello world", "Hello  world ", " leading space", "trailing space ",
    "multiple   spaces   between", "tabs\tand\nnewlines\r\n", "\n\n\n", "  \n  \n", "x\u00a0y\u3000z\u2028w\u0085v",
    "I'm I'M you'LL we'Ve it's IT'S they'RE she'd HE'D 'll 'S", "don't won't can't shan't", "I'\u017f ok x'\u212a",
    "12345 1234567890 3.14159 -42 +7 1,000,000 0x1F 1e-9", "² ½ ¾ ٣٤٥ Ⅻ ① 𝟙𝟚", "１２３ full-width ＡＢＣ",
    "Café naïve résumé déjà Ça Größe Straße ÆØÅ æøå", "e\u0301 a\u0308 n\u0303 combining",
    "日本語のテキスト", "中文测试，标点符号！", "한국어 텍스트", "Русский текст", "Ελληνικά ΓΡΆΜΜΑΤΑ", "עברית ערבית العربية",
    "हिन्दी भाषा", "ไทย ภาษา", "emoji 😀👍🏽👨‍👩‍👧‍👦 🇫🇷 ❤️", "math ∑∫√∞ ≤ ≥ ≠ ± × ÷", "symbols ©®™ §¶ •…‰ €£¥",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }", "def f(x):\n    return x ** 2  # square\n",
    "if (a && b || !c) { return; } // comment", "<div class=\"x\">text</div>", "https://example.com/a/b?c=1&d=2#frag",
    "path/to/file.txt C:\\Windows\\System32", "user@example.com", "snake_case camelCase PascalCase kebab-case",
    "CAPITALS and lowercase and MiXeD", "wordwordwordword", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!??? ... --- ___ ***", "\"quoted\" 'single' `back`", "(parens) [brackets] {braces} <angles>",
    "\U0001E4D0\U00010D4A new letters", "\u200b\u200c\u200d zero widths", "\ufeffBOM start", "\x01\x02\x1f controls",
    "a\u0345b ypogegrammeni", "ǅungla ǈ ǋ titlecase", "ﬁ ﬂ ﬀ ligatures", "tab\t\tdouble", "end with newline\n",
    " \n leading newline", "line1\nline2\n\nline4", "   \t  mixed   \t", "ab12cd34", "x1y22z333w4444",
    "The quick brown fox jumps over the lazy dog.", "pre-trained state-of-the-art", "e-mail well--known",
]


def random_texts(rng, n, alphabet):
    out = []
    for _ in range(n):
        k = rng.randint(1, 24)
        out.append("".join(rng.choice(alphabet) for _ in range(k)))
    return out


ALPHABET = list("abcdefghijkLMNOPQRS tuvwxyz0123456789     \n\t\r.,;:!?'\"-_/\\()[]<>{}#@$%^&*+=~`|") + [
    "é", "ß", "日", "本", "中", "😀", "½", "²", "٣", "\u00a0", "\u3000", "\u0301", "Ω", "ж", "\u017f", "\u212a",
    "<x>", "<y>", "[SEP]", "<s>", "</s>", "tok", "##", "▁"]


def encode_cases(tok, texts, pair=False, with_flags=True):
    cases = []
    for t in texts:
        c = {"text": t}
        c["ids"] = tok.encode(t, add_special_tokens=False).ids
        if with_flags:
            c["ids_with_special"] = tok.encode(t, add_special_tokens=True).ids
            tok.encode_special_tokens = True
            c["ids_special_as_text"] = tok.encode(t, add_special_tokens=False).ids
            tok.encode_special_tokens = False
        c["decoded"] = tok.decode(c["ids"], skip_special_tokens=False)
        c["decoded_skip_special_tokens"] = tok.decode(c["ids"], skip_special_tokens=True)
        if with_flags and pair:
            other = "second " + t[:5]
            c["pair_text"] = other
            c["pair_ids"] = tok.encode(t, other, add_special_tokens=True).ids
            c["pair_ids_no_special"] = tok.encode(t, other, add_special_tokens=False).ids
        cases.append(c)
    return cases


def smollm3_part(shared, rng):
    path = os.path.join(shared, "fixtures", "_unit", "smollm3_tokenizer.json")
    tok = Tokenizer.from_file(path)
    added = ["<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|begin_of_text|>", "<tool_call>", "<code>",
             "<|reserved_special_token_5|>"]
    texts = list(BASE_TEXTS)
    for a in added:
        texts += [a, "x" + a + "y", " " + a + " ", a + a, "<|im_start|>user\nHi " + a + "<|im_end|>\n"]
    texts += ["<|im_start|", "<think", "</think >", "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n"]
    texts += random_texts(rng, 220, ALPHABET + added)
    return {
        "tokenizer": "shared/fixtures/_unit/smollm3_tokenizer.json (full SmolLM3 vocabulary, 128256 ids)",
        "library": "Rust tokenizers (Python binding) " + tokenizers.__version__,
        "notes": "ids: encode(text, add_special_tokens=False); ids_with_special: add_special_tokens=True; "
                 "ids_special_as_text: encode_special_tokens=True; decoded / decoded_skip_special_tokens: decode(ids).",
        "cases": encode_cases(tok, texts),
    }


def train(pre, vocab_size, special=(), unk=None, byte_fallback=False, prefix=None, suffix=None, byte_level=False,
          normalizer=None):
    """A small BPE trained on CORPUS; returns the tokenizer.json dict."""
    mkw = {"byte_fallback": byte_fallback}
    if unk is not None:
        mkw["unk_token"] = unk
    if prefix is not None:
        mkw["continuing_subword_prefix"] = prefix
    if suffix is not None:
        mkw["end_of_word_suffix"] = suffix
    model = models.BPE(**mkw)
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    kw = {}
    if byte_level:
        kw["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()
    if prefix:
        kw["continuing_subword_prefix"] = prefix
    if suffix:
        kw["end_of_word_suffix"] = suffix
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(special), show_progress=False, **kw)
    tok.train_from_iterator(CORPUS * 3, trainer=trainer)
    return json.loads(tok.to_str())


def added(id_, content, special=False, lstrip=False, rstrip=False, single_word=False, normalized=None):
    return {"id": id_, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def with_added(d, tokens):
    """Append added tokens with the ids the Rust loader will give them."""
    n = len(d["model"]["vocab"])
    out = list(d.get("added_tokens") or [])
    for t in tokens:
        content = t[0]
        if content in d["model"]["vocab"]:
            i = d["model"]["vocab"][content]
        else:
            i = n
            n += 1
        out.append(dict(added(i, content), **t[1]))
    d["added_tokens"] = out
    return d


def synthetic_part(rng):
    configs = []
    BL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}

    # 1. GPT-2 style byte-level with added-token flags, no normalizer.
    d = train(pre_tokenizers.ByteLevel(add_prefix_space=False), 400, byte_level=True)
    d["normalizer"] = None
    d["pre_tokenizer"] = BL
    d["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    d["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    with_added(d, [("<x>", {"special": True, "lstrip": True, "normalized": False}),
                   ("<y>", {"special": False, "rstrip": True, "normalized": False}),
                   ("tok", {"special": False, "single_word": True, "normalized": False}),
                   ("<xy>", {"special": True, "normalized": False}),
                   ("hello", {"special": False, "normalized": True}),
                   ("[SEP]", {"special": True, "lstrip": True, "rstrip": True, "normalized": False})])
    configs.append(("byte_level_added_flags", d))

    # 2. Same vocabulary, ByteLevel(add_prefix_space) and Digits(contiguous) + TemplateProcessing.
    d2 = json.loads(json.dumps(d))
    d2["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": False},
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]}
    d2["post_processor"] = {"type": "Sequence", "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<xy>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<xy>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                  {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
         "special_tokens": {
             "<xy>": {"id": "<xy>", "ids": [tok_id(d, "<xy>")], "tokens": ["<xy>"]},
             "[SEP]": {"id": "[SEP]", "ids": [tok_id(d, "[SEP]")], "tokens": ["[SEP]"]}}}]}
    configs.append(("byte_level_prefix_space_template", d2))

    # 3. Llama-2 style: Prepend/Replace normalizer, no pre-tokenizer, byte_fallback, unk,
    #    fuse_unk, Replace/ByteFallback/Fuse/Strip decoder, "<s> $A" template.
    d3 = train(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False), 300,
               special=["<unk>", "<s>", "</s>"], unk="<unk>")
    voc = d3["model"]["vocab"]
    n = len(voc)
    for b in range(256):
        key = "<0x%02X>" % b
        if key not in voc:
            voc[key] = n
            n += 1
    d3["model"]["byte_fallback"] = True
    d3["model"]["fuse_unk"] = True
    d3["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    d3["pre_tokenizer"] = None
    d3["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    s_id = voc["<s>"]
    d3["post_processor"] = {"type": "TemplateProcessing",
                            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                       {"Sequence": {"id": "A", "type_id": 0}}],
                            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                            "special_tokens": {"<s>": {"id": "<s>", "ids": [s_id], "tokens": ["<s>"]}}}
    d3["added_tokens"] = [added(voc["<unk>"], "<unk>", special=True, normalized=False),
                          added(voc["<s>"], "<s>", special=True, normalized=False),
                          added(voc["</s>"], "</s>", special=True, normalized=False)]
    with_added(d3, [("▁tok", {"special": False, "normalized": True})])
    configs.append(("llama2_byte_fallback", d3))

    # 4. Same without byte_fallback: unk, fuse_unk false; decoder with Metaspace.
    d4 = json.loads(json.dumps(d3))
    d4["model"]["byte_fallback"] = False
    d4["model"]["fuse_unk"] = False
    d4["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}
    configs.append(("unk_not_fused_metaspace_decoder", d4))

    # 5. Metaspace pre-tokenizer (prepend_scheme first, split) with Strip normalizer.
    d5 = train(pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True), 300,
               special=["<unk>", "<s>"], unk="<unk>")
    d5["normalizer"] = {"type": "Strip", "strip_left": False, "strip_right": True}
    d5["decoder"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True}
    d5["added_tokens"] = [added(d5["model"]["vocab"]["<unk>"], "<unk>", special=True, normalized=False),
                          added(d5["model"]["vocab"]["<s>"], "<s>", special=True, normalized=False)]
    configs.append(("metaspace_first", d5))

    # 6. Split behaviors and patterns, word-piece style prefix / suffix, BPEDecoder.
    seq = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits(individual_digits=True)])
    d6 = train(seq, 300, special=["<unk>"], unk="<unk>", prefix="##", suffix="</w>")
    d6["decoder"] = {"type": "BPEDecoder", "suffix": "</w>"}
    d6["added_tokens"] = [added(d6["model"]["vocab"]["<unk>"], "<unk>", special=True, normalized=False)]
    for i, (beh, inv, pat) in enumerate([
            ("Removed", False, {"String": " "}), ("Isolated", False, {"Regex": "[-.,;]"}),
            ("MergedWithPrevious", False, {"String": "-"}), ("MergedWithNext", False, {"Regex": "\\s+"}),
            ("Contiguous", False, {"Regex": "\\p{P}"}), ("Removed", True, {"Regex": "\\w+"}),
            ("Isolated", True, {"Regex": "o+"}), ("MergedWithNext", True, {"Regex": "\\d"})]):
        di = json.loads(json.dumps(d6))
        di["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": pat, "behavior": beh, "invert": inv},
            {"type": "Digits", "individual_digits": i % 2 == 0}]}
        configs.append(("split_%s%s_%d" % (beh, "_invert" if inv else "", i), di))

    # 7. Whitespace pre-tokenizer and no decoder (tokens joined with spaces).
    d7 = json.loads(json.dumps(d6))
    d7["pre_tokenizer"] = {"type": "Whitespace"}
    d7["decoder"] = None
    configs.append(("whitespace_no_decoder", d7))

    texts = BASE_TEXTS + ["hello world <x> tok  <y>  tok's xtok tok1 _tok", "a  <x>b", "a<y>  b", "x tok y",
                          "<xy>", "<x><y><xy>", "  [SEP]  z", "hello<x>hello", "tokhello tok", "the-final--countdown",
                          "state-of-the-art 2024-12-07", "ooo foo boo", "1-2-3 4.5,6;7"]
    out = []
    for name, d in configs:
        js = json.dumps(d, ensure_ascii=False)
        tok = Tokenizer.from_str(js)
        cases = encode_cases(tok, texts + random_texts(rng, 40, ALPHABET), pair=True)
        out.append({"name": name, "tokenizer_json": js, "cases": cases})
    return {"library": "Rust tokenizers (Python binding) " + tokenizers.__version__,
            "notes": "see scripts/gen_tokenizer_cases.py", "tokenizers": out}


def tok_id(d, content):
    for a in d["added_tokens"]:
        if a["content"] == content:
            return a["id"]
    return d["model"]["vocab"][content]


REGEX_FIXED = [
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?"
    r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    r"^a|b$", r"\Aa", r"a\z", r"a\Z", r"\bx\b", r"\Bs", r"(a*)*b", r"(a|ab)(c|bcd)", r"(?i)ab|c", r"a(?i)b|c", r"x{",
    r"x{a}", r"a{,2}", r"(?#c)a", r"(?<n>a)b", r"[]a]", r"[a-]", r"[-a]", r"\p{Letter}", r"\p{^L}", r"[\x00-\x1f]",
    r"\x{65E5}", r"(?=a)\w+", r"(?!\s)\S+", r"a+?b", r"(ab)*?c", r"(?:a?)*", r"(?:a|)+b", r"\s+(?!\S)|\s+", r"", r"a|",
    r"\0", r"\e\a", "(?i:[a-z]+)", "(?i:[^k])", "(?i:k)", "(?i:[k-m])", r"\P{N}+", r"[\S]", r"[^\S\n]+", r"\p{Cn}",
    r"\p{Zs}+", r"(a)|b", r".*", r".+?x", r"(?:ab)?+a", r"\w+", r"\W+", r"[\w]+", r"\d+|\h+", r"(?>a+)a", r"a*+a",
    r"(?:(?!a))+", r"\p{Lu}\p{Ll}*", r"[\p{Sm}\p{Sc}]+", r"x*", r"(?:x*)*y",
]
REGEX_ATOMS = ["a", "b", "s", "t", "'s", "'t", "\\s", "\\S", "\\d", "\\w", "\\W", "\\p{L}", "\\p{N}", "\\p{Lu}",
               "\\p{Ll}", "\\p{M}", "\\P{L}", "[^\\s\\p{L}\\p{N}]", "[\\r\\n]", "[^\\r\\n\\p{L}\\p{N}]", "[a-c]",
               "[^a-c]", ".", "\\n", " ", "x", "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]", "\\h", "日", "é", "[\\r\\n/]"]
REGEX_QUANT = ["", "", "", "*", "+", "?", "{1,3}", "{2}", "{0,2}", "*?", "+?", "??", "*+", "++", "{2,}", "{,2}", "{1,3}?"]
REGEX_ALPHABET = list("aAbBsStTkKlLdDeEmMrRvVxyz019 '\t\n\r/.-_,!?<>()[]{}*+\\") + [
    "\u017f", "\u212a", "é", "É", "ß", "日", "本", "α", "Ω", "ǅ", "\u0301", "²", "٣", "Ⅻ", "\u00a0", "\u3000", "\u2028",
    "\u0085", "😀", "\u200d", "Ⓐ", "\U00010D4A"]


def regex_part(rng):
    from tokenizers import pre_tokenizers, Regex

    def rpat(d=0):
        r = rng.random()
        if d > 2 or r < 0.5:
            return rng.choice(REGEX_ATOMS).replace("\\\\", "\\") + rng.choice(REGEX_QUANT)
        if r < 0.7:
            return "".join(rpat(d + 1) for _ in range(rng.randint(1, 3)))
        if r < 0.8:
            return "|".join(rpat(d + 1) for _ in range(rng.randint(2, 4)))
        g = rng.choice(["(%s)", "(?:%s)", "(?=%s)", "(?!%s)", "(?>%s)", "(?i:%s)", "(?:%s)*", "(?:%s)+", "(?:%s){0,2}",
                        "(%s)?"])
        return g % rpat(d + 1)

    cases = []
    for p in REGEX_FIXED + [rpat() for _ in range(150)]:
        try:
            split = pre_tokenizers.Split(Regex(p), behavior="removed", invert=True)
        except Exception:
            cases.append({"pattern": p, "error": True})
            continue
        subjects = []
        for _ in range(5):
            text = "".join(rng.choice(REGEX_ALPHABET) for _ in range(rng.randint(0, 16)))
            cb = [0]
            for ch in text:
                cb.append(cb[-1] + len(ch.encode()))
            matches = [[cb[a], cb[b]] for _, (a, b) in split.pre_tokenize_str(text)]
            subjects.append({"text": text, "matches": matches})
        cases.append({"pattern": p, "subjects": subjects})
    return {"library": "Rust tokenizers (Python binding) " + tokenizers.__version__ + " (onig crate, Oniguruma 6.9.10)",
            "notes": "matches: the non-empty matches of onig find_iter, byte offsets", "cases": cases}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20261207)
    with open(os.path.join(OUT, "synthetic_tokenizers.json"), "w", encoding="utf-8") as f:
        json.dump(synthetic_part(rng), f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(OUT, "regex_cases.json"), "w", encoding="utf-8") as f:
        json.dump(regex_part(rng), f, ensure_ascii=False, indent=0)
        f.write("\n")
    with open(os.path.join(OUT, "smollm3_extra_cases.json"), "w", encoding="utf-8") as f:
        json.dump(smollm3_part(args.shared, rng), f, ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
