/**
 * Scenario 5: each deployable bundle's size, and for the Lambda bundles the
 * time from a fresh Node process to its first handled invocation (the API's
 * first being a real exchange with a fresh token, so it includes connecting
 * to both databases and loading the issuer's keys). Bundles are built from the
 * current tree with infra/build.ts into a temporary folder; a function whose
 * entry or build script does not exist is reported as not available.
 *
 * @example
 *   const r = await coldStartScenario(pg, { runs: 5, log: console.log });
 */
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile } from './load.js';
import { type BenchPostgres, DATABASE_ID, startStack } from './stack.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ColdStartRow {
  name: string;
  runtime: string;
  bytes: number | null;
  /** Median over runs: process start → module imported → first invocation answered (ms). */
  importMs: number | null;
  firstRequestMs: number | null;
  /** Wall time from spawn in the parent until the child reported (includes Node's own boot). */
  spawnToFirstMs: number | null;
  status: string;
}

export type ColdStartResult = { available: false; reason: string } | { available: true; rows: ColdStartRow[] };

interface ChildTimes {
  booted: number;
  imported: number;
  handled: number;
  status: string;
}

function runChild(bundle: string, event: unknown, env: Record<string, string>): Promise<ChildTimes & { wallMs: number }> {
  const start = performance.now();
  const child = fork(join(ROOT, 'bench/cold-start-child.mjs'), [], {
    env: { ...env, BENCH_BUNDLE: bundle, BENCH_EVENT: JSON.stringify(event), PATH: process.env.PATH ?? '' },
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ ...(m as ChildTimes), wallMs: performance.now() - start }));
    child.once('exit', (code) => reject(new Error(`cold-start child exited with ${code}`)));
  });
}

interface HttpEvent {
  rawPath: string;
  headers: Record<string, string>;
  requestContext: { requestId: string; http: { path: string } };
}

function exchangeEvent(token: string): HttpEvent {
  const event = JSON.parse(readFileSync(join(ROOT, 'infra/events/api-exchange.json'), 'utf8')) as HttpEvent;
  event.rawPath = `/api/v1/databases/${DATABASE_ID}/credentials/k8s`;
  event.requestContext.http.path = event.rawPath;
  event.requestContext.requestId = crypto.randomUUID();
  event.headers.authorization = `Bearer ${token}`;
  return event;
}

export async function coldStartScenario(server: BenchPostgres, o: { runs: number; log: (l: string) => void }): Promise<ColdStartResult> {
  if (!existsSync(join(ROOT, 'infra/build.ts'))) return { available: false, reason: 'infra/build.ts does not exist' };
  const { buildBundles, FUNCTIONS } = (await import('../infra/build.js')) as typeof import('../infra/build.js');
  const outdir = await mkdtemp(join(tmpdir(), 'pgmint-bench-dist-'));
  const stack = await startStack(server);
  try {
    const built = await buildBundles({ outdir });
    const rows: ColdStartRow[] = [];
    for (const spec of FUNCTIONS) {
      const bundle = built.bundles.find((b) => b.name === spec.name);
      if (!bundle) {
        rows.push({
          name: spec.name,
          runtime: spec.runtime,
          bytes: null,
          importMs: null,
          firstRequestMs: null,
          spawnToFirstMs: null,
          status: 'not available (no entry)',
        });
        continue;
      }
      if (spec.runtime !== 'lambda') {
        rows.push({
          name: spec.name,
          runtime: spec.runtime,
          bytes: bundle.bytes,
          importMs: null,
          firstRequestMs: null,
          spawnToFirstMs: null,
          status: 'size only (runs on workerd)',
        });
        continue;
      }
      const times: Array<ChildTimes & { wallMs: number }> = [];
      for (let i = 0; i < o.runs; i++) {
        const event =
          spec.name === 'api'
            ? exchangeEvent(await stack.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() }))
            : JSON.parse(readFileSync(join(ROOT, 'infra/events', spec.name === 'sweep' ? 'sweep.json' : 'rotate-root.json'), 'utf8'));
        times.push(await runChild(bundle.file, event, stack.env));
      }
      const median = (f: (t: ChildTimes & { wallMs: number }) => number) =>
        percentile(
          times.map(f).sort((a, b) => a - b),
          50,
        );
      const row: ColdStartRow = {
        name: spec.name,
        runtime: spec.runtime,
        bytes: bundle.bytes,
        importMs: median((t) => t.imported),
        firstRequestMs: median((t) => t.handled),
        spawnToFirstMs: median((t) => t.wallMs),
        status: [...new Set(times.map((t) => t.status))].join(', '),
      };
      o.log(
        `cold start ${spec.name}: ${(row.bytes! / 1024).toFixed(0)} KiB, imported at ${row.importMs!.toFixed(0)} ms, first answer at ${row.firstRequestMs!.toFixed(0)} ms (${row.status})`,
      );
      rows.push(row);
    }
    return { available: true, rows };
  } finally {
    await stack.stop();
    await rm(outdir, { recursive: true, force: true });
  }
}
