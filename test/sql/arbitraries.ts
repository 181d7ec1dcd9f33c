/**
 * fast-check arbitraries for hostile strings: quotes, backslashes, dollar
 * quotes, comment openers, statement separators, control characters and
 * multi-byte Unicode, mixed with random code points.
 */
import fc from 'fast-check';

const FRAGMENTS = [
  '"',
  "'",
  '""',
  "''",
  '\\',
  "\\'",
  '\\"',
  '$$',
  '$a$',
  ';',
  '--',
  '/*',
  '*/',
  ' ',
  '\n',
  '\r',
  '\t',
  "E'",
  'U&',
  '{{name}}',
  '{{password}}',
  '}}',
  'x"; CREATE ROLE evil; --',
  "'); DROP ROLE x; --",
  'é',
  'ß',
  '😀',
  '\u202e',
  '\u00a0',
  '\u0301',
  'ﬁ',
  '\u0001',
  '\u007f',
  'pg_',
  'public',
  'Ω',
];

const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);

const LONE_SURROGATE = /\p{Cs}/u;
const encoder = new TextEncoder();

export function byteLength(s: string): number {
  return encoder.encode(s).length;
}

/** Cuts a string to at most `max` UTF-8 bytes on a code point boundary. */
export function truncateBytes(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const cp of s) {
    const n = byteLength(cp);
    if (bytes + n > max) break;
    out += cp;
    bytes += n;
  }
  return out;
}

/** Any string Postgres can hold (no NUL, no lone surrogate), up to `maxBytes`. */
export function hostileString(maxBytes: number, minLength = 0): fc.Arbitrary<string> {
  return fc
    .array(piece, { maxLength: 16 })
    .map((parts) => truncateBytes(parts.join('').replace(/\0/g, ''), maxBytes))
    .filter((s) => s.length >= minLength && !LONE_SURROGATE.test(s));
}

/** Role names Postgres accepts in CREATE ROLE: non-empty, ≤ 63 bytes, not reserved. */
export function hostileRoleName(exclude: string[] = []): fc.Arbitrary<string> {
  return hostileString(63, 1).filter((s) => !s.startsWith('pg_') && s !== 'public' && s !== 'none' && !exclude.includes(s));
}
