/** A read-only value with a copy button, e.g. the API base URL. */
import { CopyButton } from './copy-button.js';

export function CopyField({ value, label }: { value: string; label: string }) {
  return (
    <div className="copy-field">
      <code aria-label={label}>{value}</code>
      <CopyButton getText={() => value} label={`Copy ${label}`} />
    </div>
  );
}
