import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { drainPort } from '../../../src/engine/port-drain.js';

describe('drainPort', () => {
  it('takes every queued message at once, in order, and none is dispatched again', async () => {
    const { port1, port2 } = new MessageChannel();
    const dispatched: unknown[] = [];
    port2.on('message', (m) => dispatched.push(m));
    port1.postMessage({ n: 1 });
    port1.postMessage({ n: 2 });
    port1.postMessage({ n: 3, data: new Float32Array([1, 2]) });
    // Synchronously, without giving the event loop a turn (as between two model runs).
    const taken: unknown[] = [];
    expect(drainPort(port2, (m) => taken.push(m))).toBe(3);
    expect(taken).toEqual([{ n: 1 }, { n: 2 }, { n: 3, data: new Float32Array([1, 2]) }]);
    expect(drainPort(port2, (m) => taken.push(m))).toBe(0);
    // Later messages still arrive as events; the drained ones never do.
    port1.postMessage({ n: 4 });
    await new Promise((r) => setTimeout(r, 20));
    expect(dispatched).toEqual([{ n: 4 }]);
    port1.close();
  });
});
