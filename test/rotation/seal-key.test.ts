/**
 * PGMINT_SECRET_KEY: a missing or malformed key stops start-up with a
 * ConfigError naming the variable; there is no plaintext fallback.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSealKey, readConfig } from '../../lib/config.js';
import { seal, unseal } from '../../lib/crypto/seal.js';
import { nodeDeps } from '../../functions/runtime/node.js';

const url = 'postgresql://nobody:nothing@127.0.0.1:1/none';

describe('the sealing key at start-up', () => {
  it('is required', () => {
    expect(() => readConfig({ PGMINT_DATABASE_URL: url })).toThrow(ConfigError);
    expect(() => readConfig({ PGMINT_DATABASE_URL: url })).toThrow(/PGMINT_SECRET_KEY/);
  });

  it.each([
    ['not base64', 'this is not base64 at all!'],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['empty', ''],
  ])('refuses a key that is %s', async (_why, key) => {
    const config = readConfig({ PGMINT_DATABASE_URL: url, PGMINT_SECRET_KEY: key });
    await expect(loadSealKey(config)).rejects.toThrow(ConfigError);
    await expect(loadSealKey(config)).rejects.toThrow(/PGMINT_SECRET_KEY/);
    // The whole start-up fails before any connection is attempted.
    await expect(nodeDeps({ PGMINT_DATABASE_URL: url, PGMINT_SECRET_KEY: key })).rejects.toBeInstanceOf(ConfigError);
  });

  it('accepts base64 of 32 bytes, and sealed values open only with that key and that database id', async () => {
    const key = await loadSealKey(readConfig({ PGMINT_DATABASE_URL: url, PGMINT_SECRET_KEY: randomBytes(32).toString('base64') }));
    const other = await loadSealKey(readConfig({ PGMINT_DATABASE_URL: url, PGMINT_SECRET_KEY: randomBytes(32).toString('base64') }));
    const sealed = await seal(key, 'pgm_secret', 'pgmint:database:orders');
    expect(sealed).not.toContain('pgm_secret');
    expect(await unseal(key, sealed, 'pgmint:database:orders')).toBe('pgm_secret');
    await expect(unseal(key, sealed, 'pgmint:database:billing')).rejects.toBeInstanceOf(TypeError);
    await expect(unseal(other, sealed, 'pgmint:database:orders')).rejects.toBeInstanceOf(TypeError);
  });
});
