import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { edgeConfig, stringBindings } from '../../functions/runtime/edge.js';
import { isLoopbackProxy } from '../../lib/db/neon.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

describe('edge settings from the Worker env binding', () => {
  it('always uses the neon driver and refuses pg, which needs TCP sockets', () => {
    expect(edgeConfig({ PGMINT_SECRET_KEY: KEY }).driver).toBe('neon');
    expect(edgeConfig({ PGMINT_SECRET_KEY: KEY, PGMINT_DRIVER: 'neon' }).driver).toBe('neon');
    expect(() => edgeConfig({ PGMINT_SECRET_KEY: KEY, PGMINT_DRIVER: 'pg' })).toThrow(ConfigError);
  });

  it('reads string bindings only; KV namespaces and other objects are not settings', () => {
    const kv = { get: () => null };
    expect(stringBindings({ PGMINT_AUDIENCE: 'db', CACHE: kv, N: 3 })).toEqual({ PGMINT_AUDIENCE: 'db' });
    expect(edgeConfig({ PGMINT_SECRET_KEY: KEY, PGMINT_AUDIENCE: 'db', CACHE: kv }).audience).toBe('db');
  });

  it('still requires the secret key', () => {
    expect(() => edgeConfig({})).toThrow(ConfigError);
  });

  it('speaks plain ws:// only to a proxy on loopback', () => {
    expect(isLoopbackProxy('127.0.0.1:6543/v1')).toBe(true);
    expect(isLoopbackProxy('localhost:6543/v1')).toBe(true);
    expect(isLoopbackProxy('[::1]:6543/v1')).toBe(true);
    expect(isLoopbackProxy('wsproxy.example.com/v1')).toBe(false);
    expect(isLoopbackProxy('localhost.example.com/v1')).toBe(false);
    expect(isLoopbackProxy('127.example.com/v1')).toBe(false);
    expect(isLoopbackProxy('127.0.0.1.example.com/v1')).toBe(false);
  });
});
