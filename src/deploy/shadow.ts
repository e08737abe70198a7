/**
 * Shadow traffic: the same GenerateRequest runs on the candidate in the background while stable
 * answers the client. What the candidate did — latency, errors, and on greedy requests how many
 * of its tokens agree with stable's — is recorded; its text goes nowhere. Shadows are capped so
 * they cannot starve the requests clients are waiting for.
 */
import type { Logger } from 'pino';
import type { GenerateRequest } from '../engine/types.js';
import type { EngineHold, LifecycleManager, LoadTarget } from './lifecycle.js';

export interface ShadowResult {
  ok: boolean;
  error?: string;
  ttftMs?: number;
  e2eMs: number;
  /** Token agreement with stable (0..1) on greedy single-choice requests; null otherwise. */
  agreement: number | null;
}

/** Position-wise matches over the longer sequence: 1 when identical, 0 when nothing lines up. */
export function tokenAgreement(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  if (n === 0) return 1;
  let same = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) same++;
  return same / n;
}

export class ShadowRunner {
  private running = 0;
  private readonly controllers = new Set<AbortController>();
  skipped = 0;

  constructor(
    private readonly lifecycle: LifecycleManager,
    private readonly logger: Logger,
    readonly maxConcurrent = 4,
  ) {}

  /**
   * Starts a mirrored run. `stableTokens` resolves with stable's output tokens when the client's
   * request ends (null when it failed). Returns false when the shadow was skipped (at capacity).
   */
  mirror(
    target: LoadTarget,
    request: GenerateRequest,
    stableTokens: Promise<number[] | null>,
    onResult: (r: ShadowResult) => void,
  ): boolean {
    if (this.running >= this.maxConcurrent) {
      this.skipped++;
      return false;
    }
    this.running++;
    const controller = new AbortController();
    this.controllers.add(controller);
    void this.run(target, request, stableTokens, controller)
      .then(onResult, (err: Error) =>
        this.logger.warn({ err, model: target.key }, 'shadow run failed'),
      )
      .finally(() => {
        this.running--;
        this.controllers.delete(controller);
      });
    return true;
  }

  private async run(
    target: LoadTarget,
    request: GenerateRequest,
    stableTokens: Promise<number[] | null>,
    controller: AbortController,
  ): Promise<ShadowResult> {
    const started = performance.now();
    let hold: EngineHold | null = null;
    let ttftMs: number | undefined;
    const tokens: number[] = [];
    try {
      hold = await this.lifecycle.acquire(target, { signal: controller.signal });
      const copy: GenerateRequest = {
        ...request,
        requestId: request.requestId ? `${request.requestId}-shadow` : undefined,
      };
      for await (const out of hold.engine.generate(copy, controller.signal)) {
        for (const c of out.choices) {
          if (c.tokenIds.length > 0 && ttftMs === undefined) ttftMs = performance.now() - started;
          if (c.index === 0) tokens.push(...c.tokenIds);
        }
      }
    } catch (err) {
      return {
        ok: false,
        error: (err as Error).message,
        e2eMs: performance.now() - started,
        agreement: null,
      };
    } finally {
      hold?.release();
    }
    const e2eMs = performance.now() - started;
    const greedy = request.params.temperature === 0 && request.params.n === 1;
    const stable = greedy ? await stableTokens : null;
    return { ok: true, ttftMs, e2eMs, agreement: stable ? tokenAgreement(stable, tokens) : null };
  }

  close(): void {
    for (const c of this.controllers) c.abort();
  }
}
