/**
 * pino, writing human-readable lines to stderr (stdout is kept for the URLs `orchard serve`
 * prints) and structured lines into the in-memory LogBuffer.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { levelName, LogBuffer } from './log-buffer.js';

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (v && typeof v === 'object' && 'message' in v) return JSON.stringify((v as Error).message);
  return JSON.stringify(v);
}

/** `12:03:04.123 INFO  message key=value` */
export function prettyLine(obj: Record<string, unknown>): string {
  const { level, time, msg, pid: _p, hostname: _h, err, ...rest } = obj;
  const t = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23);
  const extras = Object.entries(rest)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  let line = `${t} ${levelName(level).toUpperCase().padEnd(5)} ${String(msg ?? '')}`;
  if (extras) line += ` ${extras}`;
  if (err && typeof err === 'object') {
    const e = err as { message?: string; stack?: string };
    line += `\n  ${e.stack ?? e.message ?? ''}`;
  }
  return line + '\n';
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, callback) {
      for (const text of chunk.toString().split('\n')) {
        if (text.trim() === '') continue;
        try {
          out.write(prettyLine(JSON.parse(text) as Record<string, unknown>));
        } catch {
          out.write(text + '\n');
        }
      }
      callback();
    },
  });
}

export interface ServiceLogger {
  logger: Logger;
  buffer: LogBuffer;
}

export function createLogger(
  level: string,
  options: { console?: NodeJS.WritableStream | null } = {},
): ServiceLogger {
  const buffer = new LogBuffer();
  const streams: pino.StreamEntry[] = [{ stream: buffer.stream(), level: 'trace' }];
  const consoleOut = options.console === undefined ? process.stderr : options.console;
  if (consoleOut) streams.push({ stream: prettyStream(consoleOut), level: 'trace' });
  const logger = pino(
    {
      level,
      base: undefined,
      // Secrets never reach the log, even when a caller logs a whole request.
      redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'],
    },
    pino.multistream(streams),
  );
  return { logger, buffer };
}
