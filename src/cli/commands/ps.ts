/** `orchard ps`: the model versions loaded right now. */
import type { Command } from 'commander';
import type { LoadedVersionDetail } from '../../shared/admin-api.js';
import { clientFor, mb, table, withAdminOptions } from './rollout-output.js';

function until(expiresAt: string | null, inflight: number): string {
  if (inflight > 0) return 'busy';
  if (expiresAt === null) return 'kept loaded';
  const s = Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 1000));
  return s >= 120 ? `${Math.round(s / 60)} minutes` : `${s} seconds`;
}

export function registerPs(program: Command): void {
  const cmd = program
    .command('ps')
    .description('List loaded model versions.')
    .option('--json', 'print JSON');
  withAdminOptions(cmd);
  cmd.action(async () => {
    const loaded = await clientFor(cmd).get<LoadedVersionDetail[]>('/api/ps');
    if (cmd.opts<{ json?: boolean }>().json) {
      process.stdout.write(JSON.stringify(loaded, null, 2) + '\n');
      return;
    }
    if (loaded.length === 0) {
      process.stdout.write('no model version is loaded\n');
      return;
    }
    process.stdout.write(
      table(
        ['NAME', 'MEMORY', 'DEVICE', 'RUNNING', 'WAITING', 'IN FLIGHT', 'UNTIL', 'ROLES'],
        loaded.map((l) => [
          l.servedName,
          mb(l.memoryBytes),
          l.device,
          String(l.stats.running),
          String(l.stats.waiting),
          String(l.inflight),
          until(l.expiresAt, l.inflight),
          l.roles.join(', ') || '-',
        ]),
      ),
    );
  });
}
