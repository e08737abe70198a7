import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createSessionWithProvider,
  gpuDevicePresent,
  planProviders,
  sessionProviders,
} from '../../../src/engine/execution-provider.js';
import type { BackendInfo, ConcreteProvider } from '../../../src/engine/execution-provider.js';

const LINUX_BUILD: BackendInfo[] = [
  { name: 'cpu', bundled: true },
  { name: 'webgpu', bundled: true },
  { name: 'cuda', bundled: false },
  { name: 'tensorrt', bundled: false },
];

/** A session factory whose providers succeed or fail as listed, recording what was tried. */
function factory(works: ConcreteProvider[]) {
  const tried: ConcreteProvider[] = [];
  const createSession = async (p: ConcreteProvider) => {
    tried.push(p);
    if (!works.includes(p)) throw new Error(`${p} init failed: no adapter found\nstack...`);
    return { provider: p };
  };
  return { tried, createSession };
}

describe('planProviders', () => {
  it('keeps only bundled providers for this platform, best first, CPU last', () => {
    const plan = planProviders('auto', LINUX_BUILD, 'linux');
    expect(plan.candidates).toEqual(['webgpu', 'cpu']);
    expect(plan.skipped.map((s) => s.provider)).toEqual(['cuda', 'dml', 'coreml']);
    expect(plan.skipped[0].why).toContain('not bundled');
    expect(plan.skipped[1].why).toContain('win32');
  });

  it('offers DirectML on Windows and CoreML on macOS when the build has them', () => {
    const win = planProviders('auto', [...LINUX_BUILD, { name: 'dml', bundled: true }], 'win32');
    expect(win.candidates).toEqual(['dml', 'webgpu', 'cpu']);
    const mac = planProviders(
      'auto',
      [
        { name: 'cpu', bundled: true },
        { name: 'coreml', bundled: true },
      ],
      'darwin',
    );
    expect(mac.candidates).toEqual(['coreml', 'cpu']);
    const cuda = planProviders('auto', [{ name: 'cuda', bundled: true }], 'linux');
    expect(cuda.candidates).toEqual(['cuda', 'cpu']);
  });

  it('skips GPU providers on a Linux machine that shows no GPU device, saying why', () => {
    const plan = planProviders('auto', LINUX_BUILD, 'linux', false);
    expect(plan.candidates).toEqual(['cpu']);
    expect(plan.skipped.find((s) => s.provider === 'webgpu')?.why).toContain('no GPU device');
    const cuda = planProviders('auto', [{ name: 'cuda', bundled: true }], 'linux', false);
    expect(cuda.candidates).toEqual(['cpu']);
  });

  it('finds a GPU device from /dev on Linux; assumes one elsewhere', () => {
    const dev = mkdtempSync(path.join(os.tmpdir(), 'orchard-dev-'));
    expect(gpuDevicePresent('linux', dev)).toBe(false);
    mkdirSync(path.join(dev, 'dri'));
    writeFileSync(path.join(dev, 'dri', 'card0'), '');
    expect(gpuDevicePresent('linux', dev)).toBe(false); // a display-only card is not enough
    writeFileSync(path.join(dev, 'dri', 'renderD128'), '');
    expect(gpuDevicePresent('linux', dev)).toBe(true);
    const nvidia = mkdtempSync(path.join(os.tmpdir(), 'orchard-dev-'));
    writeFileSync(path.join(nvidia, 'nvidia0'), '');
    expect(gpuDevicePresent('linux', nvidia)).toBe(true);
    expect(gpuDevicePresent('win32', dev)).toBe(true);
    expect(gpuDevicePresent('darwin', '/nonexistent')).toBe(true);
  });

  it('an explicit GPU provider without a device is a clear error, not a Dawn failure', async () => {
    const f = factory(['webgpu', 'cpu']);
    await expect(
      createSessionWithProvider('webgpu', {
        backends: LINUX_BUILD,
        platform: 'linux',
        hasGpuDevice: false,
        ...f,
      }),
    ).rejects.toThrow(/webgpu is not available: webgpu: no GPU device/);
    expect(f.tried).toEqual([]);
  });

  it('gives accelerators CPU as the fallback for unsupported ops', () => {
    expect(sessionProviders('cuda')).toEqual(['cuda', 'cpu']);
    expect(sessionProviders('cpu')).toEqual(['cpu']);
  });
});

describe('createSessionWithProvider', () => {
  it('auto falls back to CPU when WebGPU fails to initialise, saying why', async () => {
    const f = factory(['cpu']);
    const sel = await createSessionWithProvider('auto', {
      backends: LINUX_BUILD,
      platform: 'linux',
      ...f,
    });
    expect(f.tried).toEqual(['webgpu', 'cpu']);
    expect(sel.provider).toBe('cpu');
    expect(sel.reason).toContain(
      'webgpu failed to initialise: webgpu init failed: no adapter found',
    );
    expect(sel.reason).toContain('cuda is not bundled');
    expect(sel.reason).not.toContain('stack');
  });

  it('auto uses the best provider that works', async () => {
    const f = factory(['cuda', 'cpu']);
    const sel = await createSessionWithProvider('auto', {
      backends: [
        { name: 'cpu', bundled: true },
        { name: 'cuda', bundled: true },
      ],
      platform: 'linux',
      ...f,
    });
    expect(sel.provider).toBe('cuda');
    expect(f.tried).toEqual(['cuda']);
    expect(sel.reason).toMatch(/^auto: using cuda/);
  });

  it('an explicit provider that is missing or fails is an error, not a silent CPU run', async () => {
    await expect(
      createSessionWithProvider('cuda', {
        backends: LINUX_BUILD,
        platform: 'linux',
        ...factory(['cpu']),
      }),
    ).rejects.toThrow(/cuda is not available: cuda is not bundled/);
    await expect(
      createSessionWithProvider('webgpu', {
        backends: LINUX_BUILD,
        platform: 'linux',
        ...factory(['cpu']),
      }),
    ).rejects.toThrow(/webgpu failed to initialise/);
    const cpu = await createSessionWithProvider('cpu', {
      backends: LINUX_BUILD,
      platform: 'linux',
      ...factory(['cpu']),
    });
    expect(cpu).toMatchObject({ provider: 'cpu', reason: 'using cpu as requested' });
  });

  it('reports every failure when nothing works', async () => {
    await expect(
      createSessionWithProvider('auto', {
        backends: LINUX_BUILD,
        platform: 'linux',
        ...factory([]),
      }),
    ).rejects.toThrow(/webgpu failed.*cpu failed/);
  });
});
