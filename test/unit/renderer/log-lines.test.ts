/** The log view's merge of fetched and live lines, and the service's line numbers. */
import { describe, expect, it } from 'vitest';
import { mergeLines } from '../../../renderer/src/features/logs/merge-lines.js';
import { LogBuffer } from '../../../src/service/log-buffer.js';
import type { LogLine } from '../../../src/shared/admin-api.js';

const line = (seq: number, time: number, msg = `m${seq}`): LogLine => ({
  seq,
  time,
  level: 'info',
  msg,
});

describe('log lines', () => {
  it('the buffer numbers every line, also several in one millisecond', () => {
    const buffer = new LogBuffer(10);
    for (let i = 0; i < 3; i++) buffer.push({ time: 1000, level: 'info', msg: `x${i}` });
    expect(buffer.recent().map((l) => l.seq)).toEqual([1, 2, 3]);
  });

  it('keeps live lines written in the same millisecond as the last fetched one', () => {
    const fetched = [line(1, 1000), line(2, 1005)];
    const live = [line(2, 1005), line(3, 1005), line(4, 1009)];
    expect(mergeLines(fetched, live).map((l) => l.seq)).toEqual([1, 2, 3, 4]);
  });

  it('keeps the lines of a restarted service, whose numbers start over', () => {
    const fetched = [line(40, 1000), line(41, 2000)];
    const live = [line(1, 5000, 'starting'), line(2, 5001)];
    expect(mergeLines(fetched, live).map((l) => l.msg)).toEqual(['m40', 'm41', 'starting', 'm2']);
  });
});
