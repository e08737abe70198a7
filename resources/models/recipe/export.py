"""Export one trained stage to a Hugging Face style folder and verify the ONNX graph.

  export.py <stage> <folder-name>     e.g. export.py chat1 orchard-chat-1

Writes resources/models/<folder>/{config.json, generation_config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, special_tokens_map.json, onnx/model.onnx} and
$WORK/eval/<folder>.parity.json (ONNX Runtime vs PyTorch numbers, checked by verify.mjs).
"""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

from graph_builder import write_onnx
from common import (BOS_ID, CHAT_CFG, DRAFT_CFG, EOS_ID, MODELS, PAD_ID, RECIPE, WEIGHT_BITS, WORK, hf_config,
                    hf_state_dict, load_model, save_safetensors, setup_torch)

TOL = 1e-4


def empty_past(c, b):
    return [(torch.zeros(b, c["num_key_value_heads"], 0, c["head_dim"]),
             torch.zeros(b, c["num_key_value_heads"], 0, c["head_dim"])) for _ in range(c["num_hidden_layers"])]


def export_onnx(model, path, weight_bits=None):
    """Writes the lean graph (graph_builder.py) from the module's weights."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    write_onnx(state, hf_config(model.c), path, weight_bits=weight_bits)
    return os.path.getsize(path)


# A quantized graph's logits are the float model's within rounding, not within TOL: it must still
# pick the float model's top token almost everywhere (measured 8-bit draft: see its parity file).
QUANT_MIN_ARGMAX_AGREEMENT = 0.97


# ---------------------------------------------------------------- verification
class Cases:
    def __init__(self, d):
        self.d = d
        if os.path.exists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        self.cases, self.ref = [], {}

    def add(self, name, feeds):
        spec = {}
        for k, t in feeds.items():
            a = t.numpy()
            dtype = "int64" if a.dtype == np.int64 else "float32"
            a = a.astype("<i8" if dtype == "int64" else "<f4")
            f = f"{name}.{k}.bin"
            a.tofile(os.path.join(self.d, f))
            spec[k] = {"dtype": dtype, "dims": list(a.shape), "file": f}
        self.cases.append({"name": name, "feeds": spec})

    def out(self, name, oname):
        dims = json.load(open(os.path.join(self.d, "out", f"{name}.{oname}.json")))
        return torch.from_numpy(np.fromfile(os.path.join(self.d, "out", f"{name}.{oname}.bin"), dtype="<f4").reshape(dims))


def feeds_for(c, ids, am, pos, past):
    f = {"input_ids": ids, "attention_mask": am, "position_ids": pos,
         "num_logits_to_keep": torch.tensor(0, dtype=torch.long)}  # 0 = logits for every position
    for i, (k, v) in enumerate(past):
        f[f"past_key_values.{i}.key"] = k
        f[f"past_key_values.{i}.value"] = v
    return f


@torch.no_grad()
def torch_greedy(model, prompt, max_new, eos=EOS_ID):
    ids, step, past, gen = list(prompt), list(prompt), empty_past(model.c, 1), []
    for _ in range(max_new):
        T, s = len(ids), len(step)
        logits, past = model(torch.tensor([step]), torch.ones(1, T, dtype=torch.long), torch.arange(T - s, T)[None], past)
        nxt = int(logits[0, -1].argmax())
        gen.append(nxt)
        ids.append(nxt)
        step = [nxt]
        if nxt == eos:
            break
    return gen


def pad_batch(rows, side):
    L = max(len(r) for r in rows)
    ids = torch.full((len(rows), L), PAD_ID, dtype=torch.long)
    am = torch.zeros(len(rows), L, dtype=torch.long)
    for i, r in enumerate(rows):
        if side == "left":
            ids[i, L - len(r):] = torch.tensor(r)
            am[i, L - len(r):] = 1
        else:
            ids[i, :len(r)] = torch.tensor(r)
            am[i, :len(r)] = 1
    pos = (am.cumsum(1) - 1).clamp(min=0)
    return ids, am, pos


@torch.no_grad()
def verify(model, onnx_path, name, prompts_for_greedy, quantized=False):
    """Runs the graph on fixed cases and greedy prompts and compares with PyTorch. A float graph must match
    within TOL and give the same greedy text; a quantized one (weights rounded to blocks) is held to
    top-token agreement instead, and its greedy agreement is reported."""
    c = model.c
    model.eval()
    g = torch.Generator().manual_seed(7)
    rnd = lambda n: torch.randint(6, c["vocab_size"], (n,), generator=g).tolist()
    d = os.path.join(WORK, "verify", name)
    cs = Cases(d)
    torch_out = {}
    semantic = {}  # name -> list of (onnx_tensor_getter, reference) comparisons vs unpadded/no-past

    def run_torch(cname, ids, am, pos, past):
        logits, pres = model(ids, am, pos, past)
        torch_out[cname] = {"logits": logits}
        for i, (k, v) in enumerate(pres):
            torch_out[cname][f"present.{i}.key"] = k
            torch_out[cname][f"present.{i}.value"] = v
        cs.add(cname, feeds_for(c, ids, am, pos, past))
        return logits, pres

    def full(row):  # unpadded, no-past reference logits for one row
        return model(torch.tensor([row]), torch.ones(1, len(row), dtype=torch.long), torch.arange(len(row))[None], empty_past(c, 1))[0][0]

    # 1) no past, batch 1, several random prompts
    for j, n in enumerate([1, 9, 33]):
        r = rnd(n)
        run_torch(f"nopast_b1_{j}", torch.tensor([r]), torch.ones(1, n, dtype=torch.long), torch.arange(n)[None], empty_past(c, 1))
    # 2) with past: prefix then new tokens; also compare to no-past logits at the same positions
    for j, (p, s) in enumerate([(6, 4), (17, 1), (40, 8)]):
        r = rnd(p + s)
        _, pres = model(torch.tensor([r[:p]]), torch.ones(1, p, dtype=torch.long), torch.arange(p)[None], empty_past(c, 1))
        cname = f"past_b1_{j}"
        run_torch(cname, torch.tensor([r[p:]]), torch.ones(1, p + s, dtype=torch.long), torch.arange(p, p + s)[None], pres)
        semantic[cname] = [(0, slice(0, s), full(r)[p:])]
    # 3) batched, no padding
    rows = [rnd(12) for _ in range(3)]
    ids = torch.tensor(rows)
    run_torch("batch_nopad", ids, torch.ones(3, 12, dtype=torch.long), torch.arange(12)[None].expand(3, 12).contiguous(), empty_past(c, 3))
    semantic["batch_nopad"] = [(i, slice(0, 12), full(r)) for i, r in enumerate(rows)]
    # 4) left / right padding (prefill) and a decode step with past after left-padded prefill
    rows = [rnd(5), rnd(11), rnd(8)]
    for side in ("left", "right"):
        ids, am, pos = pad_batch(rows, side)
        L = ids.shape[1]
        _, pres = run_torch(f"batch_{side}pad", ids, am, pos, empty_past(c, 3))
        sem = []
        for i, r in enumerate(rows):
            sl = slice(L - len(r), L) if side == "left" else slice(0, len(r))
            sem.append((i, sl, full(r)))
        semantic[f"batch_{side}pad"] = sem
        if side == "left":
            nxt = rnd(3)
            am2 = torch.cat([am, torch.ones(3, 1, dtype=torch.long)], 1)
            pos2 = torch.tensor([[len(r)] for r in rows])
            run_torch("batch_leftpad_decode", torch.tensor([[t] for t in nxt]), am2, pos2, pres)
            semantic["batch_leftpad_decode"] = [(i, slice(0, 1), full(r + [nxt[i]])[-1:]) for i, r in enumerate(rows)]
    # greedy spec
    json.dump({"cases": cs.cases, "greedy": {"prompts": prompts_for_greedy, "max_new": 40, "eos": EOS_ID,
                                             "num_layers": c["num_hidden_layers"], "num_kv_heads": c["num_key_value_heads"],
                                             "head_dim": c["head_dim"]}}, open(os.path.join(d, "cases.json"), "w"))
    t0 = time.time()
    subprocess.run(["node", os.path.join(RECIPE, "verify.mjs"), onnx_path, d], check=True, cwd=RECIPE)
    node_s = time.time() - t0
    report = {"cases": {}, "tolerance": TOL}
    worst_direct, worst_sem = 0.0, 0.0
    agree, positions = 0, 0
    for case in cs.cases:
        cn = case["name"]
        direct = 0.0
        for oname, ref in torch_out[cn].items():
            o = cs.out(cn, oname)
            assert tuple(o.shape) == tuple(ref.shape), (cn, oname, o.shape, ref.shape)
            direct = max(direct, (o - ref).abs().max().item())
        entry = {"onnx_vs_torch_max_abs": direct}
        if cn in semantic:
            lo = cs.out(cn, "logits")
            sem = 0.0
            for row, sl, ref in semantic[cn]:
                sem = max(sem, (lo[row, sl] - ref).abs().max().item())
            entry["onnx_vs_unpadded_nopast_torch_max_abs"] = sem
            worst_sem = max(worst_sem, sem)
        assert not torch.isnan(cs.out(cn, "logits")).any(), cn
        lo, ref = cs.out(cn, "logits"), torch_out[cn]["logits"]
        agree += int((lo.argmax(-1) == ref.argmax(-1)).sum())
        positions += lo.shape[0] * lo.shape[1]
        worst_direct = max(worst_direct, direct)
        report["cases"][cn] = entry
    greedy_onnx = json.load(open(os.path.join(d, "out", "greedy.json")))["results"]
    greedy_torch = [torch_greedy(model, p, 40) for p in prompts_for_greedy]
    same = sum(a == b for a, b in zip(greedy_onnx, greedy_torch))
    report.update({"max_abs_onnx_vs_torch": worst_direct, "max_abs_padded_or_cached_vs_reference": worst_sem,
                   "greedy_identical": same, "greedy_prompts": len(prompts_for_greedy), "greedy_max_new": 40,
                   "argmax_agreement": round(agree / positions, 4), "node_seconds": round(node_s, 1)})
    if quantized:
        report["tolerance"] = None
        ok = agree / positions >= QUANT_MIN_ARGMAX_AGREEMENT
    else:
        ok = worst_direct <= TOL and worst_sem <= TOL and same == len(prompts_for_greedy)
    report["pass"] = ok
    print(json.dumps({k: v for k, v in report.items() if k != "cases"}), flush=True)
    if not ok:
        print(json.dumps(report["cases"], indent=1))
        raise SystemExit(f"ONNX verification FAILED for {name}")
    return report


def export_and_verify(model, name, onnx_path, prompts):
    """Writes the float graph and verifies it; for a model shipped with quantized weights (WEIGHT_BITS), the
    float graph is verified aside and the quantized one written in its place and measured against PyTorch."""
    bits = WEIGHT_BITS.get(name)
    float_path = onnx_path if bits is None else os.path.join(WORK, "verify", f"{name}.float.onnx")
    t0 = time.time()
    size = export_onnx(model, float_path)
    print(f"exported {float_path} ({size / 1e6:.1f} MB) in {time.time() - t0:.1f}s", flush=True)
    report = verify(model, float_path, name, prompts)
    if bits is not None:
        size_q = export_onnx(model, onnx_path, weight_bits=bits)
        print(f"exported {onnx_path} with {bits}-bit weights ({size_q / 1e6:.1f} MB)", flush=True)
        q = verify(model, onnx_path, f"{name}.q{bits}", prompts, quantized=True)
        q.pop("cases")
        report["quantized"] = {"weight_bits": bits, "block_size": 32, "float_bytes": size, "bytes": size_q, **q}
    os.makedirs(os.path.join(WORK, "eval"), exist_ok=True)
    json.dump(report, open(os.path.join(WORK, "eval", f"{name}.parity.json"), "w"), indent=2)
    return report


def reexport(name):
    """Rebuild onnx/model.onnx of a shipped folder from its model.safetensors (graph changes only)."""
    out = os.path.join(MODELS, name)
    cfg = json.load(open(os.path.join(out, "config.json")))
    model = load_model(cfg, os.path.join(out, "model.safetensors"))
    model.eval()
    qs = json.load(open(os.path.join(WORK, "eval_questions.json")))
    export_and_verify(model, name, os.path.join(out, "onnx", "model.onnx"), [q["ids"] for q in qs[:20]])


def main():
    stage, name = sys.argv[1], sys.argv[2]
    setup_torch(0)
    if stage == "reexport":
        return reexport(name)
    cfg = DRAFT_CFG if stage == "draft" else CHAT_CFG
    model = load_model(cfg, os.path.join(WORK, "ckpt", f"{stage}.safetensors"))
    model.eval()
    out = os.path.join(MODELS, name)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    json.dump(hf_config(cfg), open(os.path.join(out, "config.json"), "w"), indent=2)
    json.dump({"_from_model_config": False, "bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID,
               "do_sample": True, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 200,
               "transformers_version": "4.44.0"}, open(os.path.join(out, "generation_config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(WORK, "tokenizer", f), os.path.join(out, f))
    save_safetensors(os.path.join(out, "model.safetensors"), hf_state_dict(model), metadata={"format": "pt"})
    qs = json.load(open(os.path.join(WORK, "eval_questions.json")))
    export_and_verify(model, name, os.path.join(out, "onnx", "model.onnx"), [q["ids"] for q in qs[:20]])


if __name__ == "__main__":
    main()
