"""Train one stage of the Orchard family.

  train.py chat1 --steps N      chat model v1 from scratch
  train.py chat2 --steps N      chat model v2, continued from chat1
  train.py draft --steps N      draft model base, distilled (KL) from chat1's logits on the corpus
  train.py draft-distill --steps N   the shipped draft: the base trained on chat1's own greedy
                                     continuations (distill_data.py), the text it must predict

Checkpoints go to $WORK/ckpt/<stage>.safetensors with a <stage>.json training log.
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import CHAT_CFG, DRAFT_CFG, WORK, Llama, count_params, hf_state_dict, load_model, load_tokens, save_safetensors, setup_torch

SEQ = 256


def batches(tokens, batch, steps, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.from_numpy(tokens)
    n = len(tokens) - SEQ - 1
    for _ in range(steps):
        starts = torch.randint(0, n, (batch,), generator=g)
        x = torch.stack([t[s:s + SEQ + 1] for s in starts.tolist()])
        yield x[:, :-1], x[:, 1:]


@torch.no_grad()
def eval_loss(model, tokens, max_windows=None):
    model.eval()
    n = (len(tokens) - 1) // SEQ
    if max_windows:
        n = min(n, max_windows)
    tot, cnt = 0.0, 0
    t = torch.from_numpy(tokens)
    for i in range(0, n, 16):
        idx = range(i, min(n, i + 16))
        x = torch.stack([t[j * SEQ:j * SEQ + SEQ + 1] for j in idx])
        logits, _ = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
        tot += loss.item()
        cnt += x[:, 1:].numel()
    model.train()
    return tot / cnt


@torch.no_grad()
def agreement(student, teacher, tokens, max_windows=None):
    student.eval()
    teacher.eval()
    n = (len(tokens) - 1) // SEQ
    if max_windows:
        n = min(n, max_windows)
    t = torch.from_numpy(tokens)
    same, cnt = 0, 0
    for i in range(0, n, 16):
        idx = range(i, min(n, i + 16))
        x = torch.stack([t[j * SEQ:j * SEQ + SEQ] for j in idx])
        a = student(x)[0].argmax(-1)
        b = teacher(x)[0].argmax(-1)
        same += (a == b).sum().item()
        cnt += a.numel()
    return same / cnt


def lr_at(step, steps, peak, warmup, floor=0.1):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def make_opt(model, lr, wd=0.1):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.95), eps=1e-8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stage", choices=["chat1", "chat2", "draft", "draft-distill"])
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--eval-every", type=int, default=0)
    ap.add_argument("--max-minutes", type=float, default=0,
                    help="safety stop on an overloaded machine (breaks determinism; the log records the real step count)")
    args = ap.parse_args()
    if args.stage == "draft-distill":
        return distill(args)
    seeds = {"chat1": 1, "chat2": 2, "draft": 3}
    setup_torch(seeds[args.stage])
    train = load_tokens("train")
    val = load_tokens("val")
    ck = os.path.join(WORK, "ckpt")
    os.makedirs(ck, exist_ok=True)
    teacher = None
    if args.stage == "chat1":
        model = Llama(CHAT_CFG)
        peak, warmup = args.lr or 2e-3, 100
    elif args.stage == "chat2":
        model = load_model(CHAT_CFG, os.path.join(ck, "chat1.safetensors"))
        peak, warmup = args.lr or 1e-3, 50
    else:
        model = Llama(DRAFT_CFG)
        teacher = load_model(CHAT_CFG, os.path.join(ck, "chat1.safetensors"))
        teacher.eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        peak, warmup = args.lr or 3e-3, 100
    warmup = min(warmup, max(1, args.steps // 5))
    model.train()
    opt = make_opt(model, peak)
    print(f"[{args.stage}] params={count_params(model)} steps={args.steps} batch={args.batch} seq={SEQ}", flush=True)
    t0 = time.time()
    log = []
    for step, (x, y) in enumerate(batches(train, args.batch, args.steps, seeds[args.stage] * 1000)):
        for gp in opt.param_groups:
            gp["lr"] = lr_at(step, args.steps, peak, warmup)
        logits, _ = model(x)
        if teacher is None:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        else:
            with torch.no_grad():
                tl, _ = teacher(x)
            lt = F.log_softmax(tl, -1)
            ls = F.log_softmax(logits, -1)
            kl = (lt.exp() * (lt - ls)).sum(-1).mean()
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            loss = kl + 0.1 * ce
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == args.steps - 1:
            el = time.time() - t0
            tps = (step + 1) * args.batch * SEQ / el
            print(f"[{args.stage}] step {step} loss {loss.item():.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{el:.0f}s {tps:.0f} tok/s", flush=True)
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes:
            print(f"[{args.stage}] deadline reached after {step + 1} steps", flush=True)
            break
        if args.eval_every and step % args.eval_every == 0 and step:
            print(f"[{args.stage}] step {step} val_loss {eval_loss(model, val, 64):.4f}", flush=True)
    wall = time.time() - t0
    vl = eval_loss(model, val, 64)  # quick estimate; evaluate.py measures the full held-out split
    done = step + 1
    info = {"stage": args.stage, "steps": done, "planned_steps": args.steps, "batch": args.batch, "seq": SEQ,
            "tokens": done * args.batch * SEQ, "wall_s": round(wall, 1), "val_loss": vl,
            "val_ppl": math.exp(vl), "params": count_params(model), "peak_lr": peak,
            "val_windows_in_log": 64, "final_train_loss": loss.item(), "train_tokens_per_epoch": int(len(train))}
    if teacher is not None:
        info["agree_chat1_val"] = agreement(model, teacher, val, 64)
    print(json.dumps(info), flush=True)
    name = "draft-base" if args.stage == "draft" else args.stage
    save_safetensors(os.path.join(ck, f"{name}.safetensors"), hf_state_dict(model))
    json.dump(info, open(os.path.join(ck, f"{name}.json"), "w"), indent=2)


def distill(args):
    """Distillation on chat1's own continuations: KL to chat1's next-token distributions (plus a
    little next-token loss), on the continuation positions only."""
    setup_torch(5)
    ck = os.path.join(WORK, "ckpt")
    data = np.load(os.path.join(WORK, "distill.npz"))
    tokens = torch.from_numpy(data["tokens"])
    plen = torch.from_numpy(data["prompt_len"])
    tlen = torch.from_numpy(data["total_len"])
    n = len(tokens)
    held = max(16, n // 20)  # the last 5 % measure agreement, never trained on
    train_idx, val_idx = torch.arange(0, n - held), torch.arange(n - held, n)
    model = load_model(DRAFT_CFG, os.path.join(ck, "draft-base.safetensors"))
    model.train()
    teacher = load_model(CHAT_CFG, os.path.join(ck, "chat1.safetensors"))
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    peak, warmup = args.lr or 2e-3, min(20, max(1, args.steps // 10))
    opt = make_opt(model, peak, wd=0.0)
    pos = torch.arange(tokens.shape[1] - 1)[None]

    def masked(idx):
        x = tokens[idx]
        # predict generated tokens only: inputs up to total-1, targets from the prompt's end
        m = (pos >= (plen[idx] - 1)[:, None]) & (pos < (tlen[idx] - 1)[:, None])
        return x[:, :-1], x[:, 1:], m

    @torch.no_grad()
    def val_agreement():
        model.eval()
        same, cnt = 0, 0
        for b in range(0, held, 32):
            x, _, m = masked(val_idx[b:b + 32])
            a = model(x)[0].argmax(-1)
            t = teacher(x)[0].argmax(-1)
            same += ((a == t) & m).sum().item()
            cnt += m.sum().item()
        model.train()
        return same / cnt

    before = val_agreement()
    print(f"[draft-distill] base argmax agreement with chat1 on its own text {before:.3f}", flush=True)
    g = torch.Generator().manual_seed(5)
    t0 = time.time()
    step = 0
    for step in range(args.steps):
        for gp in opt.param_groups:
            gp["lr"] = lr_at(step, args.steps, peak, warmup)
        idx = train_idx[torch.randint(0, len(train_idx), (args.batch,), generator=g)]
        x, y, m = masked(idx)
        logits, _ = model(x)
        with torch.no_grad():
            lt = F.log_softmax(teacher(x)[0], -1)
        ls = F.log_softmax(logits, -1)
        kl = (lt.exp() * (lt - ls)).sum(-1)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none")
        mf = m.float()
        loss = ((kl + 0.1 * ce.view_as(kl)) * mf).sum() / mf.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == args.steps - 1:
            print(f"[draft-distill] step {step} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes:
            print(f"[draft-distill] deadline reached after {step + 1} steps", flush=True)
            break
    after = val_agreement()
    info = {"stage": "draft-distill", "steps": step + 1, "planned_steps": args.steps, "batch": args.batch,
            "sequences": int(n), "held_out": int(held), "wall_s": round(time.time() - t0, 1), "peak_lr": peak,
            "agree_chat1_argmax_before": before, "agree_chat1_argmax_after": after,
            "params": count_params(model)}
    print(json.dumps(info), flush=True)
    save_safetensors(os.path.join(ck, "draft.safetensors"), hf_state_dict(model))
    json.dump(info, open(os.path.join(ck, "draft.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
