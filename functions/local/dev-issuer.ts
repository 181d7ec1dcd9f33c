/**
 * A development OIDC issuer on loopback that serves discovery and a JWKS the
 * way kube-apiserver does, and mints tokens shaped like projected
 * service-account tokens. Used by `npm start`, the tests and the benchmarks.
 * Node only.
 *
 * @example
 *   const issuer = await startDevIssuer({ keyFile: '.pgmint/dev-issuer-key.json' });
 *   const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' });
 *   await issuer.stop();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

export type DevAlg = 'RS256' | 'ES256';

export interface DevTokenClaims {
  namespace: string;
  serviceAccount: string;
  podName?: string;
  podUid?: string;
  /** Default `pgmint`; always emitted as an array, as Kubernetes does. */
  audience?: string | string[];
  /** Extra or overriding claims; `undefined` removes a claim (e.g. `exp: undefined`). */
  [extra: string]: unknown;
}

export interface MintOptions {
  /** Lifetime in seconds (default 3600); negative mints an expired token. */
  ttlSec?: number;
  /** Header `kid` to claim instead of the signing key's own. */
  kid?: string;
  /** Which of the issuer's keys signs: RS256 (default) or ES256. */
  alg?: string;
  /** Extra protected-header parameters. */
  header?: object;
}

export interface DevIssuer {
  /** `http://127.0.0.1:<port>`, the `iss` of every token. */
  url: string;
  port: number;
  mint(claims: DevTokenClaims, opts?: MintOptions): Promise<string>;
  /** Replaces the signing key of the default algorithm; the old public key stays in the JWKS. */
  rotateKey(): Promise<void>;
  /** How many times the JWKS was served. */
  jwksRequests(): number;
  /**
   * Answers discovery with 403 for anonymous clients, as a kube-apiserver does
   * until system:service-account-issuer-discovery is bound to system:unauthenticated.
   */
  forbidDiscovery(forbidden: boolean): void;
  stop(): Promise<void>;
  /** The current default private key, to persist. */
  privateJwk(): JsonWebKey;
}

export interface StartDevIssuerOptions {
  /** 0 or unset picks a free port. */
  port?: number;
  /** JSON file holding the private JWK; created if missing so tokens minted by a CLI later still verify. */
  keyFile?: string;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Serve over HTTPS with this certificate (PEM), as a cluster's API server does; the URL becomes https://. */
  tls?: { key: string; cert: string };
}

interface SigningKey {
  alg: DevAlg;
  kid: string;
  privateKey: CryptoKey;
  privateJwk: JWK;
  publicJwk: JWK;
}

const DEFAULT_TTL_SEC = 3600;

function algOf(jwk: JWK): DevAlg {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  throw new TypeError('dev issuer keys must be RSA or EC P-256');
}

/** kube-apiserver's key id: base64url(sha256(DER SubjectPublicKeyInfo)). */
async function k8sKeyId(publicKey: CryptoKey): Promise<string> {
  const pem = await exportSPKI(publicKey);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return base64url.encode(new Uint8Array(await crypto.subtle.digest('SHA-256', der)));
}

async function keyFromJwk(privateJwk: JWK): Promise<SigningKey> {
  const alg = algOf(privateJwk);
  if (!privateJwk.d) throw new TypeError('dev issuer key file must hold a private JWK');
  const { kty, n, e, crv, x, y } = privateJwk;
  const pub: JWK = alg === 'RS256' ? { kty, n, e } : { kty, crv, x, y };
  const privateKey = (await importJWK({ ...privateJwk, alg }, alg)) as CryptoKey;
  const publicKey = (await importJWK({ ...pub, alg }, alg, { extractable: true })) as CryptoKey;
  const kid = await k8sKeyId(publicKey);
  return {
    alg,
    kid,
    privateKey,
    privateJwk: { ...privateJwk, kid, alg },
    publicJwk: { use: 'sig', ...pub, kid, alg },
  };
}

async function generateKey(alg: DevAlg): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return keyFromJwk(await exportJWK(privateKey));
}

async function saveKey(keyFile: string, key: SigningKey, exclusive: boolean): Promise<void> {
  await mkdir(dirname(keyFile), { recursive: true });
  await writeFile(keyFile, `${JSON.stringify(key.privateJwk, null, 2)}\n`, { mode: 0o600, flag: exclusive ? 'wx' : 'w' });
}

async function loadKey(keyFile: string): Promise<SigningKey | null> {
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return keyFromJwk(JSON.parse(text) as JWK);
}

async function loadOrCreateKey(keyFile: string): Promise<SigningKey> {
  const existing = await loadKey(keyFile);
  if (existing) return existing;
  const key = await generateKey('RS256');
  try {
    await saveKey(keyFile, key, true);
    return key;
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await loadKey(keyFile)) as SigningKey;
  }
}

