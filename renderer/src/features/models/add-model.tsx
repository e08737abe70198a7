/** Two ways to add a model version: import a local folder, or pull a repo from the Hub. */
import { useState, type FormEvent } from 'react';
import { admin } from '../../api/admin.js';
import { errorMessage } from '../../api/http.js';
import type { JobSummary, VersionSummary } from '../../api/types.js';
import { Icon } from '../../components/icons.js';
import { InlineError } from '../../components/states.js';

export function ImportForm({ onImported }: { onImported: (v: VersionSummary) => void }) {
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const v = await admin.importModel({
        path: path.trim(),
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(version.trim() ? { version: version.trim() } : {}),
      });
      setDone(`Imported ${v.model}@${v.version}`);
      setPath('');
      onImported(v);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label="Import from a folder">
      <div className="field">
        <label htmlFor="import-path">Model folder</label>
        <input
          id="import-path"
          className="input mono"
          placeholder="/path/to/model (config.json, tokenizer.json, onnx/model.onnx)"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'import-error' : undefined}
          spellCheck={false}
          autoComplete="off"
        />
      </div>
      <div className="form-row">
        <div className="field">
          <label htmlFor="import-name">Name (optional)</label>
          <input
            id="import-name"
            className="input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="from the folder"
          />
        </div>
        <div className="field">
          <label htmlFor="import-version">Version (optional)</label>
          <input
            id="import-version"
            className="input"
            value={version}
            onChange={(e) => setVersion(e.target.value)}
            placeholder="next number"
          />
        </div>
      </div>
      <div id="import-error">
        <InlineError message={error} onDismiss={() => setError(null)} />
      </div>
      {done ? (
        <p className="form-success" role="status">
          <Icon name="check" size={15} /> {done}
        </p>
      ) : null}
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || !path.trim()}>
          <Icon name="folder" size={16} /> {busy ? 'Importing…' : 'Import folder'}
        </button>
      </div>
    </form>
  );
}

export function PullForm({ onStarted }: { onStarted: (job: JobSummary, title: string) => void }) {
  const [repo, setRepo] = useState('');
  const [revision, setRevision] = useState('');
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const job = await admin.pull({
        ...(version.trim() ? { version: version.trim() } : {}),
        repo: repo.trim(),
        ...(revision.trim() ? { revision: revision.trim() } : {}),
        ...(name.trim() ? { name: name.trim() } : {}),
      });
      onStarted(job, `Pulling ${repo.trim()}${revision.trim() ? `@${revision.trim()}` : ''}`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="stack"
      onSubmit={(e) => void submit(e)}
      aria-label="Pull from the Hugging Face Hub"
    >
      <div className="field">
        <label htmlFor="pull-repo">Hugging Face repository</label>
        <input
          id="pull-repo"
          className="input mono"
          placeholder="org/model-name"
          value={repo}
          onChange={(e) => setRepo(e.target.value)}
          required
          spellCheck={false}
          autoComplete="off"
        />
      </div>
      <div className="form-row form-row-3">
        <div className="field">
          <label htmlFor="pull-revision">Revision</label>
          <input
            id="pull-revision"
            className="input mono"
            value={revision}
            onChange={(e) => setRevision(e.target.value)}
            placeholder="main"
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor="pull-name">Name (optional)</label>
          <input
            id="pull-name"
            className="input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="from the repo"
          />
        </div>
        <div className="field">
          <label htmlFor="pull-version">Version (optional)</label>
          <input
            id="pull-version"
            className="input"
            value={version}
            onChange={(e) => setVersion(e.target.value)}
            placeholder="next number"
          />
        </div>
      </div>
      <InlineError message={error} onDismiss={() => setError(null)} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || !repo.trim()}>
          <Icon name="download" size={16} /> {busy ? 'Starting…' : 'Pull'}
        </button>
      </div>
    </form>
  );
}
