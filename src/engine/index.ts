/** The engine's public surface for the service, the CLI and the benchmark. */
export type {
  ChatMessage,
  ChoiceDelta,
  Engine,
  EngineOptions,
  EngineStats,
  ExecutionProviderName,
  GenerateOutput,
  GenerateRequest,
  GenerateUsage,
  LoadProgress,
  ModelInfo,
  ModelTokenizer,
} from './types.js';
export { loadEngine, EngineHost } from './engine-host.js';
export type { LocalEngine } from './engine-replicas.js';
export { engineOptionsFromSettings, parseExecutionProvider } from './engine-options.js';
export { loadModelTokenizer, HfModelTokenizer } from './model-tokenizer.js';
export { readModelConfig } from './model-config.js';
export type { ModelConfig } from './model-config.js';
export { ReferenceModel } from './reference-loop.js';
