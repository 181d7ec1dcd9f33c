import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from '../../lib/crypto/encoding.js';

describe('base64 helpers', () => {
  it('agree with Node’s Buffer and round-trip any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const b64 = toBase64(bytes);
        const url = toBase64Url(bytes);
        expect(b64).toBe(Buffer.from(bytes).toString('base64'));
        expect(url).toBe(Buffer.from(bytes).toString('base64url'));
        expect(fromBase64(b64)).toEqual(new Uint8Array(bytes));
        expect(fromBase64Url(url)).toEqual(new Uint8Array(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('handles inputs larger than one String.fromCharCode chunk', () => {
    const big = new Uint8Array(100_000).map((_, i) => i * 7);
    expect(toBase64(big)).toBe(Buffer.from(big).toString('base64'));
  });

  it.each(['abc', 'ab=c', 'YQ', 'YQ=', '****', ' YWJj', 'YWJj\n', 'YW-j'])('fromBase64 rejects %j', (bad) => {
    expect(() => fromBase64(bad)).toThrow(TypeError);
  });

  it.each(['YQ==', 'a', 'YR', 'Y+', 'Y/', 'ab!c'])('fromBase64Url rejects %j', (bad) => {
    // 'YR' decodes to 'a' with non-zero trailing bits: not the canonical 'YQ'.
    expect(() => fromBase64Url(bad)).toThrow(TypeError);
  });
});
