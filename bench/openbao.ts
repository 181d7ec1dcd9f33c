/**
 * pgmint against OpenBao in the same run, on the same PostgreSQL: at each
 * concurrency, in alternating slices with no lease roles on the target at
 * the start of each, (a) pgmint's exchange over HTTP, (b) OpenBao's JWT login
 * with a fresh service-account token followed by a read of
 * database/creds/<role>, and (c) that read alone with a client token each
 * simulated client got once beforehand. Both mint the same login (same
 * groups, ALTER ROLE … SET lines, VALID UNTIL, SCRAM verifier) as a
 * non-superuser broker with the same privileges (bench/bao-setup.ts says why
 * not the same one by default); a credential from each path logs in with a
 * real pg client before anything is timed.
 *
 * @example
 *   const result = await openbaoScenario(stack, { bin: findBao()!, broker: 'own', levels: [1, 8, 32], total: () => 600, slices: 4, warmup: 20, usesPerToken: 4, log });
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import pg from 'pg';
import { startBao, type RunningBao } from './bao-server.js';
import { BAO_USERNAME_PREFIX, type BaoBroker, type BaoPaths, configureBao } from './bao-setup.js';
import { extractCode, measureExchange } from './exchange.js';
import type { LatencyOptions } from './latency.js';
import { closedLoopRaw, type HttpAnswer, httpGet, type LoadResult, mergeLoads, percentile, type RawLoad } from './load.js';
import { dropLeaseRoles, type Stack } from './stack.js';
import { mintTokens, reuse } from './tokens.js';

export type Contender = 'pgmint' | 'openbaoLogin' | 'openbaoWarm';

export interface ContenderResult extends LoadResult {
  p95Ms: number;
  /** CPU time (user + system) of the serving process per completed call: the broker's Node process, or OpenBao's. */
  serverCpuMsPerOp: number;
}

export interface OpenBaoRow {
  concurrency: number;
  pgmint: ContenderResult;
  /** JWT login with a fresh token, then the credentials read with the token it returned. */
  openbaoLogin: ContenderResult;
  /** The credentials read alone, with a client token per simulated client. */
  openbaoWarm: ContenderResult;
  /** pgmint / OpenBao: p50 below 1 and throughput above 1 favour pgmint. */
  ratios: { p50VsWarm: number; p50VsLogin: number; throughputVsWarm: number; throughputVsLogin: number };
}

/** A credential from one path, and what a pg client logged in with it saw. */
export interface LoginCheck {
  path: Contender;
  user: string;
  groups: string[];
  /** pg_roles.rolconfig: the ALTER ROLE … SET lines. */
  config: string[];
  validUntil: string | null;
  readOnly: string;
  ordersVisible: number;
}

export interface OpenBaoResult {
  version: string;
  /** Whose broker user OpenBao's database connection used: one of its own with pgmint's privileges, or pgmint's. */
  broker: BaoBroker;
  creationStatements: string[];
  checks: LoginCheck[];
  /** Rows OpenBao added to its storage table for one login, and for one credentials read. */
  storageRowsPer: { login: number; creds: number };
  /** Rows in OpenBao's storage table, and its size, after the run. */
  storageAfter: { rows: number; bytes: number };
  rows: OpenBaoRow[];
}

/** The latency scenario's steps, counted per contender; the three contenders alternate (a b c c b a …). */
export interface OpenBaoOptions extends LatencyOptions {
  bin: string;
  broker: BaoBroker;
}

