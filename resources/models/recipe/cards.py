"""Write README.md model cards from the recipe's measurements ($WORK/ckpt/*.json, $WORK/eval/*.json)."""
import json
import os

from common import CHAT_CFG, DRAFT_CFG, MODELS, WORK

FOLDERS = {"orchard-chat-1": "chat1", "orchard-chat-2": "chat2", "orchard-draft": "draft"}


def load(p):
    return json.load(open(p)) if os.path.exists(p) else None


def times():
    p = os.path.join(WORK, "times.tsv")
    out = {}
    if os.path.exists(p):
        for line in open(p):
            k, v = line.strip().split("\t")
            out[k] = int(v)
    return out


def fmt_s(s):
    return f"{s // 60} min {s % 60:02d} s" if s is not None else "n/a"


def size_mb(path):
    return os.path.getsize(path) / 1e6


def card(name, summary, corpus_stats, t):
    stage = FOLDERS[name]
    cfg = DRAFT_CFG if stage == "draft" else CHAT_CFG
    tr = load(os.path.join(WORK, "ckpt", f"{stage}.json"))
    par = load(os.path.join(WORK, "eval", f"{name}.parity.json"))
    ev = summary[name]
    c1, c2 = summary["orchard-chat-1"], summary["orchard-chat-2"]
    d = os.path.join(MODELS, name)
    tok_cfg = json.load(open(os.path.join(d, "tokenizer_config.json")))
    L = []
    title = {"chat1": "Orchard Chat 1 (v1)", "chat2": "Orchard Chat 2 (v2)", "draft": "Orchard Draft"}[stage]
    L.append(f"# {title}\n")
    if stage == "chat1":
        L.append("A tiny Llama-architecture chat model (default served version of the Orchard family). It answers "
                 "requests with fortunes/quotes in the style of the BSD `fortune` collections. It is a demo and test "
                 "model for the Orchard serving engine, not a general assistant: it knows nothing beyond fortunes, and "
                 "its text is only roughly coherent.\n")
    elif stage == "chat2":
        L.append("Version 2 of the Orchard chat model: same architecture and tokenizer as `orchard-chat-1`, "
                 "continued from its final weights with more training on the same data. Lower held-out loss "
                 "(see below). Intended for testing versioned rollouts (v1 -> v2).\n")
    else:
        L.append("Draft model for speculative decoding with `orchard-chat-1` (same tokenizer). Distilled in two "
                 "stages with a KL loss on `orchard-chat-1`'s next-token distributions (plus 0.1 x next-token "
                 "cross-entropy): first on the corpus, then on `orchard-chat-1`'s own continuations of chat prompts "
                 "(half greedy, half sampled at temperature 0.8, continued past the end-of-turn token), which is "
                 "the text a draft has to predict while the chat model answers. On held-out continuations its "
                 f"most likely next token is chat-1's on **{tr['agree_chat1_argmax_after'] * 100:.1f} %** of "
                 f"positions ({tr['agree_chat1_argmax_before'] * 100:.1f} % after the first stage alone).\n")
    L.append("## Files\n")
    L.append("| file | bytes |\n|---|---|")
    for f in ["config.json", "generation_config.json", "model.safetensors", "onnx/model.onnx", "tokenizer.json",
              "tokenizer_config.json", "special_tokens_map.json"]:
        L.append(f"| `{f}` | {os.path.getsize(os.path.join(d, f))} |")
    L.append("\n`onnx/model.onnx` is float32, single file, opset 17 plus ONNX Runtime contrib ops "
             "(SimplifiedLayerNormalization, com.microsoft SkipSimplifiedLayerNormalization and FusedMatMul), written "
             "node by node by `recipe/graph_builder.py` (~30 nodes a layer: fused QKV and gate/up matmuls, rotary "
             "folded into the projection, grouped-query attention without repeating K/V). Decoder-with-past signature: inputs "
             "`input_ids` [batch, sequence_length] int64, `attention_mask` [batch, total_sequence_length] int64, "
             "`position_ids` [batch, sequence_length] int64, `past_key_values.{i}.key|value` float32 "
             f"[batch, {cfg['num_key_value_heads']}, past_sequence_length, {cfg['head_dim']}] for i in "
             f"0..{cfg['num_hidden_layers'] - 1}, `num_logits_to_keep` int64 scalar (logits for the last k positions; 0 = all); "
             f"outputs `logits` [batch, min(sequence_length, k), {cfg['vocab_size']}] and "
             "`present.{i}.key|value` [batch, kv_heads, total_sequence_length, head_dim] (past concatenated with "
             "new) and `new_key_values.{i}.key|value` [batch, kv_heads, sequence_length, head_dim] (the new positions "
             "alone, for runtimes that keep their own cache). Attention is causal over absolute cache slots (query i sits at slot past_len+i) and respects "
             "`attention_mask`; masked scores use float32 min (no NaN for fully padded rows). Use "
             "`position_ids = cumsum(attention_mask) - 1` for left padding. Pass empty past tensors "
             "(past_sequence_length = 0) for the first call.\n")
    L.append("## Architecture\n")
    L.append(f"Llama (`LlamaForCausalLM`): RMSNorm, rotary position embeddings (theta {cfg['rope_theta']:g}), SwiGLU MLP, "
             f"grouped-query attention. hidden {cfg['hidden_size']}, intermediate {cfg['intermediate_size']}, "
             f"{cfg['num_hidden_layers']} layers, {cfg['num_attention_heads']} query heads x {cfg['head_dim']}, "
             f"{cfg['num_key_value_heads']} KV heads, vocab {cfg['vocab_size']}, tied input/output embeddings, "
             f"max positions {cfg['max_position_embeddings']} (trained on 256-token windows).\n")
    L.append(f"**Parameters: {ev['params']:,}** (embeddings counted once). Forward compute ~{ev['flops_per_token_fwd'] / 1e6:.1f} "
             "MFLOP/token at 256 context.")
    if stage == "draft":
        L.append(f" That is **{ev['compute_ratio_vs_chat']:.2f}x** the chat model's per-token compute.")
    L.append("\n")
    L.append("## Tokenizer and chat template\n")
    L.append("Byte-level BPE (GPT-2 style ByteLevel pre-tokenizer + BPE + ByteLevel decoder), 4,096 tokens, trained "
             "by the recipe on the training split. Shared by all three Orchard models. Special tokens: "
             "`<|begin|>`=0 (BOS), `<|end|>`=1 (EOS, end of every turn), `<|pad|>`=2, `<|system|>`=3, `<|user|>`=4, "
             "`<|assistant|>`=5. `add_bos_token` is false: the chat template emits `<|begin|>` itself; prepend id 0 "
             "yourself for raw-text completion. Encode rendered templates with `add_special_tokens: false`.\n")
    L.append("```jinja\n" + tok_cfg["chat_template"] + "\n```\n")
    L.append("Rendered example: `<|begin|><|user|>\\nSay something wise.<|end|>\\n<|assistant|>\\n`.\n")
    corpus_tokens = load(os.path.join(WORK, "ckpt", "chat1.json"))["train_tokens_per_epoch"]
    L.append("## Training data\n")
    L.append(f"{corpus_stats['fortunes']:,} fortunes (after cleaning and de-duplication) from the Debian packages "
             "`fortunes-min` and `fortunes` (`/usr/share/games/fortunes/*`, the BSD fortune-mod collections), "
             f"collections: {', '.join(corpus_stats['collections'])}. Skipped: `ascii-art`, `ethnic`. Fortunes longer than "
             "320 characters are dropped; whitespace is collapsed and hard-wrapped lines are joined (one line per "
             "paragraph). "
             "Licence: BSD (fortune-mod, (c) The Regents of the University of California; see "
             "`/usr/share/doc/fortunes/copyright`), individual fortunes are short quotations. Each fortune appears "
             "as a chat (user asks e.g. \"Tell me a fortune about food.\", \"Say something wise.\", "
             "\"Finish this: <first words>\"; sometimes with a system prompt or a second turn; assistant answers with "
             "the fortune and `<|end|>`) and as a plain `<|begin|>text<|end|>` document. 5 % of fortunes (by SHA-1 "
             f"of the text) are held out: {corpus_stats['train_fortunes']:,} train / {corpus_stats['val_fortunes']:,} "
             f"held-out fortunes; {corpus_tokens:,} training tokens per epoch, "
             f"{summary['val_tokens']:,} held-out tokens.\n")
    L.append("## Training\n")
    if stage == "chat1":
        L.append(f"From scratch. AdamW (betas 0.9/0.95, weight decay 0.1), peak LR {tr['peak_lr']:g}, warmup + cosine "
                 f"to 10 %, batch {tr['batch']} x {tr['seq']} tokens, {tr['steps']} steps = **{tr['tokens']:,} tokens**, "
                 f"wall time **{fmt_s(t.get('train-chat1'))}** on 2 shared CPU cores (torch {'1.13'}, fp32).\n")
    elif stage == "chat2":
        tr1 = load(os.path.join(WORK, "ckpt", "chat1.json"))
        L.append(f"Initialised from `orchard-chat-1`, then {tr['steps']} more steps (batch {tr['batch']} x {tr['seq']}; "
                 f"{tr['tokens']:,} tokens; fresh AdamW, peak LR {tr['peak_lr']:g}, warmup + cosine). Total "
                 f"**{tr1['tokens'] + tr['tokens']:,} tokens**; extra wall time **{fmt_s(t.get('train-chat2'))}** "
                 f"(chat-1 took {fmt_s(t.get('train-chat1'))}).\n")
    else:
        base = load(os.path.join(WORK, "ckpt", "draft-base.json"))
        L.append(f"Stage 1, from scratch, teacher `orchard-chat-1` (frozen), on the corpus. Loss = KL(teacher || "
                 f"draft) + 0.1 x CE, AdamW, peak LR {base['peak_lr']:g}, batch {base['batch']} x {base['seq']}, "
                 f"{base['steps']} steps = **{base['tokens']:,} tokens**, wall time **{fmt_s(t.get('train-draft'))}**.\n")
        L.append(f"Stage 2 (`distill_data.py`, `train.py draft-distill`): {tr['sequences']:,} continuations of 160 "
                 f"tokens by `orchard-chat-1` of the training split's chat prompts ({tr['held_out']} held out), same "
                 f"loss on the continuation positions only, AdamW, peak LR {tr['peak_lr']:g}, batch {tr['batch']}, "
                 f"{tr['steps']} steps, wall time **{fmt_s(t.get('train-draft-distill'))}** (data "
                 f"{fmt_s(t.get('distill-data'))}).\n")
    L.append("## Evaluation (held-out split)\n")
    L.append(f"Measured on the first {summary['val_tokens']:,} tokens of the held-out split (160 windows of 256).\n")
    L.append("| model | params | held-out loss (nats/token) | perplexity |\n|---|---|---|---|")
    for n in ("orchard-chat-1", "orchard-chat-2", "orchard-draft"):
        e = summary[n]
        L.append(f"| {n}{' (this model)' if n == name else ''} | {e['params']:,} | {e['val_loss']:.4f} | {e['val_ppl']:.2f} |")
    L.append("")
    if stage != "draft":
        L.append(f"Chat check: 50 held-out questions rendered with the chat template, greedy decoding, at most 200 new "
                 f"tokens. End token emitted: **chat-1 {c1['chat']['eos_rate'] * 100:.0f} %**, "
                 f"**chat-2 {c2['chat']['eos_rate'] * 100:.0f} %** (answers with >= 2 words and the end token: "
                 f"chat-1 {c1['chat']['eos_and_words_rate'] * 100:.0f} %, chat-2 {c2['chat']['eos_and_words_rate'] * 100:.0f} %). "
                 f"Mean answer length {ev['chat']['mean_answer_tokens']:.0f} tokens.\n")
        L.append("Sample greedy answers from this model (held-out questions):\n")
        for s in ev["chat"]["samples"][:6]:
            a = s["answer"].replace("\n", " / ")
            L.append(f"- **Q:** {s['question']}  \n  **A:** {a}{'' if s['ended'] else ' [no end token]'}")
        L.append("")
    else:
        L.append(f"Greedy next-token agreement on the first {summary['val_tokens']:,} held-out positions (teacher-forced): "
                 f"**{ev['agree_chat1'] * 100:.1f} % vs orchard-chat-1**, **{ev['agree_chat2'] * 100:.1f} % vs "
                 f"orchard-chat-2**. (For reference, chat-2 agrees with chat-1 on "
                 f"{summary['chat2_vs_chat1_agreement'] * 100:.1f} %.)\n")
    L.append("## ONNX export parity (ONNX Runtime via onnxruntime-node vs PyTorch)\n")
    L.append(f"Max |logit/present difference| over all cases: **{par['max_abs_onnx_vs_torch']:.2e}**; padded / "
             f"cached ONNX logits vs unpadded no-cache PyTorch logits: **{par['max_abs_padded_or_cached_vs_reference']:.2e}** "
             f"(tolerance {par['tolerance']:g}). Greedy continuations (KV cache in ONNX Runtime, up to "
             f"{par['greedy_max_new']} tokens): **{par['greedy_identical']}/{par['greedy_prompts']} identical**.\n")
    L.append("| case | ONNX vs PyTorch (same inputs) | vs unpadded / no-past reference |\n|---|---|---|")
    for cn, e in par["cases"].items():
        s = e.get("onnx_vs_unpadded_nopast_torch_max_abs")
        L.append(f"| {cn} | {e['onnx_vs_torch_max_abs']:.2e} | {'' if s is None else f'{s:.2e}'} |")
    L.append("\nCases: no past (1, 9, 33 tokens), with past (6+4, 17+1, 40+8), batch of 3 unpadded, left-padded, "
             "right-padded, and a decode step with past after a left-padded prefill.\n")
    q = par.get("quantized")
    if q:
        L.append(f"The numbers above are the float32 graph's. **The shipped `onnx/model.onnx` stores its weight matrices "
                 f"in {q['weight_bits']}-bit blocks** of {q['block_size']} (com.microsoft `MatMulNBits`, accuracy level 4: "
                 f"int8 dot products; `quantize.py`), {q['bytes'] / 1e6:.1f} MB instead of {q['float_bytes'] / 1e6:.1f} MB; "
                 "the embedding table stays float32 and `model.safetensors` keeps the float weights. A draft step then "
                 "costs ~20 % less on CPU. A draft only proposes tokens the target verifies, so this can change how many "
                 "drafts are accepted, never the target's output. The quantized graph against PyTorch on the same cases: "
                 f"top token agreement **{q['argmax_agreement'] * 100:.1f} %**, max |logit difference| "
                 f"{q['max_abs_onnx_vs_torch']:.2e}, greedy continuations **{q['greedy_identical']}/{q['greedy_prompts']} "
                 "identical** to PyTorch's.\n")
    L.append("## Rebuild\n")
    L.append("```bash\nbash resources/models/recipe/build.sh   # Debian: python3-torch python3-onnx python3-numpy fortunes fortunes-min\n```\n")
    capped = [f"{k} {j['steps']}/{j['planned_steps']}" for k in ("chat1", "chat2", "draft")
              for j in [load(os.path.join(WORK, "ckpt", f"{k}.json"))] if j and j.get("planned_steps", j["steps"]) != j["steps"]]
    if capped:
        L.append("**Note:** the run that produced the shipped files used the optional wall-clock safety stops "
                 "(`MAXMIN_CHAT1=12 MAXMIN_CHAT2=6 MAXMIN_DRAFT=6`) on an overloaded shared machine, so training "
                 "ended before the planned step count (steps done/planned: " + ", ".join(capped) + "). That run is "
                 "therefore not bit-reproducible; a plain `build.sh` (no caps) is deterministic and runs the full "
                 "planned steps, giving slightly better-trained weights.\n")
    L.append("Deterministic when no wall-clock cap triggers (fixed seeds and step counts, 2 torch threads). Stage wall times of the run that produced "
             "these files: " + ", ".join(f"{k} {fmt_s(v)}" for k, v in t.items()) + ".\n")
    L.append("## Limitations\n")
    L.append("Toy model trained for minutes on ~1.3 MB of fortunes: text is loosely grammatical English, frequently "
             "nonsensical, may repeat itself, and can reproduce the (sometimes dated or crude) humour of the source "
             "collections. Do not use it for anything but testing and demos.\n")
    return "\n".join(L)


def main():
    summary = load(os.path.join(WORK, "eval", "summary.json"))
    corpus_stats = json.load(open(os.path.join(WORK, "corpus.json")))["stats"]
    t = times()
    for name in FOLDERS:
        with open(os.path.join(MODELS, name, "README.md"), "w") as f:
            f.write(card(name, summary, corpus_stats, t))
    print("cards written")


if __name__ == "__main__":
    main()
