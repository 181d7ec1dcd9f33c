/**
 * Each remote issuer's JWKS: discovered once, fetched with jose's
 * `createRemoteJWKSet` (timeout, cooldown on unknown `kid`, max age), kept in
 * memory and in a persistent store so a cold start verifies without the
 * network and a down issuer is served from the last copy.
 *
 * A token signed with a key not fetched yet (the issuer rotated its key
 * inside the refetch cooldown) is `issuer_unavailable` with `Retry-After` set
 * to the cooldown left, because clients treat 401 as final; once a copy
 * fetched after the token was first seen still lacks its `kid`, it is 401.
 * Every failed fetch is described (status, TLS code, URL), logged, and kept
 * in the store for the health report.
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
import { discover } from './discovery.js';
import {
  describeFetchError,
  documentFailure,
  type FetchFailure,
  fetchFailureOf,
  IssuerFetchError,
  issuerUnavailable,
  statusFailure,
} from './fetch-failure.js';
import type { KeyResolver } from './pinned.js';
import type { JwksStore, VerifierOptions } from './types.js';

export type RemoteKeySetsOptions = Pick<
  VerifierOptions,
  'fetch' | 'fetchForCa' | 'onFetchFailure' | 'allowInsecureIssuers' | 'jwksStore' | 'cooldownMs' | 'cacheMaxAgeMs' | 'timeoutMs'
>;

/** What a live check of an issuer found (registration, health). */
export type ProbeResult = { ok: true; keys: number } | { ok: false; failure: FetchFailure };

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
  fetch: typeof fetch;
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
  /** The last JWKS answer that was not 200 (jose's own error does not say which status). */
  jwksFailure?: FetchFailure;
  /** When each unknown `kid` was first seen inside a cooldown; bounded. */
  unseenKids: Map<string, number>;
}

/** Unknown kids remembered per issuer; a flood of made-up kids only resets the memory. */
const MAX_UNSEEN_KIDS = 1_000;
/** Fetch implementations kept per CA bundle. */
const MAX_CA_FETCHES = 100;