export async function openbaoScenario(stack: Stack, o: OpenBaoOptions): Promise<OpenBaoResult> {
  const bao = await startBao(stack.pg, { bin: o.bin, log: o.log });
  try {
    o.log(`${bao.version}, storage ${bao.storageDb} on the bench PostgreSQL`);
    const paths = await configureBao(bao, stack, { broker: o.broker });
    // Calls per contender, warm-ups included; OpenBao also logs each simulated client in once per level, and the checks take a few.
    const calls = o.levels.reduce((s, c) => s + o.slices * (Math.ceil(o.total(c) / o.slices) + o.warmup), 0);
    const exchangeTokens = Math.ceil(calls / o.usesPerToken) + 2;
    const baoTokens = calls + o.levels.reduce((s, c) => s + c, 0) + 2;
    o.log(`minting ${exchangeTokens + baoTokens} tokens`);
    const nextExchangeToken = reuse(await mintTokens(stack.issuer, exchangeTokens), o.usesPerToken);
    // A fresh token for every OpenBao login: its JWT auth does not care, and no pod logs in twice.
    const nextJwt = reuse(await mintTokens(stack.issuer, baoTokens, 'prod', 'bao'), 1);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const storageRows = () => countStorageRows(stack, bao);
    // The subject's first login also creates its identity entity: the storage count starts at the second.
    const warmToken = await baoLogin(agent, bao, paths, nextJwt());
    const rows0 = await storageRows();
    const loginToken = await baoLogin(agent, bao, paths, nextJwt());
    const rows1 = await storageRows();
    const loginCreds = await baoCreds(agent, bao, paths, loginToken);
    const rows2 = await storageRows();
    const checks = [
      await checkLogin(stack, 'pgmint', await exchangeCreds(agent, stack, nextExchangeToken())),
      await checkLogin(stack, 'openbaoLogin', loginCreds),
      await checkLogin(stack, 'openbaoWarm', await baoCreds(agent, bao, paths, warmToken)),
    ];
    agent.destroy();
    compareChecks(checks);
    o.log(
      `checked: ${checks.map((c) => `${c.path} ${c.user}`).join(', ')} logged in, same groups and settings; OpenBao's broker ${paths.brokerUser}`,
    );

    const rows: OpenBaoRow[] = [];
    for (const concurrency of o.levels) {
      const step = { concurrency, total: Math.ceil(o.total(concurrency) / o.slices), warmup: o.warmup };
      // One client token per simulated client, got before any timing, as a long-running pod would hold it.
      const clientTokens = await Promise.all(
        Array.from({ length: concurrency }, () => withAgent(1, (a) => baoLogin(a, bao, paths, nextJwt()))),
      );
      const parts: Record<Contender, Array<RawLoad & { cpuMs: number }>> = { pgmint: [], openbaoLogin: [], openbaoWarm: [] };
      const timed = (who: Contender, pid: number, run: () => Promise<RawLoad>) => async () => {
        const cpu0 = cpuMs(pid);
        const raw = await run();
        parts[who].push({ ...raw, cpuMs: cpuMs(pid) - cpu0 });
      };
      const order = [
        timed('pgmint', stack.broker.pid, () => measureExchange(stack, nextExchangeToken, step)),
        timed('openbaoLogin', bao.pid, () =>
          withAgent(concurrency, (a) =>
            closedLoopRaw(step, async () => {
              await baoCreds(a, bao, paths, await baoLogin(a, bao, paths, nextJwt()));
            }),
          ),
        ),
        timed('openbaoWarm', bao.pid, () =>
          withAgent(concurrency, (a) =>
            closedLoopRaw(step, async (i) => {
              await baoCreds(a, bao, paths, clientTokens[i % concurrency]!);
            }),
          ),
        ),
      ];
      for (let s = 0; s < o.slices; s++) {
        for (const run of s % 2 === 0 ? order : [...order].reverse()) {
          await dropLeaseRoles(stack.pg, stack.targetDb);
          await run();
        }
      }
      const result = (who: Contender): ContenderResult => {
        const merged = mergeLoads(parts[who]);
        const sorted = parts[who].flatMap((p) => p.latencies).sort((a, b) => a - b);
        const cpu = parts[who].reduce((s, p) => s + p.cpuMs, 0);
        return { ...merged, p95Ms: percentile(sorted, 95), serverCpuMsPerOp: cpu / (merged.ok + merged.errors || 1) };
      };
      const [mint, login, warm] = [result('pgmint'), result('openbaoLogin'), result('openbaoWarm')];
      const row: OpenBaoRow = {
        concurrency,
        pgmint: mint,
        openbaoLogin: login,
        openbaoWarm: warm,
        ratios: {
          p50VsWarm: mint.p50Ms / warm.p50Ms,
          p50VsLogin: mint.p50Ms / login.p50Ms,
          throughputVsWarm: mint.perSec / warm.perSec,
          throughputVsLogin: mint.perSec / login.perSec,
        },
      };
      for (const who of ['pgmint', 'openbaoLogin', 'openbaoWarm'] as const) {
        const r = row[who];
        o.log(
          `${who.padEnd(12)} c=${concurrency}: p50 ${r.p50Ms.toFixed(2)} ms, p95 ${r.p95Ms.toFixed(2)} ms, ${r.perSec.toFixed(0)}/s, ` +
            `server CPU ${r.serverCpuMsPerOp.toFixed(2)} ms/call, errors ${r.errors}` +
            (r.errors ? ` ${JSON.stringify(r.errorSamples)}` : ''),
        );
      }
      rows.push(row);
    }
    await dropLeaseRoles(stack.pg, stack.targetDb);
    const after = await stack.pg.su(bao.storageDb, async (c) => {
      const { rows: r } = await c.query<{ rows: number; bytes: string }>(
        "SELECT count(*)::int AS rows, pg_total_relation_size('openbao_kv_store')::text AS bytes FROM openbao_kv_store",
      );
      return { rows: r[0]!.rows, bytes: Number(r[0]!.bytes) };
    });
    return {
      version: bao.version,
      broker: o.broker,
      creationStatements: paths.creationStatements,
      checks,
      storageRowsPer: { login: rows1 - rows0, creds: rows2 - rows1 },
      storageAfter: after,
      rows,
    };
  } finally {
    await bao.stop();
  }
}

