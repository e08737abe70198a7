import ort from 'onnxruntime-node';
const dir = 'resources/models/orchard-chat-1';
const B = Number(process.argv[2] ?? 4), P = 128, S = 1;
const s = await ort.InferenceSession.create(dir + '/onnx/model.onnx', { enableProfiling: true, profileFilePrefix: '/tmp/ortprof', graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
const T = P + S, H = 2, D = 32;
const feeds: Record<string, ort.Tensor> = {
  input_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(5n), [B, S]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(B * T).fill(1n), [B, T]),
  position_ids: new ort.Tensor('int64', new BigInt64Array(B * S).fill(100n), [B, S]),
};
for (let l = 0; l < 4; l++) for (const k of ['key', 'value']) feeds[`past_key_values.${l}.${k}`] = new ort.Tensor('float32', new Float32Array(B * H * P * D).fill(0.1), [B, H, P, D]);
for (let i = 0; i < 100; i++) await s.run(feeds);
await s.release();
