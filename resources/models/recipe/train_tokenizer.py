"""Train a GPT-2 style byte-level BPE tokenizer (4096 tokens) and write the Hugging Face files.

Writes $WORK/tokenizer/{tokenizer.json,tokenizer_config.json,special_tokens_map.json}.
"""
import collections
import json
import os
import re
import time

from common import SPECIAL_TOKENS, VOCAB_SIZE, WORK

# Approximation of the GPT-2 pattern ('s|'t|...| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)
# without the `regex` module; only used to count training words (encoding is done by tokenizers.js).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def train_bpe(texts, n_merges):
    b2u = bytes_to_unicode()
    counts = collections.Counter()
    for t in texts:
        for w in PAT.findall(t):
            counts[w] += 1
    words = [list(b2u[b] for b in w.encode("utf-8")) for w in counts]
    freqs = list(counts.values())
    pair_counts = collections.defaultdict(int)
    where = collections.defaultdict(set)
    for i, (w, f) in enumerate(zip(words, freqs)):
        for a, b in zip(w, w[1:]):
            pair_counts[(a, b)] += f
            where[(a, b)].add(i)
    merges = []
    for _ in range(n_merges):
        if not pair_counts:
            break
        best = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        if pair_counts[best] < 2:
            break
        merges.append(best)
        a, b = best
        new = a + b
        for i in sorted(where.pop(best, ())):
            w, f = words[i], freqs[i]
            # remove old pairs of this word
            for p in zip(w, w[1:]):
                pair_counts[p] -= f
                if pair_counts[p] <= 0:
                    pair_counts.pop(p, None)
            out, j = [], 0
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_counts[p] += f
                where[p].add(i)
        pair_counts.pop(best, None)
    return merges, b2u


def main():
    corpus = json.load(open(os.path.join(WORK, "corpus.json")))
    t0 = time.time()
    n_merges = VOCAB_SIZE - len(SPECIAL_TOKENS) - 256
    merges, b2u = train_bpe(corpus["bpe_text"], n_merges)
    assert len(merges) == n_merges, len(merges)
    vocab = {}
    for s in SPECIAL_TOKENS:
        vocab[s] = len(vocab)
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    for a, b in merges:
        assert a + b not in vocab
        vocab[a + b] = len(vocab)
    assert len(vocab) == VOCAB_SIZE
    added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIAL_TOKENS)]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    cfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
        "additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>"],
        "bos_token": "<|begin|>",
        "eos_token": "<|end|>",
        "pad_token": "<|pad|>",
        "unk_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    stm = {"bos_token": "<|begin|>", "eos_token": "<|end|>", "pad_token": "<|pad|>",
           "additional_special_tokens": ["<|system|>", "<|user|>", "<|assistant|>"]}
    d = os.path.join(WORK, "tokenizer")
    os.makedirs(d, exist_ok=True)
    json.dump(tok, open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False, indent=1)
    json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=2)
    json.dump(stm, open(os.path.join(d, "special_tokens_map.json"), "w"), ensure_ascii=False, indent=2)
    print(f"bpe: {len(merges)} merges in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
