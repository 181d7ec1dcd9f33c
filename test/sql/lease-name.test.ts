import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLeasePrefix, leaseRoleName, randomSuffix } from '../../lib/sql/lease-name.js';

describe('leaseRoleName()', () => {
  it('builds pgm_<ns>_<sa>_<random>', () => {
    expect(leaseRoleName({ namespace: 'prod', serviceAccount: 'api', random: 'k3v9q2ab' })).toBe('pgm_prod_api_k3v9q2ab');
    expect(leaseRoleName({ namespace: 'Team.A--x', serviceAccount: 'my.SA', random: 'abcdefgh' })).toBe('pgm_team_a_x_my_sa_abcdefgh');
    expect(leaseRoleName({ prefix: 'lease', namespace: 'ß', serviceAccount: '', random: 'abcdefgh' })).toBe('lease_abcdefgh');
  });

  it('rejects bad prefixes and short suffixes as configuration errors', () => {
    for (const prefix of ['pg', 'PGM', '1x', 'a_b', '', 'x'.repeat(17)]) {
      expect(checkLeasePrefix(prefix)).toEqual(expect.any(String));
      expect(() => leaseRoleName({ prefix, namespace: 'a', serviceAccount: 'b', random: 'abcdefgh' })).toThrow(TypeError);
    }
    expect(() => leaseRoleName({ namespace: 'a', serviceAccount: 'b', random: 'abc' })).toThrow(TypeError);
    expect(() => randomSuffix(7)).toThrow(TypeError);
  });

  it('randomSuffix gives lowercase base32 of the asked length', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const r = randomSuffix();
      expect(r).toMatch(/^[a-z2-7]{10}$/);
      seen.add(r);
    }
    expect(seen.size).toBe(200);
    expect(randomSuffix(16)).toMatch(/^[a-z2-7]{16}$/);
  });

  it('is always ≤ 63 bytes of [a-z0-9_], keeps the suffix whole and starts with the prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 100 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.constantFrom('pgm', 'p', 'lease', 'abcdefghijklmnop'),
        fc.integer({ min: 8, max: 32 }),
        (namespace, serviceAccount, prefix, len) => {
          const random = randomSuffix(len);
          const name = leaseRoleName({ prefix, namespace, serviceAccount, random });
          expect(new TextEncoder().encode(name).length).toBeLessThanOrEqual(63);
          expect(name).toMatch(/^[a-z0-9_]+$/);
          expect(name).not.toMatch(/__|_$/);
          expect(name.startsWith(`${prefix}_`)).toBe(true);
          expect(name.endsWith(`_${random}`)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('shares the room fairly when both parts are long', () => {
    const name = leaseRoleName({ namespace: 'n'.repeat(80), serviceAccount: 's'.repeat(80), random: 'abcdefghij' });
    expect(name).toBe(`pgm_${'n'.repeat(23)}_${'s'.repeat(24)}_abcdefghij`);
    expect(name.length).toBe(63);
    const short = leaseRoleName({ namespace: 'prod', serviceAccount: 's'.repeat(80), random: 'abcdefghij' });
    expect(short).toBe(`pgm_prod_${'s'.repeat(43)}_abcdefghij`);
  });
});
