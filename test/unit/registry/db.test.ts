import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistryDb, schemaVersion } from '../../../src/registry/db.js';
import { MIGRATIONS } from '../../../src/registry/migrations.js';
import { rmrf, tempDir } from './helpers.js';

let dirs: string[] = [];
afterEach(async () => {
  await rmrf(...dirs);
  dirs = [];
});

async function dbFile(): Promise<string> {
  const d = await tempDir();
  dirs.push(d);
  return path.join(d, 'registry.db');
}

describe('registry database', () => {
  it('applies the numbered migrations once, in WAL mode with foreign keys on', async () => {
    const file = await dbFile();
    const db = openRegistryDb(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = (
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all() as Array<{ name: string }>
    ).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'models',
        'versions',
        'version_files',
        'deployments',
        'rollout_events',
        'metrics_buckets',
      ]),
    );
    db.close();
    const again = openRegistryDb(file);
    expect(schemaVersion(again)).toBe(MIGRATIONS.length);
    again.close();
  });

  it('runs a later migration on an existing database and refuses a newer schema', async () => {
    const file = await dbFile();
    openRegistryDb(file).close();
    const extra = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, name: 'test', sql: 'CREATE TABLE extra (x INTEGER);' },
    ];
    const db = openRegistryDb(file, extra);
    expect(schemaVersion(db)).toBe(extra.length);
    db.close();
    expect(() => openRegistryDb(file)).toThrow(/newer than this Orchard understands/);
  });

  it('rolls back a failing migration completely', async () => {
    const file = await dbFile();
    openRegistryDb(file).close();
    const bad = [
      ...MIGRATIONS,
      {
        version: MIGRATIONS.length + 1,
        name: 'bad',
        sql: 'CREATE TABLE half (x); SELECT nonsense FROM nowhere;',
      },
    ];
    expect(() => openRegistryDb(file, bad)).toThrow();
    const db = openRegistryDb(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual(
      { n: 0 },
    );
    db.close();
  });

  it('keeps the rollout event log append-only and enforces foreign keys', async () => {
    const db = openRegistryDb(await dbFile());
    db.prepare(
      "INSERT INTO rollout_events (deployment, at, kind, detail) VALUES ('d', 'now', 'created', 'x')",
    ).run();
    expect(() => db.prepare("UPDATE rollout_events SET detail = 'y'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM rollout_events').run()).toThrow(/append-only/);
    expect(() =>
      db
        .prepare(
          `INSERT INTO versions (model_id, version, state, source, storage, path, digest, size_bytes, weights_bytes,
             architecture, context_length, onnx_file, created_at) VALUES (99, '1', 'ready', 's', 'store', 'p', 'd', 1, 1, '{}', 1, 'o', 'now')`,
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
