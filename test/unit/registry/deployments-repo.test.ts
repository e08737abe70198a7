import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../../../src/registry/registry.js';
import { ensureShippedModels } from '../../../src/registry/shipped-models.js';
import { ConflictError, NotFoundError } from '../../../src/shared/errors.js';
import { SHIPPED_DIR, rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
let registries: Registry[] = [];
afterEach(async () => {
  for (const r of registries) r.close();
  registries = [];
  await rmrf(...dirs);
  dirs = [];
});

/** A registry with chat@1 and chat@2 (both the shipped chat-1 files, by reference) and a deployment. */
async function setup(): Promise<Registry> {
  const home = await tempDir();
  dirs.push(home);
  const reg = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  registries.push(reg);
  await ensureShippedModels(
    reg,
    [
      { model: 'chat', version: '1', folder: 'orchard-chat-1' },
      { model: 'chat', version: '2', folder: 'orchard-chat-1' },
    ],
    [{ name: 'chat', model: 'chat', version: '1' }],
  );
  return reg;
}

describe('deployments and the rollout log', () => {
  it('creates a deployment with a created event', async () => {
    const reg = await setup();
    const d = reg.deployments.get('chat');
    expect(d).toMatchObject({
      name: 'chat',
      model: 'chat',
      stable: '1',
      candidate: null,
      speculative: 'default',
    });
    expect(d.policy.minRequests).toBeGreaterThan(0);
    expect(reg.deployments.events('chat').map((e) => e.kind)).toEqual(['created']);
    expect(() => reg.deployments.get('nope')).toThrow(NotFoundError);
    expect(() => reg.deployments.get('nope')).toThrow(/deployments: chat/);
  });

  it('changes state and appends its event atomically', async () => {
    const reg = await setup();
    const v2 = reg.versions.get('chat', '2');
    const { deployment, event } = reg.deployments.update(
      'chat',
      { candidate: { versionId: v2.id, weight: 10, mode: 'canary' } },
      { kind: 'canary', fromVersion: '1', toVersion: '2', detail: 'weight 10%' },
    );
    expect(deployment.candidate).toMatchObject({ version: '2', weight: 10, mode: 'canary' });
    expect(event).toMatchObject({ kind: 'canary', toVersion: '2', deployment: 'chat' });
    reg.deployments.update(
      'chat',
      { weight: 25 },
      { kind: 'weight', fromVersion: '1', toVersion: '2', detail: '25%' },
    );
    expect(reg.deployments.get('chat').candidate?.weight).toBe(25);
    reg.deployments.update(
      'chat',
      { stableVersionId: v2.id, candidate: null },
      { kind: 'promote', fromVersion: '1', toVersion: '2', detail: 'by hand' },
    );
    const after = reg.deployments.get('chat');
    expect(after.stable).toBe('2');
    expect(after.candidate).toBeNull();
    expect(reg.deployments.events('chat').map((e) => e.kind)).toEqual([
      'created',
      'canary',
      'weight',
      'promote',
    ]);
  });

  it('refuses a change decided on stale state, and writes no event for it', async () => {
    const reg = await setup();
    const v1 = reg.versions.get('chat', '1');
    const v2 = reg.versions.get('chat', '2');
    expect(() =>
      reg.deployments.update(
        'chat',
        { stableVersionId: v1.id },
        { kind: 'deploy', fromVersion: '2', toVersion: '1', detail: '' },
        {
          stableVersionId: v2.id,
        },
      ),
    ).toThrow(ConflictError);
    expect(reg.deployments.events('chat')).toHaveLength(1);
  });

  it('refuses a second deployment with the same name and a candidate equal to stable', async () => {
    const reg = await setup();
    const v1 = reg.versions.get('chat', '1');
    expect(() =>
      reg.deployments.create(
        { name: 'chat', modelId: v1.modelId, stableVersionId: v1.id },
        { kind: 'created', fromVersion: null, toVersion: '1', detail: '' },
      ),
    ).toThrow(ConflictError);
    expect(() =>
      reg.deployments.update(
        'chat',
        { candidate: { versionId: v1.id, weight: 5, mode: 'canary' } },
        { kind: 'canary', fromVersion: '1', toVersion: '1', detail: '' },
      ),
    ).toThrow(/CHECK constraint/);
    expect(reg.deployments.get('chat').candidate).toBeNull();
    expect(reg.deployments.events('chat')).toHaveLength(1);
  });
});
