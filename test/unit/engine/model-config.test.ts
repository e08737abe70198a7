import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseGraphSignature,
  readModelConfig,
  samplingDefaultsFrom,
} from '../../../src/engine/model-config.js';

type Meta = InferenceSession.ValueMetadata;

function tensor(
  name: string,
  type: 'float32' | 'float16' | 'int64',
  shape: Array<number | string>,
): Meta {
  return { name, isTensor: true, type, shape } as Meta;
}

function llamaGraph(
  opts: { layers?: number; kv?: 'float32' | 'float16'; positionIds?: boolean; keep?: boolean } = {},
) {
  const layers = opts.layers ?? 2;
  const kv = opts.kv ?? 'float32';
  const inputs: Meta[] = [
    tensor('input_ids', 'int64', ['batch', 'seq']),
    tensor('attention_mask', 'int64', ['batch', 'total']),
  ];
  if (opts.positionIds !== false) inputs.push(tensor('position_ids', 'int64', ['batch', 'seq']));
  if (opts.keep) inputs.push(tensor('num_logits_to_keep', 'int64', []));
  const outputs: Meta[] = [tensor('logits', 'float32', ['batch', 'seq', 4096])];
  for (let l = 0; l < layers; l++) {
    for (const k of ['key', 'value']) {
      inputs.push(tensor(`past_key_values.${l}.${k}`, kv, ['batch', 2, 'past', 32]));
      outputs.push(tensor(`present.${l}.${k}`, kv, ['batch', 2, 'total', 32]));
    }
  }
  return { inputs, outputs };
}

const GEOMETRY = { numLayers: 2, numKvHeads: 2, headDim: 32 };

describe('parseGraphSignature', () => {
  it('reads past/present names, the KV dtype and the optional inputs', () => {
    const g = llamaGraph({ kv: 'float16', keep: true });
    const sig = parseGraphSignature(g.inputs, g.outputs, GEOMETRY);
    expect(sig.kvDtype).toBe('float16');
    expect(sig.positionIds).toBe('position_ids');
    expect(sig.numLogitsToKeep).toBe('num_logits_to_keep');
    expect(sig.past[1]).toEqual({ key: 'past_key_values.1.key', value: 'past_key_values.1.value' });
    expect(sig.present[0]).toEqual({ key: 'present.0.key', value: 'present.0.value' });
  });

  it('uses new_key_values only when every layer has both', () => {
    const plain = llamaGraph();
    expect(parseGraphSignature(plain.inputs, plain.outputs, GEOMETRY).newKv).toBeNull();
    const g = llamaGraph();
    for (let l = 0; l < 2; l++) {
      for (const k of ['key', 'value']) {
        g.outputs.push(tensor(`new_key_values.${l}.${k}`, 'float32', ['batch', 2, 'seq', 32]));
      }
    }
    expect(parseGraphSignature(g.inputs, g.outputs, GEOMETRY).newKv?.[1]).toEqual({
      key: 'new_key_values.1.key',
      value: 'new_key_values.1.value',
    });
    const partial = { inputs: g.inputs, outputs: g.outputs.slice(0, -1) };
    expect(parseGraphSignature(partial.inputs, partial.outputs, GEOMETRY).newKv).toBeNull();
  });

  it('drives graphs without position_ids or num_logits_to_keep', () => {
    const g = llamaGraph({ positionIds: false });
    const sig = parseGraphSignature(g.inputs, g.outputs, GEOMETRY);
    expect(sig.positionIds).toBeNull();
    expect(sig.numLogitsToKeep).toBeNull();
    expect(sig.kvDtype).toBe('float32');
  });

  it('names what is missing when a graph has no KV cache', () => {
    const inputs = [
      tensor('input_ids', 'int64', ['b', 's']),
      tensor('attention_mask', 'int64', ['b', 't']),
    ];
    const outputs = [tensor('logits', 'float32', ['b', 's', 4096])];
    expect(() => parseGraphSignature(inputs, outputs, GEOMETRY)).toThrow(
      /lacks: past key for layer 0; past value for layer 0; .*present value for layer 1/,
    );
  });

  it('rejects a graph exported for another config, an unknown input, or an integer KV cache', () => {
    const g = llamaGraph({ layers: 3 });
    expect(() => parseGraphSignature(g.inputs, g.outputs, GEOMETRY)).toThrow(
      /layer 2, but config.json has 2 layers/,
    );
    const h = llamaGraph();
    expect(() => parseGraphSignature(h.inputs, h.outputs, { ...GEOMETRY, numKvHeads: 4 })).toThrow(
      /4 KV heads/,
    );
    expect(() =>
      parseGraphSignature(
        [...h.inputs, tensor('use_cache_branch', 'int64', [1])],
        h.outputs,
        GEOMETRY,
      ),
    ).toThrow(/'use_cache_branch'/);
    const q = llamaGraph();
    q.inputs[3] = tensor('past_key_values.0.key', 'int64', ['batch', 2, 'past', 32]);
    expect(() => parseGraphSignature(q.inputs, q.outputs, GEOMETRY)).toThrow(
      /float32 or float16 KV cache/,
    );
    const noMask = llamaGraph();
    expect(() =>
      parseGraphSignature(
        noMask.inputs.filter((i) => i.name !== 'attention_mask'),
        noMask.outputs,
        GEOMETRY,
      ),
    ).toThrow(/input 'attention_mask'/);
  });
});

