import { describe, expect, it } from 'vitest';
import { fromBase64Url } from '../../lib/crypto/encoding.js';
import { generatePassword, PASSWORD_PATTERN } from '../../lib/crypto/password.js';
import { redactSecrets, sanitizeDatabaseError } from '../../lib/db/sanitize.js';
import { leaseRoleName, randomSuffix } from '../../lib/sql/lease-name.js';

describe('generatePassword()', () => {
  it('is pgm- + 32 base64url characters carrying 24 random bytes', () => {
    const p = generatePassword();
    expect(p).toMatch(/^pgm-[A-Za-z0-9_-]{32}$/);
    expect(fromBase64Url(p.slice(4)).length).toBe(24);
  });

  it('is what a secret scanner pattern finds in surrounding text', () => {
    const p = generatePassword();
    expect(`password=${p}&x=1`.match(PASSWORD_PATTERN)?.[0]).toBe(p);
    expect(/pgm-[A-Za-z0-9_-]{32}/.exec(`"${p}"`)?.[0]).toBe(p);
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

describe('the sanitizer and lease names', () => {
  it('keeps lease user names readable and still redacts the password next to them', () => {
    const user = leaseRoleName({ prefix: 'pgm', namespace: 'payments', serviceAccount: 'ledger-writer', random: randomSuffix(10) });
    expect(user).toMatch(/^pgm_payments_ledger_writer_[a-z0-9]{10}$/);
    const password = generatePassword();
    const err = sanitizeDatabaseError({ message: `role "${user}" is not permitted to log in (password ${password})`, code: '28000' });
    expect(err.message).toBe(`role "${user}" is not permitted to log in (password [redacted])`);
    const uri = redactSecrets(`postgresql://${user}:${encodeURIComponent(password)}@db:5432/x`);
    expect(uri).toContain(user);
    expect(uri).not.toContain(password);
  });

  it('no lease user name can match the password pattern, whatever the workload is called', () => {
    for (let i = 0; i < 200; i++) {
      const ns = `ns-${'x'.repeat(i % 40)}-${i}`;
      const user = leaseRoleName({ prefix: 'pgm', namespace: ns, serviceAccount: `sa_${'y'.repeat(i % 50)}`, random: randomSuffix(10) });
      expect(redactSecrets(user)).toBe(user);
      expect(PASSWORD_PATTERN.test(user)).toBe(false);
    }
  });
});
