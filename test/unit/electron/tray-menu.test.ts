import { describe, expect, it } from 'vitest';
import type {
  DeploymentSummary,
  ModelSummary,
  VersionSummary,
} from '../../../src/shared/admin-api.js';
import type { MenuItemOptions } from '../../../electron/main/electron-like.js';
import {
  NO_MODELS,
  buildTrayMenu,
  statusLines,
  trayIconKind,
  type TrayActions,
  type TrayMenuState,
} from '../../../electron/main/tray-menu.js';
import { findItem } from '../../support/fake-electron.js';

function recorder() {
  const calls: string[] = [];
  const actions: TrayActions = {
    openWindow: () => calls.push('open'),
    startServer: () => calls.push('start'),
    stopServer: () => calls.push('stop'),
    loadVersion: (m, v) => calls.push(`load ${m}@${v}`),
    unloadVersion: (m, v) => calls.push(`unload ${m}@${v}`),
    refreshModels: () => calls.push('refresh'),
    copyApiUrl: () => calls.push('copy-url'),
    copyApiKey: () => calls.push('copy-key'),
    setOpenAtLogin: (on) => calls.push(`login ${on}`),
    setKeepServingOnClose: (on) => calls.push(`keep ${on}`),
    quit: () => calls.push('quit'),
  };
  return { calls, actions };
}

function version(
  v: string,
  loaded: boolean,
  state: VersionSummary['state'] = 'ready',
): VersionSummary {
  return {
    model: 'orchard-chat',
    version: v,
    state,
    source: 'shipped',
    digest: 'd',
    sizeBytes: 1,
    architecture: 'LlamaForCausalLM',
    numParams: 1,
    contextLength: 512,
    memoryEstimateBytes: 1,
    createdAt: '',
    loaded,
  };
}

const MODELS: ModelSummary[] = [
  {
    name: 'orchard-chat',
    createdAt: '',
    versions: [version('1', true), version('2', false), version('3', false, 'importing')],
  },
];

const DEPLOYMENTS: DeploymentSummary[] = [
  {
    name: 'orchard-chat',
    model: 'orchard-chat',
    stable: '1',
    candidate: { version: '2', weight: 10, mode: 'canary' },
    policy: { maxErrorRate: 0.05, maxTtftRatio: 2, minRequests: 20, autoPromoteAfter: 0 },
    speculative: 'off',
    updatedAt: '',
  },
];

function state(over: Partial<TrayMenuState['service']> = {}, rest: Partial<TrayMenuState> = {}) {
  const s: TrayMenuState = {
    service: {
      state: 'ready',
      apiUrl: 'http://127.0.0.1:11435/v1',
      serving: ['orchard-chat → orchard-chat@1'],
      lastError: null,
      warning: null,
      nextRestartDelayMs: null,
      ...over,
    },
    models: { status: 'ready', models: MODELS, deployments: DEPLOYMENTS, error: null },
    hasApiKey: true,
    loginItem: { openAtLogin: false, supported: true },
    keepServingOnClose: true,
    busy: null,
    notice: null,
    ...rest,
  };
  return s;
}

const ids = (items: MenuItemOptions[]) => items.map((i) => i.id ?? i.type);
const item = (items: MenuItemOptions[], id: string) => {
  const found = findItem(items, id);
  if (!found) throw new Error(`no item ${id}`);
  return found;
};

