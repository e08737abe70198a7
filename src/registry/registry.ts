/**
 * The registry: registry.db plus the content-addressed model store beside it. Opening it also
 * recovers from a crash: staging folders left in tmp/ and store folders no version owns (a kill
 * between the rename and the commit) are removed, so a half-finished import leaves no trace.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { openRegistryDb, type RegistryDb } from './db.js';
import { DeploymentsRepo } from './deployments-repo.js';
import { MetricsRepo } from './metrics-repo.js';
import { registryPaths, type RegistryPaths } from './paths.js';
import type { VersionRecord } from './records.js';
import { VersionsRepo } from './versions-repo.js';

export interface RegistryOptions {
  home: string;
  /** Folder holding the shipped models (resources/models); found next to the app when omitted. */
  shippedModelsDir?: string;
}

/** resources/models of this checkout or install: the nearest ancestor folder that has one. */
export function findShippedModelsDir(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const candidate = path.join(dir, 'resources', 'models');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(from, '..', '..', 'resources', 'models');
    dir = parent;
  }
}

export class Registry {
  readonly versions: VersionsRepo;
  readonly deployments: DeploymentsRepo;
  readonly metrics: MetricsRepo;

  private constructor(
    readonly db: RegistryDb,
    readonly paths: RegistryPaths,
    readonly shippedModelsDir: string,
  ) {
    this.versions = new VersionsRepo(db);
    this.deployments = new DeploymentsRepo(db);
    this.metrics = new MetricsRepo(db);
  }

  static async open(options: RegistryOptions): Promise<Registry> {
    const paths = registryPaths(path.resolve(options.home));
    for (const dir of [paths.home, paths.models, paths.tmp, paths.downloads])
      await fs.mkdir(dir, { recursive: true });
    const db = openRegistryDb(paths.db);
    const registry = new Registry(db, paths, options.shippedModelsDir ?? findShippedModelsDir());
    await registry.recover();
    return registry;
  }

  /** Absolute folder of a version's files. */
  versionDir(v: Pick<VersionRecord, 'storage' | 'path'>): string {
    return v.storage === 'shipped'
      ? path.join(this.shippedModelsDir, v.path)
      : path.join(this.paths.home, v.path);
  }

  /** Removes staging leftovers and store folders that no live version owns. */
  async recover(): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    for (const name of await fs.readdir(this.paths.tmp)) {
      await fs.rm(path.join(this.paths.tmp, name), { recursive: true, force: true });
      removed.push(`tmp/${name}`);
    }
    const live = this.versions.liveStoreDigests();
    for (const name of await fs.readdir(this.paths.models)) {
      if (live.has(name)) continue;
      await fs.rm(path.join(this.paths.models, name), { recursive: true, force: true });
      removed.push(`models/${name}`);
    }
    return { removed };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
