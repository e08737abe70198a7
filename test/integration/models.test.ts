// Shipped model family (resources/models): layout, tokenizer, chat template and ONNX graph behaviour.
// Rebuild the models with `bash resources/models/recipe/build.sh` (maintainer tooling, not run here).
import { describe, it, expect, beforeAll } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';

const MODELS_DIR = fileURLToPath(new URL('../../resources/models/', import.meta.url));
const SPECIAL = {
  '<|begin|>': 0,
  '<|end|>': 1,
  '<|pad|>': 2,
  '<|system|>': 3,
  '<|user|>': 4,
  '<|assistant|>': 5,
} as const;
const BOS = 0;
const EOS = 1;
const PAD = 2;

interface LlamaConfig {
  model_type: string;
  architectures: string[];
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  vocab_size: number;
  tie_word_embeddings: boolean;
  bos_token_id: number;
  eos_token_id: number;
  torch_dtype: string;
}

interface TokenizerConfig {
  chat_template: string;
  bos_token: string;
  eos_token: string;
  add_bos_token: boolean;
  [key: string]: unknown;
}

interface Loaded {
  dir: string;
  config: LlamaConfig;
  generation: Record<string, unknown>;
  tokenizerConfig: TokenizerConfig;
  tokenizer: Tokenizer;
  session: InferenceSession;
}

const FOLDERS = [
  { name: 'orchard-chat-1', chat: true },
  { name: 'orchard-chat-2', chat: true },
  { name: 'orchard-draft', chat: false },
];
const REQUIRED_FILES = [
  'config.json',
  'generation_config.json',
  'model.safetensors',
  'onnx/model.onnx',
  'tokenizer.json',
  'tokenizer_config.json',
  'README.md',
];

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

async function load(name: string): Promise<Loaded> {
  const dir = path.join(MODELS_DIR, name);
  const tokenizerConfig = readJson<TokenizerConfig>(path.join(dir, 'tokenizer_config.json'));
  return {
    dir,
    config: readJson<LlamaConfig>(path.join(dir, 'config.json')),
    generation: readJson<Record<string, unknown>>(path.join(dir, 'generation_config.json')),
    tokenizerConfig,
    tokenizer: new Tokenizer(readJson<object>(path.join(dir, 'tokenizer.json')), tokenizerConfig),
    session: await InferenceSession.create(path.join(dir, 'onnx/model.onnx'), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    }),
  };
}

type Past = Record<string, Tensor>;

function emptyPast(cfg: LlamaConfig, batch: number): Past {
  const past: Past = {};
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) {
      past[`past_key_values.${l}.${kv}`] = new Tensor('float32', new Float32Array(0), [
        batch,
        cfg.num_key_value_heads,
        0,
        cfg.head_dim,
      ]);
    }
  }
  return past;
}

const i64 = (values: number[], dims: number[]) =>
  new Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims);

/** One forward pass; returns logits [batch, seq, vocab] (flat) and the presents as the next past. */
async function forward(
  m: Loaded,
  ids: number[][],
  mask: number[][],
  positions: number[][],
  past: Past,
  keep = 0,
): Promise<{ logits: Float32Array; present: Past }> {
  const b = ids.length;
  const s = ids[0].length;
  const out = await m.session.run({
    input_ids: i64(ids.flat(), [b, s]),
    attention_mask: i64(mask.flat(), [b, mask[0].length]),
    position_ids: i64(positions.flat(), [b, s]),
    num_logits_to_keep: i64([keep], []), // 0: logits for every position
    ...past,
  });
  const present: Past = {};
  for (let l = 0; l < m.config.num_hidden_layers; l++) {
    for (const kv of ['key', 'value']) {
      present[`past_key_values.${l}.${kv}`] = out[`present.${l}.${kv}`] as Tensor;
    }
  }
  return { logits: out.logits.data as Float32Array, present };
}

const argmax = (a: Float32Array) => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
};

