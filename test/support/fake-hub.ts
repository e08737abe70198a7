/**
 * A local stand-in for the Hugging Face Hub's public HTTP API, on a free loopback port:
 *   GET  /api/models/{repo}/revision/{rev}[?blobs=true] → { id, sha, siblings[] }
 *   GET|HEAD /{repo}/resolve/{rev}/{file}               → the file (Range supported); LFS files
 *        answer 302 to /cdn/{sha256} with X-Linked-Etag / X-Linked-Size, as the real Hub does
 * with ETag and X-Repo-Commit headers. It serves folders read from disk (the shipped models), counts
 * the body bytes it sends, and can be told to cut a file mid-download or to require a token.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';

interface RepoFile {
  rfilename: string;
  /** Snapshot taken at addRepo, so files rebuilt on disk meanwhile cannot change a repo. */
  content: Buffer;
  size: number;
  sha256: string;
  gitSha1: string;
  lfs: boolean;
}

interface Repo {
  id: string;
  sha: string;
  files: RepoFile[];
}

export interface AddRepoOptions {
  /** Leave out files whose relative path matches (e.g. to make a repo without ONNX files). */
  exclude?: (rfilename: string) => boolean;
  /** Serve a file under another name (e.g. { 'onnx/model.onnx': 'onnx/model_q4.onnx' }). */
  rename?: Record<string, string>;
}

export interface ServedRequest {
  method: string;
  url: string;
  range: string | null;
  authorization: string | null;
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out.sort();
}

