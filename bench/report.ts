/**
 * The printed summary of a bench run: one table per scenario, plain text that
 * pastes into the README as Markdown.
 *
 * @example
 *   process.stdout.write(formatReport(results));
 */
import type { DrainResult } from './drain.js';
import type { ContenderResult, OpenBaoResult } from './openbao.js';
import { median, type PeerName, type ProxyResult } from './proxy.js';
import type { BenchResults } from './run.js';

const ms = (v: number | null | undefined) => (v == null || Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const n0 = (v: number) => v.toFixed(0);

function table(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function formatReport(r: BenchResults): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, Node ${m.node}, PostgreSQL ${m.postgres} (embedded, fsync off). ${r.startedAt}`,
  );
  if (r.latency) {
    out.push(
      '\nExchange vs floor (floor = the statements of an exchange, in its order: a standby role claimed (or CREATE ROLE when none is ready), then the lease recorded active with its audit row under the cap; same driver, queue and standby roles, no HTTP)\n',
      table(
        ['clients', 'floor p50 / p99 ms', 'floor /s', 'exchange p50 / p99 ms', 'exchange /s', 'errors', 'p50 ratio', 'throughput ratio'],
        r.latency.map((l) => [
          l.concurrency,
          `${ms(l.floor.p50Ms)} / ${ms(l.floor.p99Ms)}`,
          n0(l.floor.perSec),
          `${ms(l.exchange.p50Ms)} / ${ms(l.exchange.p99Ms)}`,
          n0(l.exchange.perSec),
          l.exchange.errors,
          l.p50Ratio.toFixed(2),
          l.throughputRatio.toFixed(2),
        ]),
      ),
    );
  }
  const reserveFirst = r.latency?.find((l) => l.reserveFirstFloor)?.reserveFirstFloor;
  if (reserveFirst)
    out.push(
      `\nFloor at 1 client in the exchange's other order (pending row, role, activation: custom creation statements, a workload just refused for its cap): p50 ${ms(reserveFirst.p50Ms)} ms, p99 ${ms(reserveFirst.p99Ms)} ms, ${n0(reserveFirst.perSec)}/s`,
    );
  if (r.burst) {
    out.push(
      '\nBurst (every pod asks at once, one connection each, fresh broker)\n',
      table(
        ['pods', 'all served s', 'p50 / p99 ms', 'errors', 'peak sessions target / control', 'sample logins', 'JWKS fetches'],
        r.burst.map((b) => [
          b.pods,
          (b.allServedMs / 1000).toFixed(1),
          `${ms(b.latency.p50Ms)} / ${ms(b.latency.p99Ms)}`,
          b.latency.errors,
          `${b.peakConnections.target} / ${b.peakConnections.controlPlane}`,
          `${b.logins.ok}/${b.logins.tried}`,
          b.jwksFetches,
        ]),
      ),
    );
  }
  if (r.sweep) {
    out.push('\nSweep (expired leases, lib/leases/sweep.ts)\n');
    if (!r.sweep.available) out.push(`not available: ${r.sweep.reason}`);
    else
      out.push(
        table(
          ['creator roles', 'expired leases', 'revoked', 'time s', 'ms per role', 'finished'],
          r.sweep.rows.map((s) => [
            s.creatorRoles ?? '-',
            s.leases,
            s.revoked,
            (s.ms / 1000).toFixed(1),
            s.msPerRole.toFixed(2),
            s.finished ? 'yes' : 'no (time budget)',
          ]),
        ),
      );
  }
  if (r.drain) {
    const d = r.drain;
    out.push(`\nSweep with draining leases (${d.leases} expired, ${d.sessions} of them with an open session)\n`);
    out.push(
      table(
        ['run', 'time s', 'revoked', 'draining'],
        [
          ['first (drops the idle, marks the rest draining)', d.first],
          ['repeat (sessions still open)', d.repeat],
          ['after the sessions closed', d.afterClose],
        ].map(([name, s]) => {
          const run = s as DrainResult['first'];
          return [name as string, (run.ms / 1000).toFixed(2), run.revoked, run.draining];
        }),
      ),
    );
  }
  if (r.coldStart) {
    out.push('\nCold start (fresh Node process → first handled invocation; median)\n');
    if (!r.coldStart.available) out.push(`not available: ${r.coldStart.reason}`);
    else
      out.push(
        table(
          ['bundle', 'runtime', 'size KiB', 'imported ms', 'first answer ms', 'spawn → answer ms', 'status'],
          r.coldStart.rows.map((c) => [
            c.name,
            c.runtime,
            c.bytes == null ? '–' : (c.bytes / 1024).toFixed(0),
            ms(c.importMs),
            ms(c.firstRequestMs),
            ms(c.spawnToFirstMs),
            c.status,
          ]),
        ),
      );
  }
  if (r.jwks) {
    out.push(
      '\nJWKS\n',
      table(
        ['verifications/s serial', 'verifications/s, 16 in flight', 'JWKS fetches (burst)'],
        [
          [
            n0(r.jwks.verificationsPerSec.serial),
            n0(r.jwks.verificationsPerSec.concurrent16),
            r.jwks.burst ? `${r.jwks.burst.jwksFetches} for ${r.jwks.burst.exchanges} exchanges` : '–',
          ],
        ],
      ),
    );
  }
  if (r.proxy) out.push(formatProxy(r.proxy));
  if (r.history) {
    const h = r.history;
    out.push(
      `\nHistory (one client; empty control plane vs ${h.leaseRows.toLocaleString('en')} lease rows and ${h.auditRows.toLocaleString('en')} audit rows, ${(h.loadedBytes / 2 ** 30).toFixed(1)} GiB, loaded in ${h.loadSec.toFixed(0)} s; sweep = ${h.sweepExpired} expired leases)\n`,
      table(
        ['operation', 'empty p50 / p99 ms', 'loaded p50 / p99 ms', 'p50 ratio', 'errors'],
        h.rows.map((row) => [
          row.operation,
          `${ms(row.empty.p50Ms)} / ${ms(row.empty.p99Ms)}`,
          `${ms(row.loaded.p50Ms)} / ${ms(row.loaded.p99Ms)}`,
          row.p50Ratio.toFixed(2),
          row.empty.errors + row.loaded.errors,
        ]),
      ),
    );
  }
  if (r.openbao) out.push(formatOpenBao(r.openbao));
  return `${out.join('\n')}\n`;
}

