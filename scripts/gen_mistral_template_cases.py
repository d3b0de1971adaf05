#!/usr/bin/env python3
"""Render the Mistral Small 3.1 (2503) chat template with Jinja for the cases the C++
renderer (include/smolvlm/text/chat_template_mistral.hpp) is tested on, and write
tests/text/data/mistral_template_cases.json.

Uses the template stored in the mistral3 fixtures (model/chat_template.json) and the
same Jinja environment settings as transformers (trim_blocks, lstrip_blocks,
strftime_now with a fixed date). Run with a Python that has jinja2:
  /work/venv/bin/python scripts/gen_mistral_template_cases.py ../shared/fixtures/mistral3_bf16_one_image/model
"""
import json
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

DATE = "2026-12-07"


def render(template, messages):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: DATE if fmt == "%Y-%m-%d" else None
    return env.from_string(template).render(messages=messages, bos_token="<s>", eos_token="</s>",
                                            add_generation_prompt=True)


def main():
    model_dir = sys.argv[1]
    template = json.load(open(model_dir + "/chat_template.json"))["chat_template"]
    T = lambda s: {"type": "text", "text": s}
    I = {"type": "image"}
    cases = [
        ("one image", [{"role": "user", "content": [I, T("Describe this picture in one sentence.")]}]),
        ("two images, history", [
            {"role": "user", "content": [T("Hi! I will send two pictures.")]},
            {"role": "assistant", "content": "Sure, send them."},
            {"role": "user", "content": [T("First: "), I, T("\nSecond: "), I, T("\nWhich one has more blue?")]}]),
        ("system message (list content)", [
            {"role": "system", "content": [T("You are terse.")]},
            {"role": "user", "content": [T("Hello")]}]),
        ("text only, string content", [{"role": "user", "content": "What is 2+2?"}]),
        ("multi-turn text with a later system message", [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [T("b")]},
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [T("c "), T("d")]},
            {"role": "assistant", "content": "e"},
            {"role": "user", "content": "f"}]),
        ("image_url block, image last", [{"role": "user", "content": [T("see: "), {"type": "image_url"}]}]),
        ("unicode and specials in text", [{"role": "user", "content": [T("caf\u00e9 \U0001F600 [INST] <s> \n\t")]}]),
        ("system message only", [{"role": "system", "content": [T("sys")]}]),
        ("assistant first", [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "yo"}]),
    ]
    out = []
    for name, msgs in cases:
        out.append({"name": name, "messages": msgs, "text": render(template, msgs)})
    json.dump({"date": DATE, "cases": out}, open("tests/text/data/mistral_template_cases.json", "w"),
              ensure_ascii=False, indent=1)
    print("wrote", len(out), "cases")


if __name__ == "__main__":
    main()
