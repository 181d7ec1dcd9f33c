/**
 * Which URLs pgmint will fetch issuer metadata and keys from: https://
 * anywhere, http:// only on loopback and only when insecure issuers are
 * allowed (development and tests).
 *
 * @example
 *   validateIssuerUrl('http://127.0.0.1:9000', { allowInsecure: true }); // null (acceptable)
 *   validateIssuerUrl('http://issuer.example.com');                      // 'issuer must use https://'
 */

/** 127.0.0.0/8, ::1 and `localhost`, on a hostname as `URL` canonicalises it. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface UrlRules {
  /** Allow http:// on loopback. */
  allowInsecure?: boolean;
  /** Names the URL in messages (default 'issuer'). */
  what?: string;
  /** An issuer has no query (OpenID Discovery 1.0 §2); a jwks_uri may. */
  allowQuery?: boolean;
}

/**
 * Returns why `url` cannot be fetched from, or null when it can. `what` names
 * the URL in the message ('issuer', 'jwks_uri').
 */
export function validateIssuerUrl(url: string, opts: UrlRules = {}): string | null {
  const what = opts.what ?? 'issuer';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${what} must be an absolute URL`;
  }
  if (u.username || u.password) return `${what} must not carry credentials`;
  if (url.includes('#')) return `${what} must not have a fragment`;
  if (!opts.allowQuery && url.includes('?')) return `${what} must not have a query`;
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:') {
    if (!opts.allowInsecure) return `${what} must use https://`;
    if (!isLoopbackHost(u.hostname)) return `${what} may use http:// only on loopback`;
    return null;
  }
  return `${what} must use https://`;
}

/** Like validateIssuerUrl, as a configuration error. */
export function assertIssuerUrl(url: string, opts: UrlRules = {}): void {
  const problem = validateIssuerUrl(url, opts);
  if (problem) throw new TypeError(problem);
}
