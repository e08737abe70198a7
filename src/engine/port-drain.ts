/**
 * Messages already waiting on a worker's port, taken now rather than when the event loop next
 * dispatches them.
 *
 * onnxruntime-node runs a session synchronously inside a setImmediate callback, so the engine
 * worker's event loop turns once per model run, just before it. A message that arrives during a
 * run could be dispatched only at the next run's turn, after the next step had been planned
 * without it, and so wait one whole extra step. Seen in a trace of a burst behind a new system
 * prompt: the other replica's export request, posted just after the worker began computing the
 * prefix, was seen 73 ms into the burst instead of at the end of that 45 ms step, and the other
 * replica's 16 requests waited that long for the prefix. The step loop drains the port before
 * planning each step instead. (A lone request arriving during another's long prefill gained
 * less: time to first token 47–54 ms against 49–58 ms, five alternating pairs.)
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

/** Hands every message queued on `port` to `receive`, in order; returns how many there were. */
export function drainPort<T>(port: MessagePort, receive: (message: T) => void): number {
  let n = 0;
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    receive(m.message as T);
    n++;
  }
  return n;
}
