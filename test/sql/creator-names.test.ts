import { describe, expect, it } from 'vitest';
import { creatorIndex, creatorName } from '../../lib/sql/creator-names.js';
import { leaseRoleName } from '../../lib/sql/lease-name.js';

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe('creator role names', () => {
  it('are <broker>_c<k> when that fits', () => {
    expect(creatorName('pgmint_broker', 7)).toBe('pgmint_broker_c7');
  });

  it('stay within 63 bytes and apart for long broker names that share a prefix', () => {
    const a = `${'b'.repeat(60)}_orders`;
    const b = `${'b'.repeat(60)}_billing`;
    for (const i of [0, 999, 4095]) {
      expect(bytes(creatorName(a, i))).toBeLessThanOrEqual(63);
      expect(creatorName(a, i)).not.toBe(creatorName(b, i));
    }
    expect(bytes(creatorName('ü'.repeat(31), 12))).toBeLessThanOrEqual(63);
  });
});

describe('creatorIndex', () => {
  it('spreads lease names evenly over the creators', () => {
    const count = 16;
    const seen = new Array(count).fill(0);
    for (let i = 0; i < 16_000; i++) seen[creatorIndex(leaseRoleName({ namespace: 'prod', serviceAccount: 'api' }), count)]++;
    // 1,000 expected per creator; a fair hash stays well within ±20 %.
    for (const n of seen) expect(n).toBeGreaterThan(800);
    for (const n of seen) expect(n).toBeLessThan(1200);
  });

  it('is fixed by the name', () => {
    expect(creatorIndex('pgm_prod_api_k3v9q2x7ab', 1000)).toBe(creatorIndex('pgm_prod_api_k3v9q2x7ab', 1000));
  });
});
