import { openModelSession } from '../src/engine/onnx-session.ts';
import { OnnxRunner } from '../src/engine/onnx-runner.ts';
import { EngineCore } from '../src/engine/engine-core.ts';
import { samplingParams } from '../src/shared/sampling.ts';
const dir = 'resources/models/orchard-chat-1';
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const r = new OnnxRunner(s.session, s.config, s.signature, { kvCacheBytes: 256 << 20, blockSize: 16 });
const core = new EngineCore(r, { numBlocks: r.numBlocks, blockSize: 16, maxRunning: 64, maxWaiting: 256, maxBatchTokens: 512, enablePrefixCaching: true, maxModelLen: 1024, eosTokenIds: [1] });
for (const B of [1, 4, 16]) {
  for (let i = 0; i < B; i++) core.addRequest({ id: `${B}-${i}`, promptTokenIds: Array.from({ length: 64 }, (_, j) => 10 + ((j * 7 + i * 13 + B) % 4000)), params: samplingParams({ temperature: 0, maxTokens: 32, ignoreEos: true }) });
  const times: number[] = []; let t = performance.now();
  let exec = 0;
  const orig = r.execute.bind(r);
  r.execute = async (seqs) => { const a = performance.now(); const o = await orig(seqs); exec += performance.now() - a; return o; };
  while (core.hasWork()) { await core.step(); const n = performance.now(); times.push(n - t); t = n; }
  r.execute = orig;
  const total = times.reduce((a, b) => a + b, 0);
  console.log(`B=${B}: ${times.length} steps, first ${times[0].toFixed(1)} ms, median ${times.sort((a, b) => a - b)[times.length >> 1].toFixed(2)} ms, total ${total.toFixed(0)} ms, in execute ${exec.toFixed(0)} ms`);
}
