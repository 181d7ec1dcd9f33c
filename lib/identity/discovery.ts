/**
 * OpenID Connect discovery for an issuer: fetches
 * `{issuer}/.well-known/openid-configuration` and checks that the document
 * names the registered issuer exactly before trusting its `jwks_uri`.
 *
 * @example
 *   const { jwks_uri } = await discover('https://oidc.eks.eu-west-1.amazonaws.com/id/ABC');
 *   // 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/keys'
 */
import { PgmintError } from '../errors.js';
import { describeFetchError, documentFailure, IssuerFetchError, issuerUnavailable, statusFailure } from './fetch-failure.js';
import { assertIssuerUrl, validateIssuerUrl } from './issuer-url.js';

export interface DiscoveryOptions {
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Default 5 000. */
  timeoutMs?: number;
  /** Allow http:// issuers and jwks_uri on loopback. */
  allowInsecureIssuers?: boolean;
}

export interface DiscoveryDocument {
  issuer: string;
  jwks_uri: string;
}

/** Discovery documents are a few hundred bytes; refuse anything absurd. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

/** Where the discovery document lives; one trailing slash is dropped first (Azure issuers end with '/'). */
export function discoveryUrl(issuerUrl: string): string {
  const base = issuerUrl.endsWith('/') ? issuerUrl.slice(0, -1) : issuerUrl;
  return `${base}/.well-known/openid-configuration`;
}

/** Checks a parsed discovery document against the registered issuer URL. */
export function parseDiscovery(doc: unknown, issuerUrl: string, opts: { allowInsecureIssuers?: boolean } = {}): DiscoveryDocument {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PgmintError('issuer_unavailable', 'discovery document is not a JSON object');
  }
  const { issuer, jwks_uri } = doc as Record<string, unknown>;
  if (issuer !== issuerUrl) {
    throw new PgmintError('issuer_unavailable', 'discovery document names another issuer');
  }
  if (typeof jwks_uri !== 'string') {
    throw new PgmintError('issuer_unavailable', 'discovery document has no jwks_uri');
  }
  const problem = validateIssuerUrl(jwks_uri, {
    allowInsecure: opts.allowInsecureIssuers,
    what: 'jwks_uri',
    allowQuery: true,
  });
  if (problem) throw new PgmintError('issuer_unavailable', problem);
  return { issuer, jwks_uri };
}

/**
 * Every refusal is `issuer_unavailable` whose cause is an IssuerFetchError
 * saying what failed (status, TLS code, network error, unusable document).
 */
export async function discover(issuerUrl: string, opts: DiscoveryOptions = {}): Promise<DiscoveryDocument> {
  assertIssuerUrl(issuerUrl, { allowInsecure: opts.allowInsecureIssuers });
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const url = discoveryUrl(issuerUrl);
  const fail = (failure: ReturnType<typeof statusFailure>) => issuerUnavailable(failure.reason, new IssuerFetchError(failure));
  let body: string;
  try {
    const res = await fetchImpl(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw fail(statusFailure('discovery', url, res.status));
    }
    body = await res.text();
  } catch (cause) {
    if (cause instanceof PgmintError) throw cause;
    throw fail(describeFetchError(cause, url, 'discovery'));
  }
  if (body.length > MAX_DOCUMENT_BYTES) throw fail(documentFailure('discovery', url, 'discovery document too large'));
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw fail(documentFailure('discovery', url, 'discovery document is not JSON'));
  }
  try {
    return parseDiscovery(doc, issuerUrl, opts);
  } catch (err) {
    if (err instanceof PgmintError) throw fail(documentFailure('discovery', url, err.message));
    throw err;
  }
}
