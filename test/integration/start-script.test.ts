/**
 * `npm start` (scripts/start.mjs). On this machine Electron is not installed, so it must say so
 * and serve the web UI: the test runs the script as `npm start` does, reads the printed URL,
 * signs in through it, and stops it with SIGTERM / SIGINT as a terminal or service manager would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUILD_INPUTS,
  BUILD_OUTPUTS,
  ROOT,
  buildStatus,
  findElectron,
} from '../../scripts/start.mjs';
import { isAlive, waitUntilDead } from '../unit/electron/fixtures/supervisor-helpers.js';

const homes: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  homes.push(d);
  return d;
}

describe('buildStatus', () => {
  function tree(): string {
    const root = tempDir('orchard-start-tree-');
    for (const rel of [
      ...BUILD_OUTPUTS,
      'src/a.ts',
      'electron/main/b.ts',
      'renderer/src/c.tsx',
      'package.json',
    ]) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), '');
    }
    const old = new Date(Date.now() - 60_000);
    for (const rel of ['src/a.ts', 'electron/main/b.ts', 'renderer/src/c.tsx', 'package.json']) {
      fs.utimesSync(path.join(root, rel), old, old);
    }
    return root;
  }

  it('is up to date when every output is newer than every input', () => {
    expect(buildStatus(tree())).toEqual({ needed: false, reason: 'the build is up to date' });
  });

  it('builds when an output is missing', () => {
    const root = tree();
    fs.rmSync(path.join(root, 'renderer/dist/index.html'));
    expect(buildStatus(root)).toEqual({
      needed: true,
      reason: 'renderer/dist/index.html is missing',
    });
  });

  it('builds when a source changed after the build, naming it', () => {
    const root = tree();
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, 'electron/main/b.ts'), later, later);
    expect(buildStatus(root)).toEqual({
      needed: true,
      reason: `${path.join('electron', 'main', 'b.ts')} changed since the last build`,
    });
  });

  it('watches the folders the build compiles', () => {
    expect(BUILD_INPUTS).toEqual(expect.arrayContaining(['src', 'electron', 'renderer/src']));
  });
});

describe('npm start in a scratch project', () => {
  it('builds first when dist/ is missing, then not again; then serves', async () => {
    const root = tempDir('orchard-start-project-');
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), text);
    };
    write('scripts/start.mjs', fs.readFileSync(path.join(ROOT, 'scripts', 'start.mjs'), 'utf8'));
    write(
      'package.json',
      JSON.stringify({
        name: 'scratch',
        private: true,
        type: 'module',
        scripts: { build: 'node build.mjs' },
      }),
    );
    write('src/a.ts', 'export {};\n');
    // The "build" writes every output npm start checks for.
    write(
      'build.mjs',
      `import fs from 'node:fs'; import path from 'node:path';
       for (const f of ${JSON.stringify(BUILD_OUTPUTS)}) {
         fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, '');
       }
       console.log('scratch build done');`,
    );
    // Its "orchard serve" is the IPC fixture service.
    write(
      'bin/orchard.js',
      fs.readFileSync(path.join(ROOT, 'test/unit/electron/fixtures/ipc-service.mjs'), 'utf8'),
    );

    const run = async () => {
      const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.mjs')], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let text = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          text += d.toString();
          if (/open the Orchard web UI at http/.test(text)) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
      });
      // SIGTERM is forwarded to the fixture service, so nothing outlives the run.
      child.kill('SIGTERM');
      await exitOf(child);
      return text;
    };

    const first = await run();
    expect(first).toContain('npm start: building first (dist/src/cli/main.js is missing)');
    expect(first).toContain('scratch build done');
    for (const f of BUILD_OUTPUTS) expect(fs.existsSync(path.join(root, f))).toBe(true);
    expect(buildStatus(root).needed).toBe(false);

    const second = await run();
    expect(second).not.toContain('building first');
    expect(second).toContain('Electron is not installed, so no desktop window here');
  });
});

interface Started {
  child: ChildProcess;
  out: string[];
  uiUrl: string;
  servicePid: number;
}

async function startNpmStart(home: string): Promise<Started> {
  // Where Electron is installed, --web asks for the same fallback this test is about.
  const args = findElectron(ROOT).binary ? ['--web'] : [];
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs'), ...args], {
    cwd: ROOT,
    // The build step is covered in a scratch project below; here a rebuild of the shared tree
    // would only slow the test (the CLI runs from sources through tsx when dist/ is absent).
    env: {
      ...process.env,
      ORCHARD_HOME: home,
      ORCHARD_PORT: '0',
      ORCHARD_LOG_LEVEL: 'warn',
      ORCHARD_START_SKIP_BUILD: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out: string[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const uiUrl = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const line of lines) {
        out.push(line);
        const m = /open the Orchard web UI at (http\S+)/.exec(line);
        if (m) resolve(m[1]);
      }
    });
    child.on('exit', (code) =>
      reject(new Error(`npm start exited (${code}) early:\n${out.join('\n')}\n${err}`)),
    );
  });
  const runtime = JSON.parse(fs.readFileSync(path.join(home, 'service.json'), 'utf8')) as {
    pid: number;
  };
  return { child, out, uiUrl, servicePid: runtime.pid };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null) return Promise.resolve({ code: child.exitCode, signal: null });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

describe('npm start without Electron', () => {
  it('says why in one line, serves the web UI at the printed URL, and SIGTERM stops it', async () => {
    const home = tempDir('orchard-start-home-');
    const s = await startNpmStart(home);
    const notice = s.out.filter((l) => l.includes('no desktop window here'));
    expect(notice).toHaveLength(1);
    if (!findElectron(ROOT).binary) {
      expect(notice[0]).toBe(
        'npm start: Electron is not installed, so no desktop window here; serving the web UI with `orchard serve` instead.',
      );
    }

    const url = new URL(s.uiUrl);
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('token')).toBeTruthy();
    // The one-time link signs the browser in (a cookie) and lands on the app page.
    const signIn = await fetch(url, { redirect: 'manual' });
    expect([200, 302, 303]).toContain(signIn.status);
    const cookie = signIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    expect(cookie).not.toBe('');
    const page = await fetch(new URL('/', url), { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/<div id="root">/);
    const health = await fetch(new URL('/health', url));
    expect(health.status).toBe(200);

    expect(isAlive(s.servicePid)).toBe(true);
    s.child.kill('SIGTERM');
    expect(await exitOf(s.child)).toEqual({ code: 0, signal: null });
    await waitUntilDead(s.servicePid);
    await expect(fetch(new URL('/health', url))).rejects.toThrow();
  });

  it('forwards SIGINT (Ctrl-C) once: the server drains and everything exits cleanly', async () => {
    const home = tempDir('orchard-start-home-');
    const s = await startNpmStart(home);
    s.child.kill('SIGINT');
    expect(await exitOf(s.child)).toEqual({ code: 0, signal: null });
    await waitUntilDead(s.servicePid);
    // A clean shutdown removes the service's runtime file.
    expect(fs.existsSync(path.join(home, 'service.json'))).toBe(false);
  });
});
