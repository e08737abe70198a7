/**
 * Hostile and broken requests: each gets a clean OpenAI error body with the right status, and
 * the server keeps serving (a normal request succeeds after every one).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestService, type TestService } from './server-harness.js';

let t: TestService;
const MODEL = 'orchard-chat';
const good = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };

beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

/** A raw HTTP request, so Host and body bytes are exactly what the test says. */
function raw(options: {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const url = new URL(t.urls.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'POST',
        path: options.path,
        headers: {
          authorization: `Bearer ${t.key}`,
          'content-type': 'application/json',
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function errorOf(body: string): {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
} {
  const parsed = JSON.parse(body) as {
    error: { message: string; type: string; param: string | null; code: string | null };
  };
  expect(Object.keys(parsed.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return parsed.error;
}

async function stillServing(): Promise<void> {
  const r = await postJson(t, '/v1/chat/completions', good);
  expect(r.status).toBe(200);
}

interface Case {
  name: string;
  send: () => Promise<{ status: number; body: string }>;
  status: number;
  param?: string | null;
  code?: string;
}

const chat = (body: unknown, headers?: Record<string, string>) =>
  raw({
    path: '/v1/chat/completions',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers,
  });

const cases: Case[] = [
  {
    name: 'malformed JSON',
    send: () => chat('{"model": "orchard-chat", "messages": [}'),
    status: 400,
  },
  { name: 'JSON that is not an object', send: () => chat('[1,2,3]'), status: 400 },
  { name: 'empty body', send: () => chat(''), status: 400 },
  {
    name: 'invalid UTF-8',
    send: () =>
      raw({
        path: '/v1/chat/completions',
        body: Buffer.concat([
          Buffer.from('{"model":"orchard-chat","messages":[{"role":"user","content":"'),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('"}]}'),
        ]),
      }),
    status: 400,
  },
  {
    name: 'wrong type: messages',
    send: () => chat({ model: MODEL, messages: 'hello' }),
    status: 400,
    param: 'messages',
  },
  {
    name: 'wrong type: temperature',
    send: () => chat({ ...good, temperature: 'hot' }),
    status: 400,
    param: 'temperature',
  },
  {
    name: 'negative max_tokens',
    send: () => chat({ ...good, max_tokens: -1 }),
    status: 400,
    param: 'max_tokens',
  },
  { name: 'absurd n', send: () => chat({ ...good, n: 1000 }), status: 400, param: 'n' },
  {
    name: 'absurd top_logprobs',
    send: () => chat({ ...good, logprobs: true, top_logprobs: 99 }),
    status: 400,
    param: 'top_logprobs',
  },
  {
    name: 'temperature above 2',
    send: () => chat({ ...good, temperature: 2.5 }),
    status: 400,
    param: 'temperature',
  },
  {
    name: 'five stop strings',
    send: () => chat({ ...good, stop: ['a', 'b', 'c', 'd', 'e'] }),
    status: 400,
    param: 'stop',
  },
  {
    name: 'huge max_tokens',
    send: () => chat({ ...good, max_tokens: 1e9 }),
    status: 400,
    param: 'messages',
    code: 'context_length_exceeded',
  },
  {
    name: 'over-long prompt',
    send: () =>
      chat({ model: MODEL, messages: [{ role: 'user', content: 'apple '.repeat(3000) }] }),
    status: 400,
    param: 'messages',
    code: 'context_length_exceeded',
  },
  {
    name: '10 MB body',
    send: () =>
      chat({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }] }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'unknown model',
    send: () => chat({ ...good, model: 'no-such-model' }),
    status: 404,
    param: 'model',
    code: 'model_not_found',
  },
  {
    name: 'missing key',
    send: () =>
      raw({
        path: '/v1/chat/completions',
        body: JSON.stringify(good),
        headers: { authorization: '' },
      }),
    status: 401,
    code: 'invalid_api_key',
  },
  {
    name: 'wrong key',
    send: () => chat(good, { authorization: 'Bearer orch-wrong' }),
    status: 401,
  },
  {
    name: 'forged Host header',
    send: () => chat(good, { host: 'attacker.example:80' }),
    status: 403,
    code: 'host_not_allowed',
  },
  {
    name: 'disallowed Origin',
    send: () => chat(good, { origin: 'https://evil.example' }),
    status: 403,
    code: 'origin_not_allowed',
  },
  {
    name: 'unsupported parameter: tools',
    send: () => chat({ ...good, tools: [{ type: 'function', function: { name: 'f' } }] }),
    status: 400,
    param: 'tools',
    code: 'unsupported_parameter',
  },
  {
    name: 'unsupported parameter: response_format',
    send: () => chat({ ...good, response_format: { type: 'json_object' } }),
    status: 400,
    param: 'response_format',
  },
  {
    name: 'unknown field',
    send: () => chat({ ...good, bogus_field: 1 }),
    status: 400,
    param: 'bogus_field',
  },
  {
    name: 'image content part',
    send: () =>
      chat({
        model: MODEL,
        messages: [
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] },
        ],
      }),
    status: 400,
    param: 'messages[0].content[0].type',
  },
  {
    name: 'tool role',
    send: () =>
      chat({ model: MODEL, messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }),
    status: 400,
  },
  {
    name: 'logit_bias id outside vocab',
    send: () => chat({ ...good, logit_bias: { '99999999': 5 } }),
    status: 400,
    param: 'logit_bias',
  },
  {
    name: 'completions: echo with logprobs',
    send: () =>
      raw({
        path: '/v1/completions',
        body: JSON.stringify({ model: MODEL, prompt: 'a', echo: true, logprobs: 1 }),
      }),
    status: 400,
    param: 'echo',
  },
  {
    name: 'completions: suffix',
    send: () =>
      raw({
        path: '/v1/completions',
        body: JSON.stringify({ model: MODEL, prompt: 'a', suffix: 'b' }),
      }),
    status: 400,
    param: 'suffix',
  },
  {
    name: 'wrong content type',
    send: () =>
      raw({
        path: '/v1/chat/completions',
        body: 'hello',
        headers: { 'content-type': 'text/plain' },
      }),
    status: 415,
  },
  { name: 'unknown route', send: () => raw({ path: '/v1/nothing', body: '{}' }), status: 404 },
  {
    name: 'detokenize bad id',
    send: () =>
      raw({ path: '/detokenize', body: JSON.stringify({ model: MODEL, tokens: [1, 99999999] }) }),
    status: 400,
    param: 'tokens[1]',
  },
];

describe('bad input', () => {
  it.each(cases)('$name → $status, and the server keeps serving', async (c) => {
    const r = await c.send();
    expect(r.status).toBe(c.status);
    const err = errorOf(r.body);
    expect(err.message.length).toBeGreaterThan(0);
    if (c.param !== undefined) expect(err.param).toBe(c.param);
    if (c.code !== undefined) expect(err.code).toBe(c.code);
    expect(r.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
    await stillServing();
  });
});

describe('known OpenAI chat parameters Orchard cannot honour', () => {
  it('accepts their null and neutral values', async () => {
    const neutralBodies: Array<Record<string, unknown>> = [
      { metadata: null },
      { functions: [] },
      { function_call: 'none' },
      {
        functions: null,
        function_call: null,
        audio: null,
        prediction: null,
        reasoning_effort: null,
        metadata: null,
        web_search_options: null,
        verbosity: null,
        prompt_cache_key: null,
        safety_identifier: null,
        tools: [],
        tool_choice: 'none',
        response_format: { type: 'text' },
        modalities: ['text'],
        store: false,
        service_tier: 'auto',
        parallel_tool_calls: null,
      },
    ];
    for (const extra of neutralBodies) {
      const r = await chat({ ...good, ...extra });
      expect(r.status, JSON.stringify(extra)).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ object: 'chat.completion' });
    }
  });

  it.each([
    ['functions', [{ name: 'f', parameters: {} }]],
    ['function_call', 'auto'],
    ['audio', { voice: 'alloy', format: 'wav' }],
    ['prediction', { type: 'content', content: 'x' }],
    ['reasoning_effort', 'low'],
    ['metadata', { a: 'b' }],
    ['web_search_options', {}],
    ['verbosity', 'low'],
    ['prompt_cache_key', 'k'],
    ['safety_identifier', 'user-1'],
  ])('rejects a real %s with a clear unsupported 400', async (name, value) => {
    const r = await chat({ ...good, [name]: value });
    expect(r.status).toBe(400);
    const err = errorOf(r.body);
    expect(err.param).toBe(name);
    expect(err.code).toBe('unsupported_parameter');
    expect(err.message).toContain(`does not support the '${name}' parameter`);
  });
});
