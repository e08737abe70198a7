/**
 * EngineOptions from the one settings list, so the CLI, the service and the benchmark build
 * engines the same way.
 */
import type { Settings } from '../shared/settings.js';
import { parseSpeculativeMode } from './speculative/speculator.js';
import type { EngineOptions, ExecutionProviderName } from './types.js';

const PROVIDERS: readonly ExecutionProviderName[] = [
  'auto',
  'cpu',
  'cuda',
  'dml',
  'coreml',
  'webgpu',
];

export function parseExecutionProvider(value: string): ExecutionProviderName {
  const found = PROVIDERS.find((p) => p === value);
  if (!found)
    throw new Error(
      `unknown execution provider '${value}'; expected one of ${PROVIDERS.join(', ')}`,
    );
  return found;
}

/** The settings an engine is built from (what registry-runtime and bundled serving both pass). */
export type EngineSettings = Pick<
  Settings,
  | 'device'
  | 'threads'
  | 'replicas'
  | 'kvCacheMb'
  | 'blockSize'
  | 'maxRunning'
  | 'maxWaiting'
  | 'maxBatchTokens'
  | 'prefixCaching'
> &
  Partial<Pick<Settings, 'speculative'>>;

export function engineOptionsFromSettings(settings: EngineSettings): EngineOptions {
  return {
    executionProvider: parseExecutionProvider(settings.device),
    threads: settings.threads,
    replicas: settings.replicas,
    kvCacheBytes: settings.kvCacheMb * 1024 * 1024,
    blockSize: settings.blockSize,
    maxRunningRequests: settings.maxRunning,
    maxWaitingRequests: settings.maxWaiting,
    maxBatchTokens: settings.maxBatchTokens,
    enablePrefixCaching: settings.prefixCaching,
    speculative: parseSpeculativeMode(settings.speculative ?? 'off'),
  };
}
