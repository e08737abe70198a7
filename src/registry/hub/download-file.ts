/**
 * One resumable download: bytes go to `<dest>.part`; a later run asks for the rest with an HTTP
 * Range, hashing what is already there first so the checksum still covers the whole file. The
 * finished file is checked (size, sha256 for LFS files, git blob sha1 for small ones), fsynced
 * and renamed into place; a mismatch deletes the part so the next try starts clean.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { OrchardError } from '../../shared/errors.js';
import { hubError, hubHeaders, type HubConfig } from './hub-api.js';

export interface Expected {
  size: number | null;
  sha256: string | null;
}

export interface DownloadResult {
  sha256: string;
  sizeBytes: number;
  /** Bytes already on disk from an earlier run. */
  resumedBytes: number;
}

export class DownloadInterruptedError extends OrchardError {
  constructor(file: string, done: number, total: number | null, cause: string) {
    super(
      `The download of ${file} stopped after ${done}${total ? ` of ${total}` : ''} bytes (${cause}). ` +
        'Run the pull again to resume where it stopped.',
      502,
      'server_error',
      null,
      'download_interrupted',
    );
  }
}

export class ChecksumError extends OrchardError {
  constructor(message: string) {
    super(message, 502, 'server_error', null, 'checksum_mismatch');
  }
}

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

function cleanEtag(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

async function hashPrefix(file: string, hashes: Hash[], length?: number): Promise<number> {
  let n = 0;
  const range = length !== undefined ? { start: 0, end: length - 1 } : {};
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, ...range })) {
    for (const h of hashes) h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  const size = await hashPrefix(file, [h]);
  return { sha256: h.digest('hex'), size };
}

export async function downloadFile(options: {
  config: HubConfig;
  url: string;
  /** Final path; the partial download lives at dest + '.part'. */
  dest: string;
  label: string;
  expected: Expected;
  /** Bytes of this file on disk so far (resumed bytes included). */
  onProgress?: (bytes: number) => void;
  signal?: AbortSignal;
}): Promise<DownloadResult> {
  const { dest, label, expected } = options;
  const part = dest + '.part';
  await fs.mkdir(path.dirname(dest), { recursive: true });

  // Finished in an earlier run (killed before the import took it): check it and reuse it.
  const done = await fs.stat(dest).catch(() => null);
  if (done) {
    const h = await hashFile(dest);
    if (
      (expected.size === null || h.size === expected.size) &&
      (expected.sha256 === null || h.sha256 === expected.sha256)
    ) {
      options.onProgress?.(h.size);
      return { sha256: h.sha256, sizeBytes: h.size, resumedBytes: h.size };
    }
    await fs.rm(dest, { force: true });
  }

  // A part only resumes the download it came from: the same local name can hold another remote
  // file (onnx/model.onnx is whichever variant --file-pattern chose).
  const source = part + '.source';
  const from = await fs.readFile(source, 'utf8').catch(() => null);
  let have = (await fs.stat(part).catch(() => null))?.size ?? 0;
  if (have > 0 && from !== options.url) {
    await fs.rm(part, { force: true });
    have = 0;
  }
  if (expected.size !== null && have > expected.size) {
    await fs.rm(part, { force: true });
    have = 0;
  }
  if (from !== options.url) await fs.writeFile(source, options.url);
  const resumedBytes = have;
  let res: Response | null = null;
  if (expected.size === null || have < expected.size) {
    try {
      res = await fetch(options.url, {
        headers: hubHeaders(options.config, have > 0 ? { Range: `bytes=${have}-` } : {}),
        signal: options.signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new DownloadInterruptedError(label, have, expected.size, (err as Error).message);
    }
    if (res.status === 416 && have > 0) {
      // Nothing past what we have: the part is complete (checked below).
      await res.body?.cancel();
      res = null;
    } else if (!res.ok) {
      throw await hubError(res, label, options.config);
    } else if (res.status !== 206) {
      // The server ignored the range: start over.
      have = 0;
    }
  }
  const etag = res ? cleanEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag')) : null;

  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  // The git blob id hashes a header with the size first; it is only usable when the size is known.
  if (expected.size !== null) sha1.update(`blob ${expected.size}\0`);
  if (have > 0) await hashPrefix(part, [sha256, sha1], have);
  options.onProgress?.(have);

  let size = have;
  if (res) {
    const out = await fs.open(part, have > 0 ? 'a' : 'w');
    try {
      if (!res.body) throw new Error('empty body');
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        sha256.update(chunk);
        sha1.update(chunk);
        let off = 0;
        while (off < chunk.length)
          off += (await out.write(chunk, off, chunk.length - off)).bytesWritten;
        size += chunk.length;
        options.onProgress?.(size);
      }
      await out.sync();
    } catch (err) {
      await out.sync().catch(() => {});
      await out.close();
      if (options.signal?.aborted) throw err;
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new DownloadInterruptedError(label, size, expected.size, cause || 'connection lost');
    }
    await out.close();
  }
  return finish(part, dest, label, expected, etag, size, sha256, sha1, resumedBytes);
}

async function finish(
  part: string,
  dest: string,
  label: string,
  expected: Expected,
  etag: string | null,
  size: number,
  sha256: Hash,
  sha1: Hash,
  resumedBytes: number,
): Promise<DownloadResult> {
  if (expected.size !== null && size < expected.size) {
    throw new DownloadInterruptedError(
      label,
      size,
      expected.size,
      'the server sent less than the file size',
    );
  }
  const digest = sha256.digest('hex');
  const gitSha1 = sha1.digest('hex');
  const want256 = expected.sha256 ?? (etag && SHA256.test(etag) ? etag : null);
  const bad =
    (expected.size !== null && size !== expected.size) ||
    (want256 !== null && digest !== want256) ||
    (want256 === null &&
      expected.size !== null &&
      etag !== null &&
      SHA1.test(etag) &&
      gitSha1 !== etag);
  if (bad) {
    await fs.rm(part, { force: true });
    throw new ChecksumError(
      `${label} does not match the Hub's checksum (got sha256 ${digest.slice(0, 12)}…, ${size} bytes); ` +
        'the partial file was removed, run the pull again.',
    );
  }
  await fs.rename(part, dest);
  await fs.rm(part + '.source', { force: true });
  return { sha256: digest, sizeBytes: size, resumedBytes };
}
