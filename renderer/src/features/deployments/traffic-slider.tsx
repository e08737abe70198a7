/**
 * Candidate traffic weight (percent of requests a canary answers, or a shadow mirrors). The range input moves freely; the weight is applied when the user
 * lets go (the native `change` event: pointer release, or a key press), debounced so holding
 * an arrow key sends one request rather than twenty.
 */
import { useEffect, useEffectEvent, useRef, useState } from 'react';

export function TrafficSlider({
  id,
  weight,
  stableName,
  candidateName,
  mode,
  disabled,
  onCommit,
}: {
  id: string;
  /** Percent of requests routed to the candidate, 0..100. */
  weight: number;
  stableName: string;
  candidateName: string;
  mode: 'canary' | 'shadow';
  disabled?: boolean;
  onCommit: (weight: number) => Promise<void>;
}) {
  const [draft, setDraft] = useState<number | null>(null);
  const [applying, setApplying] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const value = draft ?? weight;

  const commit = useEffectEvent(async (next: number) => {
    if (next === weight) {
      setDraft(null);
      return;
    }
    setApplying(true);
    try {
      await onCommit(next);
    } finally {
      setApplying(false);
      setDraft(null);
    }
  });

  useEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onChange = () => {
      clearTimeout(timer);
      const next = Number(el.value);
      timer = setTimeout(() => void commit(next), 250);
    };
    el.addEventListener('change', onChange);
    return () => {
      clearTimeout(timer);
      el.removeEventListener('change', onChange);
    };
  }, []);

  const shadow = mode === 'shadow';
  return (
    <div className="traffic">
      <div className="traffic-head">
        <label htmlFor={id} className="field-label">
          {shadow ? 'Traffic mirrored to shadow' : 'Traffic to candidate'}
        </label>
        <output htmlFor={id} className="traffic-value" aria-live="polite">
          {value}%{applying ? <span className="faint"> · applying…</span> : null}
        </output>
      </div>
      <input
        ref={inputRef}
        id={id}
        type="range"
        min={1}
        max={100}
        step={1}
        value={value}
        disabled={disabled}
        aria-valuetext={
          shadow
            ? `${value}% of requests mirrored to ${candidateName}; ${stableName} answers all`
            : `${value}% to ${candidateName}, ${100 - value}% to ${stableName}`
        }
        onChange={(e) => setDraft(Number(e.target.value))}
        className="traffic-range"
      />
      <div className="traffic-split" aria-hidden="true">
        <span className="split-stable" style={{ width: `${shadow ? 100 : 100 - value}%` }} />
        {shadow ? null : <span className="split-candidate" style={{ width: `${value}%` }} />}
      </div>
      {shadow ? (
        <div className="traffic-split traffic-split-shadow" aria-hidden="true">
          <span className="split-candidate" style={{ width: `${value}%` }} />
        </div>
      ) : null}
      <div className="traffic-legend">
        <span>
          <span className="dot dot-stable" /> stable answers {shadow ? 100 : 100 - value}%
        </span>
        <span>
          {shadow ? 'mirrored' : 'candidate'} {value}% <span className="dot dot-candidate" />
        </span>
      </div>
    </div>
  );
}
