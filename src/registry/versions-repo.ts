/** Models, versions and their files in registry.db. */
import { ConflictError, NotFoundError } from '../shared/errors.js';
import type { VersionState } from '../shared/admin-api.js';
import type { RegistryDb } from './db.js';
import type { FileEntry } from './file-ops.js';
import type { Architecture } from './model-folder.js';
import type { VersionRecord } from './records.js';

interface VersionRow {
  id: number;
  model_id: number;
  model: string;
  version: string;
  state: VersionState;
  source: string;
  storage: 'store' | 'shipped';
  path: string;
  digest: string;
  size_bytes: number;
  weights_bytes: number;
  architecture: string;
  num_params: number | null;
  context_length: number;
  onnx_file: string;
  fingerprint: string | null;
  error: string | null;
  created_at: string;
}

const SELECT_VERSION = `
  SELECT v.*, m.name AS model FROM versions v JOIN models m ON m.id = v.model_id`;

function toRecord(r: VersionRow): VersionRecord {
  return {
    id: r.id,
    modelId: r.model_id,
    model: r.model,
    version: r.version,
    state: r.state,
    source: r.source,
    storage: r.storage,
    path: r.path,
    digest: r.digest,
    sizeBytes: r.size_bytes,
    weightsBytes: r.weights_bytes,
    architecture: JSON.parse(r.architecture) as Architecture,
    numParams: r.num_params,
    contextLength: r.context_length,
    onnxFile: r.onnx_file,
    fingerprint: r.fingerprint,
    error: r.error,
    createdAt: r.created_at,
  };
}

export interface NewVersion {
  model: string;
  version: string;
  source: string;
  storage: 'store' | 'shipped';
  path: string;
  digest: string;
  sizeBytes: number;
  weightsBytes: number;
  architecture: Architecture;
  numParams: number | null;
  contextLength: number;
  onnxFile: string;
  fingerprint?: string | null;
  files: readonly FileEntry[];
}

