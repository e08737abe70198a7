import { describe, expect, it } from 'vitest';
import { intraOpThreads, sessionOptions } from '../../../src/engine/onnx-session.js';

type Extra = { session: { intra_op: { allow_spinning: string }; force_spinning_stop?: string } };

describe('ONNX Runtime session options', () => {
  it('a plain session never spins', () => {
    const o = sessionOptions('cpu', 1);
    const extra = o.extra as Extra;
    expect(extra.session.intra_op.allow_spinning).toBe('0');
    expect(extra.session.force_spinning_stop).toBeUndefined();
    expect(o.intraOpNumThreads).toBe(1);
  });

  it('a wide session spins within a run and stops when the run ends', () => {
    const extra = sessionOptions('cpu', 2, true).extra as Extra;
    expect(extra.session.intra_op.allow_spinning).toBe('1');
    expect(extra.session.force_spinning_stop).toBe('1');
  });

  it('0 threads means every core, asked for explicitly', () => {
    expect(intraOpThreads(0, 8)).toBe(8);
    expect(intraOpThreads(3, 8)).toBe(3);
    expect(sessionOptions('cpu', 0).intraOpNumThreads).toBeGreaterThanOrEqual(1);
  });
});