const defaultFailureLog = (issuer: string, failure: FetchFailure) =>
  console.warn(JSON.stringify({ level: 'warn', msg: 'issuer key fetch failed', issuer, ...failure }));

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
  readonly #fetchForCa?: (caPem: string) => typeof fetch;
  readonly #caFetches = new Map<string, typeof fetch>();
  readonly #onFailure: (issuer: string, failure: FetchFailure) => void;
  readonly #store?: JwksStore;
  readonly #cooldownMs: number;
  readonly #cacheMaxAgeMs: number;
  readonly #timeoutMs: number;
  readonly #retryMs: number;
  readonly #allowInsecure: boolean;
  readonly #stats: RemoteKeyStats = { jwksFetches: 0, discoveryFetches: 0, storeErrors: 0 };

  constructor(opts: RemoteKeySetsOptions = {}) {
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#fetchForCa = opts.fetchForCa;
    this.#onFailure = opts.onFetchFailure ?? defaultFailureLog;
    this.#store = opts.jwksStore;
    this.#cooldownMs = opts.cooldownMs ?? 30_000;
    this.#cacheMaxAgeMs = opts.cacheMaxAgeMs ?? 600_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#retryMs = Math.min(this.#cooldownMs, 5_000);
    this.#allowInsecure = opts.allowInsecureIssuers ?? false;
  }

  stats(): RemoteKeyStats {
    return { ...this.#stats };
  }

  /** Whether an issuer may name its own CA bundle (the runtime gave a way to fetch with one). */
  get supportsCaPem(): boolean {
    return this.#fetchForCa !== undefined;
  }

  /** A jose key resolver for `issuer` (already checked to be a fetchable URL), fetching through `caPem` when given. */
  resolver(issuer: string, caPem?: string | null): KeyResolver {
    const s = this.#state(issuer, caPem);
    return (header, token) => this.#resolve(s, header, token);
  }

  /**
   * Discovery and a JWKS fetch over the network now, as an exchange would do
   * them; a success refreshes the stored copy, a failure is logged and stored.
   */
  async probe(issuer: string, caPem?: string | null): Promise<ProbeResult> {
    const state = this.#state(issuer, caPem);
    try {
      this.#stats.discoveryFetches++;
      const doc = await discover(issuer, { fetch: state.fetch, timeoutMs: this.#timeoutMs, allowInsecureIssuers: this.#allowInsecure });
      let res: Response;
      try {
        this.#stats.jwksFetches++;
        res = await state.fetch(doc.jwks_uri, {
          headers: { accept: 'application/json, application/jwk-set+json' },
          redirect: 'manual',
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (err) {
        throw new IssuerFetchError(describeFetchError(err, doc.jwks_uri, 'jwks'));
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new IssuerFetchError(statusFailure('jwks', doc.jwks_uri, res.status));
      }
      let jwks: JSONWebKeySet;
      try {
        jwks = (await res.json()) as JSONWebKeySet;
        createLocalJWKSet(jwks);
      } catch {
        throw new IssuerFetchError(documentFailure('jwks', doc.jwks_uri, 'JWKS is not a JSON Web Key Set'));
      }
      if (this.#store) {
        await this.#store.put(issuer, jwks as { keys: unknown[] }).catch(() => this.#stats.storeErrors++);
      }
      return { ok: true, keys: jwks.keys.length };
    } catch (err) {
      const failure = fetchFailureOf(err) ?? describeFetchError(err, issuer, 'discovery');
      await this.#failed(state, failure);
      return { ok: false, failure };
    }
  }

  #state(issuer: string, caPem?: string | null): IssuerState {
    const key = caPem ? `${issuer}\n${caPem}` : issuer;
    let state = this.#states.get(key);
    if (!state) {
      state = { issuer, fetch: this.#fetchFor(caPem), cache: {}, unseenKids: new Map() };
      this.#states.set(key, state);
    }
    return state;
  }

  #fetchFor(caPem?: string | null): typeof fetch {
    if (!caPem) return this.#fetch;
    if (!this.#fetchForCa) {
      // Registered on Node, served here: say so on every attempt instead of trusting other roots.
      return async (url) => {
        throw new IssuerFetchError(
          documentFailure('discovery', String(url), 'this runtime cannot fetch with the issuer ca_pem; pin its keys'),
        );
      };
    }
    let f = this.#caFetches.get(caPem);
    if (!f) {
      if (this.#caFetches.size >= MAX_CA_FETCHES) this.#caFetches.clear();
      f = this.#fetchForCa(caPem);
      this.#caFetches.set(caPem, f);
    }
    return f;
  }

  async #resolve(state: IssuerState, header: Parameters<KeyResolver>[0], token: Parameters<KeyResolver>[1]) {
    state.loaded ??= this.#load(state);
    await state.loaded;
    const uatBefore = state.cache.uat;

    // Cold start with a fresh stored copy: answer without discovery or fetch.
    if (!state.remote && isFresh(state.cache.uat, this.#cacheMaxAgeMs)) {
      try {
        return await this.#local(state)(header, token);
      } catch (err) {
        if (!(err instanceof JWKSNoMatchingKey)) throw err;
        if (isFresh(state.cache.uat, this.#cooldownMs)) throw this.#unknownKid(state, header, err, uatBefore);
      }
    }
    // The issuer just failed: serve the last copy rather than wait on it again.
    if (!state.remote && state.failedAt !== undefined && Date.now() - state.failedAt < this.#retryMs) {
      return this.#fallback(state, header, token, state.failure);
    }
    let remote: RemoteJWKSet | undefined;
    try {
      remote = state.remote ?? (await this.#connect(state));
      return await remote(header, token);
    } catch (err) {
      if (err instanceof JWKSNoMatchingKey && remote?.coolingDown) throw this.#unknownKid(state, header, err, uatBefore);
      if (isKeySelectionError(err)) throw err;
      const failure = fetchFailureOf(err) ?? state.jwksFailure ?? describeFetchError(err, state.issuer, 'jwks');
      state.jwksFailure = undefined;
      state.failedAt = Date.now();
      state.failure = new IssuerFetchError(failure);
      state.remote = undefined; // discover again on the next attempt
      await this.#failed(state, failure);
      return this.#fallback(state, header, token, state.failure);
    } finally {
      await this.#persist(state);
    }
  }

  /**
   * A `kid` missing from the cached keys inside the cooldown. Not yet fetched
   * (no copy newer than its first sighting): 503 until the cooldown ends.
   * Fetched and still missing: the token's fault.
   */
  #unknownKid(state: IssuerState, header: Parameters<KeyResolver>[0], err: JWKSNoMatchingKey, uatBefore: number | undefined): unknown {
    const kid = header.kid;
    const uat = state.cache.uat ?? 0;
    if (typeof kid !== 'string') return err;
    const firstSeen = state.unseenKids.get(kid);
    if (firstSeen === undefined) {
      if (state.unseenKids.size >= MAX_UNSEEN_KIDS) state.unseenKids.clear();
      // Fetched for this very token: the copy is as new as its first sighting.
      state.unseenKids.set(kid, uat !== uatBefore ? uat : Date.now());
    }
    if (uat !== uatBefore || (firstSeen !== undefined && uat >= firstSeen)) return err;
    const leftSec = Math.max(1, Math.ceil((uat + this.#cooldownMs - Date.now()) / 1000));
    return issuerUnavailable(`the token's key is not fetched yet; the issuer keys are fetched again in ${leftSec} s`, err, leftSec);
  }

  #connect(state: IssuerState): Promise<RemoteJWKSet> {
    state.connecting ??= (async () => {
      this.#stats.discoveryFetches++;
      const doc = await discover(state.issuer, {
        fetch: state.fetch,
        timeoutMs: this.#timeoutMs,
        allowInsecureIssuers: this.#allowInsecure,
      });
      const remote = createRemoteJWKSet(new URL(doc.jwks_uri), {
        timeoutDuration: this.#timeoutMs,
        cooldownDuration: this.#cooldownMs,
        cacheMaxAge: this.#cacheMaxAgeMs,
        [jwksCache]: state.cache as JWKSCacheInput,
        [customFetch]: this.#jwksFetch(state),
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

  /** jose's fetch for one issuer: counts requests and remembers why one failed. */
  #jwksFetch(state: IssuerState): FetchImplementation {
    return async (url, init) => {
      this.#stats.jwksFetches++;
      try {
        const res = await state.fetch(url, init);
        state.jwksFailure = res.status === 200 ? undefined : statusFailure('jwks', url, res.status);
        return res;
      } catch (err) {
        state.jwksFailure = describeFetchError(err, url, 'jwks');
        throw err;
      }
    };
  }

  async #failed(state: IssuerState, failure: FetchFailure): Promise<void> {
    try {
      this.#onFailure(state.issuer, failure);
    } catch {
      // a log sink that throws must not turn a refusal into a crash
    }
    if (!this.#store?.recordFailure) return;
    try {
      await this.#store.recordFailure(state.issuer, failure);
    } catch {
      this.#stats.storeErrors++;
    }
  }

  async #fallback(state: IssuerState, header: Parameters<KeyResolver>[0], token: Parameters<KeyResolver>[1], cause: unknown) {
    if (!state.cache.jwks) {
      throw issuerUnavailable('issuer keys unavailable', cause, Math.ceil(this.#retryMs / 1000));
    }
    try {
      return await this.#local(state)(header, token);
    } catch (err) {
      if (err instanceof JWKSNoMatchingKey) {
        throw issuerUnavailable('key not in the stored copy and the issuer is unreachable', cause, Math.ceil(this.#retryMs / 1000));
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
