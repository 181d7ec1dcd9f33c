/**
 * The only way a value enters DDL. CREATE/ALTER ROLE take no bind parameters,
 * so names go through `ident()` and values through `literal()`; everything
 * else uses `$n` parameters.
 *
 * Both assume the connection's client_encoding is UTF8 (what `pg` and
 * `@neondatabase/serverless` always set). `literal()` is correct whatever
 * `standard_conforming_strings` is.
 *
 * @example
 *   `ALTER ROLE ${ident('app "rw"')} VALID UNTIL ${literal('2026-04-12T16:30:00Z')}`
 *   // ALTER ROLE "app ""rw""" VALID UNTIL '2026-04-12T16:30:00Z'
 */
import { PgmintError } from '../errors.js';

/** Postgres's NAMEDATALEN - 1: longer names are silently truncated, so pgmint refuses them. */
export const MAX_IDENTIFIER_BYTES = 63;

const encoder = new TextEncoder();
// With the `u` flag a valid surrogate pair is one code point, so this only
// matches lone surrogates, which UTF-8 cannot carry (they would become U+FFFD).
const LONE_SURROGATE = /\p{Cs}/u;

/** Byte length of a string in UTF-8. */
export function utf8Length(value: string): number {
  return encoder.encode(value).length;
}

/** A double-quoted identifier: `"` doubled; empty, NUL, lone surrogates and > 63 bytes rejected. */
export function ident(name: string): string {
  if (typeof name !== 'string') throw new TypeError('ident() needs a string');
  if (name.length === 0) throw new PgmintError('invalid_request', 'name must not be empty');
  if (name.includes('\0')) throw new PgmintError('invalid_request', 'name must not contain NUL');
  if (LONE_SURROGATE.test(name)) throw new PgmintError('invalid_request', 'name must be valid Unicode');
  if (utf8Length(name) > MAX_IDENTIFIER_BYTES) {
    throw new PgmintError('invalid_request', `name is longer than ${MAX_IDENTIFIER_BYTES} bytes`, {
      details: { max_bytes: MAX_IDENTIFIER_BYTES },
    });
  }
  return `"${name.replace(/"/g, '""')}"`;
}

/** A schema-qualified name, e.g. `qualified('app', 'users')` → `"app"."users"`. */
export function qualified(...parts: string[]): string {
  if (parts.length === 0) throw new TypeError('qualified() needs at least one part');
  return parts.map(ident).join('.');
}

/**
 * A string literal: `'` doubled; when the value holds a backslash, the
 * ` E'…'` form with backslashes doubled (as node-postgres `escapeLiteral`),
 * which reads the same with standard_conforming_strings on or off. The
 * message of a rejection never contains the value: it may be a secret.
 */
export function literal(value: string): string {
  if (typeof value !== 'string') throw new TypeError('literal() needs a string');
  if (value.includes('\0')) throw new PgmintError('invalid_request', 'value must not contain NUL');
  if (LONE_SURROGATE.test(value)) throw new PgmintError('invalid_request', 'value must be valid Unicode');
  const quoted = `'${value.replace(/'/g, "''")}'`;
  return value.includes('\\') ? ` E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}
