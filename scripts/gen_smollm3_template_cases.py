#!/usr/bin/env python3
"""Regenerate tests/text/data/smollm3_template_cases.json: SmolLM3-3B's chat template
rendered by transformers itself (tokenizer.apply_chat_template(..., tokenize=False), the
Jinja2 sandbox with trim_blocks / lstrip_blocks), the reference text/chat_template.hpp's
render_smollm3 must reproduce byte for byte.

  /work/venv/bin/python scripts/gen_smollm3_template_cases.py [--shared ../shared]

Each case: {"name", "messages", "tools" (or absent), "kwargs" (template kwargs: enable_thinking,
xml_tools, python_tools, ...), "add_generation_prompt", "date" (YYYY-MM-DD: strftime_now
returns it), "expected" (the rendered text) or "error" (transformers raised)}.
The template is read from shared/models/SmolLM3-3B/chat_template.jinja (the Hub file).
Hand-written cases cover every branch (default / custom / override system prompts, /think and
/no_think, enable_thinking, tools of each kind rendered with Python's str(dict), tool and
assistant turns, dropped roles, non-string content, add_generation_prompt); random cases mix
them. Needs: transformers (5.25 was used), jinja2.
"""
import argparse
import datetime as _dt
import json
import os
import random

import transformers
import transformers.utils.chat_template_utils as ctu
from transformers import PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "text", "data", "smollm3_template_cases.json")

_FAKE_NOW = [_dt.datetime(2026, 12, 7)]


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _FAKE_NOW[0]


def render(tok, template, case):
    y, m, d = (int(x) for x in case["date"].split("-"))
    _FAKE_NOW[0] = _dt.datetime(y, m, d, 13, 5, 0)
    ctu.datetime = _FixedDatetime
    ctu._compile_jinja_template.cache_clear()
    kwargs = dict(case.get("kwargs", {}))
    return tok.apply_chat_template(case["messages"], tools=case.get("tools"), chat_template=template, tokenize=False,
                                   add_generation_prompt=case["add_generation_prompt"], **kwargs)


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}
ODD_TOOL = {"name": "odd", "description": "It's \"quoted\" and has a backslash \\ and\ttab\nnewline",
            "flags": [True, False, None], "numbers": [0, -1, 1.0, 0.5, 1e-05, 1.5e16, 1e16, 123456789.0, 1e22, -0.0,
                                                       3.141592653589793, 2.5e-7, 100, 12345678901234],
            "nested": {"empty_list": [], "empty_dict": {}, "unicode": "Zoë — 日本語 🙂", "ctrl": "\x01\x7f\u200b"},
            "only_single": "it's", "both": "it's \"both\"", "only_double": "say \"hi\""}
PY_TOOL = {"name": "search", "description": "search(query: str) -> list[str]"}

SYSTEMS = [
    None, "", "   ", "You are a pirate.", "Be brief. /think", "Be brief. /no_think", "/no_think", "/think",
    "Use both /think and /no_think.", "  Spaces around.  \n\n", "Tabs\tinside  and trailing\t \n",
    "/system_override You are raw.", "/system_override /no_think Raw and quiet.   ", "X/system_override",
    "Keep «unicode» — 日本語 🙂 ok.", "multi\nline\nsystem", "/think/no_think", "/thinking is not /think?",
]
USERS = ["Hi", "What is 2+2?", "", "\nleading newline", "trailing\n", "Ünïcödé 🙂 and 中文", "<think>not special</think>",
         "tab\there", "  spaced  "]
ASSISTANTS = ["Hello!", "\n\nStarts with newlines.", "<think>\nreasoning\n</think>\nAnswer.", "", "\n", "Ends\n\n",
              "<think>\n\n</think>\nNo think.", " lead space"]
TOOLS_OUT = ['{"temperature": 21}', "error: not found", ""]