/** A stable UID per service account, so repeated tokens name the same account. */
async function serviceAccountUid(namespace: string, name: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${namespace}/${name}`)));
  h[6] = ((h[6] as number) & 0x0f) | 0x50; // version 5-style
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = Buffer.from(h.subarray(0, 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

async function signToken(key: SigningKey, issuerUrl: string, claims: DevTokenClaims, opts: MintOptions = {}): Promise<string> {
  const { namespace, serviceAccount, podName, podUid, audience, ...extra } = claims;
  if (!namespace || !serviceAccount) throw new TypeError('namespace and serviceAccount are required');
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    aud: Array.isArray(audience) ? audience : [audience ?? 'pgmint'],
    exp: now + (opts.ttlSec ?? DEFAULT_TTL_SEC),
    iat: now,
    iss: issuerUrl,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace,
      pod: {
        name: podName ?? `${serviceAccount}-${randomBytes(4).toString('hex').slice(0, 5)}`,
        uid: podUid ?? randomUUID(),
      },
      serviceaccount: { name: serviceAccount, uid: await serviceAccountUid(namespace, serviceAccount) },
    },
    nbf: now,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete payload[name];
    else payload[name] = value;
  }
  return new SignJWT(payload).setProtectedHeader({ ...(opts.header ?? {}), alg: key.alg, kid: opts.kid ?? key.kid }).sign(key.privateKey);
}

function issuerUrlFor(host: string, port: number, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export async function startDevIssuer(opts: StartDevIssuerOptions = {}): Promise<DevIssuer> {
  const host = opts.host ?? '127.0.0.1';
  let primary = opts.keyFile ? await loadOrCreateKey(opts.keyFile) : await generateKey('RS256');
  const secondary = await generateKey(primary.alg === 'RS256' ? 'ES256' : 'RS256');
  const retired: SigningKey[] = [];
  let jwksCount = 0;
  let discoveryForbidden = false;
  let url = '';

  const app = new Hono();
  app.get('/.well-known/openid-configuration', (c) => {
    if (discoveryForbidden) {
      // kube-apiserver's answer to an anonymous client without the discovery binding.
      return c.json(
        {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'forbidden: User "system:anonymous" cannot get path "/.well-known/openid-configuration"',
          reason: 'Forbidden',
          code: 403,
        },
        403,
      );
    }
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json({
      issuer: url,
      jwks_uri: `${url}/openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    });
  });
  app.get('/openid/v1/jwks', (c) => {
    jwksCount++;
    const keys = [primary, secondary, ...retired].map((k) => k.publicJwk);
    return c.body(JSON.stringify({ keys }), 200, {
      'Content-Type': 'application/jwk-set+json',
      'Cache-Control': 'public, max-age=3600',
    });
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const tls = opts.tls ? { createServer: createHttpsServer, serverOptions: { key: opts.tls.key, cert: opts.tls.cert } } : {};
    const s = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host, ...tls }, () => resolve(s as Server)) as Server;
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  url = issuerUrlFor(host, port, Boolean(opts.tls));
  let stopping: Promise<void> | undefined;

  const keyFor = (alg: string | undefined): SigningKey => {
    if (alg === undefined || alg === primary.alg) return primary;
    if (alg === secondary.alg) return secondary;
    throw new TypeError(`dev issuer signs with RS256 or ES256, not ${alg}`);
  };

  return {
    url,
    port,
    mint: async (claims, mintOpts = {}) => signToken(keyFor(mintOpts.alg), url, claims, mintOpts),
    async rotateKey() {
      const next = await generateKey(primary.alg);
      if (opts.keyFile) await saveKey(opts.keyFile, next, false);
      retired.unshift(primary);
      retired.splice(3); // kube-apiserver serves old keys for a while too
      primary = next;
    },
    jwksRequests: () => jwksCount,
    forbidDiscovery(forbidden) {
      discoveryForbidden = forbidden;
    },
    privateJwk: () => ({ ...primary.privateJwk }) as JsonWebKey,
    stop() {
      stopping ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}

/** Signs a token with the key in `keyFile` for an issuer at `issuerUrl`, without a running server (`pgmint token dev`). */
export async function mintDevToken(keyFile: string, issuerUrl: string, claims: DevTokenClaims, ttlSec?: number): Promise<string> {
  const key = await loadKey(keyFile);
  if (!key) throw new Error(`no dev issuer key at ${keyFile}; start the dev issuer once (npm start) to create it`);
  return signToken(key, issuerUrl, claims, { ttlSec });
}
