/**
 * The OpenAI-compatible API through the official `openai` client against a real service with
 * the shipped model: every endpoint and every honoured parameter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestService, type TestService } from './server-harness.js';

let t: TestService;
const MODEL = 'orchard-chat';
const messages = [{ role: 'user' as const, content: 'Tell me about apples.' }];
/** vLLM-style extensions the SDK does not type. */
const extra = (o: Record<string, unknown>) => o as Record<string, never>;

beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

async function tokenize(body: Record<string, unknown>): Promise<number[]> {
  const r = await postJson(t, '/tokenize', { model: MODEL, ...body });
  expect(r.status).toBe(200);
  return r.json.tokens as number[];
}

describe('models and tokenizer routes', () => {
  it('lists the served model', async () => {
    const list = await t.client.models.list();
    expect(list.data.map((m) => m.id)).toContain(MODEL);
    const one = await t.client.models.retrieve(MODEL);
    expect(one.owned_by).toBe('orchard');
  });

  it('tokenizes prompts and messages, and detokenizes', async () => {
    const r = await postJson(t, '/tokenize', {
      model: MODEL,
      prompt: 'Hello apples',
      add_special_tokens: false,
    });
    expect(r.json.count).toBe((r.json.tokens as number[]).length);
    expect(r.json.max_model_len).toBe(1024);
    const back = await postJson(t, '/detokenize', { model: MODEL, tokens: r.json.tokens });
    expect(back.json.prompt).toBe('Hello apples');
    const m = await tokenize({ messages });
    expect(m.length).toBeGreaterThan(3);
  });
});

