/** `orchard pull org/repo[@revision]`: downloads an ONNX model from the Hugging Face Hub. */
import type { Command } from 'commander';
import type { JobSummary } from '../../shared/admin-api.js';
import { clientFor, describeVersion, followJob, withAdminOptions } from './rollout-output.js';

export function registerPull(program: Command): void {
  const cmd = program
    .command('pull')
    .description(
      'Download an ONNX text-generation model from the Hugging Face Hub (resumes; HF_TOKEN, HF_ENDPOINT).',
    )
    .argument('<repo>', 'org/repo, optionally @revision')
    .option(
      '--file-pattern <glob>',
      'which ONNX file when the repository has several (e.g. "**q4*")',
    )
    .option('--name <model>', 'model name (default: the repository name)')
    .option('--version <version>', 'version name (default: the next number)');
  withAdminOptions(cmd);
  cmd.action(async (repo: string) => {
    const opts = cmd.opts<{ filePattern?: string; name?: string; version?: string }>();
    const client = clientFor(cmd);
    const job = await client.post<JobSummary>('/api/models/pull', {
      repo,
      ...(opts.filePattern ? { filePattern: opts.filePattern } : {}),
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.version ? { version: opts.version } : {}),
    });
    const done = await followJob(client, job);
    if (done.result) process.stdout.write(`pulled ${describeVersion(done.result)}`);
  });
}
