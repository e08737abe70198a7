/**
 * Canaries and shadows in a real service: traffic split by weight (sticky per user) checked on
 * the `model` field of responses, automatic rollback of broken candidates — before traffic
 * (NaN weights, a corrupted file) and on live outcomes — promote/rollback by hand, auto-promote,
 * and shadow token agreement.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/deploy/router.js';
import type {
  DeploymentSummary,
  MetricsBucket,
  ShadowLive,
  RolloutEvent,
  VersionSummary,
} from '../../src/shared/admin-api.js';
import { SHIPPED_DIR, nanModel, tempHome } from './rollout-helpers.js';
import { postJson, startTestService, type TestService } from './server-harness.js';

let t: TestService;
let scratch: string;

beforeAll(async () => {
  scratch = await tempHome('orchard-canary-');
  t = await startTestService({ maxLoaded: 3 });
});
afterAll(async () => {
  await t?.close();
  await fs.rm(scratch, { recursive: true, force: true });
});

async function json<T>(pathname: string, init?: RequestInit): Promise<T> {
  const res = await t.api(pathname, init);
  expect(res.status, `${pathname}: ${res.status}`).toBeLessThan(300);
  return (await res.json()) as T;
}

const deployment = () => json<DeploymentSummary>('/api/deployments/orchard-chat');
const events = () => json<RolloutEvent[]>('/api/deployments/orchard-chat/events');

async function put(pathname: string, body: unknown): Promise<Response> {
  return t.api(pathname, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function setPolicy(p: Partial<DeploymentSummary['policy']>): Promise<void> {
  const current = (await deployment()).policy;
  expect((await put('/api/deployments/orchard-chat/policy', { ...current, ...p })).status).toBe(
    200,
  );
}

async function importCopy(src: string, version: string): Promise<VersionSummary> {
  const r = await postJson(t, '/api/models/import', { path: src, name: 'orchard-chat', version });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as unknown as VersionSummary;
}

async function ask(user?: string, content = 'Hello there'): Promise<string> {
  const r = await t.client.chat.completions.create({
    model: 'orchard-chat',
    messages: [{ role: 'user', content }],
    max_tokens: 2,
    ...(user ? { user } : {}),
  });
  return r.model;
}

/** Runs `n` requests, `concurrency` at a time. */
async function many<T>(
  n: number,
  concurrency: number,
  one: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

describe('canary', () => {
  it('routes 10% of users to the canary, each user to the side its bucket says', async () => {
    const r = await postJson(t, '/api/deployments/orchard-chat/canary', {
      version: '2',
      weight: 10,
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect((r.json as unknown as DeploymentSummary).candidate).toEqual({
      version: '2',
      weight: 10,
      mode: 'canary',
    });
    await setPolicy({ maxTtftRatio: 1000 });

    const USERS = 300;
    const models = await many(USERS, 8, (i) => ask(`user-${i}`));
    let hits = 0;
    for (let i = 0; i < USERS; i++) {
      const expected =
        (bucketOf(`orchard-chat\u0000user-${i}`) / 10000) * 100 < 10
          ? 'orchard-chat@2'
          : 'orchard-chat@1';
      expect(models[i], `user-${i}`).toBe(expected);
      if (models[i] === 'orchard-chat@2') hits++;
    }
    // Sticky: a user asked again lands on the same version.
    for (const i of [0, 1, 2, 3, 4]) expect(await ask(`user-${i}`)).toBe(models[i]);
    const anonymous = await many(200, 8, () => ask());
    const anonHits = anonymous.filter((m) => m === 'orchard-chat@2').length;
    console.log(
      `canary e2e at weight 10: users ${((hits / USERS) * 100).toFixed(1)}% (${hits}/${USERS}), anonymous ${((anonHits / 200) * 100).toFixed(1)}% (${anonHits}/200)`,
    );
    expect(hits / USERS).toBeGreaterThanOrEqual(0.05);
    expect(hits / USERS).toBeLessThanOrEqual(0.15);
    expect(anonHits).toBeGreaterThan(0);
    expect(anonHits).toBeLessThan(60);
  });

  it('changes the weight, promotes by hand and rolls back to the previous stable', async () => {
    const patched = await t.api('/api/deployments/orchard-chat/canary', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight: 100 }),
    });
    expect(((await patched.json()) as DeploymentSummary).candidate?.weight).toBe(100);
    expect(await ask()).toBe('orchard-chat@2');
    const promoted = await postJson(t, '/api/deployments/orchard-chat/promote', {});
    expect(promoted.json).toMatchObject({ stable: '2', candidate: null });
    expect(await ask()).toBe('orchard-chat@2');
    const back = await postJson(t, '/api/deployments/orchard-chat/rollback', { reason: 'testing' });
    expect(back.json).toMatchObject({ stable: '1', candidate: null });
    expect(await ask()).toBe('orchard-chat@1');
    const kinds = (await events()).map((e) => e.kind);
    expect(kinds.slice(-4)).toEqual(['policy', 'weight', 'promote', 'rollback']);
  });

  it('promotes automatically after N healthy requests', async () => {
    await postJson(t, '/api/deployments/orchard-chat/canary', { version: '2', weight: 100 });
    await setPolicy({ autoPromoteAfter: 5, minRequests: 3 });
    for (let i = 0; i < 5; i++) await ask();
    const d = await deployment();
    expect(d).toMatchObject({ stable: '2', candidate: null });
    const last = (await events()).at(-1)!;
    expect(last).toMatchObject({ kind: 'auto-promote', fromVersion: '1', toVersion: '2' });
    expect(last.detail).toMatch(/5 healthy candidate requests/);
    await setPolicy({ autoPromoteAfter: 0, minRequests: 20 });
    await postJson(t, '/api/deployments/orchard-chat/deploy', { version: '1' });
  });
});

