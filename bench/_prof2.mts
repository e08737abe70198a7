import ort from 'onnxruntime-node';
import { openModelSession } from '../src/engine/onnx-session.ts';
const dir = 'resources/models/orchard-chat-1';
const s = await openModelSession(dir, { executionProvider: 'cpu', threads: 0 });
const sig = s.signature;
for (const B of [1, 4, 16, 64]) for (const pre of [false, true]) {
  const P = 100, S = 1, T = P + S, H = 2, D = 32;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(5n), [B, S]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
    position_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(100n), [B, S]),
  };
  const fetches: Record<string, ort.Tensor> = { logits: new ort.Tensor('float32', new Float32Array(B * S * 4096), [B, S, 4096]) };
  for (let l = 0; l < 4; l++) {
    feeds[sig.past[l].key] = new ort.Tensor('float32', new Float32Array(B * H * P * D).fill(0.1), [B, H, P, D]);
    feeds[sig.past[l].value] = new ort.Tensor('float32', new Float32Array(B * H * P * D).fill(0.1), [B, H, P, D]);
    fetches[sig.present[l].key] = new ort.Tensor('float32', new Float32Array(B * H * T * D), [B, H, T, D]);
    fetches[sig.present[l].value] = new ort.Tensor('float32', new Float32Array(B * H * T * D), [B, H, T, D]);
  }
  const run = () => (pre ? s.session.run(feeds, fetches) : s.session.run(feeds));
  for (let w = 0; w < 3; w++) await run();
  const n = 30; const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  console.log(`B=${B} prealloc=${pre} run ${((performance.now() - t0) / n).toFixed(2)} ms`);
}
