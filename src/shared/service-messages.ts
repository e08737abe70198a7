/**
 * Messages the service process sends to a supervising parent (the Electron shell) over the
 * Node IPC channel (`process.send`) when it was started with one. Plain data only.
 */
export type ServiceState = 'starting' | 'ready' | 'stopping' | 'stopped' | 'error';

export interface ServiceStatusMessage {
  type: 'orchard:status';
  state: ServiceState;
  /** e.g. http://127.0.0.1:11435/v1 */
  apiUrl?: string;
  /** UI URL with the one-time sign-in token. */
  uiUrl?: string;
  /** What is served, e.g. ["orchard-chat → orchard-chat@1"]. */
  serving?: string[];
  error?: string;
}

/** Parent → service. */
export type ServiceCommand = { type: 'orchard:shutdown' } | { type: 'orchard:new-ui-token' };

export function isServiceStatusMessage(m: unknown): m is ServiceStatusMessage {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'orchard:status';
}
