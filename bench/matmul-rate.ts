/** The dense matmul rate ONNX Runtime reaches on this machine, on a hand-built one-node graph. */
import ort from 'onnxruntime-node';
import { intraOpThreads } from '../src/engine/onnx-session.js';
import { matmulModelBytes } from './matmul-onnx.js';

export interface MatmulResult {
  shapes: Array<{ m: number; k: number; n: number; gflops: number }>;
  bestGflops: number;
  bestShape: string;
}

export async function matmulRate(threads: number, quick: boolean): Promise<MatmulResult> {
  const session = await ort.InferenceSession.create(matmulModelBytes(), {
    executionProviders: ['cpu'],
    // Every core unless a count is set (as the engine's sessions: see onnx-session.ts).
    intraOpNumThreads: intraOpThreads(threads),
  });
  // Decode-like (64 rows), prefill-like (512 rows) and a square shape.
  const shapes = [
    [64, 256, 1024],
    [512, 256, 1024],
    [1024, 1024, 1024],
  ];
  const out: MatmulResult['shapes'] = [];
  for (const [m, k, n] of shapes) {
    const a = new ort.Tensor(
      'float32',
      Float32Array.from({ length: m * k }, (_, i) => ((i % 13) - 6) / 7),
      [m, k],
    );
    const b = new ort.Tensor(
      'float32',
      Float32Array.from({ length: k * n }, (_, i) => ((i % 11) - 5) / 9),
      [k, n],
    );
    const y = new ort.Tensor('float32', new Float32Array(m * n), [m, n]);
    await session.run({ A: a, B: b }, { Y: y });
    const flopsPerRun = 2 * m * k * n;
    const budgetMs = quick ? 300 : 1500;
    let runs = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < budgetMs) {
      await session.run({ A: a, B: b }, { Y: y });
      runs++;
    }
    const s = (performance.now() - t0) / 1000;
    out.push({ m, k, n, gflops: (flopsPerRun * runs) / s / 1e9 });
  }
  await session.release();
  const best = out.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { shapes: out, bestGflops: best.gflops, bestShape: `${best.m}×${best.k}×${best.n}` };
}