describe('chat completions', () => {
  it('answers with exact usage and the served version as model', async () => {
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 12,
      temperature: 0,
      logprobs: true,
    });
    expect(r.model).toBe('orchard-chat@1');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.object).toBe('chat.completion');
    expect(typeof r.created).toBe('number');
    const promptTokens = (await tokenize({ messages })).length;
    expect(r.usage?.prompt_tokens).toBe(promptTokens);
    expect(r.usage?.completion_tokens).toBe(r.choices[0].logprobs?.content?.length);
    expect(r.usage?.total_tokens).toBe(promptTokens + (r.usage?.completion_tokens ?? 0));
    expect(r.choices[0].message.role).toBe('assistant');
    expect(['stop', 'length']).toContain(r.choices[0].finish_reason);
  });

  it('streams chunks with usage in a final chunk with empty choices', async () => {
    const body = { model: MODEL, messages, max_tokens: 10, temperature: 0 };
    const whole = await t.client.chat.completions.create(body);
    const stream = await t.client.chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let last: { choices: unknown[]; usage?: { completion_tokens: number } | null } | null = null;
    let finish: string | null = null;
    let role: string | undefined;
    for await (const chunk of stream) {
      last = chunk;
      if (chunk.choices.length > 0) {
        expect(chunk.usage).toBeNull();
        text += chunk.choices[0].delta.content ?? '';
        role ??= chunk.choices[0].delta.role;
        finish = chunk.choices[0].finish_reason ?? finish;
      }
    }
    expect(role).toBe('assistant');
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
  });

  it('returns n = 2 choices, streamed and not', async () => {
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      n: 2,
      max_tokens: 6,
      seed: 11,
      ...extra({ ignore_eos: true }),
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(r.usage?.completion_tokens).toBe(12);
    const stream = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      n: 2,
      max_tokens: 6,
      seed: 11,
      stream: true,
      ...extra({ ignore_eos: true }),
    });
    const texts = ['', ''];
    const finished = new Set<number>();
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finished.add(c.index);
      }
    }
    expect([...finished].sort()).toEqual([0, 1]);
    expect(texts).toEqual(r.choices.map((c) => c.message.content));
  });

  it('returns logprobs with top_logprobs (greedy picks the top token)', async () => {
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 5,
      temperature: 0,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = r.choices[0].logprobs?.content ?? [];
    expect(content.length).toBe(r.usage?.completion_tokens);
    for (const entry of content) {
      expect(entry.logprob).toBeLessThanOrEqual(0);
      expect(entry.top_logprobs).toHaveLength(3);
      expect(entry.top_logprobs[0].token).toBe(entry.token);
      expect(entry.top_logprobs[0].logprob).toBeCloseTo(entry.logprob, 5);
      const lps = entry.top_logprobs.map((x) => x.logprob);
      expect([...lps].sort((a, b) => b - a)).toEqual(lps);
      expect(Buffer.from(entry.bytes ?? []).toString('utf8')).toBe(entry.token);
    }
    // Special tokens (role markers) have logprobs but no text, so the text is a subsequence.
    expect(content.map((c) => c.token).join('')).toContain(
      (r.choices[0].message.content ?? '').slice(0, 1),
    );
  });

  it('gives the same text for the same seed', async () => {
    const ask = (seed: number) =>
      t.client.chat.completions
        .create({ model: MODEL, messages, max_tokens: 16, temperature: 1, seed })
        .then((r) => r.choices[0].message.content);
    const a = await ask(1234);
    const b = await ask(1234);
    expect(a).toBe(b);
    const others = await Promise.all([ask(1), ask(2), ask(3)]);
    expect(others.some((o) => o !== a)).toBe(true);
  });

  it('stops at a stop string and never emits it', async () => {
    const base = {
      model: MODEL,
      messages,
      max_tokens: 40,
      temperature: 0,
      ...extra({ ignore_eos: true }),
    };
    const full = (await t.client.chat.completions.create(base)).choices[0].message.content ?? '';
    expect(full.length).toBeGreaterThan(12);
    const stop = full.slice(8, 11);
    const expected = full.slice(0, full.indexOf(stop));
    const r = await t.client.chat.completions.create({ ...base, stop: [stop, 'zzqqzz'] });
    expect(r.choices[0].message.content).toBe(expected);
    expect(r.choices[0].message.content).not.toContain(stop);
    expect(r.choices[0].finish_reason).toBe('stop');
    const stream = await t.client.chat.completions.create({ ...base, stop, stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(expected);
  });

  it('ends with finish_reason length at max_tokens (max_completion_tokens too)', async () => {
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      max_completion_tokens: 7,
      ...extra({ ignore_eos: true }),
    });
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(7);
  });

  it('applies logit_bias', async () => {
    const [id] = await tokenize({ prompt: ' apple', add_special_tokens: false });
    const piece = (await postJson(t, '/detokenize', { model: MODEL, tokens: [id] })).json
      .prompt as string;
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 4,
      temperature: 0,
      logit_bias: { [String(id)]: 100 },
      ...extra({ ignore_eos: true }),
    });
    expect(r.choices[0].message.content).toBe(piece.repeat(4));
  });

  it('accepts every other sampling parameter', async () => {
    const r = await t.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: [{ type: 'text', text: 'Name a fruit.' }] },
      ],
      max_tokens: 8,
      temperature: 0.8,
      top_p: 0.9,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      user: 'tester',
      seed: 5,
      ...extra({ top_k: 20, min_p: 0.05, repetition_penalty: 1.2, keep_alive: '5m' }),
    });
    expect(r.choices[0].message.content?.length).toBeGreaterThan(0);
  });
});

