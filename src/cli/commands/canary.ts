/**
 * `orchard canary <deployment> --version V --weight W`: send W% of requests to V (sticky per
 * user), judged by the rollout policy. With only --weight: change the running canary's share.
 */
import type { Command } from 'commander';
import type { DeploymentSummary, RolloutPolicy } from '../../shared/admin-api.js';
import { CliError } from '../cli-error.js';
import type { AdminClient } from '../admin-client.js';
import { clientFor, describeDeployment, numberOption, withAdminOptions } from './rollout-output.js';

export interface PolicyFlags {
  maxErrorRate?: string;
  maxTtftRatio?: string;
  minRequests?: string;
  autoPromoteAfter?: string;
}

export function addPolicyOptions(cmd: Command): Command {
  return cmd
    .option('--max-error-rate <rate>', 'roll back above this error rate (0..1)')
    .option(
      '--max-ttft-ratio <ratio>',
      'roll back when p95 time to first token exceeds stable × this',
    )
    .option('--min-requests <n>', 'candidate requests before the policy decides')
    .option('--auto-promote-after <n>', 'promote after this many healthy requests (0: never)');
}

/** Applies the policy flags given, keeping the deployment's other policy values. */
export async function applyPolicyFlags(
  client: AdminClient,
  name: string,
  flags: PolicyFlags,
): Promise<void> {
  const change: Partial<RolloutPolicy> = {};
  const rate = numberOption(
    flags.maxErrorRate,
    '--max-error-rate',
    (n) => n >= 0 && n <= 1,
    'between 0 and 1',
  );
  const ratio = numberOption(flags.maxTtftRatio, '--max-ttft-ratio', (n) => n >= 1, 'at least 1');
  const min = numberOption(
    flags.minRequests,
    '--min-requests',
    (n) => Number.isInteger(n) && n >= 1,
    'a whole number ≥ 1',
  );
  const auto = numberOption(
    flags.autoPromoteAfter,
    '--auto-promote-after',
    (n) => Number.isInteger(n) && n >= 0,
    'a whole number ≥ 0',
  );
  if (rate !== undefined) change.maxErrorRate = rate;
  if (ratio !== undefined) change.maxTtftRatio = ratio;
  if (min !== undefined) change.minRequests = min;
  if (auto !== undefined) change.autoPromoteAfter = auto;
  if (Object.keys(change).length === 0) return;
  const enc = encodeURIComponent(name);
  const d = await client.get<DeploymentSummary>(`/api/deployments/${enc}`);
  await client.request('PUT', `/api/deployments/${enc}/policy`, { ...d.policy, ...change });
}

export function registerCanary(program: Command): void {
  const cmd = program
    .command('canary')
    .description(
      'Start a canary (a share of requests goes to another version) or change its weight.',
    )
    .argument('<deployment>', 'deployment name, e.g. orchard-chat')
    .option('--version <version>', 'candidate version (omit to change the running canary’s weight)')
    .requiredOption('--weight <percent>', 'share of requests for the candidate, 0 < weight ≤ 100');
  addPolicyOptions(cmd);
  withAdminOptions(cmd);
  cmd.action(async (name: string) => {
    const opts = cmd.opts<PolicyFlags & { version?: string; weight: string }>();
    const weight = Number(opts.weight);
    if (opts.weight.trim() === '' || !Number.isFinite(weight))
      throw new CliError(`--weight must be a number; got '${opts.weight}'`, 2);
    const client = clientFor(cmd);
    const enc = encodeURIComponent(name);
    await applyPolicyFlags(client, name, opts);
    const d = opts.version
      ? await client.post<DeploymentSummary>(`/api/deployments/${enc}/canary`, {
          version: opts.version,
          weight,
          mode: 'canary',
        })
      : await client.request<DeploymentSummary>('PATCH', `/api/deployments/${enc}/canary`, {
          weight,
        });
    process.stdout.write(describeDeployment(d));
  });
}
