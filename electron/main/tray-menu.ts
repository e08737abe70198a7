/**
 * The tray's menu as a pure function of state: every service state's menu can be asserted in a
 * test without a tray, and the controller only rebuilds it when something changed.
 */
import type { DeploymentSummary, ModelSummary } from '../../src/shared/admin-api.js';
import type { LoginItemView } from '../shared/ipc-contract.js';
import type { MenuItemOptions } from './electron-like.js';
import type { ServiceSnapshot } from './service-supervisor.js';

export interface ModelsView {
  status: 'idle' | 'loading' | 'ready' | 'failed';
  models: ModelSummary[];
  deployments: DeploymentSummary[];
  error: string | null;
}

export const NO_MODELS: ModelsView = { status: 'idle', models: [], deployments: [], error: null };

export interface TrayMenuState {
  service: Pick<
    ServiceSnapshot,
    'state' | 'apiUrl' | 'serving' | 'lastError' | 'warning' | 'nextRestartDelayMs'
  >;
  models: ModelsView;
  hasApiKey: boolean;
  loginItem: LoginItemView;
  keepServingOnClose: boolean;
  /** An admin action in flight, e.g. "Loading orchard-chat@2…". */
  busy: string | null;
  /** The outcome of the last action when it failed. */
  notice: string | null;
}

export interface TrayActions {
  openWindow(): void;
  startServer(): void;
  stopServer(): void;
  loadVersion(model: string, version: string): void;
  unloadVersion(model: string, version: string): void;
  refreshModels(): void;
  copyApiUrl(): void;
  copyApiKey(): void;
  setOpenAtLogin(on: boolean): void;
  setKeepServingOnClose(on: boolean): void;
  quit(): void;
}

export type TrayIconKind = 'serving' | 'stopped' | 'error';

export function trayIconKind(state: TrayMenuState['service']['state']): TrayIconKind {
  if (state === 'ready') return 'serving';
  if (state === 'error' || state === 'crashed') return 'error';
  return 'stopped';
}

const MAX_LABEL = 90;

function clip(text: string, max = MAX_LABEL): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : one.slice(0, max - 1) + '…';
}

/** One or two short lines saying what the server is doing. */
export function statusLines(service: TrayMenuState['service']): string[] {
  switch (service.state) {
    case 'ready': {
      const what =
        service.serving.length > 0 ? `Serving ${service.serving.join(', ')}` : 'Server running';
      const lines = service.apiUrl ? [clip(what), `on ${service.apiUrl}`] : [clip(what)];
      if (service.warning) lines.push(clip(`Warning: ${service.warning}`));
      return lines;
    }
    case 'starting':
      return ['Starting the server…'];
    case 'stopping':
      return ['Stopping the server…'];
    case 'stopped':
      return ['Server stopped'];
    case 'crashed': {
      const wait =
        service.nextRestartDelayMs !== null
          ? ` — restarting in ${Math.max(1, Math.round(service.nextRestartDelayMs / 1000))} s`
          : ' — restarting';
      const lines = [`Server stopped unexpectedly${wait}`];
      if (service.lastError) lines.push(clip(service.lastError));
      return lines;
    }
    case 'error':
      return ['Server error', clip(service.lastError ?? 'unknown error')];
  }
}

export function trayToolTip(state: TrayMenuState): string {
  return ['Orchard', ...statusLines(state.service)].join('\n');
}

function separator(): MenuItemOptions {
  return { type: 'separator' };
}

function info(label: string, id?: string): MenuItemOptions {
  return { id, label, enabled: false };
}

function deploymentLine(d: DeploymentSummary): string {
  let line = `${d.name}: version ${d.stable}`;
  if (d.candidate) {
    const share = d.candidate.mode === 'shadow' ? 'mirrored' : `${d.candidate.weight}%`;
    line += `, ${d.candidate.mode} ${d.candidate.version} (${share})`;
  }
  return line;
}