describe('text completions', () => {
  it('completes text with logprobs in the legacy shape', async () => {
    const r = await t.client.completions.create({
      model: MODEL,
      prompt: 'Once upon a time',
      max_tokens: 6,
      temperature: 0,
      logprobs: 2,
    });
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.object).toBe('text_completion');
    const lp = r.choices[0].logprobs!;
    expect(lp.tokens).toHaveLength(r.usage!.completion_tokens);
    expect(lp.token_logprobs).toHaveLength(lp.tokens!.length);
    expect(lp.top_logprobs![0]).toBeTypeOf('object');
    expect(Object.keys(lp.top_logprobs![0]).length).toBeLessThanOrEqual(2);
    expect(lp.text_offset![0]).toBe(0);
    const offsets = lp.text_offset!;
    expect(offsets.every((o, i) => i === 0 || o >= offsets[i - 1])).toBe(true);
    expect(r.usage?.prompt_tokens).toBe((await tokenize({ prompt: 'Once upon a time' })).length);
  });

  it('handles prompt lists, n, echo and streaming with usage', async () => {
    const r = await t.client.completions.create({
      model: MODEL,
      prompt: ['The orchard', 'An apple'],
      n: 2,
      max_tokens: 3,
      echo: true,
      ...extra({ ignore_eos: true }),
    });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(r.choices[0].text.startsWith('The orchard')).toBe(true);
    expect(r.choices[3].text.startsWith('An apple')).toBe(true);
    expect(r.usage?.completion_tokens).toBe(12);

    const stream = await t.client.completions.create({
      model: MODEL,
      prompt: 'The orchard',
      max_tokens: 5,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: number | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    const whole = await t.client.completions.create({
      model: MODEL,
      prompt: 'The orchard',
      max_tokens: 5,
      temperature: 0,
    });
    expect(text).toBe(whole.choices[0].text);
    expect(usage).toBe(whole.usage?.completion_tokens);
  });
});

describe('service routes', () => {
  it('health, ready, metrics', async () => {
    const health = await fetch(t.urls.baseUrl + '/health');
    expect(health.status).toBe(200);
    const ready = await t.api('/ready');
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { serving: string[] }).serving).toEqual(['orchard-chat@1']);
    const metrics = await t.api('/metrics');
    const text = await metrics.text();
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    for (const name of [
      'orchard:num_requests_running{model="orchard-chat",version="1"}',
      'orchard:num_requests_waiting',
      'orchard:kv_cache_usage_perc',
      'orchard:prefix_cache_queries_total',
      'orchard:prefix_cache_hits_total',
      'orchard:prompt_tokens_total{model="orchard-chat",version="1"}',
      'orchard:generation_tokens_total',
      'orchard:request_success_total{model="orchard-chat",version="1",finished_reason="length"}',
      'orchard:time_to_first_token_seconds_bucket',
      'orchard:inter_token_latency_seconds_bucket',
      'orchard:e2e_request_latency_seconds_bucket',
      'orchard:request_queue_time_seconds_bucket',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('status, key, settings, logs and the event stream', async () => {
    const status = (await (await t.api('/api/status')).json()) as {
      apiBaseUrl: string;
      auth: boolean;
      live: {
        loaded: Array<{ servedName: string; memoryBytes: number }>;
        latency: Record<string, { requests: number }>;
      };
    };
    expect(status.apiBaseUrl).toBe(t.urls.apiUrl);
    expect(status.auth).toBe(true);
    expect(status.live.loaded[0].servedName).toBe('orchard-chat@1');
    expect(status.live.loaded[0].memoryBytes).toBeGreaterThan(0);
    expect(status.live.latency['orchard-chat@1'].requests).toBeGreaterThan(0);
    expect(((await (await t.api('/api/key')).json()) as { apiKey: string }).apiKey).toBe(t.key);
    const settings = (await (await t.api('/api/settings')).json()) as Array<{
      name: string;
      source: string;
    }>;
    expect(settings.find((s) => s.name === 'port')?.source).toBe('flag');
    const logs = (await (await t.api('/api/logs?level=info&limit=5')).json()) as Array<{
      msg: string;
    }>;
    expect(Array.isArray(logs)).toBe(true);
    expect(logs.length).toBeLessThanOrEqual(5);

    const controller = new AbortController();
    const res = await t.api('/api/events', { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let buffered = '';
    while (!buffered.includes('\n\n')) {
      const { value } = await reader.read();
      buffered += new TextDecoder().decode(value);
    }
    expect(buffered).toMatch(/^event: stats\ndata: \{/);
    t.service.events.publish('job', {
      id: 'j1',
      kind: 'pull',
      state: 'running',
      progress: 0.5,
      bytesDone: 1,
      bytesTotal: 2,
      message: 'half',
      revision: 1,
    });
    while (!buffered.includes('event: job')) {
      const { value } = await reader.read();
      buffered += new TextDecoder().decode(value);
    }
    expect(buffered).toContain('"id":"j1"');
    controller.abort();
  });
});
