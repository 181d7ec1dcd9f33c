import { describe, expect, it } from 'vitest';
import { fromBase64Url } from '../../lib/crypto/encoding.js';
import { generatePassword, PASSWORD_PATTERN } from '../../lib/crypto/password.js';

describe('generatePassword()', () => {
  it('is pgm_ + 32 base64url characters carrying 24 random bytes', () => {
    const p = generatePassword();
    expect(p).toMatch(/^pgm_[A-Za-z0-9_-]{32}$/);
    expect(fromBase64Url(p.slice(4)).length).toBe(24);
  });

  it('is what a secret scanner pattern finds in surrounding text', () => {
    const p = generatePassword();
    expect(`password=${p}&x=1`.match(PASSWORD_PATTERN)?.[0]).toBe(p);
    expect(/pgm_[A-Za-z0-9_-]{32}/.exec(`"${p}"`)?.[0]).toBe(p);
  });

  it('does not repeat and uses the whole alphabet', () => {
    const seen = new Set<string>();
    const chars = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const p = generatePassword();
      seen.add(p);
      for (const ch of p.slice(4)) chars.add(ch);
    }
    expect(seen.size).toBe(2000);
    expect(chars.size).toBe(64);
  });
});
