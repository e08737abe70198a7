/**
 * Blue-green under load: 32 concurrent streaming clients (official openai SDK) keep chatting
 * while orchard-chat switches from version 1 to 2. No request may fail, every stream must end
 * with a finish reason, streams started before the switch finish on 1, and 1 is unloaded once
 * they have drained.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DeploymentSummary,
  LoadedVersionDetail,
  RolloutEvent,
} from '../../src/shared/admin-api.js';
import { postJson, startTestService, waitFor, type TestService } from './server-harness.js';

let t: TestService;

beforeAll(async () => {
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
});

interface StreamResult {
  model: string;
  finish: string | null;
  chunks: number;
  startedAfterSwitch: boolean;
}

describe('blue-green deploy', () => {
  it('switches under 32 concurrent streams with zero failed requests', async () => {
    const CLIENTS = 32;
    const results: StreamResult[] = [];
    const errors: string[] = [];
    let switched = false;
    let stop = false;
    let firstChunks = 0;

    const oneStream = async (client: number, n: number): Promise<void> => {
      const startedAfterSwitch = switched;
      const stream = await t.client.chat.completions.create({
        model: 'orchard-chat',
        messages: [
          {
            role: 'user',
            content: `Client ${client} asks question ${n}: tell me about the orchard.`,
          },
        ],
        max_tokens: 24,
        stream: true,
      });
      let model = '';
      let finish: string | null = null;
      let chunks = 0;
      for await (const chunk of stream) {
        if (chunks === 0 && n === 0) firstChunks++;
        chunks++;
        model = chunk.model;
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      results.push({ model, finish, chunks, startedAfterSwitch });
    };

    const clientLoop = async (client: number): Promise<void> => {
      const attempt = async (n: number) => {
        try {
          await oneStream(client, n);
        } catch (err) {
          errors.push(`client ${client}: ${(err as Error).message}`);
        }
      };
      // Keep chatting through the switch, then one more request each once it is done.
      let n = 0;
      while (!stop) await attempt(n++);
      await attempt(n);
    };

    const loops = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i));
    await waitFor(() => firstChunks >= CLIENTS, 120_000);
    const deployed = await postJson(t, '/api/deployments/orchard-chat/deploy', { version: '2' });
    switched = true;
    expect(deployed.status).toBe(200);
    expect((deployed.json as unknown as DeploymentSummary).stable).toBe('2');
    stop = true;
    await Promise.all(loops);

    const byModel: Record<string, number> = {};
    for (const r of results) byModel[r.model] = (byModel[r.model] ?? 0) + 1;
    console.log(
      `blue-green: ${results.length} streams, ${errors.length} errors, by version ${JSON.stringify(byModel)}`,
    );
    expect(errors).toEqual([]);
    expect(results.every((r) => r.finish === 'length' || r.finish === 'stop')).toBe(true);
    expect(results.every((r) => r.chunks > 1)).toBe(true);
    expect(byModel['orchard-chat@1']).toBeGreaterThanOrEqual(CLIENTS);
    const after = results.filter((r) => r.startedAfterSwitch);
    expect(after.length).toBeGreaterThanOrEqual(CLIENTS);
    expect(after.every((r) => r.model === 'orchard-chat@2')).toBe(true);

    // Version 1 drains and is unloaded; version 2 stays.
    let loaded: string[] = [];
    await waitFor(() => {
      void t
        .api('/api/ps')
        .then((r) => r.json() as Promise<LoadedVersionDetail[]>)
        .then((ps) => (loaded = ps.map((p) => p.servedName)));
      return loaded.length === 1 && loaded[0] === 'orchard-chat@2';
    }, 30_000);

    const events = (await (
      await t.api('/api/deployments/orchard-chat/events')
    ).json()) as RolloutEvent[];
    const deploy = events.find((e) => e.kind === 'deploy')!;
    expect(deploy).toMatchObject({ fromVersion: '1', toVersion: '2' });
    expect(deploy.detail).toMatch(/switched from 1 to 2/);
  });
});