/** Version names: letters, digits, dot, dash, underscore (they appear in `model@version`). */
export const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Model and deployment names: may contain one slash-free path of words, like Hub repo names. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class VersionsRepo {
  constructor(private readonly db: RegistryDb) {}

  modelId(name: string): number | null {
    const row = this.db.prepare('SELECT id FROM models WHERE name = ?').get(name) as
      { id: number } | undefined;
    return row?.id ?? null;
  }

  listModelNames(): Array<{ id: number; name: string; createdAt: string }> {
    return (
      this.db.prepare('SELECT id, name, created_at FROM models ORDER BY name').all() as Array<{
        id: number;
        name: string;
        created_at: string;
      }>
    ).map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  list(options: { includeDeleted?: boolean } = {}): VersionRecord[] {
    const where = options.includeDeleted ? '' : "WHERE v.state <> 'deleted'";
    return (
      this.db.prepare(`${SELECT_VERSION} ${where} ORDER BY m.name, v.id`).all() as VersionRow[]
    ).map(toRecord);
  }

  byId(id: number): VersionRecord | null {
    const row = this.db.prepare(`${SELECT_VERSION} WHERE v.id = ?`).get(id) as
      VersionRow | undefined;
    return row ? toRecord(row) : null;
  }

  find(model: string, version: string): VersionRecord | null {
    const row = this.db
      .prepare(`${SELECT_VERSION} WHERE m.name = ? AND v.version = ?`)
      .get(model, version) as VersionRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** A ready version, or a NotFoundError that says what exists. */
  get(model: string, version: string): VersionRecord {
    const v = this.find(model, version);
    if (v && v.state === 'ready') return v;
    if (this.modelId(model) === null)
      throw new NotFoundError(`The model '${model}' does not exist.`, 'model', 'model_not_found');
    const known = this.list()
      .filter((x) => x.model === model && x.state === 'ready')
      .map((x) => x.version);
    throw new NotFoundError(
      `The model '${model}' has no version '${version}'${known.length ? ` (versions: ${known.join(', ')})` : ''}.`,
      'version',
      'version_not_found',
    );
  }

  /** The newest ready version of a model. */
  latest(model: string): VersionRecord | null {
    const row = this.db
      .prepare(
        `${SELECT_VERSION} WHERE m.name = ? AND v.state = 'ready' ORDER BY v.id DESC LIMIT 1`,
      )
      .get(model) as VersionRow | undefined;
    return row ? toRecord(row) : null;
  }

  /** One more than the largest numeric version name ("1" for a new model). */
  nextVersionName(model: string): string {
    const rows = this.db
      .prepare(
        'SELECT v.version FROM versions v JOIN models m ON m.id = v.model_id WHERE m.name = ?',
      )
      .all(model) as Array<{ version: string }>;
    const nums = rows.map((r) => (/^\d+$/.test(r.version) ? Number(r.version) : 0));
    return String(Math.max(0, ...nums) + 1);
  }

  files(versionId: number): FileEntry[] {
    return (
      this.db
        .prepare(
          'SELECT path, size_bytes, sha256 FROM version_files WHERE version_id = ? ORDER BY path',
        )
        .all(versionId) as Array<{ path: string; size_bytes: number; sha256: string }>
    ).map((r) => ({ path: r.path, sizeBytes: r.size_bytes, sha256: r.sha256 }));
  }

  /** Model row (if new), version row and file rows in one transaction: all or nothing. */
  insert(v: NewVersion, now = new Date()): VersionRecord {
    const at = now.toISOString();
    const id = this.db.transaction(() => {
      this.db
        .prepare('INSERT OR IGNORE INTO models (name, created_at) VALUES (?, ?)')
        .run(v.model, at);
      const modelId = this.modelId(v.model)!;
      const exists = this.db
        .prepare('SELECT state FROM versions WHERE model_id = ? AND version = ?')
        .get(modelId, v.version) as { state: string } | undefined;
      if (exists) {
        throw new ConflictError(
          `The model '${v.model}' already has a version '${v.version}'${exists.state === 'deleted' ? ' (deleted; version names are not reused)' : ''}.`,
          'version',
        );
      }
      const res = this.db
        .prepare(
          `INSERT INTO versions (model_id, version, state, source, storage, path, digest, size_bytes,
             weights_bytes, architecture, num_params, context_length, onnx_file, fingerprint, created_at)
           VALUES (?, ?, 'ready', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          modelId,
          v.version,
          v.source,
          v.storage,
          v.path,
          v.digest,
          v.sizeBytes,
          v.weightsBytes,
          JSON.stringify(v.architecture),
          v.numParams,
          v.contextLength,
          v.onnxFile,
          v.fingerprint ?? null,
          at,
        );
      const versionId = Number(res.lastInsertRowid);
      const insFile = this.db.prepare(
        'INSERT INTO version_files (version_id, path, size_bytes, sha256) VALUES (?, ?, ?, ?)',
      );
      for (const f of v.files) insFile.run(versionId, f.path, f.sizeBytes, f.sha256);
      return versionId;
    })();
    return this.byId(id)!;
  }

  /** Shipped files changed under an app update: record what is there now. */
  refreshShipped(
    id: number,
    v: Pick<
      NewVersion,
      | 'digest'
      | 'sizeBytes'
      | 'weightsBytes'
      | 'architecture'
      | 'numParams'
      | 'contextLength'
      | 'onnxFile'
      | 'fingerprint'
      | 'files'
    >,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE versions SET digest = ?, size_bytes = ?, weights_bytes = ?, architecture = ?, num_params = ?,
             context_length = ?, onnx_file = ?, fingerprint = ? WHERE id = ? AND storage = 'shipped'`,
        )
        .run(
          v.digest,
          v.sizeBytes,
          v.weightsBytes,
          JSON.stringify(v.architecture),
          v.numParams,
          v.contextLength,
          v.onnxFile,
          v.fingerprint ?? null,
          id,
        );
      this.db.prepare('DELETE FROM version_files WHERE version_id = ?').run(id);
      const insFile = this.db.prepare(
        'INSERT INTO version_files (version_id, path, size_bytes, sha256) VALUES (?, ?, ?, ?)',
      );
      for (const f of v.files) insFile.run(id, f.path, f.sizeBytes, f.sha256);
    })();
  }

  markDeleted(id: number): void {
    this.db.prepare("UPDATE versions SET state = 'deleted' WHERE id = ?").run(id);
  }

  /** Digests some live version still stores under models/. */
  liveStoreDigests(): Set<string> {
    const rows = this.db
      .prepare(
        "SELECT DISTINCT digest FROM versions WHERE storage = 'store' AND state <> 'deleted'",
      )
      .all() as Array<{ digest: string }>;
    return new Set(rows.map((r) => r.digest));
  }
}
