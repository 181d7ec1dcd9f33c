/**
 * Service-account tokens for the load, minted before a timed run so signing
 * never counts against the broker. Each token names its own pod, so the
 * per-pod lease cap is never what a run measures.
 *
 * @example
 *   const tokens = await mintTokens(issuer, 1000);
 *   const pick = reuse(tokens, 4); pick(); // each token handed out 4 times
 */
import type { DevIssuer } from '../functions/local/dev-issuer.js';

export async function mintTokens(issuer: DevIssuer, count: number, namespace = 'prod', serviceAccount = 'api'): Promise<string[]> {
  const tokens: string[] = new Array(count);
  const batch = 64;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    const minted = await Promise.all(
      Array.from({ length: n }, (_, j) =>
        issuer.mint(
          { namespace, serviceAccount, podName: `${serviceAccount}-${i + j}`, podUid: crypto.randomUUID() },
          { ttlSec: 3 * 3600 },
        ),
      ),
    );
    for (let j = 0; j < n; j++) tokens[i + j] = minted[j]!;
  }
  return tokens;
}

/** Hands out tokens round-robin-free: token k serves calls k*uses … k*uses+uses-1. */
export function reuse(tokens: string[], uses: number): () => string {
  let i = 0;
  return () => {
    const token = tokens[Math.floor(i / uses)];
    if (!token) throw new Error(`token pool exhausted after ${i} uses`);
    i++;
    return token;
  };
}
