/**
 * `orchard shadow <deployment> --version V [--weight W]`: mirror W% of requests to V in the
 * background; clients get stable's answers, V's latency, errors and agreement are recorded.
 */
import type { Command } from 'commander';
import type { DeploymentSummary } from '../../shared/admin-api.js';
import { addPolicyOptions, applyPolicyFlags, type PolicyFlags } from './canary.js';
import { clientFor, describeDeployment, numberOption, withAdminOptions } from './rollout-output.js';

export function registerShadow(program: Command): void {
  const cmd = program
    .command('shadow')
    .description('Mirror a share of requests to a candidate version without showing its answers.')
    .argument('<deployment>', 'deployment name, e.g. orchard-chat')
    .requiredOption('--version <version>', 'shadow version')
    .option('--weight <percent>', 'share of requests to mirror, 0 < weight ≤ 100', '100');
  addPolicyOptions(cmd);
  withAdminOptions(cmd);
  cmd.action(async (name: string) => {
    const opts = cmd.opts<PolicyFlags & { version: string; weight: string }>();
    const weight = numberOption(opts.weight, '--weight', () => true, 'a number')!;
    const client = clientFor(cmd);
    await applyPolicyFlags(client, name, opts);
    const d = await client.post<DeploymentSummary>(
      `/api/deployments/${encodeURIComponent(name)}/canary`,
      {
        version: opts.version,
        weight,
        mode: 'shadow',
      },
    );
    process.stdout.write(describeDeployment(d));
  });
}
