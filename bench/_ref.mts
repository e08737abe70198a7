import { ReferenceModel } from '../src/engine/reference-loop.js';
import { openModelSession } from '../src/engine/onnx-session.js';
import { OnnxRunner } from '../src/engine/onnx-runner.js';
const dir = 'resources/models/orchard-chat-1';
const ref = await ReferenceModel.open(dir, { threads: 0 });
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const r = new OnnxRunner(s.session, s.config, s.signature, { kvCacheBytes: 64 << 20, blockSize: 16 });
const prompt = Array.from({ length: 128 }, (_, i) => 10 + ((i * 37) % 4000));
for (let rep = 0; rep < 3; rep++) {
  const times: number[] = [];
  await ref.generate(prompt, { maxTokens: 128, ignoreEos: true, onToken: () => times.push(performance.now()) });
  const refTpot = (times.at(-1)! - times[0]) / (times.length - 1);
  const table = Array.from({ length: 16 }, (_, i) => i);
  await r.execute([{ seqId: rep, tokenIds: prompt, startPosition: 0, blockTable: table, numLogits: 1 }]);
  const t0 = performance.now();
  for (let i = 0; i < 127; i++) await r.execute([{ seqId: rep, tokenIds: [5], startPosition: 128 + i, blockTable: table, numLogits: 1 }]);
  const runTpot = (performance.now() - t0) / 127;
  console.log(`reference TPOT ${refTpot.toFixed(2)} ms, runner decode ${runTpot.toFixed(2)} ms`);
}