function modelsSubmenu(state: TrayMenuState, actions: TrayActions): MenuItemOptions[] {
  if (state.service.state !== 'ready') {
    return [info('Available while the server is running', 'models-unavailable')];
  }
  const view = state.models;
  if (view.status === 'failed') {
    return [
      info(clip(`Could not list models: ${view.error ?? 'unknown error'}`), 'models-error'),
      { id: 'models-refresh', label: 'Try again', click: () => actions.refreshModels() },
    ];
  }
  if (view.status !== 'ready') return [info('Loading…', 'models-loading')];

  const items: MenuItemOptions[] = [info('Deployments', 'deployments-header')];
  if (view.deployments.length === 0) items.push(info('No deployments', 'deployments-none'));
  for (const d of view.deployments) items.push(info(deploymentLine(d), `deployment:${d.name}`));
  items.push(separator());
  if (view.models.length === 0) items.push(info('No models imported', 'models-none'));
  for (const m of view.models) {
    const versions = m.versions.filter((v) => v.state !== 'deleted');
    items.push({
      id: `model:${m.name}`,
      label: m.name,
      type: 'submenu',
      submenu:
        versions.length === 0
          ? [info('No versions')]
          : versions.map((v): MenuItemOptions => {
              const usable = v.state === 'ready';
              return {
                id: `version:${m.name}@${v.version}`,
                label: usable
                  ? `Version ${v.version}${v.loaded ? ' (loaded)' : ''}`
                  : `Version ${v.version} (${v.state})`,
                type: 'checkbox',
                checked: v.loaded,
                enabled: usable && state.busy === null,
                toolTip: v.loaded ? 'Unload this version' : 'Load this version',
                click: () =>
                  v.loaded
                    ? actions.unloadVersion(m.name, v.version)
                    : actions.loadVersion(m.name, v.version),
              };
            }),
    });
  }
  items.push(separator());
  items.push({ id: 'models-refresh', label: 'Refresh', click: () => actions.refreshModels() });
  return items;
}

export function buildTrayMenu(state: TrayMenuState, actions: TrayActions): MenuItemOptions[] {
  const s = state.service.state;
  const running = s === 'starting' || s === 'ready' || s === 'crashed';
  const lines = statusLines(state.service);
  const items: MenuItemOptions[] = lines.map((l, i) => info(l, i === 0 ? 'status' : `status-${i}`));
  if (state.busy) items.push(info(state.busy, 'busy'));
  if (state.notice) items.push(info(clip(state.notice), 'notice'));
  items.push(separator());
  items.push({ id: 'open', label: 'Open Orchard', click: () => actions.openWindow() });
  items.push(
    running
      ? { id: 'stop', label: 'Stop server', click: () => actions.stopServer() }
      : {
          id: 'start',
          label: s === 'error' ? 'Start server again' : 'Start server',
          enabled: s !== 'stopping',
          click: () => actions.startServer(),
        },
  );
  items.push({
    id: 'models',
    label: 'Models',
    type: 'submenu',
    submenu: modelsSubmenu(state, actions),
  });
  items.push(separator());
  items.push({
    id: 'copy-api-url',
    label: 'Copy API URL',
    enabled: s === 'ready' && state.service.apiUrl !== null,
    click: () => actions.copyApiUrl(),
  });
  items.push({
    id: 'copy-api-key',
    label: 'Copy API key',
    enabled: state.hasApiKey,
    click: () => actions.copyApiKey(),
  });
  items.push(separator());
  items.push({
    id: 'open-at-login',
    label: 'Start at login',
    type: 'checkbox',
    checked: state.loginItem.openAtLogin,
    enabled: state.loginItem.supported,
    click: () => actions.setOpenAtLogin(!state.loginItem.openAtLogin),
  });
  items.push({
    id: 'keep-serving',
    label: 'Keep serving when the window closes',
    type: 'checkbox',
    checked: state.keepServingOnClose,
    click: () => actions.setKeepServingOnClose(!state.keepServingOnClose),
  });
  items.push(separator());
  items.push({ id: 'quit', label: 'Quit Orchard', click: () => actions.quit() });
  return items;
}