function formatOpenBao(b: OpenBaoResult): string {
  const cell = (c: ContenderResult) => `${ms(c.p50Ms)} / ${ms(c.p95Ms)}`;
  const ratio = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
  return [
    `\npgmint vs ${b.version} (JWT auth + database secrets engine, storage in the same PostgreSQL, ` +
      `${b.broker === 'own' ? "a broker of its own with the privileges of pgmint's" : "pgmint's broker user"}; alternating slices, no lease roles at the start of each)\n`,
    table(
      [
        'clients',
        'pgmint p50 / p95 ms',
        'pgmint /s',
        'OpenBao login + creds p50 / p95 ms',
        '/s',
        'OpenBao creds, warm token p50 / p95 ms',
        '/s',
        'errors',
        'p50 ratio vs warm / login',
        'throughput ratio vs warm / login',
      ],
      b.rows.map((r) => [
        r.concurrency,
        cell(r.pgmint),
        n0(r.pgmint.perSec),
        cell(r.openbaoLogin),
        n0(r.openbaoLogin.perSec),
        cell(r.openbaoWarm),
        n0(r.openbaoWarm.perSec),
        `${r.pgmint.errors} / ${r.openbaoLogin.errors} / ${r.openbaoWarm.errors}`,
        `${ratio(r.ratios.p50VsWarm)} / ${ratio(r.ratios.p50VsLogin)}`,
        `${ratio(r.ratios.throughputVsWarm)} / ${ratio(r.ratios.throughputVsLogin)}`,
      ]),
    ),
    '\nServer CPU per call (user + system of the serving process, Postgres not included)\n',
    table(
      ['clients', 'pgmint broker', 'OpenBao login + creds', 'OpenBao creds, warm token'],
      b.rows.map((r) => [
        r.concurrency,
        `${ms(r.pgmint.serverCpuMsPerOp)} ms`,
        `${ms(r.openbaoLogin.serverCpuMsPerOp)} ms`,
        `${ms(r.openbaoWarm.serverCpuMsPerOp)} ms`,
      ]),
    ),
    `\nRatios are pgmint / OpenBao. Every path's credential logged in first (${b.checks.map((c) => c.user).join(', ')}: same groups, ${b.checks[0]?.config.join(', ') || 'no settings'}). ` +
      `OpenBao storage rows written: ${b.storageRowsPer.login} per login, ${b.storageRowsPer.creds} per credentials read; ` +
      `${b.storageAfter.rows.toLocaleString('en')} rows, ${(b.storageAfter.bytes / 2 ** 20).toFixed(1)} MiB after the run.`,
  ].join('\n');
}

