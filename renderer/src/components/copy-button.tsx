/** Copies text to the clipboard and says so for a moment. */
import { useEffect, useState } from 'react';
import { Icon } from './icons.js';

async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-http pages on a LAN address have no async clipboard; fall back to a selection copy.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand('copy');
  } finally {
    area.remove();
  }
}

export function CopyButton({
  getText,
  label,
  compact = false,
}: {
  /** Called on click, so secrets can be fetched only when asked for. */
  getText: () => string | Promise<string>;
  label: string;
  compact?: boolean;
}) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 1800);
    return () => clearTimeout(t);
  }, [state]);
  const onClick = async () => {
    try {
      await writeClipboard(await getText());
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  const text = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy';
  return (
    <button
      type="button"
      className={compact ? 'icon-btn' : 'btn btn-small'}
      onClick={() => void onClick()}
      aria-label={label}
      title={label}
    >
      <Icon name={state === 'copied' ? 'check' : 'copy'} size={15} />
      {compact ? null : <span aria-live="polite">{text}</span>}
    </button>
  );
}
