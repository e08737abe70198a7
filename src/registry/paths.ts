/** Where the registry keeps things inside ORCHARD_HOME. */
import path from 'node:path';

export interface RegistryPaths {
  home: string;
  db: string;
  /** Content-addressed model folders: models/<digest>/. */
  models: string;
  /** Staging for imports; anything here at start is a leftover from a crash. */
  tmp: string;
  /** Partial Hub downloads (`.part` files), kept across runs so pulls resume. */
  downloads: string;
}

export function registryPaths(home: string): RegistryPaths {
  return {
    home,
    db: path.join(home, 'registry.db'),
    models: path.join(home, 'models'),
    tmp: path.join(home, 'tmp'),
    downloads: path.join(home, 'downloads'),
  };
}

/** The store folder of a digest, relative to ORCHARD_HOME (what the versions table records). */
export function storeRelativePath(digest: string): string {
  return `models/${digest}`;
}
