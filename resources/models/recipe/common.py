"""Shared code for the Orchard model recipe: paths, the Llama model, safetensors I/O."""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RECIPE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(RECIPE)
WORK = os.environ.get("ORCHARD_RECIPE_WORK", os.path.join(os.environ.get("TMPDIR", "/tmp"), "orchard-model-recipe-work"))
os.makedirs(WORK, exist_ok=True)

SPECIAL_TOKENS = ["<|begin|>", "<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]
BOS_ID, EOS_ID, PAD_ID = 0, 1, 2
VOCAB_SIZE = 4096

CHAT_CFG = dict(
    vocab_size=VOCAB_SIZE, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
    num_attention_heads=8, num_key_value_heads=2, head_dim=32, max_position_embeddings=1024,
    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
)
# Folders whose ONNX graph stores weight matrices in int8 blocks (quantize.py); model.safetensors stays float.
WEIGHT_BITS = {"orchard-draft": 8}

DRAFT_CFG = dict(
    vocab_size=VOCAB_SIZE, hidden_size=128, intermediate_size=344, num_hidden_layers=2,
    num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=1024,
    rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
)


def setup_torch(seed=0):
    torch.set_num_threads(int(os.environ.get("ORCHARD_THREADS", "2")))
    torch.manual_seed(seed)
    np.random.seed(seed)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.register_buffer("eps", torch.tensor(eps, dtype=torch.float32), persistent=False)

    def forward(self, x):
        var = (x * x).mean(-1, keepdim=True)
        return x * torch.rsqrt(var + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        self.rep = self.nh // self.nkv
        d = c["hidden_size"]
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)
        self.register_buffer("scale", torch.tensor(1.0 / math.sqrt(self.hd), dtype=torch.float32), persistent=False)

    def forward(self, x, cos, sin, allowed, neg, past_k=None, past_v=None):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.nkv, self.hd).transpose(1, 2)
        q = (q * cos + rotate_half(q) * sin) * self.scale
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
        present = (k, v)
        if self.rep > 1:  # GQA: unsqueeze/expand/flatten keeps dims dynamic in the ONNX graph
            kk = k.unsqueeze(2).expand(-1, -1, self.rep, -1, -1).flatten(1, 2)
            vv = v.unsqueeze(2).expand(-1, -1, self.rep, -1, -1).flatten(1, 2)
        else:
            kk, vv = k, v
        scores = torch.matmul(q, kk.transpose(2, 3))
        scores = torch.where(allowed, scores, neg)
        p = torch.softmax(scores, dim=-1)
        o = torch.matmul(p, vv).transpose(1, 2).reshape(b, s, self.nh * self.hd)
        return self.o_proj(o), present


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(d, i, bias=False)
        self.up_proj = nn.Linear(d, i, bias=False)
        self.down_proj = nn.Linear(i, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, allowed, neg, pk=None, pv=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, allowed, neg, pk, pv)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    """Hugging Face compatible Llama (parameter names match LlamaForCausalLM)."""

    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        self.model = Inner(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight
        hd = c["head_dim"]
        inv = 1.0 / (c["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        self.register_buffer("inv_freq", torch.tensor(inv, dtype=torch.float32), persistent=False)
        self.register_buffer("neg", torch.tensor(torch.finfo(torch.float32).min, dtype=torch.float32), persistent=False)
        self.apply(self._init)
        std = 0.02 / math.sqrt(2 * c["num_hidden_layers"])
        for n, p in self.named_parameters():
            if n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
                nn.init.normal_(p, 0.0, std)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """past: list of (k, v) per layer or None. Returns logits, list of presents."""
        b, s = input_ids.shape
        x = self.model.embed_tokens(input_ids)
        if attention_mask is None:  # training fast path: plain causal
            t = s
            ar = torch.arange(s, device=input_ids.device)
            allowed = (ar[None, :] <= ar[:, None])[None, None]
            pos = ar[None, :].expand(b, s) if position_ids is None else position_ids
        else:
            # key slot j visible to query i (slot past_len+i) iff j <= past_len+i and mask[j]==1
            kslot = torch.cumsum(torch.ones_like(attention_mask[0]), 0) - 1  # [T]
            qslot = torch.cumsum(torch.ones_like(input_ids[0]), 0) - 1  # [S]
            past_len = attention_mask.shape[1] - input_ids.shape[1]
            qslot = qslot + past_len
            causal = kslot[None, :] <= qslot[:, None]  # [S, T]
            allowed = causal[None, None] & (attention_mask[:, None, None, :] == 1)
            pos = position_ids
        freqs = pos[..., None].to(torch.float32) * self.inv_freq  # [b, s, hd/2]
        emb = torch.cat([freqs, freqs], dim=-1)[:, None]  # [b,1,s,hd]
        cos, sin = emb.cos(), emb.sin()
        presents = []
        for i, layer in enumerate(self.model.layers):
            pk, pv = (past[i] if past is not None else (None, None))
            x, pr = layer(x, cos, sin, allowed, self.neg, pk, pv)
            presents.append(pr)
        x = self.model.norm(x)
        return self.lm_head(x), presents


def count_params(model):
    seen, n = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n += p.numel()
    return n


def hf_config(c):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": PAD_ID,
        "hidden_act": "silu",
        "hidden_size": c["hidden_size"],
        "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_attention_heads": c["num_attention_heads"],
        "num_key_value_heads": c["num_key_value_heads"],
        "head_dim": c["head_dim"],
        "max_position_embeddings": c["max_position_embeddings"],
        "rms_norm_eps": c["rms_norm_eps"],
        "rope_theta": c["rope_theta"],
        "rope_scaling": None,
        "initializer_range": 0.02,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "tie_word_embeddings": c["tie_word_embeddings"],
        "torch_dtype": "float32",
        "transformers_version": "4.44.0",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
    }


def save_safetensors(path, tensors, metadata=None):
    """Minimal safetensors writer: 8-byte LE header length, JSON header, raw LE data."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        s, e = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = torch.from_numpy(np.frombuffer(data[s:e], dtype="<f4").reshape(info["shape"]).copy())
    return out


def hf_state_dict(model):
    sd = {k: v for k, v in model.state_dict().items()}
    if model.c["tie_word_embeddings"]:
        sd.pop("lm_head.weight", None)
    return sd


def load_model(c, path):
    m = Llama(c)
    sd = load_safetensors(path)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(k == "lm_head.weight" for k in missing), missing
    if c["tie_word_embeddings"]:
        m.lm_head.weight = m.model.embed_tokens.weight
    return m


def load_tokens(split):
    """Token stream (int16->int64) for 'train' or 'val' written by tokenize.mjs."""
    return np.fromfile(os.path.join(WORK, f"{split}.tok"), dtype="<u2").astype(np.int64)
