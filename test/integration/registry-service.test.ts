/**
 * The registry through a real service: first-run registration of the shipped models, import and
 * pull over the admin API (fake Hub on loopback), pinned versions, load/unload/ps, and bad input
 * answered with OpenAI-shaped errors that leave the registry unchanged.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DeploymentSummary,
  JobSummary,
  LoadedVersionDetail,
  ModelSummary,
  VersionSummary,
} from '../../src/shared/admin-api.js';
import { FakeHub } from '../support/fake-hub.js';
import { SHIPPED_DIR, tempHome } from './rollout-helpers.js';
import { postJson, startTestService, type TestService } from './server-harness.js';

let t: TestService;
let hub: FakeHub;
let scratch: string;
const savedEndpoint = process.env.HF_ENDPOINT;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo('orchard/chat-2', path.join(SHIPPED_DIR, 'orchard-chat-2'));
  hub.addRepo('orchard/no-onnx', path.join(SHIPPED_DIR, 'orchard-chat-2'), {
    exclude: (f) => f.endsWith('.onnx'),
  });
  process.env.HF_ENDPOINT = hub.url;
  scratch = await tempHome('orchard-scratch-');
  t = await startTestService();
});

afterAll(async () => {
  await t?.close();
  await hub?.close();
  await fs.rm(scratch, { recursive: true, force: true });
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

async function getJson<T>(pathname: string): Promise<T> {
  const res = await t.api(pathname);
  expect(res.status, pathname).toBe(200);
  return (await res.json()) as T;
}

async function versionsOf(model: string): Promise<string[]> {
  const models = await getJson<ModelSummary[]>('/api/models');
  return (models.find((m) => m.name === model)?.versions ?? []).map((v) => v.version);
}

async function waitJob(id: string): Promise<JobSummary> {
  let job: JobSummary;
  for (let i = 0; i < 600; i++) {
    job = await getJson<JobSummary>(`/api/jobs/${id}`);
    if (job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not finish');
}

function expectOpenAIError(
  r: { status: number; json: Record<string, unknown> },
  status: number,
  message: RegExp,
): void {
  expect(r.status).toBe(status);
  const err = r.json.error as { message: string; type: string; param: unknown; code: unknown };
  expect(Object.keys(err).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(err.message).toMatch(message);
}

describe('registry in a running service', () => {
  it('registers the shipped models and deployments on first run', async () => {
    const models = await getJson<ModelSummary[]>('/api/models');
    expect(models.map((m) => m.name)).toEqual(['orchard-chat', 'orchard-draft']);
    const chat = models[0];
    expect(chat.versions.map((v) => v.version)).toEqual(['1', '2']);
    const v1 = chat.versions[0];
    expect(v1).toMatchObject({
      state: 'ready',
      source: 'shipped:orchard-chat-1',
      loaded: true,
      contextLength: 1024,
    });
    expect(v1.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.memoryEstimateBytes).toBeGreaterThan(v1.sizeBytes / 4);
    expect(v1.architecture).toMatch(/llama · 4 layers/);
    const deployments = await getJson<DeploymentSummary[]>('/api/deployments');
    expect(deployments.map((d) => [d.name, d.stable, d.candidate])).toEqual([
      ['orchard-chat', '1', null],
      ['orchard-draft', '1', null],
    ]);
    const list = await t.client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['orchard-chat', 'orchard-draft']);
  });

  it('serves a pinned version and names the version that served', async () => {
    const r = await t.client.chat.completions.create({
      model: 'orchard-chat@2',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
      temperature: 0,
    });
    expect(r.model).toBe('orchard-chat@2');
    const d = await t.client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 2,
    });
    expect(d.model).toBe('orchard-chat@1');
    const ps = await getJson<LoadedVersionDetail[]>('/api/ps');
    expect(ps.map((p) => p.servedName).sort()).toEqual(['orchard-chat@1', 'orchard-chat@2']);
    expect(ps.find((p) => p.servedName === 'orchard-chat@1')!.roles).toEqual([
      'orchard-chat: stable',
    ]);
    const unloaded = await postJson(t, '/api/models/orchard-chat/versions/2/unload', {});
    expect(unloaded.status).toBe(200);
    expect((unloaded.json as unknown as VersionSummary).loaded).toBe(false);
    const loaded = await postJson(t, '/api/models/orchard-chat/versions/2/load', {});
    expect((loaded.json as unknown as VersionSummary).loaded).toBe(true);
    await postJson(t, '/api/models/orchard-chat/versions/2/unload', {});
  });

  it('switches a deployment to speculative decoding with the draft model', async () => {
    const put = await t.api('/api/deployments/orchard-chat/speculative', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'draft' }),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as DeploymentSummary).speculative).toBe('draft');
    let chat: LoadedVersionDetail | undefined;
    for (let i = 0; i < 300 && chat?.speculative.mode !== 'draft'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      chat = (await getJson<LoadedVersionDetail[]>('/api/ps')).find(
        (p) => p.servedName === 'orchard-chat@1',
      );
    }
    expect(chat?.speculative.mode).toBe('draft');
    expect(chat?.speculative.draftModelDir).toBe(path.join(SHIPPED_DIR, 'orchard-draft'));
    const r = await t.client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Tell me about pears.' }],
      max_tokens: 16,
      temperature: 0,
    });
    expect(r.model).toBe('orchard-chat@1');
    expect(r.usage?.completion_tokens).toBeGreaterThan(0);
    const events = (
      await getJson<Array<{ kind: string; detail: string }>>('/api/deployments/orchard-chat/events')
    ).at(-1);
    expect(events).toMatchObject({
      kind: 'speculative',
      detail: 'speculative decoding default → draft',
    });
    await t.api('/api/deployments/orchard-chat/speculative', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'default' }),
    });
  });

  it('keeps the old speculative mode when the draft model cannot be used, and says why', async () => {
    // A draft whose vocabulary differs from the chat model's cannot propose tokens for it.
    const draft = path.join(scratch, 'odd-draft');
    await fs.cp(path.join(SHIPPED_DIR, 'orchard-draft'), draft, { recursive: true });
    const tok = JSON.parse(await fs.readFile(path.join(draft, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: Record<string, number> };
    };
    const [first] = Object.keys(tok.model.vocab);
    tok.model.vocab[`${first}-odd`] = tok.model.vocab[first];
    delete tok.model.vocab[first];
    await fs.writeFile(path.join(draft, 'tokenizer.json'), JSON.stringify(tok));
    expect(
      (
        await postJson(t, '/api/models/import', {
          path: draft,
          name: 'orchard-draft',
          version: 'odd',
        })
      ).status,
    ).toBe(200);
    expect(
      (await postJson(t, '/api/deployments/orchard-draft/deploy', { version: 'odd' })).status,
    ).toBe(200);

    const put = await t.api('/api/deployments/orchard-chat/speculative', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'draft' }),
    });
    expect(put.status).toBe(422);
    const err = ((await put.json()) as { error: { message: string; code: string } }).error;
    expect(err.code).toBe('load_failed');
    expect(err.message).toMatch(
      /Speculative decoding 'draft' could not be loaded for 'orchard-chat': .*does not share the tokenizer/,
    );
    expect((await getJson<DeploymentSummary>('/api/deployments/orchard-chat')).speculative).toBe(
      'default',
    );
    const last = (
      await getJson<Array<{ kind: string; detail: string }>>('/api/deployments/orchard-chat/events')
    ).at(-1);
    expect(last?.kind).toBe('speculative');
    expect(last?.detail).toMatch(/speculative decoding draft could not load, back to default/);
    const r = await t.client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(r.model).toBe('orchard-chat@1');
    expect(
      (await postJson(t, '/api/deployments/orchard-draft/deploy', { version: '1' })).status,
    ).toBe(200);
  });

  it('publishes rollout and job events on the SSE stream', async () => {
    const controller = new AbortController();
    const res = await t.api('/api/events', { signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const seen = (async () => {
      while (!(text.includes('event: rollout') && text.includes('event: job'))) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
    })();
    const policy = (await getJson<DeploymentSummary>('/api/deployments/orchard-chat')).policy;
    await t.api('/api/deployments/orchard-chat/policy', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...policy, minRequests: policy.minRequests + 1 }),
    });
    await postJson(t, '/api/models/pull', { repo: 'orchard/missing' });
    await seen;
    controller.abort();
    expect(text).toMatch(/event: rollout\ndata: \{[^\n]*"kind":"policy"/);
    expect(text).toMatch(/event: job\ndata: \{[^\n]*"kind":"pull"/);
  });

  it('imports a folder over the admin API', async () => {
    const src = path.join(scratch, 'my-model');
    await fs.cp(path.join(SHIPPED_DIR, 'orchard-chat-2'), src, { recursive: true });
    const r = await postJson(t, '/api/models/import', { path: src, name: 'mine' });
    expect(r.status).toBe(200);
    const v = r.json as unknown as VersionSummary;
    expect(v).toMatchObject({
      model: 'mine',
      version: '1',
      state: 'ready',
      source: `import:${src}`,
    });
    const files = await fs.readdir(path.join(t.home, 'models', v.digest, 'onnx'));
    expect(files).toEqual(['model.onnx']);
    const answer = await t.client.completions.create({
      model: 'mine',
      prompt: 'apples',
      max_tokens: 2,
    });
    expect(answer.model).toBe('mine@1');
  });

  it('pulls from the Hub as a job with progress and registers the model', async () => {
    const r = await postJson(t, '/api/models/pull', { repo: 'orchard/chat-2', version: 'hub' });
    expect(r.status).toBe(202);
    const job = await waitJob((r.json as unknown as JobSummary).id);
    expect(job).toMatchObject({ kind: 'pull', state: 'done', progress: 1 });
    expect(job.bytesDone).toBe(job.bytesTotal);
    expect(job.result).toMatchObject({ model: 'chat-2', version: 'hub', state: 'ready' });
    expect(await versionsOf('chat-2')).toEqual(['hub']);
  });

  it('answers bad input with clear OpenAI-shaped errors and changes nothing', async () => {
    const before = JSON.stringify(await getJson<ModelSummary[]>('/api/models'));
    const deploymentsBefore = JSON.stringify(
      await getJson<DeploymentSummary[]>('/api/deployments'),
    );

    const notAModel = path.join(scratch, 'not-a-model');
    await fs.mkdir(notAModel, { recursive: true });
    await fs.writeFile(path.join(notAModel, 'notes.txt'), 'hello');
    expectOpenAIError(
      await postJson(t, '/api/models/import', { path: notAModel }),
      400,
      /is not a model folder Orchard can load: config\.json is missing/,
    );

    expectOpenAIError(
      await postJson(t, '/api/deployments/nope/deploy', { version: '2' }),
      404,
      /deployment 'nope' does not exist/,
    );
    expectOpenAIError(
      await postJson(t, '/api/deployments/orchard-chat/deploy', { version: '9' }),
      404,
      /no version '9'/,
    );
    expectOpenAIError(
      await postJson(t, '/api/deployments/orchard-chat/canary', { version: '2', weight: 150 }),
      400,
      /weight must be a percentage greater than 0 and at most 100; got 150/,
    );
    expectOpenAIError(
      await postJson(t, '/api/deployments/orchard-chat/promote', {}),
      400,
      /no candidate to promote/,
    );
    expectOpenAIError(
      await postJson(t, '/api/models/nope/versions/1/load', {}),
      404,
      /model 'nope' does not exist/,
    );
    expectOpenAIError(
      await postJson(t, '/api/deployments', {
        name: 'orchard-chat',
        model: 'orchard-chat',
        version: '1',
      }),
      409,
      /already exists/,
    );
    const chat = await postJson(t, '/v1/chat/completions', {
      model: 'nope@3',
      messages: [{ role: 'user', content: 'x' }],
    });
    expectOpenAIError(chat, 404, /The model 'nope@3' does not exist/);

    const noOnnx = await postJson(t, '/api/models/pull', { repo: 'orchard/no-onnx' });
    const failed = await waitJob((noOnnx.json as unknown as JobSummary).id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/has no ONNX files/);

    const size = (await fs.stat(path.join(SHIPPED_DIR, 'orchard-chat-2/onnx/model.onnx'))).size;
    hub.cutDownload('onnx/model.onnx', Math.floor(size / 3));
    const cut = await postJson(t, '/api/models/pull', { repo: 'orchard/chat-2', name: 'cut' });
    const cutJob = await waitJob((cut.json as unknown as JobSummary).id);
    expect(cutJob.state).toBe('failed');
    expect(cutJob.error).toMatch(/stopped after \d+ of \d+ bytes.*Run the pull again to resume/);

    expect(JSON.stringify(await getJson<ModelSummary[]>('/api/models'))).toBe(before);
    expect(JSON.stringify(await getJson<DeploymentSummary[]>('/api/deployments'))).toBe(
      deploymentsBefore,
    );
  });

  it('deletes an unused version and refuses one a deployment serves', async () => {
    const res = await t.api('/api/models/orchard-chat/versions/1', { method: 'DELETE' });
    expect(res.status).toBe(409);
    const mine = (await getJson<ModelSummary[]>('/api/models')).find((m) => m.name === 'mine')!
      .versions[0];
    const del = await t.api('/api/models/mine/versions/1', { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ deleted: true });
    expect(await versionsOf('mine')).toEqual([]);
    await expect(fs.stat(path.join(t.home, 'models', mine.digest))).rejects.toThrow();
  });
});
