/**
 * The channel to a supervising parent, when there is one: Node's IPC (`process.send`, as with
 * child_process.fork) or Electron's utility process port (`process.parentPort`). The service
 * reports ServiceStatusMessages and obeys ServiceCommands through it.
 */
import type { ServiceCommand, ServiceStatusMessage } from '../shared/service-messages.js';

export interface ParentChannel {
  send(message: ServiceStatusMessage): void;
  onCommand(handler: (command: ServiceCommand) => void): void;
  /** The parent went away: a supervised service should not outlive it. */
  onDisconnect(handler: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
}

function isCommand(m: unknown): m is ServiceCommand {
  const type = (m as { type?: unknown } | null)?.type;
  return type === 'orchard:shutdown' || type === 'orchard:new-ui-token';
}

export function parentChannel(proc: NodeJS.Process = process): ParentChannel | null {
  const port = (proc as { parentPort?: ElectronParentPort }).parentPort;
  if (port) {
    return {
      send: (m) => port.postMessage(m),
      onCommand: (handler) =>
        port.on('message', (e) => {
          if (isCommand(e.data)) handler(e.data);
        }),
      // Nothing to watch: a utility process is a Chromium child, which ends when its browser
      // (Electron's main) process is gone, however that went.
      onDisconnect: () => undefined,
    };
  }
  if (typeof proc.send === 'function' && proc.connected) {
    return {
      send: (m) => {
        if (proc.connected) proc.send?.(m);
      },
      onCommand: (handler) =>
        proc.on('message', (m: unknown) => {
          if (isCommand(m)) handler(m);
        }),
      onDisconnect: (handler) => proc.once('disconnect', handler),
    };
  }
  return null;
}
