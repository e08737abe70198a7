/**
 * Long-running admin work (pulls, imports, deploys) as jobs the CLI and UI can follow:
 * GET /api/jobs/:id and SSE 'job' events. Jobs live in memory; finished ones are kept for an
 * hour so a client that polls late still sees the result.
 */
import { randomUUID } from 'node:crypto';
import type { JobSummary, VersionSummary } from '../shared/admin-api.js';
import { NotFoundError } from '../shared/errors.js';

const KEEP_FINISHED_MS = 60 * 60 * 1000;
/** SSE progress updates at most this often per job (the final state always goes out). */
const PUBLISH_EVERY_MS = 200;

export class Job {
  private lastPublish = 0;
  constructor(
    readonly summary: JobSummary,
    private readonly publish: (j: JobSummary) => void,
  ) {}

  progress(bytesDone: number, bytesTotal: number, message: string): void {
    this.change({
      bytesDone,
      bytesTotal,
      message,
      progress: bytesTotal > 0 ? Math.min(1, bytesDone / bytesTotal) : this.summary.progress,
    });
    const now = Date.now();
    if (now - this.lastPublish >= PUBLISH_EVERY_MS) {
      this.lastPublish = now;
      this.publish({ ...this.summary });
    }
  }

  succeed(message: string, result?: VersionSummary): void {
    this.change({ state: 'done', progress: 1, message, ...(result ? { result } : {}) });
    this.publish({ ...this.summary });
  }

  fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.change({ state: 'failed', error: message, message: 'failed' });
    this.publish({ ...this.summary });
  }

  /** Every change raises the revision, published or not (a GET sees unpublished ones). */
  private change(fields: Partial<Omit<JobSummary, 'id' | 'kind' | 'revision'>>): void {
    Object.assign(this.summary, fields, { revision: this.summary.revision + 1 });
  }
}

export class JobTracker {
  private readonly jobs = new Map<string, { job: Job; finishedAt: number | null }>();
  private readonly listeners = new Set<(j: JobSummary) => void>();

  onChange(listener: (j: JobSummary) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts `work` as a job. `done` settles like the work itself (its own typed error on failure),
   * for callers that wait; the job records how it ended either way.
   */
  run<T>(
    kind: JobSummary['kind'],
    message: string,
    work: (job: Job) => Promise<T>,
    result?: (value: T) => VersionSummary | undefined,
  ): { job: Job; done: Promise<T> } {
    this.prune();
    const id = randomUUID();
    const summary: JobSummary = {
      id,
      kind,
      state: 'running',
      progress: 0,
      bytesDone: 0,
      bytesTotal: 0,
      message,
      revision: 0,
    };
    const entry = { job: new Job(summary, (j) => this.emit(j)), finishedAt: null as number | null };
    this.jobs.set(id, entry);
    this.emit({ ...summary });
    const done = work(entry.job).then(
      (value) => {
        entry.finishedAt = Date.now();
        entry.job.succeed('done', result?.(value));
        return value;
      },
      (err: unknown) => {
        entry.finishedAt = Date.now();
        entry.job.fail(err);
        throw err;
      },
    );
    return { job: entry.job, done };
  }

  get(id: string): JobSummary {
    const e = this.jobs.get(id);
    if (!e) throw new NotFoundError(`There is no job '${id}'.`, 'id', 'job_not_found');
    return { ...e.job.summary };
  }

  list(): JobSummary[] {
    return [...this.jobs.values()].map((e) => ({ ...e.job.summary }));
  }

  private emit(j: JobSummary): void {
    for (const l of [...this.listeners]) {
      try {
        l(j);
      } catch {
        // a broken listener must not break the job
      }
    }
  }

  private prune(): void {
    const cutoff = Date.now() - KEEP_FINISHED_MS;
    for (const [id, e] of this.jobs)
      if (e.finishedAt !== null && e.finishedAt < cutoff) this.jobs.delete(id);
  }
}
