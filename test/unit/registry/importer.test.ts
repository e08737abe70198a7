import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { importFolder, type ImportStage } from '../../../src/registry/importer.js';
import { Registry } from '../../../src/registry/registry.js';
import { sha256File } from '../../../src/registry/file-ops.js';
import { ConflictError, InvalidRequestError } from '../../../src/shared/errors.js';
import { CHAT_1, SHIPPED_DIR, copyModel, listDir, rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
let registries: Registry[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const r of registries) r.close();
  registries = [];
  await rmrf(...dirs);
  dirs = [];
});

async function openTemp(): Promise<Registry> {
  const home = await tempDir();
  dirs.push(home);
  const r = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  registries.push(r);
  return r;
}

describe('import', () => {
  it('copies a model into the content-addressed store and registers it in one go', async () => {
    const reg = await openTemp();
    const stages: ImportStage[] = [];
    const v = await importFolder(reg, {
      path: CHAT_1,
      name: 'chat',
      onProgress: (p) => stages.push(p.stage),
    });
    expect(v).toMatchObject({
      model: 'chat',
      version: '1',
      state: 'ready',
      storage: 'store',
      path: `models/${v.digest}`,
    });
    expect(v.source).toBe(`import:${CHAT_1}`);
    expect(stages[0]).toBe('validate');
    expect(stages.at(-1)).toBe('done');
    expect(new Set(stages)).toEqual(
      new Set(['validate', 'copy', 'sync', 'rename', 'register', 'done']),
    );
    const dir = reg.versionDir(v);
    expect(await sha256File(path.join(dir, 'onnx/model.onnx'))).toBe(
      await sha256File(path.join(CHAT_1, 'onnx/model.onnx')),
    );
    const files = reg.versions.files(v.id);
    expect(files.map((f) => f.path)).toContain('onnx/model.onnx');
    expect(await listDir(reg.paths.tmp)).toEqual([]);
    // Default names: next integer version; same content shares one store folder.
    const v2 = await importFolder(reg, { path: CHAT_1, name: 'chat' });
    expect(v2.version).toBe('2');
    expect(v2.digest).toBe(v.digest);
    expect(await listDir(reg.paths.models)).toEqual([v.digest]);
  });

  it('names the model after the folder by default and refuses duplicate versions', async () => {
    const reg = await openTemp();
    const v = await importFolder(reg, { path: CHAT_1, version: 'a1' });
    expect(v.model).toBe('orchard-chat-1');
    await expect(importFolder(reg, { path: CHAT_1, version: 'a1' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(importFolder(reg, { path: CHAT_1, name: 'bad name' })).rejects.toThrow(
      /not a valid model name/,
    );
    await expect(importFolder(reg, { path: CHAT_1, name: 'x', version: '../1' })).rejects.toThrow(
      /not a valid version/,
    );
  });

  it('leaves the registry and store untouched when the folder is not a model', async () => {
    const reg = await openTemp();
    const bad = await copyModel();
    dirs.push(path.dirname(bad));
    await fs.rm(path.join(bad, 'tokenizer.json'));
    const err = await importFolder(reg, { path: bad, name: 'bad' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(reg.versions.list()).toEqual([]);
    expect(reg.versions.listModelNames()).toEqual([]);
    expect(await listDir(reg.paths.models)).toEqual([]);
    expect(await listDir(reg.paths.tmp)).toEqual([]);
  });

  it('recovers at open: staging leftovers and unowned store folders are removed', async () => {
    const reg = await openTemp();
    const v = await importFolder(reg, { path: CHAT_1, name: 'chat' });
    await fs.mkdir(path.join(reg.paths.tmp, 'import-dead'), { recursive: true });
    await fs.writeFile(path.join(reg.paths.tmp, 'import-dead', 'x'), 'half');
    await fs.mkdir(path.join(reg.paths.models, 'f'.repeat(64)));
    reg.close();
    const again = await Registry.open({ home: reg.paths.home, shippedModelsDir: SHIPPED_DIR });
    registries.push(again);
    expect(await listDir(again.paths.tmp)).toEqual([]);
    expect(await listDir(again.paths.models)).toEqual([v.digest]);
    expect(again.versions.get('chat', '1').digest).toBe(v.digest);
  });

  it('moves files when told the folder is its own (finished downloads)', async () => {
    const reg = await openTemp();
    const src = await copyModel();
    dirs.push(path.dirname(src));
    const v = await importFolder(reg, { path: src, name: 'moved', move: true });
    expect(await listDir(path.join(src, 'onnx'))).toEqual([]);
    expect(await sha256File(path.join(reg.versionDir(v), 'onnx/model.onnx'))).toBe(
      await sha256File(path.join(CHAT_1, 'onnx/model.onnx')),
    );
  });

  it('puts the fresh copy in place before deleting a damaged stored copy (crash in the delete)', async () => {
    const reg = await openTemp();
    const v1 = await importFolder(reg, { path: CHAT_1, name: 'chat' });
    const stored = reg.versionDir(v1);
    const config = path.join(stored, 'config.json');
    const good = await sha256File(path.join(CHAT_1, 'config.json'));
    await fs.writeFile(config, 'damaged on disk');
    // The process dies while the damaged copy is being deleted: at that moment the store must
    // already hold the fresh copy.
    const realRm = fs.rm.bind(fs);
    let storeAtDelete: string | null = null;
    vi.spyOn(fs, 'rm').mockImplementation(async (p, opts) => {
      if (path.basename(String(p)).startsWith('damaged-')) {
        storeAtDelete = await sha256File(config).catch(() => 'missing');
        throw new Error('killed while deleting the damaged copy');
      }
      return realRm(p, opts);
    });
    await expect(importFolder(reg, { path: CHAT_1, name: 'chat' })).rejects.toThrow(/killed/);
    expect(storeAtDelete).toBe(good);
    vi.restoreAllMocks();
    // The next start wipes tmp/ (the damaged copy); the store keeps the good one.
    reg.close();
    const again = await Registry.open({ home: reg.paths.home, shippedModelsDir: SHIPPED_DIR });
    registries.push(again);
    expect(await listDir(again.paths.tmp)).toEqual([]);
    expect(await listDir(again.paths.models)).toEqual([v1.digest]);
    expect(await sha256File(path.join(again.versionDir(v1), 'config.json'))).toBe(good);
    expect(await sha256File(path.join(again.versionDir(v1), 'onnx/model.onnx'))).toBe(
      await sha256File(path.join(CHAT_1, 'onnx/model.onnx')),
    );
  });
});
