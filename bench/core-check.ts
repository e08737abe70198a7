/**
 * Whether the cores run the model alike: the reference loop's decode rate pinned to each core in
 * turn (Linux `taskset`). On a shared virtual machine one core can run memory-heavy code at half
 * the other's rate for minutes while a pure integer loop runs alike on both (seen here: 549
 * against 1,272 tokens/s, a minute later 996 against 1,346): the host's other tenants share its
 * caches. Two replicas then finish a burst at the slower one's pace while the sequential
 * baseline may run on the faster core, so the benchmark says when its cores differ.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'core-probe.ts');

export interface CoreCheck {
  /** Reference-loop tokens/s pinned to core i. */
  tokPerS: number[];
  /** Fastest over slowest. */
  spread: number;
}

/** null where cores cannot be pinned (no `taskset`, not Linux) or a probe fails. */
export async function coreCheck(model: string, ms = 1000): Promise<CoreCheck | null> {
  if (process.platform !== 'linux') return null;
  const tokPerS: number[] = [];
  try {
    for (let core = 0; core < os.availableParallelism(); core++) {
      const { stdout } = await run(
        'taskset',
        ['-c', String(core), process.execPath, ...process.execArgv, PROBE, model, String(ms)],
        { timeout: 60_000 },
      );
      tokPerS.push((JSON.parse(stdout.trim().split('\n').pop()!) as { tokPerS: number }).tokPerS);
    }
  } catch {
    return null;
  }
  return { tokPerS, spread: Math.max(...tokPerS) / Math.min(...tokPerS) };
}

export function describeCores(label: string, c: CoreCheck | null): string {
  if (!c) return `cores ${label}: not checked (needs Linux and taskset, and a probe that ran)`;
  const rates = c.tokPerS.map((t, i) => `core ${i} ${t.toFixed(0)}`).join(', ');
  const warn =
    c.spread >= 1.25 ? ': the cores differ, so ratios against one core are unreliable' : '';
  return `reference-loop tokens/s pinned per core, ${label}: ${rates} (${c.spread.toFixed(2)}× apart${warn})`;
}