describe('broken candidates', () => {
  it('rolls back a candidate with NaN weights before it takes traffic, and records why', async () => {
    const broken = await nanModel(path.join(SHIPPED_DIR, 'orchard-chat-2'), scratch, 'nan');
    await importCopy(broken, 'nan');
    const before = await events();
    const r = await postJson(t, '/api/deployments/orchard-chat/canary', {
      version: 'nan',
      weight: 10,
    });
    expect(r.status).toBe(422);
    expect((r.json.error as { code: string; message: string }).message).toMatch(
      /orchard-chat@nan failed its warm-up: produced a non-finite logprob/,
    );
    expect(await deployment()).toMatchObject({ stable: '1', candidate: null });
    const added = (await events()).slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ kind: 'auto-rollback', fromVersion: 'nan', toVersion: '1' });
    expect(added[0].detail).toMatch(
      /canary of nan rolled back before taking traffic: .*non-finite logprob/,
    );

    const d = await postJson(t, '/api/deployments/orchard-chat/deploy', { version: 'nan' });
    expect(d.status).toBe(422);
    expect(await deployment()).toMatchObject({ stable: '1', candidate: null });
    expect((await events()).at(-1)!.detail).toMatch(/deploy to nan abandoned, still serving 1/);
    expect(await ask()).toBe('orchard-chat@1');
  });

  it('rolls back a candidate whose files were corrupted on disk', async () => {
    const v = await importCopy(path.join(SHIPPED_DIR, 'orchard-chat-2'), 'disk');
    const file = path.join(t.home, 'models', v.digest, 'onnx/model.onnx');
    await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));
    const r = await postJson(t, '/api/deployments/orchard-chat/canary', {
      version: 'disk',
      weight: 10,
    });
    expect(r.status).toBe(422);
    expect((r.json.error as { message: string }).message).toMatch(
      /orchard-chat@disk failed to load/,
    );
    expect((await events()).at(-1)).toMatchObject({ kind: 'auto-rollback', fromVersion: 'disk' });
    expect(await deployment()).toMatchObject({ stable: '1', candidate: null });
  });

  it('rolls back on live outcomes when the canary starts failing, without failing clients', async () => {
    const v = await importCopy(path.join(SHIPPED_DIR, 'orchard-chat-2'), 'fragile');
    const ok = await postJson(t, '/api/deployments/orchard-chat/canary', {
      version: 'fragile',
      weight: 50,
    });
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    await setPolicy({ minRequests: 4, maxErrorRate: 0.2 });
    // The disk fails under the running canary; once unloaded it cannot come back.
    const file = path.join(t.home, 'models', v.digest, 'onnx/model.onnx');
    await fs.truncate(file, 1000);
    expect((await postJson(t, '/api/models/orchard-chat/versions/fragile/unload', {})).status).toBe(
      200,
    );

    const served = await many(40, 4, (i) => ask(`live-${i}`));
    expect(served.every((m) => m === 'orchard-chat@1')).toBe(true);
    const d = await deployment();
    expect(d.candidate).toBeNull();
    const rollback = (await events()).filter((e) => e.kind === 'auto-rollback').at(-1)!;
    expect(rollback).toMatchObject({ fromVersion: 'fragile', toVersion: '1' });
    expect(rollback.detail).toMatch(/error rate 100\.0% \(4 of 4\) exceeds 20\.0%.*failed to load/);
    console.log(`live auto-rollback: ${rollback.detail.slice(0, 160)}`);
    await setPolicy({ minRequests: 20, maxErrorRate: 0.05 });
  });
});

