/**
 * streamSse: failures after the stream started travel in-band, and server faults among them
 * are logged with the request's logger (the error handler never sees them).
 */
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Generation } from '../../../../src/server/openai/generation.js';
import { streamSse } from '../../../../src/server/openai/start-generation.js';
import { BusyError } from '../../../../src/shared/errors.js';

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function streamThatFails(failure: Error): Promise<{
  body: string;
  logs: Array<Record<string, unknown>>;
  ended: unknown[];
}> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const ended: unknown[] = [];
  const gen = {
    clientGone: false,
    cancelledByShutdown: false,
    end: (err?: unknown) => ended.push(err),
  } as unknown as Generation;
  app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) as FastifyBaseLogger });
  app.get('/stream', async (_request, reply) => {
    async function* source(): AsyncGenerator<string> {
      yield 'first';
      throw failure;
    }
    await streamSse(reply, gen, source(), {
      prelude: () => [{ hello: true }],
      of: (item) => [{ item }],
      usage: () => null,
    });
    return reply;
  });
  const res = await app.inject({ method: 'GET', url: '/stream?secret=1' });
  return { body: res.body, logs, ended };
}

describe('streamSse mid-stream failures', () => {
  it('sends a 5xx failure in-band and logs it with the request logger', async () => {
    const { body, logs, ended } = await streamThatFails(new Error('kaboom'));
    expect(body).toContain('data: {"item":"first"}');
    expect(body).toContain('"type":"server_error"');
    expect(body).not.toContain('[DONE]');
    const failed = logs.filter((l) => l.msg === 'request failed mid-stream');
    expect(failed).toHaveLength(1);
    expect(failed[0].level).toBe(50);
    expect(failed[0].url).toBe('/stream');
    expect(failed[0].reqId).toBeDefined();
    expect((failed[0].err as { message: string }).message).toBe('kaboom');
    expect(ended).toHaveLength(1);
    expect((ended[0] as Error).message).toBe('kaboom');
  });

  it('does not log client-side (4xx) failures', async () => {
    const { body, logs } = await streamThatFails(new BusyError());
    expect(body).toContain('"error"');
    expect(logs.filter((l) => l.msg === 'request failed mid-stream')).toHaveLength(0);
  });
});
