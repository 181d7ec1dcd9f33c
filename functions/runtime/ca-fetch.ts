/**
 * A `fetch` for one issuer's own CA on Node (Lambda, `npm start`, the CLI):
 * discovery and JWKS requests to a cluster whose certificate comes from a
 * private CA trust that CA only, without NODE_EXTRA_CA_CERTS for the whole
 * process. Built on node:https, which takes a `ca` per request; the answer is
 * a standard Response so lib/ and jose use it like any fetch.
 *
 * @example
 *   const fetchForCluster = fetchWithCa(readFileSync('cluster-ca.crt', 'utf8'));
 *   const res = await fetchForCluster('https://kube.internal:6443/.well-known/openid-configuration');
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { Readable } from 'node:stream';

/** Statuses whose Response must have no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

function responseHeaders(res: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

export function fetchWithCa(caPem: string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // http:// issuers exist only on loopback in development; a CA means nothing there.
    if (url.protocol !== 'https:') return globalThis.fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers: Object.fromEntries(new Headers(init?.headers)),
          ca: caPem,
          signal: init?.signal ?? undefined,
        },
        (res) => {
          const status = res.statusCode ?? 502;
          if (NULL_BODY.has(status)) res.resume();
          const body = NULL_BODY.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
          resolve(new Response(body, { status, statusText: res.statusMessage, headers: responseHeaders(res) }));
        },
      );
      req.once('error', reject);
      req.end();
    });
  };
}
