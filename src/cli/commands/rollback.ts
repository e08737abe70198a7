/**
 * `orchard rollback <deployment>`: drops the canary or shadow; without one, switches back to the
 * version served before the last deploy or promotion.
 */
import type { Command } from 'commander';
import type { DeploymentSummary } from '../../shared/admin-api.js';
import { clientFor, describeDeployment, withAdminOptions } from './rollout-output.js';

export function registerRollback(program: Command): void {
  const cmd = program
    .command('rollback')
    .description('Drop the candidate, or go back to the previous stable version.')
    .argument('<deployment>', 'deployment name, e.g. orchard-chat')
    .option('--reason <text>', 'recorded in the rollout event log');
  withAdminOptions(cmd);
  cmd.action(async (name: string) => {
    const reason = cmd.opts<{ reason?: string }>().reason;
    const d = await clientFor(cmd).post<DeploymentSummary>(
      `/api/deployments/${encodeURIComponent(name)}/rollback`,
      reason ? { reason } : {},
    );
    process.stdout.write(describeDeployment(d));
  });
}
