import { describe, expect, it } from 'vitest';
import type { Engine } from '../../../../src/engine/types.js';
import { Generation } from '../../../../src/server/openai/generation.js';
import { ServingMetrics } from '../../../../src/server/metrics/serving-metrics.js';
import { Inflight } from '../../../../src/server/inflight.js';
import type { ModelLease, RequestOutcome } from '../../../../src/service/model-provider.js';
import { NotReadyError } from '../../../../src/shared/errors.js';

function generation(): { gen: Generation; outcomes: RequestOutcome[]; inflight: Inflight } {
  const outcomes: RequestOutcome[] = [];
  const lease = {
    engine: {} as Engine,
    servedName: 'chat@2',
    done: (o: RequestOutcome) => outcomes.push(o),
  } as unknown as ModelLease;
  const inflight = new Inflight();
  const gen = new Generation(
    lease,
    new AbortController(),
    { metrics: new ServingMetrics(() => []), inflight },
    performance.now(),
  );
  return { gen, outcomes, inflight };
}

describe('Generation outcomes', () => {
  it('a request cut short by our shutdown is not counted against the version', async () => {
    const { gen, outcomes, inflight } = generation();
    await inflight.drain(0); // the deadline passes: in-flight work is aborted for shutdown
    expect(gen.cancelledByShutdown).toBe(true);
    gen.end(new NotReadyError('The server is shutting down; the request was cancelled.'));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ ok: false, counted: false });
  });

  it('a server failure outside shutdown counts', () => {
    const { gen, outcomes } = generation();
    gen.end(new Error('engine worker crashed'));
    expect(outcomes[0].ok).toBe(false);
    expect(outcomes[0].counted).toBeUndefined();
  });
});
