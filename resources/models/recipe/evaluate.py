"""Evaluate the exported family (loads each folder's model.safetensors, i.e. exactly what ships).

Held-out loss / perplexity, chat end-token rate on 50 held-out questions (greedy, <= 200 new tokens),
draft-vs-chat greedy agreement on held-out text. Writes $WORK/eval/summary.json.
"""
import json
import math
import os
import re
import time

import torch

from common import CHAT_CFG, DRAFT_CFG, EOS_ID, MODELS, WORK, count_params, load_model, load_tokens, setup_torch
from export import torch_greedy
import torch.nn.functional as F

EVAL_WINDOWS = 160  # held-out windows of 256 tokens (first 40,960 held-out tokens) to bound eval time


@torch.no_grad()
def loss_and_argmax(model, tokens, seq=256):
    t = torch.from_numpy(tokens)
    n = (len(tokens) - 1) // seq
    tot, cnt, preds = 0.0, 0, []
    for i in range(0, n, 16):
        x = torch.stack([t[j * seq:j * seq + seq + 1] for j in range(i, min(n, i + 16))])
        logits, _ = model(x[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
        cnt += x[:, 1:].numel()
        preds.append(logits.argmax(-1).reshape(-1))
    return tot / cnt, torch.cat(preds)
from train_tokenizer import bytes_to_unicode


class Decoder:
    def __init__(self, tok_path):
        tok = json.load(open(tok_path))
        self.id2tok = {v: k for k, v in tok["model"]["vocab"].items()}
        self.special = {a["id"]: a["content"] for a in tok["added_tokens"]}
        self.u2b = {u: b for b, u in bytes_to_unicode().items()}

    def __call__(self, ids, skip_special=True):
        out, buf = [], bytearray()
        for i in ids:
            if i in self.special:
                out.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                if not skip_special:
                    out.append(self.special[i])
            else:
                buf.extend(self.u2b[ch] for ch in self.id2tok[i])
        out.append(buf.decode("utf-8", "replace"))
        return "".join(out)


def flops_per_token(c, ctx=256):
    """Approximate forward FLOPs per token: 2 x matmul params (incl. lm_head) + attention over ctx."""
    d, L = c["hidden_size"], c["num_hidden_layers"]
    qo = 2 * d * c["num_attention_heads"] * c["head_dim"]
    kv = 2 * d * c["num_key_value_heads"] * c["head_dim"]
    mlp = 3 * d * c["intermediate_size"]
    mm = L * (qo + kv + mlp) + d * c["vocab_size"]
    attn = L * 2 * c["num_attention_heads"] * c["head_dim"] * ctx
    return 2 * mm + 2 * attn


@torch.no_grad()
def chat_eval(model, qs, dec, max_new=200):
    rows, n_eos, n_words = [], 0, 0
    t0 = time.time()
    for q in qs:
        gen = torch_greedy(model, q["ids"], max_new)
        ended = bool(gen) and gen[-1] == EOS_ID
        text = dec(gen)
        words = len(re.findall(r"[A-Za-z]{2,}", text)) >= 2
        n_eos += ended
        n_words += words and ended
        rows.append({"question": q["messages"][-1]["content"], "answer": text, "ended": ended, "tokens": len(gen)})
    return {"eos_rate": n_eos / len(qs), "eos_and_words_rate": n_words / len(qs), "n": len(qs),
            "mean_answer_tokens": sum(r["tokens"] for r in rows) / len(rows), "seconds": round(time.time() - t0, 1),
            "samples": rows}


def main():
    setup_torch(0)
    val = load_tokens("val")
    qs = json.load(open(os.path.join(WORK, "eval_questions.json")))
    dec = Decoder(os.path.join(MODELS, "orchard-chat-1", "tokenizer.json"))
    models = {}
    for name, cfg in (("orchard-chat-1", CHAT_CFG), ("orchard-chat-2", CHAT_CFG), ("orchard-draft", DRAFT_CFG)):
        m = load_model(cfg, os.path.join(MODELS, name, "model.safetensors"))
        m.eval()
        models[name] = m
    val = val[:EVAL_WINDOWS * 256 + 1]
    summary = {"val_tokens": int(len(val) - 1)}
    preds = {}
    for name, m in models.items():
        vl, preds[name] = loss_and_argmax(m, val)
        e = {"params": count_params(m), "val_loss": vl, "val_ppl": math.exp(vl),
             "flops_per_token_fwd": flops_per_token(m.c)}
        if name != "orchard-draft":
            e["chat"] = chat_eval(m, qs, dec)
            print(name, {k: v for k, v in e["chat"].items() if k != "samples"}, flush=True)
        else:
            e["agree_chat1"] = (preds[name] == preds["orchard-chat-1"]).float().mean().item()
            e["agree_chat2"] = (preds[name] == preds["orchard-chat-2"]).float().mean().item()
            e["compute_ratio_vs_chat"] = flops_per_token(m.c) / flops_per_token(CHAT_CFG)
        summary[name] = e
        print(name, {k: v for k, v in e.items() if k != "chat"}, flush=True)
    # chat-2 vs chat-1 greedy agreement too (useful context for the draft numbers)
    summary["chat2_vs_chat1_agreement"] = (preds["orchard-chat-2"] == preds["orchard-chat-1"]).float().mean().item()
    os.makedirs(os.path.join(WORK, "eval"), exist_ok=True)
    json.dump(summary, open(os.path.join(WORK, "eval", "summary.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
