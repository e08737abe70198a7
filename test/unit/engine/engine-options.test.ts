import { describe, expect, it } from 'vitest';
import {
  engineOptionsFromSettings,
  parseExecutionProvider,
} from '../../../src/engine/engine-options.js';
import { defaultSettings } from '../../../src/shared/settings.js';

describe('engineOptionsFromSettings', () => {
  it('maps the settings list onto EngineOptions', () => {
    const s = {
      ...defaultSettings(),
      device: 'cpu',
      threads: 3,
      replicas: 2,
      kvCacheMb: 64,
      prefixCaching: false,
    };
    expect(engineOptionsFromSettings(s)).toEqual({
      executionProvider: 'cpu',
      threads: 3,
      replicas: 2,
      kvCacheBytes: 64 * 1024 * 1024,
      blockSize: s.blockSize,
      maxRunningRequests: s.maxRunning,
      maxWaitingRequests: s.maxWaiting,
      maxBatchTokens: s.maxBatchTokens,
      enablePrefixCaching: false,
      speculative: 'off',
    });
    expect(engineOptionsFromSettings({ ...s, speculative: 'lookup' }).speculative).toBe('lookup');
  });

  it('rejects an unknown device', () => {
    expect(() => parseExecutionProvider('tpu')).toThrow(/unknown execution provider 'tpu'/);
    expect(parseExecutionProvider('auto')).toBe('auto');
  });
});
