/**
 * Folds one job snapshot into the view's list. Snapshots come from three places (the POST that
 * started the job, SSE 'job' events, the 2 s poll) over different connections, so they can
 * arrive out of order: the one with the higher revision wins, and an older one changes nothing,
 * so a progress bar never steps back.
 */
import type { JobSummary } from '../../api/types.js';

export function mergeJob(
  list: JobSummary[],
  job: JobSummary,
  /** Add it even when it already finished (a job this page started itself). */
  always = false,
): JobSummary[] {
  const i = list.findIndex((j) => j.id === job.id);
  // Jobs started elsewhere (the CLI, another window) show up too, while they run.
  if (i === -1) return job.state === 'running' || always ? [job, ...list] : list;
  if (list[i]!.revision >= job.revision) return list;
  const next = list.slice();
  next[i] = job;
  return next;
}
