/**
 * Supervisor decisions that depend on what exactly the service said and how it ended: a
 * service that cannot start for a reason a restart will not fix, one that keeps failing to
 * start more slowly than the crash window, one that stops itself in order, and starts asked
 * for after the shell has begun to quit.
 */
import { describe, expect, it } from 'vitest';
import { ServiceSupervisor } from '../../../electron/main/service-supervisor.js';
import { ManualClock, scriptedLauncher } from './fixtures/scripted-launcher.js';

function supervisor(extra: { readyTimeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const { launcher, procs } = scriptedLauncher();
  const sup = new ServiceSupervisor({
    launcher,
    args: ['serve'],
    env: {},
    clock,
    stopTimeoutMs: 5_000,
    readyTimeoutMs: extra.readyTimeoutMs ?? 60_000,
    policy: { initialDelayMs: 500, factor: 2, maxDelayMs: 30_000, maxCrashes: 5 },
  });
  return { sup, clock, procs };
}

describe('ServiceSupervisor decisions', () => {
  it('exit code 2 at start (e.g. another `orchard serve` owns the data folder) is an error at once, not a crash loop', () => {
    const { sup, clock, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'starting' });
    const owner =
      'orchard: another Orchard service (pid 4711, http://127.0.0.1:11435) is using /home/u/.orchard; stop it first, or give this one its own --home\n';
    procs[0].stderr(owner);
    procs[0].exit({ code: 2, signal: null });
    expect(sup.snapshot()).toMatchObject({ state: 'error', nextRestartAt: null });
    expect(sup.snapshot().lastError).toContain('another Orchard service (pid 4711');
    clock.advance(10 * 60_000);
    expect(procs).toHaveLength(1);
    // The user can try again once the other one is gone.
    sup.start();
    expect(procs).toHaveLength(2);
    expect(sup.snapshot().state).toBe('starting');
  });

  it('exit code 2 after the service was ready is an ordinary crash', () => {
    const { sup, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    procs[0].exit({ code: 2, signal: null });
    expect(sup.snapshot().state).toBe('crashed');
  });

  it('a service that never gets ready gives up after maxCrashes attempts even when each takes longer than the crash window', () => {
    // Ready timeout (3 min) longer than the crash window (2 min): the window never holds more
    // than one crash, so only counting failed starts in a row ends the loop.
    const { sup, clock, procs } = supervisor({ readyTimeoutMs: 180_000 });
    sup.start();
    for (let i = 0; i < 20 && sup.snapshot().state !== 'error'; i++) clock.advance(200_000);
    expect(sup.snapshot().state).toBe('error');
    expect(procs).toHaveLength(5);
    expect(sup.snapshot().lastError).toMatch(/did not start 5 times in a row/);
    expect(sup.snapshot().lastError).toContain('did not become ready within 180 s');
    clock.advance(3_600_000);
    expect(procs).toHaveLength(5);
  });

  it('failed starts in a row are forgotten once a start succeeds', () => {
    const { sup, clock, procs } = supervisor({ readyTimeoutMs: 180_000 });
    sup.start();
    for (let i = 0; i < 4; i++) clock.advance(200_000); // four timeouts, five launches
    expect(procs).toHaveLength(5);
    procs[4].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    clock.advance(600_000);
    procs[4].exit({ code: null, signal: 'SIGKILL' });
    expect(sup.snapshot().state).toBe('crashed');
  });

  it('a service that stops itself in order (a signal from the OS) is stopped, not restarted', () => {
    const { sup, clock, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    procs[0].status({ state: 'stopping' });
    procs[0].status({ state: 'stopped' });
    procs[0].exit({ code: 0, signal: null });
    expect(sup.snapshot()).toMatchObject({
      state: 'stopped',
      nextRestartAt: null,
      lastError: null,
    });
    clock.advance(60_000);
    expect(procs).toHaveLength(1);
  });

  it('a stop while the service is already draining on its own does not cut the drain short', () => {
    // The real service answers a second shutdown request by exiting at once (exit 1), so a
    // Ctrl-C that reaches both the service and the shell must not become "shutdown twice".
    const { sup, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    procs[0].status({ state: 'stopping' });
    let stopped = false;
    void sup.stop().then(() => (stopped = true));
    expect(procs[0].commands).toEqual([]);
    expect(procs[0].kills).toEqual([]);
    procs[0].exit({ code: 0, signal: null });
    expect(sup.snapshot().state).toBe('stopped');
    return Promise.resolve().then(() => expect(stopped).toBe(true));
  });

  it('a service that exits with an error while stopping on its own is a crash', () => {
    const { sup, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    procs[0].status({ state: 'stopping' });
    procs[0].exit({ code: 1, signal: null });
    expect(sup.snapshot().state).toBe('crashed');
  });

  it('after shutdown(), neither a pending restart() nor a start() launches another service', async () => {
    const { sup, procs } = supervisor();
    sup.start();
    procs[0].status({ state: 'ready', apiUrl: 'http://127.0.0.1:1/v1', uiUrl: 'http://x/' });
    const restarting = sup.restart(); // e.g. "Restart server" in the UI…
    const quitting = sup.shutdown(); // …and Quit right after
    sup.start(); // a start that arrives while the quit is stopping the service
    procs[0].exit({ code: 0, signal: null });
    await Promise.all([restarting, quitting]);
    expect(procs).toHaveLength(1);
    expect(sup.snapshot()).toMatchObject({ state: 'stopped', pid: null });
    sup.start();
    expect(procs).toHaveLength(1);
  });
});
