/**
 * Keys pinned at registration for clusters whose issuer cannot be reached
 * (or is not even a URL, like minikube's `kubernetes/serviceaccount`): a JWKS,
 * PEM public keys or certificates, or both. No network is ever used.
 *
 * @example
 *   const getKey = await pinnedKeyResolver({ pinnedPems: [minikubePublicKeyPem] });
 *   await jwtVerify(token, getKey, { algorithms: ['RS256'] });
 */
import {
  createLocalJWKSet,
  exportJWK,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWK,
  type JWSHeaderParameters,
  importJWK,
  importSPKI,
  importX509,
} from 'jose';
import { JWKSNoMatchingKey } from 'jose/errors';
import type { IssuerKeys } from './types.js';

export type KeyResolver = (header: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<CryptoKey>;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** An algorithm per key type, only to import the PEM; the JWK it becomes serves every algorithm of its type and curve. */
const PROBE_ALGORITHMS = ['RS256', 'ES256', 'ES384', 'ES512', 'Ed25519'];

export function hasPinnedKeys(issuer: Pick<IssuerKeys, 'pinnedJwks' | 'pinnedPems'>): boolean {
  return (issuer.pinnedJwks?.keys?.length ?? 0) > 0 || (issuer.pinnedPems?.length ?? 0) > 0;
}

/**
 * Public JWKs from PEM `PUBLIC KEY` or `CERTIFICATE` blocks (several may share
 * one string). A key given twice (a certificate and its public key) is kept once.
 */
export async function pemsToJwks(pems: readonly string[]): Promise<JWK[]> {
  const out = new Map<string, JWK>();
  for (const pem of pems) {
    if (typeof pem !== 'string') throw new TypeError('pinned PEM must be a string');
    const blocks = [...pem.matchAll(PEM_BLOCK)];
    if (blocks.length === 0) throw new TypeError('pinned PEM has no BEGIN/END block');
    for (const [block, label] of blocks) {
      const jwk = await pemBlockToJwk(block, label as string);
      out.set(JSON.stringify(jwk), jwk);
    }
  }
  return [...out.values()];
}

async function pemBlockToJwk(block: string, label: string): Promise<JWK> {
  const importer = label === 'CERTIFICATE' ? importX509 : label === 'PUBLIC KEY' ? importSPKI : null;
  if (!importer) throw new TypeError(`pinned PEM must be a PUBLIC KEY or CERTIFICATE, not ${label}`);
  for (const alg of PROBE_ALGORITHMS) {
    try {
      const key = await importer(block, alg, { extractable: true });
      const { kty, n, e, crv, x, y } = await exportJWK(key);
      return Object.fromEntries(Object.entries({ kty, n, e, crv, x, y }).filter(([, v]) => v !== undefined));
    } catch {
      // not this key type; try the next
    }
  }
  throw new TypeError('pinned PEM holds no RSA, EC or Ed25519 public key');
}

/** The algorithm a pinned JWK is imported with when it names none: one per key type and curve. */
function defaultAlgorithm(k: Record<string, unknown>): string | null {
  if (k.kty === 'RSA') return 'RS256';
  if (k.kty === 'EC') return ({ 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' } as Record<string, string>)[String(k.crv)] ?? null;
  if (k.kty === 'OKP' && k.crv === 'Ed25519') return 'EdDSA';
  return null;
}

/** A pinned JWK that can never verify; `index` is its place in `keys`. */
export class PinnedKeyError extends TypeError {
  constructor(
    readonly index: number,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(`key ${index}: ${why}`, options);
    this.name = 'PinnedKeyError';
  }
}

/**
 * Checks every pinned JWK the way verification will use it: a public key
 * of a type pgmint accepts, importable with jose for an allowed algorithm,
 * RSA of at least 2048 bits. Throws a PinnedKeyError naming the key's index.
 */
export async function validatePinnedJwks(jwks: { keys: unknown[] }, allowed: readonly string[]): Promise<void> {
  if (!Array.isArray(jwks?.keys)) throw new TypeError('pinned JWKS must have a keys array');
  for (const [i, key] of jwks.keys.entries()) {
    const bad = (why: string) => new PinnedKeyError(i, why);
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw bad('must be a JSON object');
    const k = key as Record<string, unknown>;
    if (typeof k.kty !== 'string') throw bad('has no kty');
    if (k.kty === 'oct' || 'd' in k) throw bad('must be a public key');
    if (k.use !== undefined && k.use !== 'sig') throw bad(`use "${String(k.use)}" is not "sig"`);
    if (k.alg !== undefined && (typeof k.alg !== 'string' || !allowed.includes(k.alg))) throw bad(`alg ${String(k.alg)} is not allowed`);
    const alg = (k.alg as string | undefined) ?? defaultAlgorithm(k);
    if (!alg) throw bad(`kty ${k.kty}${k.crv ? ` (${String(k.crv)})` : ''} is not an RSA, EC or Ed25519 signing key`);
    try {
      await importJWK(k as JWK, alg);
    } catch (cause) {
      throw new PinnedKeyError(i, `does not import as a ${alg} public key`, { cause });
    }
    if (k.kty === 'RSA' && typeof k.n === 'string' && k.n.replace(/=+$/, '').length * 6 < 2040) {
      throw bad('RSA keys must be at least 2048 bits');
    }
  }
}

function assertPublicJwks(jwks: { keys: unknown[] }): asserts jwks is JSONWebKeySet {
  if (!Array.isArray(jwks.keys)) throw new TypeError('pinned JWKS must have a keys array');
  for (const key of jwks.keys) {
    if (typeof key !== 'object' || key === null) throw new TypeError('pinned JWKS keys must be objects');
    const k = key as Record<string, unknown>;
    if (k.kty === 'oct' || 'd' in k) throw new TypeError('pinned JWKS must hold public keys only');
  }
}

/**
 * A jose key resolver over the pinned keys. JWKS members are chosen by the
 * token's `kid` and `alg`. Keys without a `kid` (every PEM key, and pinned
 * JWKs an operator pasted without one) are tried when no `kid` matches,
 * selected by `alg` alone (key type and curve), as Vault does with
 * `jwt_validation_pubkeys`.
 */
export async function pinnedKeyResolver(issuer: Pick<IssuerKeys, 'pinnedJwks' | 'pinnedPems'>): Promise<KeyResolver> {
  if (!hasPinnedKeys(issuer)) throw new TypeError('issuer has no pinned keys');
  let jwksSet: KeyResolver | null = null;
  const kidless: JWK[] = [];
  if (issuer.pinnedJwks?.keys?.length) {
    assertPublicJwks(issuer.pinnedJwks);
    try {
      jwksSet = createLocalJWKSet(issuer.pinnedJwks);
    } catch (cause) {
      throw new TypeError('pinned JWKS is malformed', { cause });
    }
    kidless.push(...issuer.pinnedJwks.keys.filter((k) => typeof k.kid !== 'string' || k.kid === ''));
  }
  if (issuer.pinnedPems?.length) kidless.push(...(await pemsToJwks(issuer.pinnedPems)));
  const kidlessSet: KeyResolver | null = kidless.length ? createLocalJWKSet({ keys: kidless }) : null;

  return async (header, token) => {
    if (jwksSet) {
      try {
        return await jwksSet(header, token);
      } catch (err) {
        if (!(kidlessSet && err instanceof JWKSNoMatchingKey)) throw err;
      }
    }
    if (!kidlessSet) throw new JWKSNoMatchingKey();
    return kidlessSet({ alg: header.alg });
  };
}
