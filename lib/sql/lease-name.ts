/**
 * Lease role names: `<prefix>_<namespace>_<serviceAccount>_<random>`, at most
 * 63 bytes of [a-z0-9_], and the check of a database's lease prefix.
 *
 * @example
 *   leaseRoleName({ namespace: 'prod', serviceAccount: 'api', random: randomSuffix() }); // 'pgm_prod_api_k3v9q2x7ab'
 */
import { MAX_IDENTIFIER_BYTES } from './quote.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const MIN_SUFFIX_LENGTH = 8;

/** `len` random lowercase base32 characters (5 bits each; the default 10 gives 50 bits). */
export function randomSuffix(len = 10): string {
  if (!Number.isSafeInteger(len) || len < MIN_SUFFIX_LENGTH || len > 32) {
    throw new TypeError(`random suffix length must be ${MIN_SUFFIX_LENGTH}..32`);
  }
  let out = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(len))) out += BASE32[byte & 31];
  return out;
}

const PREFIX = /^[a-z][a-z0-9]{0,15}$/;

/** Why a lease prefix is unusable, or null. Checked at start-up and registration. */
export function checkLeasePrefix(prefix: string): string | null {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) return 'lease prefix must be 1-16 of [a-z0-9], starting with a letter';
  if (prefix === 'pg') return 'lease prefix "pg" would give reserved pg_ role names';
  return null;
}

function fold(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function cut(part: string, max: number): string {
  return part.slice(0, Math.max(0, max)).replace(/_+$/, '');
}

/**
 * `<prefix>_<namespace>_<serviceAccount>_<random>`: lowercase, anything
 * outside [a-z0-9] folded to one `_`, at most 63 bytes. The namespace and
 * service account are shortened as needed (fairly, longest first); the random
 * suffix (≥ 8 lowercase base32/base36 characters) is always kept whole.
 */
export function leaseRoleName(opts: { prefix?: string; namespace: string; serviceAccount: string; random?: string }): string {
  const prefix = opts.prefix ?? 'pgm';
  const problem = checkLeasePrefix(prefix);
  if (problem) throw new TypeError(problem);
  const random = opts.random ?? randomSuffix();
  if (typeof random !== 'string' || !/^[a-z0-9]{8,32}$/.test(random)) {
    throw new TypeError('random suffix must be 8-32 of [a-z0-9]');
  }
  let ns = fold(String(opts.namespace ?? ''));
  let sa = fold(String(opts.serviceAccount ?? ''));
  // Room for the two middle parts and the underscore between them.
  const room = MAX_IDENTIFIER_BYTES - prefix.length - random.length - 3;
  if (ns.length + sa.length > room) {
    const half = Math.floor(room / 2);
    if (ns.length <= half) sa = cut(sa, room - ns.length);
    else if (sa.length <= half) ns = cut(ns, room - sa.length);
    else {
      ns = cut(ns, half);
      sa = cut(sa, room - half);
    }
  }
  return [prefix, ns, sa, random].filter((p) => p.length > 0).join('_');
}
