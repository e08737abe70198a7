import { describe, expect, it } from 'vitest';
import type { EngineStats } from '../../../src/engine/types.js';
import type { LiveSnapshot } from '../../../src/shared/admin-api.js';
import {
  currentValue,
  historyColumns,
  liveColumns,
  liveValue,
} from '../../../renderer/src/features/metrics/series.js';

/** The fields the series read; the rest of EngineStats does not matter here. */
function stats(generationTokens: number, usage = 0.25): EngineStats {
  return {
    running: 1,
    waiting: 2,
    kv: {
      blockSize: 16,
      totalBlocks: 100,
      usedBlocks: 25,
      usage,
      bytesPerToken: 1024,
      capacityTokens: 1600,
    },
    prefixCache: { queriedTokens: 10, hitTokens: 5, hitRate: 0.5 },
    counters: {
      promptTokens: 0,
      generationTokens,
      steps: 0,
      preemptions: 0,
      finished: { stop: 0, length: 0, abort: 0 } as EngineStats['counters']['finished'],
    },
  } as EngineStats;
}

function snap(at: number, tokens: number | null, requests = 3): LiveSnapshot {
  return {
    at,
    tokensPerSecond: 0,
    running: 0,
    waiting: 0,
    loaded:
      tokens === null
        ? []
        : [
            {
              model: 'm',
              version: '1',
              servedName: 'm@1',
              memoryBytes: 1,
              device: 'cpu',
              replicas: 1,
              stats: stats(tokens),
            },
          ],
    latency: { 'm@1': { ttftP50: 10, ttftP95: 20, tpotP50: 3, tpotP95: 4, requests, errors: 0 } },
  };
}

describe('live metric series', () => {
  it('derives per-version throughput from generated-token counters', () => {
    const h = [snap(1000, 100), snap(2000, 150), snap(4000, 250)];
    expect(liveValue(h, 0, 'm@1', 'throughput')).toBeNull();
    expect(liveValue(h, 1, 'm@1', 'throughput')).toBe(50);
    expect(liveValue(h, 2, 'm@1', 'throughput')).toBe(50);
    expect(currentValue(h, 'm@1', 'throughput')).toBe(50);
  });

  it('leaves gaps where the version is not loaded or counters restarted', () => {
    const h = [snap(1000, 500), snap(2000, null), snap(3000, 10), snap(4000, 30)];
    expect(liveColumns(h, [{ servedName: 'm@1', metric: 'throughput' }])).toEqual([
      [1, 2, 3, 4],
      [null, null, null, 20],
    ]);
    expect(liveValue(h, 3, 'm@1', 'kvUsage')).toBe(0.25);
    expect(liveValue(h, 1, 'm@1', 'waiting')).toBeNull();
  });

  it('shows latency only for versions that served requests in the window', () => {
    expect(liveValue([snap(1000, 1, 0)], 0, 'm@1', 'ttftP95')).toBeNull();
    expect(liveValue([snap(1000, 1, 2)], 0, 'm@1', 'ttftP95')).toBe(20);
  });
});

describe('history columns', () => {
  it('puts several versions on one minute axis with gaps', () => {
    const bucket = (minute: string, requests: number) => ({
      minute,
      model: 'm',
      version: '1',
      requests,
      errors: 0,
      promptTokens: 0,
      completionTokens: requests * 10,
      ttftP50: 5,
      ttftP95: 9,
      e2eP50: 50,
      e2eP95: 90,
    });
    const data = historyColumns(
      [
        {
          served: 'm@1',
          buckets: [bucket('2026-01-01T00:00:00Z', 2), bucket('2026-01-01T00:02:00Z', 0)],
        },
        { served: 'm@2', buckets: [bucket('2026-01-01T00:01:00Z', 4)] },
      ],
      [
        { served: 'm@1', metric: 'requests' },
        { served: 'm@2', metric: 'requests' },
        { served: 'm@1', metric: 'ttftP95' },
      ],
    );
    const t0 = Date.parse('2026-01-01T00:00:00Z') / 1000;
    expect(data).toEqual([
      [t0, t0 + 60, t0 + 120],
      [2, null, 0],
      [null, 4, null],
      [9, null, null],
    ]);
  });

  it("never shows one version's buckets under another version's name", () => {
    // The comparison switched from x@1 to y@1 while the history of x@1 was still on screen.
    const stale = [
      {
        served: 'x@1',
        buckets: [
          {
            minute: '2026-01-01T00:00:00Z',
            model: 'x',
            version: '1',
            requests: 7,
            errors: 0,
            promptTokens: 0,
            completionTokens: 70,
            ttftP50: 5,
            ttftP95: 9,
            e2eP50: 50,
            e2eP95: 90,
          },
        ],
      },
    ];
    expect(historyColumns(stale, [{ served: 'y@1', metric: 'requests' }])).toEqual([[], []]);
    expect(historyColumns(stale, [{ served: 'x@1', metric: 'requests' }])).toEqual([
      [Date.parse('2026-01-01T00:00:00Z') / 1000],
      [7],
    ]);
  });
});
