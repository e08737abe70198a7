/** Running and finished pull jobs with their progress, fed by SSE `job` events. */
import type { JobSummary } from '../../api/types.js';
import { formatBytes, formatPercent } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge, ProgressBar } from '../../components/layout.js';

export function JobList({
  jobs,
  titles,
  onDismiss,
}: {
  jobs: JobSummary[];
  /** What each job is, by id (e.g. "Pulling org/repo"); a job's message changes as it runs. */
  titles: Record<string, string>;
  onDismiss: (id: string) => void;
}) {
  if (jobs.length === 0) return null;
  return (
    <ul className="job-list" aria-label="Jobs">
      {jobs.map((job) => {
        const what = titles[job.id] ?? job.kind;
        const title = job.result ? `${what} → ${job.result.model}@${job.result.version}` : what;
        return (
          <li key={job.id} className={`job job-${job.state}`} data-job-state={job.state}>
            <div className="job-head">
              <span className="job-title">
                <Icon
                  name={
                    job.state === 'failed' ? 'alert' : job.state === 'done' ? 'check' : 'download'
                  }
                  size={16}
                />
                <strong>{title}</strong>
              </span>
              <span className="row">
                {job.state === 'running' ? (
                  <Badge tone="info">{formatPercent(job.progress)}</Badge>
                ) : job.state === 'done' ? (
                  <Badge tone="good">Done</Badge>
                ) : (
                  <Badge tone="bad">Failed</Badge>
                )}
                {job.state !== 'running' ? (
                  <button
                    type="button"
                    className="icon-btn"
                    aria-label={`Dismiss ${title}`}
                    onClick={() => onDismiss(job.id)}
                  >
                    <Icon name="x" size={14} />
                  </button>
                ) : null}
              </span>
            </div>
            <ProgressBar
              value={
                job.state === 'done'
                  ? 1
                  : job.bytesTotal > 0 || job.progress > 0
                    ? job.progress
                    : null
              }
              label={`Progress of ${title}`}
            />
            <div className="job-detail">
              {job.state === 'failed' ? (
                <span className="job-error" role="alert">
                  {job.error ?? job.message}
                </span>
              ) : (
                <span className="muted">{job.message}</span>
              )}
              {job.bytesTotal > 0 ? (
                <span className="muted nowrap">
                  {formatBytes(job.bytesDone)} of {formatBytes(job.bytesTotal)}
                </span>
              ) : null}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
