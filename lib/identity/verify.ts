/**
 * Verifies a workload's token against one registered issuer: asymmetric
 * signature first (pinned keys, or the issuer's discovered JWKS), then exact
 * `iss`, an allowed `aud`, a required `exp`, with 60 s leeway, then the
 * issuer's token policy (no future `iat`, a longest lifetime).
 *
 * @example
 *   const verifier = new TokenVerifier({ jwksStore });
 *   const { payload } = await verifier.verify(bearer, { issuer: 'https://oidc.example.com', audiences: ['pgmint'] });
 */
import { decodeProtectedHeader, type JWTVerifyOptions, jwtVerify } from 'jose';
import {
  JOSEAlgNotAllowed,
  JOSEError,
  JWKSMultipleMatchingKeys,
  JWSSignatureVerificationFailed,
  type JWTClaimValidationFailed,
} from 'jose/errors';
import { PgmintError } from '../errors.js';
import { assertIssuerUrl } from './issuer-url.js';
import { type ProbeResult, RemoteKeySets, type RemoteKeyStats } from './jwks.js';
import { assertCompactJws } from './peek.js';
import { hasPinnedKeys, type KeyResolver, pinnedKeyResolver } from './pinned.js';
import { checkTokenTimes } from './token-policy.js';
import {
  DEFAULT_MAX_TOKEN_BYTES,
  DEFAULT_MAX_TOKEN_LIFETIME_SEC,
  type IssuerKeys,
  type VerifiedToken,
  type VerifierOptions,
} from './types.js';

/** Public-key signatures only: never `none`, never HS* (whose "secret" could be the issuer's public key). */
export const ALLOWED_ALGORITHMS: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);
const ALLOWED = new Set(ALLOWED_ALGORITHMS);

/** Claims every accepted token carries; `iss` and `aud` are also required by their checks. */
const REQUIRED_CLAIMS = ['sub', 'exp'];

