/**
 * Models view against a real `orchard serve`: real versions listed with their sizes, digests and
 * states; a pull from the (fake, slowed) Hugging Face Hub followed by its progress bar to the
 * end; a bad import answered with the server's own error; load, unload and a confirmed delete.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../src/shared/admin-api.js';
import { ROOT } from '../support/browser.js';
import { FakeHub } from '../support/fake-hub.js';
import { startOrchardUi, unlabelledControls, type OrchardUi } from './support/orchard-ui.js';
import { startSlowProxy, type SlowProxy } from './support/slow-proxy.js';

let ui: OrchardUi;
let hub: FakeHub;
let proxy: SlowProxy;
let scratch: string;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo('orchard/chat-2', path.join(ROOT, 'resources', 'models', 'orchard-chat-2'));
  // ~34 MB at 8 MB/s: a few seconds of download, time for several progress events.
  proxy = await startSlowProxy(hub.url, 8 * 1024 * 1024);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-e2e-scratch-'));
  ui = await startOrchardUi({ env: { HF_ENDPOINT: proxy.url } });
});

afterAll(async () => {
  await ui?.close();
  await proxy?.close();
  await hub?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

async function models(): Promise<ModelSummary[]> {
  return ui.api<ModelSummary[]>('GET', '/api/models');
}

describe('models view', () => {
  it('lists models and versions with their real size, digest, architecture and state', async () => {
    const { page } = ui;
    await ui.open('Models');
    const api = await models();
    const v1 = api.find((m) => m.name === 'orchard-chat')!.versions.find((v) => v.version === '1')!;
    const row = page.locator('tr[data-version="orchard-chat@1"]');
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toContain('Loaded');
    expect(text).toContain(v1.digest.slice(0, 12));
    expect(text).toMatch(/\d+(\.\d+)? MB/);
    expect(text).toContain(v1.architecture.split(' ')[0]);
    await expect
      .poll(() => page.locator('tr[data-version="orchard-chat@2"]').innerText())
      .toContain('Ready');
    const load2 = page.getByRole('button', { name: /^Load orchard-chat@2 \(about .+\)$/ });
    expect(await load2.isVisible()).toBe(true);
    expect(await unlabelledControls(page)).toEqual([]);
  });

  it('pulls from the Hub and follows its progress bar to completion', async () => {
    const { page } = ui;
    await ui.open('Models');
    // Record every state the job's progress bar goes through, straight from the DOM.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __progress: string[] }).__progress = seen;
      new MutationObserver(() => {
        for (const job of document.querySelectorAll('.job')) {
          const bar = job.querySelector('[role="progressbar"]');
          seen.push(
            `${job.getAttribute('data-job-state')}:${bar?.getAttribute('aria-valuenow') ?? '-'}`,
          );
        }
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.getByLabel('Hugging Face repository').fill('orchard/chat-2');
    await page.getByLabel('Revision').fill('main');
    await page.getByLabel('Name (optional)', { exact: true }).first().fill('hub-chat');
    await page.getByRole('button', { name: 'Pull', exact: true }).click();

    const job = page.locator('.job').first();
    // Mid-download: the bar shows a partial value (this is the README's screenshot).
    await page.waitForFunction(() => {
      const v = Number(
        document.querySelector('.job [role="progressbar"]')?.getAttribute('aria-valuenow'),
      );
      return v >= 25 && v < 90;
    });
    await ui.screenshot('models');
    await job.and(page.locator('[data-job-state="done"]')).waitFor({ timeout: 120_000 });
    expect(await job.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    expect(await job.innerText()).toContain('hub-chat@1');

    const seen = await page.evaluate(
      () => (window as unknown as { __progress: string[] }).__progress,
    );
    const running = seen
      .filter((s) => s.startsWith('running:') && s !== 'running:-')
      .map((s) => Number(s.split(':')[1]));
    const partial = [...new Set(running.filter((v) => v > 0 && v < 100))];
    expect(partial.length).toBeGreaterThanOrEqual(2);
    expect(running).toEqual([...running].sort((a, b) => a - b));
    expect(seen[seen.length - 1]).toBe('done:100');

    // The new model shows up with its version ready, and the registry agrees.
    await page.locator('tr[data-version="hub-chat@1"]').getByText('Ready').waitFor();
    const pulled = (await models()).find((m) => m.name === 'hub-chat');
    expect(pulled?.versions.map((v) => [v.version, v.state])).toEqual([['1', 'ready']]);
  });

  it('shows the server error for a folder that is not a model, and adds nothing', async () => {
    const { page } = ui;
    await ui.open('Models');
    const before = (await models()).map((m) => m.name);
    const notAModel = path.join(scratch, 'not-a-model');
    fs.mkdirSync(notAModel, { recursive: true });
    fs.writeFileSync(path.join(notAModel, 'notes.txt'), 'hello');

    await page.getByRole('tab', { name: 'Import a folder' }).click();
    await page.getByLabel('Model folder').fill(notAModel);
    await page.getByRole('button', { name: 'Import folder' }).click();
    const alert = page.getByRole('tabpanel', { name: 'Import a folder' }).getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(
      /is not a model folder Orchard can load: config\.json is missing/,
    );
    expect(await page.getByLabel('Model folder').getAttribute('aria-invalid')).toBe('true');
    expect((await models()).map((m) => m.name)).toEqual(before);
  });

  it('loads and unloads a version, and deletes one only after confirmation', async () => {
    const { page } = ui;
    await ui.open('Models');
    const row = page.locator('tr[data-version="orchard-chat@2"]');
    await page.getByRole('button', { name: /^Load orchard-chat@2/ }).click();
    await row.getByText('Loaded', { exact: true }).waitFor({ timeout: 60_000 });
    const loaded = (await models())
      .find((m) => m.name === 'orchard-chat')!
      .versions.find((v) => v.version === '2')!;
    expect(loaded.loaded).toBe(true);
    await page.getByRole('button', { name: 'Unload orchard-chat@2' }).click();
    await row.getByText('Ready', { exact: true }).waitFor({ timeout: 60_000 });

    // Cancelling keeps the version.
    await page.getByRole('button', { name: 'Delete hub-chat@1' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete hub-chat@1?' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await models()).some((m) => m.name === 'hub-chat' && m.versions.length === 1)).toBe(
      true,
    );

    await page.getByRole('button', { name: 'Delete hub-chat@1' }).click();
    await dialog.getByRole('button', { name: 'Delete version' }).click();
    await page.locator('tr[data-version="hub-chat@1"]').waitFor({ state: 'detached' });
    const after = (await models()).find((m) => m.name === 'hub-chat');
    expect(after?.versions ?? []).toEqual([]);
    expect(ui.pageErrors.filter((e) => !e.includes('POST /api/models/import'))).toEqual([]);
  });
});
