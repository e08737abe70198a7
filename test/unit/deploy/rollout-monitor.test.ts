import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RolloutMonitor } from '../../../src/deploy/rollout-monitor.js';
import { DEFAULT_POLICY, type DeploymentRecord } from '../../../src/registry/records.js';
import type { Registry } from '../../../src/registry/registry.js';

/** Just what the monitor reads of the registry: one deployment and its versions' names. */
function fakeRegistry(mode: 'shadow' | 'canary' | null): Registry {
  const deployment = {
    name: 'chat',
    model: 'chat',
    stable: '1',
    stableVersionId: 1,
    candidate: mode === null ? null : { versionId: 2, version: '2', weight: 100, mode },
    // Judging needs many requests: these tests only count.
    policy: { ...DEFAULT_POLICY, minRequests: 1000 },
  } as unknown as DeploymentRecord;
  return {
    deployments: { find: (name: string) => (name === 'chat' ? deployment : null) },
    versions: { byId: (id: number) => ({ id, version: String(id) }) },
  } as unknown as Registry;
}

const actions = { busy: () => false, rollback: () => undefined, promote: () => undefined };

describe('rollout monitor: the shadow live view', () => {
  it('counts mirrored, failed, compared and skipped requests, and the mean agreement', () => {
    const m = new RolloutMonitor(fakeRegistry('shadow'), actions, pino({ level: 'silent' }));
    expect(m.shadowLive('chat')).toMatchObject({
      version: '2',
      mirrored: 0,
      agreement: null,
      skipped: 0,
      ttftP95: null,
    });
    m.recordShadow('chat', 2, { ok: true, ttftMs: 10, agreement: 1 });
    m.recordShadow('chat', 2, { ok: true, ttftMs: 30, agreement: 0.5 });
    m.recordShadow('chat', 2, { ok: true, ttftMs: 20, agreement: null });
    m.recordShadow('chat', 2, { ok: false, error: 'boom', agreement: null });
    m.recordShadowSkipped('chat', 2);
    m.recordShadowSkipped('chat', 2);
    // Another version's results (a candidate since replaced) do not count.
    m.recordShadow('chat', 7, { ok: true, ttftMs: 5, agreement: 0 });
    m.recordShadowSkipped('chat', 7);
    const live = m.shadowLive('chat')!;
    expect(live).toMatchObject({ mirrored: 4, errors: 1, compared: 2, skipped: 2 });
    expect(live.agreement).toBeCloseTo(0.75);
    expect(live.ttftP95).toBe(30);
  });

  it('has no live view for a canary or a deployment without a candidate', () => {
    for (const mode of ['canary', null] as const) {
      const m = new RolloutMonitor(fakeRegistry(mode), actions, pino({ level: 'silent' }));
      expect(m.shadowLive('chat')).toBeNull();
    }
    const m = new RolloutMonitor(fakeRegistry('shadow'), actions, pino({ level: 'silent' }));
    expect(m.shadowLive('unknown')).toBeNull();
  });
});
