/** `orchard promote <deployment>`: the canary or shadow becomes the stable version. */
import type { Command } from 'commander';
import type { DeploymentSummary } from '../../shared/admin-api.js';
import { clientFor, describeDeployment, withAdminOptions } from './rollout-output.js';

export function registerPromote(program: Command): void {
  const cmd = program
    .command('promote')
    .description('Make the candidate (canary or shadow) the stable version.')
    .argument('<deployment>', 'deployment name, e.g. orchard-chat');
  withAdminOptions(cmd);
  cmd.action(async (name: string) => {
    const d = await clientFor(cmd).post<DeploymentSummary>(
      `/api/deployments/${encodeURIComponent(name)}/promote`,
      {},
    );
    process.stdout.write(describeDeployment(d));
  });
}