/** Greedy decoding with the KV cache. Returns generated ids and the logits row used at each step. */
async function greedy(m: Loaded, prompt: number[], maxNew: number) {
  const V = m.config.vocab_size;
  let past = emptyPast(m.config, 1);
  let step = prompt.slice();
  const all = prompt.slice();
  const tokens: number[] = [];
  const stepLogits: Float32Array[] = [];
  for (let i = 0; i < maxNew; i++) {
    const start = all.length - step.length;
    const { logits, present } = await forward(
      m,
      [step],
      [all.map(() => 1)],
      [step.map((_, j) => start + j)],
      past,
    );
    const last = logits.slice((step.length - 1) * V, step.length * V);
    const next = argmax(last);
    stepLogits.push(last);
    tokens.push(next);
    all.push(next);
    past = present;
    step = [next];
    if (next === EOS) break;
  }
  return { tokens, stepLogits };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

function renderChat(m: Loaded, messages: { role: string; content: string }[]): string {
  return new Template(m.tokenizerConfig.chat_template).render({
    messages,
    bos_token: m.tokenizerConfig.bos_token,
    eos_token: m.tokenizerConfig.eos_token,
    add_generation_prompt: true,
  });
}

const encode = (m: Loaded, text: string): number[] =>
  m.tokenizer.encode(text, { add_special_tokens: false }).ids;

describe('shipped model family', () => {
  it('stays under 100 MB in total and shares one tokenizer', () => {
    let total = 0;
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else total += fs.statSync(p).size;
      }
    };
    walk(MODELS_DIR);
    expect(total).toBeLessThan(100 * 1024 * 1024);
    const tok = FOLDERS.map((f) =>
      fs.readFileSync(path.join(MODELS_DIR, f.name, 'tokenizer.json')),
    );
    expect(tok[1].equals(tok[0])).toBe(true);
    expect(tok[2].equals(tok[0])).toBe(true);
  });
});

