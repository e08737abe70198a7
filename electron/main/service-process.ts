/**
 * How the supervisor starts one service process. Two launchers share one small interface: a
 * plain Node child (`child_process.fork`, for headless use and tests) and Electron's utility
 * process (in the app, so native modules rebuilt for Electron load in the service too).
 */
import { fork } from 'node:child_process';
import type { ServiceCommand } from '../../src/shared/service-messages.js';
import type { UtilityProcessLike, ElectronLike } from './electron-like.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** The process could not be started at all (e.g. missing entry file). */
  spawnError?: string;
}

export interface ServiceProcessEvents {
  onMessage(message: unknown): void;
  /** Called exactly once. */
  onExit(info: ExitInfo): void;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
}

export interface LaunchSpec {
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface ServiceProcess {
  readonly pid: number | undefined;
  /** False when the channel is gone (the process is exiting). */
  send(command: ServiceCommand): boolean;
  /** SIGTERM asks; SIGKILL is the deadline's answer. */
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

export type ServiceLauncher = (spec: LaunchSpec, events: ServiceProcessEvents) => ServiceProcess;

function onceGuard(fn: (info: ExitInfo) => void): (info: ExitInfo) => void {
  let called = false;
  return (info) => {
    if (called) return;
    called = true;
    fn(info);
  };
}

function pipeText(
  stream: NodeJS.ReadableStream | null | undefined,
  name: 'stdout' | 'stderr',
  events: ServiceProcessEvents,
): void {
  if (!stream) return;
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => events.onOutput(name, text));
}

/** Runs `entry` (a JS file, e.g. bin/orchard.js) with this Node binary. */
export function nodeForkLauncher(entry: string, execArgv: string[] = []): ServiceLauncher {
  return (spec, events) => {
    const exit = onceGuard(events.onExit);
    const child = fork(entry, spec.args, {
      env: spec.env,
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    pipeText(child.stdout, 'stdout', events);
    pipeText(child.stderr, 'stderr', events);
    child.on('message', (m) => events.onMessage(m));
    child.on('error', (err) => {
      // 'error' without a pid means it never ran; once it ran, 'exit' still follows.
      if (child.pid === undefined) exit({ code: null, signal: null, spawnError: err.message });
    });
    child.on('exit', (code, signal) => exit({ code, signal }));
    return {
      get pid() {
        return child.pid;
      },
      send(command) {
        if (!child.connected) return false;
        try {
          return child.send(command);
        } catch {
          return false;
        }
      },
      kill(signal) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  };
}

/**
 * Electron's utility process: the service talks over `process.parentPort` there instead of
 * `process.send`. Its exit event carries only a code, so a kill shows as a non-zero code.
 */
export function utilityProcessLauncher(
  electron: Pick<ElectronLike, 'utilityProcess'>,
  entry: string,
): ServiceLauncher {
  return (spec, events) => {
    const exit = onceGuard(events.onExit);
    let child: UtilityProcessLike;
    try {
      child = electron.utilityProcess.fork(entry, spec.args, {
        env: spec.env,
        stdio: 'pipe',
        serviceName: 'Orchard service',
      });
    } catch (err) {
      queueMicrotask(() => exit({ code: null, signal: null, spawnError: (err as Error).message }));
      return { pid: undefined, send: () => false, kill: () => undefined };
    }
    let exited = false;
    pipeText(child.stdout, 'stdout', events);
    pipeText(child.stderr, 'stderr', events);
    child.on('message', (m) => events.onMessage(m));
    child.on('exit', (code) => {
      exited = true;
      exit({ code, signal: null });
    });
    return {
      get pid() {
        return child.pid;
      },
      send(command) {
        if (exited) return false;
        child.postMessage(command);
        return true;
      },
      kill(signal) {
        if (exited) return;
        const pid = child.pid;
        // utilityProcess.kill() only asks (SIGTERM); the deadline needs a real SIGKILL.
        if (signal === 'SIGKILL' && pid !== undefined && process.platform !== 'win32') {
          try {
            process.kill(pid, 'SIGKILL');
            return;
          } catch {
            // fall through to the polite kill
          }
        }
        child.kill();
      },
    };
  };
}
