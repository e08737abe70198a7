import { afterEach, describe, expect, it } from 'vitest';
import {
  HOUR_MS,
  MINUTE_MS,
  MINUTE_RETENTION_MS,
  emptyBucket,
  mergeBuckets,
} from '../../../src/registry/metrics-repo.js';
import { Registry } from '../../../src/registry/registry.js';
import { ensureShippedModels } from '../../../src/registry/shipped-models.js';
import { SHIPPED_DIR, rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
let registries: Registry[] = [];
afterEach(async () => {
  for (const r of registries) r.close();
  registries = [];
  await rmrf(...dirs);
  dirs = [];
});

async function setup(): Promise<{ reg: Registry; versionId: number }> {
  const home = await tempDir();
  dirs.push(home);
  const reg = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  registries.push(reg);
  await ensureShippedModels(reg, [{ model: 'chat', version: '1', folder: 'orchard-chat-1' }], []);
  return { reg, versionId: reg.versions.get('chat', '1').id };
}

const bucket = (requests: number, ttft: number) => ({
  ...emptyBucket(),
  requests,
  errors: 1,
  promptTokens: requests * 10,
  completionTokens: requests * 20,
  ttftP50: ttft,
  ttftP95: ttft * 2,
  e2eP50: ttft * 5,
  e2eP95: ttft * 10,
});

describe('metrics history', () => {
  it('merges buckets with request-weighted percentiles', () => {
    const m = mergeBuckets(bucket(1, 10), bucket(3, 30));
    expect(m.requests).toBe(4);
    expect(m.errors).toBe(2);
    expect(m.ttftP50).toBe(25);
    expect(mergeBuckets(emptyBucket(), emptyBucket()).ttftP50).toBe(0);
  });

  it('stores minute buckets and merges a second write to the same minute', async () => {
    const { reg, versionId } = await setup();
    const t = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE_MS);
    reg.metrics.addMany([{ versionId, startMs: t, values: bucket(2, 10) }]);
    reg.metrics.addMany([{ versionId, startMs: t, values: bucket(2, 20) }]);
    reg.metrics.addMany([{ versionId, startMs: t + MINUTE_MS, values: bucket(1, 5) }]);
    const rows = reg.metrics.query({ model: 'chat', sinceMs: t });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      minute: new Date(t).toISOString(),
      model: 'chat',
      version: '1',
      requests: 4,
      ttftP50: 15,
    });
    expect(reg.metrics.query({ model: 'other', sinceMs: t })).toEqual([]);
    expect(reg.metrics.query({ model: 'chat', version: '1', sinceMs: t + MINUTE_MS })).toHaveLength(
      1,
    );
  });

  it('folds minutes older than 7 days into hours and keeps recent minutes', async () => {
    const { reg, versionId } = await setup();
    const now = Date.UTC(2025, 0, 20, 12, 0, 0);
    const oldHour = now - MINUTE_RETENTION_MS - 3 * HOUR_MS;
    const entries = [];
    for (let i = 0; i < 60; i++)
      entries.push({ versionId, startMs: oldHour + i * MINUTE_MS, values: bucket(1, 10 + i) });
    entries.push({ versionId, startMs: now - 5 * MINUTE_MS, values: bucket(7, 3) });
    reg.metrics.addMany(entries);
    const result = reg.metrics.compact(now);
    expect(result.foldedMinutes).toBe(60);
    const rows = reg.metrics.query({ sinceMs: 0 });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      resolution: 'hour',
      requests: 60,
      errors: 60,
      minute: new Date(oldHour).toISOString(),
    });
    expect(rows[0].ttftP50).toBeCloseTo(39.5);
    expect(rows[1]).toMatchObject({ resolution: 'minute', requests: 7 });
    // Compaction is idempotent.
    expect(reg.metrics.compact(now).foldedMinutes).toBe(0);
  });
});
