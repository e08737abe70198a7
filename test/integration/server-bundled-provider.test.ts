/**
 * The plain provider behind `--model <folder>`: name and version from the folder, eager load,
 * Ollama-like keep_alive (0 unloads after the request) and a just-in-time reload.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nameFromFolder, resolveModelSource } from '../../src/service/bundled-provider.js';
import { SettingsError } from '../../src/service/settings-loader.js';
import { postJson, startTestService, waitFor, type TestService } from './server-harness.js';

const FOLDER = path.resolve('resources/models/orchard-chat-1');

describe('model sources', () => {
  it('names folders and shipped models', () => {
    expect(nameFromFolder('/x/orchard-chat-1')).toEqual({ name: 'orchard-chat', version: '1' });
    expect(nameFromFolder('/x/my-model')).toEqual({ name: 'my-model', version: 'local' });
    expect(resolveModelSource('orchard-chat')).toMatchObject({
      name: 'orchard-chat',
      version: '1',
      dir: FOLDER,
    });
    expect(resolveModelSource('orchard-chat@1').dir).toBe(FOLDER);
    expect(resolveModelSource(FOLDER)).toMatchObject({ name: 'orchard-chat', version: '1' });
    expect(() => resolveModelSource('no-such-model')).toThrow(SettingsError);
    expect(() => resolveModelSource('./no/such/folder')).toThrow(/config.json/);
  });
});

describe('bundled provider', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ model: FOLDER });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves the folder eagerly as orchard-chat@1', async () => {
    expect(t.service.provider.isReady()).toBe(true);
    expect((await t.client.models.list()).data.map((m) => m.id)).toEqual(['orchard-chat']);
    const r = await t.client.chat.completions.create({
      model: 'orchard-chat@1',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 3,
    });
    expect(r.model).toBe('orchard-chat@1');
  });

  it('keeps the model loaded when keep_alive is too long for a timer', async () => {
    // Node fires a setTimeout of 2^31 ms or more after 1 ms; that must not unload the model.
    const lease = await t.service.provider.acquire('orchard-chat', { keepAliveMs: 2 ** 31 });
    lease.done({ ok: true, e2eMs: 1, promptTokens: 1, completionTokens: 0 });
    await new Promise((r) => setTimeout(r, 200));
    expect(t.service.provider.loaded()).toHaveLength(1);
    const r = await postJson(t, '/v1/chat/completions', {
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
      keep_alive: '600h',
    });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 200));
    expect(t.service.provider.loaded()).toHaveLength(1);
    expect((await t.api('/ready')).status).toBe(200);
  });

  it('unloads after keep_alive 0 and reloads on the next request', async () => {
    const r = await postJson(t, '/v1/chat/completions', {
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
      keep_alive: 0,
    });
    expect(r.status).toBe(200);
    await waitFor(() => t.service.provider.loaded().length === 0);
    expect((await t.api('/ready')).status).toBe(503);
    const again = await postJson(t, '/v1/chat/completions', {
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });
    expect(again.status).toBe(200);
    expect(t.service.provider.loaded()).toHaveLength(1);
    expect((await t.api('/ready')).status).toBe(200);
  });
});
