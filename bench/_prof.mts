import { openModelSession } from '../src/engine/onnx-session.ts';
import { OnnxRunner } from '../src/engine/onnx-runner.ts';
const dir = 'resources/models/orchard-chat-1';
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const r = new OnnxRunner(s.session, s.config, s.signature, { kvCacheBytes: 256 << 20, blockSize: 16 });
for (const B of [1, 4, 16, 64]) {
  const seqs = Array.from({ length: B }, (_, i) => ({ seqId: i, tokenIds: [5], startPosition: 100, blockTable: Array.from({ length: 8 }, (_, j) => i * 8 + j), numLogits: 1 }));
  for (let w = 0; w < 3; w++) await r.execute(seqs);
  const n = 20; const t0 = performance.now();
  for (let i = 0; i < n; i++) await r.execute(seqs);
  const ms = (performance.now() - t0) / n;
  console.log(`B=${B} decode step ${ms.toFixed(2)} ms  per-token ${(ms / B).toFixed(2)} ms`);
}
