/**
 * Workload identity: read a token's issuer, verify it against that issuer's
 * keys (discovered or pinned), and map Kubernetes claims to a service account.
 *
 * @example
 *   const verifier = new TokenVerifier({ jwksStore });
 *   const { payload } = await verifier.verify(bearer, { issuer: peekIssuer(bearer), audiences: ['pgmint'] });
 *   const id = k8sIdentity(payload);
 *   if (!matchServiceAccount(['prod/*'], id.namespace, id.serviceAccount)) throw new PgmintError('not_allowed', '…');
 */
export { requireBearer } from './bearer.js';
export { discover, discoveryUrl, parseDiscovery, type DiscoveryDocument, type DiscoveryOptions } from './discovery.js';
export {
  describeFetchError,
  type FetchFailure,
  fetchFailureHint,
  fetchFailureOf,
  IssuerFetchError,
  urlWithoutQuery,
} from './fetch-failure.js';
export { isLoopbackHost, validateIssuerUrl } from './issuer-url.js';
export type { ProbeResult, RemoteKeyStats } from './jwks.js';
export {
  isNamespaceName,
  isServiceAccountName,
  k8sIdentity,
  matchServiceAccount,
  parseServiceAccountSubject,
  validateServiceAccountPattern,
  type K8sIdentity,
} from './k8s-claims.js';
export { peekIssuer } from './peek.js';
export { pemsToJwks, PinnedKeyError, pinnedKeyResolver, validatePinnedJwks, type KeyResolver } from './pinned.js';
export { checkTokenTimes } from './token-policy.js';
export { DEFAULT_MAX_TOKEN_LIFETIME_SEC, type IssuerKeys, type JwksStore, type VerifiedToken, type VerifierOptions } from './types.js';
export { ALLOWED_ALGORITHMS, TokenVerifier } from './verify.js';
