/**
 * Job snapshots arriving out of order (SSE, the poll, the POST that started the job) never move a
 * job back, and the tracker's revisions are what says which snapshot is newer.
 */
import { describe, expect, it } from 'vitest';
import { mergeJob } from '../../../renderer/src/features/models/job-merge.js';
import { JobTracker } from '../../../src/registry/jobs.js';
import type { JobSummary } from '../../../src/shared/admin-api.js';

describe('job snapshots', () => {
  it('every change raises the revision, also the ones not published over SSE', async () => {
    const tracker = new JobTracker();
    const published: JobSummary[] = [];
    tracker.onChange((j) => published.push(j));
    let finish!: () => void;
    const { job, done } = tracker.run(
      'pull',
      'pulling',
      (j) =>
        new Promise<void>((resolve) => {
          j.progress(10, 100, 'a');
          j.progress(95, 100, 'b'); // within 200 ms of the last publish: not sent
          finish = resolve;
        }),
    );
    const polled = tracker.get(job.summary.id);
    expect(polled).toMatchObject({ progress: 0.95, revision: 2 });
    expect(published.map((j) => [j.progress, j.revision])).toEqual([
      [0, 0],
      [0.1, 1],
    ]);
    finish();
    await done;
    expect(published.at(-1)).toMatchObject({ state: 'done', progress: 1, revision: 3 });

    // The poll answered 95 % before the older 10 % event was handled: the bar stays at 95 %.
    let list = mergeJob([], published[0]!);
    list = mergeJob(list, polled);
    list = mergeJob(list, published[1]!);
    expect(list.map((j) => j.progress)).toEqual([0.95]);
    list = mergeJob(list, published.at(-1)!);
    expect(list[0]).toMatchObject({ state: 'done', revision: 3 });
  });

  it('the answer to the POST does not undo events that came first', () => {
    const base: JobSummary = {
      id: 'j',
      kind: 'pull',
      state: 'running',
      progress: 0,
      bytesDone: 0,
      bytesTotal: 0,
      message: 'pulling',
      revision: 0,
    };
    const later = { ...base, progress: 0.4, bytesDone: 4, bytesTotal: 10, revision: 5 };
    expect(mergeJob(mergeJob([], later), base, true)).toEqual([later]);
  });

  it('adds jobs started elsewhere only while they run, unless this page started them', () => {
    const done: JobSummary = {
      id: 'k',
      kind: 'import',
      state: 'done',
      progress: 1,
      bytesDone: 1,
      bytesTotal: 1,
      message: 'done',
      revision: 3,
    };
    expect(mergeJob([], done)).toEqual([]);
    expect(mergeJob([], done, true)).toEqual([done]);
    expect(mergeJob([], { ...done, state: 'running' })).toHaveLength(1);
  });
});
