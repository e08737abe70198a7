/** Logs: the service's recent log lines, then a live tail from SSE, filtered by level. */
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useResource } from '../../api/hooks.js';
import type { LogLine } from '../../api/types.js';
import { formatTime } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge, PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, ErrorState, Loading } from '../../components/states.js';
import { mergeLines } from './merge-lines.js';
import './logs.css';

const LEVELS: LogLine['level'][] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const RANK: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};
const KEEP = 2000;
const HIDDEN_FIELDS = new Set(['seq', 'time', 'level', 'msg', 'pid', 'hostname', 'v']);

const TONE: Record<string, 'neutral' | 'info' | 'warn' | 'bad'> = {
  trace: 'neutral',
  debug: 'neutral',
  info: 'info',
  warn: 'warn',
  error: 'bad',
  fatal: 'bad',
};

function extras(line: LogLine): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(line)) {
    if (HIDDEN_FIELDS.has(k) || v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join('  ');
}

export function LogsView() {
  const [level, setLevel] = useState<LogLine['level']>('info');
  const [query, setQuery] = useState('');
  const [paused, setPaused] = useState(false);
  const [tail, setTail] = useState<LogLine[]>([]);
  // Stay at the newest line unless the user scrolled up to read.
  const followRef = useRef(true);
  const scrollRef = useRef<HTMLDivElement>(null);

  const load = useCallback(
    (signal: AbortSignal) => admin.logs({ level, limit: 500 }, signal),
    [level],
  );
  const initial = useResource(load);

  useLiveEvent('log', (line) => {
    if (paused || (RANK[line.level] ?? 0) < RANK[level]) return;
    setTail((t) => (t.length >= KEEP ? [...t.slice(t.length - KEEP + 1), line] : [...t, line]));
  });

  const lines = useMemo(() => {
    // Lines the live tail already delivered may also be in a later /api/logs answer.
    // Live lines kept under a lower level must not linger after switching to a higher one.
    const shown = tail.filter((l) => (RANK[l.level] ?? 0) >= RANK[level]);
    const merged = mergeLines(initial.data ?? [], shown);
    const q = query.trim().toLowerCase();
    const filtered = q
      ? merged.filter((l) => `${l.msg} ${extras(l)}`.toLowerCase().includes(q))
      : merged;
    return filtered.slice(-KEEP);
  }, [initial.data, tail, query, level]);

  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && followRef.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <>
      <PageHeader title="Logs" description="What the service is doing, newest at the bottom." />
      <Panel
        className="panel-flush logs-panel"
        title={
          <span className="row">
            Service log <Badge>{lines.length} lines</Badge>
          </span>
        }
        actions={
          <div className="logs-toolbar">
            <div className="field field-inline">
              <label htmlFor="log-level">Level</label>
              <select
                id="log-level"
                className="select"
                value={level}
                onChange={(e) => {
                  setTail([]);
                  setLevel(e.target.value as LogLine['level']);
                }}
              >
                {LEVELS.map((l) => (
                  <option key={l} value={l}>
                    {l} and above
                  </option>
                ))}
              </select>
            </div>
            <div className="field field-inline">
              <label htmlFor="log-search" className="visually-hidden">
                Search logs
              </label>
              <input
                id="log-search"
                className="input"
                type="search"
                placeholder="Search…"
                value={query}
                onChange={(e) => setQuery(e.target.value)}
              />
            </div>
            <button
              type="button"
              className="btn"
              aria-pressed={paused}
              onClick={() => setPaused((p) => !p)}
            >
              <Icon name={paused ? 'play' : 'stop'} size={14} /> {paused ? 'Resume' : 'Pause'}
            </button>
          </div>
        }
      >
        {initial.loading ? (
          <Loading label="Loading logs…" />
        ) : initial.error && !initial.data ? (
          <ErrorState title="Could not load logs" error={initial.error} onRetry={initial.reload} />
        ) : lines.length === 0 ? (
          <EmptyState
            icon="logs"
            title={query ? 'No line matches' : 'No log lines at this level yet'}
          />
        ) : (
          <div
            className="log-scroll"
            ref={scrollRef}
            tabIndex={0}
            role="region"
            aria-label="Log lines"
            onScroll={(e) => {
              const el = e.currentTarget;
              followRef.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            }}
          >
            <table className="log-table">
              <tbody>
                {lines.map((l, i) => (
                  <tr
                    key={`${l.time}-${l.seq}-${i}`}
                    className={`log-${l.level}`}
                    data-level={l.level}
                  >
                    <td className="log-time mono">{formatTime(l.time)}</td>
                    <td className="log-level">
                      <Badge tone={TONE[l.level] ?? 'neutral'}>{l.level}</Badge>
                    </td>
                    <td className="log-msg">
                      <span>{l.msg}</span>
                      {extras(l) ? <span className="log-extra mono">{extras(l)}</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {paused ? <p className="logs-paused faint">Live tail paused</p> : null}
      </Panel>
    </>
  );
}
