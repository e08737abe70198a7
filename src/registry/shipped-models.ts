/**
 * Registers the models that ship inside the app on first run, by reference: their files stay in
 * resources/models and are hashed, not copied, so the first start costs one read of ~70 MB.
 * A file fingerprint (size + mtime) notices when an app update replaced them and re-records the
 * digest, so the registry never describes files that are no longer there.
 */
import type { RolloutEvent } from '../shared/admin-api.js';
import { pathExists, sha256File, manifestDigest, type FileEntry } from './file-ops.js';
import { scanModelFolder, validateModelFolder, type FolderFile } from './model-folder.js';
import type { Registry } from './registry.js';
import path from 'node:path';

export interface ShippedModel {
  model: string;
  version: string;
  /** Folder name inside resources/models. */
  folder: string;
}

export const SHIPPED_MODELS: readonly ShippedModel[] = [
  { model: 'orchard-chat', version: '1', folder: 'orchard-chat-1' },
  { model: 'orchard-chat', version: '2', folder: 'orchard-chat-2' },
  { model: 'orchard-draft', version: '1', folder: 'orchard-draft' },
];

/** Deployments created with the shipped models: name → model@version. */
export const SHIPPED_DEPLOYMENTS: ReadonlyArray<{ name: string; model: string; version: string }> =
  [
    { name: 'orchard-chat', model: 'orchard-chat', version: '1' },
    { name: 'orchard-draft', model: 'orchard-draft', version: '1' },
  ];

function fingerprint(files: FolderFile[]): string {
  return JSON.stringify(files.map((f) => [f.path, f.sizeBytes, Math.round(f.mtimeMs)]));
}

async function hashAll(files: FolderFile[]): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const f of files)
    out.push({ path: f.path, sizeBytes: f.sizeBytes, sha256: await sha256File(f.abs) });
  return out;
}

export interface ShippedResult {
  registered: string[];
  refreshed: string[];
  missing: string[];
  events: RolloutEvent[];
}

export async function ensureShippedModels(
  registry: Registry,
  models: readonly ShippedModel[] = SHIPPED_MODELS,
  deployments = SHIPPED_DEPLOYMENTS,
): Promise<ShippedResult> {
  const result: ShippedResult = { registered: [], refreshed: [], missing: [], events: [] };
  for (const s of models) {
    const dir = path.join(registry.shippedModelsDir, s.folder);
    const label = `${s.model}@${s.version}`;
    if (!(await pathExists(path.join(dir, 'config.json')))) {
      result.missing.push(label);
      continue;
    }
    const existing = registry.versions.find(s.model, s.version);
    if (existing && (existing.storage !== 'shipped' || existing.state !== 'ready')) continue;
    const files = await scanModelFolder(dir);
    const fp = fingerprint(files);
    if (existing && existing.fingerprint === fp) continue;
    const summary = await validateModelFolder(dir, files);
    const entries = await hashAll(files);
    const content = {
      digest: manifestDigest(entries),
      sizeBytes: summary.sizeBytes,
      weightsBytes: summary.weightsBytes,
      architecture: summary.architecture,
      numParams: summary.numParams,
      contextLength: summary.contextLength,
      onnxFile: summary.onnxFile,
      fingerprint: fp,
      files: entries,
    };
    if (existing) {
      registry.versions.refreshShipped(existing.id, content);
      result.refreshed.push(label);
    } else {
      registry.versions.insert({
        model: s.model,
        version: s.version,
        source: `shipped:${s.folder}`,
        storage: 'shipped',
        path: s.folder,
        ...content,
      });
      result.registered.push(label);
    }
  }
  for (const d of deployments) {
    if (registry.deployments.find(d.name)) continue;
    const v = registry.versions.find(d.model, d.version);
    if (!v || v.state !== 'ready') continue;
    const { event } = registry.deployments.create(
      { name: d.name, modelId: v.modelId, stableVersionId: v.id },
      {
        kind: 'created',
        fromVersion: null,
        toVersion: d.version,
        detail: `shipped default serving ${d.model}@${d.version}`,
      },
    );
    result.events.push(event);
  }
  return result;
}
