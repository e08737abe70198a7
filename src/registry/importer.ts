/**
 * Puts a model folder into the store and registers it, crash-safely:
 *   validate → copy into tmp/import-* (hashing, fsync each file) → fsync folders →
 *   rename to models/<digest> (atomic) → one DB transaction (model, version, files).
 * A kill before the rename leaves only a tmp/ folder; a kill between rename and commit leaves a
 * store folder no version owns. Registry.open() removes both, so no half-registered version exists.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InvalidRequestError } from '../shared/errors.js';
import {
  copyFileHashed,
  fsyncDir,
  manifestDigest,
  pathExists,
  resolveInside,
  sha256File,
  type FileEntry,
} from './file-ops.js';
import { scanModelFolder, validateModelFolder, type ModelFolderSummary } from './model-folder.js';
import { storeRelativePath } from './paths.js';
import type { VersionRecord } from './records.js';
import type { Registry } from './registry.js';
import { MODEL_NAME, VERSION_NAME } from './versions-repo.js';

export type ImportStage = 'validate' | 'copy' | 'sync' | 'rename' | 'register' | 'done';

export interface ImportProgress {
  stage: ImportStage;
  bytesDone: number;
  bytesTotal: number;
  file?: string;
}

export interface ImportOptions {
  path: string;
  name?: string;
  version?: string;
  /** Recorded as the version's source; defaults to `import:<absolute path>`. */
  source?: string;
  /** Move files instead of copying (the folder is ours, e.g. a finished download). */
  move?: boolean;
  /** sha256 already computed for some files (a download hashed them on the way in). */
  knownSha256?: ReadonlyMap<string, string>;
  onProgress?: (p: ImportProgress) => void;
}

export function defaultModelName(folder: string): string {
  const base = path
    .basename(path.resolve(folder))
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return base.slice(0, 128) || 'model';
}

export function checkNames(name: string, version: string | undefined): void {
  if (!MODEL_NAME.test(name) || name.includes('@')) {
    throw new InvalidRequestError(
      `'${name}' is not a valid model name: use letters, digits, '.', '-' or '_' (at most 128, starting with a letter or digit).`,
      'name',
    );
  }
  if (version !== undefined && !VERSION_NAME.test(version)) {
    throw new InvalidRequestError(
      `'${version}' is not a valid version: use letters, digits, '.', '-' or '_' (at most 64, starting with a letter or digit).`,
      'version',
    );
  }
}

export async function importFolder(
  registry: Registry,
  options: ImportOptions,
): Promise<VersionRecord> {
  const src = path.resolve(options.path);
  const name = options.name ?? defaultModelName(src);
  checkNames(name, options.version);
  const version = options.version ?? registry.versions.nextVersionName(name);
  if (registry.versions.find(name, version)) {
    throw new ConflictError(`The model '${name}' already has a version '${version}'.`, 'version');
  }
  const report = options.onProgress ?? (() => {});
  report({ stage: 'validate', bytesDone: 0, bytesTotal: 0 });
  const files = await scanModelFolder(src);
  const summary = await validateModelFolder(src, files);

  const staging = path.join(registry.paths.tmp, `import-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(staging);
  let placed: string | null = null;
  try {
    const entries = await stage(src, staging, summary, options, report);
    report({ stage: 'sync', bytesDone: summary.sizeBytes, bytesTotal: summary.sizeBytes });
    await syncTree(staging, entries);
    const digest = manifestDigest(entries);
    const target = path.join(registry.paths.models, digest);
    report({ stage: 'rename', bytesDone: summary.sizeBytes, bytesTotal: summary.sizeBytes });
    if ((await pathExists(target)) && (await storeMatches(target, entries))) {
      // Same content is already stored (another version, or a leftover the next start would drop).
      await fs.rm(staging, { recursive: true, force: true });
    } else {
      let damaged: string | null = null;
      if (await pathExists(target)) {
        // The stored copy was damaged on disk: the fresh copy replaces it (and heals any version
        // sharing the digest), the damaged one goes to tmp/ for removal. The fresh copy is put in
        // place before the slow delete, so a crash leaves models/<digest> whole (whatever is in
        // tmp/ is wiped on the next start).
        damaged = path.join(registry.paths.tmp, `damaged-${randomBytes(6).toString('hex')}`);
        await fs.rename(target, damaged);
      }
      await fs.rename(staging, target);
      await fsyncDir(registry.paths.models);
      placed = target;
      if (damaged) await fs.rm(damaged, { recursive: true, force: true });
    }
    report({ stage: 'register', bytesDone: summary.sizeBytes, bytesTotal: summary.sizeBytes });
    const record = registry.versions.insert({
      model: name,
      version,
      source: options.source ?? `import:${src}`,
      storage: 'store',
      path: storeRelativePath(digest),
      digest,
      sizeBytes: summary.sizeBytes,
      weightsBytes: summary.weightsBytes,
      architecture: summary.architecture,
      numParams: summary.numParams,
      contextLength: summary.contextLength,
      onnxFile: summary.onnxFile,
      files: entries,
    });
    placed = null;
    report({ stage: 'done', bytesDone: summary.sizeBytes, bytesTotal: summary.sizeBytes });
    return record;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    if (placed && !registry.versions.liveStoreDigests().has(path.basename(placed))) {
      await fs.rm(placed, { recursive: true, force: true });
    }
  }
}

async function stage(
  src: string,
  staging: string,
  summary: ModelFolderSummary,
  options: ImportOptions,
  report: (p: ImportProgress) => void,
): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  let done = 0;
  const total = summary.sizeBytes;
  for (const f of summary.files) {
    const to = resolveInside(staging, f.path);
    await fs.mkdir(path.dirname(to), { recursive: true });
    const from = resolveInside(src, f.path);
    report({ stage: 'copy', bytesDone: done, bytesTotal: total, file: f.path });
    if (options.move) {
      await fs.rename(from, to);
      const known = options.knownSha256?.get(f.path);
      entries.push({
        path: f.path,
        sizeBytes: f.sizeBytes,
        sha256: known ?? (await sha256File(to)),
      });
      done += f.sizeBytes;
    } else {
      const { sha256, sizeBytes } = await copyFileHashed(from, to, (n) => {
        done += n;
        report({ stage: 'copy', bytesDone: done, bytesTotal: total, file: f.path });
      });
      if (sizeBytes !== f.sizeBytes) {
        throw new InvalidRequestError(
          `'${f.path}' changed while it was being imported.`,
          'path',
          'invalid_model',
        );
      }
      entries.push({ path: f.path, sizeBytes, sha256 });
    }
  }
  report({ stage: 'copy', bytesDone: total, bytesTotal: total });
  return entries;
}

/** True when every file under `dir` is exactly what the manifest lists. */
async function storeMatches(dir: string, entries: FileEntry[]): Promise<boolean> {
  for (const e of entries) {
    const abs = resolveInside(dir, e.path);
    const st = await fs.stat(abs).catch(() => null);
    if (!st || st.size !== e.sizeBytes || (await sha256File(abs)) !== e.sha256) return false;
  }
  return true;
}

/** Moved files need an fsync of their own too; then every folder, deepest first. */
async function syncTree(staging: string, entries: FileEntry[]): Promise<void> {
  const dirs = new Set<string>([staging]);
  for (const e of entries) {
    const abs = resolveInside(staging, e.path);
    const h = await fs.open(abs, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    let d = path.dirname(abs);
    while (d.startsWith(staging) && d !== staging) {
      dirs.add(d);
      d = path.dirname(d);
    }
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(d);
}
