/**
 * Picks the ONNX Runtime execution provider. `auto` walks a preference list, keeps only what this
 * onnxruntime-node build ships for this platform, tries each by actually creating the session,
 * and falls back to CPU with a reason the UI can show. Everything it depends on (backend list,
 * platform, session factory) is passed in so the choice is testable without a GPU.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionProviderName } from './types.js';

export type ConcreteProvider = Exclude<ExecutionProviderName, 'auto'>;

export interface BackendInfo {
  name: string;
  bundled: boolean;
}

/** Best first. CPU always comes last and always exists. */
const PREFERENCE: readonly ConcreteProvider[] = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'];

/** Providers that only exist on one platform, whatever the backend list says. */
const PLATFORM_ONLY: Partial<Record<ConcreteProvider, NodeJS.Platform>> = {
  dml: 'win32',
  coreml: 'darwin',
};

/** Providers that need a GPU device node on Linux (WebGPU there goes through Vulkan). */
const NEEDS_GPU_DEVICE: ReadonlySet<ConcreteProvider> = new Set(['cuda', 'webgpu']);

/**
 * Whether this machine shows a GPU to user space. Only Linux is checked: a DRM render node, an
 * NVIDIA device or WSL2's GPU device. Without one, trying WebGPU only gets Dawn's warnings on
 * stderr (a software Vulkan driver lacks what it needs) before falling back to CPU anyway.
 * Other platforms: assumed, and left to the session attempt.
 */
export function gpuDevicePresent(platform: NodeJS.Platform, devDir = '/dev'): boolean {
  if (platform !== 'linux') return true;
  const list = (dir: string): string[] => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  if (list(path.join(devDir, 'dri')).some((n) => n.startsWith('renderD'))) return true;
  return list(devDir).some((n) => n === 'nvidia0' || n === 'dxg');
}

/** The `executionProviders` list for a session: accelerators keep CPU as the fallback for ops they lack. */
export function sessionProviders(provider: ConcreteProvider): string[] {
  return provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
}

export interface Candidate {
  provider: ConcreteProvider;
}

export interface Skipped {
  provider: ConcreteProvider;
  why: string;
}

/** Which providers `requested` may use here, in the order to try them, and why others were left out. */
export function planProviders(
  requested: ExecutionProviderName,
  backends: readonly BackendInfo[],
  platform: NodeJS.Platform,
  hasGpuDevice = true,
): { candidates: ConcreteProvider[]; skipped: Skipped[] } {
  const wanted = requested === 'auto' ? PREFERENCE : [requested];
  const candidates: ConcreteProvider[] = [];
  const skipped: Skipped[] = [];
  for (const provider of wanted) {
    const why = unavailableReason(provider, backends, platform, hasGpuDevice);
    if (why) skipped.push({ provider, why });
    else candidates.push(provider);
  }
  return { candidates, skipped };
}

function unavailableReason(
  provider: ConcreteProvider,
  backends: readonly BackendInfo[],
  platform: NodeJS.Platform,
  hasGpuDevice: boolean,
): string | null {
  if (provider === 'cpu') return null;
  const only = PLATFORM_ONLY[provider];
  if (only && only !== platform) return `${provider} needs ${only}, this is ${platform}`;
  const backend = backends.find((b) => b.name === provider);
  if (!backend) return `${provider} is not in this onnxruntime-node build`;
  if (!backend.bundled) return `${provider} is not bundled with onnxruntime-node`;
  if (!hasGpuDevice && NEEDS_GPU_DEVICE.has(provider))
    return `${provider}: no GPU device on this machine (/dev/dri/renderD*, /dev/nvidia0)`;
  return null;
}

export interface ProviderSelection<S> {
  session: S;
  provider: ConcreteProvider;
  /** One line for the UI: what was chosen and why the better ones were not. */
  reason: string;
}

/**
 * Creates the session with the best provider that works. With `auto`, a provider that fails to
 * initialise is skipped and the next is tried; an explicitly requested provider that fails is an
 * error, since silently running on CPU would hide a misconfiguration.
 */
export async function createSessionWithProvider<S>(
  requested: ExecutionProviderName,
  deps: {
    backends: readonly BackendInfo[];
    platform: NodeJS.Platform;
    /** Whether a GPU device is visible (gpuDevicePresent); default true. */
    hasGpuDevice?: boolean;
    createSession: (provider: ConcreteProvider) => Promise<S>;
  },
): Promise<ProviderSelection<S>> {
  const { candidates, skipped } = planProviders(
    requested,
    deps.backends,
    deps.platform,
    deps.hasGpuDevice ?? true,
  );
  const notes = skipped.map((s) => s.why);
  if (requested !== 'auto' && candidates.length === 0) {
    throw new Error(`execution provider ${requested} is not available: ${notes.join('; ')}`);
  }
  for (const provider of candidates) {
    try {
      const session = await deps.createSession(provider);
      const reason =
        requested === 'auto'
          ? notes.length > 0
            ? `auto: using ${provider} (${notes.join('; ')})`
            : `auto: using ${provider}`
          : `using ${provider} as requested`;
      return { session, provider, reason };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (requested !== 'auto') {
        throw new Error(
          `execution provider ${provider} failed to initialise: ${firstLine(message)}`,
        );
      }
      notes.push(`${provider} failed to initialise: ${firstLine(message)}`);
    }
  }
  throw new Error(`no execution provider could load the model: ${notes.join('; ')}`);
}

function firstLine(message: string): string {
  let line = message.split('\n').find((l) => l.trim() !== '') ?? message;
  // ONNX Runtime prefixes the useful part with a source location and the failed check.
  const check = /\bwas false\.\s*(.+)$/.exec(line);
  if (check) line = check[1];
  return line.length > 200 ? line.slice(0, 200) + '…' : line;
}
