/** Creates a deployment: a stable name that routes to one version of a model. */
import { useState, type FormEvent } from 'react';
import { admin } from '../../api/admin.js';
import { errorMessage } from '../../api/http.js';
import type { DeploymentSummary, ModelSummary } from '../../api/types.js';
import { Icon } from '../../components/icons.js';
import { InlineError } from '../../components/states.js';

export function CreateDeployment({
  models,
  onCreated,
}: {
  models: ModelSummary[];
  onCreated: (d: DeploymentSummary) => void;
}) {
  const withReady = models.filter((m) => m.versions.some((v) => v.state === 'ready'));
  const [name, setName] = useState('');
  const [model, setModel] = useState('');
  const [version, setVersion] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const chosenModel = model || withReady[0]?.name || '';
  const versions =
    withReady.find((m) => m.name === chosenModel)?.versions.filter((v) => v.state === 'ready') ??
    [];
  const chosenVersion =
    version && versions.some((v) => v.version === version)
      ? version
      : (versions[versions.length - 1]?.version ?? '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onCreated(
        await admin.createDeployment({
          name: name.trim(),
          model: chosenModel,
          version: chosenVersion,
        }),
      );
      setName('');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  if (withReady.length === 0) {
    return (
      <p className="muted">Add a model first: a deployment routes a name to one of its versions.</p>
    );
  }
  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label="New deployment">
      <div className="form-row form-row-4">
        <div className="field">
          <label htmlFor="new-dep-name">Deployment name</label>
          <input
            id="new-dep-name"
            className="input mono"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="e.g. chat"
          />
        </div>
        <div className="field">
          <label htmlFor="new-dep-model">Model</label>
          <select
            id="new-dep-model"
            className="select"
            value={chosenModel}
            onChange={(e) => setModel(e.target.value)}
          >
            {withReady.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="new-dep-version">Version</label>
          <select
            id="new-dep-version"
            className="select"
            value={chosenVersion}
            onChange={(e) => setVersion(e.target.value)}
          >
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                {v.version}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-submit">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={busy || !name.trim() || !chosenVersion}
          >
            <Icon name="plus" size={16} /> {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </div>
      <InlineError message={error} onDismiss={() => setError(null)} />
    </form>
  );
}
