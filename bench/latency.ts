/**
 * Scenarios 1 and 2 side by side: at each concurrency the floor and the
 * exchange over HTTP run on the same cluster in alternating slices, and their
 * ratio is reported.
 *
 * @example
 *   const rows = await latencyScenario(stack, { levels: [1, 8, 32], total: () => 1000, slices: 4, warmup: 20, usesPerToken: 4, log });
 */
import { measureExchange } from './exchange.js';
import { measureFloor } from './floor.js';
import { type LoadResult, mergeLoads, type RawLoad } from './load.js';
import { dropLeaseRoles, type Stack } from './stack.js';
import { mintTokens, reuse } from './tokens.js';

export interface LatencyRow {
  concurrency: number;
  floor: LoadResult;
  exchange: LoadResult;
  /** At 1 client: the floor in the exchange's other order (pending row, role, activation), for comparison. */
  reserveFirstFloor?: LoadResult;
  /** exchange p50 / floor p50 (goal ≤ 1.3 at concurrency 1). */
  p50Ratio: number;
  /** exchange throughput / floor throughput (goal ≥ 0.8 at 8 and 32). */
  throughputRatio: number;
}

export interface LatencyOptions {
  levels: number[];
  /** Timed operations per step (floor and exchange each), by concurrency. */
  total: (concurrency: number) => number;
  /** Slices each step is cut into; floor and exchange slices alternate (F E E F …). */
  slices: number;
  warmup: number;
  /** How many exchanges share one pod's token (under the lease cap of 10). */
  usesPerToken: number;
  log: (line: string) => void;
}

/**
 * Floor and exchange alternate in short slices, and every slice starts with
 * no lease roles on the target: what CREATE ROLE costs a CREATEROLE broker
 * grows with the roles it administers, and other load on the machine drifts,
 * so both sides see the same catalog and the same minute.
 */
export async function latencyScenario(stack: Stack, o: LatencyOptions): Promise<LatencyRow[]> {
  const needed = o.levels.reduce((s, c) => s + o.total(c) + o.warmup * o.slices, 0);
  o.log(`minting ${Math.ceil(needed / o.usesPerToken)} tokens`);
  const nextToken = reuse(await mintTokens(stack.issuer, Math.ceil(needed / o.usesPerToken) + 1), o.usesPerToken);
  const rows: LatencyRow[] = [];
  for (const concurrency of o.levels) {
    const step = { concurrency, total: Math.ceil(o.total(concurrency) / o.slices), warmup: o.warmup };
    const floorParts: RawLoad[] = [];
    const exchangeParts: RawLoad[] = [];
    const reserveFirstParts: RawLoad[] = [];
    const runFloor = async () => floorParts.push(await measureFloor(stack, step));
    const runExchange = async () => exchangeParts.push(await measureExchange(stack, nextToken, step));
    const runReserveFirst = async () => reserveFirstParts.push(await measureFloor(stack, { ...step, reserveFirst: true }));
    const order = concurrency === 1 ? [runFloor, runReserveFirst, runExchange] : [runFloor, runExchange];
    for (let s = 0; s < o.slices; s++) {
      for (const run of s % 2 === 0 ? order : [...order].reverse()) {
        await dropLeaseRoles(stack.pg, stack.targetDb);
        await run();
      }
    }
    const floor = mergeLoads(floorParts);
    const exchange = mergeLoads(exchangeParts);
    o.log(
      `floor    c=${concurrency}: p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms, ${floor.perSec.toFixed(0)}/s, errors ${floor.errors}`,
    );
    o.log(
      `exchange c=${concurrency}: p50 ${exchange.p50Ms.toFixed(2)} ms, p99 ${exchange.p99Ms.toFixed(2)} ms, ${exchange.perSec.toFixed(0)}/s, errors ${exchange.errors}` +
        (exchange.errors ? ` ${JSON.stringify(exchange.errorSamples)}` : ''),
    );
    const reserveFirstFloor = reserveFirstParts.length > 0 ? mergeLoads(reserveFirstParts) : undefined;
    if (reserveFirstFloor)
      o.log(
        `floor, pending row first, c=${concurrency}: p50 ${reserveFirstFloor.p50Ms.toFixed(2)} ms, ${reserveFirstFloor.perSec.toFixed(0)}/s`,
      );
    rows.push({
      concurrency,
      floor,
      exchange,
      reserveFirstFloor,
      p50Ratio: exchange.p50Ms / floor.p50Ms,
      throughputRatio: exchange.perSec / floor.perSec,
    });
  }
  await dropLeaseRoles(stack.pg, stack.targetDb);
  return rows;
}