async function withAgent<T>(sockets: number, fn: (agent: http.Agent) => Promise<T>): Promise<T> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  try {
    return await fn(agent);
  } finally {
    agent.destroy();
  }
}

/** A JSON POST over `agent`, the login's counterpart of load.ts's httpGet. */
function httpPost(agent: http.Agent, url: string, body: unknown): Promise<HttpAnswer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** OpenBao's errors come as `{ "errors": [...] }`. */
function baoError(res: HttpAnswer): Error {
  let detail = res.body.slice(0, 120);
  try {
    detail = String((JSON.parse(res.body) as { errors?: string[] }).errors?.[0] ?? detail).slice(0, 120);
  } catch {}
  return new Error(`HTTP ${res.status} ${detail}`);
}

async function baoLogin(agent: http.Agent, bao: RunningBao, paths: BaoPaths, jwt: string): Promise<string> {
  const res = await httpPost(agent, `${bao.url}${paths.loginPath}`, { role: paths.jwtRole, jwt });
  if (res.status !== 200) throw baoError(res);
  return (JSON.parse(res.body) as { auth: { client_token: string } }).auth.client_token;
}

interface Creds {
  user: string;
  password: string;
}

async function baoCreds(agent: http.Agent, bao: RunningBao, paths: BaoPaths, token: string): Promise<Creds> {
  // Authorization: Bearer, which OpenBao accepts like X-Vault-Token: the same request shape as the exchange.
  const res = await httpGet(agent, `${bao.url}${paths.credsPath}`, token);
  if (res.status !== 200) throw baoError(res);
  const { data } = JSON.parse(res.body) as { data: { username: string; password: string } };
  return { user: data.username, password: data.password };
}

async function exchangeCreds(agent: http.Agent, stack: Stack, token: string): Promise<Creds> {
  const res = await httpGet(agent, stack.exchangeUrl, token);
  if (res.status !== 200) throw new Error(`exchange: HTTP ${res.status} ${extractCode(res.body)}`);
  return JSON.parse(res.body) as Creds;
}

/** Logs in with `creds` as an application would, and reads back what the role is. */
async function checkLogin(stack: Stack, path: Contender, creds: Creds): Promise<LoginCheck> {
  const client = new pg.Client({
    host: stack.pg.host,
    port: stack.pg.port,
    database: stack.targetDb,
    user: creds.user,
    password: creds.password,
  });
  await client.connect().catch((err: Error) => {
    throw new Error(`${path}: ${creds.user} cannot log in: ${err.message}`);
  });
  try {
    const { rows } = await client.query<{ u: string; ro: string; n: number }>(
      "SELECT current_user AS u, current_setting('default_transaction_read_only') AS ro, (SELECT count(*)::int FROM app.orders) AS n",
    );
    const role = await stack.pg.su(stack.targetDb, async (c) => {
      const { rows: r } = await c.query<{ groups: string[]; config: string[] | null; valid: Date | null }>(
        `SELECT array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS groups,
                r.rolconfig AS config, r.rolvaliduntil AS valid
           FROM pg_roles r WHERE r.rolname = $1`,
        [creds.user],
      );
      return r[0]!;
    });
    return {
      path,
      user: rows[0]!.u,
      groups: role.groups,
      config: role.config ?? [],
      validUntil: role.valid?.toISOString() ?? null,
      readOnly: rows[0]!.ro,
      ordersVisible: rows[0]!.n,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** Refuses to measure unless OpenBao's logins are pgmint's kind of login: same groups and settings, an expiry, a `pgm_` name. */
function compareChecks(checks: LoginCheck[]): void {
  const [mint, ...bao] = checks;
  for (const c of bao) {
    const same = JSON.stringify(c.groups) === JSON.stringify(mint!.groups) && JSON.stringify(c.config) === JSON.stringify(mint!.config);
    if (!same || !c.validUntil || c.readOnly !== mint!.readOnly || !c.user.startsWith(BAO_USERNAME_PREFIX))
      throw new Error(`${c.path} login differs from pgmint's: ${JSON.stringify(c)} vs ${JSON.stringify(mint)}`);
  }
}

async function countStorageRows(stack: Stack, bao: RunningBao): Promise<number> {
  return stack.pg.su(
    bao.storageDb,
    async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM openbao_kv_store')).rows[0]!.n,
  );
}

let clockTicks = 0;

/** User + system CPU time of process `pid` so far, in ms (Linux /proc; NaN elsewhere). */
function cpuMs(pid: number): number {
  try {
    clockTicks ||= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    // Fields after the parenthesised command name: state is [0], utime [11], stime [12].
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000;
  } catch {
    return Number.NaN;
  }
}
