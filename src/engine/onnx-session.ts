/**
 * Opens a model's ONNX graph with the chosen execution provider and checks that the runner can
 * drive it. Shared by the engine worker, the reference loop and the benchmark.
 */
import ort from 'onnxruntime-node';
import {
  createSessionWithProvider,
  gpuDevicePresent,
  sessionProviders,
} from './execution-provider.js';
import type { ConcreteProvider } from './execution-provider.js';
import { parseGraphSignature, readModelConfig } from './model-config.js';
import type { GraphSignature, ModelConfig } from './model-config.js';
import type { ExecutionProviderName } from './types.js';

export interface ModelSession {
  config: ModelConfig;
  signature: GraphSignature;
  session: ort.InferenceSession;
  provider: ConcreteProvider;
  providerReason: string;
}

export function sessionOptions(
  provider: ConcreteProvider,
  threads: number,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: sessionProviders(provider),
    graphOptimizationLevel: 'all',
    // One step is one graph run; parallelism comes from intra-op threads.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    // Spinning pool threads steal the core the worker needs for KV copies and sampling between
    // runs, and fight other processes on a shared desktop; measured faster without on 2 cores.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export async function openModelSession(
  modelDir: string,
  options: { executionProvider: ExecutionProviderName; threads: number },
): Promise<ModelSession> {
  const config = await readModelConfig(modelDir);
  const selection = await createSessionWithProvider(options.executionProvider, {
    backends: ort.listSupportedBackends(),
    platform: process.platform,
    hasGpuDevice: gpuDevicePresent(process.platform),
    createSession: (provider) =>
      ort.InferenceSession.create(config.onnxPath, sessionOptions(provider, options.threads)),
  });
  const session = selection.session;
  try {
    const signature = parseGraphSignature(session.inputMetadata, session.outputMetadata, config);
    return {
      config,
      signature,
      session,
      provider: selection.provider,
      providerReason: selection.reason,
    };
  } catch (err) {
    await session.release();
    throw new Error(`${config.onnxPath}: ${(err as Error).message}`);
  }
}
