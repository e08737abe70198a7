/** What happened to a deployment, newest first. */
import type { RolloutEvent } from '../../api/types.js';
import { formatDateTime, formatRelative } from '../../components/format.js';
import { Icon, type IconName } from '../../components/icons.js';

// Keyed by string: the service may add kinds (e.g. 'speculative') before this list knows them.
const KIND: Record<string, { label: string; icon: IconName; tone: string } | undefined> = {
  created: { label: 'Created', icon: 'plus', tone: 'neutral' },
  deploy: { label: 'Switched stable', icon: 'deployments', tone: 'info' },
  canary: { label: 'Canary started', icon: 'rocket', tone: 'accent' },
  weight: { label: 'Traffic changed', icon: 'metrics', tone: 'accent' },
  promote: { label: 'Promoted', icon: 'check', tone: 'good' },
  rollback: { label: 'Rolled back', icon: 'undo', tone: 'warn' },
  'auto-rollback': { label: 'Auto rollback', icon: 'alert', tone: 'bad' },
  'auto-promote': { label: 'Auto promote', icon: 'check', tone: 'good' },
  shadow: { label: 'Shadow', icon: 'eye', tone: 'accent' },
  policy: { label: 'Policy changed', icon: 'settings', tone: 'neutral' },
  speculative: { label: 'Speculative decoding', icon: 'rocket', tone: 'neutral' },
};

export function RolloutTimeline({ events, now }: { events: RolloutEvent[]; now: number }) {
  const sorted = [...events].sort((a, b) => b.id - a.id);
  return (
    <ol className="timeline" aria-label="Rollout events">
      {sorted.map((ev) => {
        const k = KIND[ev.kind] ?? {
          label: ev.kind,
          icon: 'deployments' as IconName,
          tone: 'neutral',
        };
        return (
          <li key={ev.id} className={`timeline-item tone-${k.tone}`} data-kind={ev.kind}>
            <span className="timeline-icon" aria-hidden="true">
              <Icon name={k.icon} size={14} />
            </span>
            <div className="timeline-content">
              <div className="timeline-head">
                <strong>{k.label}</strong>
                {ev.fromVersion || ev.toVersion ? (
                  <span className="mono muted">
                    {ev.fromVersion ?? '∅'} → {ev.toVersion ?? '∅'}
                  </span>
                ) : null}
                <time className="faint" dateTime={ev.at} title={formatDateTime(ev.at)}>
                  {formatRelative(ev.at, now)}
                </time>
              </div>
              {ev.detail ? <p className="timeline-detail">{ev.detail}</p> : null}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
