/** The auto-rollback / auto-promote policy of one deployment. */
import { useState, type ChangeEvent, type FormEvent, type InputHTMLAttributes } from 'react';
import { errorMessage } from '../../api/http.js';
import type { RolloutPolicy } from '../../api/types.js';
import { InlineError } from '../../components/states.js';

interface Draft {
  maxErrorRate: string;
  maxTtftRatio: string;
  minRequests: string;
  autoPromoteAfter: string;
}

function toDraft(p: RolloutPolicy): Draft {
  return {
    maxErrorRate: String(Math.round(p.maxErrorRate * 1000) / 10),
    maxTtftRatio: String(p.maxTtftRatio),
    minRequests: String(p.minRequests),
    autoPromoteAfter: String(p.autoPromoteAfter),
  };
}

export function PolicyForm({
  idPrefix,
  policy,
  onSave,
}: {
  idPrefix: string;
  policy: RolloutPolicy;
  onSave: (p: RolloutPolicy) => Promise<void>;
}) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(policy));
  // When the policy changes on the server (this form's save, or another client), show it.
  const policyKey = JSON.stringify(policy);
  const [shown, setShown] = useState(policyKey);
  if (shown !== policyKey) {
    setShown(policyKey);
    setDraft(toDraft(policy));
  }
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  const set = (k: keyof Draft) => (e: ChangeEvent<HTMLInputElement>) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [k]: e.target.value }));
  };
  const dirty = JSON.stringify(draft) !== JSON.stringify(toDraft(policy));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave({
        maxErrorRate: Number(draft.maxErrorRate) / 100,
        maxTtftRatio: Number(draft.maxTtftRatio),
        minRequests: Number(draft.minRequests),
        autoPromoteAfter: Number(draft.autoPromoteAfter),
      });
      setSaved(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (
    k: keyof Draft,
    label: string,
    hint: string,
    props: InputHTMLAttributes<HTMLInputElement>,
  ) => (
    <div className="field">
      <label htmlFor={`${idPrefix}-${k}`}>{label}</label>
      <input
        id={`${idPrefix}-${k}`}
        className="input"
        type="number"
        required
        value={draft[k]}
        onChange={set(k)}
        aria-describedby={`${idPrefix}-${k}-hint`}
        {...props}
      />
      <span className="field-hint" id={`${idPrefix}-${k}-hint`}>
        {hint}
      </span>
    </div>
  );

  return (
    <form className="stack" onSubmit={(e) => void submit(e)} aria-label="Auto-rollback policy">
      <div className="form-row">
        {field('maxErrorRate', 'Max error rate (%)', 'Roll back above this', {
          min: 0,
          max: 100,
          step: 0.1,
        })}
        {field('maxTtftRatio', 'Max TTFT ratio (×)', 'Candidate p95 vs stable p95', {
          min: 1,
          step: 0.1,
        })}
      </div>
      <div className="form-row">
        {field('minRequests', 'Min requests', 'Before any decision', { min: 1, step: 1 })}
        {field('autoPromoteAfter', 'Auto-promote after', 'Healthy requests; 0 = never', {
          min: 0,
          step: 1,
        })}
      </div>
      <InlineError message={error} onDismiss={() => setError(null)} />
      <div className="row">
        <button type="submit" className="btn" disabled={busy || !dirty}>
          {busy ? 'Saving…' : 'Save policy'}
        </button>
        {saved && !dirty ? (
          <span className="form-success" role="status">
            Saved
          </span>
        ) : null}
      </div>
    </form>
  );
}
