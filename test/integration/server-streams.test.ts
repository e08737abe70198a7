/**
 * Many streams at once, a client hanging up mid-stream (its engine work stops), a full queue
 * (429), graceful shutdown (drain, then cancel), and a model that cannot load (503).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestService, waitFor, type TestService } from './server-harness.js';

const MODEL = 'orchard-chat';
const messages = [{ role: 'user' as const, content: 'Tell me a long story about an orchard.' }];
const extra = (o: Record<string, unknown>) => o as Record<string, never>;

describe('concurrency and cancellation', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t?.close();
  });

  const engineStats = () => t.service.provider.loaded()[0].engine.stats();

  it('completes 32 concurrent streams', async () => {
    const one = async (i: number) => {
      const stream = await t.client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: `Story number ${i}` }],
        max_tokens: 12,
        seed: i,
        stream: true,
        stream_options: { include_usage: true },
        ...extra({ ignore_eos: true }),
      });
      let finish: string | null = null;
      let usage = 0;
      for await (const chunk of stream) {
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage.completion_tokens;
      }
      return { finish, usage };
    };
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => one(i)));
    expect(results.every((r) => r.finish === 'length' && r.usage === 12)).toBe(true);
    await waitFor(() => engineStats().running === 0);
  });

  it('aborts the generation when the client disconnects mid-stream', async () => {
    const abortedBefore = engineStats().counters.finished.abort;
    const generatedBefore = engineStats().counters.generationTokens;
    const controller = new AbortController();
    const stream = await t.client.chat.completions.create(
      { model: MODEL, messages, max_tokens: 900, stream: true, ...extra({ ignore_eos: true }) },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _chunk of stream) {
        if (++chunks === 3) controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw on abort; either way the client is gone.
    }
    expect(chunks).toBeGreaterThanOrEqual(3);
    await waitFor(() => engineStats().counters.finished.abort > abortedBefore);
    await waitFor(() => engineStats().running === 0 && engineStats().waiting === 0);
    // It stopped long before its 900 tokens.
    expect(engineStats().counters.generationTokens - generatedBefore).toBeLessThan(900);
    expect(engineStats().kv.usedBlocks).toBe(0);
    const metrics = await (await t.api('/metrics')).text();
    expect(metrics).toMatch(/orchard:request_success_total\{[^}]*finished_reason="abort"\} [1-9]/);
  });

  it('aborts a non-streamed request whose client hangs up', async () => {
    const abortedBefore = engineStats().counters.finished.abort;
    const controller = new AbortController();
    const pending = t.client.chat.completions.create(
      { model: MODEL, messages, max_tokens: 900, ...extra({ ignore_eos: true }) },
      { signal: controller.signal },
    );
    await waitFor(() => engineStats().running > 0);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await waitFor(() => engineStats().counters.finished.abort > abortedBefore);
    await waitFor(() => engineStats().running === 0);
  });
});

describe('a full queue', () => {
  it('answers 429 and keeps serving', async () => {
    const t = await startTestService({ maxRunning: 1, maxWaiting: 1 });
    try {
      const controller = new AbortController();
      const startLong = () =>
        t.client.chat.completions
          .create(
            { model: MODEL, messages, max_tokens: 600, ...extra({ ignore_eos: true }) },
            { signal: controller.signal },
          )
          .catch(() => null);
      const stats = () => t.service.provider.loaded()[0].engine.stats();
      // One at a time: two requests arriving together could both be waiting at once, and the
      // second would be the one refused.
      const first = startLong();
      await waitFor(() => stats().running === 1);
      const long = Promise.all([first, startLong()]);
      await waitFor(() => stats().running === 1 && stats().waiting === 1);
      const r = await postJson(t, '/v1/chat/completions', {
        model: MODEL,
        messages,
        max_tokens: 2,
      });
      expect(r.status).toBe(429);
      expect((r.json.error as { type: string }).type).toBe('rate_limit_error');
      controller.abort();
      await long;
      await waitFor(() => t.service.provider.loaded()[0].engine.stats().running === 0);
      expect(
        (await postJson(t, '/v1/chat/completions', { model: MODEL, messages, max_tokens: 2 }))
          .status,
      ).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets short streams finish, cancels long ones at the deadline, unloads', async () => {
    // The grace period must fit the 40-token stream and not the 1000-token one, even on a fast
    // machine (1000 tokens take ~0.8 s alone here).
    const t = await startTestService({ shutdownGraceMs: 400 });
    let started = 0;
    const collect = async (maxTokens: number) => {
      const stream = await t.client.chat.completions.create({
        model: MODEL,
        messages,
        max_tokens: maxTokens,
        stream: true,
        ...extra({ ignore_eos: true }),
      });
      let finish: string | null = null;
      let first = true;
      for await (const chunk of stream) {
        if (first) started++;
        first = false;
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      return finish;
    };
    const short = collect(40);
    const long = collect(1000).then(
      (f) => ({ ok: true as const, f }),
      (err: Error) => ({ ok: false as const, message: err.message }),
    );
    // Both streams are in flight once each has produced a chunk (engine stats refresh on an
    // interval, so a short stream could come and go between two snapshots).
    await waitFor(() => started === 2);
    const stopping = t.service.stop();
    // New work is refused while draining.
    const refused = await fetch(t.urls.baseUrl + '/ready', {
      headers: { authorization: `Bearer ${t.key}` },
    }).catch(() => null);
    if (refused) expect(refused.status).toBe(503);
    expect(await short).toBe('length');
    const longResult = await long;
    expect(longResult.ok).toBe(false);
    if (!longResult.ok) expect(longResult.message).toMatch(/shutting down/);
    await stopping;
    expect(t.service.provider.loaded()).toEqual([]);
    fs.rmSync(t.home, { recursive: true, force: true });
  });
});

describe('no model ready', () => {
  it('answers 503 on /ready and generation routes when the model cannot load', async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-broken-'));
    const src = path.resolve('resources/models/orchard-chat-1');
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      fs.copyFileSync(path.join(src, f), path.join(broken, f));
    }
    fs.mkdirSync(path.join(broken, 'onnx'));
    fs.writeFileSync(path.join(broken, 'onnx', 'model.onnx'), 'not an onnx file');
    const t = await startTestService({ model: broken });
    try {
      expect(t.urls.loadError).toBeTruthy();
      expect((await fetch(t.urls.baseUrl + '/health')).status).toBe(200);
      expect((await t.api('/ready')).status).toBe(503);
      const name = path.basename(broken);
      const r = await postJson(t, '/v1/chat/completions', { model: name, messages, max_tokens: 2 });
      expect(r.status).toBe(503);
      expect((r.json.error as { code: string }).code).toBe('not_ready');
    } finally {
      await t.close();
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });
});
