/**
 * The shapes the identity module is configured with: an issuer's registered
 * keys, the persistent JWKS store, and the verifier's knobs.
 *
 * @example
 *   const issuer: IssuerKeys = { issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC', audiences: ['pgmint'] };
 */
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import type { FetchFailure } from './fetch-failure.js';

/** One registered issuer, as the control plane stores it. */
export interface IssuerKeys {
  /** Compared with the token's `iss` exactly (a trailing slash matters). */
  issuer: string;
  /** The token's `aud` must contain at least one of these. */
  audiences: string[];
  /** Keys pinned at registration: no network at all, and `issuer` may be any string. */
  pinnedJwks?: { keys: JsonWebKey[] } | null;
  /** PEM `PUBLIC KEY` or `CERTIFICATE` blocks, like Vault's `jwt_validation_pubkeys`; the token's `kid` is ignored for them. */
  pinnedPems?: string[] | null;
  /** PEM certificates trusted for this issuer's discovery and JWKS fetches, instead of the runtime's roots. */
  caPem?: string | null;
  /** Longest token accepted, `exp - iat` in seconds (default 48 h); 0 = no limit. */
  maxTokenLifetimeSec?: number;
}

/** A persistent copy of each issuer's JWKS (the control plane's `jwks_cache`), so a cold start can verify while the issuer is down. */
export interface JwksStore {
  get(issuer: string): Promise<{ jwks: { keys: unknown[] }; fetchedAt: Date } | null>;
  put(issuer: string, jwks: { keys: unknown[] }): Promise<void>;
  /** Remembers why the last discovery or key fetch failed, for the health report. */
  recordFailure?(issuer: string, failure: FetchFailure): Promise<void>;
}

export interface VerifierOptions {
  /** Injectable clock for `exp`/`nbf`; default `() => new Date()`. */
  now?: () => Date;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * A fetch that trusts `caPem` instead of the runtime's roots, for issuers
   * registered with their own CA. Given by the Node entry points; a runtime
   * without one refuses such issuers.
   */
  fetchForCa?: (caPem: string) => typeof fetch;
  /** Where a failed discovery or key fetch is reported; default a JSON line on console.warn. */
  onFetchFailure?: (issuer: string, failure: FetchFailure) => void;
  /** Allow `http://` issuers, only on loopback (127.0.0.0/8, ::1, localhost). */
  allowInsecureIssuers?: boolean;
  /** Persistent JWKS copy surviving cold starts; used when the issuer is down. */
  jwksStore?: JwksStore;
  /** Minimum interval between refetches on an unknown `kid` (default 30 000). */
  cooldownMs?: number;
  /** How long a fetched JWKS is used without refetching (default 10 min). */
  cacheMaxAgeMs?: number;
  /** Timeout of each discovery or JWKS request (default 5 000). */
  timeoutMs?: number;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds (default 60). */
  clockToleranceSec?: number;
  /** Longest token accepted, in bytes (default 16 384). */
  maxTokenBytes?: number;
}

export interface VerifiedToken {
  payload: JWTPayload;
  protectedHeader: JWTHeaderParameters;
}

export const DEFAULT_MAX_TOKEN_BYTES = 16_384;

/** Every projected service-account token (at most 48 h with the API server's default extension) fits; a years-long stolen one does not. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SEC = 48 * 3600;
