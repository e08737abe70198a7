/** The navigation sidebar: one real link per view, plus the live connection state. */
import { useConnectionState } from '../api/hooks.js';
import { href, type Route } from '../router.js';
import { Icon, type IconName } from './icons.js';

const ITEMS: Array<{ route: Route; label: string; icon: IconName }> = [
  { route: 'overview', label: 'Overview', icon: 'overview' },
  { route: 'models', label: 'Models', icon: 'models' },
  { route: 'deployments', label: 'Deployments', icon: 'deployments' },
  { route: 'metrics', label: 'Metrics', icon: 'metrics' },
  { route: 'playground', label: 'Playground', icon: 'playground' },
  { route: 'logs', label: 'Logs', icon: 'logs' },
  { route: 'settings', label: 'Settings', icon: 'settings' },
];

export function Logo() {
  return (
    <svg width="28" height="28" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="8" fill="var(--accent)" />
      <path
        d="M16 7c-4.4 0-8 3.3-8 7.5 0 3.5 2.6 6.4 6 7.2V26h4v-4.3c3.4-.8 6-3.7 6-7.2C24 10.3 20.4 7 16 7z"
        fill="var(--accent-contrast)"
      />
      <circle cx="13" cy="13" r="1.6" fill="#e0524a" />
      <circle cx="19" cy="15.5" r="1.6" fill="#e0524a" />
    </svg>
  );
}

export function Sidebar({ route }: { route: Route }) {
  const connection = useConnectionState();
  const connectionLabel =
    connection === 'open' ? 'Live' : connection === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <aside className="sidebar">
      <div className="brand">
        <Logo />
        <span className="brand-name">Orchard</span>
      </div>
      <nav aria-label="Main">
        <ul className="nav-list">
          {ITEMS.map((item) => (
            <li key={item.route}>
              <a
                href={href(item.route)}
                className="nav-link"
                aria-current={route === item.route ? 'page' : undefined}
              >
                <Icon name={item.icon} />
                <span>{item.label}</span>
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="sidebar-footer">
        <span className={`live-dot live-${connection}`} aria-hidden="true" />
        <span role="status" aria-live="polite" aria-label={`Live updates: ${connectionLabel}`}>
          {connectionLabel}
        </span>
      </div>
    </aside>
  );
}
