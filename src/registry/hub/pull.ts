/**
 * `orchard pull org/repo[@rev]`: picks the files an ONNX text-generation model needs from the
 * repository's file list, downloads them from one commit into downloads/<repo>/<commit>/
 * (resumable), drops anything in that folder this pull did not plan (leftovers of an earlier pull
 * of the same commit with another --file-pattern, stray .part files), then hands the folder to the
 * importer, which validates it, moves it into the content-addressed store and registers it in one
 * transaction.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ConflictError, InvalidRequestError, OrchardError } from '../../shared/errors.js';
import { resolveInside } from '../file-ops.js';
import { importFolder } from '../importer.js';
import { chooseOnnxFile } from '../model-folder.js';
import type { VersionRecord } from '../records.js';
import type { Registry } from '../registry.js';
import { checkNames } from '../importer.js';
import { downloadFile } from './download-file.js';
import {
  fetchRepoInfo,
  parseRepoSpec,
  resolveUrl,
  type HubConfig,
  type HubSibling,
} from './hub-api.js';

export interface PullOptions {
  repo: string;
  revision?: string;
  filePattern?: string;
  name?: string;
  version?: string;
}

export interface PullProgress {
  stage: 'resolve' | 'download' | 'import' | 'done';
  bytesDone: number;
  bytesTotal: number;
  message: string;
}

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
const OPTIONAL = [
  'generation_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'README.md',
] as const;

export interface PullPlan {
  commit: string;
  /** Hub path → path inside the model folder. */
  files: Array<{ remote: string; local: string; size: number | null; sha256: string | null }>;
  onnxFile: string;
}

/**
 * Which files to fetch. The chosen ONNX graph is stored as onnx/model.onnx (where the engine looks)
 * and its external data files keep their names beside it, since the graph refers to them by name.
 */
export function planPull(
  repo: string,
  commit: string,
  siblings: HubSibling[],
  filePattern?: string,
): PullPlan {
  const names = siblings.map((s) => s.rfilename);
  const onnx = names.filter((n) => n.endsWith('.onnx'));
  if (onnx.length === 0) {
    throw new InvalidRequestError(
      `The repository '${repo}' has no ONNX files; Orchard runs ONNX exports of text-generation models ` +
        '(look for a repository with onnx/model.onnx, e.g. from onnx-community).',
      'repo',
      'no_onnx_files',
    );
  }
  const chosen = chooseOnnxFile(names, filePattern);
  if (!chosen) {
    throw new InvalidRequestError(
      filePattern
        ? `--file-pattern '${filePattern}' must match exactly one ONNX file of '${repo}'; its ONNX files: ${onnx.join(', ')}.`
        : `The repository '${repo}' has several ONNX files (${onnx.join(', ')}); choose one with --file-pattern.`,
      'filePattern',
      'ambiguous_onnx_file',
    );
  }
  const missing = REQUIRED.filter((r) => !names.includes(r));
  if (missing.length > 0) {
    throw new InvalidRequestError(
      `The repository '${repo}' lacks ${missing.join(', ')}, which Orchard needs to run it.`,
      'repo',
      'invalid_model',
    );
  }
  const bySibling = new Map(siblings.map((s) => [s.rfilename, s]));
  const entry = (remote: string, local: string) => {
    const s = bySibling.get(remote)!;
    return { remote, local, size: s.lfs?.size ?? s.size ?? null, sha256: s.lfs?.sha256 ?? null };
  };
  const files = [
    ...REQUIRED.map((r) => entry(r, r)),
    ...OPTIONAL.filter((o) => names.includes(o)).map((o) => entry(o, o)),
    entry(chosen, 'onnx/model.onnx'),
    ...names
      .filter((n) => n.startsWith(chosen + '_data') || n.startsWith(chosen + '.data'))
      .map((n) => entry(n, `onnx/${path.posix.basename(n)}`)),
  ];
  return { commit, files, onnxFile: chosen };
}

const active = new Set<string>();

/**
 * Removes every entry under `dir` whose path (relative, '/'-separated) is not in `keep`, and the
 * folders left empty, so the importer sees exactly the planned files. Symlinks are removed, never
 * followed. Returns the relative paths it removed.
 */
