#!/usr/bin/env python3
"""Add llama.cpp's greedy runs to tests/data/smollm2_q4_1_reference.json.

    python3 scripts/llamacpp_reference.py MODEL.gguf [--llama-dir /work/llama.cpp] [--cli build/examples/smolvlm-cli]

For each prompt already in the file (its chat_text, rendered by the GGUF's template), runs
llama.cpp on the same file with greedy sampling, no EOS stop, as many tokens as the
transformers run has, and stores the text and its ids (re-tokenized with smolvlm-cli
--raw-prompt, so the ids compare with ours; a merge across the end of the text can differ in
the last id only). llama.cpp is built outside the project (see docs/gguf.md); its binary is
llama-completion, or llama-cli with -no-cnv on older trees.
"""
import argparse, json, os, re, subprocess, sys

def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("--llama-dir", default=os.environ.get("LLAMA_CPP_DIR", "/work/llama.cpp"))
    ap.add_argument("--cli", default=os.path.join(root, "build/examples/smolvlm-cli"))
    ap.add_argument("--ref", default=os.path.join(root, "tests/data/smollm2_q4_1_reference.json"))
    a = ap.parse_args()
    bindir = os.path.join(a.llama_dir, "build/bin")
    exe = os.path.join(bindir, "llama-completion")
    extra = []
    if not os.path.exists(exe):
        exe, extra = os.path.join(bindir, "llama-cli"), ["-no-cnv"]
    ref = json.load(open(a.ref))
    runs = []
    for r in ref["transformers"]["runs"]:
        n = len(r["generated_ids"])
        cmd = [exe, "-m", a.gguf, "-p", r["chat_text"], "-n", str(n), "--temp", "0", "--ignore-eos", "-t", "2",
               "--no-display-prompt", "-s", "0", "--special"] + extra
        out = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
        out = re.sub(r"\s*\[end of text\]\s*$", "", out)
        ids = subprocess.run([a.cli, "-m", a.gguf, "--raw-prompt", "-p", out, "-n", "0", "--ids"],
                             capture_output=True, text=True).stdout
        m = re.search(r"^prompt_ids:(.*)$", ids, re.M)
        gen = [int(x) for x in m.group(1).split()] if m else []
        runs.append({"prompt": r["prompt"], "text": out, "generated_ids": gen[:n]})
        print(r["prompt"], "->", repr(out[:80]), file=sys.stderr)
    ref["llama_cpp"] = {"tool": " ".join([os.path.basename(exe)] + extra) + " --temp 0 --ignore-eos -t 2 (re-tokenized)",
                        "runs": runs}
    json.dump(ref, open(a.ref, "w"), indent=1)

if __name__ == "__main__":
    main()
