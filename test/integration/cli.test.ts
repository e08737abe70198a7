/**
 * The `orchard` command as a user runs it: real child processes through bin/orchard.js.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = path.resolve('bin/orchard.js');
let home: string;

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ORCHARD_')) delete env[k];
  return env;
}

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Processes started by relaunchWithMallocTunables from `parent` (read from /proc). */
function relaunchedChildrenOf(parent: number): Array<{ pid: number; env: Record<string, string> }> {
  const found: Array<{ pid: number; env: Record<string, string> }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let raw: string;
    try {
      raw = fs.readFileSync(`/proc/${name}/environ`, 'utf8');
    } catch {
      continue; // gone, or not ours
    }
    const env = Object.fromEntries(
      raw
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    if (env.ORCHARD_RELAUNCH_PARENT === String(parent)) found.push({ pid: Number(name), env });
  }
  return found;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-cli-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('orchard config / key', () => {
  it('lists every setting with value, source and description', () => {
    const r = run(['config', '--home', home, '--port', '9999']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/port\s+9999\s+flag\s+TCP port/);
    expect(r.stdout).toMatch(/kvCacheMb\s+256\s+default/);
    expect(r.stdout).toContain('ORCHARD_KV_CACHE_MB');
    const json = JSON.parse(run(['config', '--home', home, '--json']).stdout) as Array<{
      name: string;
    }>;
    expect(json.map((s) => s.name)).toContain('shutdownGraceMs');
  });

  it('exits 2 with a clear message on a bad flag value', () => {
    const r = run(['serve', '--home', home, '--port', 'seventy']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--port');
    expect(r.stderr).toContain('must be a whole number');
    const bad = run(['config', '--home', home, '--device', 'tpu']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/one of auto, cpu/);
    expect(run(['serve', '--no-such-flag']).status).toBe(2);
    const exposed = run(['serve', '--home', home, '--host', '0.0.0.0', '--no-auth', '--port', '0']);
    expect(exposed.status).toBe(2);
    expect(exposed.stderr).toMatch(/loopback/);
  });

  it('prints the API key, creating it once', () => {
    const first = run(['key', '--home', home]);
    expect(first.status).toBe(0);
    const key = first.stdout.trim();
    expect(key).toMatch(/^orch-/);
    expect(run(['key', '--home', home]).stdout.trim()).toBe(key);
    expect(fs.readFileSync(path.join(home, 'api-key'), 'utf8').trim()).toBe(key);
  });
});

describe('orchard serve', () => {
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let apiUrl = '';
  let uiUrl = '';

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [
        BIN,
        'serve',
        '--home',
        home,
        '--port',
        '0',
        '--threads',
        '1',
        '--kv-cache-mb',
        '32',
        '--shutdown-grace-ms',
        '20000',
      ],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no URLs printed:\n${stdout}\n${stderr}`)),
        90_000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        const api = /API: (\S+)/.exec(stdout);
        const ui = /UI: +(\S+)/.exec(stdout);
        if (api && ui) {
          apiUrl = api[1];
          uiUrl = ui[1];
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}:\n${stdout}\n${stderr}`)));
    });
  });
  afterAll(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the real port and answers with the key from ORCHARD_HOME', async () => {
    expect(apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(apiUrl).not.toContain(':0/');
    expect(stdout).toContain('orchard-chat → orchard-chat@1');
    const key = fs.readFileSync(path.join(home, 'api-key'), 'utf8').trim();
    const client = new OpenAI({ baseURL: apiUrl, apiKey: key, maxRetries: 0 });
    const r = await client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 4,
    });
    expect(r.model).toBe('orchard-chat@1');
  });

  it.runIf(process.platform === 'linux')(
    'restarts itself once with the glibc malloc settings, and the child serves',
    () => {
      const children = relaunchedChildrenOf(child.pid!);
      expect(children).toHaveLength(1);
      expect(children[0].env.GLIBC_TUNABLES).toContain('glibc.malloc.mmap_threshold=');
    },
  );

  it('refuses a second server on the same ORCHARD_HOME, naming the first', () => {
    const second = run(['serve', '--home', home, '--port', '0']);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/another Orchard service \(pid \d+, http:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('signs the UI in with the printed one-time token', async () => {
    const first = await fetch(uiUrl, { redirect: 'manual' });
    expect(first.status).toBe(302);
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
    const status = await fetch(new URL('/api/status', uiUrl), { headers: { cookie } });
    expect(status.status).toBe(200);
    expect((await fetch(uiUrl, { redirect: 'manual' })).status).toBe(401);
  });

  it('drains an in-flight stream on SIGTERM and exits 0', async () => {
    const key = fs.readFileSync(path.join(home, 'api-key'), 'utf8').trim();
    const client = new OpenAI({ baseURL: apiUrl, apiKey: key, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Tell me a story' }],
      max_tokens: 60,
      stream: true,
      ...({ ignore_eos: true } as unknown as Record<string, never>),
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      if (++chunks === 2) child.kill('SIGTERM');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('length');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: draining/);
    expect(fs.existsSync(path.join(home, 'service.json'))).toBe(false);
  });
});

describe.runIf(process.platform === 'linux')('orchard serve, relaunched', () => {
  it('stops the relaunched server when its parent is killed with SIGKILL', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-cli-orphan-'));
    const parent = spawn(
      process.execPath,
      [BIN, 'serve', '--home', own, '--port', '0', '--threads', '1', '--kv-cache-mb', '16'],
      { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URLs printed:\n${out}`)), 90_000);
        parent.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (/UI: +\S+/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const [served] = relaunchedChildrenOf(parent.pid!);
      expect(served).toBeDefined();
      parent.kill('SIGKILL');
      expect(await waitGone(served.pid, 20_000)).toBe(true);
    } finally {
      if (parent.exitCode === null) parent.kill('SIGKILL');
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
