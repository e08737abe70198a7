/**
 * What the engine needs to know about a model folder: the architecture from config.json, the
 * stop ids from generation_config.json, and the ONNX graph's own signature (past/present names,
 * KV dtype, optional inputs). A graph the runner cannot drive is rejected here, with a message
 * naming what is missing, instead of failing in the middle of a step.
 */
import type { SamplingDefaults } from './types.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';

export interface ModelConfig {
  dir: string;
  modelType: string;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hiddenSize: number;
  intermediateSize: number | null;
  vocabSize: number;
  contextLength: number;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** From the safetensors header when there is one. */
  numParams: number | null;
  onnxPath: string;
  samplingDefaults: SamplingDefaults;
}

/**
 * generation_config.json's sampling fields. `do_sample: false` means the model is meant to be
 * decoded greedily. Values out of range are ignored rather than trusted.
 */
export function samplingDefaultsFrom(gen: Record<string, unknown>): SamplingDefaults {
  if (gen.do_sample === false) return { temperature: 0 };
  const num = (key: string, ok: (v: number) => boolean): number | undefined => {
    const v = gen[key];
    return typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : undefined;
  };
  const out: SamplingDefaults = {
    temperature: num('temperature', (v) => v >= 0 && v <= 2),
    topP: num('top_p', (v) => v > 0 && v <= 1),
    topK: num('top_k', (v) => Number.isInteger(v) && v >= 0),
    minP: num('min_p', (v) => v >= 0 && v <= 1),
    repetitionPenalty: num('repetition_penalty', (v) => v > 0 && v <= 10),
  };
  for (const key of Object.keys(out) as (keyof SamplingDefaults)[]) {
    if (out[key] === undefined) delete out[key];
  }
  return out;
}

type Json = Record<string, unknown>;

async function readJson(file: string): Promise<Json | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function ids(value: unknown): number[] {
  if (typeof value === 'number' && Number.isInteger(value)) return [value];
  if (Array.isArray(value))
    return value.filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
  return [];
}

