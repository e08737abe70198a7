"""Store a lean graph's weight matrices in 8-bit blocks (com.microsoft MatMulNBits).

Used for the draft model: a draft step is a chain of tiny kernels where the weight matrices are read
once per token, and with int8 blocks (accuracy_level 4: ONNX Runtime quantizes the activations to int8
too and uses the CPU's integer dot-product instructions) a step costs ~20% less. A draft only proposes
tokens the target model verifies, so this changes how often drafts are accepted, never what the target
outputs; export.py measures the quantized graph against the float one.

Every MatMul / FusedMatMul (transB, alpha 1) whose second input is an initializer becomes
MatMulNBits: Y = A @ dequant(B)^T with B stored [N, K/block, block] (codes offset by 128, one float
scale per block, symmetric). The embedding table stays float32 for its Gather; the tied vocabulary
projection gets its own quantized copy.
"""
import numpy as np
from onnx import helper, numpy_helper


def quantize_blocks(w, bits, block):
    """w [N, K] float32 -> (codes uint8 [N, K/block, block*bits/8], scales float32 [N*K/block], dequantized [N, K])."""
    n, k = w.shape
    kb = (k + block - 1) // block
    padded = np.zeros((n, kb * block), np.float32)
    padded[:, :k] = w
    blocks = padded.reshape(n, kb, block)
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(blocks).max(axis=2)
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    codes = (np.clip(np.round(blocks / scale[:, :, None]), -qmax - 1, qmax) + 2 ** (bits - 1)).astype(np.uint8)
    deq = ((codes.astype(np.float32) - 2 ** (bits - 1)) * scale[:, :, None]).reshape(n, kb * block)[:, :k]
    if bits == 4:
        codes = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
    elif bits != 8:
        raise ValueError(f"bits must be 4 or 8, not {bits}")
    return codes, scale.reshape(-1), deq


def quantize_weights(model, bits=8, block=32, accuracy_level=4):
    """Rewrites `model` (an onnx ModelProto) in place; returns {weight name: max abs rounding error}."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    nodes, errors = [], {}
    for node in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = node.input[1] if len(node.input) > 1 else None
        plain = node.op_type == "MatMul" and not attrs
        fused = (node.op_type == "FusedMatMul" and attrs.get("transB", 0) == 1 and attrs.get("alpha", 1.0) == 1.0
                 and attrs.get("transA", 0) == 0)
        if weight not in inits or not (plain or fused):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[weight]).astype(np.float32)
        w = w if fused else w.T  # [N, K]
        n, k = w.shape
        codes, scales, deq = quantize_blocks(w, bits, block)
        errors[weight] = float(np.abs(deq - w).max())
        codes_name, scales_name = f"{weight}.q{bits}", f"{weight}.scales"
        if codes_name not in inits:
            g.initializer.append(numpy_helper.from_array(codes, codes_name))
            g.initializer.append(numpy_helper.from_array(scales, scales_name))
            inits[codes_name] = g.initializer[-2]
        nodes.append(helper.make_node("MatMulNBits", [node.input[0], codes_name, scales_name], list(node.output),
                                      name=f"{node.name}_q{bits}", domain="com.microsoft", K=k, N=n, bits=bits,
                                      block_size=block, accuracy_level=accuracy_level))
    del g.node[:]
    g.node.extend(nodes)
    used = {i for nd in g.node for i in nd.input}
    kept = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    return errors
