/**
 * `orchard deploy <deployment> --version V`: blue-green switch (load, warm up, switch, drain the
 * old version). Without --version: the deployment and its recent rollout events.
 */
import type { Command } from 'commander';
import type { DeploymentSummary, RolloutEvent } from '../../shared/admin-api.js';
import { CliError } from '../cli-error.js';
import { clientFor, describeDeployment, withAdminOptions } from './rollout-output.js';

export function registerDeploy(program: Command): void {
  const cmd = program
    .command('deploy')
    .description(
      'Switch a deployment to another version (blue-green), or show it and its rollout events.',
    )
    .argument('<deployment>', 'deployment name, e.g. orchard-chat')
    .option('--version <version>', 'version to serve')
    .option('--model <model>', 'create the deployment for this model if it does not exist');
  withAdminOptions(cmd);
  cmd.action(async (name: string) => {
    const opts = cmd.opts<{ version?: string; model?: string }>();
    const client = clientFor(cmd);
    const enc = encodeURIComponent(name);
    if (!opts.version) {
      if (opts.model) throw new CliError('--model needs --version', 2);
      const d = await client.get<DeploymentSummary>(`/api/deployments/${enc}`);
      const events = await client.get<RolloutEvent[]>(`/api/deployments/${enc}/events?limit=20`);
      process.stdout.write(describeDeployment(d));
      for (const e of events) process.stdout.write(`  ${e.at}  ${e.kind.padEnd(13)} ${e.detail}\n`);
      return;
    }
    if (opts.model) {
      const existing = await client.get<DeploymentSummary[]>('/api/deployments');
      if (!existing.some((d) => d.name === name)) {
        const d = await client.post<DeploymentSummary>('/api/deployments', {
          name,
          model: opts.model,
          version: opts.version,
        });
        process.stdout.write(`created ${describeDeployment(d)}`);
        return;
      }
    }
    process.stderr.write(`loading and warming up version ${opts.version}…\n`);
    const d = await client.post<DeploymentSummary>(`/api/deployments/${enc}/deploy`, {
      version: opts.version,
    });
    process.stdout.write(describeDeployment(d));
  });
}