for (const folder of FOLDERS) {
  describe(folder.name, () => {
    let m: Loaded;
    beforeAll(async () => {
      m = await load(folder.name);
    });

    it('has the Hugging Face ONNX repo layout and a Llama config', () => {
      for (const f of REQUIRED_FILES) expect(fs.existsSync(path.join(m.dir, f)), f).toBe(true);
      const c = m.config;
      expect(c.model_type).toBe('llama');
      expect(c.architectures).toEqual(['LlamaForCausalLM']);
      expect(c.torch_dtype).toBe('float32');
      expect(c.vocab_size).toBe(4096);
      expect(c.num_key_value_heads).toBeLessThan(c.num_attention_heads);
      expect(c.num_attention_heads % c.num_key_value_heads).toBe(0);
      expect(c.head_dim * c.num_attention_heads).toBe(c.hidden_size);
      expect(c.max_position_embeddings).toBeGreaterThanOrEqual(1024);
      expect(c.tie_word_embeddings).toBe(true);
      expect(c.rms_norm_eps).toBeGreaterThan(0);
      expect(c.rope_theta).toBeGreaterThan(0);
      expect(c.intermediate_size).toBeGreaterThan(c.hidden_size);
      expect([c.bos_token_id, c.eos_token_id]).toEqual([BOS, EOS]);
      expect(m.generation.bos_token_id).toBe(BOS);
      expect(m.generation.eos_token_id).toBe(EOS);
      expect(m.generation.temperature).toBeTypeOf('number');
      expect(m.generation.top_p).toBeTypeOf('number');

      // safetensors header: Hugging Face Llama parameter names with the configured shapes
      const buf = fs.readFileSync(path.join(m.dir, 'model.safetensors'));
      const headerLen = Number(buf.readBigUInt64LE(0));
      const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8')) as Record<
        string,
        { dtype: string; shape: number[] }
      >;
      expect(header['model.embed_tokens.weight'].shape).toEqual([c.vocab_size, c.hidden_size]);
      expect(header['model.norm.weight'].shape).toEqual([c.hidden_size]);
      const kvDim = c.num_key_value_heads * c.head_dim;
      for (let l = 0; l < c.num_hidden_layers; l++) {
        const p = `model.layers.${l}.`;
        expect(header[`${p}self_attn.q_proj.weight`].shape).toEqual([c.hidden_size, c.hidden_size]);
        expect(header[`${p}self_attn.k_proj.weight`].shape).toEqual([kvDim, c.hidden_size]);
        expect(header[`${p}self_attn.v_proj.weight`].shape).toEqual([kvDim, c.hidden_size]);
        expect(header[`${p}self_attn.o_proj.weight`].shape).toEqual([c.hidden_size, c.hidden_size]);
        expect(header[`${p}mlp.gate_proj.weight`].shape).toEqual([
          c.intermediate_size,
          c.hidden_size,
        ]);
        expect(header[`${p}mlp.up_proj.weight`].shape).toEqual([
          c.intermediate_size,
          c.hidden_size,
        ]);
        expect(header[`${p}mlp.down_proj.weight`].shape).toEqual([
          c.hidden_size,
          c.intermediate_size,
        ]);
        expect(header[`${p}input_layernorm.weight`].shape).toEqual([c.hidden_size]);
        expect(header[`${p}post_attention_layernorm.weight`].shape).toEqual([c.hidden_size]);
      }
      expect(header[`model.layers.${c.num_hidden_layers}.mlp.up_proj.weight`]).toBeUndefined();
    });

    it('exposes the decoder-with-past ONNX signature', () => {
      const n = m.config.num_hidden_layers;
      const past = Array.from({ length: n }, (_, l) => [
        `past_key_values.${l}.key`,
        `past_key_values.${l}.value`,
      ]).flat();
      const present = Array.from({ length: n }, (_, l) => [
        `present.${l}.key`,
        `present.${l}.value`,
      ]).flat();
      expect([...m.session.inputNames].sort()).toEqual(
        ['input_ids', 'attention_mask', 'position_ids', 'num_logits_to_keep', ...past].sort(),
      );
      const added = present.map((n) => n.replace('present.', 'new_key_values.'));
      expect([...m.session.outputNames].sort()).toEqual(['logits', ...present, ...added].sort());
      // The lean graph (recipe/graph_builder.py): ~30 nodes a layer, not the ~100 of a trace.
      const graph = fs.readFileSync(path.join(m.dir, 'onnx', 'model.onnx'));
      expect(graph.includes('SkipSimplifiedLayerNormalization')).toBe(true);
    });

    it('new_key_values are the last positions of present, bit for bit', async () => {
      const c = m.config;
      const first = await forward(
        m,
        [[0, 4, 11, 12]],
        [[1, 1, 1, 1]],
        [[0, 1, 2, 3]],
        emptyPast(c, 1),
      );
      const out = await m.session.run({
        input_ids: i64([13, 14], [1, 2]),
        attention_mask: i64([1, 1, 1, 1, 1, 1], [1, 6]),
        position_ids: i64([4, 5], [1, 2]),
        num_logits_to_keep: i64([1], []),
        ...first.present,
      });
      const H = c.num_key_value_heads;
      const D = c.head_dim ?? c.hidden_size / c.num_attention_heads;
      for (let l = 0; l < c.num_hidden_layers; l++) {
        for (const kv of ['key', 'value']) {
          const present = out[`present.${l}.${kv}`].data as Float32Array; // [1, H, 6, D]
          const added = out[`new_key_values.${l}.${kv}`].data as Float32Array; // [1, H, 2, D]
          for (let h = 0; h < H; h++) {
            const tail = present.subarray((h * 6 + 4) * D, (h * 6 + 6) * D);
            expect(added.subarray(h * 2 * D, (h + 1) * 2 * D)).toEqual(tail);
          }
        }
      }
    });

    it('num_logits_to_keep computes logits for the last positions only, the same numbers', async () => {
      const ids = [[0, 4, 11, 12, 13, 14, 15]];
      const ones = [ids[0].map(() => 1)];
      const pos = [ids[0].map((_, i) => i)];
      const V = m.config.vocab_size;
      const all = await forward(m, ids, ones, pos, emptyPast(m.config, 1));
      const last2 = await forward(m, ids, ones, pos, emptyPast(m.config, 1), 2);
      expect(last2.logits.length).toBe(2 * V);
      const tail = all.logits.subarray(all.logits.length - 2 * V);
      let worst = 0;
      for (let i = 0; i < tail.length; i++)
        worst = Math.max(worst, Math.abs(tail[i] - last2.logits[i]));
      expect(worst).toBeLessThan(1e-5);
    });

    it('tokenizer round-trips text and knows the special tokens', () => {
      const samples = [
        'The quick brown fox jumps over the lazy dog. It is 3:14 pm!',
        'Café naïve façade — “curly quotes” … 日本語 🍎 Ünïcödé',
      ];
      for (const s of samples) expect(m.tokenizer.decode(encode(m, s))).toBe(s);
      for (const [tok, id] of Object.entries(SPECIAL)) {
        expect(m.tokenizer.token_to_id(tok)).toBe(id);
        expect(encode(m, tok)).toEqual([id]);
      }
      expect(m.tokenizerConfig.bos_token).toBe('<|begin|>');
      expect(m.tokenizerConfig.eos_token).toBe('<|end|>');
      expect(m.tokenizerConfig.add_bos_token).toBe(false);
    });

    it('chat template renders and ends with the assistant header', () => {
      const text = renderChat(m, [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Say something wise.' },
      ]);
      expect(text).toBe(
        '<|begin|><|system|>\nYou are a helpful assistant.<|end|>\n<|user|>\nSay something wise.<|end|>\n<|assistant|>\n',
      );
      const ids = encode(m, text);
      expect(ids[0]).toBe(BOS);
      expect(ids.slice(-2)).toEqual([SPECIAL['<|assistant|>'], encode(m, '\n')[0]]);
    });

    it('greedy decoding with the KV cache is deterministic and matches no-cache logits', async () => {
      const prompt = encode(m, renderChat(m, [{ role: 'user', content: 'Tell me a fortune.' }]));
      const maxNew = folder.chat ? 200 : 24;
      const a = await greedy(m, prompt, maxNew);
      const b = await greedy(m, prompt, maxNew);
      expect(b.tokens).toEqual(a.tokens);
      if (folder.chat) {
        expect(a.tokens.at(-1)).toBe(EOS);
        const answer = m.tokenizer.decode(a.tokens, { skip_special_tokens: true });
        expect(answer).toMatch(/[A-Za-z]{2,}/);
      }
      // Same positions without the cache: one pass over prompt + generated tokens.
      const seq = [...prompt, ...a.tokens.slice(0, -1)];
      const { logits } = await forward(
        m,
        [seq],
        [seq.map(() => 1)],
        [seq.map((_, i) => i)],
        emptyPast(m.config, 1),
      );
      const V = m.config.vocab_size;
      let worst = 0;
      a.stepLogits.forEach((row, k) => {
        const pos = prompt.length - 1 + k;
        worst = Math.max(worst, maxAbsDiff(row, logits.slice(pos * V, (pos + 1) * V)));
      });
      expect(worst).toBeLessThanOrEqual(1e-4);
    });

    it('left- and right-padded batches give the unpadded logits', async () => {
      const V = m.config.vocab_size;
      const rows: number[][] = [
        encode(m, renderChat(m, [{ role: 'user', content: 'Say something wise.' }])),
        [BOS, ...encode(m, 'A penny saved is')],
      ];
      const single: Float32Array[] = [];
      for (const r of rows) {
        const { logits } = await forward(
          m,
          [r],
          [r.map(() => 1)],
          [r.map((_, i) => i)],
          emptyPast(m.config, 1),
        );
        single.push(logits);
      }
      const L = Math.max(...rows.map((r) => r.length));
      for (const side of ['left', 'right'] as const) {
        const ids: number[][] = [];
        const mask: number[][] = [];
        const pos: number[][] = [];
        for (const r of rows) {
          const pad = L - r.length;
          const padIds = Array<number>(pad).fill(PAD);
          const zeros = Array<number>(pad).fill(0);
          const real = r.map((_, i) => i);
          ids.push(side === 'left' ? [...padIds, ...r] : [...r, ...padIds]);
          mask.push(
            side === 'left' ? [...zeros, ...r.map(() => 1)] : [...r.map(() => 1), ...zeros],
          );
          pos.push(side === 'left' ? [...zeros, ...real] : [...real, ...zeros]);
        }
        const { logits } = await forward(m, ids, mask, pos, emptyPast(m.config, rows.length));
        expect(logits.every((x) => Number.isFinite(x))).toBe(true);
        rows.forEach((r, b) => {
          const off = side === 'left' ? L - r.length : 0;
          const got = logits.slice((b * L + off) * V, (b * L + off + r.length) * V);
          expect(maxAbsDiff(got, single[b])).toBeLessThanOrEqual(1e-4);
        });
      }
    });
  });
}
