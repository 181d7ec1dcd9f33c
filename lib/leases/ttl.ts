/**
 * Lease lifetimes: parsing `?ttl=` and applying a role's limits, the floor
 * and the hard cap. The floor exists because a login is useful only if a
 * client can fetch it, connect and run something before it expires, on a
 * slow network and with clocks a little apart: below 30 s that is not sure.
 *
 * @example
 *   resolveTtl('15m', role) // 900
 */
import { PgmintError } from '../errors.js';

/** No lease outlives this, whatever a role says. */
export const HARD_MAX_TTL_SEC = 8 * 3600;
export const DEFAULT_READONLY_TTL_SEC = 3600;
export const DEFAULT_READWRITE_TTL_SEC = 1800;
/** No lease is issued or renewed for less than this. */
export const MIN_TTL_SEC = 30;
/** How long a session may outlive its lease's expiry unless the role says otherwise, and at most. */
export const DEFAULT_MAX_SESSION_SEC = 8 * 3600;
export const HARD_MAX_SESSION_SEC = 24 * 3600;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** Seconds from `900`, `90s`, `15m`, `1h30m`; null when malformed. */
export function parseDuration(text: string): number | null {
  if (/^\d{1,6}$/.test(text)) return Number(text);
  const match = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s)?$/.exec(text);
  if (!match || text === '') return null;
  const [, h, m, s] = match;
  return Number(h ?? 0) * UNIT_SECONDS.h! + Number(m ?? 0) * UNIT_SECONDS.m! + Number(s ?? 0);
}

/** `from` plus `seconds`, rounded up to a whole second. */
export function secondsAfter(from: Date, seconds: number): Date {
  return new Date(Math.ceil((from.getTime() + seconds * 1000) / 1000) * 1000);
}

export function resolveTtl(requested: string | undefined, limits: { defaultTtl: number; maxTtl: number }): number {
  if (requested === undefined || requested === '') return Math.min(limits.defaultTtl, limits.maxTtl, HARD_MAX_TTL_SEC);
  const ttl = parseDuration(requested);
  if (ttl === null) {
    throw new PgmintError('invalid_request', 'ttl must be a number of seconds or a duration such as 15m or 1h', {
      details: { field: 'ttl' },
    });
  }
  if (ttl < MIN_TTL_SEC) {
    throw new PgmintError('invalid_request', `ttl must be at least ${MIN_TTL_SEC} seconds`, {
      details: { field: 'ttl', min_ttl: MIN_TTL_SEC },
    });
  }
  const cap = Math.min(limits.maxTtl, HARD_MAX_TTL_SEC);
  if (ttl > cap) {
    throw new PgmintError('invalid_request', `ttl exceeds the role's maximum of ${cap} seconds`, {
      details: { field: 'ttl', max_ttl: cap },
    });
  }
  return ttl;
}
