/**
 * Closed-loop load: `concurrency` clients each run `op` back to back until
 * `total` operations have started. Latencies are taken with the monotonic
 * clock per operation; throughput is completed operations over wall time.
 *
 * @example
 *   const r = await closedLoop({ concurrency: 8, total: 2000 }, async () => createRole());
 *   console.log(r.p50Ms, r.perSec);
 */
import http from 'node:http';

export interface LoadResult {
  concurrency: number;
  ok: number;
  errors: number;
  /** Distinct error messages seen, with counts (first 5). */
  errorSamples: Record<string, number>;
  wallMs: number;
  perSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(
  concurrency: number,
  latencies: number[],
  errors: number,
  wallMs: number,
  errorSamples: Record<string, number> = {},
): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / (sorted.length || 1);
  return {
    concurrency,
    ok: sorted.length,
    errors,
    errorSamples,
    wallMs,
    perSec: (sorted.length / wallMs) * 1000,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    meanMs: mean,
  };
}

export interface RawLoad {
  concurrency: number;
  latencies: number[];
  errors: number;
  wallMs: number;
  errorSamples: Record<string, number>;
}

/** Several timed slices of the same load as one result (wall times add up). */
export function mergeLoads(parts: RawLoad[]): LoadResult {
  const samples: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.errorSamples)) samples[k] = (samples[k] ?? 0) + v;
  return summarize(
    parts[0]?.concurrency ?? 0,
    parts.flatMap((p) => p.latencies),
    parts.reduce((s, p) => s + p.errors, 0),
    parts.reduce((s, p) => s + p.wallMs, 0),
    samples,
  );
}

export async function closedLoopRaw(
  o: { concurrency: number; total: number; warmup?: number },
  op: (i: number) => Promise<void>,
): Promise<RawLoad> {
  let next = 0;
  const runUntil = async (limit: number, record: (ms: number) => void, fail: (err: unknown) => void) => {
    const worker = async () => {
      while (next < limit) {
        const i = next++;
        const t0 = performance.now();
        try {
          await op(i);
          record(performance.now() - t0);
        } catch (err) {
          fail(err);
        }
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  };
  if (o.warmup)
    await runUntil(
      o.warmup,
      () => {},
      () => {},
    );
  const latencies: number[] = [];
  const errorSamples: Record<string, number> = {};
  let errors = 0;
  const start = performance.now();
  await runUntil(
    (o.warmup ?? 0) + o.total,
    (ms) => latencies.push(ms),
    (err) => {
      errors++;
      const key = err instanceof Error ? err.message.slice(0, 120) : String(err);
      if (errorSamples[key] !== undefined || Object.keys(errorSamples).length < 5) errorSamples[key] = (errorSamples[key] ?? 0) + 1;
    },
  );
  return { concurrency: o.concurrency, latencies, errors, wallMs: performance.now() - start, errorSamples };
}

export async function closedLoop(
  o: { concurrency: number; total: number; warmup?: number },
  op: (i: number) => Promise<void>,
): Promise<LoadResult> {
  return mergeLoads([await closedLoopRaw(o, op)]);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** A GET with a bearer token over `agent`; resolves with status and body, rejects only on network errors. */
export function httpGet(agent: http.Agent, url: string, token: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Polls `sample` every `everyMs` and keeps the maximum of each key until stopped. */
export function peakSampler(sample: () => Promise<Record<string, number>>, everyMs = 50) {
  const peaks: Record<string, number> = {};
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        for (const [k, v] of Object.entries(await sample())) peaks[k] = Math.max(peaks[k] ?? 0, v);
      } catch {
        // A failed sample is a missed point, not a failed benchmark.
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<Record<string, number>> {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}
