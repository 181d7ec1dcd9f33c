import { readFileSync, readdirSync } from 'node:fs';
import { measureExchange } from './exchange.js';
import { mergeLoads } from './load.js';
import { startPostgres, startStack } from './stack.js';
import { mintTokens } from './tokens.js';

function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch { return 0; }
}
function pgCpu(): number {
  let s = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith('postgres')) s += cpuOf(Number(d)); } catch {}
    try { const st = readFileSync(`/proc/${d}/stat`, 'utf8'); if (st.includes('(postgres)')) {} } catch {}
  }
  return s;
}
const pg = await startPostgres();
const stack = await startStack(pg, { env: JSON.parse(process.env.DIAG_ENV ?? "{}"), nodeArgs: process.env.PROF ? ["--perf-basic-prof"] : [] });
const n = Number(process.env.N ?? 600);
const c = Number(process.env.C ?? 1);
const tokens = await mintTokens(stack.issuer, n * 2 + 100);
let i = 0;
const next = () => tokens[i++ % tokens.length]!;
await measureExchange(stack, next, { concurrency: c, total: 100, warmup: 10 });
const th0 = threads(stack.broker.pid); const b0 = cpuOf(stack.broker.pid), p0 = pgCpu(), t0 = performance.now();
const r = mergeLoads([await measureExchange(stack, next, { concurrency: c, total: n, warmup: 0 })]);
const dt = performance.now() - t0;
console.log(`c=${c} p50 ${r.p50Ms.toFixed(2)} ms, ${(r.ok / dt * 1000).toFixed(0)}/s, broker cpu ${((cpuOf(stack.broker.pid) - b0) / n).toFixed(2)} ms/call, postgres cpu ${((pgCpu() - p0) / n).toFixed(2)} ms/call, errors ${r.errors}`);
const th1 = threads(stack.broker.pid); for (const [k, v] of th1) console.log(k, ((v - (th0.get(k) ?? 0)) / n).toFixed(2), 'ms/call');
await stack.stop();
await pg.stop();

function threads(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
    m.set(`${t}:${comm}:user`, cpuOf2(`/proc/${pid}/task/${t}/stat`, 11)); m.set(`${t}:${comm}:sys`, cpuOf2(`/proc/${pid}/task/${t}/stat`, 12));
  }
  return m;
}
function cpuOf2(path: string, k: number): number {
  const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[k]) * 1000) / 100;
}
