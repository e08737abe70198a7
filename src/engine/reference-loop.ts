/**
 * The plain way to run the model: one request, greedy, the whole dense past fed back every
 * step, no blocks, no batching, no padding. Tests hold the engine to it token for token, and the
 * benchmark uses it as the sequential baseline.
 */
import ort from 'onnxruntime-node';
import { halfToFloat } from './float16.js';
import { openModelSession } from './onnx-session.js';
import type { ModelSession } from './onnx-session.js';

export interface ReferenceGenerateOptions {
  maxTokens: number;
  /** Stop on the model's end-of-sequence ids unless ignoreEos. */
  ignoreEos?: boolean;
  /** Called as each token is chosen (the benchmark's clock). */
  onToken?: (tokenId: number, index: number) => void;
}

type Past = Array<{ key: ort.Tensor; value: ort.Tensor }>;

function argmax(a: Float32Array, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
}

export class ReferenceModel {
  private constructor(readonly model: ModelSession) {}

  static async open(modelDir: string, options: { threads?: number } = {}): Promise<ReferenceModel> {
    return new ReferenceModel(
      await openModelSession(modelDir, { executionProvider: 'cpu', threads: options.threads ?? 0 }),
    );
  }

  get vocabSize(): number {
    return this.model.config.vocabSize;
  }

  private emptyPast(): Past {
    const { numLayers, numKvHeads, headDim } = this.model.config;
    const type = this.model.signature.kvDtype;
    const empty = () =>
      new ort.Tensor(type, type === 'float16' ? new Uint16Array(0) : new Float32Array(0), [
        1,
        numKvHeads,
        0,
        headDim,
      ]);
    return Array.from({ length: numLayers }, () => ({ key: empty(), value: empty() }));
  }

  /** One dense forward pass over `tokenIds` after `past`; logits of the last `keep` positions. */
  private async forward(
    tokenIds: number[],
    past: Past,
    keep: number,
  ): Promise<{ logits: Float32Array; present: Past }> {
    const sig = this.model.signature;
    const S = tokenIds.length;
    const pastLen = past[0].key.dims[2];
    const feeds: Record<string, ort.Tensor> = {
      [sig.inputIds]: new ort.Tensor('int64', BigInt64Array.from(tokenIds, BigInt), [1, S]),
      [sig.attentionMask]: new ort.Tensor('int64', new BigInt64Array(pastLen + S).fill(1n), [
        1,
        pastLen + S,
      ]),
    };
    if (sig.positionIds) {
      feeds[sig.positionIds] = new ort.Tensor(
        'int64',
        BigInt64Array.from(tokenIds, (_, i) => BigInt(pastLen + i)),
        [1, S],
      );
    }
    if (sig.numLogitsToKeep) {
      const meta = this.model.session.inputMetadata.find((m) => m.name === sig.numLogitsToKeep);
      const dims = meta && meta.isTensor ? meta.shape.map(() => 1) : [];
      feeds[sig.numLogitsToKeep] = new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), dims);
    }
    past.forEach((p, l) => {
      feeds[sig.past[l].key] = p.key;
      feeds[sig.past[l].value] = p.value;
    });
    const out = await this.model.session.run(feeds);
    const logitsTensor = out[sig.logits] as ort.Tensor;
    const V = this.vocabSize;
    const all = logitsTensor.data as Float32Array | Uint16Array;
    const rows = logitsTensor.dims[1];
    const tail = all.subarray((rows - keep) * V, rows * V);
    const logits =
      tail instanceof Float32Array ? tail.slice() : Float32Array.from(tail, halfToFloat);
    const present = sig.present.map((n) => ({
      key: out[n.key] as ort.Tensor,
      value: out[n.value] as ort.Tensor,
    }));
    return { logits, present };
  }

  /** Logits of every position of `tokenIds`, from one dense call ([S × vocab], row after row). */
  async logits(tokenIds: number[]): Promise<Float32Array> {
    return (await this.forward(tokenIds, this.emptyPast(), tokenIds.length)).logits;
  }

  /** Greedy continuation of the prompt. */
  async generate(promptTokenIds: number[], options: ReferenceGenerateOptions): Promise<number[]> {
    const eos = new Set(options.ignoreEos ? [] : this.model.config.eosTokenIds);
    const out: number[] = [];
    let past = this.emptyPast();
    let input = promptTokenIds;
    const limit = Math.min(
      options.maxTokens,
      this.model.config.contextLength - promptTokenIds.length,
    );
    while (out.length < limit) {
      const step = await this.forward(input, past, 1);
      const token = argmax(step.logits, 0, this.vocabSize);
      out.push(token);
      options.onToken?.(token, out.length - 1);
      if (eos.has(token)) break;
      past = step.present;
      input = [token];
    }
    return out;
  }

  async close(): Promise<void> {
    await this.model.session.release();
  }
}
