/**
 * Pruning graph outputs from an ONNX model's bytes, on the shipped graph through ONNX Runtime:
 * the pruned graph lacks `present` and its Concats, and computes the same logits and new keys.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { graphOutputNames, pruneOutputs } from '../../../src/engine/onnx-prune.js';
import { SHIPPED_DIR } from '../registry/helpers.js';

const MODEL = path.join(SHIPPED_DIR, 'orchard-chat-1', 'onnx', 'model.onnx');

function feeds(B: number, P: number, S: number): Record<string, ort.Tensor> {
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 2;
  const f: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: B * S }, (_, i) => BigInt(5 + i)),
      [B, S],
    ),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * (P + S)).fill(1n), [B, P + S]),
    position_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: B * S }, (_, i) => BigInt(P + (i % S))),
      [B, S],
    ),
    num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(0n), []),
  };
  for (let l = 0; l < 4; l++)
    for (const k of ['key', 'value'])
      f[`past_key_values.${l}.${k}`] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: B * 2 * P * 32 }, rand),
        [B, 2, P, 32],
      );
  return f;
}

describe('pruneOutputs', () => {
  const bytes = new Uint8Array(readFileSync(MODEL));
  const outputs = graphOutputNames(bytes)!;
  const present = outputs.filter((o) => o.startsWith('present.'));

  it('reads the graph outputs', () => {
    expect(outputs[0]).toBe('logits');
    expect(present).toHaveLength(8);
    expect(outputs.filter((o) => o.startsWith('new_key_values.'))).toHaveLength(8);
  });

  it('drops present and the Concats that only fed it; the rest computes the same', async () => {
    const pruned = pruneOutputs(bytes, new Set(present))!;
    expect(pruned.removedOutputs.sort()).toEqual([...present].sort());
    expect(pruned.removedNodes).toBe(8);
    expect(graphOutputNames(pruned.bytes)).toEqual(outputs.filter((o) => !present.includes(o)));
    const [full, lean] = await Promise.all([
      ort.InferenceSession.create(bytes),
      ort.InferenceSession.create(pruned.bytes),
    ]);
    try {
      expect(lean.outputNames.some((n) => n.startsWith('present'))).toBe(false);
      const f = feeds(3, 11, 4);
      const fetch = lean.outputNames;
      const [a, b] = [await full.run(f, fetch), await lean.run(f, fetch)];
      for (const name of fetch) expect(b[name].data).toEqual(a[name].data);
    } finally {
      await Promise.all([full.release(), lean.release()]);
    }
  });

  it('declines what it cannot prune safely, and bytes that are not a model', () => {
    expect(pruneOutputs(bytes, new Set(['no-such-output']))).toBeNull();
    expect(pruneOutputs(Uint8Array.from([0x3a, 0xff, 0xff]), new Set(present))).toBeNull();
    expect(graphOutputNames(Uint8Array.from([0x0f]))).toBeNull();
  });
});
