/**
 * `npm run bench [scenario …]`: starts its own Postgres, issuer and broker,
 * runs the scenarios (default all: latency burst jwks cold-start sweep drain proxy),
 * prints a table and writes bench/results/latest.json.
 *
 * @example
 *   npm run bench                 # all but history and openbao, ~16 minutes on 2 cores
 *   npm run bench -- latency      # floor and exchange only
 *   npm run bench -- history      # 1,000,000 leases and 10,000,000 audit rows vs an empty control plane
 *   BENCH_HISTORY_SCALE=0.1 npm run bench -- history   # a tenth of that history, for a quick look
 *   BENCH_QUICK=1 npm run bench   # smaller counts, for a smoke run
 *   BENCH_BAO=/path/to/bao npm run bench -- openbao   # pgmint vs OpenBao's JWT login + database creds (not in the default run)
 *   BENCH_OPENBAO_BROKER=shared BENCH_OPENBAO_TOTAL=300 npm run bench -- openbao   # OpenBao as pgmint's own broker user; fewer calls
 *   BENCH_SWEEP_SIZES=50000 PGMINT_CREATOR_ROLES=1000 npm run bench -- sweep   # one sweep, other settings
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BAO_MISSING, findBao } from './bao-server.js';
import { type BurstResult, burstScenario } from './burst.js';
import { type ColdStartResult, coldStartScenario } from './cold-start.js';
import { type DrainResult, drainScenario } from './drain.js';
import { type HistoryResult, historyScenario } from './history.js';
import { type JwksResult, jwksScenario } from './jwks.js';
import { type LatencyOptions, type LatencyRow, latencyScenario } from './latency.js';
import { type OpenBaoResult, openbaoScenario } from './openbao.js';
import { type ProxyResult, proxyScenario } from './proxy.js';
import { formatReport } from './report.js';
import { startPostgres, startStack } from './stack.js';
import { type SweepResult, sweepScenario } from './sweep.js';

const ALL = ['latency', 'burst', 'jwks', 'cold-start', 'sweep', 'drain', 'proxy', 'history', 'openbao'] as const;
type Scenario = (typeof ALL)[number];
/** Without arguments: all but `history`, whose load alone takes about 20 minutes, and `openbao`, which needs a binary. */
const DEFAULT: readonly Scenario[] = ALL.filter((s) => s !== 'history' && s !== 'openbao');

export interface BenchResults {
  startedAt: string;
  finishedAt?: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; freeGiB: number; node: string; postgres: string };
  settings: Record<string, string>;
  latency?: LatencyRow[];
  burst?: BurstResult[];
  sweep?: SweepResult;
  drain?: DrainResult;
  coldStart?: ColdStartResult;
  jwks?: JwksResult;
  proxy?: ProxyResult;
  history?: HistoryResult;
  openbao?: OpenBaoResult;
}

