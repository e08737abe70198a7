/** Models: every model and its versions; import, pull from the Hub, load, unload, delete. */
import { useCallback, useEffect, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useResource } from '../../api/hooks.js';
import { errorMessage } from '../../api/http.js';
import type { JobSummary, VersionSummary } from '../../api/types.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { formatBytes, formatDateTime } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge, PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, ErrorState, InlineError, Loading } from '../../components/states.js';
import { ImportForm, PullForm } from './add-model.js';
import { JobList } from './job-list.js';
import { mergeJob } from './job-merge.js';
import { VersionTable, type VersionAction } from './version-table.js';
import './models.css';

export function ModelsView() {
  const load = useCallback((signal: AbortSignal) => admin.models(signal), []);
  const models = useResource(load);
  const [tab, setTab] = useState<'pull' | 'import'>('pull');
  const [jobs, setJobs] = useState<JobSummary[]>([]);
  const [jobTitles, setJobTitles] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<Record<string, VersionAction | undefined>>({});
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<VersionSummary | null>(null);

  const reloadModels = models.reload;
  const upsertJob = useCallback(
    (job: JobSummary) => {
      setJobs((list) => mergeJob(list, job));
      // A job this page did not start: its first message says what it is.
      setJobTitles((t) =>
        t[job.id] || job.state !== 'running' ? t : { ...t, [job.id]: job.message },
      );
      if (job.state !== 'running') reloadModels();
    },
    [reloadModels],
  );

  useLiveEvent('job', upsertJob);

  // Jobs already running when the view opens (started before, or from the CLI).
  useEffect(() => {
    const ctrl = new AbortController();
    admin.jobs(ctrl.signal).then(
      (list) => {
        for (const j of list) if (j.state === 'running') upsertJob(j);
      },
      () => undefined,
    );
    return () => ctrl.abort();
  }, [upsertJob]);

  // SSE carries progress; polling covers a dropped connection so a pull never looks stuck.
  const running = jobs
    .filter((j) => j.state === 'running')
    .map((j) => j.id)
    .join(',');
  useEffect(() => {
    if (!running) return;
    const ids = running.split(',');
    const t = setInterval(() => {
      for (const id of ids) admin.job(id).then(upsertJob, () => undefined);
    }, 2000);
    return () => clearInterval(t);
  }, [running, upsertJob]);

  const act = async (action: VersionAction, v: VersionSummary) => {
    const served = `${v.model}@${v.version}`;
    setBusy((b) => ({ ...b, [served]: action }));
    setActionError(null);
    try {
      if (action === 'load') await admin.load(v.model, v.version);
      else if (action === 'unload') await admin.unload(v.model, v.version);
      else await admin.deleteVersion(v.model, v.version);
      setConfirmDelete(null);
    } catch (e) {
      setActionError(`Could not ${action} ${served}: ${errorMessage(e)}`);
      setConfirmDelete(null);
    } finally {
      setBusy((b) => ({ ...b, [served]: undefined }));
      models.reload();
    }
  };

  const onAction = (action: VersionAction, v: VersionSummary) => {
    if (action === 'delete') setConfirmDelete(v);
    else void act(action, v);
  };

  const list = models.data ?? [];
  const versionCount = list.reduce((n, m) => n + m.versions.length, 0);

  return (
    <>
      <PageHeader
        title="Models"
        description="Model versions stored on this machine. Versions are immutable: a new import or pull adds a version."
        actions={
          <button type="button" className="btn" onClick={models.reload}>
            <Icon name="refresh" size={16} /> Refresh
          </button>
        }
      />

      <Panel title="Add a model" id="add-model">
        <div
          className="tabs"
          role="tablist"
          aria-label="How to add a model"
          onKeyDown={(e) => {
            // The tab pattern: arrows move between tabs, Tab moves into the panel.
            if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
            const next = tab === 'pull' ? 'import' : 'pull';
            setTab(next);
            document.getElementById(`tab-${next}`)?.focus();
          }}
        >
          <button
            type="button"
            role="tab"
            id="tab-pull"
            aria-controls="tabpanel-pull"
            aria-selected={tab === 'pull'}
            tabIndex={tab === 'pull' ? 0 : -1}
            className="tab"
            onClick={() => setTab('pull')}
          >
            <Icon name="download" size={15} /> Pull from Hugging Face
          </button>
          <button
            type="button"
            role="tab"
            id="tab-import"
            aria-controls="tabpanel-import"
            aria-selected={tab === 'import'}
            tabIndex={tab === 'import' ? 0 : -1}
            className="tab"
            onClick={() => setTab('import')}
          >
            <Icon name="folder" size={15} /> Import a folder
          </button>
        </div>
        <div
          role="tabpanel"
          id="tabpanel-pull"
          aria-labelledby="tab-pull"
          hidden={tab !== 'pull'}
          className="tabpanel"
        >
          <PullForm
            onStarted={(job, title) => {
              setJobTitles((t) => ({ ...t, [job.id]: title }));
              setJobs((j) => mergeJob(j, job, true));
            }}
          />
        </div>
        <div
          role="tabpanel"
          id="tabpanel-import"
          aria-labelledby="tab-import"
          hidden={tab !== 'import'}
          className="tabpanel"
        >
          <ImportForm onImported={() => models.reload()} />
        </div>
        <JobList
          jobs={jobs}
          titles={jobTitles}
          onDismiss={(id) => setJobs((j) => j.filter((x) => x.id !== id))}
        />
      </Panel>

      <InlineError message={actionError} onDismiss={() => setActionError(null)} />

      {models.loading ? (
        <Panel>
          <Loading label="Loading models…" />
        </Panel>
      ) : models.error && !models.data ? (
        <Panel>
          <ErrorState title="Could not list models" error={models.error} onRetry={models.reload} />
        </Panel>
      ) : versionCount === 0 ? (
        <Panel>
          <EmptyState icon="models" title="No models yet">
            Pull a model from the Hugging Face Hub or import a folder with <code>config.json</code>,{' '}
            <code>tokenizer.json</code> and <code>onnx/model.onnx</code>.
          </EmptyState>
        </Panel>
      ) : (
        list.map((m) => (
          <Panel
            key={m.name}
            id={`model-${m.name}`}
            className="panel-flush"
            title={
              <span className="row">
                <span className="mono">{m.name}</span>
                <Badge>
                  {m.versions.length} version{m.versions.length === 1 ? '' : 's'}
                </Badge>
              </span>
            }
            actions={<span className="faint">added {formatDateTime(m.createdAt)}</span>}
          >
            <VersionTable model={m} busy={busy} onAction={onAction} />
          </Panel>
        ))
      )}

      <ConfirmDialog
        open={confirmDelete !== null}
        title={
          confirmDelete ? `Delete ${confirmDelete.model}@${confirmDelete.version}?` : 'Delete?'
        }
        confirmLabel="Delete version"
        busy={
          confirmDelete
            ? busy[`${confirmDelete.model}@${confirmDelete.version}`] === 'delete'
            : false
        }
        onCancel={() => setConfirmDelete(null)}
        onConfirm={() => confirmDelete && void act('delete', confirmDelete)}
      >
        {confirmDelete ? (
          <p>
            Its files ({formatBytes(confirmDelete.sizeBytes)}) are removed from disk. Deployments
            that use this version must be switched first.
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
