import ort from 'onnxruntime-node';
import { openModelSession } from '../src/engine/onnx-session.ts';
const dir = 'resources/models/orchard-chat-1';
const sess: Record<string, Awaited<ReturnType<typeof openModelSession>>> = {};
for (const t of [1, 2]) sess[t] = await openModelSession(dir, { executionProvider: 'cpu', threads: t });
const sig = sess[1].signature;
function mk(B: number, P: number, S: number) {
  const T = P + S, H = 2, D = 32;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(5n), [B, S]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    position_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(100n), [B, S]),
  };
  for (let l = 0; l < 4; l++) {
    feeds[sig.past[l].key] = new ort.Tensor('float32', new Float32Array(B * H * P * D).fill(0.1), [B, H, P, D]);
    feeds[sig.past[l].value] = new ort.Tensor('float32', new Float32Array(B * H * P * D).fill(0.1), [B, H, P, D]);
  }
  return feeds;
}
const cases = [[1, 100, 1], [4, 100, 1], [16, 100, 1], [64, 100, 1], [64, 200, 1], [1, 0, 128], [4, 0, 128]];
const res: Record<string, number[]> = {};
for (let rep = 0; rep < 3; rep++) for (const [B, P, S] of cases) for (const t of [1, 2]) {
  const f = mk(B, P, S); const s = sess[t].session;
  await s.run(f);
  const n = 10; const t0 = performance.now();
  for (let i = 0; i < n; i++) await s.run(f);
  (res[`B=${B} P=${P} S=${S} threads=${t}`] ??= []).push((performance.now() - t0) / n);
}
for (const [k, v] of Object.entries(res)) console.log(k, Math.min(...v).toFixed(2), 'ms (min of 3)');
