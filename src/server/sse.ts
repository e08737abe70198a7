/**
 * Server-Sent Events over a hijacked fastify reply: OpenAI's `data: {...}` / `data: [DONE]`
 * framing and named events for /api/events. Writes wait for 'drain' so a slow client slows
 * its own stream instead of growing our memory.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export class SseWriter {
  private closed = false;

  constructor(private readonly raw: ServerResponse) {
    raw.on('close', () => {
      this.closed = true;
    });
  }

  /** Takes the response over from fastify and sends the SSE headers (keeping CORS headers). */
  static open(reply: FastifyReply): SseWriter {
    const headers: Record<string, string | number | string[]> = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = value;
    }
    reply.hijack();
    reply.raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Headers go out now so clients see the stream open before the first event.
    reply.raw.flushHeaders();
    return new SseWriter(reply.raw);
  }

  get isClosed(): boolean {
    return this.closed || this.raw.writableEnded || this.raw.destroyed;
  }

  /** `data: <json>` */
  data(payload: unknown): Promise<boolean> {
    return this.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** `event: <name>` + `data: <json>` */
  event(name: string, payload: unknown): Promise<boolean> {
    return this.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
  }

  comment(text = ''): Promise<boolean> {
    return this.write(`: ${text}\n\n`);
  }

  done(): Promise<boolean> {
    return this.write('data: [DONE]\n\n');
  }

  end(): void {
    if (!this.raw.writableEnded) this.raw.end();
  }

  /** Resolves false when the client has gone. */
  write(chunk: string): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    if (this.raw.write(chunk)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onDrain = (): void => {
        this.raw.off('close', onClose);
        resolve(true);
      };
      const onClose = (): void => {
        this.raw.off('drain', onDrain);
        resolve(false);
      };
      this.raw.once('drain', onDrain);
      this.raw.once('close', onClose);
    });
  }
}