export async function pruneToPlan(dir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (rel: string): Promise<boolean> => {
    const abs = rel ? path.join(dir, ...rel.split('/')) : dir;
    let kept = false;
    for (const e of await fs.readdir(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (await walk(r)) kept = true;
        else {
          await fs.rm(path.join(abs, e.name), { recursive: true, force: true });
          removed.push(r + '/');
        }
      } else if (e.isFile() && keep.has(r)) {
        kept = true;
      } else {
        await fs.rm(path.join(abs, e.name), { force: true });
        removed.push(r);
      }
    }
    return kept;
  };
  await walk('');
  return removed;
}

/** A full git commit id, as the Hub reports `sha`. */
const COMMIT_SHA = /^[0-9a-f]{40}$/;

export async function pullModel(
  registry: Registry,
  config: HubConfig,
  options: PullOptions,
  onProgress: (p: PullProgress) => void = () => {},
  signal?: AbortSignal,
): Promise<VersionRecord> {
  const spec = parseRepoSpec(options.repo);
  const repo = spec.repo;
  const revision = options.revision ?? spec.revision ?? 'main';
  const name = options.name ?? repo.split('/').pop()!;
  checkNames(name, options.version);
  if (options.version && registry.versions.find(name, options.version)) {
    throw new ConflictError(
      `The model '${name}' already has a version '${options.version}'.`,
      'version',
    );
  }

  onProgress({
    stage: 'resolve',
    bytesDone: 0,
    bytesTotal: 0,
    message: `resolving ${repo}@${revision}`,
  });
  const info = await fetchRepoInfo(config, repo, revision, signal);
  // The commit names a folder under downloads/: only a real commit id may get that far.
  if (typeof info.sha !== 'string' || !COMMIT_SHA.test(info.sha)) {
    throw new OrchardError(
      `The Hub answered ${repo}@${revision} with commit ${JSON.stringify(info.sha)}, which is not a 40-character hexadecimal commit id; refusing to pull (is HF_ENDPOINT a trustworthy mirror?).`,
      502,
      'server_error',
      'repo',
      'hub_error',
    );
  }
  const plan = planPull(repo, info.sha, info.siblings, options.filePattern);
  const total = plan.files.reduce((s, f) => s + (f.size ?? 0), 0);

  const dir = resolveInside(
    registry.paths.downloads,
    path.join(repo.replace(/\//g, '--'), info.sha),
  );
  if (active.has(dir))
    throw new ConflictError(`${repo}@${info.sha.slice(0, 12)} is already being pulled.`, 'repo');
  active.add(dir);
  try {
    const perFile = new Map<string, number>();
    const sum = () => [...perFile.values()].reduce((a, b) => a + b, 0);
    const hashes = new Map<string, string>();
    for (const f of plan.files) {
      const result = await downloadFile({
        config,
        // Always by commit, so a branch moving mid-pull cannot mix two commits' files.
        url: resolveUrl(config, repo, info.sha, f.remote),
        dest: path.join(dir, ...f.local.split('/')),
        label: f.remote,
        expected: { size: f.size, sha256: f.sha256 },
        signal,
        onProgress: (bytes) => {
          perFile.set(f.local, bytes);
          onProgress({
            stage: 'download',
            bytesDone: sum(),
            bytesTotal: total,
            message: `downloading ${f.remote}`,
          });
        },
      });
      hashes.set(f.local, result.sha256);
    }
    // Only after the downloads (a planned file's .part was resumed above): whatever else an earlier
    // pull of this commit left here must not become part of this version or change its digest.
    await pruneToPlan(dir, new Set(plan.files.map((f) => f.local)));
    onProgress({
      stage: 'import',
      bytesDone: total,
      bytesTotal: total,
      message: 'validating and registering',
    });
    const record = await importFolder(registry, {
      path: dir,
      name,
      version: options.version,
      source: `hf:${repo}@${info.sha}${plan.onnxFile !== 'onnx/model.onnx' ? `#${plan.onnxFile}` : ''}`,
      move: true,
      knownSha256: hashes,
    });
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rmdir(path.dirname(dir)).catch(() => {});
    onProgress({
      stage: 'done',
      bytesDone: total,
      bytesTotal: total,
      message: `registered ${record.model}@${record.version}`,
    });
    return record;
  } finally {
    active.delete(dir);
  }
}
