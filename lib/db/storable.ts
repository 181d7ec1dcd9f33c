/**
 * What PostgreSQL can store: the one check every value from a request or an
 * unverified token passes before it reaches SQL. Text may not hold NUL (the
 * wire protocol ends strings with it) nor a lone UTF-16 surrogate (it has no
 * UTF-8 form); timestamps must fall in the years 1–9999 that pgmint accepts
 * and Postgres parses. Anything else is refused as input, never sent to fail
 * as a query.
 *
 * @example
 *   const bad = findUnstorable({ subject: 'a\u0000b' }); // { path: 'subject', reason: 'must not contain NUL' }
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why Postgres cannot store `text`, or null when it can. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain NUL';
  if (LONE_SURROGATE.test(text)) return 'must be valid Unicode (no lone surrogate)';
  return null;
}

export const EARLIEST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
export const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** Why `ms` (epoch milliseconds) is not a timestamp pgmint stores, or null. */
export function instantProblem(ms: number): string | null {
  if (!Number.isFinite(ms)) return 'not a valid date-time';
  if (ms < EARLIEST_INSTANT || ms > LATEST_INSTANT) return 'must fall between the years 1 and 9999 (UTC)';
  return null;
}

export interface Unstorable {
  /** Dotted path to the value, e.g. `bound_claims.team.0`; empty for the value itself. */
  path: string;
  reason: string;
}

/** The first string (or object key) in `value` that Postgres cannot store, searched depth-first. */
export function findUnstorable(value: unknown, path: readonly string[] = [], depth = 0): Unstorable | null {
  const at = (reason: string, extra?: string): Unstorable => ({
    path: [...path, ...(extra === undefined ? [] : [extra])].join('.'),
    reason,
  });
  if (typeof value === 'string') {
    const reason = textProblem(value);
    return reason ? at(reason) : null;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? null : at('must be a finite number');
  if (value === null || typeof value !== 'object') return null;
  // JSON from a request is at most 256 KiB, but a deep nest is refused rather than walked.
  if (depth > 64) return at('nested too deeply');
  if (value instanceof Date) {
    const reason = instantProblem(value.getTime());
    return reason ? at(reason) : null;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], [...path, String(i)], depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyReason = textProblem(key);
    if (keyReason) return at(`key ${keyReason}`, key.replace(/[\u0000\uD800-\uDFFF]/g, '\uFFFD'));
    const found = findUnstorable(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return null;
}
