import { describe, expect, it } from 'vitest';
import {
  LatencyWindow,
  TokenRate,
  percentile,
} from '../../../../src/server/metrics/latency-window.js';
import { ServingMetrics, splitServedName } from '../../../../src/server/metrics/serving-metrics.js';

describe('latency window', () => {
  it('computes percentiles over the last minute only (fake clock)', () => {
    let now = 0;
    const w = new LatencyWindow(60_000, () => now);
    for (let i = 1; i <= 100; i++) w.add('m@1', { ok: i !== 50, ttftMs: i, tpotMs: i / 10 });
    let f = w.figures()['m@1'];
    expect(f.ttftP50).toBe(50);
    expect(f.ttftP95).toBe(95);
    expect(f.tpotP95).toBeCloseTo(9.5);
    expect(f.requests).toBe(100);
    expect(f.errors).toBe(1);
    now = 61_000;
    w.add('m@1', { ok: true, ttftMs: 7 });
    f = w.figures()['m@1'];
    expect(f.requests).toBe(1);
    expect(f.ttftP50).toBe(7);
    now = 200_000;
    expect(w.figures()['m@1']).toBeUndefined();
  });

  it('percentile of nothing is 0', () => {
    expect(percentile([], 50)).toBe(0);
  });

  it('token rate counts the last span', () => {
    let now = 0;
    const r = new TokenRate(5000, () => now);
    r.add(50);
    now = 1000;
    r.add(50);
    expect(r.perSecond()).toBe(20);
    now = 5500;
    expect(r.perSecond()).toBe(10);
  });
});

describe('serving metrics', () => {
  it('exposes vLLM-named series labelled by model and version', async () => {
    const m = new ServingMetrics(() => []);
    const rec = m.startRequest('chat@2', 0);
    rec.onTokens(1, 1, 100);
    rec.onTokens(1, 1, 150);
    rec.onTokens(1, 1, 200);
    const t = rec.finish(
      {
        ok: true,
        promptTokens: 10,
        completionTokens: 3,
        cachedPromptTokens: 4,
        finishReasons: ['length'],
        queueMs: 5,
      },
      250,
    );
    expect(t).toEqual({ ttftMs: 100, e2eMs: 250 });
    // A second finish records nothing more.
    rec.finish(
      {
        ok: true,
        promptTokens: 10,
        completionTokens: 3,
        cachedPromptTokens: 4,
        finishReasons: ['length'],
      },
      300,
    );
    const { body } = await m.text();
    expect(body).toContain('orchard:prompt_tokens_total{model="chat",version="2"} 10');
    expect(body).toContain('orchard:generation_tokens_total{model="chat",version="2"} 3');
    expect(body).toContain('orchard:prefix_cache_hits_total{model="chat",version="2"} 4');
    expect(body).toContain(
      'orchard:request_success_total{model="chat",version="2",finished_reason="length"} 1',
    );
    expect(body).toContain('orchard:time_to_first_token_seconds_count{model="chat",version="2"} 1');
    expect(body).toContain('orchard:inter_token_latency_seconds_count{model="chat",version="2"} 2');
    expect(body).toContain('orchard:e2e_request_latency_seconds_count{model="chat",version="2"} 1');
    expect(body).toContain('orchard:request_queue_time_seconds_count{model="chat",version="2"} 1');
    for (const g of ['num_requests_running', 'num_requests_waiting', 'kv_cache_usage_perc']) {
      expect(body).toContain(`# TYPE orchard:${g} gauge`);
    }
    const f = m.window.figures()['chat@2'];
    expect(f.ttftP50).toBe(100);
    expect(f.tpotP50).toBe(50);
  });

  it('splits served names', () => {
    expect(splitServedName('orchard-chat@1')).toEqual({ model: 'orchard-chat', version: '1' });
    expect(splitServedName('plain')).toEqual({ model: 'plain', version: '' });
  });
});
