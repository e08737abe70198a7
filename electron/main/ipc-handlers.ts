/**
 * Registers one ipcMain handler per contract channel. Every call is checked twice before it
 * reaches a handler: it must come from the app's own window, and its arguments must pass the
 * contract's run-time check — the renderer shows web content, so it is not trusted blindly.
 */
import {
  INVOKE_ARG_CHECKS,
  INVOKE_CHANNELS,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
} from '../shared/ipc-contract.js';
import type { ElectronLike, IpcMainInvokeEventLike } from './electron-like.js';

export type InvokeHandlers = {
  [C in InvokeChannel]: (...args: InvokeArgs<C>) => InvokeResult<C> | Promise<InvokeResult<C>>;
};

export function registerIpcHandlers(
  ipcMain: ElectronLike['ipcMain'],
  handlers: InvokeHandlers,
  isTrustedSender: (event: IpcMainInvokeEventLike) => boolean,
): () => void {
  for (const channel of INVOKE_CHANNELS) {
    const check: (args: readonly unknown[]) => boolean = INVOKE_ARG_CHECKS[channel];
    const handler = handlers[channel] as (...args: unknown[]) => unknown;
    ipcMain.handle(channel, async (event, ...args) => {
      if (!isTrustedSender(event)) throw new Error(`${channel}: refused, not the Orchard window`);
      if (!check(args)) throw new TypeError(`${channel}: invalid arguments`);
      return handler(...args);
    });
  }
  return () => {
    for (const channel of INVOKE_CHANNELS) ipcMain.removeHandler(channel);
  };
}