function formatProxy(p: ProxyResult): string {
  const out: string[] = [
    `\nRelays (pgbench, median TPS of ${p.slices} alternating ${p.seconds} s slices; ratios to direct, and proxy to bare pipe)\n`,
  ];
  const has = (name: PeerName) => p.peers.includes(name);
  const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? (a / b).toFixed(2) : '–');
  out.push(
    table(
      ['mode', 'clients', 'direct', 'bare pipe', 'pgbouncer', 'pgmint proxy', 'proxy / pipe'],
      p.cells.map((c) => {
        const d = median(c.tps.direct);
        const cell = (name: PeerName) => (has(name) ? `${n0(median(c.tps[name]))} (${ratio(median(c.tps[name]), d)})` : '–');
        return [
          `-${c.mode}`,
          c.clients,
          n0(d),
          cell('bare pipe'),
          cell('pgbouncer'),
          cell('pgmint proxy'),
          ratio(median(c.tps['pgmint proxy']), median(c.tps['bare pipe'])),
        ];
      }),
    ),
  );
  const relays = p.peers.filter((n) => n !== 'direct');
  out.push(
    '\nRelay CPU per transaction (user + system time of the relay process / transactions; median of the slices)\n',
    table(
      ['mode', 'clients', ...relays],
      p.cells.map((c) => [`-${c.mode}`, c.clients, ...relays.map((n) => `${n0(median(c.cpuUsPerTx?.[n]))} µs`)]),
    ),
  );
  const one = p.cells.find((c) => c.mode === 'S' && c.clients === 1);
  if (one) {
    const base = median(one.latencyMs.direct);
    out.push(
      '\nAdded latency per query, -S at 1 client (pgbench latency average minus direct)\n',
      table(
        p.peers.filter((n) => n !== 'direct'),
        [p.peers.filter((n) => n !== 'direct').map((n) => `${((median(one.latencyMs[n]) - base) * 1000).toFixed(0)} µs`)],
      ),
    );
  }
  const direct = median(p.connectMs.direct);
  out.push(
    '\nNew connection (pgbench -C, average connection time)\n',
    table(p.peers, [p.peers.map((n) => `${ms(median(p.connectMs[n]))} ms (${ratio(median(p.connectMs[n]), direct)})`)]),
    '\nRelay memory (RSS)\n',
    table(
      ['relay', 'idle', 'with 200 connections'],
      p.memory.map((m) => [m.peer, `${m.idleMiB.toFixed(0)} MiB`, `${m.with200MiB.toFixed(0)} MiB`]),
    ),
  );
  return out.join('\n');
}
