import { describe, expect, it } from 'vitest';
import { bucketOf, parseModelRef, route, type RouteTable } from '../../../src/deploy/router.js';

/** A seeded generator (mulberry32) so counts are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const canary = (weight: number): RouteTable => ({
  name: 'orchard-chat',
  model: 'orchard-chat',
  stable: '1',
  candidate: { version: '2', weight, mode: 'canary' },
});

describe('router', () => {
  it('sends 10% ± 3% of 2,000 requests to a canary at weight 10', () => {
    const random = seeded(42);
    let hits = 0;
    for (let i = 0; i < 2000; i++) if (route(canary(10), {}, random).version === '2') hits++;
    const share = hits / 2000;
    console.log(`canary share at weight 10: ${(share * 100).toFixed(2)}% (${hits}/2000)`);
    expect(share).toBeGreaterThanOrEqual(0.07);
    expect(share).toBeLessThanOrEqual(0.13);
  });

  it('splits 2,000 distinct users by weight too (sticky hashing is uniform)', () => {
    let hits = 0;
    for (let i = 0; i < 2000; i++)
      if (route(canary(10), { user: `user-${i}` }, () => 0).version === '2') hits++;
    expect(hits / 2000).toBeGreaterThanOrEqual(0.07);
    expect(hits / 2000).toBeLessThanOrEqual(0.13);
  });

  it('keeps a user on one side of the canary whatever the random source says', () => {
    const table = canary(50);
    for (let u = 0; u < 50; u++) {
      const first = route(table, { user: `u${u}` }, () => 0).version;
      for (const r of [0, 0.3, 0.6, 0.99])
        expect(route(table, { user: `u${u}` }, () => r).version).toBe(first);
    }
  });

  it('grows the canary monotonically: a user on the candidate at 10% stays there at 50%', () => {
    for (let u = 0; u < 500; u++) {
      if (route(canary(10), { user: `m${u}` }).version === '2')
        expect(route(canary(50), { user: `m${u}` }).version).toBe('2');
    }
  });

  it('uses the random draw against the weight', () => {
    expect(route(canary(10), {}, () => 0.099).role).toBe('candidate');
    expect(route(canary(10), {}, () => 0.1).role).toBe('stable');
    expect(route(canary(100), {}, () => 0.999).version).toBe('2');
    expect(route(canary(0), {}, () => 0).version).toBe('1');
    expect(route({ ...canary(10), candidate: null }, {}, () => 0)).toEqual({
      version: '1',
      role: 'stable',
      mirrorTo: null,
    });
  });

  it('answers shadow traffic from stable and mirrors the weight share', () => {
    const table: RouteTable = {
      ...canary(25),
      candidate: { version: '2', weight: 25, mode: 'shadow' },
    };
    const random = seeded(7);
    let mirrored = 0;
    for (let i = 0; i < 2000; i++) {
      const c = route(table, {}, random);
      expect(c.version).toBe('1');
      if (c.mirrorTo === '2') mirrored++;
    }
    expect(mirrored / 2000).toBeGreaterThan(0.21);
    expect(mirrored / 2000).toBeLessThan(0.29);
  });

  it('hashes to buckets in range, deterministically', () => {
    expect(bucketOf('a')).toBe(bucketOf('a'));
    for (let i = 0; i < 100; i++) {
      const b = bucketOf(`k${i}`);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(10000);
    }
  });

  it('parses model references', () => {
    expect(parseModelRef('orchard-chat')).toEqual({ name: 'orchard-chat', version: null });
    expect(parseModelRef('orchard-chat@2')).toEqual({ name: 'orchard-chat', version: '2' });
    expect(parseModelRef('@2')).toEqual({ name: '@2', version: null });
    expect(parseModelRef('x@')).toEqual({ name: 'x@', version: null });
  });
});
