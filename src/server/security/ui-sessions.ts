/**
 * Browser sign-in as Jupyter does it: the service prints a URL carrying a one-time token;
 * opening it trades the token for a session id kept in an HttpOnly, SameSite=Strict cookie.
 * The API key itself never reaches a page's script.
 */
import crypto from 'node:crypto';
import { keysEqual } from './api-key-check.js';

export const SESSION_COOKIE = 'orchard_session';

export interface UiSessionOptions {
  /** How long an unused sign-in token stays valid. */
  tokenTtlMs?: number;
  sessionTtlMs?: number;
  now?: () => number;
}

const MAX_PENDING_TOKENS = 16;
const MAX_SESSIONS = 1000;

export class UiSessions {
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Map<string, number>();
  private readonly tokenTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly now: () => number;

  constructor(options: UiSessionOptions = {}) {
    this.tokenTtlMs = options.tokenTtlMs ?? 24 * 3600_000;
    this.sessionTtlMs = options.sessionTtlMs ?? 30 * 24 * 3600_000;
    this.now = options.now ?? Date.now;
  }

  /** A fresh one-time sign-in token. */
  issueToken(): string {
    const token = crypto.randomBytes(24).toString('base64url');
    this.tokens.set(token, this.now() + this.tokenTtlMs);
    while (this.tokens.size > MAX_PENDING_TOKENS) {
      this.tokens.delete(this.tokens.keys().next().value as string);
    }
    return token;
  }

  /** Consumes a token; returns a new session id, or null when the token is unknown, used or old. */
  redeem(token: string): string | null {
    let found: string | null = null;
    // Compare against each pending token in constant time rather than a Map lookup by secret.
    for (const pending of this.tokens.keys()) if (keysEqual(token, pending)) found = pending;
    if (found === null) return null;
    const expires = this.tokens.get(found) as number;
    this.tokens.delete(found);
    if (expires < this.now()) return null;
    return this.newSession();
  }

  newSession(): string {
    const id = crypto.randomBytes(32).toString('base64url');
    this.sessions.set(id, this.now() + this.sessionTtlMs);
    while (this.sessions.size > MAX_SESSIONS) {
      this.sessions.delete(this.sessions.keys().next().value as string);
    }
    return id;
  }

  isValid(sessionId: string | undefined): boolean {
    if (!sessionId) return false;
    const expires = this.sessions.get(sessionId);
    if (expires === undefined) return false;
    if (expires < this.now()) {
      this.sessions.delete(sessionId);
      return false;
    }
    return true;
  }

  revokeAll(): void {
    this.sessions.clear();
    this.tokens.clear();
  }
}

export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}
