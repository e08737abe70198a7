/**
 * The last few hundred log lines in memory, for the UI's log view and GET /api/logs, with a
 * listener hook so new lines can be pushed to SSE subscribers as they are written.
 */
import { Writable } from 'node:stream';
import type { LogLine } from '../shared/admin-api.js';

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LevelName = (typeof LEVELS)[number];

const PINO_LEVELS: Record<number, LevelName> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export function levelName(n: unknown): LevelName {
  return (typeof n === 'number' && PINO_LEVELS[n]) || 'info';
}

export class LogBuffer {
  private readonly lines: LogLine[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();
  private seq = 0;

  constructor(private readonly capacity = 1000) {}

  push(fields: Omit<LogLine, 'seq'>): void {
    const line = { ...fields, seq: ++this.seq } as LogLine;
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
    for (const l of this.listeners) l(line);
  }

  /** Newest last; `level` is the minimum level shown. */
  recent(options: { level?: LevelName; limit?: number } = {}): LogLine[] {
    const min = LEVELS.indexOf(options.level ?? 'trace');
    const filtered = this.lines.filter((l) => LEVELS.indexOf(l.level) >= min);
    const limit = options.limit ?? 200;
    return filtered.slice(Math.max(0, filtered.length - limit));
  }

  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** A pino destination: parses each JSON line into a LogLine. */
  stream(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _enc, callback) => {
        for (const text of chunk.toString().split('\n')) {
          if (text.trim() === '') continue;
          try {
            const obj = JSON.parse(text) as Record<string, unknown>;
            const { level, time, msg, pid: _pid, hostname: _host, ...rest } = obj;
            this.push({
              ...rest,
              time: typeof time === 'number' ? time : Date.now(),
              level: levelName(level),
              msg: typeof msg === 'string' ? msg : '',
            });
          } catch {
            // Not JSON: keep the raw text rather than lose it.
            this.push({ time: Date.now(), level: 'info', msg: text });
          }
        }
        callback();
      },
    });
  }
}
