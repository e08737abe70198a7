/**
 * Shared by the generating routes: ties a request to an AbortController (client hang-up and
 * shutdown both abort the engine work), leases an engine, and streams or collects outputs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/types.js';
import { NotReadyError } from '../../shared/errors.js';
import { toOpenAIError } from '../error-handler.js';
import { CLIENT_GONE_REASON } from '../inflight.js';
import type { ServerDeps } from '../server-deps.js';
import { SseWriter } from '../sse.js';
import { Generation } from './generation.js';
import type { ModelFacts } from './translate-common.js';
import { keepAliveMs } from './translate-common.js';

export function modelFacts(engine: Engine): ModelFacts {
  return {
    contextLength: engine.info.contextLength,
    vocabSize: engine.tokenizer.vocabSize,
    defaults: engine.info.samplingDefaults,
  };
}

export async function startGeneration(
  deps: ServerDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  body: { model: string; user?: string | null; keep_alive?: number | string | null },
): Promise<Generation> {
  if (deps.draining()) throw new NotReadyError('The server is shutting down.');
  const startedAt = performance.now();
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(CLIENT_GONE_REASON);
  });
  // In flight from here, not from when the lease arrives: a request waiting for its model to
  // load is one a graceful shutdown must wait for too.
  const release = deps.inflight.add(controller);
  let lease;
  try {
    lease = await deps.provider.acquire(body.model, {
      user: body.user ?? undefined,
      keepAliveMs: keepAliveMs(body.keep_alive),
      signal: controller.signal,
    });
  } catch (err) {
    release();
    throw err;
  }
  return new Generation(lease, controller, deps, startedAt, release);
}

/**
 * Streams SSE chunks. The first engine output is awaited before the response starts, so
 * errors that come before any token (queue full, bad prompt) still get a proper HTTP status.
 */
export async function streamSse<T>(
  reply: FastifyReply,
  gen: Generation,
  source: AsyncIterator<T>,
  chunks: {
    prelude(): unknown[];
    of(item: T): unknown[];
    /** The final usage chunk, when asked for. */
    usage(): unknown | null;
  },
): Promise<void> {
  let next: IteratorResult<T>;
  try {
    next = await source.next();
  } catch (err) {
    gen.end(err);
    throw err;
  }
  if (gen.clientGone) {
    gen.end();
    reply.hijack();
    reply.raw.destroy();
    return;
  }
  const sse = SseWriter.open(reply);
  try {
    for (const c of chunks.prelude()) await sse.data(c);
    while (!next.done) {
      for (const c of chunks.of(next.value)) await sse.data(c);
      next = await source.next();
    }
    if (gen.cancelledByShutdown) {
      const { body } = toOpenAIError(
        new NotReadyError('The server is shutting down; the request was cancelled.'),
      );
      await sse.data(body);
    } else {
      const usage = chunks.usage();
      if (usage !== null) await sse.data(usage);
      await sse.done();
    }
    gen.end();
  } catch (err) {
    // Mid-stream failures travel in-band: OpenAI clients raise on a `data: {"error": …}` event.
    // The error handler never sees them, so server faults are logged here.
    const mapped = toOpenAIError(err);
    if (mapped.status >= 500) {
      reply.request.log.error(
        { err, url: reply.request.url.split('?')[0] },
        'request failed mid-stream',
      );
    }
    await sse.data(mapped.body);
    gen.end(err);
  } finally {
    sse.end();
  }
}

/**
 * Collects every engine output for a non-streamed response. When the client hung up before
 * the end there is no one to answer: the reply is dropped and returned as is.
 */
export async function collectResponse<T, R>(
  reply: FastifyReply,
  gen: Generation,
  source: AsyncIterable<T>,
  add: (item: T) => void,
  response: () => R,
): Promise<R | FastifyReply> {
  try {
    for await (const item of source) add(item);
    gen.throwIfCancelled();
  } catch (err) {
    gen.end(err);
    throw err;
  }
  gen.end();
  if (gen.clientGone) {
    dropReply(reply);
    return reply;
  }
  return response();
}

/** For non-streamed requests whose client hung up: nothing to send. */
export function dropReply(reply: FastifyReply): void {
  reply.hijack();
  if (!reply.raw.destroyed) reply.raw.destroy();
}