const quick = process.env.BENCH_QUICK === '1';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(argv: string[]) {
  const wanted = (argv.length ? argv : [...DEFAULT]) as Scenario[];
  for (const w of wanted) if (!ALL.includes(w)) throw new Error(`unknown scenario ${w}; one of ${ALL.join(', ')}`);
  // Before anything starts: a missing binary should not cost a Postgres start and the scenarios before it.
  const baoBin = wanted.includes('openbao') ? findBao() : null;
  if (wanted.includes('openbao') && !baoBin) throw new Error(BAO_MISSING);
  const brokerEnv = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('PGMINT_') && !!e[1]),
  );
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      freeGiB: Math.round(freemem() / 2 ** 30),
      node: process.version,
      postgres: '',
    },
    settings: { quick: String(quick), ...brokerEnv },
  };
  const outFile = join(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
  const save = async () => {
    await mkdir(dirname(outFile), { recursive: true });
    await writeFile(outFile, `${JSON.stringify(results, null, 2)}\n`);
  };

  // Latency and OpenBao: the same steps, contenders alternating in slices at each concurrency.
  const alternatingSteps: LatencyOptions = {
    levels: [1, 8, 32],
    total: (c) => (quick ? 300 : c === 1 ? 600 : 1500),
    slices: quick ? 2 : 4,
    warmup: quick ? 10 : 20,
    usesPerToken: 4,
    log,
  };
  const pg = await startPostgres();
  try {
    results.machine.postgres = await pg.su('postgres', async (c) => (await c.query('SHOW server_version')).rows[0].server_version);
    if (wanted.includes('latency')) {
      log('latency: floor vs exchange');
      const stack = await startStack(pg, { env: brokerEnv });
      try {
        results.latency = await latencyScenario(stack, alternatingSteps);
      } finally {
        await stack.stop();
      }
      await save();
    }
    if (wanted.includes('burst') || wanted.includes('jwks')) {
      // The JWKS fetch count comes from the largest burst: a fresh broker, 10,000 exchanges.
      const sizes = quick ? [200, 1000] : [1000, 10000];
      if (wanted.includes('burst')) {
        results.burst = [];
        for (const pods of sizes) {
          log(`burst: ${pods} pods`);
          results.burst.push(await burstScenario(pg, { pods, env: brokerEnv, log }));
          await save();
        }
      }
      if (wanted.includes('jwks')) {
        log('jwks');
        results.jwks = await jwksScenario({ exchangesFrom: results.burst?.at(-1), log });
        await save();
      }
    }
    if (wanted.includes('cold-start')) {
      log('cold start');
      results.coldStart = await coldStartScenario(pg, { runs: quick ? 2 : 5, log });
      await save();
    }
    if (wanted.includes('sweep')) {
      log('sweep');
      const sweeps = await sweepScenario(pg, {
        sizes: process.env.BENCH_SWEEP_SIZES
          ? process.env.BENCH_SWEEP_SIZES.split(',').map(Number)
          : quick
            ? [1000, 3000]
            : [1000, 10000, 50000],
        budgetMs: (n) => (n <= 1000 ? 60_000 : n <= 10000 ? 120_000 : 300_000),
        env: brokerEnv,
        log,
      });
      // The baseline: the broker administering every lease role itself, as it must without the pgmint_roles schema.
      const direct = process.env.BENCH_SWEEP_SIZES
        ? { available: true as const, rows: [] }
        : await sweepScenario(pg, {
            sizes: quick ? [1000] : [1000, 3000],
            budgetMs: () => 120_000,
            env: { ...brokerEnv, PGMINT_CREATOR_ROLES: '0' },
            log,
          });
      results.sweep = sweeps.available && direct.available ? { available: true, rows: [...sweeps.rows, ...direct.rows] } : sweeps;
      await save();
    }
    if (wanted.includes('drain')) {
      log('drain');
      results.drain = await drainScenario(pg, { leases: quick ? 1000 : 10000, sessions: quick ? 50 : 200, env: brokerEnv, log });
      await save();
    }
    if (wanted.includes('proxy')) {
      log('proxy: direct, bare pipe, pgbouncer, pgmint proxy');
      results.proxy = await proxyScenario(pg, {
        slices: quick ? 1 : 3,
        seconds: quick ? 3 : 5,
        levels: process.env.BENCH_PROXY_LEVELS ? process.env.BENCH_PROXY_LEVELS.split(',').map(Number) : [1, 8, 32],
        modes: process.env.BENCH_PROXY_MODES ? (process.env.BENCH_PROXY_MODES.split(',') as Array<'S' | 'N'>) : ['S', 'N'],
        env: brokerEnv,
        log,
      });
      await save();
    }
    if (wanted.includes('history')) {
      log('history: empty vs loaded control plane');
      // BENCH_HISTORY_SCALE=0.1 loads a tenth of the history (quick investigation runs); the report states the counts.
      const scale = Number(process.env.BENCH_HISTORY_SCALE ?? (quick ? '0.05' : '1'));
      if (!(scale > 0 && scale <= 1)) throw new Error('BENCH_HISTORY_SCALE must be in (0, 1]');
      results.history = await historyScenario(pg, {
        leases: Math.round(1_000_000 * scale),
        audit: Math.round(10_000_000 * scale),
        slices: quick ? 2 : 4,
        perSlice: quick ? 30 : 100,
        sweepExpired: quick ? 50 : 200,
        env: brokerEnv,
        log,
      });
      await save();
    }
    if (wanted.includes('openbao')) {
      log('openbao: pgmint exchange vs OpenBao JWT login + database creds');
      const stack = await startStack(pg, { env: brokerEnv });
      try {
        // BENCH_OPENBAO_TOTAL: timed calls per contender at every concurrency, instead of the latency scenario's counts.
        const fixed = process.env.BENCH_OPENBAO_TOTAL ? Number(process.env.BENCH_OPENBAO_TOTAL) : null;
        if (fixed !== null && !(fixed > 0)) throw new Error('BENCH_OPENBAO_TOTAL must be a positive number');
        // BENCH_OPENBAO_BROKER=shared: OpenBao logs in as pgmint's broker instead of its own with the same privileges.
        const broker = process.env.BENCH_OPENBAO_BROKER ?? 'own';
        if (broker !== 'own' && broker !== 'shared') throw new Error('BENCH_OPENBAO_BROKER must be own or shared');
        results.openbao = await openbaoScenario(stack, {
          ...alternatingSteps,
          bin: baoBin!,
          broker,
          levels: process.env.BENCH_OPENBAO_LEVELS ? process.env.BENCH_OPENBAO_LEVELS.split(',').map(Number) : alternatingSteps.levels,
          total: (c) => fixed ?? (quick && c === 1 ? 150 : alternatingSteps.total(c)),
        });
      } finally {
        await stack.stop();
      }
      await save();
    }
  } finally {
    await pg.stop();
  }
  results.finishedAt = new Date().toISOString();
  await save();
  process.stdout.write(formatReport(results));
  process.stdout.write(`\nwritten: ${outFile}\n`);
}

await main(process.argv.slice(2));