describe('readModelConfig', () => {
  let dir = '';
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function modelDir(config: object, generation?: object): string {
    dir = mkdtempSync(path.join(os.tmpdir(), 'orchard-config-'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    if (generation)
      writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify(generation));
    mkdirSync(path.join(dir, 'onnx'));
    writeFileSync(path.join(dir, 'onnx', 'model.onnx'), '');
    return dir;
  }

  const LLAMA = {
    model_type: 'llama',
    hidden_size: 256,
    num_hidden_layers: 4,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    vocab_size: 4096,
    max_position_embeddings: 1024,
    bos_token_id: 0,
    eos_token_id: 1,
  };

  it('derives head_dim, and takes stop ids from generation_config.json', async () => {
    const cfg = await readModelConfig(modelDir(LLAMA, { eos_token_id: [1, 5], bos_token_id: 0 }));
    expect(cfg).toMatchObject({
      headDim: 32,
      numKvHeads: 2,
      numLayers: 4,
      contextLength: 1024,
      eosTokenIds: [1, 5],
      bosTokenId: 0,
    });
    expect(cfg.onnxPath).toBe(path.join(dir, 'onnx', 'model.onnx'));
    expect(cfg.numParams).toBeNull();
  });

  it('falls back to config.json ids and to all heads as KV heads', async () => {
    const { num_key_value_heads: _, ...mha } = LLAMA;
    const cfg = await readModelConfig(modelDir(mha));
    expect(cfg.numKvHeads).toBe(8);
    expect(cfg.eosTokenIds).toEqual([1]);
  });

  it('says which field is wrong', async () => {
    await expect(
      readModelConfig(modelDir({ ...LLAMA, num_hidden_layers: 'four' })),
    ).rejects.toThrow(/'num_hidden_layers' must be a positive integer/);
  });
});

describe('samplingDefaultsFrom', () => {
  it('reads generation_config sampling, ignores bad values, and honours do_sample false', () => {
    expect(samplingDefaultsFrom({ do_sample: true, temperature: 0.7, top_p: 0.9 })).toEqual({
      temperature: 0.7,
      topP: 0.9,
    });
    expect(samplingDefaultsFrom({ temperature: -1, top_p: 7, top_k: 2.5, min_p: 'x' })).toEqual({});
    expect(samplingDefaultsFrom({ do_sample: false, temperature: 0.7 })).toEqual({
      temperature: 0,
    });
  });

  it('comes with the shipped chat model', async () => {
    const config = await readModelConfig(path.resolve('resources/models/orchard-chat-1'));
    expect(config.samplingDefaults).toEqual({ temperature: 0.7, topP: 0.9 });
  });
});
