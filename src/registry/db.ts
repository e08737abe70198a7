/**
 * Opens ORCHARD_HOME/registry.db: WAL so readers never block the writer, foreign keys on,
 * synchronous=FULL because registry writes are rare and must survive power loss, then runs
 * the numbered migrations that are not applied yet, each in its own transaction.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

export type RegistryDb = Database.Database;

export function openRegistryDb(
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): RegistryDb {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function schemaVersion(db: RegistryDb): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: RegistryDb, migrations: readonly Migration[]): void {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`registry migrations must be numbered 1..n; found ${m.version} at ${i + 1}`);
  });
  const current = schemaVersion(db);
  const latest = sorted.length;
  if (current > latest) {
    throw new Error(
      `registry.db has schema version ${current}, newer than this Orchard understands (${latest}); ` +
        'upgrade Orchard or use another ORCHARD_HOME',
    );
  }
  for (const m of sorted.slice(current)) {
    db.transaction(() => {
      db.exec(m.sql);
      // PRAGMA takes no bound parameters; the version is an integer from our own list.
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
    })();
  }
}
