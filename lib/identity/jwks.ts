/**
 * Each remote issuer's JWKS: discovered once, fetched with jose's
 * `createRemoteJWKSet` (timeout, cooldown on unknown `kid`, max age), kept in
 * memory and in a persistent store so a cold start verifies without the
 * network and a down issuer is served from the last copy.
 *
 * @example
 *   const keys = new RemoteKeySets({ jwksStore });
 *   await jwtVerify(token, keys.resolver('https://oidc.example.com'), options);
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWKSCacheInput,
  jwksCache,
  type RemoteJWKSet,
} from 'jose';
import { JOSENotSupported, JWKSMultipleMatchingKeys, JWKSNoMatchingKey } from 'jose/errors';
import { PgmintError } from '../errors.js';
import { discover } from './discovery.js';
import type { KeyResolver } from './pinned.js';
import type { JwksStore, VerifierOptions } from './types.js';

export type RemoteKeySetsOptions = Pick<
  VerifierOptions,
  'fetch' | 'allowInsecureIssuers' | 'jwksStore' | 'cooldownMs' | 'cacheMaxAgeMs' | 'timeoutMs'
>;

export interface RemoteKeyStats {
  /** Network JWKS fetches. */
  jwksFetches: number;
  /** Network discovery fetches. */
  discoveryFetches: number;
  /** Store reads or writes that failed (verification carried on without them). */
  storeErrors: number;
}

interface IssuerState {
  issuer: string;
  loaded?: Promise<void>;
  /** Shared with jose (`jwksCache`): it writes `jwks` and `uat` after each fetch. */
  cache: Partial<ExportedJWKSCache>;
  persistedUat?: number;
  local?: { uat: number; set: KeyResolver };
  remote?: RemoteJWKSet;
  connecting?: Promise<RemoteJWKSet>;
  /** Last network failure, to avoid waiting on a down issuer for every token. */
  failedAt?: number;
  failure?: unknown;
}

/** The key is simply not there (or ambiguous): the token's problem, not the issuer's. */
function isKeySelectionError(err: unknown): boolean {
  return err instanceof JWKSNoMatchingKey || err instanceof JWKSMultipleMatchingKeys || err instanceof JOSENotSupported;
}

function isFresh(timestamp: number | undefined, duration: number): boolean {
  return timestamp !== undefined && Number.isFinite(timestamp) && Date.now() < timestamp + duration;
}

export class RemoteKeySets {
  readonly #states = new Map<string, IssuerState>();
  readonly #fetch: typeof fetch;
  readonly #store?: JwksStore;
  readonly #cooldownMs: number;
  readonly #cacheMaxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #allowInsecure: boolean;
  readonly #stats: RemoteKeyStats = { jwksFetches: 0, discoveryFetches: 0, storeErrors: 0 };
  readonly #countingFetch: FetchImplementation;

  constructor(opts: RemoteKeySetsOptions = {}) {
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#store = opts.jwksStore;
    this.#cooldownMs = opts.cooldownMs ?? 30_000;
    this.#cacheMaxAgeMs = opts.cacheMaxAgeMs ?? 600_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#retryMs = Math.min(this.#cooldownMs, 5_000);
    this.#allowInsecure = opts.allowInsecureIssuers ?? false;
    this.#countingFetch = (url, init) => {
      this.#stats.jwksFetches++;
      return this.#fetch(url, init);
    };
  }

  stats(): RemoteKeyStats {
    return { ...this.#stats };
  }

  /** A jose key resolver for `issuer` (already checked to be a fetchable URL). */
  resolver(issuer: string): KeyResolver {
    let state = this.#states.get(issuer);
    if (!state) {
      state = { issuer, cache: {} };
      this.#states.set(issuer, state);
    }
    const s = state;
    return (header, token) => this.#resolve(s, header, token);
  }

  async #resolve(state: IssuerState, header: Parameters<KeyResolver>[0], token: Parameters<KeyResolver>[1]) {
    state.loaded ??= this.#load(state);
    await state.loaded;

    // Cold start with a fresh stored copy: answer without discovery or fetch.
    if (!state.remote && isFresh(state.cache.uat, this.#cacheMaxAgeMs)) {
      try {
        return await this.#local(state)(header, token);
      } catch (err) {
        if (!(err instanceof JWKSNoMatchingKey) || isFresh(state.cache.uat, this.#cooldownMs)) throw err;
      }
    }
    // The issuer just failed: serve the last copy rather than wait on it again.
    if (!state.remote && state.failedAt !== undefined && Date.now() - state.failedAt < this.#retryMs) {
      return this.#fallback(state, header, token, state.failure);
    }
    try {
      const remote = state.remote ?? (await this.#connect(state));
      return await remote(header, token);
    } catch (err) {
      if (isKeySelectionError(err)) throw err;
      state.failedAt = Date.now();
      state.failure = err;
      state.remote = undefined; // discover again on the next attempt
      return this.#fallback(state, header, token, err);
    } finally {
      await this.#persist(state);
    }
  }

  #connect(state: IssuerState): Promise<RemoteJWKSet> {
    state.connecting ??= (async () => {
      this.#stats.discoveryFetches++;
      const doc = await discover(state.issuer, {
        fetch: this.#fetch,
        timeoutMs: this.#timeoutMs,
        allowInsecureIssuers: this.#allowInsecure,
      });
      const remote = createRemoteJWKSet(new URL(doc.jwks_uri), {
        timeoutDuration: this.#timeoutMs,
        cooldownDuration: this.#cooldownMs,
        cacheMaxAge: this.#cacheMaxAgeMs,
        [jwksCache]: state.cache as JWKSCacheInput,
        [customFetch]: this.#countingFetch,
      });
      state.remote = remote;
      state.failedAt = undefined;
      state.failure = undefined;
      return remote;
    })().finally(() => {
      state.connecting = undefined;
    });
    return state.connecting;
  }

  async #fallback(state: IssuerState, header: Parameters<KeyResolver>[0], token: Parameters<KeyResolver>[1], cause: unknown) {
    if (!state.cache.jwks) {
      throw new PgmintError('issuer_unavailable', 'issuer keys unavailable', { cause });
    }
    try {
      return await this.#local(state)(header, token);
    } catch (err) {
      if (err instanceof JWKSNoMatchingKey) {
        throw new PgmintError('issuer_unavailable', 'key not in the stored copy and the issuer is unreachable', { cause });
      }
      throw err;
    }
  }

  #local(state: IssuerState): KeyResolver {
    const uat = state.cache.uat ?? 0;
    if (state.local?.uat !== uat) {
      state.local = { uat, set: createLocalJWKSet(state.cache.jwks as JSONWebKeySet) };
    }
    return state.local.set;
  }

  async #load(state: IssuerState): Promise<void> {
    if (!this.#store) return;
    try {
      const stored = await this.#store.get(state.issuer);
      if (!stored || state.cache.jwks) return;
      createLocalJWKSet(stored.jwks as JSONWebKeySet); // throws on a malformed copy
      const uat = stored.fetchedAt.getTime();
      if (!Number.isFinite(uat)) return;
      state.cache.jwks = stored.jwks as JSONWebKeySet;
      state.cache.uat = uat;
      state.persistedUat = uat;
    } catch {
      this.#stats.storeErrors++;
    }
  }

  async #persist(state: IssuerState): Promise<void> {
    const { uat, jwks } = state.cache;
    if (!this.#store || uat === undefined || !jwks || uat === state.persistedUat) return;
    state.persistedUat = uat;
    try {
      await this.#store.put(state.issuer, jwks as { keys: unknown[] });
    } catch {
      this.#stats.storeErrors++;
    }
  }
}
