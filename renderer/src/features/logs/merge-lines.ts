/**
 * The log view's lines: the ones /api/logs answered, then the live ones that came after them.
 * "After" is the service's line number, so lines written in the same millisecond as the last
 * fetched one are kept; a later time covers a restarted service, whose numbers start over.
 */
import type { LogLine } from '../../api/types.js';

export function mergeLines(fetched: readonly LogLine[], live: readonly LogLine[]): LogLine[] {
  const last = fetched[fetched.length - 1];
  if (last === undefined) return [...live];
  return [...fetched, ...live.filter((l) => l.seq > last.seq || l.time > last.time)];
}
