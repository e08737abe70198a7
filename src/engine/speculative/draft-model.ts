/**
 * Loads the draft model for speculative 'draft' decoding inside the engine worker: its own ONNX
 * session and a paged-KV runner holding exactly as many blocks as the target's, so the two
 * caches share block ids (see draft-proposer.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openModelSession } from '../onnx-session.js';
import { OnnxRunner } from '../onnx-runner.js';
import { kvBytesPerToken } from '../runner-types.js';
import type { ModelRunner } from '../runner-types.js';
import type { EngineOptions } from '../types.js';
import type { SpeculativeConfig } from './speculator.js';

/** The shipped draft model's folder name; found next to the served model when asked for. */
export const SHIPPED_DRAFT = 'orchard-draft';

/**
 * Which draft model folder to load: the one the options name; with none named and 'draft' as
 * the engine's default mode, the shipped draft next to the model folder if there is one and it
 * shares the model's tokenizer. null means no draft model ('draft' requests then run without
 * speculation).
 */
export async function resolveDraftModelDir(
  modelDir: string,
  options: Pick<EngineOptions, 'draftModelDir' | 'speculative'>,
): Promise<string | null> {
  if (options.draftModelDir === null) return null;
  if (options.draftModelDir !== undefined) return path.resolve(options.draftModelDir);
  if (options.speculative !== 'draft') return null;
  const sibling = path.join(path.dirname(path.resolve(modelDir)), SHIPPED_DRAFT);
  if (sibling === path.resolve(modelDir)) return null;
  try {
    await fs.access(path.join(sibling, 'config.json'));
    // Found, not asked for: a draft of another model family is skipped, not an error.
    await checkSameTokenizer(modelDir, sibling);
    return sibling;
  } catch {
    return null;
  }
}

type Json = Record<string, unknown>;

async function tokenizerOf(dir: string): Promise<Json | null> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'tokenizer.json'), 'utf8')) as Json;
  } catch {
    return null;
  }
}

/** Same vocabulary and special tokens: the draft's token ids mean what the target's mean. */
export async function checkSameTokenizer(modelDir: string, draftDir: string): Promise<void> {
  const [a, b] = await Promise.all([tokenizerOf(modelDir), tokenizerOf(draftDir)]);
  if (a === null || b === null) return; // vocabulary sizes are still compared by the core
  const vocab = (t: Json): string => JSON.stringify((t.model as Json | undefined)?.vocab ?? null);
  const added = (t: Json): string =>
    JSON.stringify(
      ((t.added_tokens as Array<{ id: number; content: string }> | undefined) ?? []).map((x) => [
        x.id,
        x.content,
      ]),
    );
  if (vocab(a) !== vocab(b) || added(a) !== added(b)) {
    throw new Error(
      `the draft model ${draftDir} does not share the tokenizer of ${modelDir}; speculative decoding needs the same vocabulary`,
    );
  }
}

export async function openDraftRunner(
  modelDir: string,
  draftDir: string,
  options: Pick<EngineOptions, 'executionProvider' | 'blockSize'>,
  numBlocks: number,
): Promise<ModelRunner> {
  await checkSameTokenizer(modelDir, draftDir);
  const draft = await openModelSession(draftDir, {
    executionProvider: options.executionProvider,
    // One thread: a draft run is a chain of tiny kernels, where a thread pool's hand-offs cost
    // more than they save (measured ~30% faster than two threads on 2 cores).
    threads: 1,
    ownKvCache: true,
  });
  const { config, signature } = draft;
  const bytesPerToken = kvBytesPerToken({
    numLayers: config.numLayers,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    dtypeBytes: signature.kvDtype === 'float16' ? 2 : 4,
  });
  try {
    const runner = new OnnxRunner(draft.session, config, signature, {
      kvCacheBytes: numBlocks * options.blockSize * bytesPerToken,
      blockSize: options.blockSize,
    });
    if (runner.numBlocks !== numBlocks)
      throw new Error(`draft KV cache: ${runner.numBlocks} blocks for ${numBlocks} asked`);
    runner.kv.commitPages();
    return runner;
  } catch (err) {
    await draft.session.release();
    throw err;
  }
}

/** The core's speculative settings from the engine options (unset ones keep their defaults). */
export function speculativeConfig(options: EngineOptions): Partial<SpeculativeConfig> {
  const config: Partial<SpeculativeConfig> = { defaultMode: options.speculative ?? 'off' };
  if (options.speculativeMaxRunning !== undefined)
    config.maxRunning = options.speculativeMaxRunning;
  if (options.speculativeMaxDrafts !== undefined) config.maxDrafts = options.speculativeMaxDrafts;
  if (options.speculativeDraftUsesLookup !== undefined)
    config.draftUsesLookup = options.speculativeDraftUsesLookup;
  if (options.speculativeDraftCost !== undefined) config.draftCost = options.speculativeDraftCost;
  return config;
}
