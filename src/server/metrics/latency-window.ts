/**
 * Per served version, the last minute of finished requests: TTFT and TPOT percentiles, request
 * and error counts. Feeds the LiveSnapshot the UI draws every second.
 */
export interface WindowEntry {
  at: number;
  ok: boolean;
  ttftMs?: number;
  tpotMs?: number;
}

export interface WindowFigures {
  ttftP50: number;
  ttftP95: number;
  tpotP50: number;
  tpotP95: number;
  requests: number;
  errors: number;
}

const MAX_ENTRIES = 20_000;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export class LatencyWindow {
  private readonly entries = new Map<string, WindowEntry[]>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(servedName: string, entry: Omit<WindowEntry, 'at'>): void {
    let list = this.entries.get(servedName);
    if (!list) {
      list = [];
      this.entries.set(servedName, list);
    }
    list.push({ ...entry, at: this.now() });
    if (list.length > MAX_ENTRIES) list.splice(0, list.length - MAX_ENTRIES);
  }

  figures(): Record<string, WindowFigures> {
    const cutoff = this.now() - this.windowMs;
    const out: Record<string, WindowFigures> = {};
    for (const [name, list] of this.entries) {
      const firstFresh = list.findIndex((e) => e.at >= cutoff);
      if (firstFresh < 0) {
        this.entries.delete(name);
        continue;
      }
      if (firstFresh > 0) list.splice(0, firstFresh);
      const ttft = list
        .flatMap((e) => (e.ttftMs === undefined ? [] : [e.ttftMs]))
        .sort((a, b) => a - b);
      const tpot = list
        .flatMap((e) => (e.tpotMs === undefined ? [] : [e.tpotMs]))
        .sort((a, b) => a - b);
      out[name] = {
        ttftP50: percentile(ttft, 50),
        ttftP95: percentile(ttft, 95),
        tpotP50: percentile(tpot, 50),
        tpotP95: percentile(tpot, 95),
        requests: list.length,
        errors: list.filter((e) => !e.ok).length,
      };
    }
    return out;
  }
}

/** Generated tokens per second over the last few seconds, from tokens counted as they stream. */
export class TokenRate {
  private readonly events: Array<[number, number]> = [];

  constructor(
    private readonly spanMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  add(tokens: number): void {
    if (tokens > 0) this.events.push([this.now(), tokens]);
  }

  perSecond(): number {
    const now = this.now();
    while (this.events.length > 0 && this.events[0][0] < now - this.spanMs) this.events.shift();
    let sum = 0;
    for (const [, n] of this.events) sum += n;
    return sum / (this.spanMs / 1000);
  }
}
