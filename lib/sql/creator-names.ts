/**
 * Names of the creator roles that create and drop lease roles on PostgreSQL
 * 16+ (why they exist: lib/targets/creators.ts): `<broker>_c<k>`, and which
 * of them a lease role belongs to, fixed by the role's name.
 *
 * @example
 *   creatorName('pgmint_broker', creatorIndex('pgm_prod_api_k3v9q2x7ab', 1000)); // 'pgmint_broker_c1'
 */
import { MAX_IDENTIFIER_BYTES, utf8Length } from './quote.js';

/** The broker's schema holding one function per creator (the bootstrap creates it). */
export const CREATOR_SCHEMA = 'pgmint_roles';

/**
 * `<broker>_c<k>`. A broker name too long for that is cut and marked with a
 * hash of the whole name, so two long broker names sharing a prefix never
 * share creators.
 */
export function creatorName(broker: string, index: number): string {
  const suffix = `_c${index}`;
  if (utf8Length(broker) + suffix.length <= MAX_IDENTIFIER_BYTES) return `${broker}${suffix}`;
  const mark = `_${fnv1a(broker).toString(16).padStart(8, '0')}`;
  let head = broker;
  while (utf8Length(head) + mark.length + suffix.length > MAX_IDENTIFIER_BYTES) head = head.slice(0, -1);
  return `${head}${mark}${suffix}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** FNV-1a of the role name: a lease's creator is fixed by its name, spread evenly. */
export function creatorIndex(roleName: string, count: number): number {
  return fnv1a(roleName) % count;
}
