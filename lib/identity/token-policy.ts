/**
 * Time rules jose leaves to the caller: an `iat` in the future (beyond the
 * leeway) is refused, and so is a token meant to live longer than the
 * issuer allows (`exp - iat`, or `exp - now` for a token without `iat`), so a
 * stolen years-long token is worthless. A limit of 0 accepts any lifetime
 * (legacy tokens).
 *
 * @example
 *   checkTokenTimes(payload, { nowSec: 1_760_000_000, toleranceSec: 60, maxLifetimeSec: 172_800 });
 */
import type { JWTPayload } from 'jose';
import { PgmintError } from '../errors.js';

export interface TokenTimeRules {
  nowSec: number;
  toleranceSec: number;
  /** 0 = no limit. */
  maxLifetimeSec: number;
}

export function checkTokenTimes(payload: JWTPayload, rules: TokenTimeRules): void {
  const { iat, exp } = payload;
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) {
    throw new PgmintError('invalid_token', 'token claim iat rejected');
  }
  if (iat !== undefined && iat > rules.nowSec + rules.toleranceSec) {
    throw new PgmintError('invalid_token', 'token claim iat is in the future');
  }
  if (rules.maxLifetimeSec > 0 && typeof exp === 'number') {
    const lifetime = exp - (iat ?? rules.nowSec);
    if (lifetime > rules.maxLifetimeSec) {
      throw new PgmintError('invalid_token', "token lifetime exceeds the issuer's max_token_lifetime", {
        details: { max_token_lifetime: rules.maxLifetimeSec },
      });
    }
  }
}
