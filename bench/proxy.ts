/**
 * What `pgmint proxy` costs once connections are open, against the right
 * peers measured in alternating slices of one run: pgbench `-S` and `-N` at
 * 1, 8 and 32 clients straight to Postgres, through a bare Node socket pipe
 * (the floor for a relay in Node), through PgBouncer in session mode, and
 * through the proxy; the latency each adds at 1 client; the time to open a
 * connection (`pgbench -C`) against a direct SCRAM login; and each relay's
 * memory with 200 open connections. Every peer logs in as the same kind of
 * lease user with the same grants.
 *
 * @example
 *   const result = await proxyScenario(pg, { slices: 3, seconds: 5, levels: [1, 8, 32], log });
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { CredentialsDocument as Credentials } from '../lib/http/schemas/exchange.js';
import { type Relay, pgbouncerPath, startBarePipe, startPgBouncer, startPgmintProxy } from './relays.js';
import { type BenchPostgres, DATABASE_ID, type Stack, startStack } from './stack.js';

const exec = promisify(execFile);

export type PeerName = 'direct' | 'bare pipe' | 'pgbouncer' | 'pgmint proxy';

interface Peer {
  name: PeerName;
  port: number;
  pid: number | null;
  user: string;
  password?: string;
  database: string;
}

export interface ProxyCell {
  mode: 'S' | 'N';
  clients: number;
  /** Per peer: TPS of each slice, and pgbench's average latency (ms) of each slice. */
  tps: Partial<Record<PeerName, number[]>>;
  latencyMs: Partial<Record<PeerName, number[]>>;
  /** The relay process's CPU time (user + system) per transaction, µs, each slice: robust where TPS is noisy. */
  cpuUsPerTx: Partial<Record<PeerName, number[]>>;
}

export interface ProxyResult {
  available: boolean;
  reason?: string;
  seconds: number;
  slices: number;
  peers: PeerName[];
  cells: ProxyCell[];
  /** pgbench -C: average connection time (ms) per slice. */
  connectMs: Partial<Record<PeerName, number[]>>;
  /** Resident memory (MiB) of each relay process: idle, and with 200 connections open through it. */
  memory: Array<{ peer: PeerName; idleMiB: number; with200MiB: number }>;
}

