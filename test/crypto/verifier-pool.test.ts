import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../lib/crypto/encoding.js';
import { PASSWORD_PATTERN } from '../../lib/crypto/password.js';
import { scramKeys } from '../../lib/crypto/scram.js';
import { createVerifierPool } from '../../lib/crypto/verifier-pool.js';

const VERIFIER = /^SCRAM-SHA-256\$4096:([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/;

async function verifies(password: string, verifier: string): Promise<boolean> {
  const [, salt, stored, server] = VERIFIER.exec(verifier) ?? [];
  if (!salt) return false;
  const keys = await scramKeys(password, fromBase64(salt), 4096);
  return toBase64(keys.storedKey) === stored && toBase64(keys.serverKey) === server;
}

describe('createVerifierPool()', () => {
  it('hands out each pair once, every verifier belonging to its own password', async () => {
    const pool = createVerifierPool({ size: 2 });
    const pairs = [];
    for (let i = 0; i < 6; i++) pairs.push(await pool.take());
    expect(new Set(pairs.map((p) => p.password)).size).toBe(6);
    expect(new Set(pairs.map((p) => p.verifier)).size).toBe(6);
    for (const p of pairs) {
      expect(p.password).toMatch(PASSWORD_PATTERN);
      expect(await verifies(p.password, p.verifier)).toBe(true);
    }
    expect(await verifies(pairs[0]!.password, pairs[1]!.verifier)).toBe(false);
  });

  it('refills up to its size after a take and never beyond', async () => {
    const pool = createVerifierPool({ size: 3 });
    expect(pool.ready).toBe(0);
    await pool.take();
    await expect.poll(() => pool.ready, { timeout: 5000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.ready).toBe(3);
  });

  it('with size 0 computes every pair on the spot', async () => {
    const pool = createVerifierPool({ size: 0 });
    const p = await pool.take();
    expect(await verifies(p.password, p.verifier)).toBe(true);
    expect(pool.ready).toBe(0);
    expect(() => createVerifierPool({ size: -1 })).toThrow(TypeError);
  });
});
