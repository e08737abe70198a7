import { describe, expect, it } from 'vitest';
import {
  HostPolicy,
  hostnameOf,
  isLoopbackHost,
} from '../../../../src/server/security/host-policy.js';

describe('host policy', () => {
  const policy = new HostPolicy({
    bindHost: '127.0.0.1',
    allowedHosts: ['orchard.lan'],
    corsOrigins: ['https://app.example.com/'],
  });

  it('parses Host header names', () => {
    expect(hostnameOf('localhost:8080')).toBe('localhost');
    expect(hostnameOf('[::1]:8080')).toBe('::1');
    expect(hostnameOf('Example.COM')).toBe('example.com');
  });

  it('accepts loopback names, the bound address and allowedHosts', () => {
    for (const h of ['localhost:11435', '127.0.0.1:1', '[::1]:2', 'orchard.lan:80', 'LOCALHOST']) {
      expect(policy.hostAllowed(h)).toBe(true);
    }
  });

  it('refuses other names (DNS rebinding) and a missing Host', () => {
    for (const h of ['evil.example:11435', 'localhost.evil.example', '10.0.0.5', '', undefined]) {
      expect(policy.hostAllowed(h)).toBe(false);
    }
  });

  it('accepts same-origin pages and listed CORS origins only', () => {
    expect(policy.originAllowed('http://127.0.0.1:11435', '127.0.0.1:11435')).toBe(true);
    expect(policy.originAllowed('https://app.example.com', 'localhost:11435')).toBe(true);
    expect(policy.corsAllowed('https://app.example.com')).toBe(true);
    expect(policy.originAllowed('https://evil.example', 'localhost:11435')).toBe(false);
    expect(policy.originAllowed('http://127.0.0.1:9999', '127.0.0.1:11435')).toBe(false);
    expect(policy.originAllowed('null', '127.0.0.1:11435')).toBe(false);
  });

  it('knows loopback addresses', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.3.2.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('192.168.1.4')).toBe(false);
  });
});
