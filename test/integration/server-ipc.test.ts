/**
 * Supervision the way the Electron shell does it: the service forked with an IPC channel
 * reports ServiceStatusMessages and obeys ServiceCommands.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  isServiceStatusMessage,
  type ServiceStatusMessage,
} from '../../src/shared/service-messages.js';

it('reports starting → ready (URLs) → stopping → stopped and obeys commands; a drain is not cut short by the parent', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-ipc-'));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ORCHARD_')) delete env[k];
  const child = fork(
    path.resolve('bin/orchard.js'),
    ['serve', '--home', home, '--port', '0', '--threads', '1', '--kv-cache-mb', '32'],
    {
      env,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    },
  );
  const seen: ServiceStatusMessage[] = [];
  const waitFor = (pred: (m: ServiceStatusMessage) => boolean) =>
    new Promise<ServiceStatusMessage>((resolve, reject) => {
      const found = seen.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(
        () => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)),
        90_000,
      );
      const onMessage = (m: unknown) => {
        if (isServiceStatusMessage(m) && pred(m)) {
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve(m);
        }
      };
      child.on('message', onMessage);
    });
  child.on('message', (m) => {
    if (isServiceStatusMessage(m)) seen.push(m);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ready = await waitFor((m) => m.state === 'ready');
    expect(seen[0].state).toBe('starting');
    expect(ready.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(ready.uiUrl).toMatch(/\?token=/);
    expect(ready.serving).toContain('orchard-chat → orchard-chat@1');
    const health = await fetch(ready.apiUrl!.replace(/\/v1$/, '/health'));
    expect(health.status).toBe(200);

    child.send({ type: 'orchard:new-ui-token' });
    const fresh = await waitFor((m) => m.state === 'ready' && m.uiUrl !== ready.uiUrl);
    expect(fresh.uiUrl).toMatch(/\?token=/);

    // A signal starts the drain; the parent's own shutdown request arriving during it (as
    // with Ctrl-C under `npm start`) must not turn it into an immediate exit 1.
    child.kill('SIGTERM');
    await waitFor((m) => m.state === 'stopping');
    // (A drain that already ended closed the channel: nothing to check then.)
    child.send({ type: 'orchard:shutdown' }, () => undefined);
    await waitFor((m) => m.state === 'stopped');
    expect(seen.map((m) => m.state)).toContain('stopping');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  }
});
