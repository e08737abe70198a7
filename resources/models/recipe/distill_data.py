"""Distillation data for the draft model: chat-1's own continuations of chat prompts.

A draft model earns its keep by predicting what the target will say next, and the text it must
predict at run time is the target's own output, not the corpus. So the draft is trained (train.py
draft-distill, on chat-1's full next-token distributions) on chat-1's continuations of the
training split's chat prompts: half greedy, half sampled at temperature 0.8 (people chat with
sampling too), run past the end-of-turn token like `ignore_eos` does.

  distill_data.py [--prompts N] [--new T]     writes $WORK/distill.npz (tokens, prompt lengths)
"""
import argparse
import os
import time

import numpy as np
import torch

from common import CHAT_CFG, PAD_ID, WORK, load_model, load_tokens, setup_torch
from export import empty_past, pad_batch

ASSISTANT, NEWLINE, BOS = 5, 16, 0


def chat_prompts(tokens, limit, max_len):
    """Every `<|begin|> … <|assistant|>\\n` of the training split (first turn), up to `limit`."""
    out, start = [], None
    for i in range(len(tokens) - 1):
        t = int(tokens[i])
        if t == BOS:
            start = i
        elif t == ASSISTANT and tokens[i + 1] == NEWLINE and start is not None:
            p = tokens[start:i + 2].tolist()
            if len(p) <= max_len:
                out.append(p)
            start = None
            if len(out) >= limit:
                break
    return out


@torch.no_grad()
def continue_batch(model, prompts, new, temperature, generator):
    """Greedy (temperature 0) or sampled continuations, `new` tokens each."""
    ids, am, pos = pad_batch(prompts, "left")
    past = empty_past(model.c, len(prompts))
    gen = []
    step_ids, step_pos = ids, pos
    for _ in range(new):
        logits, past = model(step_ids, am, step_pos, past)
        last = logits[:, -1]
        if temperature > 0:
            probs = torch.softmax(last / temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator)[:, 0]
        else:
            nxt = last.argmax(-1)
        gen.append(nxt)
        step_ids = nxt[:, None]
        step_pos = step_pos[:, -1:] + 1
        am = torch.cat([am, torch.ones(len(prompts), 1, dtype=am.dtype)], dim=1)
    return torch.stack(gen, dim=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=3072)
    ap.add_argument("--new", type=int, default=160)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    setup_torch(4)
    teacher = load_model(CHAT_CFG, os.path.join(WORK, "ckpt", "chat1.safetensors"))
    teacher.eval()
    prompts = chat_prompts(load_tokens("train"), args.prompts, 96)
    rows, lens = [], []
    t0 = time.time()
    generator = torch.Generator().manual_seed(4)
    for b in range(0, len(prompts), args.batch):
        chunk = prompts[b:b + args.batch]
        temperature = 0.0 if (b // args.batch) % 2 == 0 else 0.8
        gen = continue_batch(teacher, chunk, args.new, temperature, generator)
        for p, g in zip(chunk, gen.tolist()):
            rows.append(p + g)
            lens.append(len(p))
        print(f"[distill-data] {b + len(chunk)}/{len(prompts)} prompts, {time.time() - t0:.0f}s", flush=True)
    width = max(len(r) for r in rows)
    arr = np.full((len(rows), width), PAD_ID, dtype=np.int64)
    for i, r in enumerate(rows):
        arr[i, :len(r)] = r
    np.savez(os.path.join(WORK, "distill.npz"), tokens=arr, prompt_len=np.array(lens), total_len=np.array([len(r) for r in rows]))
    print(f"[distill-data] {len(rows)} sequences, {sum(len(r) for r in rows)} tokens in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
