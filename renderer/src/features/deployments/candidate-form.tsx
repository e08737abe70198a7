/** Starts a rollout: a candidate version as a weighted canary or as a shadow. */
import { useState, type FormEvent } from 'react';
import type { CandidateMode, VersionSummary } from '../../api/types.js';
import { Icon } from '../../components/icons.js';

export function CandidateForm({
  idPrefix,
  versions,
  onStart,
}: {
  idPrefix: string;
  /** Versions that can become the candidate (ready, not the stable one). */
  versions: VersionSummary[];
  onStart: (body: { version: string; weight: number; mode: CandidateMode }) => Promise<void>;
}) {
  const [version, setVersion] = useState('');
  const [mode, setMode] = useState<CandidateMode>('canary');
  const [weight, setWeight] = useState('10');
  const [busy, setBusy] = useState(false);
  // The list changes under the form (a blue-green switch): a pick no longer offered is dropped.
  const chosen =
    (versions.some((v) => v.version === version) ? version : versions[0]?.version) ?? '';

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await onStart({ version: chosen, weight: Number(weight), mode });
    } finally {
      setBusy(false);
    }
  };

  if (versions.length === 0) {
    return (
      <p className="muted candidate-none">
        No other ready version of this model. Import or pull a new version to start a rollout.
      </p>
    );
  }

  return (
    <form className="candidate-form" onSubmit={(e) => void submit(e)} aria-label="Start a rollout">
      <div className="field">
        <label htmlFor={`${idPrefix}-cand-version`}>Candidate version</label>
        <select
          id={`${idPrefix}-cand-version`}
          className="select"
          value={chosen}
          onChange={(e) => setVersion(e.target.value)}
        >
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              {v.model}@{v.version}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-cand-mode`}>Rollout mode</label>
        <select
          id={`${idPrefix}-cand-mode`}
          className="select"
          value={mode}
          onChange={(e) => setMode(e.target.value as CandidateMode)}
        >
          <option value="canary">Canary (share of traffic)</option>
          <option value="shadow">Shadow (mirror, answers from stable)</option>
        </select>
      </div>
      <div className="field field-narrow">
        <label htmlFor={`${idPrefix}-cand-weight`}>
          {mode === 'shadow' ? 'Mirrored %' : 'Traffic %'}
        </label>
        <input
          id={`${idPrefix}-cand-weight`}
          className="input"
          type="number"
          min={1}
          max={100}
          step={1}
          value={weight}
          onChange={(e) => setWeight(e.target.value)}
        />
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy || !chosen}>
        <Icon name="rocket" size={16} /> {busy ? 'Starting…' : 'Start rollout'}
      </button>
    </form>
  );
}
