/**
 * Which replicas of a model have requests in flight, shared between the service thread (which
 * routes them, engine-replicas.ts) and the replicas' worker threads through one
 * SharedArrayBuffer: one Int32 count per replica. A replica with the cores to itself runs its
 * large steps on a session with every thread (a long prompt's prefill); while another replica
 * has requests too, each runs on its own share. One ONNX Runtime session cannot change its
 * thread count, so a replica opens both (see onnx-session.ts and WIDE_MIN_TOKENS in
 * onnx-runner.ts).
 *
 * The count is set when a request is routed, before its worker hears of it: in a burst split
 * between two replicas, the first to start must not see the other idle and run its prefill on
 * every thread while the other starts its own. That gains nothing and slows the other: a
 * 512-token prefill on 2 threads took 37.5 ms beside another process's 1-thread prefill (the
 * same as on 1 thread; 28.3 ms alone), and that other one 42.2 ms instead of 38.0.
 * A request waiting for a prefix another replica computes (a hand-off) counts once it is sent:
 * meanwhile the one computing it has the cores to itself, and after sending it expects company.
 */
export interface ReplicaSlot {
  index: number;
  activity: SharedArrayBuffer;
  /** Intra-op threads of the session used while alone; 0 = no such session. */
  wideThreads: number;
}

export function replicaSlots(replicas: number, wideThreads: number): ReplicaSlot[] {
  const activity = new SharedArrayBuffer(4 * replicas);
  return Array.from({ length: replicas }, (_, index) => ({ index, activity, wideThreads }));
}

/** The service thread's side: it writes each replica's requests in flight. */
export class ReplicaLoads {
  private readonly counts: Int32Array;

  constructor(activity: SharedArrayBuffer) {
    this.counts = new Int32Array(activity);
  }

  set(replica: number, requests: number): void {
    Atomics.store(this.counts, replica, requests);
  }
}

/** A replica's side: whether it has the cores to itself. */
export class ReplicaActivity {
  private readonly counts: Int32Array;
  private companyExpected = false;

  constructor(private readonly slot: ReplicaSlot) {
    this.counts = new Int32Array(slot.activity);
  }

  /**
   * Another replica is about to start (this one just sent it a prefix its requests waited for,
   * and they are not counted until it arrives): not alone until the next step is done.
   */
  expectCompany(): void {
    this.companyExpected = true;
  }

  stepDone(): void {
    this.companyExpected = false;
  }

  /** No other replica has requests in flight, nor is about to. */
  alone(): boolean {
    if (this.companyExpected) return false;
    for (let i = 0; i < this.counts.length; i++) {
      if (i !== this.slot.index && Atomics.load(this.counts, i) !== 0) return false;
    }
    return true;
  }
}
