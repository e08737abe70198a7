// Run ONNX Runtime (onnxruntime-node, the runtime Orchard ships) on test cases written by export.py.
// Usage: node verify.mjs <model.onnx> <casesdir>
//   <casesdir>/cases.json = { cases: [{ name, feeds: { inputName: { dtype, dims, file } } }],
//                             greedy: { prompts: [[ids...]], max_new, eos, num_layers } }
// Writes <casesdir>/out/<case>.<output>.bin (float32 LE) and <casesdir>/out/greedy.json.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

const [modelPath, dir] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
const outDir = path.join(dir, 'out');
fs.mkdirSync(outDir, { recursive: true });
const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 2, interOpNumThreads: 1 });

function readTensor({ dtype, dims, file }) {
  const buf = fs.readFileSync(path.join(dir, file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
  return new ort.Tensor(dtype, data, dims);
}

for (const c of spec.cases) {
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, readTensor(v)]));
  const out = await session.run(feeds);
  for (const [name, t] of Object.entries(out)) {
    fs.writeFileSync(path.join(outDir, `${c.name}.${name}.bin`), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.writeFileSync(path.join(outDir, `${c.name}.${name}.json`), JSON.stringify(t.dims));
  }
}

// Greedy decoding with the KV cache (prefill, then one token per step).
const g = spec.greedy;
const results = [];
const t0 = Date.now();
for (const prompt of g.prompts) {
  const [kvh, hd] = [g.num_kv_heads, g.head_dim];
  let past = {};
  for (let l = 0; l < g.num_layers; l++) {
    past[`past_key_values.${l}.key`] = new ort.Tensor('float32', new Float32Array(0), [1, kvh, 0, hd]);
    past[`past_key_values.${l}.value`] = new ort.Tensor('float32', new Float32Array(0), [1, kvh, 0, hd]);
  }
  let ids = prompt.slice();
  let step = prompt.slice();
  const gen = [];
  for (let i = 0; i < g.max_new; i++) {
    const total = ids.length;
    const pos = Array.from({ length: step.length }, (_, j) => BigInt(total - step.length + j));
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(step.map(BigInt)), [1, step.length]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(pos), [1, step.length]),
      ...past,
    };
    if (session.inputNames.includes('num_logits_to_keep'))
      feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.of(1n), []);
    const out = await session.run(feeds);
    const V = out.logits.dims[2];
    const rows = out.logits.dims[1];
    const last = out.logits.data.subarray((rows - 1) * V, rows * V);
    let best = 0;
    for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
    gen.push(best);
    ids.push(best);
    step = [best];
    past = {};
    for (let l = 0; l < g.num_layers; l++) {
      past[`past_key_values.${l}.key`] = out[`present.${l}.key`];
      past[`past_key_values.${l}.value`] = out[`present.${l}.value`];
    }
    if (best === g.eos) break;
  }
  results.push(gen);
}
fs.writeFileSync(path.join(outDir, 'greedy.json'), JSON.stringify({ results, ms: Date.now() - t0 }));
console.log(`verify.mjs: ${spec.cases.length} cases, ${results.length} greedy prompts OK`);
