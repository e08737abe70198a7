/**
 * Whether the page lost its session (the server answered 401). The UI then explains how to
 * sign in again instead of showing a wall of failed requests.
 */
type Listener = () => void;

let signedOut = false;
const listeners = new Set<Listener>();

export function setSignedOut(value: boolean): void {
  if (signedOut === value) return;
  signedOut = value;
  for (const l of listeners) l();
}

export function isSignedOut(): boolean {
  return signedOut;
}

export function subscribeSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
