import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  ReplicaActivity,
  ReplicaLoads,
  replicaSlots,
} from '../../../src/engine/replica-activity.js';

describe('ReplicaActivity', () => {
  it('a replica is alone while no other one has requests in flight', () => {
    const slots = replicaSlots(3, 4);
    expect(slots.map((s) => [s.index, s.wideThreads])).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
    ]);
    const loads = new ReplicaLoads(slots[0].activity);
    const [a, b, c] = slots.map((s) => new ReplicaActivity(s));
    expect([a.alone(), b.alone(), c.alone()]).toEqual([true, true, true]);
    // Its own requests do not count against it.
    loads.set(0, 2);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([true, false, false]);
    loads.set(2, 1);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([false, false, false]);
    loads.set(0, 0);
    expect([a.alone(), b.alone(), c.alone()]).toEqual([false, false, true]);
    loads.set(2, 0);
    expect(b.alone()).toBe(true);
  });

  it('a replica that just sent a prefix another one waits for expects company for a step', () => {
    const [first, second] = replicaSlots(2, 2);
    const a = new ReplicaActivity(first);
    expect(a.alone()).toBe(true);
    a.expectCompany();
    expect(a.alone()).toBe(false);
    a.stepDone();
    expect(a.alone()).toBe(true);
    // Once the other's requests are sent, their count says it.
    new ReplicaLoads(second.activity).set(1, 3);
    expect(a.alone()).toBe(false);
  });

  it('a worker thread sees the counts the service thread sets (the buffer is shared)', async () => {
    const [first, second] = replicaSlots(2, 2);
    const loads = new ReplicaLoads(first.activity);
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const counts = new Int32Array(workerData.activity);
       parentPort.on('message', () => parentPort.postMessage(Atomics.load(counts, 0)));`,
      { eval: true, workerData: second },
    );
    const ask = () =>
      new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('count?');
      });
    loads.set(0, 3);
    expect(await ask()).toBe(3);
    loads.set(0, 0);
    expect(await ask()).toBe(0);
    await worker.terminate();
  });
});
