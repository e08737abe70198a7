/**
 * Crash safety: a child process killed with SIGKILL in the middle of an import, a pull or a
 * deploy leaves a registry with no half-registered version (checked by opening registry.db
 * directly), the next open cleans up what the child left, and a killed pull resumes.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigFromEnv } from '../../src/registry/hub/hub-api.js';
import { pullModel } from '../../src/registry/hub/pull.js';
import { Registry } from '../../src/registry/registry.js';
import { ensureShippedModels } from '../../src/registry/shipped-models.js';
import { FakeHub } from '../support/fake-hub.js';
import { ROOT, SHIPPED_DIR, tempHome } from './rollout-helpers.js';

const CHILD = path.join(ROOT, 'test/integration/registry-crash-child.ts');
const CHAT_2 = path.join(SHIPPED_DIR, 'orchard-chat-2');
const dirs: string[] = [];
let hub: FakeHub;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo('orchard/chat', CHAT_2);
});
afterAll(async () => {
  await hub.close();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function home(): Promise<string> {
  const h = await tempHome('orchard-crash-');
  dirs.push(h);
  return h;
}

/** Runs the child; resolves with how it ended (the signal when it was killed). */
function runChild(
  args: string[],
): Promise<{ signal: NodeJS.Signals | null; code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

interface Row {
  id: number;
  model: string;
  version: string;
  state: string;
  storage: string;
  path: string;
  digest: string;
}

/** Opens registry.db as it was left and checks every version is whole: row, files, sizes. */
async function checkWhole(h: string): Promise<Row[]> {
  const db = new Database(path.join(h, 'registry.db'), { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const rows = db
      .prepare(
        'SELECT v.id, m.name AS model, v.version, v.state, v.storage, v.path, v.digest FROM versions v JOIN models m ON m.id = v.model_id',
      )
      .all() as Row[];
    for (const r of rows) {
      expect(r.state, `${r.model}@${r.version}`).toBe('ready');
      const dir = r.storage === 'store' ? path.join(h, r.path) : path.join(SHIPPED_DIR, r.path);
      const files = db
        .prepare('SELECT path, size_bytes FROM version_files WHERE version_id = ?')
        .all(r.id) as Array<{ path: string; size_bytes: number }>;
      expect(files.length).toBeGreaterThan(0);
      for (const f of files)
        expect(
          (await fs.stat(path.join(dir, f.path))).size,
          `${r.model}@${r.version} ${f.path}`,
        ).toBe(f.size_bytes);
    }
    return rows;
  } finally {
    db.close();
  }
}

async function reopenClean(h: string): Promise<Registry> {
  const reg = await Registry.open({ home: h, shippedModelsDir: SHIPPED_DIR });
  expect(await fs.readdir(reg.paths.tmp)).toEqual([]);
  const live = reg.versions.liveStoreDigests();
  expect((await fs.readdir(reg.paths.models)).sort()).toEqual([...live].sort());
  return reg;
}

describe('crash safety', () => {
  for (const stage of ['copy-mid', 'sync', 'rename', 'register']) {
    it(`an import killed at ${stage} leaves no version behind`, async () => {
      const h = await home();
      (await Registry.open({ home: h, shippedModelsDir: SHIPPED_DIR })).close();
      const run = await runChild(['import', h, CHAT_2, stage]);
      expect(run.signal, run.output).toBe('SIGKILL');
      expect(await checkWhole(h)).toEqual([]);
      const leftovers = [
        ...(await fs.readdir(path.join(h, 'tmp'))),
        ...(await fs.readdir(path.join(h, 'models'))),
      ];
      expect(leftovers.length, 'the kill left something to clean').toBeGreaterThan(0);
      const reg = await reopenClean(h);
      expect(reg.versions.list()).toEqual([]);
      reg.close();
    });
  }

  it('an import killed right after its commit leaves a whole version', async () => {
    const h = await home();
    const run = await runChild(['import', h, CHAT_2, 'done']);
    expect(run.signal, run.output).toBe('SIGKILL');
    const rows = await checkWhole(h);
    expect(rows.map((r) => `${r.model}@${r.version}`)).toEqual(['crash@1']);
    (await reopenClean(h)).close();
  });

  it('a pull killed mid-download registers nothing and resumes when run again', async () => {
    const h = await home();
    const size = (await fs.stat(path.join(CHAT_2, 'onnx/model.onnx'))).size;
    hub.resetCounters();
    const run = await runChild(['pull', h, hub.url, String(Math.floor(size / 2))]);
    expect(run.signal, run.output).toBe('SIGKILL');
    expect(await checkWhole(h)).toEqual([]);
    const firstRun = hub.bytesByFile.get('onnx/model.onnx') ?? 0;
    expect(firstRun).toBeGreaterThan(0);
    expect(firstRun).toBeLessThan(size);

    hub.resetCounters();
    const reg = await reopenClean(h);
    const v = await pullModel(reg, hubConfigFromEnv({ HF_ENDPOINT: hub.url }), {
      repo: 'orchard/chat',
      name: 'pulled',
    });
    const secondRun = hub.bytesByFile.get('onnx/model.onnx') ?? 0;
    console.log(
      `pull resume after SIGKILL: first run served ${firstRun} B, second run ${secondRun} B of ${size} B`,
    );
    expect(secondRun).toBeLessThan(size);
    expect(firstRun + secondRun).toBeGreaterThanOrEqual(size);
    expect(hub.requests.some((r) => r.range !== null && r.range.startsWith('bytes='))).toBe(true);
    expect(v).toMatchObject({ model: 'pulled', version: '1', state: 'ready' });
    reg.close();
    expect((await checkWhole(h)).map((r) => r.model)).toEqual(['pulled']);
  });

  for (const [point, stable] of [
    ['warming', '1'],
    ['switched', '2'],
  ] as const) {
    it(`a deploy killed while ${point} leaves the deployment on one whole version (${stable})`, async () => {
      const h = await home();
      const reg = await Registry.open({ home: h, shippedModelsDir: SHIPPED_DIR });
      await ensureShippedModels(reg);
      reg.close();
      const run = await runChild(['deploy', h, point]);
      expect(run.signal, run.output).toBe('SIGKILL');
      await checkWhole(h);
      const again = await reopenClean(h);
      const d = again.deployments.get('orchard-chat');
      expect(d.stable).toBe(stable);
      expect(d.candidate).toBeNull();
      const deploys = again.deployments.events('orchard-chat').filter((e) => e.kind === 'deploy');
      expect(deploys.length).toBe(stable === '2' ? 1 : 0);
      again.close();
    });
  }
});
