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

let cli;
if (await builtIsCurrent()) {
  cli = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
const code = await cli.main(process.argv);
if (code !== 0) process.exit(code);
