/**
 * The supervisor against real child processes speaking the service's IPC contract (a small
 * fixture service, so crash-at-start, ignored shutdowns and never-ready can be had on demand).
 * supervisor-service.test.ts does the kill-and-restart round trip with the real `orchard serve`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeForkLauncher } from '../../electron/main/service-process.js';
import {
  ServiceSupervisor,
  type SupervisorOptions,
} from '../../electron/main/service-supervisor.js';
import {
  health,
  isAlive,
  recordSnapshots,
  waitForSnapshot,
  waitUntilDead,
} from '../unit/electron/fixtures/supervisor-helpers.js';

const FIXTURE = fileURLToPath(
  new URL('../unit/electron/fixtures/ipc-service.mjs', import.meta.url),
);

const supervisors: ServiceSupervisor[] = [];

function fixtureSupervisor(
  mode: string,
  extra: Partial<SupervisorOptions> = {},
): ServiceSupervisor {
  const s = new ServiceSupervisor({
    launcher: nodeForkLauncher(FIXTURE),
    args: [],
    env: { ...process.env, FIXTURE_MODE: mode },
    ...extra,
  });
  supervisors.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

describe('ServiceSupervisor with real processes', () => {
  it('restarts a service killed with SIGKILL; the API answers again on the new process', async () => {
    const sup = fixtureSupervisor('normal', { policy: { initialDelayMs: 200 } });
    sup.start();
    const first = await waitForSnapshot(sup, (s) => s.state === 'ready');
    expect(first.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(first.uiUrl).toMatch(/\?token=/);
    expect((await health(first.apiUrl!)).status).toBe(200);

    const rec = recordSnapshots(sup);
    process.kill(first.pid!, 'SIGKILL');
    const crashed = await waitForSnapshot(sup, (s) => s.state === 'crashed');
    expect(crashed.lastError).toBe('the server was killed by SIGKILL');
    expect(crashed.nextRestartDelayMs).toBe(200);

    const second = await waitForSnapshot(
      sup,
      (s) => s.state === 'ready' && s.generation > first.generation,
    );
    rec.off();
    expect(second.pid).not.toBe(first.pid);
    expect(second.restarts).toBe(1);
    expect(second.apiUrl).not.toBe(first.apiUrl);
    expect(second.uiUrl).not.toBe(first.uiUrl);
    const h = await health(second.apiUrl!);
    expect(h).toEqual({ status: 200, body: { status: 'ok', pid: second.pid } });
    expect(rec.states()).toEqual(['crashed', 'starting', 'ready']);
    const crashAt = rec.log[0].at;
    const relaunchAt = rec.log[1].at;
    // The restart waited at least the back-off delay (timers never fire early by more than 1 ms).
    expect(relaunchAt - crashAt).toBeGreaterThanOrEqual(199);
  });

  it('stops in order: shutdown message, the service exits by itself, state stopped', async () => {
    const sup = fixtureSupervisor('normal');
    sup.start();
    const ready = await waitForSnapshot(sup, (s) => s.state === 'ready');
    const rec = recordSnapshots(sup);
    await sup.stop();
    rec.off();
    expect(rec.states()).toEqual(['stopping', 'stopped']);
    expect(sup.snapshot()).toMatchObject({
      state: 'stopped',
      pid: null,
      apiUrl: null,
      lastError: null,
    });
    await waitUntilDead(ready.pid!);
    await expect(health(ready.apiUrl!)).rejects.toThrow();
  });

  it('kills a service that ignores shutdown once the deadline passes', async () => {
    const sup = fixtureSupervisor('ignore-shutdown', { stopTimeoutMs: 300 });
    sup.start();
    const ready = await waitForSnapshot(sup, (s) => s.state === 'ready');
    const t0 = performance.now();
    await sup.stop();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(299);
    expect(sup.snapshot().state).toBe('stopped');
    expect(isAlive(ready.pid!)).toBe(false);
  });

  it('backs off exponentially on repeated crashes and ends in a visible error', async () => {
    const policy = { initialDelayMs: 100, factor: 2, maxCrashes: 4, crashWindowMs: 60_000 };
    const sup = fixtureSupervisor('crash-at-start', { policy });
    const rec = recordSnapshots(sup);
    sup.start();
    const final = await waitForSnapshot(sup, (s) => s.state === 'error', 60_000);
    rec.off();

    const crashes = rec.log.filter((e) => e.s.state === 'crashed');
    expect(crashes.map((e) => e.s.nextRestartDelayMs)).toEqual([100, 200, 400]);
    // Measured: each relaunch came no sooner than its delay after the crash before it.
    const measured = crashes.map((c) => {
      const next = rec.log.find((e) => e.s.generation === c.s.generation + 1);
      return next!.at - c.at;
    });
    measured.forEach((ms, i) => expect(ms).toBeGreaterThanOrEqual([100, 200, 400][i] - 1));
    console.log(
      `crash-loop back-off delays measured (ms): ${measured.map((m) => m.toFixed(0)).join(', ')}`,
    );

    expect(final.generation).toBe(4);
    expect(final.restarts).toBe(3);
    expect(final.lastError).toMatch(/stopped unexpectedly 4 times within 60 s/);
    expect(final.lastError).toContain('exited with code 3');
    expect(final.lastError).toContain('fatal: the model file is corrupt');

    // No further attempts on its own…
    await new Promise((r) => setTimeout(r, 1000));
    expect(sup.snapshot()).toMatchObject({ state: 'error', generation: 4 });
    // …but the user can try again, which starts a fresh count.
    sup.start();
    expect(sup.snapshot()).toMatchObject({ state: 'starting', generation: 5 });
    await waitForSnapshot(sup, (s) => s.state === 'crashed' && s.generation === 5);
    expect(sup.snapshot().crashesInWindow).toBe(1);
  });

  it('Stop during a pending restart cancels it', async () => {
    const sup = fixtureSupervisor('crash-at-start', { policy: { initialDelayMs: 60_000 } });
    sup.start();
    await waitForSnapshot(sup, (s) => s.state === 'crashed');
    await sup.stop();
    expect(sup.snapshot()).toMatchObject({ state: 'stopped', nextRestartAt: null, generation: 1 });
  });

  it('a service that never reports ready is killed after the ready timeout and counted as a crash', async () => {
    const sup = fixtureSupervisor('never-ready', {
      readyTimeoutMs: 400,
      policy: { initialDelayMs: 60_000 },
    });
    sup.start();
    const crashed = await waitForSnapshot(sup, (s) => s.state === 'crashed');
    expect(crashed.lastError).toBe('the server did not become ready within 0.4 s');
  });

  it('a service that exits on its own after being ready is restarted', async () => {
    const sup = fixtureSupervisor('exit-after-ready', { policy: { initialDelayMs: 50 } });
    sup.start();
    const crashed = await waitForSnapshot(sup, (s) => s.state === 'crashed');
    expect(crashed.lastError).toBe('the server exited with code 7');
    await waitForSnapshot(sup, (s) => s.generation === 2);
  });

  it('a warning sent with ready is kept apart from the reason a later crash gives', async () => {
    const sup = fixtureSupervisor('ready-with-warning', { policy: { initialDelayMs: 60_000 } });
    sup.start();
    const ready = await waitForSnapshot(sup, (s) => s.state === 'ready');
    expect(ready).toMatchObject({
      warning: 'orchard-chat@1: model.onnx is missing',
      lastError: null,
    });
    process.kill(ready.pid!, 'SIGKILL');
    const crashed = await waitForSnapshot(sup, (s) => s.state === 'crashed');
    expect(crashed).toMatchObject({ warning: null, lastError: 'the server was killed by SIGKILL' });
  });

  it('hands out a fresh one-time sign-in URL on request', async () => {
    const sup = fixtureSupervisor('normal');
    sup.start();
    const ready = await waitForSnapshot(sup, (s) => s.state === 'ready');
    const url = await sup.requestUiToken();
    expect(url).toMatch(/\?token=/);
    expect(url).not.toBe(ready.uiUrl);
    expect(sup.snapshot().uiUrl).toBe(url);
  });

  it('a start while stopping runs once the old process is gone (restart)', async () => {
    const sup = fixtureSupervisor('normal');
    sup.start();
    const first = await waitForSnapshot(sup, (s) => s.state === 'ready');
    await sup.restart();
    const second = await waitForSnapshot(sup, (s) => s.state === 'ready' && s.generation === 2);
    expect(second.pid).not.toBe(first.pid);
    expect(isAlive(first.pid!)).toBe(false);
    expect(second.restarts).toBe(0);
  });

  it('an entry file that does not exist ends in error with the reason, not a loop', async () => {
    const sup = new ServiceSupervisor({
      launcher: nodeForkLauncher(path.join(path.dirname(FIXTURE), 'missing-entry.mjs')),
      args: [],
      policy: { initialDelayMs: 10, maxCrashes: 2 },
    });
    supervisors.push(sup);
    sup.start();
    const s = await waitForSnapshot(sup, (x) => x.state === 'error');
    expect(s.lastError).toMatch(/Cannot find module/);
  });
});
