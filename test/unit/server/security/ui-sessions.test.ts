import { describe, expect, it } from 'vitest';
import {
  bearerToken,
  keysEqual,
  parseCookies,
} from '../../../../src/server/security/api-key-check.js';
import { UiSessions, sessionCookie } from '../../../../src/server/security/ui-sessions.js';

describe('UI sessions', () => {
  it('trades a token for a session exactly once', () => {
    const s = new UiSessions();
    const token = s.issueToken();
    const session = s.redeem(token);
    expect(session).not.toBeNull();
    expect(s.isValid(session!)).toBe(true);
    expect(s.redeem(token)).toBeNull();
    expect(s.redeem('made-up')).toBeNull();
    expect(s.isValid('made-up')).toBe(false);
  });

  it('expires tokens and sessions (fake clock)', () => {
    let now = 1_000;
    const s = new UiSessions({ tokenTtlMs: 100, sessionTtlMs: 1000, now: () => now });
    const old = s.issueToken();
    const fresh = s.issueToken();
    now += 101;
    expect(s.redeem(old)).toBeNull();
    const t2 = s.issueToken();
    const session = s.redeem(t2)!;
    now += 1001;
    expect(s.isValid(session)).toBe(false);
    expect(fresh).not.toBe(old);
  });

  it('makes an HttpOnly, SameSite=Strict cookie', () => {
    const c = sessionCookie('abc', 60);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain('Path=/');
  });
});

describe('key checks', () => {
  it('compares keys', () => {
    expect(keysEqual('a-key', 'a-key')).toBe(true);
    expect(keysEqual('a-key', 'a-kez')).toBe(false);
    expect(keysEqual('short', 'a much longer key')).toBe(false);
  });

  it('reads Bearer tokens and cookies', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken(undefined)).toBeNull();
    expect(parseCookies('a=1; orchard_session=xyz; b=2').get('orchard_session')).toBe('xyz');
  });
});
