import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../../../src/registry/registry.js';
import { ensureShippedModels } from '../../../src/registry/shipped-models.js';
import { CHAT_1, listDir, rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
let registries: Registry[] = [];
afterEach(async () => {
  for (const r of registries) r.close();
  registries = [];
  await rmrf(...dirs);
  dirs = [];
});

describe('shipped models', () => {
  it('registers by reference on first run, once, and re-records changed files', async () => {
    const home = await tempDir();
    const shipped = await tempDir('orchard-shipped-');
    dirs.push(home, shipped);
    await fs.cp(CHAT_1, path.join(shipped, 'chat-a'), { recursive: true });
    const models = [
      { model: 'chat', version: '1', folder: 'chat-a' },
      { model: 'chat', version: '2', folder: 'chat-b' },
    ];
    const deployments = [{ name: 'chat', model: 'chat', version: '1' }];
    const reg = await Registry.open({ home, shippedModelsDir: shipped });
    registries.push(reg);

    const first = await ensureShippedModels(reg, models, deployments);
    expect(first.registered).toEqual(['chat@1']);
    expect(first.missing).toEqual(['chat@2']);
    expect(first.events.map((e) => e.kind)).toEqual(['created']);
    const v1 = reg.versions.get('chat', '1');
    expect(v1).toMatchObject({ storage: 'shipped', path: 'chat-a', source: 'shipped:chat-a' });
    expect(reg.versionDir(v1)).toBe(path.join(shipped, 'chat-a'));
    expect(await listDir(reg.paths.models)).toEqual([]);
    expect(reg.deployments.get('chat').stable).toBe('1');

    const second = await ensureShippedModels(reg, models, deployments);
    expect(second).toMatchObject({ registered: [], refreshed: [], events: [] });

    // An app update replaced the files: the digest follows them.
    await fs.appendFile(path.join(shipped, 'chat-a', 'README.md'), 'new notes\n');
    const third = await ensureShippedModels(reg, models, deployments);
    expect(third.refreshed).toEqual(['chat@1']);
    expect(reg.versions.get('chat', '1').digest).not.toBe(v1.digest);
    expect(reg.versions.files(v1.id).map((f) => f.path)).toContain('README.md');
  });
});
