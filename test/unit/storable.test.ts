import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findUnstorable, instantProblem, textProblem } from '../../lib/db/storable.js';

/** Any UTF-16 code unit, with NUL and surrogate halves often. */
const codeUnit = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\u0000', '\uD83D', '\uDE00', 'a'),
);

/** An independent reference: encodeURIComponent refuses exactly the lone surrogates. */
function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

describe('storable values', () => {
  it('refuses exactly the text Postgres cannot store: NUL and lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit, maxLength: 40 }), (s) => {
        const storable = !s.includes('\u0000') && wellFormed(s);
        return (textProblem(s) === null) === storable;
      }),
      { numRuns: 5000 },
    );
    expect(textProblem('😀 pair')).toBeNull();
    expect(textProblem('\uD83D')).toMatch(/surrogate/);
    expect(textProblem('x\u0000')).toMatch(/NUL/);
  });

  it('names the path of the first unstorable value, keys included', () => {
    expect(findUnstorable({ a: ['ok', { b: 'x\u0000' }] })).toEqual({ path: 'a.1.b', reason: 'must not contain NUL' });
    expect(findUnstorable({ ok: { 'k\uDC00': 1 } })?.path).toBe('ok.k\uFFFD');
    expect(findUnstorable({ a: 1, b: [true, null, 'fine'] })).toBeNull();
    expect(findUnstorable(Number.POSITIVE_INFINITY)?.reason).toMatch(/finite/);
  });

  it('keeps times within the years 1 to 9999', () => {
    expect(instantProblem(Date.parse('2026-01-01T00:00:00Z'))).toBeNull();
    expect(instantProblem(Date.parse('0000-12-31T23:59:59Z'))).not.toBeNull();
    expect(instantProblem(Date.parse('9999-12-31T23:59:59-05:00'))).not.toBeNull();
    expect(instantProblem(Number.NaN)).not.toBeNull();
  });
});