function* chunks(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

function isLfs(name: string, size: number): boolean {
  return size > 1_000_000 || /\.(onnx|onnx_data|safetensors|bin)$/.test(name);
}

export class FakeHub {
  readonly requests: ServedRequest[] = [];
  /** Body bytes written, per file and in total (what a resume should keep small). */
  readonly bytesByFile = new Map<string, number>();
  bytesServed = 0;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  requireToken: string | null = null;
  private readonly repos = new Map<string, Repo>();
  private readonly cuts = new Map<string, { afterBytes: number; times: number }>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeHub> {
    const holder: { hub?: FakeHub } = {};
    const server = http.createServer((req, res) => holder.hub!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.hub = new FakeHub(server, `http://127.0.0.1:${port}`);
    return holder.hub;
  }

  /** Serves a folder as repository `id` (e.g. 'orchard/orchard-chat-1'). */
  addRepo(id: string, dir: string, options: AddRepoOptions = {}): void {
    const files: RepoFile[] = [];
    for (const rel of listFiles(dir)) {
      if (options.exclude?.(rel)) continue;
      const name = options.rename?.[rel] ?? rel;
      const abs = path.join(dir, rel);
      const content = fs.readFileSync(abs);
      const sha256 = createHash('sha256').update(content).digest('hex');
      const gitSha1 = createHash('sha1')
        .update(`blob ${content.length}\0`)
        .update(content)
        .digest('hex');
      const f = {
        rfilename: name,
        content,
        size: content.length,
        sha256,
        gitSha1,
        lfs: isLfs(name, content.length),
      };
      files.push(f);
    }
    const sha = createHash('sha1')
      .update(id + JSON.stringify(files.map((f) => [f.rfilename, f.sha256])))
      .digest('hex');
    this.repos.set(id, { id, sha, files });
  }

  commitOf(id: string): string {
    return this.repos.get(id)!.sha;
  }

  /** The next `times` downloads of `rfilename` close the connection after `afterBytes` body bytes. */
  cutDownload(rfilename: string, afterBytes: number, times = 1): void {
    this.cuts.set(rfilename, { afterBytes, times });
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.bytesByFile.clear();
    this.bytesServed = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({
      method: req.method ?? 'GET',
      url: url.pathname + url.search,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
    });
    if (
      this.requireToken &&
      req.headers.authorization !== `Bearer ${this.requireToken}` &&
      !url.pathname.startsWith('/cdn/')
    ) {
      return this.json(res, 401, { error: 'Invalid credentials in Authorization header' });
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'api' && parts[1] === 'models') return this.info(res, parts.slice(2));
    if (parts[0] === 'cdn' && parts.length === 2) {
      const repo = this.repos.get(url.searchParams.get('repo') ?? '');
      const blob = repo?.files.find(
        (f) => f.rfilename === url.searchParams.get('file') && f.sha256 === parts[1],
      );
      if (!blob) return this.json(res, 404, { error: 'Entry not found' });
      return this.sendFile(req, res, blob, null);
    }
    const at = parts.indexOf('resolve');
    if (at >= 1 && parts.length > at + 2)
      return this.resolve(
        req,
        res,
        parts.slice(0, at).join('/'),
        parts[at + 1],
        parts.slice(at + 2).join('/'),
      );
    this.json(res, 404, { error: 'Not found' });
  }

  private findRepo(res: http.ServerResponse, id: string, rev: string): Repo | null {
    const repo = this.repos.get(id);
    if (!repo) {
      res.setHeader('X-Error-Code', 'RepoNotFound');
      this.json(res, 404, { error: 'Repository not found' });
      return null;
    }
    if (rev !== 'main' && rev !== repo.sha) {
      res.setHeader('X-Error-Code', 'RevisionNotFound');
      this.json(res, 404, { error: `Invalid rev id: ${rev}` });
      return null;
    }
    return repo;
  }

  /** /api/models/{org}/{repo}/revision/{rev} */
  private info(res: http.ServerResponse, rest: string[]): void {
    const r = rest.indexOf('revision');
    const id = (r >= 0 ? rest.slice(0, r) : rest).join('/');
    const rev = r >= 0 ? rest.slice(r + 1).join('/') : 'main';
    const repo = this.findRepo(res, id, rev);
    if (!repo) return;
    this.json(res, 200, {
      _id: repo.sha.slice(0, 24),
      id: repo.id,
      modelId: repo.id,
      sha: repo.sha,
      private: false,
      pipeline_tag: 'text-generation',
      library_name: 'transformers.js',
      siblings: repo.files.map((f) => ({
        rfilename: f.rfilename,
        blobId: f.gitSha1,
        size: f.size,
        ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.size, pointerSize: 134 } } : {}),
      })),
    });
  }

  private resolve(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    id: string,
    rev: string,
    file: string,
  ): void {
    const repo = this.findRepo(res, id, rev);
    if (!repo) return;
    const f = repo.files.find((x) => x.rfilename === file);
    if (!f) {
      res.setHeader('X-Error-Code', 'EntryNotFound');
      return this.json(res, 404, { error: `Entry not found` });
    }
    res.setHeader('X-Repo-Commit', repo.sha);
    if (f.lfs) {
      // Like the Hub: LFS files redirect to a CDN; the redirect carries the real size and sha256.
      res.setHeader('X-Linked-Etag', `"${f.sha256}"`);
      res.setHeader('X-Linked-Size', String(f.size));
      res.setHeader('ETag', `"${f.sha256}"`);
      res.setHeader(
        'Location',
        `/cdn/${f.sha256}?repo=${encodeURIComponent(repo.id)}&file=${encodeURIComponent(f.rfilename)}`,
      );
      res.statusCode = 302;
      res.end();
      return;
    }
    this.sendFile(req, res, f, repo.sha);
  }

  private sendFile(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    f: RepoFile,
    commit: string | null,
  ): void {
    let start = 0;
    let end = f.size - 1;
    const range = req.headers.range;
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('ETag', f.lfs ? `"${f.sha256}"` : `"${f.gitSha1}"`);
    if (commit) res.setHeader('X-Repo-Commit', commit);
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= f.size) {
        res.setHeader('Content-Range', `bytes */${f.size}`);
        res.statusCode = 416;
        res.end();
        return;
      }
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]));
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${f.size}`);
    } else res.statusCode = 200;
    res.setHeader('Content-Length', String(end - start + 1));
    res.setHeader('Content-Type', 'application/octet-stream');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = this.cuts.get(f.rfilename);
    let limit = Infinity;
    if (cut && cut.times > 0) {
      cut.times--;
      limit = cut.afterBytes;
    }
    let sent = 0;
    const stream = Readable.from(chunks(f.content.subarray(start, end + 1), 64 * 1024));
    stream.on('data', (chunk) => {
      let buf = chunk as Buffer;
      if (sent + buf.length > limit) buf = buf.subarray(0, Math.max(0, limit - sent));
      sent += buf.length;
      this.bytesServed += buf.length;
      this.bytesByFile.set(f.rfilename, (this.bytesByFile.get(f.rfilename) ?? 0) + buf.length);
      const ok = buf.length > 0 ? res.write(buf) : true;
      if (sent >= limit) {
        stream.destroy();
        // Once the written bytes have left, drop the connection mid-body.
        res.write('', () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      if (!ok) {
        stream.pause();
        res.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => res.end());
    stream.on('error', () => res.socket?.destroy());
    res.on('close', () => stream.destroy());
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', String(Buffer.byteLength(text)));
    res.end(text);
  }
}
