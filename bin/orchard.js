#!/usr/bin/env node
// The `orchard` command: runs the built CLI (dist/) when it is up to date, otherwise the
// TypeScript sources through tsx, so `npx orchard serve` works straight from a clone and never
// runs a build older than the sources beside it.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const sources = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

async function builtIsCurrent() {
  if (!existsSync(built)) return false;
  if (!existsSync(sources)) return true; // an installed package: only dist/ ships
  const { buildStatus } = await import('../scripts/start.mjs');
  return !buildStatus().needed;
}

const current = await builtIsCurrent();
if (!current) {
  const { register } = await import('tsx/esm/api');
  register();
}
const load = (file) =>
  current
    ? import(pathToFileURL(fileURLToPath(new URL(`../dist/src/${file}.js`, import.meta.url))).href)
    : import(`../src/${file}.ts`);

// `orchard serve` runs ONNX Runtime: restart it once with glibc malloc settings that avoid a
// page-fault storm per step (src/shared/malloc-tunables.ts explains).
if (process.argv.slice(2).find((a) => !a.startsWith('-')) === 'serve') {
  const { relaunchWithMallocTunables, exitWithParent } = await load('shared/relaunch');
  const relaunched = relaunchWithMallocTunables();
  if (relaunched) process.exit(await relaunched);
  exitWithParent();
}

const cli = await load('cli/main');
const code = await cli.main(process.argv);
if (code !== 0) process.exit(code);