describe('shadow', () => {
  async function shadowStats(version: string): Promise<NonNullable<MetricsBucket['shadow']>> {
    const buckets = await json<MetricsBucket[]>(
      `/api/metrics/history?model=orchard-chat&version=${version}&minutes=10`,
    );
    const s = { requests: 0, errors: 0, compared: 0, agreement: 0 };
    for (const b of buckets) {
      if (!b.shadow) continue;
      s.agreement =
        (s.agreement * s.compared + b.shadow.agreement * b.shadow.compared) /
        Math.max(1, s.compared + b.shadow.compared);
      s.requests += b.shadow.requests;
      s.errors += b.shadow.errors;
      s.compared += b.shadow.compared;
    }
    return s;
  }

  async function runShadow(
    version: string,
    requests: number,
  ): Promise<NonNullable<MetricsBucket['shadow']>> {
    // Loaded first: mirrors that would wait for a load beyond the shadow cap (4 at once) are
    // skipped by design, and how many depends on the machine's speed.
    const loaded = await postJson(t, `/api/models/orchard-chat/versions/${version}/load`, {});
    expect(loaded.status, JSON.stringify(loaded.json)).toBeLessThan(300);
    const r = await postJson(t, '/api/deployments/orchard-chat/canary', {
      version,
      weight: 100,
      mode: 'shadow',
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    for (let i = 0; i < requests; i++) {
      const answer = await t.client.chat.completions.create({
        model: 'orchard-chat',
        messages: [{ role: 'user', content: `Tell me about apples, number ${i}.` }],
        max_tokens: 12,
        temperature: 0,
      });
      expect(answer.model).toBe('orchard-chat@1');
      // One mirror at a time: beyond 4 running at once they are skipped by design, and on a
      // busy machine the shadow can lag behind the answers.
      const until = Date.now() + 30_000;
      while ((await shadowStats(version)).requests < i + 1 && Date.now() < until)
        await new Promise((res) => setTimeout(res, 50));
    }
    let stats = await shadowStats(version);
    const until = Date.now() + 60_000;
    while (stats.requests < requests && Date.now() < until) {
      await new Promise((res) => setTimeout(res, 200));
      stats = await shadowStats(version);
    }
    // The live view the deployment card shows tells the same story as the metrics history.
    const { shadow: live } = await json<{ shadow: ShadowLive | null }>(
      '/api/deployments/orchard-chat/shadow',
    );
    expect(live).toMatchObject({
      version,
      mirrored: stats.requests,
      errors: stats.errors,
      compared: stats.compared,
      skipped: 0,
    });
    expect(live!.agreement).toBeCloseTo(stats.agreement, 6);
    expect(live!.ttftP95).toBeGreaterThan(0);
    await postJson(t, '/api/deployments/orchard-chat/rollback', { reason: 'shadow done' });
    // No shadow candidate, no live view; an unknown deployment is a 404 in the error shape.
    expect(
      (await json<{ shadow: ShadowLive | null }>('/api/deployments/orchard-chat/shadow')).shadow,
    ).toBeNull();
    const unknown = await t.api('/api/deployments/nope/shadow');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(
      /deployment 'nope' does not exist/,
    );
    return stats;
  }

  it('mirrors traffic, answers from stable and records token agreement', async () => {
    await importCopy(path.join(SHIPPED_DIR, 'orchard-chat-1'), 'twin');
    const twin = await runShadow('twin', 8);
    const other = await runShadow('2', 8);
    console.log(
      `shadow agreement: identical weights ${twin.agreement.toFixed(3)} (${twin.compared}), version 2 ${other.agreement.toFixed(3)} (${other.compared})`,
    );
    expect(twin).toMatchObject({ requests: 8, errors: 0, compared: 8 });
    expect(twin.agreement).toBeGreaterThan(0.9);
    expect(other).toMatchObject({ requests: 8, errors: 0, compared: 8 });
    expect(other.agreement).toBeGreaterThanOrEqual(0);
    expect(other.agreement).toBeLessThanOrEqual(1);
    const kinds = (await events()).map((e) => e.kind).slice(-4);
    expect(kinds).toEqual(['shadow', 'rollback', 'shadow', 'rollback']);
  });
});