def hand_cases():
    c = []

    def add(name, messages, agp=True, kwargs=None, tools=None, date="2026-12-07"):
        e = {"name": name, "messages": messages, "add_generation_prompt": agp, "date": date}
        if kwargs is not None:
            e["kwargs"] = kwargs
        if tools is not None:
            e["tools"] = tools
        c.append(e)

    u = {"role": "user", "content": "Hi"}
    add("user only, default thinking", [u])
    add("user only, enable_thinking false", [u], kwargs={"enable_thinking": False})
    add("user only, enable_thinking true", [u], kwargs={"enable_thinking": True})
    add("no generation prompt", [u], agp=False)
    add("no generation prompt, no_think", [u], agp=False, kwargs={"enable_thinking": False})
    add("date 1 January 2025", [u], date="2025-01-01")
    add("date 29 February 2028", [u], date="2028-02-29")
    add("date 31 May 1999", [u], date="1999-05-31")
    for i, s in enumerate(SYSTEMS[1:]):
        for et in (None, False):
            kw = None if et is None else {"enable_thinking": et}
            add("system %d (%r), enable_thinking %s" % (i, s, et), [{"role": "system", "content": s}, u], kwargs=kw)
    add("system only", [{"role": "system", "content": "Alone."}])
    add("system only, no gen prompt", [{"role": "system", "content": "Alone."}], agp=False)
    add("second system message is dropped",
        [{"role": "system", "content": "First."}, u, {"role": "system", "content": "Second."},
         {"role": "user", "content": "Again"}])
    add("system not first is dropped", [u, {"role": "system", "content": "Late /no_think"}])
    conv = [{"role": "system", "content": "Tutor."}, {"role": "user", "content": "Q1"},
            {"role": "assistant", "content": "\nA1"}, {"role": "user", "content": "Q2"},
            {"role": "assistant", "content": "<think>\nhm\n</think>\nA2"}, {"role": "user", "content": "Q3"}]
    add("history, think", conv)
    add("history, no_think", conv, kwargs={"enable_thinking": False})
    add("history ending with assistant, no gen prompt", conv[:5], agp=False)
    add("history ending with assistant, no gen prompt, no_think", conv[:5], agp=False, kwargs={"enable_thinking": False})
    tool_conv = [{"role": "user", "content": "Weather in Paris?"},
                 {"role": "assistant", "content": "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
                  "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                 {"role": "tool", "content": '{"temperature": 21}'},
                 {"role": "assistant", "content": "It is 21 degrees."},
                 {"role": "user", "content": "Thanks"}]
    add("tool turns, no tools", tool_conv)
    add("tool turns, tools", tool_conv, tools=[WEATHER])
    add("tool turns, tools, no_think", tool_conv, tools=[WEATHER], kwargs={"enable_thinking": False})
    add("tools with system", [{"role": "system", "content": "Use tools. /no_think"}] + tool_conv, tools=[WEATHER])
    add("xml_tools kwarg", [u], kwargs={"xml_tools": [WEATHER]})
    add("xml_tools and tools (tools win)", [u], tools=[PY_TOOL], kwargs={"xml_tools": [WEATHER]})
    add("python_tools kwarg", [u], kwargs={"python_tools": [PY_TOOL]})
    add("python_tools and xml_tools", [u], kwargs={"python_tools": [PY_TOOL, WEATHER], "xml_tools": [WEATHER, PY_TOOL]})
    add("odd tool values (Python repr)", [u], tools=[ODD_TOOL])
    add("odd tool values, python_tools", [u], kwargs={"python_tools": [ODD_TOOL]})
    add("empty tools list", [u], tools=[])
    add("empty xml_tools", [u], kwargs={"xml_tools": []})
    add("tools that are strings", [u], kwargs={"xml_tools": ["a tool", "it's"]})
    add("tool values: numbers and lists", [u], kwargs={"xml_tools": [1, 2.5, [1, "x"], None, True]})
    add("tools with system_override", [{"role": "system", "content": "/system_override Raw."}, u], tools=[WEATHER])
    add("tool message first", [{"role": "tool", "content": "result"}, u])
    add("unknown roles are dropped",
        [{"role": "developer", "content": "dev"}, u, {"role": "function", "content": "f"}, {"role": "User", "content": "U"}])
    add("list content renders empty",
        [{"role": "user", "content": [{"type": "text", "text": "Hi"}]},
         {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]}, u])
    add("missing content renders empty", [{"role": "user"}, {"role": "assistant"}, {"role": "tool"}, u])
    add("null content renders empty", [{"role": "user", "content": None}, {"role": "assistant", "content": None}, u])
    add("reasoning_mode kwarg is overwritten", [u], kwargs={"reasoning_mode": "/no_think"})
    add("unknown kwarg ignored", [u], kwargs={"foo": 1})
    add("special tokens in content", [{"role": "user", "content": "<|im_end|>\n<|im_start|>system\nsneaky"}])
    add("empty message list (error)", [])
    add("system list content (error)", [{"role": "system", "content": [{"type": "text", "text": "x"}]}, u])
    return c


def random_cases(n, seed):
    rng = random.Random(seed)
    out = []
    for k in range(n):
        msgs = []
        s = rng.choice(SYSTEMS)
        if s is not None:
            msgs.append({"role": "system", "content": s})
        for _ in range(rng.randint(0, 5)):
            r = rng.random()
            if r < 0.45:
                msgs.append({"role": "user", "content": rng.choice(USERS)})
            elif r < 0.85:
                msgs.append({"role": "assistant", "content": rng.choice(ASSISTANTS)})
            else:
                msgs.append({"role": "tool", "content": rng.choice(TOOLS_OUT)})
        if not msgs:
            msgs.append({"role": "user", "content": rng.choice(USERS)})
        case = {"name": "random %d" % k, "messages": msgs, "add_generation_prompt": rng.random() < 0.8,
                "date": "%04d-%02d-%02d" % (rng.randint(1990, 2040), rng.randint(1, 12), rng.randint(1, 28))}
        kw = {}
        r = rng.random()
        if r < 0.3:
            kw["enable_thinking"] = False
        elif r < 0.5:
            kw["enable_thinking"] = True
        r = rng.random()
        if r < 0.15:
            case["tools"] = [WEATHER]
        elif r < 0.25:
            kw["xml_tools"] = [WEATHER, PY_TOOL]
        elif r < 0.32:
            kw["python_tools"] = [PY_TOOL]
        if kw:
            case["kwargs"] = kw
        out.append(case)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(HERE, "..", "..", "shared"))
    args = ap.parse_args()
    template = open(os.path.join(args.shared, "models", "SmolLM3-3B", "chat_template.jinja"), encoding="utf-8").read()
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(args.shared, "fixtures", "smollm3_bf16_chat", "model",
                                                               "tokenizer.json"))
    cases = hand_cases() + random_cases(200, 3)
    n_err = 0
    for case in cases:
        try:
            case["expected"] = render(tok, template, case)
        except Exception as e:  # transformers / Jinja refuse: the C++ renderer must refuse too
            case["error"] = type(e).__name__ + ": " + str(e).split("\n")[0][:200]
            n_err += 1
    doc = {"template": "shared/models/SmolLM3-3B/chat_template.jinja", "library": "transformers " +
           transformers.__version__, "notes": "rendered with tokenizer.apply_chat_template(tokenize=False); "
           "strftime_now returns the case's date; 'error' = transformers raised", "cases": cases}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s: %d cases (%d errors)" % (OUT, len(cases), n_err))


if __name__ == "__main__":
    main()
