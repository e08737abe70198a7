/** The LiveSnapshot the UI polls (/api/status) and receives every second (SSE 'stats'). */
import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../../engine/types.js';
import type { LiveSnapshot, LoadedVersionView } from '../../shared/admin-api.js';
import type { LoadedEngineRef, ServingMetrics } from './serving-metrics.js';

const weightBytes = new Map<string, number>();

function dirSize(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += dirSize(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}

/** Weights on disk (ONNX files) plus the KV block pool: what a loaded version holds. */
export function engineMemoryBytes(engine: Engine): number {
  const onnxDir = path.join(engine.info.dir, 'onnx');
  let weights = weightBytes.get(onnxDir);
  if (weights === undefined) {
    weights = dirSize(onnxDir);
    weightBytes.set(onnxDir, weights);
  }
  // Every replica holds its own weights; the KV pool is split between them (stats sum it).
  const kv = engine.stats().kv;
  return weights * (engine.info.replicas ?? 1) + kv.totalBlocks * kv.blockSize * kv.bytesPerToken;
}

export function loadedView(l: LoadedEngineRef): LoadedVersionView {
  return {
    model: l.model,
    version: l.version,
    servedName: l.name,
    memoryBytes: engineMemoryBytes(l.engine),
    device: l.engine.info.executionProvider,
    replicas: l.engine.info.replicas ?? 1,
    stats: l.engine.stats(),
  };
}

export function liveSnapshot(loaded: LoadedEngineRef[], metrics: ServingMetrics): LiveSnapshot {
  const views = loaded.map(loadedView);
  return {
    at: Date.now(),
    tokensPerSecond: metrics.tokenRate.perSecond(),
    running: views.reduce((s, v) => s + v.stats.running, 0),
    waiting: views.reduce((s, v) => s + v.stats.waiting, 0),
    loaded: views,
    latency: metrics.window.figures(),
  };
}
