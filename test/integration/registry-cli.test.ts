/**
 * The registry and rollout commands as a user runs them (bin/orchard.js in a child process)
 * against a running service: tables, progress, and one clear line for bad input.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHub } from '../support/fake-hub.js';
import { ROOT, SHIPPED_DIR, tempHome } from './rollout-helpers.js';
import { startTestService, type TestService } from './server-harness.js';

const BIN = path.join(ROOT, 'bin/orchard.js');
let t: TestService;
let hub: FakeHub;
let scratch: string;
const savedEndpoint = process.env.HF_ENDPOINT;

beforeAll(async () => {
  hub = await FakeHub.start();
  hub.addRepo('orchard/chat-1', path.join(SHIPPED_DIR, 'orchard-chat-1'));
  process.env.HF_ENDPOINT = hub.url;
  scratch = await tempHome('orchard-cli-reg-');
  t = await startTestService();
});
afterAll(async () => {
  await t?.close();
  await hub?.close();
  await fs.rm(scratch, { recursive: true, force: true });
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

function orchard(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ORCHARD_')) delete env[k];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--home', t.home], { env, cwd: scratch });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('registry commands', () => {
  it('lists models and loaded versions', async () => {
    const models = await orchard('models');
    expect(models.status, models.stderr).toBe(0);
    expect(models.stdout).toMatch(/^VERSION\s+STATE\s+SIZE\s+PARAMS\s+CONTEXT\s+MEMORY\s+LOADED/m);
    expect(models.stdout).toMatch(
      /orchard-chat@1\s+ready\s+\d+ MB\s+[\d.]+M\s+1024\s+\d+ MB\s+yes\s+[0-9a-f]{12}\s+shipped:orchard-chat-1/,
    );
    expect(models.stdout).toContain('orchard-chat serves orchard-chat@1');
    const ps = await orchard('ps');
    expect(ps.status, ps.stderr).toBe(0);
    expect(ps.stdout).toMatch(
      /orchard-chat@1\s+\d+ MB\s+\S+\s+0\s+0\s+0\s+kept loaded\s+orchard-chat: stable/,
    );
  });

  it('imports and pulls', async () => {
    await fs.cp(path.join(SHIPPED_DIR, 'orchard-chat-2'), path.join(scratch, 'folder'), {
      recursive: true,
    });
    const imported = await orchard('import', 'folder', '--name', 'local', '--version', 'a');
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^imported local@a: ready, \d+ MB/);
    const pulled = await orchard('pull', 'orchard/chat-1');
    expect(pulled.status, pulled.stderr).toBe(0);
    expect(pulled.stdout).toMatch(/^pulled chat-1@1: ready/);
  });

  it('runs a canary, changes its weight, rolls it back, deploys and shows the history', async () => {
    const canary = await orchard(
      'canary',
      'orchard-chat',
      '--version',
      '2',
      '--weight',
      '10',
      '--min-requests',
      '50',
    );
    expect(canary.status, canary.stderr).toBe(0);
    expect(canary.stdout).toBe(
      'orchard-chat serves orchard-chat@1; canary orchard-chat@2 takes 10% of requests\n',
    );
    const weight = await orchard('canary', 'orchard-chat', '--weight', '25');
    expect(weight.stdout).toContain('takes 25% of requests');
    const rollback = await orchard('rollback', 'orchard-chat', '--reason', 'cli test');
    expect(rollback.stdout).toBe('orchard-chat serves orchard-chat@1\n');
    const shadow = await orchard('shadow', 'orchard-chat', '--version', '2', '--weight', '50');
    expect(shadow.stdout).toContain('shadow orchard-chat@2 mirrors 50% of requests');
    const promote = await orchard('promote', 'orchard-chat');
    expect(promote.stdout).toBe('orchard-chat serves orchard-chat@2\n');
    const deploy = await orchard('deploy', 'orchard-chat', '--version', '1');
    expect(deploy.status, deploy.stderr).toBe(0);
    expect(deploy.stdout).toBe('orchard-chat serves orchard-chat@1\n');
    const history = await orchard('deploy', 'orchard-chat');
    expect(history.stdout).toMatch(/policy\s+policy max error rate 5\.0%.*min 50 requests/);
    expect(history.stdout).toMatch(
      /rollback\s+canary 2 rolled back, 1 serves everything: cli test/,
    );
    expect(history.stdout).toMatch(/promote\s+shadow 2 promoted to stable/);
    expect(history.stdout).toMatch(/deploy\s+switched from 2 to 1/);
  });

  it('says clearly what is wrong and changes nothing', async () => {
    const before = (await orchard('models', '--json')).stdout;
    const cases: Array<[string[], RegExp]> = [
      [
        ['canary', 'orchard-chat', '--version', '2', '--weight', '150'],
        /weight must be a percentage greater than 0 and at most 100; got 150/,
      ],
      [
        ['canary', 'orchard-chat', '--version', '2', '--weight', 'lots'],
        /--weight must be a number; got 'lots'/,
      ],
      [['deploy', 'nope', '--version', '1'], /The deployment 'nope' does not exist/],
      [
        ['deploy', 'orchard-chat', '--version', '7'],
        /The model 'orchard-chat' has no version '7' \(versions: 1, 2\)/,
      ],
      [['import', 'no-such-folder'], /cannot read .*no-such-folder/],
      [['promote', 'orchard-chat'], /has no candidate to promote/],
      [['pull', 'not a repo'], /is not a Hugging Face repository id/],
    ];
    for (const [args, message] of cases) {
      const r = await orchard(...args);
      expect(r.status, args.join(' ')).not.toBe(0);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('orchard: '));
      expect(errors, `${args.join(' ')}: ${r.stderr}`).toHaveLength(1);
      expect(errors[0], args.join(' ')).toMatch(message);
    }
    expect((await orchard('models', '--json')).stdout).toBe(before);
  });
});
