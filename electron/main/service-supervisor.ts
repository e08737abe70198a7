/**
 * Keeps the service process running: starts it through an injected launcher, follows its
 * status messages, restarts it with back-off when it dies, gives up (state `error`) after too
 * many crashes in a short window, and stops it in order — shutdown message, a deadline, then
 * SIGKILL. Plain Node: no Electron import, so it is tested against real processes.
 */
import {
  isServiceStatusMessage,
  type ServiceStatusMessage,
} from '../../src/shared/service-messages.js';
import type { ShellServiceState } from '../shared/ipc-contract.js';
import {
  DEFAULT_RESTART_POLICY,
  crashesWithin,
  decideAfterCrash,
  type RestartPolicy,
} from './restart-policy.js';
import { summarizeStderr } from './service-exit.js';
import type { ExitInfo, ServiceLauncher, ServiceProcess } from './service-process.js';
import { withMallocTunables } from '../../src/shared/malloc-tunables.js';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ServiceSnapshot {
  state: ShellServiceState;
  pid: number | null;
  apiUrl: string | null;
  /** UI address with a one-time sign-in token; a new process brings a new one. */
  uiUrl: string | null;
  serving: string[];
  lastError: string | null;
  /** A problem the running service reported while serving (e.g. a model that did not load). */
  warning: string | null;
  /** Restarts after crashes since this supervisor was created. */
  restarts: number;
  crashesInWindow: number;
  nextRestartAt: number | null;
  nextRestartDelayMs: number | null;
  /** Counts launches, so observers can tell a new process from an old one. */
  generation: number;
}

export interface SupervisorOptions {
  launcher: ServiceLauncher;
  /** Arguments for the service entry, e.g. ['serve', '--port', '0']. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  policy?: Partial<RestartPolicy>;
  /** After the shutdown message, how long the service may take before it is killed. */
  stopTimeoutMs?: number;
  /** A service that has not said `ready` by then is killed and counted as a crash. */
  readyTimeoutMs?: number;
  clock?: Clock;
  /** Receives the service's stdout/stderr (e.g. to forward to the app's console). */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

const STDERR_TAIL_CHARS = 4000;

/**
 * The CLI's exit code for a bad setting or usage, and for a data folder another service owns
 * (src/cli/main.ts). Before the service was ready, a restart cannot fix it.
 */
export const EXIT_BAD_SETTINGS = 2;

export class ServiceSupervisor {
  private readonly policy: RestartPolicy;
  private readonly clock: Clock;
  private readonly stopTimeoutMs: number;
  private readonly readyTimeoutMs: number;

  private state: ShellServiceState = 'stopped';
  private child: ServiceProcess | null = null;
  private generation = 0;
  private apiUrl: string | null = null;
  private uiUrl: string | null = null;
  private serving: string[] = [];
  private lastError: string | null = null;
  private warning: string | null = null;
  /** The error the running process itself reported, preferred over exit codes. */
  private reportedError: string | null = null;
  private killReason: string | null = null;
  private stderrTail = '';
  private restarts = 0;
  private crashTimes: number[] = [];
  private nextRestartAt: number | null = null;
  private nextRestartDelayMs: number | null = null;

  private stopRequested = false;
  private startAfterStop = false;
  /** After shutdown() (the app is quitting): nothing starts a service again. */
  private closed = false;
  /** This process said `ready` at least once. */
  private wasReady = false;
  /** This process said it is stopping (or stopped) on its own, e.g. after a signal. */
  private stoppingOnItsOwn = false;
  /** Launches in a row that died before `ready`, whatever time they took. */
  private failedStarts = 0;
  private restartTimer: unknown = null;
  private readyTimer: unknown = null;
  private killTimer: unknown = null;
  private stopWaiters: Array<() => void> = [];
  private tokenWaiters: Array<{ previous: string | null; resolve: (url: string) => void }> = [];
  private readonly listeners = new Set<(s: ServiceSnapshot) => void>();
  private lastEmitted = '';

  constructor(private readonly options: SupervisorOptions) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
    this.clock = options.clock ?? systemClock;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  }

