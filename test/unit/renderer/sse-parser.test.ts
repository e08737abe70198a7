import { describe, expect, it } from 'vitest';
import { SseParser } from '../../../renderer/src/api/sse-parser.js';

describe('SseParser', () => {
  it('parses events with names, multi-line data and comments', () => {
    const p = new SseParser();
    const out = p.feed(
      ': keepalive\nevent: stats\ndata: {"a":1}\n\ndata: line1\ndata: line2\nid: 7\n\n',
    );
    expect(out).toEqual([
      { event: 'stats', data: '{"a":1}' },
      { event: 'message', data: 'line1\nline2', id: '7' },
    ]);
  });

  it('joins events split across chunks at any byte, including CR LF pairs', () => {
    const text = 'data: {"choices":[{"delta":{"content":"hé"}}]}\r\n\r\ndata: [DONE]\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = [...p.feed(text.slice(0, cut)), ...p.feed(text.slice(cut)), ...p.end()];
      expect(out.map((e) => e.data)).toEqual([
        '{"choices":[{"delta":{"content":"hé"}}]}',
        '[DONE]',
      ]);
    }
  });

  it('keeps a CR LF pair split by an empty chunk as one line end', () => {
    const p = new SseParser();
    const out = [...p.feed('data: a\r'), ...p.feed(''), ...p.feed('\ndata: b\r\n\r\n'), ...p.end()];
    expect(out).toEqual([{ event: 'message', data: 'a\nb' }]);
  });

  it('delivers a final event without its blank line at end of stream', () => {
    const p = new SseParser();
    expect(p.feed('data: last')).toEqual([]);
    expect(p.end()).toEqual([{ event: 'message', data: 'last' }]);
  });

  it('ignores events without data and keeps one leading space rule', () => {
    const p = new SseParser();
    expect(p.feed('event: ping\n\ndata:  two spaces\n\n')).toEqual([
      { event: 'message', data: ' two spaces' },
    ]);
  });
});
