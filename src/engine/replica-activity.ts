/**
 * Which replicas of a model have work, shared between their worker threads and the service
 * thread through one SharedArrayBuffer. A replica with the cores to itself runs its large steps
 * on a session with every thread (a long prompt's prefill); while another replica is busy too,
 * each runs on its own share. One ONNX Runtime session cannot change its thread count, so a
 * replica opens both (see onnx-session.ts and WIDE_MIN_TOKENS in onnx-runner.ts).
 *
 * Two flags per replica: its worker's step loop runs, and the service thread has requests in
 * flight there. The second is set when a request is routed, before the worker hears of it: a
 * burst split between two replicas otherwise let the first to start see the other idle and run
 * its prefill on every thread while the other started its own. That gains nothing and slows the
 * other: a 512-token prefill on 2 threads took 37.5 ms with another process's 1-thread prefill
 * running (the same as on 1 thread; 28.3 ms alone), and that other one 42.2 ms instead of 38.0.
 */
export interface ReplicaSlot {
  index: number;
  replicas: number;
  activity: SharedArrayBuffer;
  /** Intra-op threads of the session used while alone; 0 = no such session. */
  wideThreads: number;
}

export function replicaSlots(replicas: number, wideThreads: number): ReplicaSlot[] {
  const activity = new SharedArrayBuffer(4 * 2 * replicas);
  return Array.from({ length: replicas }, (_, index) => ({
    index,
    replicas,
    activity,
    wideThreads,
  }));
}

export class ReplicaActivity {
  private readonly flags: Int32Array;

  constructor(
    private readonly index: number,
    private readonly replicas: number,
    activity: SharedArrayBuffer,
  ) {
    this.flags = new Int32Array(activity);
  }

  static of(slot: ReplicaSlot): ReplicaActivity {
    return new ReplicaActivity(slot.index, slot.replicas, slot.activity);
  }

  /** The worker: this replica's step loop runs (it has work) or is idle. */
  set(busy: boolean): void {
    Atomics.store(this.flags, this.index, busy ? 1 : 0);
  }

  /** The service thread: requests in flight on `replica` (routed, not yet finished). */
  setInFlight(replica: number, requests: number): void {
    Atomics.store(this.flags, this.replicas + replica, requests);
  }

  /** No other replica has work or requests on their way to it. */
  alone(): boolean {
    for (let i = 0; i < this.replicas; i++) {
      if (i === this.index) continue;
      if (Atomics.load(this.flags, i) !== 0) return false;
      if (Atomics.load(this.flags, this.replicas + i) !== 0) return false;
    }
    return true;
  }
}
