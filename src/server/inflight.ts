/**
 * Generations in flight, so shutdown can wait for them (up to the grace period) and then
 * cancel whatever is left.
 */
export const SHUTDOWN_REASON = 'shutdown';
export const CLIENT_GONE_REASON = 'client disconnected';

export class Inflight {
  private readonly active = new Set<AbortController>();
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.active.size;
  }

  /** Registers a generation; call the returned function when it ends. */
  add(controller: AbortController): () => void {
    this.active.add(controller);
    return () => {
      this.active.delete(controller);
      if (this.active.size === 0) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      }
    };
  }

  /** Waits until nothing is in flight or `graceMs` passes; then aborts the rest. */
  async drain(graceMs: number): Promise<{ cancelled: number }> {
    if (this.active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const cancelled = this.active.size;
    for (const c of this.active) c.abort(SHUTDOWN_REASON);
    return { cancelled };
  }
}

/** Resolves once nothing is in flight, or after `timeoutMs`. */
export async function waitIdle(inflight: Inflight, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (inflight.size > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
}
