/**
 * Where the app's own files are: the package root (found by walking up from this module, so
 * it works from src/ under tsx and from dist/), the shipped models and the built UI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | null = null;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'orchard') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the Orchard package root');
    dir = parent;
  }
}

/** resources/models, or the packaged app's copy (Electron's process.resourcesPath). */
export function shippedModelsDir(): string {
  const electronResources = (process as { resourcesPath?: string }).resourcesPath;
  if (electronResources) {
    const packaged = path.join(electronResources, 'models');
    if (fs.existsSync(packaged)) return packaged;
  }
  return path.join(packageRoot(), 'resources', 'models');
}

export function uiDistDir(): string {
  return path.join(packageRoot(), 'renderer', 'dist');
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}
