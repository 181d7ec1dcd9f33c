/**
 * Scenarios 1 and 2 side by side: at each concurrency the floor runs, then the
 * exchange over HTTP, on the same cluster in the same minute, and their ratio
 * is reported. Lease roles are dropped between steps so every step starts
 * from the same catalog size.
 *
 * @example
 *   const rows = await latencyScenario(stack, { levels: [1, 8, 32] });
 */
import { measureExchange } from './exchange.js';
import { measureFloor } from './floor.js';
import type { LoadResult } from './load.js';
import { dropLeaseRoles, type Stack } from './stack.js';
import { mintTokens, reuse } from './tokens.js';

export interface LatencyRow {
  concurrency: number;
  floor: LoadResult;
  exchange: LoadResult;
  /** exchange p50 / floor p50 (goal ≤ 1.3 at concurrency 1). */
  p50Ratio: number;
  /** exchange throughput / floor throughput (goal ≥ 0.8 at 8 and 32). */
  throughputRatio: number;
}

export interface LatencyOptions {
  levels: number[];
  /** Timed operations per step, by concurrency. */
  total: (concurrency: number) => number;
  warmup: number;
  /** How many exchanges share one pod's token (under the lease cap of 10). */
  usesPerToken: number;
  log: (line: string) => void;
}

export async function latencyScenario(stack: Stack, o: LatencyOptions): Promise<LatencyRow[]> {
  const needed = o.levels.reduce((s, c) => s + o.total(c) + o.warmup, 0);
  o.log(`minting ${Math.ceil(needed / o.usesPerToken)} tokens`);
  const nextToken = reuse(await mintTokens(stack.issuer, Math.ceil(needed / o.usesPerToken) + 1), o.usesPerToken);
  const rows: LatencyRow[] = [];
  for (const concurrency of o.levels) {
    const step = { concurrency, total: o.total(concurrency), warmup: o.warmup };
    await dropLeaseRoles(stack.pg, stack.targetDb);
    const floor = await measureFloor(stack, step);
    o.log(`floor    c=${concurrency}: p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms, ${floor.perSec.toFixed(0)}/s, errors ${floor.errors}`);
    await dropLeaseRoles(stack.pg, stack.targetDb);
    const exchange = await measureExchange(stack, nextToken, step);
    o.log(
      `exchange c=${concurrency}: p50 ${exchange.p50Ms.toFixed(2)} ms, p99 ${exchange.p99Ms.toFixed(2)} ms, ${exchange.perSec.toFixed(0)}/s, errors ${exchange.errors}` +
        (exchange.errors ? ` ${JSON.stringify(exchange.errorSamples)}` : ''),
    );
    rows.push({ concurrency, floor, exchange, p50Ratio: exchange.p50Ms / floor.p50Ms, throughputRatio: exchange.perSec / floor.perSec });
  }
  await dropLeaseRoles(stack.pg, stack.targetDb);
  return rows;
}
