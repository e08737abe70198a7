/** `orchard import <folder>`: validates a model folder and registers it as a new version. */
import path from 'node:path';
import type { Command } from 'commander';
import type { VersionSummary } from '../../shared/admin-api.js';
import { clientFor, describeVersion, withAdminOptions } from './rollout-output.js';

export function registerImport(program: Command): void {
  const cmd = program
    .command('import')
    .description(
      'Import a model folder (config.json, tokenizer, onnx/model.onnx) as a new version.',
    )
    .argument('<folder>', 'the model folder')
    .option('--name <model>', 'model name (default: the folder name)')
    .option('--version <version>', 'version name (default: the next number)');
  withAdminOptions(cmd);
  cmd.action(async (folder: string) => {
    const opts = cmd.opts<{ name?: string; version?: string }>();
    const v = await clientFor(cmd).post<VersionSummary>('/api/models/import', {
      path: path.resolve(folder),
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.version ? { version: opts.version } : {}),
    });
    process.stdout.write(`imported ${describeVersion(v)}`);
  });
}
