#!/usr/bin/env node
/**
 * `npm start`: builds when dist/ is missing or older than the sources, then opens the desktop
 * app when Electron is installed. Where it is not (a headless box; electron is an optional
 * dependency), it says so in one line and runs `orchard serve` with the web UI instead,
 * printing the address to open. Extra arguments go to the app / `orchard serve`
 * (`npm start -- --port 0`); `--web` serves the web UI even where Electron is installed.
 *
 * ORCHARD_START_SKIP_BUILD=1 skips the freshness check (for callers that just built).
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the build reads: a change to any of these makes the build stale. */
export const BUILD_INPUTS = [
  'src',
  'electron',
  'renderer/src',
  'renderer/public',
  'renderer/index.html',
  'renderer/vite.config.ts',
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

/** What the build writes that `npm start` needs. */
export const BUILD_OUTPUTS = [
  'dist/src/cli/main.js',
  'dist/electron/main/main.js',
  'dist/electron/preload/preload.cjs',
  'renderer/dist/index.html',
];

function newestIn(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return { mtimeMs: 0, file: null };
  }
  if (!st.isDirectory()) return { mtimeMs: st.mtimeMs, file: p };
  let best = { mtimeMs: 0, file: null };
  for (const name of fs.readdirSync(p)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const n = newestIn(path.join(p, name));
    if (n.mtimeMs > best.mtimeMs) best = n;
  }
  return best;
}

/** Whether `npm run build` has to run first, and why. */
export function buildStatus(root = ROOT) {
  let oldestOutput = Infinity;
  for (const rel of BUILD_OUTPUTS) {
    const file = path.join(root, rel);
    if (!fs.existsSync(file)) return { needed: true, reason: `${rel} is missing` };
    oldestOutput = Math.min(oldestOutput, fs.statSync(file).mtimeMs);
  }
  let newest = { mtimeMs: 0, file: null };
  for (const rel of BUILD_INPUTS) {
    const n = newestIn(path.join(root, rel));
    if (n.mtimeMs > newest.mtimeMs) newest = n;
  }
  if (newest.file && newest.mtimeMs > oldestOutput) {
    return {
      needed: true,
      reason: `${path.relative(root, newest.file)} changed since the last build`,
    };
  }
  return { needed: false, reason: 'the build is up to date' };
}

/** The Electron binary when the optional dependency is installed and complete. */
export function findElectron(root = ROOT) {
  const require = createRequire(path.join(root, 'package.json'));
  try {
    require.resolve('electron');
  } catch {
    return { binary: null, why: 'Electron is not installed' };
  }
  let binary;
  try {
    // electron's main export is the path of its binary (it throws when the download failed).
    binary = require('electron');
  } catch (err) {
    return { binary: null, why: `Electron is installed without its binary (${err.message})` };
  }
  if (typeof binary !== 'string' || !fs.existsSync(binary)) {
    return { binary: null, why: `Electron's binary is missing (${String(binary)})` };
  }
  return { binary, why: null };
}

function build(root) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  return r.status ?? 1;
}

/**
 * Runs the child in its own process group (POSIX), so a terminal's Ctrl-C reaches it exactly
 * once — through us — and a second copy does not cut its graceful shutdown short.
 */
function supervise(child) {
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onSignal = {
    SIGINT: () => forward('SIGINT'),
    SIGTERM: () => forward('SIGTERM'),
    SIGHUP: () => forward('SIGTERM'),
  };
  for (const [sig, fn] of Object.entries(onSignal)) process.on(sig, fn);
  child.on('exit', (code, signal) => {
    for (const [sig, fn] of Object.entries(onSignal)) process.off(sig, fn);
    process.exitCode = code ?? (signal ? 1 : 0);
    // The IPC channel (web mode) would otherwise keep this process alive.
    if (child.connected) child.disconnect();
  });
}

async function serveWeb(root, args) {
  // The child has an IPC channel, so it does not relaunch itself: give it the malloc settings
  // (from the build; a missing build only costs speed).
  const withMallocTunables = await import(
    pathToFileURL(path.join(root, 'dist', 'src', 'shared', 'malloc-tunables.js')).href
  ).then(
    (m) => m.withMallocTunables,
    () => (env) => env,
  );
  const child = fork(path.join(root, 'bin', 'orchard.js'), ['serve', ...args], {
    cwd: root,
    env: withMallocTunables(process.env),
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: process.platform !== 'win32',
  });
  child.on('message', (m) => {
    if (m?.type !== 'orchard:status') return;
    if (m.state === 'ready' && m.uiUrl)
      console.log(`npm start: open the Orchard web UI at ${m.uiUrl}`);
    if (m.state === 'error' && m.error) console.error(`npm start: the server reported: ${m.error}`);
  });
  supervise(child);
}

function runDesktop(root, binary, args) {
  const child = spawn(binary, ['.', ...args], {
    cwd: root,
    stdio: 'inherit',
    detached: process.platform !== 'win32',
  });
  supervise(child);
}

export function main(argv = process.argv.slice(2), root = ROOT) {
  const web = argv.includes('--web');
  const args = argv.filter((a) => a !== '--web');
  if (process.env.ORCHARD_START_SKIP_BUILD !== '1') {
    const status = buildStatus(root);
    if (status.needed) {
      console.log(`npm start: building first (${status.reason})`);
      const code = build(root);
      if (code !== 0) {
        console.error('npm start: the build failed; fix the errors above and run npm start again');
        process.exitCode = code;
        return;
      }
    }
  }
  const electron = web ? { binary: null, why: '--web was given' } : findElectron(root);
  if (electron.binary) {
    runDesktop(root, electron.binary, args);
    return;
  }
  console.log(
    `npm start: ${electron.why}, so no desktop window here; serving the web UI with \`orchard serve\` instead.`,
  );
  void serveWeb(root, args);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
