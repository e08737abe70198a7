/**
 * A request still waiting for its model to load when a graceful shutdown starts is in flight:
 * the drain waits for it (it gets its answer) instead of closing its socket unanswered.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/engine-host.js';
import { postJson, startTestService } from './server-harness.js';

const MODEL = path.resolve('resources/models/orchard-chat-1');

describe('graceful shutdown and model loads', () => {
  it('drains a request that is waiting for the model to load', async () => {
    let loads = 0;
    const t = await startTestService(
      { model: MODEL, shutdownGraceMs: 20_000 },
      {
        // Every load after the first (at start-up) takes a while.
        loadEngine: async (dir, options, progress) => {
          if (++loads > 1) await new Promise((r) => setTimeout(r, 1500));
          return loadEngine(dir, options, progress);
        },
      },
    );
    const messages = [{ role: 'user', content: 'Hello' }];
    const body = { model: t.service.provider.listModels()[0].id, messages, max_tokens: 4 };
    // keep_alive 0: the model unloads when this request ends, so the next one must load it.
    expect((await postJson(t, '/v1/chat/completions', { ...body, keep_alive: 0 })).status).toBe(
      200,
    );
    await new Promise((r) => setTimeout(r, 100));
    const waiting = postJson(t, '/v1/chat/completions', body);
    await new Promise((r) => setTimeout(r, 300)); // it is now waiting for the load
    expect(loads).toBe(2);
    const stopping = t.service.stop();
    const r = await waiting;
    expect(r.status).toBe(200);
    const choices = r.json.choices as Array<{ message: { content: string } }>;
    expect(choices[0].message.content).toEqual(expect.any(String));
    await stopping;
  });
});