/** Pinned resolvers kept per verifier; registrations are few, this only bounds a mistake. */
const MAX_PINNED_RESOLVERS = 1_000;

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative finite number`);
  }
  return value;
}

function assertIssuerKeys(issuer: IssuerKeys): void {
  if (typeof issuer !== 'object' || issuer === null) throw new TypeError('issuer must be an object');
  if (typeof issuer.issuer !== 'string' || issuer.issuer.length === 0) {
    throw new TypeError('issuer.issuer must be a non-empty string');
  }
  if (
    !Array.isArray(issuer.audiences) ||
    issuer.audiences.length === 0 ||
    !issuer.audiences.every((a) => typeof a === 'string' && a.length > 0)
  ) {
    throw new TypeError('issuer.audiences must be a non-empty array of strings');
  }
  if (issuer.pinnedPems != null && !Array.isArray(issuer.pinnedPems)) {
    throw new TypeError('issuer.pinnedPems must be an array of PEM strings');
  }
}

/** A short reason for `message`; the detail stays in `cause`. Never the token. */
function reason(err: JOSEError): string {
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason: why } = err as JWTClaimValidationFailed;
      return `token claim ${claim} ${why === 'missing' ? 'missing' : 'rejected'}`;
    }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'token signature invalid';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'token algorithm not allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'no issuer key matches the token';
    default:
      return 'token malformed';
  }
}

/** jwtVerify that tries each candidate when several keys match (no `kid`, several pinned PEMs). */
async function jwtVerifyAny(token: string, getKey: KeyResolver, options: JWTVerifyOptions) {
  try {
    return await jwtVerify(token, getKey, options);
  } catch (err) {
    if (!(err instanceof JWKSMultipleMatchingKeys)) throw err;
    for await (const key of err) {
      try {
        return await jwtVerify(token, key, options);
      } catch (inner) {
        if (inner instanceof JWSSignatureVerificationFailed) continue;
        throw inner;
      }
    }
    throw new JWSSignatureVerificationFailed();
  }
}

export class TokenVerifier {
  readonly #now: () => Date;
  readonly #allowInsecure: boolean;
  readonly #clockTolerance: number;
  readonly #maxTokenBytes: number;
  readonly #remote: RemoteKeySets;
  readonly #pinned = new Map<string, Promise<KeyResolver>>();

  constructor(options: VerifierOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#allowInsecure = options.allowInsecureIssuers ?? false;
    this.#clockTolerance = nonNegative('clockToleranceSec', options.clockToleranceSec, 60);
    this.#maxTokenBytes = nonNegative('maxTokenBytes', options.maxTokenBytes, DEFAULT_MAX_TOKEN_BYTES);
    const timeoutMs = nonNegative('timeoutMs', options.timeoutMs, 5_000);
    if (!Number.isInteger(timeoutMs)) throw new TypeError('timeoutMs must be an integer');
    this.#remote = new RemoteKeySets({
      fetch: options.fetch,
      fetchForCa: options.fetchForCa,
      onFetchFailure: options.onFetchFailure,
      allowInsecureIssuers: this.#allowInsecure,
      jwksStore: options.jwksStore,
      cooldownMs: nonNegative('cooldownMs', options.cooldownMs, 30_000),
      cacheMaxAgeMs: nonNegative('cacheMaxAgeMs', options.cacheMaxAgeMs, 600_000),
      timeoutMs,
    });
  }

  /** `jwksFetches` counts network JWKS requests; one per issuer while its cache is fresh. */
  stats(): RemoteKeyStats {
    return this.#remote.stats();
  }

  /** Whether issuers may carry their own CA (`caPem`): only when the runtime gave `fetchForCa`. */
  get supportsCaPem(): boolean {
    return this.#remote.supportsCaPem;
  }

  /** Discovery and a key fetch now, for a registration or a health check; pinned issuers need neither. */
  probe(issuer: Pick<IssuerKeys, 'issuer' | 'caPem'>): Promise<ProbeResult> {
    assertIssuerUrl(issuer.issuer, { allowInsecure: this.#allowInsecure });
    return this.#remote.probe(issuer.issuer, issuer.caPem);
  }

  async verify(token: string, issuer: IssuerKeys): Promise<VerifiedToken> {
    assertIssuerKeys(issuer);
    const pinned = hasPinnedKeys(issuer);
    if (!pinned) assertIssuerUrl(issuer.issuer, { allowInsecure: this.#allowInsecure });

    assertCompactJws(token, this.#maxTokenBytes);
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (cause) {
      throw new PgmintError('invalid_token', 'token header malformed', { cause });
    }
    // Refused before any key lookup, so a forged header never costs a fetch.
    if (typeof alg !== 'string' || !ALLOWED.has(alg)) {
      throw new PgmintError('invalid_token', 'token algorithm not allowed', { cause: new JOSEAlgNotAllowed() });
    }

    const getKey = pinned ? await this.#pinnedResolver(issuer) : this.#remote.resolver(issuer.issuer, issuer.caPem);
    const now = this.#now();
    const maxLifetimeSec = nonNegative('maxTokenLifetimeSec', issuer.maxTokenLifetimeSec, DEFAULT_MAX_TOKEN_LIFETIME_SEC);
    try {
      const { payload, protectedHeader } = await jwtVerifyAny(token, getKey, {
        algorithms: [...ALLOWED_ALGORITHMS],
        issuer: issuer.issuer,
        audience: issuer.audiences,
        requiredClaims: REQUIRED_CLAIMS,
        clockTolerance: this.#clockTolerance,
        currentDate: now,
      });
      checkTokenTimes(payload, {
        nowSec: Math.floor(now.getTime() / 1000),
        toleranceSec: this.#clockTolerance,
        maxLifetimeSec,
      });
      return { payload, protectedHeader };
    } catch (err) {
      if (err instanceof PgmintError) throw err;
      if (err instanceof JOSEError) throw new PgmintError('invalid_token', reason(err), { cause: err });
      // jose raises TypeError for an unusable key (e.g. RSA under 2048 bits): still the token's refusal.
      if (err instanceof TypeError) throw new PgmintError('invalid_token', 'no usable issuer key', { cause: err });
      throw err;
    }
  }

  #pinnedResolver(issuer: IssuerKeys): Promise<KeyResolver> {
    const cacheKey = JSON.stringify([issuer.pinnedJwks?.keys ?? [], issuer.pinnedPems ?? []]);
    let resolver = this.#pinned.get(cacheKey);
    if (!resolver) {
      if (this.#pinned.size >= MAX_PINNED_RESOLVERS) this.#pinned.clear();
      resolver = pinnedKeyResolver(issuer);
      resolver.catch(() => this.#pinned.delete(cacheKey));
      this.#pinned.set(cacheKey, resolver);
    }
    return resolver;
  }
}
