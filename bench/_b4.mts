import { openModelSession } from '../src/engine/onnx-session.js';
import { OnnxRunner } from '../src/engine/onnx-runner.js';
const dir = 'resources/models/orchard-chat-1';
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const r = new OnnxRunner(s.session, s.config, s.signature, { kvCacheBytes: 64 << 20, blockSize: 16 });
let seq = 0;
async function run(B: number) {
  const base = seq; seq += B;
  const tables = Array.from({ length: B }, (_, b) => Array.from({ length: 16 }, (_, i) => ((base + b) % 100) * 16 + i));
  const prompt = Array.from({ length: 128 }, (_, i) => 10 + ((i * 37) % 4000));
  await r.execute(tables.map((t, b) => ({ seqId: base + b, tokenIds: prompt, startPosition: 0, blockTable: t, numLogits: 1 })));
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) await r.execute(tables.map((t, b) => ({ seqId: base + b, tokenIds: [5], startPosition: 128 + i, blockTable: t, numLogits: 1 })));
  return (performance.now() - t0) / 50;
}
for (let rep = 0; rep < 4; rep++) {
  const out: string[] = [];
  for (const B of [1, 2, 4, 8, 16, 32]) out.push(`B=${B}: ${(await run(B)).toFixed(2)}`);
  console.log(out.join('  '), ' calls', r.counters.calls, 'carried', r.counters.carriedCalls);
}
