/** Hash routing (`#/models`): works from file://, the service and the Electron window alike. */
import { useSyncExternalStore } from 'react';

export const ROUTES = [
  'overview',
  'models',
  'deployments',
  'metrics',
  'playground',
  'logs',
  'settings',
] as const;
export type Route = (typeof ROUTES)[number];

export interface Location {
  route: Route;
  params: URLSearchParams;
}

function subscribe(cb: () => void) {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
}

const getHash = () => window.location.hash;

export function parseHash(hash: string): Location {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  const route = (ROUTES as readonly string[]).includes(path) ? (path as Route) : 'overview';
  return { route, params: new URLSearchParams(query) };
}

export function useLocation(): Location {
  const hash = useSyncExternalStore(subscribe, getHash);
  return parseHash(hash);
}

export function href(route: Route, params?: Record<string, string>): string {
  const q = params ? `?${new URLSearchParams(params).toString()}` : '';
  return `#/${route}${q}`;
}
