import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ReplicaActivity, replicaSlots } from '../../../src/engine/replica-activity.js';

describe('ReplicaActivity', () => {
  it('a replica is alone while no other one has work', () => {
    const slots = replicaSlots(3, 4);
    expect(slots.map((s) => [s.index, s.replicas, s.wideThreads])).toEqual([
      [0, 3, 4],
      [1, 3, 4],
      [2, 3, 4],
    ]);
    const [a, b, c] = slots.map((s) => ReplicaActivity.of(s));
    expect([a.alone(), b.alone(), c.alone()]).toEqual([true, true, true]);
    // Its own work does not count against it.
    a.set(true);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([true, false, false]);
    c.set(true);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([false, false, false]);
    a.set(false);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([false, false, true]);
    c.set(false);
    expect(b.alone()).toBe(true);
  });

  it('requests routed to another replica count before its worker starts on them', () => {
    const slots = replicaSlots(2, 2);
    const [a, b] = slots.map((s) => ReplicaActivity.of(s));
    const service = new ReplicaActivity(-1, 2, slots[0].activity);
    service.setInFlight(1, 3);
    expect(a.alone()).toBe(false);
    expect(b.alone()).toBe(true);
    service.setInFlight(1, 0);
    expect(a.alone()).toBe(true);
  });

  it('sees the flags another thread sets (the buffer is shared, not copied)', async () => {
    const [mine, theirs] = replicaSlots(2, 2);
    const me = ReplicaActivity.of(mine);
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const flags = new Int32Array(workerData.activity);
       Atomics.store(flags, workerData.index, 1);
       parentPort.postMessage('busy');
       parentPort.once('message', () => { Atomics.store(flags, workerData.index, 0); parentPort.postMessage('idle'); });`,
      { eval: true, workerData: theirs },
    );
    const next = () => new Promise((resolve) => worker.once('message', resolve));
    expect(await next()).toBe('busy');
    expect(me.alone()).toBe(false);
    worker.postMessage('done');
    expect(await next()).toBe('idle');
    expect(me.alone()).toBe(true);
    await worker.terminate();
  });
});
