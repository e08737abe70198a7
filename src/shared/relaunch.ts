/**
 * Re-runs the current Node process with the malloc tunables (see malloc-tunables.ts) when it
 * was started without them: `orchard serve` and the benchmarks call it first thing. The child
 * shares the terminal; signals are passed on and its exit code becomes ours.
 *
 * A process with an IPC channel (started by the desktop shell or `npm start`) is not relaunched:
 * its parent sets the environment itself, and a second process would cut the channel.
 */
import { spawn } from 'node:child_process';
import { needsMallocTunables, withMallocTunables } from './malloc-tunables.js';

const RELAUNCHED = 'ORCHARD_RELAUNCHED';
const PARENT = 'ORCHARD_RELAUNCH_PARENT';

/**
 * A Node IPC channel, or Electron's utility-process port; inside Electron, process.execPath is
 * the app itself, so never relaunch there either.
 */
function hasParentChannel(): boolean {
  return (
    typeof process.send === 'function' ||
    'parentPort' in process ||
    process.versions.electron !== undefined
  );
}

export function shouldRelaunch(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  hasIpc: boolean = hasParentChannel(),
): boolean {
  return !hasIpc && env[RELAUNCHED] !== '1' && needsMallocTunables(env, platform);
}

/**
 * Resolves with the child's exit code after relaunching, or null when this process should just
 * go on (already relaunched, not Linux, or under a parent that owns the environment).
 */
export function relaunchWithMallocTunables(): Promise<number> | null {
  if (!shouldRelaunch()) return null;
  const env = {
    ...withMallocTunables(process.env),
    [RELAUNCHED]: '1',
    [PARENT]: String(process.pid),
  };
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env,
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(signal);
  };
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGINT', forward('SIGINT')],
    ['SIGTERM', forward('SIGTERM')],
    ['SIGHUP', forward('SIGTERM')],
  ];
  for (const [signal, fn] of handlers) process.on(signal, fn);
  return new Promise((resolve) => {
    child.on('error', (err) => {
      process.stderr.write(`orchard: could not restart with malloc settings: ${err.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      for (const [s, fn] of handlers) process.off(s, fn);
      resolve(code ?? (signal === 'SIGINT' ? 130 : signal ? 143 : 1));
    });
  });
}

/**
 * In a relaunched child: stop (gracefully, SIGTERM) when the parent is gone, e.g. killed with
 * SIGKILL, which it could not pass on. Linux re-parents an orphan, so a changed ppid tells.
 */
export function exitWithParent(env: NodeJS.ProcessEnv = process.env): void {
  const parent = Number(env[PARENT]);
  if (env[RELAUNCHED] !== '1' || !Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, 500);
  timer.unref();
}
