/**
 * The test generation a version must pass before it takes traffic: a short greedy reply to a
 * chat prompt with logprobs on. It fails on errors, on no output, on token ids outside the
 * vocabulary and on non-finite logprobs — what a model with damaged weights (NaN logits) shows.
 */
import type { Engine } from '../engine/types.js';
import { samplingParams } from '../shared/sampling.js';

export interface WarmupResult {
  ok: boolean;
  reason: string;
  tokens: number;
  ms: number;
}

export async function warmUp(
  engine: Engine,
  options: { maxTokens?: number; timeoutMs?: number } = {},
): Promise<WarmupResult> {
  const started = Date.now();
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error('warm-up timed out')),
    options.timeoutMs ?? 120_000,
  );
  timer.unref();
  let prompt: number[];
  try {
    prompt = engine.tokenizer.encode(
      engine.tokenizer.applyChatTemplate([{ role: 'user', content: 'Say hello.' }], {
        addGenerationPrompt: true,
      }),
      { addSpecialTokens: false },
    );
  } catch {
    prompt = engine.tokenizer.encode('Hello');
  }
  const vocab = engine.info.vocabSize;
  let tokens = 0;
  const fail = (reason: string): WarmupResult => ({
    ok: false,
    reason,
    tokens,
    ms: Date.now() - started,
  });
  try {
    const stream = engine.generate(
      {
        requestId: `warmup-${Date.now()}`,
        promptTokenIds: prompt,
        params: samplingParams({
          temperature: 0,
          maxTokens: options.maxTokens ?? 8,
          logprobs: true,
          topLogprobs: 1,
          ignoreEos: true,
        }),
      },
      controller.signal,
    );
    for await (const out of stream) {
      for (const c of out.choices) {
        for (const id of c.tokenIds) {
          if (!Number.isInteger(id) || id < 0 || id >= vocab)
            return fail(`produced token id ${id} outside the vocabulary (${vocab})`);
        }
        for (const lp of c.logprobs) {
          if (!Number.isFinite(lp.logprob))
            return fail(
              `produced a non-finite logprob (${lp.logprob}): the logits are not numbers`,
            );
        }
        tokens += c.tokenIds.length;
      }
    }
  } catch (err) {
    return fail(`test generation failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (tokens === 0) return fail('test generation produced no tokens');
  return { ok: true, reason: `generated ${tokens} tokens`, tokens, ms: Date.now() - started };
}
