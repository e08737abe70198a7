import { openModelSession } from '../src/engine/onnx-session.js';
import { OnnxRunner } from '../src/engine/onnx-runner.js';
import { EngineCore } from '../src/engine/engine-core.js';
import { samplingParams } from '../src/shared/sampling.js';
const dir = 'resources/models/orchard-chat-1';
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const r = new OnnxRunner(s.session, s.config, s.signature, { kvCacheBytes: 256 << 20, blockSize: 16 });
const core = new EngineCore(r, { numBlocks: r.numBlocks, blockSize: 16, maxRunning: 64, maxWaiting: 256, maxBatchTokens: 512, enablePrefixCaching: true, maxModelLen: 1024, eosTokenIds: [1] });
const sess = s.session as unknown as { run: (...a: unknown[]) => Promise<unknown> };
const origRun = sess.run.bind(sess);
let run = 0; let runs = 0;
sess.run = async (...a: unknown[]) => { const x = performance.now(); const o = await origRun(...a); run += performance.now() - x; runs++; return o; };
const origExec = r.execute.bind(r); let exec = 0;
r.execute = async (seqs) => { const a = performance.now(); const o = await origExec(seqs); exec += performance.now() - a; return o; };
for (const B of [64, 32, 64]) {
  run = 0; runs = 0; exec = 0;
  const c0 = r.counters.calls, k0 = r.counters.carriedCalls;
  for (let i = 0; i < B; i++) core.addRequest({ id: `${B}-${i}-${Math.random()}`, promptTokenIds: Array.from({ length: 128 }, (_, j) => 10 + ((j * 7 + i * 131 + Math.floor(Math.random() * 4000)) % 4000)), params: samplingParams({ temperature: 0, maxTokens: 128, ignoreEos: true }) });
  const t0 = performance.now(); let steps = 0;
  while (core.hasWork()) { await core.step(); steps++; }
  const wall = performance.now() - t0;
  console.log(`B=${B}: wall ${wall.toFixed(0)} ms, ${steps} steps, ${(B * 128 / wall * 1000).toFixed(0)} out tok/s; ort.run ${run.toFixed(0)} ms (${runs} calls, ${r.counters.carriedCalls - k0} carried), runner JS ${(exec - run).toFixed(0)} ms, core JS ${(wall - exec).toFixed(0)} ms; cpu user ${(process.cpuUsage().user / 1e6).toFixed(1)}s`);
}
{
  const kv = r.kv as unknown as Record<string, (...a: unknown[]) => void>;
  const t: Record<string, number> = { gather: 0, scatter: 0 };
  for (const name of ['gather', 'scatter']) {
    const orig = kv[name].bind(kv);
    kv[name] = (...a: unknown[]) => { const x = performance.now(); orig(...a); t[name] += performance.now() - x; };
  }
  run = 0; exec = 0;
  for (let i = 0; i < 64; i++) core.addRequest({ id: `x-${i}-${Math.random()}`, promptTokenIds: Array.from({ length: 128 }, (_, j) => 10 + ((j * 7 + i * 131 + Math.floor(Math.random() * 4000)) % 4000)), params: samplingParams({ temperature: 0, maxTokens: 128, ignoreEos: true }) });
  const t0 = performance.now();
  while (core.hasWork()) await core.step();
  console.log(`instrumented: wall ${(performance.now() - t0).toFixed(0)}, ort ${run.toFixed(0)}, runner JS ${(exec - run).toFixed(0)}, gather ${t.gather.toFixed(0)}, scatter ${t.scatter.toFixed(0)}`);
}