export const median = (xs: number[] = []) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function pgbench(peer: Peer, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(peer.port),
    PGUSER: peer.user,
    PGDATABASE: peer.database,
    PGSSLMODE: 'disable',
  };
  if (peer.password) env.PGPASSWORD = peer.password;
  try {
    const { stdout, stderr } = await exec('pgbench', ['-n', ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (err) {
    // pgbench exits non-zero when a client failed; what it measured is still printed.
    const e = err as { stdout?: string; stderr?: string };
    process.stderr.write(`[bench] pgbench via ${peer.name} failed: ${(e.stderr ?? '').split('\n').slice(-3).join(' ')}\n`);
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/** A slice in which pgbench finished nothing (a stall on a busy machine) counts as NaN and is left out of the median. */
const number = (text: string, re: RegExp) => {
  const m = re.exec(text);
  return m ? Number(m[1]) : NaN;
};

/** A role that may run pgbench's read/write transactions, handed to the bench issuer's workloads. */
async function prepareBenchRole(stack: Stack): Promise<void> {
  await exec('pgbench', ['-i', '-q', '-s', '4', stack.pg.url(stack.targetDb)]);
  const rw = stack.readonlyGroup.replace(/^app_ro_/, 'app_rw_');
  await stack.pg.su(stack.targetDb, (c) =>
    c.query(`GRANT SELECT, INSERT, UPDATE ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO ${rw}`),
  );
  const steps: Array<[string, string, unknown?]> = [
    ['PUT', `/api/v1/databases/${DATABASE_ID}/roles/bench`, { member_of: [rw], allow_write: true, default_ttl: '4h', max_ttl: '4h' }],
  ];
  for (const [method, path, body] of steps) {
    const res = await stack.admin(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
  const { issuers } = (await (await stack.admin('GET', `/api/v1/databases/${DATABASE_ID}/issuers`)).json()) as {
    issuers: Array<{ id: string }>;
  };
  await stack.admin('DELETE', `/api/v1/databases/${DATABASE_ID}/issuers/${issuers[0]!.id}`);
  const res = await stack.admin('POST', `/api/v1/databases/${DATABASE_ID}/issuers`, {
    issuer: stack.issuer.url,
    allowed_service_accounts: ['prod/*'],
    default_role: 'readonly',
    allowed_roles: ['readonly', 'bench'],
  });
  if (res.status >= 300) throw new Error(`issuer: ${res.status} ${await res.text()}`);
}

async function holdConnections(peer: Peer, n: number): Promise<pg.Client[]> {
  const clients: pg.Client[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = Array.from({ length: Math.min(20, n - i) }, () => {
      const c = new pg.Client({
        host: '127.0.0.1',
        port: peer.port,
        user: peer.user,
        password: peer.password ?? '',
        database: peer.database,
      });
      c.on('error', (err) => process.stderr.write(`[bench] a connection through ${peer.name} failed: ${err.message}\n`));
      return c;
    });
    await Promise.all(batch.map((c) => c.connect()));
    clients.push(...batch);
  }
  await Promise.all(clients.map((c) => c.query('SELECT 1')));
  return clients;
}

export async function proxyScenario(
  server: BenchPostgres,
  o: {
    slices: number;
    seconds: number;
    levels: number[];
    modes?: Array<'S' | 'N'>;
    env?: Record<string, string>;
    log: (line: string) => void;
  },
): Promise<ProxyResult> {
  const result: ProxyResult = { available: true, seconds: o.seconds, slices: o.slices, peers: [], cells: [], connectMs: {}, memory: [] };
  const stack = await startStack(server, { env: o.env });
  const relays: Relay[] = [];
  try {
    await prepareBenchRole(stack);
    const dir = await mkdtemp(join(tmpdir(), 'pgmint-bench-proxy-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, await stack.issuer.mint({ namespace: 'prod', serviceAccount: 'bench-proxy' }));
    const res = await fetch(`${stack.exchangeUrl}?role=bench`, {
      headers: { authorization: `Bearer ${await stack.issuer.mint({ namespace: 'prod', serviceAccount: 'bench-direct' })}` },
    });
    if (!res.ok) throw new Error(`exchange: ${res.status} ${await res.text()}`);
    const creds = (await res.json()) as Credentials;
    const login = { user: creds.user, password: creds.password, database: creds.database };

    const peers: Peer[] = [{ name: 'direct', port: server.port, pid: null, ...login }];
    const pipe = await startBarePipe({ host: server.host, port: server.port });
    relays.push(pipe);
    peers.push({ name: 'bare pipe', port: pipe.port, pid: pipe.pid, ...login });
    const bouncerBin = pgbouncerPath();
    if (bouncerBin) {
      const bouncer = await startPgBouncer(bouncerBin, { host: server.host, port: server.port, ...login });
      relays.push(bouncer);
      peers.push({ name: 'pgbouncer', port: bouncer.port, pid: bouncer.pid, ...login, database: 'bench' });
    } else {
      o.log('pgbouncer not installed (apt-get install pgbouncer): its column stays empty');
    }
    const proxy = await startPgmintProxy({ brokerUrl: stack.broker.url, database: DATABASE_ID, tokenFile, role: 'bench' });
    relays.push(proxy);
    peers.push({ name: 'pgmint proxy', port: proxy.port, pid: proxy.pid, user: 'app', database: 'anything' });
    result.peers = peers.map((p) => p.name);

    // Every peer once, briefly, so no slice pays for a first connection or a cold cache.
    for (const peer of peers) await pgbench(peer, ['-S', '-c', '2', '-j', '2', '-T', '1']);

    for (const mode of o.modes ?? (['S', 'N'] as const)) {
      for (const clients of o.levels) {
        const cell: ProxyCell = { mode, clients, tps: {}, latencyMs: {}, cpuUsPerTx: {} };
        for (let slice = 0; slice < o.slices; slice++) {
          // Rotate the order, so no peer always runs first or last.
          const order = peers.map((_, i) => peers[(i + slice) % peers.length]!);
          for (const peer of order) {
            const cpuBefore = peer.pid === null ? 0 : await cpuSeconds(peer.pid);
            const out = await pgbench(peer, [
              `-${mode}`,
              '-c',
              String(clients),
              '-j',
              String(Math.min(clients, 2)),
              '-T',
              String(o.seconds),
            ]);
            const transactions = number(out, /number of transactions actually processed: (\d+)/);
            if (peer.pid !== null)
              (cell.cpuUsPerTx[peer.name] ??= []).push((((await cpuSeconds(peer.pid)) - cpuBefore) * 1e6) / transactions);
            (cell.tps[peer.name] ??= []).push(number(out, /tps = ([\d.]+) \(without initial connection time\)/));
            (cell.latencyMs[peer.name] ??= []).push(number(out, /latency average = ([\d.]+) ms/));
          }
        }
        o.log(`-${mode} ${clients} clients: ${peers.map((p) => `${p.name} ${median(cell.tps[p.name]).toFixed(0)}`).join(', ')}`);
        result.cells.push(cell);
      }
    }

    for (let slice = 0; slice < o.slices; slice++) {
      for (const peer of peers.map((_, i) => peers[(i + slice) % peers.length]!)) {
        const out = await pgbench(peer, ['-S', '-C', '-c', '1', '-T', String(o.seconds)]);
        (result.connectMs[peer.name] ??= []).push(number(out, /average connection time = ([\d.]+) ms/));
      }
    }
    o.log(`new connection: ${peers.map((p) => `${p.name} ${median(result.connectMs[p.name]).toFixed(2)} ms`).join(', ')}`);

    // PgBouncer keeps its server connections after the clients leave, so it goes last: 200 of them
    // and 200 of another relay's would not fit in max_connections.
    const byMemoryOrder = [...peers].sort((a, b) => Number(a.name === 'pgbouncer') - Number(b.name === 'pgbouncer'));
    for (const peer of byMemoryOrder) {
      if (peer.pid === null) continue;
      const idleMiB = await rssMiB(peer.pid);
      const clients = await holdConnections(peer, 200);
      const with200MiB = await rssMiB(peer.pid);
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      await new Promise((r) => setTimeout(r, 1000));
      result.memory.push({ peer: peer.name, idleMiB, with200MiB });
      o.log(`${peer.name}: ${idleMiB.toFixed(0)} MiB idle, ${with200MiB.toFixed(0)} MiB with 200 connections`);
    }
    return result;
  } finally {
    for (const r of relays.reverse()) await r.stop();
    await stack.stop();
  }
}
