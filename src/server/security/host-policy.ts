/**
 * Host and Origin checks. A browser page on an attacker's domain can resolve that domain to
 * 127.0.0.1 (DNS rebinding) and then talk to us "same-origin"; the Host header it sends still
 * names the attacker's domain, so only names we know are accepted.
 */
import os from 'node:os';

export function isLoopbackHost(host: string): boolean {
  const h = stripBrackets(host.toLowerCase());
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export function isWildcardHost(host: string): boolean {
  const h = stripBrackets(host);
  return h === '0.0.0.0' || h === '::';
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The hostname part of a Host header value ("[::1]:8080" → "::1", "a.b:80" → "a.b"). */
export function hostnameOf(hostHeader: string): string {
  const v = hostHeader.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end < 0 ? v : v.slice(1, end);
  }
  const colon = v.indexOf(':');
  // More than one colon without brackets is not a valid Host value; keep it whole so it fails.
  if (colon >= 0 && v.indexOf(':', colon + 1) < 0) return v.slice(0, colon);
  return v;
}

export interface HostPolicyOptions {
  /** The address the server binds. */
  bindHost: string;
  /** The allowedHosts setting. */
  allowedHosts: readonly string[];
  /** The corsOrigins setting: full origins such as https://app.example.com. */
  corsOrigins: readonly string[];
}

export class HostPolicy {
  private readonly hosts = new Set<string>();
  private readonly origins: Set<string>;

  constructor(options: HostPolicyOptions) {
    for (const h of ['localhost', '127.0.0.1', '::1']) this.hosts.add(h);
    this.hosts.add(stripBrackets(options.bindHost.toLowerCase()));
    if (isWildcardHost(options.bindHost)) {
      // Bound to every interface: the machine's own addresses and name are legitimate too.
      for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list ?? []) this.hosts.add(a.address.toLowerCase().replace(/%.*$/, ''));
      }
      this.hosts.add(os.hostname().toLowerCase());
    }
    for (const h of options.allowedHosts) this.hosts.add(hostnameOf(h));
    this.origins = new Set(options.corsOrigins.map(normalizeOrigin));
  }

  hostAllowed(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    return this.hosts.has(hostnameOf(hostHeader));
  }

  /** A cross-origin caller explicitly listed in corsOrigins. */
  corsAllowed(origin: string): boolean {
    return this.origins.has(normalizeOrigin(origin));
  }

  /**
   * An Origin header is acceptable when it is the page we serve ourselves (same scheme-less
   * host:port as the Host header) or a listed CORS origin.
   */
  originAllowed(origin: string, hostHeader: string | undefined): boolean {
    if (this.corsAllowed(origin)) return true;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return hostHeader !== undefined && url.host === hostHeader.trim().toLowerCase();
  }
}

export function normalizeOrigin(origin: string): string {
  const trimmed = origin.trim().replace(/\/+$/, '');
  try {
    const url = new URL(trimmed);
    return `${url.protocol}//${url.host}`;
  } catch {
    return trimmed.toLowerCase();
  }
}
