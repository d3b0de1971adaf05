#!/usr/bin/env python3
"""Reference greedy runs of a GGUF text model (architecture llama) with Hugging Face
transformers' LlamaForCausalLM on the weights gguf-py dequantizes (Q/K rows un-permuted,
float32), the tokenizer from a tokenizer.json and the chat template from the GGUF.

    /work/venv/bin/python scripts/gguf_reference.py MODEL.gguf TOKENIZER.json OUT.json [-n 40]

For each prompt of PROMPTS (one user turn, rendered with the file's chat template,
add_generation_prompt) it records the prompt ids and n greedy ids (no EOS stop). Needs torch,
transformers and gguf (pip); the engine's tests never run it (they read OUT.json).
"""
import argparse, json, os, sys

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain what a CPU does in two sentences.",
    "List three fruits and their colors.",
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("tokenizer_json")
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=40)
    a = ap.parse_args()
    import numpy as np
    import torch
    from gguf import GGUFReader
    from gguf.quants import dequantize
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    torch.set_num_threads(2)
    f = os.path.basename(a.gguf)
    r = GGUFReader(a.gguf)
    def val(k):
        fl = r.fields[k]
        if fl.types[0].name == "STRING":
            return bytes(fl.parts[fl.data[0]]).decode()
        return fl.parts[fl.data[0]][0].item()
    arch = val("general.architecture")
    assert arch == "llama", arch
    n_head, n_kv = val("llama.attention.head_count"), val("llama.attention.head_count_kv")
    names = {t.name for t in r.tensors}
    cfg = LlamaConfig(vocab_size=val("llama.vocab_size"), hidden_size=val("llama.embedding_length"),
                      intermediate_size=val("llama.feed_forward_length"), num_hidden_layers=val("llama.block_count"),
                      num_attention_heads=n_head, num_key_value_heads=n_kv,
                      max_position_embeddings=val("llama.context_length"), rms_norm_eps=float(np.float32(val("llama.attention.layer_norm_rms_epsilon"))),
                      rope_theta=float(val("llama.rope.freq_base")), tie_word_embeddings="output.weight" not in names,
                      bos_token_id=val("tokenizer.ggml.bos_token_id"), eos_token_id=val("tokenizer.ggml.eos_token_id"))
    model = LlamaForCausalLM(cfg).float().eval()
    leaf = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
            "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    sd = {}
    for t in r.tensors:
        w = dequantize(t.data, t.tensor_type).astype(np.float32)
        w = w.reshape([int(x) for x in reversed(t.shape)]) if len(t.shape) > 1 else w.reshape(-1)
        n = t.name
        if n == "token_embd.weight": k = "model.embed_tokens.weight"
        elif n == "output_norm.weight": k = "model.norm.weight"
        elif n == "output.weight": k = "lm_head.weight"
        else:
            _, i, l, _ = n.split(".")
            k = "model.layers.%s.%s.weight" % (i, leaf[l])
            if l in ("attn_q", "attn_k"):  # undo the converter's permutation
                h = n_head if l == "attn_q" else n_kv
                w = w.reshape(h, w.shape[0] // h // 2, 2, w.shape[1]).swapaxes(1, 2).reshape(w.shape)
        sd[k] = torch.from_numpy(np.ascontiguousarray(w))
    if cfg.tie_word_embeddings:
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    missing = model.load_state_dict(sd, strict=False)
    assert not missing.unexpected_keys, missing
    tok = PreTrainedTokenizerFast(tokenizer_file=a.tokenizer_json)
    tok.chat_template = val("tokenizer.chat_template")
    runs = []
    for p in PROMPTS:
        text = tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        ids = tok(text, add_special_tokens=False)["input_ids"]
        x = torch.tensor([ids])
        out, margins = [], []
        with torch.no_grad():
            past = None
            cur = x
            for _ in range(a.n):
                r = model(cur, past_key_values=past, use_cache=True)
                past = r.past_key_values
                logits = r.logits[0, -1].double()
                top = torch.topk(logits, 2)
                nid = int(top.indices[0])
                margins.append(float(top.values[0] - top.values[1]))
                out.append(nid)
                cur = torch.tensor([[nid]])
        runs.append({"prompt": p, "chat_text": text, "prompt_ids": ids, "generated_ids": out,
                     "margins": margins, "text": tok.decode(out)})
        print(p, "->", repr(tok.decode(out)), file=sys.stderr)
    json.dump({"gguf": f, "tool": "transformers %s on gguf-py dequantized weights, float32, greedy with KV cache"
               % __import__("transformers").__version__, "runs": runs}, open(a.out, "w"), indent=1)

if __name__ == "__main__":
    main()
