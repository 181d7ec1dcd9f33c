import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64, toBase64Url } from '../../lib/crypto/encoding.js';
import { importSealKey, seal, unseal } from '../../lib/crypto/seal.js';

const keyBase64 = (n = 32) => toBase64(crypto.getRandomValues(new Uint8Array(n)));

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('seal/unseal', () => {
  it('round-trips any text with its aad', async () => {
    const key = await importSealKey(keyBase64());
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ maxLength: 40 }), async (text, aad) => {
        fc.pre(!/\p{Cs}/u.test(text));
        const sealed = await seal(key, text, aad);
        expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
        expect(await unseal(key, sealed, aad)).toBe(text);
      }),
      { numRuns: 100 },
    );
  });

  it('uses a fresh 12-byte IV each time and hides the plaintext', async () => {
    const key = await importSealKey(keyBase64());
    const a = await seal(key, 'pgm_same_secret', 'root:1');
    const b = await seal(key, 'pgm_same_secret', 'root:1');
    expect(a).not.toBe(b);
    expect(fromBase64Url(a.split('.')[1]!).length).toBe(12);
    expect(a).not.toContain('same_secret');
    // ciphertext = plaintext bytes + 16-byte tag
    expect(fromBase64Url(a.split('.')[2]!).length).toBe('pgm_same_secret'.length + 16);
    expect(key.extractable).toBe(false);
  });

  it('refuses a wrong aad, a wrong key and any tampering', async () => {
    const key = await importSealKey(keyBase64());
    const other = await importSealKey(keyBase64());
    const sealed = await seal(key, 'root-password', 'root:db1');
    const [v, iv, ct] = sealed.split('.') as [string, string, string];
    const flip = (b64: string, at: number) => {
      const bytes = fromBase64Url(b64);
      bytes[at % bytes.length]! ^= 1;
      return toBase64Url(bytes);
    };
    const bad = [
      () => unseal(key, sealed, 'root:db2'),
      () => unseal(key, sealed, ''),
      () => unseal(other, sealed, 'root:db1'),
      () => unseal(key, `${v}.${flip(iv, 3)}.${ct}`, 'root:db1'),
      () => unseal(key, `${v}.${iv}.${flip(ct, 0)}`, 'root:db1'),
      () => unseal(key, `${v}.${iv}.${flip(ct, fromBase64Url(ct).length - 1)}`, 'root:db1'),
      () => unseal(key, `${v}.${iv}.${ct.slice(0, -4)}`, 'root:db1'),
      () => unseal(key, `v2.${iv}.${ct}`, 'root:db1'),
      () => unseal(key, `${v}.${iv}`, 'root:db1'),
      () => unseal(key, `${v}.${iv}.${ct}.x`, 'root:db1'),
      () => unseal(key, `${v}.${iv}==.${ct}`, 'root:db1'),
      () => unseal(key, `${v}.${iv.slice(2)}.${ct}`, 'root:db1'),
      () => unseal(key, '', 'root:db1'),
    ];
    for (const attempt of bad) expect(await rejects(attempt())).toBeInstanceOf(TypeError);
    expect(await unseal(key, sealed, 'root:db1')).toBe('root-password');
  });

  it.each([
    ['31 bytes', keyBase64(31)],
    ['33 bytes', keyBase64(33)],
    ['16 bytes', keyBase64(16)],
    ['empty', ''],
    ['not base64', '!'.repeat(44)],
    ['base64url alphabet', toBase64Url(new Uint8Array(32).fill(251))],
    ['hex', 'ab'.repeat(32)],
  ])('importSealKey rejects %s with a TypeError', async (_why, value) => {
    expect(await rejects(importSealKey(value))).toBeInstanceOf(TypeError);
  });

  it('importSealKey accepts base64 of 32 bytes, with surrounding whitespace from env files', async () => {
    const raw = keyBase64();
    const key = await importSealKey(` ${raw}\n`);
    const sealed = await seal(key, 'x', 'a');
    expect(await unseal(await importSealKey(raw), sealed, 'a')).toBe('x');
  });
});
