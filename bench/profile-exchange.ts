/**
 * Where one exchange's time goes. First the wall clock, by phase: the same
 * exchanges served in this process (lib/ with the `pg` driver, `app.request`,
 * no socket) with every control-plane and target statement and the token
 * verification timed, in slices alternating with exchanges over loopback
 * HTTP to the broker process; HTTP is the difference of the two p50s. Then a
 * CPU profile of that broker process (`node --cpu-prof`): `PROFILE_COUNT`
 * sequential exchanges (default 500), the broker stopped (it writes the
 * .cpuprofile into bench/results/), the functions with the most self time,
 * grouped by file.
 *
 * @example
 *   npx tsx bench/profile-exchange.ts
 */
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig } from '../lib/config.js';
import type { Connect, Queryable } from '../lib/db/port.js';
import { connectPg } from '../lib/db/pg.js';
import { buildDeps, closeDeps } from '../lib/deps.js';
import { createApp } from '../lib/http/app.js';
import { fetchWithCa } from '../functions/runtime/ca-fetch.js';
import { closedLoop, httpGet, type LoadResult, mergeLoads, type RawLoad, closedLoopRaw } from './load.js';
import { startPostgres, startStack } from './stack.js';
import { mintTokens } from './tokens.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'results');
const count = Number(process.env.PROFILE_COUNT ?? 500);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const pg = await startPostgres();
try {
  const stack = await startStack(pg, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${OUT}`] });
  // The phases take 2 × (count + 4 × 10 warm-up), the profile count + 20.
  const tokens = await mintTokens(stack.issuer, 3 * count + 120);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let i = 0;
  const phased = await phases(stack, agent, () => tokens[i++]!);
  process.stdout.write(`${phaseReport(phased)}\n`);
  // Every exchange the broker process served, warm-ups included, shares its profile.
  const served = phased.brokerServed + count + 20;
  const r = await closedLoop({ concurrency: 1, total: count, warmup: 20 }, async () => {
    const res = await httpGet(agent, stack.exchangeUrl, tokens[i++]!);
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  });
  agent.destroy();
  await stack.stop();
  process.stdout.write(`${count} exchanges: p50 ${r.p50Ms.toFixed(2)} ms, errors ${r.errors}\n`);
  // The broker's main thread (thread id 0) of the newest run; tsx's loader thread writes one too.
  const files = (await readdir(OUT)).filter((f) => /\.0\.[0-9]+\.cpuprofile$/.test(f));
  const newest = files.sort().at(-1)!;
  const profile = JSON.parse(await readFile(join(OUT, newest), 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, k) => {
    const n = byNode.get(id)!;
    const dt = profile.timeDeltas[k] ?? 0;
    total += dt;
    const file =
      n.callFrame.url
        .replace(/^.*node_modules\//, 'npm:')
        .replace(/^.*\/wt\/[0-9]+\//, '')
        .replace(/^file:\/\//, '') || `(${n.callFrame.functionName || 'native'})`;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const pkg = file.startsWith('npm:')
      ? file
          .split('/')
          .slice(0, file.startsWith('npm:@') ? 2 : 1)
          .join('/')
      : file;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${(v / 1000 / served).toFixed(3)} ms/exchange  ${k}`);
  process.stdout.write(
    `profile ${newest}: ${(total / 1e6).toFixed(1)} s sampled over ${served} exchanges (idle includes the in-process phases)\n\nby file or package\n${top(byFile, 25).join('\n')}\n\nby function (self)\n${top(self, 30).join('\n')}\n`,
  );
} finally {
  await pg.stop();
}

interface PhaseTotals {
  control: number;
  controlStatements: number;
  target: number;
  targetStatements: number;
  verify: number;
}

