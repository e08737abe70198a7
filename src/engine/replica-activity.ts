/**
 * Which replicas of a model have work, shared between their worker threads through one
 * SharedArrayBuffer (one Int32 flag per replica). A replica with the cores to itself runs its
 * steps on a session with every thread (one stream, a long prompt, a prefix another replica
 * waits for); while another replica is busy too, each runs on its own share. One ONNX Runtime
 * session cannot change its thread count, so a replica opens both (see onnx-session.ts).
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

export class ReplicaActivity {
  private readonly flags: Int32Array;

  constructor(private readonly slot: ReplicaSlot) {
    this.flags = new Int32Array(slot.activity);
  }

  /** This replica has work (its step loop runs) or not (idle). */
  set(busy: boolean): void {
    Atomics.store(this.flags, this.slot.index, busy ? 1 : 0);
  }

  /** No other replica has work right now. */
  alone(): boolean {
    for (let i = 0; i < this.flags.length; i++) {
      if (i !== this.slot.index && Atomics.load(this.flags, i) !== 0) return false;
    }
    return true;
  }
}
