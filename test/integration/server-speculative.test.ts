import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './server-harness.js';

/** Reads one labelled sample from Prometheus text. */
function sample(text: string, name: string): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{model="orchard-chat",version="1"}`));
  if (!line) throw new Error(`${name} missing from /metrics`);
  return Number(line.split(' ').pop());
}

describe('orchard serve --speculative lookup', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ speculative: 'lookup' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps greedy output and reports proposals and acceptances in /metrics', async () => {
    // A repetitive prompt gives prompt lookup n-grams to propose from.
    const prompt = 'the apple tree and the pear tree and the apple tree and the pear tree and the';
    const plain = await startTestService({ speculative: 'off' });
    // ignore_eos: the small model then loops on stock phrases, which lookup can propose from.
    const body = {
      model: 'orchard-chat',
      prompt,
      max_tokens: 96,
      temperature: 0,
      ignore_eos: true,
    } as Parameters<typeof t.client.completions.create>[0] & { stream?: false };
    const withSpec = await t.client.completions.create(body);
    const without = await plain.client.completions.create(body);
    await plain.close();
    expect(withSpec.choices[0].text).toBe(without.choices[0].text);
    expect(withSpec.usage?.completion_tokens).toBe(without.usage?.completion_tokens);

    // Engine stats reach the service on an interval: poll until the run is counted.
    let text = '';
    for (let i = 0; i < 40; i++) {
      text = await (await t.api('/metrics')).text();
      if (sample(text, 'orchard:spec_decode_num_draft_tokens') > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const proposed = sample(text, 'orchard:spec_decode_num_draft_tokens');
    const accepted = sample(text, 'orchard:spec_decode_num_accepted_tokens');
    expect(proposed).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(proposed);
    const rate = sample(text, 'orchard:spec_decode_acceptance_rate');
    expect(rate).toBeCloseTo(accepted / proposed, 6);
  });
});
