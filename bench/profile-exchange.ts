/**
 * A CPU profile of the broker serving exchanges one at a time: starts the
 * bench stack with the broker under `node --cpu-prof`, runs `PROFILE_COUNT`
 * sequential exchanges (default 500), stops the broker (which writes the
 * .cpuprofile into bench/results/) and prints the functions with the most
 * self time, grouped by file.
 *
 * @example
 *   npx tsx bench/profile-exchange.ts
 */
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedLoop, httpGet } from './load.js';
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
  const tokens = await mintTokens(stack.issuer, count + 20);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let i = 0;
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
  const profile = JSON.parse(await readFile(join(OUT, newest), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, k) => {
    const n = byNode.get(id)!;
    const dt = profile.timeDeltas[k] ?? 0;
    total += dt;
    const file = n.callFrame.url.replace(/^.*node_modules\//, 'npm:').replace(/^.*\/wt\/[0-9]+\//, '').replace(/^file:\/\//, '') || `(${n.callFrame.functionName || 'native'})`;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${file}:${n.callFrame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const pkg = file.startsWith('npm:') ? file.split('/').slice(0, file.startsWith('npm:@') ? 2 : 1).join('/') : file;
    byFile.set(pkg, (byFile.get(pkg) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)} %  ${(v / 1000 / count).toFixed(3)} ms/exchange  ${k}`);
  process.stdout.write(`profile ${newest}: ${(total / 1e6).toFixed(1)} s sampled\n\nby file or package\n${top(byFile, 25).join('\n')}\n\nby function (self)\n${top(self, 30).join('\n')}\n`);
} finally {
  await pg.stop();
}
