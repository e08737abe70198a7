/**
 * Stop strings matched across token boundaries. Text that could be the beginning of a stop
 * string is held back until it either completes the stop string (and is dropped) or can no
 * longer match (and is released), so a client never sees any part of a matched stop string.
 */
export interface StopPush {
  /** Text safe to emit now. */
  text: string;
  /** A stop string matched; `text` ends right before it and nothing after it will be emitted. */
  stopped: boolean;
  matched?: string;
}

export class StopMatcher {
  private readonly stops: string[];
  private held = '';
  private done = false;

  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
  }

  get stopped(): boolean {
    return this.done;
  }

  push(text: string): StopPush {
    if (this.done) return { text: '', stopped: true };
    if (this.stops.length === 0) return { text, stopped: false };
    const buffer = this.held + text;
    let at = -1;
    let matched: string | undefined;
    for (const stop of this.stops) {
      const i = buffer.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        matched = stop;
      }
    }
    if (matched !== undefined) {
      this.done = true;
      this.held = '';
      return { text: buffer.slice(0, at), stopped: true, matched };
    }
    const keep = this.longestPartialSuffix(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { text: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Releases held text once no more text will come. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private longestPartialSuffix(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, buffer.length);
      for (let len = max; len > best; len--) {
        if (buffer.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
