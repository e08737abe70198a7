/** The shell: sidebar navigation, the live connection, and the current view. */
import { useEffect, type ReactNode } from 'react';
import { useSignedOut } from './api/hooks.js';
import { liveEvents } from './api/live-events.js';
import { Sidebar } from './components/sidebar.js';
import { DeploymentsView } from './features/deployments/deployments-view.js';
import { LogsView } from './features/logs/logs-view.js';
import { MetricsView } from './features/metrics/metrics-view.js';
import { ModelsView } from './features/models/models-view.js';
import { OverviewView } from './features/overview/overview-view.js';
import { PlaygroundView } from './features/playground/playground-view.js';
import { SettingsView } from './features/settings/settings-view.js';
import { useLocation, type Route } from './router.js';
import { Icon } from './components/icons.js';

const TITLES: Record<Route, string> = {
  overview: 'Overview',
  models: 'Models',
  deployments: 'Deployments',
  metrics: 'Metrics',
  playground: 'Playground',
  logs: 'Logs',
  settings: 'Settings',
};

function SignedOutNotice() {
  return (
    <div className="banner banner-warn" role="alert">
      <Icon name="alert" size={18} />
      <div>
        <strong>This page is signed out.</strong> Open the sign-in link that{' '}
        <code>orchard serve</code> printed, or <a href="/auth">sign in with the API key</a>.
      </div>
    </div>
  );
}

export function App() {
  const { route, params } = useLocation();
  const signedOut = useSignedOut();

  useEffect(() => {
    liveEvents.start();
  }, []);

  useEffect(() => {
    document.title = `${TITLES[route]} · Orchard`;
    // Move focus to the new view so keyboard and screen-reader users land on its content.
    document.getElementById('main')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route]);

  let view: ReactNode;
  switch (route) {
    case 'overview':
      view = <OverviewView />;
      break;
    case 'models':
      view = <ModelsView />;
      break;
    case 'deployments':
      view = <DeploymentsView />;
      break;
    case 'metrics':
      view = <MetricsView />;
      break;
    case 'playground':
      view = <PlaygroundView initialModel={params.get('model')} />;
      break;
    case 'logs':
      view = <LogsView />;
      break;
    case 'settings':
      view = <SettingsView />;
      break;
  }

  return (
    <div className="app">
      <button
        type="button"
        className="skip-link"
        onClick={() => document.getElementById('main')?.focus()}
      >
        Skip to content
      </button>
      <Sidebar route={route} />
      <main id="main" className="main" tabIndex={-1} aria-label={TITLES[route]}>
        {signedOut ? <SignedOutNotice /> : null}
        <div className={`view view-${route}`}>{view}</div>
      </main>
    </div>
  );
}