  snapshot(): ServiceSnapshot {
    return {
      state: this.state,
      pid: this.child?.pid ?? null,
      apiUrl: this.apiUrl,
      uiUrl: this.uiUrl,
      serving: [...this.serving],
      lastError: this.lastError,
      warning: this.warning,
      restarts: this.restarts,
      crashesInWindow: crashesWithin(this.policy, this.crashTimes, this.clock.now()).length,
      nextRestartAt: this.nextRestartAt,
      nextRestartDelayMs: this.nextRestartDelayMs,
      generation: this.generation,
    };
  }

  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (s: ServiceSnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the service unless it is running; after `error`, a start is a fresh attempt. */
  start(): void {
    if (this.closed) return;
    switch (this.state) {
      case 'starting':
      case 'ready':
        return;
      case 'stopping':
        this.startAfterStop = true;
        return;
      case 'crashed':
        this.clearTimer('restartTimer');
        this.launch();
        return;
      case 'error':
      case 'stopped':
        this.crashTimes = [];
        this.failedStarts = 0;
        this.launch();
        return;
    }
  }

  /** Resolves once no service process is left (or none was running). */
  stop(): Promise<void> {
    this.startAfterStop = false;
    if (this.state === 'crashed') {
      this.clearTimer('restartTimer');
      this.nextRestartAt = null;
      this.nextRestartDelayMs = null;
      this.setState('stopped');
    }
    const child = this.child;
    if (!child) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.clearTimer('readyTimer');
      // A service already draining on its own (e.g. Ctrl-C reached it too) takes a second
      // shutdown request as "exit now": let it finish, the deadline still applies.
      if (this.state !== 'stopping') {
        this.setState('stopping');
        if (!child.send({ type: 'orchard:shutdown' })) child.kill('SIGTERM');
      }
      this.killTimer = this.clock.setTimeout(() => {
        this.killTimer = null;
        this.child?.kill('SIGKILL');
      }, this.stopTimeoutMs);
    }
    return done;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /**
   * Stops the service for good (the app is quitting): a start, a restart in progress or a
   * scheduled one can no longer launch a process that would outlive the app.
   */
  shutdown(): Promise<void> {
    this.closed = true;
    return this.stop();
  }

  /**
   * Asks the running service for a fresh one-time sign-in URL (a window opened after the
   * first one has used its token needs its own).
   */
  requestUiToken(timeoutMs = 10_000): Promise<string> {
    const child = this.child;
    if (!child || this.state !== 'ready') {
      return Promise.reject(new Error(`the server is ${this.state}, not ready`));
    }
    return new Promise<string>((resolve, reject) => {
      const waiter = {
        previous: this.uiUrl,
        resolve: (url: string) => {
          this.clock.clearTimeout(timer);
          resolve(url);
        },
      };
      const timer = this.clock.setTimeout(() => {
        this.tokenWaiters = this.tokenWaiters.filter((w) => w !== waiter);
        reject(new Error('the server did not send a new sign-in link in time'));
      }, timeoutMs);
      this.tokenWaiters.push(waiter);
      if (!child.send({ type: 'orchard:new-ui-token' })) {
        this.clock.clearTimeout(timer);
        this.tokenWaiters = this.tokenWaiters.filter((w) => w !== waiter);
        reject(new Error('the server is not listening for commands'));
      }
    });
  }

  private launch(): void {
    const gen = ++this.generation;
    this.stopRequested = false;
    this.wasReady = false;
    this.stoppingOnItsOwn = false;
    this.reportedError = null;
    this.warning = null;
    this.killReason = null;
    this.stderrTail = '';
    this.apiUrl = null;
    this.uiUrl = null;
    this.serving = [];
    this.nextRestartAt = null;
    this.nextRestartDelayMs = null;
    this.state = 'starting';
    this.child = this.options.launcher(
      { args: this.options.args, env: withMallocTunables(this.options.env ?? process.env) },
      {
        onMessage: (m) => {
          if (gen === this.generation) this.onMessage(m);
        },
        onExit: (info) => {
          if (gen === this.generation) this.onExit(info);
        },
        onOutput: (stream, text) => {
          if (stream === 'stderr' && gen === this.generation) {
            this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
          }
          this.options.onOutput?.(stream, text);
        },
      },
    );
    this.readyTimer = this.clock.setTimeout(() => {
      this.readyTimer = null;
      if (gen !== this.generation || this.state !== 'starting') return;
      this.killReason = `the server did not become ready within ${seconds(this.readyTimeoutMs)} s`;
      this.child?.kill('SIGKILL');
    }, this.readyTimeoutMs);
    this.emit();
  }

  private onMessage(m: unknown): void {
    if (!isServiceStatusMessage(m)) return;
    this.absorb(m);
    if (m.state === 'stopping' || m.state === 'stopped') this.stoppingOnItsOwn = true;
    if (m.state === 'ready' && this.state === 'starting') {
      this.clearTimer('readyTimer');
      this.state = 'ready';
      this.wasReady = true;
      this.failedStarts = 0;
    } else if (m.state === 'stopping' && this.state !== 'stopping') {
      // The service is shutting itself down (e.g. a signal from the OS); its exit decides.
      this.state = 'stopping';
    }
    if (m.uiUrl) {
      const ready = this.tokenWaiters.filter((w) => w.previous !== m.uiUrl);
      this.tokenWaiters = this.tokenWaiters.filter((w) => w.previous === m.uiUrl);
      for (const w of ready) w.resolve(m.uiUrl);
    }
    this.emit();
  }

  private absorb(m: ServiceStatusMessage): void {
    if (m.apiUrl !== undefined) this.apiUrl = m.apiUrl;
    if (m.uiUrl !== undefined) this.uiUrl = m.uiUrl;
    if (m.serving !== undefined) this.serving = [...m.serving];
    if (m.error !== undefined) {
      // Only an `error` state explains a later exit; a `ready` one carries a warning (e.g. a
      // model that did not load while the server itself runs).
      if (m.state === 'error') {
        this.reportedError = m.error;
        this.lastError = m.error;
      } else {
        this.warning = m.error;
      }
    }
  }

  private onExit(info: ExitInfo): void {
    this.child = null;
    this.clearTimer('readyTimer');
    this.clearTimer('killTimer');
    this.apiUrl = null;
    this.uiUrl = null;
    this.serving = [];
    this.warning = null;
    // Asked to stop, or stopped in order on its own (exit 0 after saying so): not a crash.
    const orderly =
      this.stoppingOnItsOwn && info.code === 0 && info.signal === null && !info.spawnError;
    if (this.stopRequested || orderly || this.closed) {
      this.stopRequested = false;
      this.state = 'stopped';
      this.emit();
      this.flushStopWaiters();
      if (this.startAfterStop) {
        this.startAfterStop = false;
        this.start();
      }
      return;
    }
    const now = this.clock.now();
    this.crashTimes = crashesWithin(this.policy, [...this.crashTimes, now], now);
    if (!this.wasReady) this.failedStarts++;
    const detail = this.describeExit(info);
    const decision = decideAfterCrash(this.policy, this.crashTimes, now, this.failedStarts);
    let giveUp: string | null = null;
    if (!this.wasReady && info.code === EXIT_BAD_SETTINGS && info.signal === null) {
      // A setting it rejects or a data folder another service holds: say so, do not loop.
      giveUp = detail;
    } else if (decision.action === 'give-up') {
      giveUp =
        decision.reason === 'window'
          ? `The server stopped unexpectedly ${decision.crashesInWindow} times within ${seconds(this.policy.crashWindowMs)} s and was not restarted again. Last: ${detail}`
          : `The server did not start ${this.failedStarts} times in a row and was not restarted again. Last: ${detail}`;
    }
    if (giveUp !== null || decision.action !== 'restart') {
      this.lastError = giveUp ?? detail;
      this.state = 'error';
      this.emit();
      this.flushStopWaiters();
      return;
    }
    const { delayMs } = decision;
    this.lastError = detail;
    this.nextRestartDelayMs = delayMs;
    this.nextRestartAt = now + delayMs;
    this.state = 'crashed';
    this.restartTimer = this.clock.setTimeout(() => {
      this.restartTimer = null;
      this.restarts++;
      this.launch();
    }, delayMs);
    this.emit();
    this.flushStopWaiters();
  }

  private describeExit(info: ExitInfo): string {
    if (info.spawnError) return `the server could not be started: ${info.spawnError}`;
    if (this.killReason) return this.killReason;
    const how =
      info.signal !== null
        ? `was killed by ${info.signal}`
        : `exited with code ${info.code ?? 'unknown'}`;
    const why = this.reportedError ?? summarizeStderr(this.stderrTail, info.signal !== null);
    return why ? `the server ${how}: ${why}` : `the server ${how}`;
  }

  private flushStopWaiters(): void {
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w();
  }

  private clearTimer(name: 'restartTimer' | 'readyTimer' | 'killTimer'): void {
    if (this[name] !== null) this.clock.clearTimeout(this[name]);
    this[name] = null;
  }

  private setState(state: ShellServiceState): void {
    this.state = state;
    this.emit();
  }

  /** Tells listeners about a change; a status message that changed nothing is not one. */
  private emit(): void {
    const s = this.snapshot();
    const key = JSON.stringify(s);
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    for (const l of [...this.listeners]) l(s);
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? String(Math.round(ms / 100) / 10) : String(Math.round(ms / 1000));
}
