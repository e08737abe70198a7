/**
 * File helpers for crash-safe model storage: hash while copying, fsync files and folders,
 * and the manifest digest that names a version's content.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface FileEntry {
  /** Relative path with forward slashes. */
  path: string;
  sizeBytes: number;
  sha256: string;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** Copies `from` to `to`, hashing the bytes as they pass and fsyncing the copy before returning. */
export async function copyFileHashed(
  from: string,
  to: string,
  onBytes?: (n: number) => void,
): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  const out = await fs.open(to, 'wx');
  let size = 0;
  try {
    for await (const chunk of createReadStream(from, { highWaterMark: 1 << 20 })) {
      const buf = chunk as Buffer;
      hash.update(buf);
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await out.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      size += buf.length;
      onBytes?.(buf.length);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

/** Makes a rename or a new entry in `dir` durable. Some platforms cannot open folders; skip there. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * The digest of a whole folder: sha256 of a sorted `sha256  path` manifest (sha256sum's format),
 * so the same files give the same digest wherever they came from.
 */
export function manifestDigest(files: readonly FileEntry[]): string {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex');
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** `a/b` inside root → absolute; throws if the relative path would leave root. */
export function resolveInside(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const back = path.relative(root, abs);
  if (back === '' || back.startsWith('..') || path.isAbsolute(back)) {
    throw new Error(`path '${rel}' leaves its folder`);
  }
  return abs;
}
