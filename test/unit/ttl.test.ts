import { describe, expect, it } from 'vitest';
import { refreshAt } from '../../lib/leases/credentials.js';
import { MIN_TTL_SEC, resolveTtl, secondsAfter } from '../../lib/leases/ttl.js';

const limits = { defaultTtl: 3600, maxTtl: 8 * 3600 };

describe('lease lifetimes at the edges', () => {
  it('refuses a ttl under the minimum, naming ttl, and accepts the minimum itself', () => {
    for (const ttl of ['0', '1', '29', '29s', '0m']) {
      expect(() => resolveTtl(ttl, limits)).toThrow(
        expect.objectContaining({ code: 'invalid_request', details: expect.objectContaining({ field: 'ttl', min_ttl: MIN_TTL_SEC }) }),
      );
    }
    expect(resolveTtl('30', limits)).toBe(30);
    expect(resolveTtl('30s', limits)).toBe(30);
  });

  it('rounds VALID UNTIL up to the whole second, so a lease never lives less than asked', () => {
    expect(secondsAfter(new Date('2026-04-12T16:00:00.999Z'), 30).toISOString()).toBe('2026-04-12T16:00:31.000Z');
    expect(secondsAfter(new Date('2026-04-12T16:00:00.001Z'), 30).toISOString()).toBe('2026-04-12T16:00:31.000Z');
    expect(secondsAfter(new Date('2026-04-12T16:00:00.000Z'), 30).toISOString()).toBe('2026-04-12T16:00:30.000Z');
  });

  it('refreshes with min(10 min, a third of the lifetime) left, never before half of it', () => {
    const issued = new Date('2026-04-12T16:00:00.000Z');
    const left = (ttlSec: number) => {
      const expires = secondsAfter(issued, ttlSec);
      const at = refreshAt(issued, expires);
      expect(at.getTime() - issued.getTime()).toBeGreaterThanOrEqual((ttlSec * 1000) / 2);
      expect(at.getMilliseconds()).toBe(0);
      return (expires.getTime() - at.getTime()) / 1000;
    };
    expect(left(30)).toBe(10);
    expect(left(90)).toBe(30);
    expect(left(900)).toBe(300);
    expect(left(1800)).toBe(600);
    expect(left(3600)).toBe(600);
    expect(left(8 * 3600)).toBe(600);
    // The seed's example: an hour's lease expiring at 16:30 refreshes at 16:20.
    expect(refreshAt(new Date('2026-04-12T15:30:00Z'), new Date('2026-04-12T16:30:00Z')).toISOString()).toBe('2026-04-12T16:20:00.000Z');
    // Issued mid-second: still whole seconds, still at least half the lifetime in.
    const odd = new Date('2026-04-12T16:00:00.700Z');
    const at = refreshAt(odd, secondsAfter(odd, 31));
    expect(at.getTime() - odd.getTime()).toBeGreaterThanOrEqual(15_500);
  });
});
