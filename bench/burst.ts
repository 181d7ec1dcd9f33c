/**
 * Scenario 3: N pods (N distinct service-account tokens) ask a fresh broker
 * at the same moment, each on its own connection. Reports the time until the
 * last pod holds credentials, the latency spread, errors by code, the peak
 * number of sessions on the target and control-plane databases, a sample of
 * logins made with the returned credentials by a real pg client, and how many
 * times the issuer's JWKS was fetched.
 *
 * @example
 *   const r = await burstScenario(pg, { pods: 1000, env: {}, log: console.log });
 */
import http from 'node:http';
import pg from 'pg';
import { extractCode } from './exchange.js';
import { httpGet, peakSampler, summarize, type LoadResult } from './load.js';
import { type BenchPostgres, dropLeaseRoles, startStack } from './stack.js';
import { mintTokens } from './tokens.js';

export interface BurstResult {
  pods: number;
  /** From the first request sent until the last pod held credentials. */
  allServedMs: number;
  latency: LoadResult;
  errorsByCode: Record<string, number>;
  peakConnections: { target: number; controlPlane: number };
  logins: { tried: number; ok: number };
  /**
   * JWKS requests the issuer served since the stack started: registration tests discovery and
   * caches the keys in the control plane, so a burst that needs no further fetch counts 1.
   */
  jwksFetches: number;
}

interface Creds {
  user: string;
  password: string;
}

export async function burstScenario(
  server: BenchPostgres,
  o: { pods: number; env: Record<string, string>; sample?: number; log: (l: string) => void },
): Promise<BurstResult> {
  const stack = await startStack(server, { env: o.env });
  const monitor = new pg.Client({ connectionString: server.url('postgres') });
  await monitor.connect();
  try {
    o.log(`minting ${o.pods} tokens`);
    const tokens = await mintTokens(stack.issuer, o.pods);
    const sampler = peakSampler(async () => {
      const { rows } = await monitor.query<{ datname: string; n: number }>(
        'SELECT datname, count(*)::int AS n FROM pg_stat_activity WHERE datname = ANY($1) GROUP BY datname',
        [[stack.targetDb, stack.controlDb]],
      );
      return Object.fromEntries(rows.map((r) => [r.datname, r.n]));
    }, 25);
    // One connection per pod, all opened at once, as pods starting together would.
    const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    const latencies: number[] = [];
    const errorsByCode: Record<string, number> = {};
    const creds: Creds[] = [];
    const start = performance.now();
    await Promise.all(
      tokens.map(async (token) => {
        const t0 = performance.now();
        try {
          const res = await httpGet(agent, stack.exchangeUrl, token);
          if (res.status === 200) {
            latencies.push(performance.now() - t0);
            const body = JSON.parse(res.body) as Creds;
            creds.push({ user: body.user, password: body.password });
          } else {
            const code = `${res.status} ${extractCode(res.body)}`;
            errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
            // The first answer of each code says why, for the log.
            if (errorsByCode[code] === 1)
              o.log(`burst ${o.pods}: first ${code} at ${((t0 - start) / 1000).toFixed(1)} s: ${res.body.slice(0, 300)}`);
          }
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'network';
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
        }
      }),
    );
    const allServedMs = performance.now() - start;
    agent.destroy();
    const peaks = await sampler.stop();
    const jwksFetches = stack.issuer.jwksRequests();
    const errors = Object.values(errorsByCode).reduce((s, n) => s + n, 0);
    o.log(
      `burst ${o.pods}: all served in ${(allServedMs / 1000).toFixed(1)} s, errors ${errors} ${errors ? JSON.stringify(errorsByCode) : ''}`,
    );

    const sample = Math.min(o.sample ?? 50, creds.length);
    let ok = 0;
    for (let i = 0; i < sample; i++) {
      const c = creds[Math.floor(Math.random() * creds.length)]!;
      const client = new pg.Client({ host: server.host, port: server.port, database: stack.targetDb, user: c.user, password: c.password });
      try {
        await client.connect();
        const { rows } = await client.query<{ u: string }>('SELECT current_user AS u');
        if (rows[0]?.u === c.user) ok++;
      } catch {
        // counted as a failed login
      } finally {
        await client.end().catch(() => {});
      }
    }
    return {
      pods: o.pods,
      allServedMs,
      latency: summarize(o.pods, latencies, errors, allServedMs),
      errorsByCode,
      // The monitor's own session is on `postgres`, not counted.
      peakConnections: { target: peaks[stack.targetDb] ?? 0, controlPlane: peaks[stack.controlDb] ?? 0 },
      logins: { tried: sample, ok },
      jwksFetches,
    };
  } finally {
    await monitor.end();
    await stack.stop();
    await dropLeaseRoles(server, stack.targetDb);
  }
}
