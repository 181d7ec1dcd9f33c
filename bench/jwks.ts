/**
 * Scenario 6: token verification with a warm key cache (TokenVerifier
 * directly, RS256 service-account tokens from the dev issuer), serial and
 * with 16 in flight; and how many JWKS fetches the issuer served during the
 * largest burst (a fresh broker and control plane, so one is expected).
 *
 * @example
 *   const r = await jwksScenario({ exchangesFrom: burst, log: console.log });
 */
import { startDevIssuer } from '../functions/local/dev-issuer.js';
import { TokenVerifier } from '../lib/identity/index.js';
import type { BurstResult } from './burst.js';
import { closedLoop } from './load.js';
import { mintTokens } from './tokens.js';

export interface JwksResult {
  verificationsPerSec: { serial: number; concurrent16: number };
  /** JWKS fetches by the verifier itself during the timed verifications (expected 0: the cache is warm). */
  verifierFetches: number;
  /** JWKS requests the issuer served while a fresh broker handled `exchanges` exchanges. */
  burst: { exchanges: number; jwksFetches: number } | null;
}

export async function jwksScenario(o: { exchangesFrom?: BurstResult; total?: number; log: (l: string) => void }): Promise<JwksResult> {
  const issuer = await startDevIssuer();
  try {
    const verifier = new TokenVerifier({ allowInsecureIssuers: true });
    const keys = { issuer: issuer.url, audiences: ['pgmint'] };
    const tokens = await mintTokens(issuer, 256);
    await verifier.verify(tokens[0]!, keys);
    const before = verifier.stats().jwksFetches;
    const total = o.total ?? 20_000;
    const run = (concurrency: number) =>
      closedLoop({ concurrency, total, warmup: 500 }, async (i) => {
        await verifier.verify(tokens[i % tokens.length]!, keys);
      });
    const serial = await run(1);
    const concurrent = await run(16);
    const result: JwksResult = {
      verificationsPerSec: { serial: serial.perSec, concurrent16: concurrent.perSec },
      verifierFetches: verifier.stats().jwksFetches - before,
      burst: o.exchangesFrom
        ? { exchanges: o.exchangesFrom.pods - o.exchangesFrom.latency.errors, jwksFetches: o.exchangesFrom.jwksFetches }
        : null,
    };
    o.log(
      `jwks: ${serial.perSec.toFixed(0)} verifications/s serial, ${concurrent.perSec.toFixed(0)}/s with 16 in flight; ` +
        `${result.burst ? `${result.burst.jwksFetches} JWKS fetch(es) for ${result.burst.exchanges} exchanges` : 'no burst ran'}`,
    );
    return result;
  } finally {
    await issuer.stop();
  }
}