/** A driver whose statements add their wall time to `totals`, control plane and targets apart. */
function timedConnect(base: Connect, totals: PhaseTotals): Connect {
  return (config) => {
    const sql = base(config);
    const control = config.applicationName === 'pgmint-control';
    const timed = (q: Queryable): Queryable => ({
      async query(text, params) {
        const t0 = performance.now();
        try {
          return await q.query(text, params);
        } finally {
          if (control) {
            totals.control += performance.now() - t0;
            totals.controlStatements++;
          } else {
            totals.target += performance.now() - t0;
            totals.targetStatements++;
          }
        }
      },
    });
    return { ...timed(sql), transaction: (fn) => sql.transaction((tx) => fn(timed(tx))), end: () => sql.end() };
  };
}

interface Phases {
  /** Exchanges the broker process served here, warm-ups included. */
  brokerServed: number;
  http: LoadResult;
  inProcess: LoadResult;
  perExchange: PhaseTotals;
}

async function phases(stack: Awaited<ReturnType<typeof startStack>>, agent: http.Agent, token: () => string): Promise<Phases> {
  const totals: PhaseTotals = { control: 0, controlStatements: 0, target: 0, targetStatements: 0, verify: 0 };
  const deps = await buildDeps(readConfig(stack.env), timedConnect(connectPg, totals), { fetchForCa: fetchWithCa });
  const verify = deps.verifier.verify.bind(deps.verifier);
  deps.verifier.verify = async (t, issuer) => {
    const t0 = performance.now();
    try {
      return await verify(t, issuer);
    } finally {
      totals.verify += performance.now() - t0;
    }
  };
  const app = createApp(deps);
  const httpParts: RawLoad[] = [];
  const inProcessParts: RawLoad[] = [];
  let counted = 0;
  try {
    for (let slice = 0; slice < 4; slice++) {
      httpParts.push(
        await closedLoopRaw({ concurrency: 1, total: count / 4, warmup: 10 }, async () => {
          const res = await httpGet(agent, stack.exchangeUrl, token());
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        }),
      );
      // The warm-up's statements are not counted: totals restart after it.
      let n = 0;
      inProcessParts.push(
        await closedLoopRaw({ concurrency: 1, total: count / 4, warmup: 10 }, async () => {
          const before = { ...totals };
          const res = await app.request(stack.exchangeUrl, { headers: { authorization: `Bearer ${token()}` } });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          await res.text();
          if (++n <= 10) Object.assign(totals, before);
          else counted++;
        }),
      );
    }
  } finally {
    await closeDeps(deps);
  }
  const per = (v: number) => v / Math.max(1, counted);
  return {
    brokerServed: httpParts.length * (count / 4 + 10),
    http: mergeLoads(httpParts),
    inProcess: mergeLoads(inProcessParts),
    perExchange: {
      control: per(totals.control),
      controlStatements: per(totals.controlStatements),
      target: per(totals.target),
      targetStatements: per(totals.targetStatements),
      verify: per(totals.verify),
    },
  };
}

function phaseReport(p: Phases): string {
  const { perExchange: e } = p;
  const rest = p.inProcess.meanMs - e.control - e.target - e.verify;
  const row = (name: string, ms: number) =>
    `  ${name.padEnd(44)} ${ms.toFixed(2).padStart(6)} ms  ${((ms / p.http.meanMs) * 100).toFixed(0).padStart(3)} %`;
  return [
    `one exchange, wall clock (1 client, ${p.http.ok} over HTTP, ${p.inProcess.ok} in process, alternating slices)`,
    `  over loopback HTTP: p50 ${p.http.p50Ms.toFixed(2)} ms, mean ${p.http.meanMs.toFixed(2)} ms; in process: p50 ${p.inProcess.p50Ms.toFixed(2)} ms, mean ${p.inProcess.meanMs.toFixed(2)} ms`,
    row('HTTP (loopback mean minus in-process mean)', p.http.meanMs - p.inProcess.meanMs),
    row(`control-plane statements (${e.controlStatements.toFixed(1)} a exchange)`, e.control),
    row(`target statements (${e.targetStatements.toFixed(1)} a exchange)`, e.target),
    row('token verification (jose, JWKS cached)', e.verify),
    row('the rest (routing, validation, password, JSON)', rest),
  ].join('\n');
}
