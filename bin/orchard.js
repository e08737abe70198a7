#!/usr/bin/env node
// The `orchard` command: runs the built CLI (dist/) when there is one, otherwise the TypeScript
// sources through tsx, so `npx orchard serve` works straight from a clone.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let cli;
if (existsSync(built)) {
  cli = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
const code = await cli.main(process.argv);
if (code !== 0) process.exit(code);
