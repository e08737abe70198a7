/** `orchard models`: every model version in the registry, and the deployments serving them. */
import type { Command } from 'commander';
import type { DeploymentSummary, ModelSummary } from '../../shared/admin-api.js';
import {
  clientFor,
  describeDeployment,
  mb,
  params,
  table,
  withAdminOptions,
} from './rollout-output.js';

export function registerModels(program: Command): void {
  const cmd = program
    .command('models')
    .description('List model versions and deployments.')
    .option('--json', 'print JSON');
  withAdminOptions(cmd);
  cmd.action(async () => {
    const client = clientFor(cmd);
    const [models, deployments] = await Promise.all([
      client.get<ModelSummary[]>('/api/models'),
      client.get<DeploymentSummary[]>('/api/deployments'),
    ]);
    if (cmd.opts<{ json?: boolean }>().json) {
      process.stdout.write(JSON.stringify({ models, deployments }, null, 2) + '\n');
      return;
    }
    const rows = models.flatMap((m) =>
      m.versions.map((v) => [
        `${v.model}@${v.version}`,
        v.state,
        mb(v.sizeBytes),
        params(v.numParams),
        String(v.contextLength),
        mb(v.memoryEstimateBytes),
        v.loaded ? 'yes' : '',
        v.digest.slice(0, 12),
        v.source,
      ]),
    );
    process.stdout.write(
      table(
        ['VERSION', 'STATE', 'SIZE', 'PARAMS', 'CONTEXT', 'MEMORY', 'LOADED', 'DIGEST', 'SOURCE'],
        rows,
      ),
    );
    if (deployments.length > 0)
      process.stdout.write('\n' + deployments.map(describeDeployment).join(''));
  });
}
