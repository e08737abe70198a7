import { describe, expect, it } from 'vitest';
import {
  MALLOC_TUNABLES,
  needsMallocTunables,
  withMallocTunables,
} from '../../../src/shared/malloc-tunables.js';
import { shouldRelaunch } from '../../../src/shared/relaunch.js';

describe('malloc tunables', () => {
  it('adds the settings on Linux only', () => {
    expect(withMallocTunables({}, 'linux').GLIBC_TUNABLES).toBe(MALLOC_TUNABLES.join(':'));
    expect(withMallocTunables({}, 'darwin').GLIBC_TUNABLES).toBeUndefined();
    expect(withMallocTunables({}, 'win32').GLIBC_TUNABLES).toBeUndefined();
  });

  it("keeps the user's other tunables and never overrides one they set", () => {
    const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', X: '1' }, 'linux');
    expect(env.GLIBC_TUNABLES).toBe(
      [
        'glibc.malloc.arena_max=2',
        ...MALLOC_TUNABLES.filter((t) => !t.startsWith('glibc.malloc.arena_max=')),
      ].join(':'),
    );
    expect(env.GLIBC_TUNABLES).not.toContain('arena_max=1');
    expect(env.X).toBe('1');
    const own = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536' };
    expect(needsMallocTunables(own, 'linux')).toBe(false);
    expect(withMallocTunables(own, 'linux').GLIBC_TUNABLES).toBe(own.GLIBC_TUNABLES);
  });

  it('relaunches only a plain Linux process that lacks them', () => {
    expect(shouldRelaunch({}, 'linux', false)).toBe(true);
    expect(shouldRelaunch({}, 'linux', true)).toBe(false); // a parent with IPC sets the env
    expect(shouldRelaunch({}, 'darwin', false)).toBe(false);
    expect(shouldRelaunch({ ORCHARD_RELAUNCHED: '1' }, 'linux', false)).toBe(false);
    expect(shouldRelaunch(withMallocTunables({}, 'linux'), 'linux', false)).toBe(false);
  });
});
