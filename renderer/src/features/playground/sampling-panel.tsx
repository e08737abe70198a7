/** Sampling parameters for the playground; blank fields are left to the server's defaults. */
import type { SamplingOptions } from './use-chat.js';

export interface SamplingDraft {
  system: string;
  temperature: number;
  topP: number;
  topK: string;
  maxTokens: string;
  seed: string;
  stop: string;
  ignoreEos: boolean;
}

export const DEFAULT_SAMPLING: SamplingDraft = {
  system: '',
  temperature: 0.7,
  topP: 1,
  topK: '',
  maxTokens: '256',
  seed: '',
  stop: '',
  ignoreEos: false,
};

export function toOptions(d: SamplingDraft): SamplingOptions {
  const out: SamplingOptions = { temperature: d.temperature, top_p: d.topP };
  const int = (s: string) => (s.trim() === '' ? undefined : Number.parseInt(s, 10));
  const topK = int(d.topK);
  const maxTokens = int(d.maxTokens);
  const seed = int(d.seed);
  if (topK !== undefined && Number.isFinite(topK)) out.top_k = topK;
  if (maxTokens !== undefined && Number.isFinite(maxTokens)) out.max_tokens = maxTokens;
  if (seed !== undefined && Number.isFinite(seed)) out.seed = seed;
  const stop = d.stop
    .split('\n')
    .map((s) => s.replace(/\\n/g, '\n'))
    .filter((s) => s.length > 0)
    .slice(0, 4);
  if (stop.length > 0) out.stop = stop;
  if (d.ignoreEos) out.ignore_eos = true;
  return out;
}

function Slider({
  id,
  label,
  value,
  min,
  max,
  step,
  onChange,
}: {
  id: string;
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (v: number) => void;
}) {
  return (
    <div className="field">
      <div className="slider-head">
        <label htmlFor={id}>{label}</label>
        <input
          className="input input-tiny"
          type="number"
          aria-label={`${label} value`}
          min={min}
          max={max}
          step={step}
          value={value}
          onChange={(e) => onChange(Number(e.target.value))}
        />
      </div>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
      />
    </div>
  );
}

export function SamplingPanel({
  value,
  onChange,
  disabled,
}: {
  value: SamplingDraft;
  onChange: (d: SamplingDraft) => void;
  disabled?: boolean;
}) {
  const set = <K extends keyof SamplingDraft>(k: K, v: SamplingDraft[K]) =>
    onChange({ ...value, [k]: v });
  return (
    <fieldset className="sampling" disabled={disabled}>
      <legend className="visually-hidden">Sampling parameters</legend>
      <div className="field">
        <label htmlFor="pg-system">System prompt</label>
        <textarea
          id="pg-system"
          className="textarea"
          rows={3}
          value={value.system}
          placeholder="You are a helpful assistant."
          onChange={(e) => set('system', e.target.value)}
        />
      </div>
      <Slider
        id="pg-temperature"
        label="Temperature"
        value={value.temperature}
        min={0}
        max={2}
        step={0.05}
        onChange={(v) => set('temperature', v)}
      />
      <Slider
        id="pg-top-p"
        label="Top P"
        value={value.topP}
        min={0}
        max={1}
        step={0.01}
        onChange={(v) => set('topP', v)}
      />
      <div className="form-row">
        <div className="field">
          <label htmlFor="pg-top-k">Top K</label>
          <input
            id="pg-top-k"
            className="input"
            type="number"
            min={0}
            step={1}
            placeholder="off"
            value={value.topK}
            onChange={(e) => set('topK', e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="pg-max-tokens">Max tokens</label>
          <input
            id="pg-max-tokens"
            className="input"
            type="number"
            min={1}
            step={1}
            value={value.maxTokens}
            onChange={(e) => set('maxTokens', e.target.value)}
          />
        </div>
      </div>
      <div className="field">
        <label htmlFor="pg-seed">Seed</label>
        <input
          id="pg-seed"
          className="input"
          type="number"
          step={1}
          placeholder="random"
          value={value.seed}
          onChange={(e) => set('seed', e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="pg-stop">Stop sequences</label>
        <textarea
          id="pg-stop"
          className="textarea mono"
          rows={2}
          placeholder="one per line (\n for newline)"
          value={value.stop}
          onChange={(e) => set('stop', e.target.value)}
        />
      </div>
      <label className="switch">
        <input
          type="checkbox"
          checked={value.ignoreEos}
          onChange={(e) => set('ignoreEos', e.target.checked)}
        />
        <span>Ignore end of sequence</span>
      </label>
      <button
        type="button"
        className="btn btn-small btn-ghost"
        onClick={() => onChange(DEFAULT_SAMPLING)}
      >
        Reset to defaults
      </button>
    </fieldset>
  );
}
