"""Write a Llama decoder-with-past as a lean ONNX graph, node by node (like onnxruntime-genai's builder).

torch.onnx.export traces every shape computation, mask and RoPE step of the PyTorch module: ~100 nodes a
layer, most of them tiny ops whose per-node cost dominates a 4-layer model on CPU. This writes ~30 a layer
with the same inputs, outputs and numbers (checked against PyTorch by export.py's verify):

  inputs   input_ids [B,S] int64, attention_mask [B,T] int64, position_ids [B,S] int64,
           past_key_values.{i}.{key,value} [B,kv_heads,P,head_dim] float32, num_logits_to_keep () int64
  outputs  logits [B,min(S,keep),V] float32 (keep = 0 means all), present.{i}.{key,value} [B,kv_heads,T,head_dim],
           new_key_values.{i}.{key,value} [B,kv_heads,S,head_dim]: the new positions alone, for a caller that
           keeps its own cache (Orchard's runner): it prunes present's Concats and never copies the whole past

What makes it cheaper than the traced graph:
- grouped-query attention without repeating K/V per query head: queries are grouped [B,kv,g*S,hd] so one
  matmul per KV head serves its g query heads (the traced graph expanded K/V to every head, every step);
- RoPE's rotate_half folded into the projection: x@(Wq R) is computed in the same matmul as x@Wq, so
  rotary is two multiplies and an add over all heads at once; cos/sin come from a precomputed table;
- attention over past and new keys separately (scores concatenated, probabilities split), so present's
  Concat feeds only the output and a caller that does not fetch it can drop it;
- one fused Q/K/V matmul and one gate/up matmul; the residual add fused into the RMSNorm
  (com.microsoft SkipSimplifiedLayerNormalization); the mask bias computed once for all layers;
- num_logits_to_keep: a prefill computes the vocabulary projection only for the positions it samples.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NEG = float(np.finfo(np.float32).min)


def _rot_rows(w, heads, hd):
    """Rows of W (torch [out, in]) such that x @ W_rot.T == rotate_half(x @ W.T) per head."""
    w = w.reshape(heads, hd, -1)
    h = hd // 2
    return np.concatenate([-w[:, h:], w[:, :h]], axis=1).reshape(heads * hd, -1)


class _G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, name, arr):
        arr = np.asarray(arr)  # (ascontiguousarray would turn a scalar into shape [1])
        self.inits.append(numpy_helper.from_array(arr if arr.ndim == 0 else np.ascontiguousarray(arr), name))
        return name

    def i64(self, name, values):
        return self.const(name, np.array(values, dtype=np.int64))

    def op(self, op_type, inputs, n_out=1, outputs=None, domain="", **attrs):
        self.n += 1
        outs = outputs or [f"{op_type.lower()}_{self.n}_{j}" for j in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=f"{op_type}_{self.n}", domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs


def build_graph(state, c):
    """state: HF parameter names -> float32 numpy arrays (torch layout); c: the HF config dict."""
    L, H = c["num_hidden_layers"], c["hidden_size"]
    nh, kvh, hd, inter = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["intermediate_size"]
    V, ctx, eps = c["vocab_size"], c["max_position_embeddings"], float(c["rms_norm_eps"])
    g_per_kv = nh // kvh
    scale = np.float32(1.0 / np.sqrt(hd))
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    G = _G()

    embed = G.const("embed_tokens", f32(state["model.embed_tokens.weight"]))
    lm = "lm_head.weight"
    lm_name = embed if (c.get("tie_word_embeddings") or lm not in state) else G.const("lm_head", f32(state[lm]))

    # RoPE tables computed exactly as the PyTorch module does at run time (float32 pos * inv_freq).
    import torch
    inv = torch.tensor(1.0 / (c["rope_theta"] ** (np.arange(0, hd, 2, dtype=np.float64) / hd)), dtype=torch.float32)
    freqs = torch.arange(ctx, dtype=torch.int64)[:, None].to(torch.float32) * inv
    emb = torch.cat([freqs, freqs], dim=-1)
    G.const("rope_cos", emb.cos().numpy())
    G.const("rope_sin", emb.sin().numpy())

    # ---- shared per call: token embeddings, rotary factors, attention bias
    x = G.op("Gather", [embed, "input_ids"], axis=0)
    rot_reps = G.i64("rot_reps", [1, 1, nh + kvh])
    cos = G.op("Tile", [G.op("Gather", ["rope_cos", "position_ids"], axis=0), rot_reps])
    sin = G.op("Tile", [G.op("Gather", ["rope_sin", "position_ids"], axis=0), rot_reps])

    zero, one = G.i64("zero", 0), G.i64("one", 1)
    S = G.op("Gather", [G.op("Shape", ["input_ids"]), one], axis=0)
    T = G.op("Gather", [G.op("Shape", ["attention_mask"]), one], axis=0)
    kslot = G.op("Unsqueeze", [G.op("Range", [zero, T, one]), G.i64("ax0", [0])])  # [1,T]
    qslot = G.op("Unsqueeze", [G.op("Range", [G.op("Sub", [T, S]), T, one]), G.i64("ax1", [1])])  # [S,1]
    causal = G.op("LessOrEqual", [kslot, qslot])  # [S,T]
    padok = G.op("Unsqueeze", [G.op("Cast", ["attention_mask"], to=TensorProto.BOOL), G.i64("ax12", [1, 2])])
    allowed = G.op("And", [causal, padok])  # [B,1,S,T]
    bias = G.op("Where", [allowed, G.const("bias_zero", np.array(0.0, np.float32)),
                          G.const("bias_neg", np.array(NEG, np.float32))])
    bias = G.op("Tile", [bias, G.i64("bias_reps", [1, 1, g_per_kv, 1])])  # rows ordered (group, position)

    sh_q5 = G.i64("sh_q5", [0, 0, kvh, g_per_kv, hd])
    sh_q4 = G.i64("sh_q4", [0, 0, -1, hd])
    sh_kv4 = G.i64("sh_kv4", [0, 0, kvh, hd])
    sh_o5 = G.i64("sh_o5", [0, 0, g_per_kv, -1, hd])
    sh_o3 = G.i64("sh_o3", [0, 0, -1])
    split_rot = G.i64("split_rot", [(nh + kvh) * hd, (nh + kvh) * hd, kvh * hd])
    split_qk = G.i64("split_qk", [nh * hd, kvh * hd])
    split_gu = G.i64("split_gu", [inter, inter])
    # attention probabilities split back into past and new positions: [P, S]
    P = G.op("Gather", [G.op("Shape", ["past_key_values.0.key"]), G.i64("two", 2)], axis=0)
    split_pt = G.op("Concat", [G.op("Unsqueeze", [P, G.i64("ax0p", [0])]),
                               G.op("Unsqueeze", [S, G.i64("ax0s", [0])])], axis=0)

    pending = None  # the previous block's output, added to the residual by the next norm
    for i in range(L):
        p = f"model.layers.{i}."
        wq = f32(state[p + "self_attn.q_proj.weight"]) * scale
        wk = f32(state[p + "self_attn.k_proj.weight"])
        wv = f32(state[p + "self_attn.v_proj.weight"])
        w_qkv = np.concatenate([wq, wk, _rot_rows(wq, nh, hd), _rot_rows(wk, kvh, hd), wv], axis=0).T
        G.const(f"l{i}.qkv", w_qkv)
        G.const(f"l{i}.o", f32(state[p + "self_attn.o_proj.weight"]).T)
        G.const(f"l{i}.gate_up", np.concatenate([f32(state[p + "mlp.gate_proj.weight"]),
                                                 f32(state[p + "mlp.up_proj.weight"])], axis=0).T)
        G.const(f"l{i}.down", f32(state[p + "mlp.down_proj.weight"]).T)
        G.const(f"l{i}.ln_in", f32(state[p + "input_layernorm.weight"]))
        G.const(f"l{i}.ln_post", f32(state[p + "post_attention_layernorm.weight"]))

        if pending is None:
            h = G.op("SimplifiedLayerNormalization", [x, f"l{i}.ln_in"], axis=-1, epsilon=eps)
        else:
            h, _, _, x = G.op("SkipSimplifiedLayerNormalization", [pending, x, f"l{i}.ln_in"], n_out=4,
                              domain="com.microsoft", epsilon=eps)
        qkv = G.op("MatMul", [h, f"l{i}.qkv"])
        a, b, v = G.op("Split", [qkv, split_rot], n_out=3, axis=-1)
        r = G.op("Add", [G.op("Mul", [a, cos]), G.op("Mul", [b, sin])])
        q, k = G.op("Split", [r, split_qk], n_out=2, axis=-1)
        q = G.op("Reshape", [G.op("Transpose", [G.op("Reshape", [q, sh_q5])], perm=[0, 2, 3, 1, 4]), sh_q4])
        k = G.op("Transpose", [G.op("Reshape", [k, sh_kv4])], perm=[0, 2, 1, 3],
                 outputs=[f"new_key_values.{i}.key"])
        v = G.op("Transpose", [G.op("Reshape", [v, sh_kv4])], perm=[0, 2, 1, 3],
                 outputs=[f"new_key_values.{i}.value"])
        # present = past ++ new is only an output, for callers that feed it back (the Hugging Face
        # convention); attention reads past and new separately. A caller that keeps its own cache
        # fetches new_key_values instead and can prune the Concats (Orchard's runner does), so no
        # step copies the whole past.
        G.op("Concat", [f"past_key_values.{i}.key", k], outputs=[f"present.{i}.key"], axis=2)
        G.op("Concat", [f"past_key_values.{i}.value", v], outputs=[f"present.{i}.value"], axis=2)
        s_past = G.op("FusedMatMul", [q, f"past_key_values.{i}.key"], domain="com.microsoft", transB=1, alpha=1.0)
        s_new = G.op("FusedMatMul", [q, k], domain="com.microsoft", transB=1, alpha=1.0)
        scores = G.op("Concat", [s_past, s_new], axis=-1)  # [B,kv,g*S,T]
        probs = G.op("Softmax", [G.op("Add", [scores, bias])], axis=-1)
        p_past, p_new = G.op("Split", [probs, split_pt], n_out=2, axis=-1)
        o = G.op("Add", [G.op("MatMul", [p_past, f"past_key_values.{i}.value"]),
                         G.op("MatMul", [p_new, v])])  # [B,kv,g*S,hd]
        o = G.op("Reshape", [G.op("Transpose", [G.op("Reshape", [o, sh_o5])], perm=[0, 3, 1, 2, 4]), sh_o3])
        attn = G.op("MatMul", [o, f"l{i}.o"])
        h, _, _, x = G.op("SkipSimplifiedLayerNormalization", [attn, x, f"l{i}.ln_post"], n_out=4,
                          domain="com.microsoft", epsilon=eps)
        gate, up = G.op("Split", [G.op("MatMul", [h, f"l{i}.gate_up"]), split_gu], n_out=2, axis=-1)
        act = G.op("Mul", [G.op("Mul", [gate, G.op("Sigmoid", [gate])]), up])
        pending = G.op("MatMul", [act, f"l{i}.down"])

    G.const("final_norm", f32(state["model.norm.weight"]))
    xf = G.op("SkipSimplifiedLayerNormalization", [pending, x, "final_norm"], n_out=1, domain="com.microsoft",
              epsilon=eps)
    # keep the last `num_logits_to_keep` positions (0 keeps all, as in transformers)
    start = G.op("Neg", [G.op("Unsqueeze", ["num_logits_to_keep", G.i64("ax0b", [0])])])
    xs = G.op("Slice", [xf, start, G.i64("slice_end", [np.iinfo(np.int64).max]), G.i64("slice_axis", [1])])
    G.op("FusedMatMul", [xs, lm_name], outputs=["logits"], domain="com.microsoft", transB=1, alpha=1.0)

    ti = lambda name, elem, dims: helper.make_tensor_value_info(name, elem, dims)
    inputs = [ti("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
              ti("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
              ti("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])]
    outputs = [ti("logits", TensorProto.FLOAT, ["batch_size", "logits_length", V])]
    for i in range(L):
        for kind in ("key", "value"):
            inputs.append(ti(f"past_key_values.{i}.{kind}", TensorProto.FLOAT,
                             ["batch_size", kvh, "past_sequence_length", hd]))
            outputs.append(ti(f"present.{i}.{kind}", TensorProto.FLOAT,
                              ["batch_size", kvh, "total_sequence_length", hd]))
    for i in range(L):
        for kind in ("key", "value"):
            outputs.append(ti(f"new_key_values.{i}.{kind}", TensorProto.FLOAT,
                              ["batch_size", kvh, "sequence_length", hd]))
    inputs.append(ti("num_logits_to_keep", TensorProto.INT64, []))
    graph = helper.make_graph(G.nodes, "orchard-llama", inputs, outputs, G.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              producer_name="orchard-recipe")
    model.ir_version = 8
    return model


def write_onnx(state, c, path, weight_bits=None):
    """weight_bits: None keeps float32 weights; 8 stores weight matrices in int8 blocks (quantize.py)."""
    model = build_graph(state, c)
    if weight_bits is not None:
        from quantize import quantize_weights
        quantize_weights(model, bits=weight_bits)
    # (onnx.checker does not know ONNX Runtime's contrib ops; export.py's verify runs the graph instead.)
    onnx.save(model, path)
    return model