function positiveInt(cfg: Json, key: string, file: string): number {
  const v = cfg[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new Error(`${file}: '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export async function readModelConfig(dir: string): Promise<ModelConfig> {
  const abs = path.resolve(dir);
  const configFile = path.join(abs, 'config.json');
  const cfg = await readJson(configFile);
  if (!cfg) throw new Error(`${abs} has no config.json`);
  const gen = (await readJson(path.join(abs, 'generation_config.json'))) ?? {};

  const numHeads = positiveInt(cfg, 'num_attention_heads', configFile);
  const hiddenSize = positiveInt(cfg, 'hidden_size', configFile);
  const numKvHeads =
    cfg.num_key_value_heads === undefined
      ? numHeads
      : positiveInt(cfg, 'num_key_value_heads', configFile);
  const headDim =
    cfg.head_dim === undefined || cfg.head_dim === null
      ? hiddenSize / numHeads
      : positiveInt(cfg, 'head_dim', configFile);
  if (!Number.isInteger(headDim))
    throw new Error(`${configFile}: hidden_size is not a multiple of num_attention_heads`);

  // generation_config.json is what Hugging Face generate() stops on; config.json is the fallback.
  const eos = new Set([
    ...ids(gen.eos_token_id),
    ...(gen.eos_token_id === undefined ? ids(cfg.eos_token_id) : []),
  ]);
  const bos = ids(gen.bos_token_id ?? cfg.bos_token_id)[0] ?? null;

  const onnxPath = await findOnnx(abs);
  return {
    dir: abs,
    modelType: typeof cfg.model_type === 'string' ? cfg.model_type : 'unknown',
    numLayers: positiveInt(cfg, 'num_hidden_layers', configFile),
    numHeads,
    numKvHeads,
    headDim,
    hiddenSize,
    intermediateSize: typeof cfg.intermediate_size === 'number' ? cfg.intermediate_size : null,
    vocabSize: positiveInt(cfg, 'vocab_size', configFile),
    contextLength: positiveInt(cfg, 'max_position_embeddings', configFile),
    bosTokenId: bos,
    eosTokenIds: [...eos],
    samplingDefaults: samplingDefaultsFrom(gen),
    numParams: await safetensorsParams(abs),
    onnxPath,
  };
}

async function findOnnx(dir: string): Promise<string> {
  for (const rel of ['onnx/model.onnx', 'model.onnx']) {
    const p = path.join(dir, rel);
    try {
      await fs.access(p);
      return p;
    } catch {
      // try the next layout
    }
  }
  throw new Error(`${dir} has no onnx/model.onnx`);
}

/** Parameter count from the safetensors header (8-byte length, then JSON), without reading weights. */
async function safetensorsParams(dir: string): Promise<number | null> {
  const file = path.join(dir, 'model.safetensors');
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch {
    return null;
  }
  try {
    const len = Buffer.alloc(8);
    await handle.read(len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 100_000_000) return null;
    const buf = Buffer.alloc(n);
    await handle.read(buf, 0, n, 8);
    const header = JSON.parse(buf.toString('utf8')) as Record<string, { shape?: number[] }>;
    let total = 0;
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__' || !Array.isArray(t.shape)) continue;
      total += t.shape.reduce((a, b) => a * b, 1);
    }
    return total;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

export type KvDtype = 'float32' | 'float16';

export interface KvNames {
  key: string;
  value: string;
}

export interface GraphSignature {
  inputIds: string;
  attentionMask: string;
  /** Without it, the graph derives positions itself, so rows cannot be padded. */
  positionIds: string | null;
  /** `num_logits_to_keep` / `logits_to_keep`: compute logits only for the last k positions. */
  numLogitsToKeep: string | null;
  logits: string;
  logitsDtype: KvDtype;
  past: KvNames[];
  /** Empty when the graph was opened with present pruned (see onnx-session.ts). */
  present: KvNames[];
  /**
   * `new_key_values.{i}.key|value` [batch, kv_heads, sequence_length, head_dim]: the new
   * positions alone. When every layer has them, the runner keeps its own dense past and never
   * fetches `present` (whose copy-out dominates a large batch's step).
   */
  newKv: KvNames[] | null;
  kvDtype: KvDtype;
}

type ValueMetadata = InferenceSession.ValueMetadata;

const PAST_PATTERNS = [
  /^past_key_values\.(\d+)\.(key|value)$/,
  /^past\.(\d+)\.(key|value)$/,
  /^past_(key|value)_(\d+)$/,
];
const PRESENT_PATTERNS = [
  /^present\.(\d+)\.(key|value)$/,
  /^present_key_values\.(\d+)\.(key|value)$/,
  /^present_(key|value)_(\d+)$/,
];

function kvSlot(name: string, patterns: RegExp[]): { layer: number; kind: 'key' | 'value' } | null {
  for (const re of patterns) {
    const m = re.exec(name);
    if (!m) continue;
    // The last pattern puts the kind first.
    const [a, b] = re === patterns[2] ? [m[2], m[1]] : [m[1], m[2]];
    return { layer: Number(a), kind: b as 'key' | 'value' };
  }
  return null;
}

function dtypeOf(meta: ValueMetadata): string {
  return meta.isTensor ? meta.type : 'non-tensor';
}

/**
 * Reads the graph's inputs and outputs. `expect` carries the config's KV geometry so a graph
 * exported for a different config is caught now.
 */
export function parseGraphSignature(
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
  expect: { numLayers: number; numKvHeads: number; headDim: number },
): GraphSignature {
  const problems: string[] = [];
  const inputNames = new Set(inputs.map((i) => i.name));
  const byName = new Map([...inputs, ...outputs].map((m) => [m.name, m]));

  const need = (name: string, where: 'input' | 'output'): string => {
    if (!byName.has(name) || (where === 'input' && !inputNames.has(name)))
      problems.push(`${where} '${name}'`);
    return name;
  };
  const inputIds = need('input_ids', 'input');
  const attentionMask = need('attention_mask', 'input');
  const logits = need('logits', 'output');
  const positionIds = inputNames.has('position_ids') ? 'position_ids' : null;
  const numLogitsToKeep =
    ['num_logits_to_keep', 'logits_to_keep'].find((n) => inputNames.has(n)) ?? null;

  const collect = (
    metas: readonly ValueMetadata[],
    patterns: RegExp[],
    what: string,
  ): KvNames[] => {
    const table: Array<Partial<KvNames>> = Array.from({ length: expect.numLayers }, () => ({}));
    for (const m of metas) {
      const slot = kvSlot(m.name, patterns);
      if (!slot) continue;
      if (slot.layer >= expect.numLayers) {
        problems.push(
          `${what} for layer ${slot.layer}, but config.json has ${expect.numLayers} layers ('${m.name}')`,
        );
        continue;
      }
      table[slot.layer][slot.kind] = m.name;
    }
    return table.map((t, layer) => {
      if (!t.key) problems.push(`${what} key for layer ${layer}`);
      if (!t.value) problems.push(`${what} value for layer ${layer}`);
      return { key: t.key ?? '', value: t.value ?? '' };
    });
  };
  const past = collect(inputs, PAST_PATTERNS, 'past');
  const outputNames = new Set(outputs.map((o) => o.name));
  const newKv = Array.from({ length: expect.numLayers }, (_, l) => ({
    key: `new_key_values.${l}.key`,
    value: `new_key_values.${l}.value`,
  }));
  const hasNewKv = newKv.every((n) => outputNames.has(n.key) && outputNames.has(n.value));
  // With new_key_values the runner never needs present (a graph opened for it has it pruned).
  const hasPresent = outputs.some((o) => PRESENT_PATTERNS.some((re) => re.test(o.name)));
  const present = hasNewKv && !hasPresent ? [] : collect(outputs, PRESENT_PATTERNS, 'present');

  const known = new Set<string>([
    inputIds,
    attentionMask,
    ...past.flatMap((p) => [p.key, p.value]),
  ]);
  if (positionIds) known.add(positionIds);
  if (numLogitsToKeep) known.add(numLogitsToKeep);
  const unknown = inputs.filter((i) => !known.has(i.name)).map((i) => `'${i.name}'`);
  if (unknown.length > 0) problems.push(`support for input(s) ${unknown.join(', ')}`);

  let kvDtype: KvDtype = 'float32';
  const firstPast = byName.get(past[0]?.key ?? '');
  if (firstPast) {
    const t = dtypeOf(firstPast);
    if (t === 'float32' || t === 'float16') kvDtype = t;
    else problems.push(`a float32 or float16 KV cache (past is ${t})`);
    for (const p of [...past, ...present]) {
      for (const name of [p.key, p.value]) {
        const m = byName.get(name);
        if (!m) continue;
        if (dtypeOf(m) !== kvDtype)
          problems.push(`one KV dtype ('${name}' is ${dtypeOf(m)}, expected ${kvDtype})`);
        if (m.isTensor && m.shape.length === 4) {
          const [, heads, , dim] = m.shape;
          if (typeof heads === 'number' && heads !== expect.numKvHeads) {
            problems.push(
              `${expect.numKvHeads} KV heads as in config.json ('${name}' has ${heads})`,
            );
          }
          if (typeof dim === 'number' && dim !== expect.headDim) {
            problems.push(`head_dim ${expect.headDim} as in config.json ('${name}' has ${dim})`);
          }
        } else if (m.isTensor && m.shape.length !== 0) {
          problems.push(
            `[batch, kv_heads, seq, head_dim] KV tensors ('${name}' has rank ${m.shape.length})`,
          );
        }
      }
    }
  }
  let logitsDtype: KvDtype = 'float32';
  const logitsMeta = byName.get(logits);
  if (logitsMeta) {
    const t = dtypeOf(logitsMeta);
    if (t === 'float32' || t === 'float16') logitsDtype = t;
    else problems.push(`float logits (logits are ${t})`);
  }

  if (problems.length > 0) {
    throw new Error(
      `the ONNX graph cannot be driven by Orchard; it lacks: ${[...new Set(problems)].join('; ')}`,
    );
  }
  return {
    inputIds,
    attentionMask,
    positionIds,
    numLogitsToKeep,
    logits,
    logitsDtype,
    past,
    present,
    newKv: hasNewKv ? newKv : null,
    kvDtype,
  };
}
