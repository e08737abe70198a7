/** Settings: every setting with its value, where the value came from, and what it does. */
import { useCallback, useMemo, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useResource } from '../../api/hooks.js';
import type { SettingView } from '../../api/types.js';
import { Badge, PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, ErrorState, Loading } from '../../components/states.js';
import { DesktopSettings } from './desktop-settings.js';
import './settings.css';

const SOURCE: Record<
  SettingView['source'],
  { label: string; tone: 'neutral' | 'info' | 'accent' | 'good' }
> = {
  flag: { label: 'command line', tone: 'accent' },
  env: { label: 'environment', tone: 'info' },
  file: { label: 'settings file', tone: 'good' },
  default: { label: 'default', tone: 'neutral' },
};

function formatValue(s: SettingView): string {
  const v = s.value;
  if (Array.isArray(v)) return v.length ? v.join(', ') : '(none)';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (v === '' || v === null || v === undefined) return '(empty)';
  return String(v);
}

export function SettingsView() {
  const load = useCallback((signal: AbortSignal) => admin.settings(signal), []);
  const settings = useResource(load);
  const [query, setQuery] = useState('');
  const list = useMemo(() => {
    const q = query.trim().toLowerCase();
    const all = settings.data ?? [];
    return q
      ? all.filter((s) => `${s.name} ${s.env} ${s.flag} ${s.description}`.toLowerCase().includes(q))
      : all;
  }, [settings.data, query]);

  return (
    <>
      <PageHeader
        title="Settings"
        description={
          <>
            Set with a command-line flag, an <code>ORCHARD_*</code> environment variable or the
            settings file; the first one found wins.
          </>
        }
      />
      <Panel title="Desktop" id="desktop">
        <DesktopSettings />
      </Panel>
      <Panel
        title="Service"
        id="service-settings"
        className="panel-flush"
        actions={
          <>
            <label htmlFor="settings-search" className="visually-hidden">
              Filter settings
            </label>
            <input
              id="settings-search"
              className="input input-search"
              type="search"
              placeholder="Filter…"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
            />
          </>
        }
      >
        {settings.loading ? (
          <Loading label="Loading settings…" />
        ) : settings.error && !settings.data ? (
          <ErrorState
            title="Could not load settings"
            error={settings.error}
            onRetry={settings.reload}
          />
        ) : list.length === 0 ? (
          <EmptyState icon="settings" title="No setting matches" />
        ) : (
          <div className="table-wrap">
            <table className="table settings-table" aria-label="Service settings">
              <thead>
                <tr>
                  <th scope="col">Setting</th>
                  <th scope="col">Value</th>
                  <th scope="col">Source</th>
                  <th scope="col">Description</th>
                </tr>
              </thead>
              <tbody>
                {list.map((s) => (
                  <tr key={s.name} data-setting={s.name}>
                    <th scope="row">
                      <div className="setting-name">{s.name}</div>
                      <div className="faint mono small">
                        {s.flag} · {s.env}
                      </div>
                    </th>
                    <td>
                      <code className="setting-value">{formatValue(s)}</code>
                      {s.choices ? (
                        <div className="faint small">{s.choices.join(' · ')}</div>
                      ) : null}
                    </td>
                    <td>
                      <Badge tone={SOURCE[s.source].tone}>{SOURCE[s.source].label}</Badge>
                    </td>
                    <td className="muted">{s.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </>
  );
}
