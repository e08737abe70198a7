/**
 * Why the service stopped, in one line a person can act on: the service's own stderr is mostly
 * request logs and library warnings, so this picks the line that actually reports the error.
 */

/** Lines that certainly report an error: pino's ERROR/FATAL, a JS error, the CLI's own. */
const ERROR_LINE = /\b(ERROR|FATAL)\b|^(\w*Error|orchard:)[\s:[]/;
/** Lines that probably do, unless they are warnings. */
const ERROR_WORDS = /\b(error|fatal|cannot|can't|failed|exception|refused|denied|EADDRINUSE)\b/i;
const WARNING = /^(warn|warning)\b|\bWARN\b/i;

/**
 * The most telling line of what the service wrote to stderr before it died: an error-level
 * JSON log record, else a line that certainly reports an error; for an exit code (not a kill)
 * also a line that reads like one, else the last line. Returns '' when nothing fits.
 */
export function summarizeStderr(text: string, killedBySignal = false): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as {
        level?: unknown;
        msg?: unknown;
        err?: { message?: unknown };
      };
      const level = rec.level;
      const severe =
        (typeof level === 'number' && level >= 50) || level === 'error' || level === 'fatal';
      if (severe && typeof rec.msg === 'string') {
        const detail = typeof rec.err?.message === 'string' ? `: ${rec.err.message}` : '';
        return clip(rec.msg + detail);
      }
    } catch {
      // not JSON after all
    }
  }
  const last = (test: (l: string) => boolean) => [...lines].reverse().find(test);
  const certain = last((l) => ERROR_LINE.test(l));
  if (certain) return clip(certain);
  // After a kill the process had no say; stray output is not the reason it stopped.
  if (killedBySignal) return '';
  const likely = last((l) => ERROR_WORDS.test(l) && !WARNING.test(l));
  return clip(likely ?? lines.at(-1) ?? '');
}

function clip(text: string): string {
  return text.length <= 400 ? text : text.slice(0, 399) + '…';
}