describe('buildTrayMenu', () => {
  it('ready: says what is served where, offers Stop, models, copy actions', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(state(), actions);
    expect(ids(menu)).toEqual([
      'status',
      'status-1',
      'separator',
      'open',
      'stop',
      'models',
      'separator',
      'copy-api-url',
      'copy-api-key',
      'separator',
      'open-at-login',
      'keep-serving',
      'separator',
      'quit',
    ]);
    expect(item(menu, 'status').label).toBe('Serving orchard-chat → orchard-chat@1');
    expect(item(menu, 'status-1').label).toBe('on http://127.0.0.1:11435/v1');
    expect(item(menu, 'status').enabled).toBe(false);
    expect(item(menu, 'copy-api-url').enabled).toBe(true);
    expect(trayIconKind('ready')).toBe('serving');
  });

  it('ready: the Models submenu shows each deployment and toggles load/unload per version', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(state(), actions);
    expect(item(menu, 'deployment:orchard-chat').label).toBe(
      'orchard-chat: version 1, canary 2 (10%)',
    );
    const v1 = item(menu, 'version:orchard-chat@1');
    const v2 = item(menu, 'version:orchard-chat@2');
    const v3 = item(menu, 'version:orchard-chat@3');
    expect([v1.checked, v1.label]).toEqual([true, 'Version 1 (loaded)']);
    expect([v2.checked, v2.label]).toEqual([false, 'Version 2']);
    expect([v3.enabled, v3.label]).toEqual([false, 'Version 3 (importing)']);
    v1.click!();
    v2.click!();
    expect(calls).toEqual(['unload orchard-chat@1', 'load orchard-chat@2']);
  });

  it('while an action runs, the versions are disabled and the busy line shows', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(state({}, { busy: 'Loading orchard-chat@2…' }), actions);
    expect(item(menu, 'busy').label).toBe('Loading orchard-chat@2…');
    expect(item(menu, 'version:orchard-chat@2').enabled).toBe(false);
  });

  it('starting: Stop is offered (it cancels the start), models wait, no API URL to copy', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(
      state({ state: 'starting', apiUrl: null, serving: [] }, { models: NO_MODELS }),
      actions,
    );
    expect(item(menu, 'status').label).toBe('Starting the server…');
    expect(findItem(menu, 'start')).toBeUndefined();
    item(menu, 'stop').click!();
    expect(calls).toEqual(['stop']);
    expect(item(menu, 'copy-api-url').enabled).toBe(false);
    expect(ids(item(menu, 'models').submenu!)).toEqual(['models-unavailable']);
    expect(trayIconKind('starting')).toBe('stopped');
  });

  it('stopped: Start server, stopped icon', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(state({ state: 'stopped', apiUrl: null, serving: [] }), actions);
    expect(item(menu, 'status').label).toBe('Server stopped');
    expect(findItem(menu, 'stop')).toBeUndefined();
    item(menu, 'start').click!();
    expect(calls).toEqual(['start']);
    expect(trayIconKind('stopped')).toBe('stopped');
  });

  it('stopping: Start is shown but disabled until the process is gone', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(state({ state: 'stopping' }), actions);
    expect(item(menu, 'status').label).toBe('Stopping the server…');
    expect(item(menu, 'start').enabled).toBe(false);
  });

  it('crashed: says it restarts and why it stopped; error icon; Stop cancels the restart', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(
      state({
        state: 'crashed',
        apiUrl: null,
        lastError: 'the server was killed by SIGKILL',
        nextRestartDelayMs: 2000,
      }),
      actions,
    );
    expect(item(menu, 'status').label).toBe('Server stopped unexpectedly — restarting in 2 s');
    expect(item(menu, 'status-1').label).toBe('the server was killed by SIGKILL');
    item(menu, 'stop').click!();
    expect(calls).toEqual(['stop']);
    expect(trayIconKind('crashed')).toBe('error');
  });

  it('error: shows the last error (clipped to one line) and offers to start again', () => {
    const { calls, actions } = recorder();
    const long = 'The server stopped unexpectedly 5 times\nwithin 120 s. ' + 'x'.repeat(200);
    const menu = buildTrayMenu(state({ state: 'error', apiUrl: null, lastError: long }), actions);
    expect(item(menu, 'status').label).toBe('Server error');
    const detail = item(menu, 'status-1').label!;
    expect(detail).not.toContain('\n');
    expect(detail.length).toBeLessThanOrEqual(90);
    expect(detail.startsWith('The server stopped unexpectedly 5 times within 120 s.')).toBe(true);
    item(menu, 'start').click!();
    expect(item(menu, 'start').label).toBe('Start server again');
    expect(calls).toEqual(['start']);
    expect(trayIconKind('error')).toBe('error');
  });

  it('a failed model listing says so and offers to try again', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(
      state({}, { models: { ...NO_MODELS, status: 'failed', error: 'HTTP 401' } }),
      actions,
    );
    expect(item(menu, 'models-error').label).toBe('Could not list models: HTTP 401');
    item(menu, 'models-refresh').click!();
    expect(calls).toEqual(['refresh']);
  });

  it('checkboxes reflect start at login and keep-serving, and clicking flips them', () => {
    const { calls, actions } = recorder();
    const menu = buildTrayMenu(
      state({}, { loginItem: { openAtLogin: true, supported: true }, keepServingOnClose: false }),
      actions,
    );
    expect(item(menu, 'open-at-login').checked).toBe(true);
    expect(item(menu, 'keep-serving').checked).toBe(false);
    item(menu, 'open-at-login').click!();
    item(menu, 'keep-serving').click!();
    expect(calls).toEqual(['login false', 'keep true']);
  });

  it('without an API key, Copy API key is disabled; unsupported login items are disabled', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(
      state({}, { hasApiKey: false, loginItem: { openAtLogin: false, supported: false } }),
      actions,
    );
    expect(item(menu, 'copy-api-key').enabled).toBe(false);
    expect(item(menu, 'open-at-login').enabled).toBe(false);
  });

  it('status lines for a ready service with nothing loaded', () => {
    expect(
      statusLines({
        state: 'ready',
        apiUrl: null,
        serving: [],
        lastError: null,
        warning: null,
        nextRestartDelayMs: null,
      }),
    ).toEqual(['Server running']);
  });

  it('ready with a warning from the service (a model that did not load) shows it', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(
      state({ serving: [], warning: 'orchard-chat@1: model.onnx is missing' }),
      actions,
    );
    expect(item(menu, 'status').label).toBe('Server running');
    expect(item(menu, 'status-2').label).toBe('Warning: orchard-chat@1: model.onnx is missing');
    expect(trayIconKind('ready')).toBe('serving');
  });

  it('a crash reported earlier does not show while serving again', () => {
    const { actions } = recorder();
    const menu = buildTrayMenu(state({ lastError: 'the server was killed by SIGKILL' }), actions);
    expect(JSON.stringify(menu)).not.toContain('SIGKILL');
  });
});
