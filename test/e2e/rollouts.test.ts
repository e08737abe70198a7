/**
 * Deployments and Metrics views against a real `orchard serve`: starting a canary from the UI,
 * moving its traffic slider and seeing the API route accordingly (checked with the official
 * openai client), shadow mode, the rollback policy, promote and rollback with their timeline,
 * and live metrics of stable and candidate side by side.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploymentSummary, RolloutEvent } from '../../src/shared/admin-api.js';
import { startOrchardUi, unlabelledControls, type OrchardUi } from './support/orchard-ui.js';
import { bucketOf } from '../../src/deploy/router.js';

let ui: OrchardUi;
let client: OpenAI;

beforeAll(async () => {
  ui = await startOrchardUi();
  client = new OpenAI({ baseURL: ui.urls.apiUrl, apiKey: ui.service.apiKey, maxRetries: 0 });
});

afterAll(async () => {
  await ui?.close();
});

async function deployment(): Promise<DeploymentSummary> {
  const all = await ui.api<DeploymentSummary[]>('GET', '/api/deployments');
  return all.find((d) => d.name === 'orchard-chat')!;
}

async function servedModels(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: `Name a fruit (${i}).` }],
      max_tokens: 8,
    });
    out.push(r.model);
  }
  return out;
}

const card = () => ui.page.locator('#dep-orchard-chat');

describe('deployments and metrics views', () => {
  it('shows the stable version and starts a canary from the UI', async () => {
    const { page } = ui;
    await ui.open('Deployments');
    await expect
      .poll(() => card().getByTestId('stable-version').innerText())
      .toBe('orchard-chat@1');
    await card().getByLabel('Candidate version').selectOption('2');
    await card().getByLabel('Rollout mode').selectOption('canary');
    await card().getByLabel('Traffic %').fill('25');
    await card().getByRole('button', { name: 'Start rollout' }).click();

    // The candidate is loaded and warmed up before it takes traffic.
    await card().getByTestId('candidate-version').waitFor({ timeout: 90_000 });
    expect(await card().getByTestId('candidate-version').innerText()).toBe('orchard-chat@2');
    expect((await deployment()).candidate).toEqual({ version: '2', weight: 25, mode: 'canary' });
    await card().locator('.timeline-item[data-kind="canary"]').waitFor();
    expect(await page.getByLabel('Traffic to candidate').inputValue()).toBe('25');
    expect(await unlabelledControls(page)).toEqual([]);

    // Some traffic on both versions, for the screenshots of this view and of Metrics.
    await servedModels(10);
    await ui.screenshot('deployments');
  });

  it('moving the traffic slider to 100% sends every request to the candidate', async () => {
    const { page } = ui;
    const slider = page.getByLabel('Traffic to candidate');
    await slider.focus();
    await page.keyboard.press('End');
    // Applied on release (the change event), not while the thumb moves.
    await expect.poll(async () => (await deployment()).candidate?.weight).toBe(100);
    await card().locator('.timeline-item[data-kind="weight"]').first().waitFor();
    expect(await card().locator('.timeline-item[data-kind="weight"]').first().innerText()).toMatch(
      /25% → 100%/,
    );
    expect(await servedModels(8)).toEqual(Array(8).fill('orchard-chat@2'));

    // The playground, asking for the deployment by name, is answered by the candidate too.
    await ui.open('Playground');
    await page.getByLabel('Model', { exact: true }).selectOption('orchard-chat');
    await page.getByLabel('Max tokens').fill('8');
    await page.getByLabel('Message', { exact: true }).fill('Hello');
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.locator('.message-assistant').last();
    await expect.poll(() => reply.getAttribute('data-status')).toBe('done');
    expect(await reply.getByTestId('served-model').innerText()).toBe('orchard-chat@2');

    // Back to 1% with the keyboard: the API follows again.
    await ui.open('Deployments');
    await page.getByLabel('Traffic to candidate').focus();
    await page.keyboard.press('Home');
    await expect.poll(async () => (await deployment()).candidate?.weight).toBe(1);
  });

  it('shows live metrics of stable and candidate side by side, and their history', async () => {
    const { page } = ui;
    await ui.open('Metrics');
    expect(await page.getByLabel('Compare').inputValue()).toBe('dep:orchard-chat');
    const table = page.getByRole('table', { name: 'Live comparison' });
    const headers = await table.locator('thead th').allInnerTexts();
    expect(headers.join(' ')).toMatch(/stable\s+orchard-chat@1/i);
    expect(headers.join(' ')).toMatch(/candidate\s+orchard-chat@2/i);

    // Traffic on both versions while the view watches.
    await Promise.all(
      ['orchard-chat@1', 'orchard-chat@2'].map(async (model) => {
        for (let i = 0; i < 4; i++) {
          await client.chat.completions.create({
            model,
            messages: [{ role: 'user', content: 'An apple?' }],
            max_tokens: 24,
          });
        }
      }),
    );
    const row = (name: string) =>
      table.locator('tbody tr', { has: page.getByRole('rowheader', { name, exact: true }) });
    await expect
      .poll(async () =>
        (await row('Requests / errors').locator('td').allInnerTexts()).map(
          (t) => Number(t.split(' / ')[0]) > 0,
        ),
      )
      .toEqual([true, true]);
    for (const cell of await row('Time to first token p50').locator('td').allInnerTexts()) {
      expect(cell).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    }
    for (const title of [
      'Throughput (tokens/s)',
      'Time to first token',
      'Per-token time',
      'Queue depth',
      'KV cache usage',
      'Prefix cache hit rate',
    ]) {
      await page.getByRole('figure', { name: title }).first().locator('canvas').waitFor();
    }
    const ttftLegend = await page
      .getByRole('figure', { name: 'Time to first token' })
      .first()
      .locator('.chart-legend')
      .innerText();
    expect(ttftLegend).toMatch(/stable p50\s+\d/);
    expect(ttftLegend).toMatch(/candidate p50\s+\d/);

    // History: this minute's requests are already in /api/metrics/history.
    const history = page.locator('#history');
    await history.getByRole('button', { name: 'Last hour' }).click();
    const requestsLegend = history
      .getByRole('figure', { name: 'Requests per minute' })
      .locator('.chart-legend');
    await expect
      .poll(() => requestsLegend.innerText())
      .toMatch(/stable\s+\d+[\s\S]*candidate\s+\d+/);
    await history.getByRole('button', { name: 'Last day' }).click();
    expect(
      await history.getByRole('button', { name: 'Last day' }).getAttribute('aria-pressed'),
    ).toBe('true');
    await expect.poll(() => requestsLegend.innerText()).toMatch(/stable\s+\d+/);
    expect(await unlabelledControls(page)).toEqual([]);
    await history.getByRole('button', { name: 'Last hour' }).click();
    await page.evaluate(() => window.scrollTo(0, 0));
    await ui.screenshot('metrics', { height: 1300 });
  });

  it('switches shadow mode and saves the auto-rollback policy', async () => {
    await ui.open('Deployments');
    const shadow = card().getByRole('checkbox', { name: /Shadow mode/ });
    await shadow.check();
    await expect
      .poll(async () => (await deployment()).candidate?.mode, { timeout: 60_000 })
      .toBe('shadow');
    await card().getByLabel('Traffic mirrored to shadow').waitFor();
    // A greedy request is answered by stable and mirrored to the candidate; the card shows the
    // comparison (re-read every few seconds).
    const stats = card().getByTestId('shadow-stats');
    await stats.waitFor();
    // The shadow mirrors the slider's 1% of users: pick one of them (sticky buckets).
    const { weight } = (await deployment()).candidate!;
    let u = 0;
    while ((bucketOf(`orchard-chat\u0000user-${u}`) / 10_000) * 100 >= weight) u++;
    const r = await client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Say something about shadows.' }],
      max_tokens: 8,
      temperature: 0,
      user: `user-${u}`,
    });
    expect(r.model).toBe('orchard-chat@1');
    await expect
      .poll(() => stats.getByTestId('shadow-mirrored').innerText(), { timeout: 30_000 })
      .toMatch(/^[1-9]\d* requests?/);
    expect(await stats.getByTestId('shadow-agreement').innerText()).toMatch(
      /^\d+\.\d% over [1-9]\d* greedy request/,
    );
    expect(await unlabelledControls(ui.page)).toEqual([]);
    await shadow.uncheck();
    await expect
      .poll(async () => (await deployment()).candidate?.mode, { timeout: 60_000 })
      .toBe('canary');

    await card().getByLabel('Max error rate (%)').fill('5');
    await card().getByLabel('Min requests').fill('12');
    await card().getByRole('button', { name: 'Save policy' }).click();
    await card().getByText('Saved', { exact: true }).waitFor();
    const policy = (await deployment()).policy;
    expect(policy.maxErrorRate).toBeCloseTo(0.05);
    expect(policy.minRequests).toBe(12);
    await card().locator('.timeline-item[data-kind="policy"]').first().waitFor();
  });

  it('promotes the candidate, then rolls back to the previous stable version', async () => {
    const { page } = ui;
    await ui.open('Deployments');
    await card().getByRole('button', { name: 'Promote orchard-chat@2' }).click();
    await page
      .getByRole('dialog', { name: 'Promote orchard-chat@2?' })
      .getByRole('button', { name: 'Promote' })
      .click();
    await expect
      .poll(() => card().getByTestId('stable-version').innerText())
      .toBe('orchard-chat@2');
    expect(await deployment()).toMatchObject({ stable: '2', candidate: null });
    await card().locator('.timeline-item[data-kind="promote"]').waitFor();

    await card().getByRole('button', { name: 'Roll back to the previous stable version' }).click();
    await page
      .getByRole('dialog', { name: 'Roll back orchard-chat?' })
      .getByRole('button', { name: 'Roll back' })
      .click();
    await expect
      .poll(() => card().getByTestId('stable-version').innerText(), { timeout: 60_000 })
      .toBe('orchard-chat@1');
    expect(await deployment()).toMatchObject({ stable: '1', candidate: null });
    const events = await ui.api<RolloutEvent[]>('GET', '/api/deployments/orchard-chat/events');
    expect(events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(['canary', 'weight', 'shadow', 'policy', 'promote', 'rollback']),
    );
    // Every event the API knows is on the timeline.
    await expect.poll(() => card().locator('.timeline-item').count()).toBe(events.length);
    expect(ui.pageErrors).toEqual([]);
  });

  it('creates a deployment and switches it blue-green', async () => {
    const { page } = ui;
    await ui.open('Deployments');
    await page.getByRole('button', { name: 'New deployment' }).first().click();
    const form = page.getByRole('form', { name: 'New deployment' });
    await form.getByLabel('Deployment name').fill('chat-bg');
    await form.getByLabel('Model').selectOption('orchard-chat');
    await form.getByLabel('Version').selectOption('1');
    await form.getByRole('button', { name: 'Create' }).click();
    const bg = page.locator('#dep-chat-bg');
    await expect.poll(() => bg.getByTestId('stable-version').innerText()).toBe('orchard-chat@1');
    const ask = async () =>
      (
        await client.chat.completions.create({
          model: 'chat-bg',
          messages: [{ role: 'user', content: 'Hi' }],
          max_tokens: 4,
        })
      ).model;
    expect(await ask()).toBe('orchard-chat@1');

    // Looked at as a canary first, then switched to directly instead.
    await bg.getByLabel('Candidate version').selectOption('2');
    await bg.getByLabel('Version to deploy').selectOption('2');
    await bg.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page
      .getByRole('dialog', { name: 'Deploy orchard-chat@2?' })
      .getByRole('button', { name: 'Deploy' })
      .click();
    await expect
      .poll(() => bg.getByTestId('stable-version').innerText(), { timeout: 60_000 })
      .toBe('orchard-chat@2');
    expect(await ask()).toBe('orchard-chat@2');
    await bg.locator('.timeline-item[data-kind="deploy"]').waitFor();

    // The version picked before is the stable one now: Deploy offers the other one, not it.
    await bg.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page
      .getByRole('dialog', { name: 'Deploy orchard-chat@1?' })
      .getByRole('button', { name: 'Cancel' })
      .click();
    // Likewise a rollout starts the version the form offers now, not the new stable one.
    await bg.getByRole('button', { name: 'Start rollout' }).click();
    await expect
      .poll(
        async () => (await ui.api<DeploymentSummary>('GET', '/api/deployments/chat-bg')).candidate,
        { timeout: 60_000 },
      )
      .toMatchObject({ version: '1' });
    await bg.getByTestId('candidate-version').waitFor({ timeout: 60_000 });
    await ui.api('POST', '/api/deployments/chat-bg/rollback', {});
    await bg.getByRole('form', { name: 'Start a rollout' }).waitFor();
    expect(ui.pageErrors).toEqual([]);
  });

  it('follows rollouts made elsewhere on Overview and Metrics', async () => {
    const { page } = ui;
    // Both versions stay loaded: starting a canary changes what they serve, not what is loaded.
    await ui.open('Overview');
    const v1 = page.locator('tr[data-version="orchard-chat@1"]');
    await expect.poll(() => v1.innerText()).toMatch(/orchard-chat: stable/);
    expect(await v1.innerText()).not.toMatch(/chat-bg/);
    await ui.api('POST', '/api/deployments/chat-bg/canary', {
      version: '1',
      weight: 10,
      mode: 'canary',
    });
    await expect.poll(() => v1.innerText(), { timeout: 10_000 }).toMatch(/chat-bg: canary 10%/);
    await ui.api('PATCH', '/api/deployments/chat-bg/canary', { weight: 30 });
    await expect.poll(() => v1.innerText(), { timeout: 10_000 }).toMatch(/chat-bg: canary 30%/);

    // Metrics compares the canary, and drops it when it is rolled back (by the CLI, say).
    await ui.open('Metrics');
    await page.getByLabel('Compare').selectOption('dep:chat-bg');
    const headers = async () =>
      (
        await page
          .getByRole('table', { name: 'Live comparison' })
          .locator('thead th')
          .allInnerTexts()
      ).join(' ');
    await expect.poll(headers, { timeout: 10_000 }).toMatch(/candidate\s+orchard-chat@1/i);
    await ui.api('POST', '/api/deployments/chat-bg/rollback', { reason: 'from the CLI' });
    await expect.poll(headers, { timeout: 10_000 }).not.toMatch(/candidate/i);
    expect(await headers()).toMatch(/stable\s+orchard-chat@2/i);
    expect(ui.pageErrors).toEqual([]);
  });
});
