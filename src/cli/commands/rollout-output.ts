/** Shared by the registry and rollout commands: the admin connection, number parsing and tables. */
import type { Command } from 'commander';
import type { DeploymentSummary, JobSummary, VersionSummary } from '../../shared/admin-api.js';
import { adminClient, type AdminClient } from '../admin-client.js';
import { CliError } from '../cli-error.js';
import { addSettingOptions, settingsFromCommand } from '../setting-options.js';
import { ADMIN_SETTINGS } from './index.js';

/** Adds --home/--host/--port/--api-key so the command can reach the running service. */
export function withAdminOptions(cmd: Command): Command {
  return addSettingOptions(cmd, ADMIN_SETTINGS);
}

export function clientFor(cmd: Command): AdminClient {
  return adminClient(settingsFromCommand(cmd, ADMIN_SETTINGS).settings);
}

export function numberOption(
  value: string | undefined,
  flag: string,
  check: (n: number) => boolean,
  rule: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new CliError(`${flag} must be ${rule}; got '${value}'`, 2);
  return n;
}

export function mb(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

export function params(n: number | null): string {
  if (n === null) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${Math.round(n / 1e3)}K`;
}

/** Left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function describeVersion(v: VersionSummary): string {
  return (
    `${v.model}@${v.version}: ${v.state}, ${mb(v.sizeBytes)}, ${params(v.numParams)} parameters, context ${v.contextLength}, ` +
    `memory estimate ${mb(v.memoryEstimateBytes)}\n  ${v.architecture}\n  digest ${v.digest}\n  source ${v.source}\n`
  );
}

export function describeDeployment(d: DeploymentSummary): string {
  const c = d.candidate;
  const candidate = c
    ? c.mode === 'canary'
      ? `; canary ${d.model}@${c.version} takes ${c.weight}% of requests`
      : `; shadow ${d.model}@${c.version} mirrors ${c.weight}% of requests`
    : '';
  return `${d.name} serves ${d.model}@${d.stable}${candidate}\n`;
}

/** Polls a job, showing progress on stderr, until it ends; throws with the job's error. */
export async function followJob(client: AdminClient, first: JobSummary): Promise<JobSummary> {
  let job = first;
  const tty = process.stderr.isTTY;
  let lastLine = '';
  let lastPrinted = 0;
  while (job.state === 'running') {
    await new Promise((r) => setTimeout(r, 250));
    job = await client.get<JobSummary>(`/api/jobs/${job.id}`);
    const pct =
      job.bytesTotal > 0
        ? `${Math.floor(job.progress * 100)}% ${mb(job.bytesDone)}/${mb(job.bytesTotal)} `
        : '';
    const line = `${pct}${job.message}`;
    if (tty) process.stderr.write(`\r${line.slice(0, 100).padEnd(100)}`);
    else if (line !== lastLine && Date.now() - lastPrinted > 2000) {
      process.stderr.write(line + '\n');
      lastPrinted = Date.now();
    }
    lastLine = line;
  }
  if (tty) process.stderr.write('\n');
  if (job.state === 'failed') throw new CliError(job.error ?? 'the job failed');
  return job;
}
