import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hubConfigFromEnv,
  parseRepoSpec,
  type HubConfig,
} from '../../../src/registry/hub/hub-api.js';
import { planPull, pullModel, type PullProgress } from '../../../src/registry/hub/pull.js';
import { resolveUrl } from '../../../src/registry/hub/hub-api.js';
import { Registry } from '../../../src/registry/registry.js';
import { sha256File } from '../../../src/registry/file-ops.js';
import { InvalidRequestError, NotFoundError } from '../../../src/shared/errors.js';
import { FakeHub } from '../../support/fake-hub.js';
import { CHAT_1, SHIPPED_DIR, listDir, rmrf, tempDir } from './helpers.js';

let hub: FakeHub;
let config: HubConfig;
let dirs: string[] = [];
let registries: Registry[] = [];

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo('orchard/chat', CHAT_1);
  hub.addRepo('orchard/no-onnx', CHAT_1, { exclude: (f) => f.endsWith('.onnx') });
  hub.addRepo('orchard/quantized', CHAT_1, { rename: { 'onnx/model.onnx': 'onnx/model_q4.onnx' } });
  config = hubConfigFromEnv({ HF_ENDPOINT: hub.url + '/' });
});
afterAll(async () => {
  await hub.close();
});
afterEach(async () => {
  for (const r of registries) r.close();
  registries = [];
  await rmrf(...dirs);
  dirs = [];
  hub.resetCounters();
  hub.requireToken = null;
});

async function openTemp(): Promise<Registry> {
  const home = await tempDir();
  dirs.push(home);
  const r = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
  registries.push(r);
  return r;
}

/** Size and sha256 of a file as the hub serves it (its snapshot, not today's disk). */
async function remote(repo: string, file: string): Promise<{ size: number; sha256: string }> {
  const info = (await (
    await fetch(`${hub.url}/api/models/${repo}/revision/main?blobs=true`)
  ).json()) as {
    siblings: Array<{ rfilename: string; size: number; lfs?: { sha256: string } }>;
  };
  const f = info.siblings.find((x) => x.rfilename === file)!;
  return { size: f.size, sha256: f.lfs!.sha256 };
}
const onnxSize = async () => (await remote('orchard/chat', 'onnx/model.onnx')).size;
const onnxSha = async () => (await remote('orchard/chat', 'onnx/model.onnx')).sha256;

