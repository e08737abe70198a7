/**
 * Child process of bench/core-check.ts, started pinned to one core: how fast the plain reference
 * loop decodes there. Prints `{"tokPerS": n}`.
 */
import { ReferenceModel } from '../src/engine/reference-loop.js';

const [model, ms] = [process.argv[2], Number(process.argv[3] ?? 1000)];
const ref = await ReferenceModel.open(model, { threads: 1 });
const prompt = Array.from({ length: 128 }, (_, i) => 5 + ((i * 37) % (ref.vocabSize - 5)));
await ref.generate(prompt, { maxTokens: 32, ignoreEos: true });
let tokens = 0;
const t0 = performance.now();
while (performance.now() - t0 < ms) {
  tokens += (await ref.generate(prompt, { maxTokens: 64, ignoreEos: true })).length;
}
process.stdout.write(
  JSON.stringify({ tokPerS: tokens / ((performance.now() - t0) / 1000) }) + '\n',
);
await ref.close();
