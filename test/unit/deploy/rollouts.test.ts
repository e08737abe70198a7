/**
 * The rollout controller and the registry runtime on a real registry (temp ORCHARD_HOME), the
 * real engine and the shipped models: rollback after a dropped canary, deployment names,
 * deleting a version while a deploy of it is under way, and /tokenize leases that must not
 * count toward a canary.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngine } from '../../../src/engine/engine-host.js';
import { RegistryRuntime } from '../../../src/deploy/registry-runtime.js';
import { deploymentsRoutes } from '../../../src/server/admin/deployments-routes.js';
import { registerErrorHandling } from '../../../src/server/error-handler.js';
import { tokenizeRoutes } from '../../../src/server/routes/tokenize-routes.js';
import type { ServerDeps } from '../../../src/server/server-deps.js';
import { defaultSettings } from '../../../src/shared/settings.js';
import { ConflictError, InvalidRequestError } from '../../../src/shared/errors.js';
import { SHIPPED_DIR, rmrf, tempDir } from '../registry/helpers.js';

const logger = pino({ level: 'silent' });
let runtimes: RegistryRuntime[] = [];
let apps: FastifyInstance[] = [];
let dirs: string[] = [];

afterEach(async () => {
  for (const a of apps) await a.close();
  apps = [];
  for (const r of runtimes) await r.close();
  runtimes = [];
  await rmrf(...dirs);
  dirs = [];
});

async function openRuntime(): Promise<RegistryRuntime> {
  const home = await tempDir('orchard-rollouts-');
  dirs.push(home);
  const settings = { ...defaultSettings(), home, threads: 1, kvCacheMb: 16, logLevel: 'silent' };
  const runtime = await RegistryRuntime.open({
    settings,
    logger,
    load: loadEngine,
    shippedModelsDir: SHIPPED_DIR,
  });
  runtimes.push(runtime);
  return runtime;
}

async function appFor(runtime: RegistryRuntime): Promise<FastifyInstance> {
  const app = Fastify();
  apps.push(app);
  registerErrorHandling(app, logger);
  await deploymentsRoutes(app, runtime);
  await tokenizeRoutes(app, { provider: runtime.provider, logger } as unknown as ServerDeps);
  await app.ready();
  return app;
}

describe('rollouts', () => {
  it('a second rollback after dropping a canary never deploys the rejected canary', async () => {
    const rt = await openRuntime();
    await rt.rollouts.startCandidate('orchard-chat', '2', 10, 'canary');
    const first = await rt.rollouts.rollback('orchard-chat', { reason: 'bad canary' });
    expect(first).toMatchObject({ stable: '1', candidate: null });
    await expect(rt.rollouts.rollback('orchard-chat')).rejects.toThrow(
      /no candidate and no earlier version/,
    );
    const d = rt.registry.deployments.get('orchard-chat');
    expect(d.stable).toBe('1');
    expect(d.candidate).toBeNull();
    expect(rt.registry.deployments.events('orchard-chat').map((e) => e.kind)).toEqual([
      'created',
      'canary',
      'rollback',
    ]);
  });

  it('a blue-green rollback still goes back to the version before the last switch', async () => {
    const rt = await openRuntime();
    await rt.rollouts.deploy('orchard-chat', '2');
    await rt.rollouts.startCandidate('orchard-chat', '1', 10, 'canary');
    await rt.rollouts.rollback('orchard-chat'); // drops canary 1
    // No candidate: back to the stable before the deploy of 2, not to the dropped canary.
    expect(await rt.rollouts.rollback('orchard-chat')).toMatchObject({ stable: '1' });
    // And the blue-green rollback is itself a switch: rolling back again returns to 2.
    expect(await rt.rollouts.rollback('orchard-chat')).toMatchObject({ stable: '2' });
  });

  it('refuses deployment names that cannot be addressed as a model', async () => {
    const rt = await openRuntime();
    const app = await appFor(rt);
    for (const name of ['chat@prod', '-chat', 'a/b', 'with space']) {
      expect(() => rt.rollouts.create(name, 'orchard-chat', '1')).toThrow(InvalidRequestError);
      const res = await app.inject({
        method: 'POST',
        url: '/api/deployments',
        payload: { name, model: 'orchard-chat', version: '1' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        error: { param: 'name', message: expect.stringMatching(/not a valid deployment name/) },
      });
      expect(rt.registry.deployments.find(name)).toBeNull();
    }
    const ok = await app.inject({
      method: 'POST',
      url: '/api/deployments',
      payload: { name: 'chat-prod.v1_x', model: 'orchard-chat', version: '1' },
    });
    expect(ok.statusCode).toBe(201);
  });
});

describe('deleting versions', () => {
  it('deployments refuse a version that is not ready', async () => {
    const rt = await openRuntime();
    const v2 = rt.registry.versions.get('orchard-chat', '2');
    rt.registry.versions.markDeleted(v2.id);
    const ev = { kind: 'deploy', fromVersion: '1', toVersion: '2', detail: '' } as const;
    expect(() =>
      rt.registry.deployments.update('orchard-chat', { stableVersionId: v2.id }, ev),
    ).toThrow(/orchard-chat@2 is deleted, not ready/);
    expect(() =>
      rt.registry.deployments.update(
        'orchard-chat',
        { candidate: { versionId: v2.id, weight: 5, mode: 'canary' } },
        { ...ev, kind: 'canary' },
      ),
    ).toThrow(ConflictError);
    expect(() =>
      rt.registry.deployments.create(
        { name: 'other', modelId: v2.modelId, stableVersionId: v2.id },
        { kind: 'created', fromVersion: null, toVersion: '2', detail: '' },
      ),
    ).toThrow(ConflictError);
    expect(rt.registry.deployments.get('orchard-chat')).toMatchObject({
      stable: '1',
      candidate: null,
    });
    expect(rt.registry.deployments.find('other')).toBeNull();
    expect(rt.registry.deployments.events('orchard-chat')).toHaveLength(1);
  });

  it('a delete racing a deploy of the same version checks again after the unload', async () => {
    const rt = await openRuntime();
    let deleting: Promise<void> | null = null;
    const deployed = rt.rollouts.deploy('orchard-chat', '2', (message) => {
      // The deploy holds the engine while it warms up; the delete waits for its unload.
      if (message.startsWith('warming up') && !deleting)
        deleting = rt.deleteVersion('orchard-chat', '2');
    });
    expect(await deployed).toMatchObject({ stable: '2' });
    expect(deleting).not.toBeNull();
    await expect(deleting).rejects.toThrow(/in use by deployment\(s\) orchard-chat/);
    const v2 = rt.registry.versions.find('orchard-chat', '2');
    expect(v2?.state).toBe('ready');
  });
});

describe('tokenize leases', () => {
  it('do not count toward a canary or the metrics history', async () => {
    const rt = await openRuntime();
    const app = await appFor(rt);
    await rt.rollouts.startCandidate('orchard-chat', '2', 100, 'canary');
    const v2 = rt.registry.versions.get('orchard-chat', '2');
    for (let i = 0; i < 5; i++) {
      const ok = await app.inject({
        method: 'POST',
        url: '/tokenize',
        payload: { model: 'orchard-chat', prompt: 'hello there' },
      });
      expect(ok.statusCode).toBe(200);
      const bad = await app.inject({
        method: 'POST',
        url: '/detokenize',
        payload: { model: 'orchard-chat', tokens: [10_000_000] },
      });
      expect(bad.statusCode).toBe(400);
    }
    const window = rt.rollouts.monitor.window('orchard-chat')!;
    expect(window.candidateVersionId).toBe(v2.id);
    expect(window.candidate.requests).toBe(0);
    expect(window.stable.requests).toBe(0);
    expect(rt.metrics.pending().filter((p) => p.values.requests > 0)).toEqual([]);
    expect(rt.registry.deployments.get('orchard-chat').candidate).toMatchObject({ version: '2' });

    // A generation lease on the same path does count (the window above could have seen them).
    const lease = await rt.provider.acquire('orchard-chat', {});
    lease.done({ ok: true, e2eMs: 5, promptTokens: 1, completionTokens: 1 });
    expect(window.candidate.requests).toBe(1);
    expect(rt.metrics.pending().find((p) => p.versionId === v2.id)?.values.requests).toBe(1);
  });
});