describe('pull from the Hub', () => {
  it('reads HF_ENDPOINT and HF_TOKEN like the Hub clients', () => {
    expect(hubConfigFromEnv({})).toMatchObject({ endpoint: 'https://huggingface.co', token: null });
    expect(hubConfigFromEnv({ HF_ENDPOINT: 'http://x/', HF_TOKEN: 't' })).toMatchObject({
      endpoint: 'http://x',
      token: 't',
    });
    expect(parseRepoSpec('org/repo@v1')).toEqual({ repo: 'org/repo', revision: 'v1' });
    expect(() => parseRepoSpec('../etc')).toThrow(InvalidRequestError);
    expect(() => parseRepoSpec('a/b/c')).toThrow(/not a Hugging Face repository id/);
  });

  it('plans the files an ONNX model needs', () => {
    const s = (rfilename: string) => ({ rfilename, size: 1 });
    const base = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
      'model.safetensors',
    ].map(s);
    const plan = planPull(
      'o/r',
      'c',
      [...base, s('onnx/model_q4.onnx'), s('onnx/model_q4.onnx_data'), s('onnx/model.onnx')],
      '**q4*',
    );
    expect(plan.onnxFile).toBe('onnx/model_q4.onnx');
    expect(plan.files.map((f) => [f.remote, f.local])).toEqual([
      ['config.json', 'config.json'],
      ['tokenizer.json', 'tokenizer.json'],
      ['tokenizer_config.json', 'tokenizer_config.json'],
      ['generation_config.json', 'generation_config.json'],
      ['onnx/model_q4.onnx', 'onnx/model.onnx'],
      ['onnx/model_q4.onnx_data', 'onnx/model_q4.onnx_data'],
    ]);
    expect(() => planPull('o/r', 'c', base, undefined)).toThrow(/has no ONNX files/);
    expect(() => planPull('o/r', 'c', [...base, s('a.onnx'), s('b.onnx')])).toThrow(
      /several ONNX files.*--file-pattern/,
    );
    expect(() => planPull('o/r', 'c', [s('config.json'), s('onnx/model.onnx')])).toThrow(
      /lacks tokenizer\.json, tokenizer_config\.json/,
    );
  });

  it('downloads, verifies and registers a model with progress', async () => {
    const reg = await openTemp();
    const events: PullProgress[] = [];
    const v = await pullModel(reg, config, { repo: 'orchard/chat' }, (p) => events.push(p));
    expect(v).toMatchObject({
      model: 'chat',
      version: '1',
      state: 'ready',
      source: `hf:orchard/chat@${hub.commitOf('orchard/chat')}`,
    });
    expect(await sha256File(path.join(reg.versionDir(v), 'onnx/model.onnx'))).toBe(await onnxSha());
    // model.safetensors is not needed to run the ONNX graph.
    expect(reg.versions.files(v.id).map((f) => f.path)).not.toContain('model.safetensors');
    const last = events.at(-1)!;
    expect(last.stage).toBe('done');
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(
      events.some((e) => e.stage === 'download' && e.bytesDone > 0 && e.bytesDone < e.bytesTotal),
    ).toBe(true);
    expect(await listDir(reg.paths.downloads)).toEqual([]);
    // LFS files went through the CDN redirect; every file came from the resolved commit.
    expect(hub.requests.some((r) => r.url.startsWith('/cdn/'))).toBe(true);
    expect(
      hub.requests
        .filter((r) => r.url.includes('/resolve/'))
        .every((r) => r.url.includes(hub.commitOf('orchard/chat'))),
    ).toBe(true);
  });

  it('resumes a cut download with a Range request instead of starting over', async () => {
    const reg = await openTemp();
    const size = await onnxSize();
    const cutAt = Math.floor(size * 0.6);
    hub.cutDownload('onnx/model.onnx', cutAt);
    const err = await pullModel(reg, config, { repo: 'orchard/chat', name: 'c' }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /The download of onnx\/model\.onnx stopped after \d+ of \d+ bytes.*Run the pull again to resume/,
    );
    expect(reg.versions.list()).toEqual([]);
    const firstRun = hub.bytesByFile.get('onnx/model.onnx')!;
    expect(firstRun).toBe(cutAt);
    // What reached the disk before the cut is what the next run keeps.
    const commit = hub.commitOf('orchard/chat');
    const part = path.join(reg.paths.downloads, 'orchard--chat', commit, 'onnx', 'model.onnx.part');
    const kept = (await fs.stat(part)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cutAt);

    hub.resetCounters();
    const v = await pullModel(reg, config, { repo: 'orchard/chat', name: 'c' });
    const secondRun = hub.bytesByFile.get('onnx/model.onnx')!;
    console.log(
      `resume: first run ${firstRun} B (${kept} B on disk), second run ${secondRun} B, file ${size} B`,
    );
    expect(secondRun).toBe(size - kept);
    expect(hub.requests.some((r) => r.range === `bytes=${kept}-`)).toBe(true);
    expect(await sha256File(path.join(reg.versionDir(v), 'onnx/model.onnx'))).toBe(await onnxSha());
  });

  it('refuses a repository without ONNX files, an unknown repository and a bad revision, registering nothing', async () => {
    const reg = await openTemp();
    const noOnnx = await pullModel(reg, config, { repo: 'orchard/no-onnx' }).catch(
      (e: unknown) => e,
    );
    expect(noOnnx).toBeInstanceOf(InvalidRequestError);
    expect((noOnnx as Error).message).toMatch(/has no ONNX files/);
    const unknown = await pullModel(reg, config, { repo: 'orchard/nothing' }).catch(
      (e: unknown) => e,
    );
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect((unknown as Error).message).toMatch(
      /repository 'orchard\/nothing' was not found on the Hub/,
    );
    await expect(
      pullModel(reg, config, { repo: 'orchard/chat', revision: 'nope' }),
    ).rejects.toThrow(/revision not found/);
    expect(reg.versions.list()).toEqual([]);
    expect(hub.bytesServed).toBe(0);
  });

  it('stores a chosen ONNX file where the engine looks for it', async () => {
    const reg = await openTemp();
    const v = await pullModel(reg, config, { repo: 'orchard/quantized', filePattern: '**q4*' });
    expect(reg.versions.files(v.id).map((f) => f.path)).toContain('onnx/model.onnx');
    expect(v.source).toMatch(/#onnx\/model_q4\.onnx$/);
  });

  it('imports only the planned files, not what an earlier pull of the commit with another pattern left', async () => {
    // A repository with two graphs: the plain one and a q4 one whose weights are in two data files.
    const src = await tempDir('orchard-hubrepo-');
    dirs.push(src);
    await fs.cp(CHAT_1, src, {
      recursive: true,
      filter: (f) => !f.endsWith('model.safetensors'),
    });
    await fs.writeFile(path.join(src, 'onnx', 'model_q4.onnx'), Buffer.alloc(200_000, 4));
    await fs.writeFile(path.join(src, 'onnx', 'model_q4.onnx_data'), Buffer.alloc(300_000, 5));
    await fs.writeFile(path.join(src, 'onnx', 'model_q4.onnx_data_1'), Buffer.alloc(300_000, 6));
    hub.addRepo('orchard/variants', src);
    const commit = hub.commitOf('orchard/variants');

    // 1. A q4 pull cut in its last file: a finished q4 data file, a q4 graph at onnx/model.onnx
    //    and a .part are left in downloads/<repo>/<commit>/.
    const reg = await openTemp();
    const dl = path.join(reg.paths.downloads, 'orchard--variants', commit);
    hub.cutDownload('onnx/model_q4.onnx_data_1', 100_000);
    await expect(
      pullModel(reg, config, { repo: 'orchard/variants', filePattern: '**q4*' }),
    ).rejects.toThrow(/stopped after/);
    expect(await listDir(path.join(dl, 'onnx'))).toEqual([
      'model.onnx',
      'model_q4.onnx_data',
      'model_q4.onnx_data_1.part',
      'model_q4.onnx_data_1.part.source',
    ]);
    // And a stray .part of a file no plan of this repository names.
    await fs.writeFile(path.join(dl, 'stray.bin.part'), Buffer.alloc(1000, 1));

    // 2. The plain graph, same commit: the version holds exactly the planned files.
    const v = await pullModel(reg, config, {
      repo: 'orchard/variants',
      filePattern: 'onnx/model.onnx',
      name: 'mixed',
    });
    const planned = [
      'README.md',
      'config.json',
      'generation_config.json',
      'onnx/model.onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ];
    expect(
      reg.versions
        .files(v.id)
        .map((f) => f.path)
        .sort(),
    ).toEqual(planned);
    const onDisk = (await fs.readdir(reg.versionDir(v), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(reg.versionDir(v), path.join(e.parentPath, e.name)))
      .map((p) => p.split(path.sep).join('/'))
      .sort();
    expect(onDisk).toEqual(planned);
    // The stale q4 graph at onnx/model.onnx was replaced by the plain one.
    expect(await sha256File(path.join(reg.versionDir(v), 'onnx/model.onnx'))).toBe(await onnxSha());
    expect(await listDir(reg.paths.downloads)).toEqual([]);

    // 3. Same digest (so the store deduplicates) as a clean pull of the same files.
    const clean = await pullModel(await openTemp(), config, {
      repo: 'orchard/variants',
      filePattern: 'onnx/model.onnx',
      name: 'mixed',
    });
    expect(v.digest).toBe(clean.digest);
    expect(v.sizeBytes).toBe(clean.sizeBytes);
  });

  it('never resumes a part of another remote file stored under the same local name', async () => {
    const src = await tempDir('orchard-hubrepo-');
    dirs.push(src);
    await fs.cp(CHAT_1, src, {
      recursive: true,
      filter: (f) => !f.endsWith('model.safetensors'),
    });
    await fs.writeFile(path.join(src, 'onnx', 'model_q4.onnx'), Buffer.alloc(200_000, 4));
    hub.addRepo('orchard/two-graphs', src);
    const reg = await openTemp();
    // The q4 graph is stored as onnx/model.onnx; cut it half way.
    hub.cutDownload('onnx/model_q4.onnx', 100_000);
    await expect(
      pullModel(reg, config, { repo: 'orchard/two-graphs', filePattern: '**q4*' }),
    ).rejects.toThrow(/stopped after/);
    // The plain graph of the same commit, under the same local name: a fresh download.
    hub.resetCounters();
    const v = await pullModel(reg, config, {
      repo: 'orchard/two-graphs',
      filePattern: 'onnx/model.onnx',
    });
    expect(v.state).toBe('ready');
    expect(hub.requests.some((r) => r.range !== undefined && r.range !== null)).toBe(false);
    expect(await sha256File(path.join(reg.versionDir(v), 'onnx/model.onnx'))).toBe(await onnxSha());
  });

  it('sends HF_TOKEN as a bearer token and explains a refusal', async () => {
    const reg = await openTemp();
    hub.requireToken = 'secret';
    await expect(pullModel(reg, config, { repo: 'orchard/chat' })).rejects.toThrow(
      /refused access.*set HF_TOKEN/,
    );
    hub.resetCounters();
    const v = await pullModel(reg, { ...config, token: 'secret' }, { repo: 'orchard/chat' });
    expect(v.state).toBe('ready');
    expect(
      hub.requests
        .filter((r) => !r.url.startsWith('/cdn/'))
        .every((r) => r.authorization === 'Bearer secret'),
    ).toBe(true);
  });

  it('rejects a corrupted download by checksum and starts clean next time', async () => {
    const reg = await openTemp();
    const info = await fetch(`${hub.url}/api/models/orchard/chat/revision/main`).then(
      (r) => r.json() as Promise<{ sha: string }>,
    );
    const dest = path.join(
      reg.paths.downloads,
      'orchard--chat',
      info.sha,
      'onnx',
      'model.onnx.part',
    );
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.writeFile(dest, Buffer.alloc(1000, 7));
    // Recorded as a part of this very file, so it is resumed (and found bad at the end).
    await fs.writeFile(
      dest + '.source',
      resolveUrl(config, 'orchard/chat', info.sha, 'onnx/model.onnx'),
    );
    await expect(pullModel(reg, config, { repo: 'orchard/chat' })).rejects.toThrow(
      /does not match the Hub's checksum/,
    );
    expect(reg.versions.list()).toEqual([]);
    const v = await pullModel(reg, config, { repo: 'orchard/chat' });
    expect(v.state).toBe('ready');
  });

  it('refuses a commit id that is not 40 hex digits before writing anything', async () => {
    // ORCHARD_HOME two levels down in a temp folder, so even a regression that followed
    // '../../..' out of downloads/ would stay inside this test's folder.
    const outer = await tempDir();
    dirs.push(outer);
    const home = path.join(outer, 'a', 'home');
    await fs.mkdir(home, { recursive: true });
    const reg = await Registry.open({ home, shippedModelsDir: SHIPPED_DIR });
    registries.push(reg);
    hub.addRepo('orchard/bad-sha', CHAT_1);
    // A bad mirror: the FakeHub's repository table is private; reach in to fake its answer.
    const repos = (hub as unknown as { repos: Map<string, { sha: string }> }).repos;
    for (const sha of ['../../..', '../escape', 'A'.repeat(40), 'a'.repeat(39), 'a'.repeat(64)]) {
      repos.get('orchard/bad-sha')!.sha = sha;
      hub.resetCounters();
      await expect(pullModel(reg, config, { repo: 'orchard/bad-sha' })).rejects.toMatchObject({
        status: 502,
        message: expect.stringMatching(/not a 40-character hexadecimal commit id/),
      });
      expect(hub.requests.filter((r) => r.url.includes('/resolve/'))).toEqual([]);
    }
    expect(await listDir(reg.paths.downloads)).toEqual([]);
    expect(await listDir(path.join(outer, 'a'))).toEqual(['home']);
    expect(await listDir(outer)).toEqual(['a']);
    expect(reg.versions.list().filter((v) => v.model === 'bad-sha')).toEqual([]);
  });
});
