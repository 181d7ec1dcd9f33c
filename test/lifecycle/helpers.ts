/**
 * Shared steps of the lifecycle tests: exchanging tokens over real HTTP,
 * inspecting the target as superuser, and planting expired leases or orphan
 * roles the way a crashed or long-running broker would leave them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { groupsOf, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';

export interface Creds {
  user: string;
  password: string;
  lease_id: string;
  expires_at: string;
  connection_uri: string;
}

export async function workloadToken(
  b: TestBroker,
  opts: { ns?: string; sa?: string; pod?: string; podUid?: string } = {},
): Promise<string> {
  return b.issuer.mint({
    namespace: opts.ns ?? 'prod',
    serviceAccount: opts.sa ?? 'api',
    podName: opts.pod ?? `pod-${randomBytes(3).toString('hex')}`,
    podUid: opts.podUid ?? randomUUID(),
  });
}

export async function exchange(b: TestBroker, token: string, query = ''): Promise<Response> {
  return fetch(`${b.url}/api/v1/databases/main/credentials/k8s${query}`, { headers: { authorization: `Bearer ${token}` } });
}

export async function mint(b: TestBroker, query = '', token?: string): Promise<Creds & { token: string }> {
  const t = token ?? (await workloadToken(b));
  const res = await exchange(b, t, query);
  if (res.status !== 200) throw new Error(`exchange: ${res.status} ${await res.text()}`);
  return { ...((await res.json()) as Creds), token: t };
}

export async function call(b: TestBroker, method: string, path: string, token: string): Promise<Response> {
  return fetch(`${b.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
}

export async function roleExists(b: TestBroker, name: string): Promise<boolean> {
  const { rows } = await withSuperuser(b.pg, b.targetDb, (c) => c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]));
  return rows.length === 1;
}

export async function countRoles(b: TestBroker, prefix: string): Promise<number> {
  const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
    c.query('SELECT count(*)::int AS n FROM pg_roles WHERE starts_with(rolname, $1)', [prefix]),
  );
  return rows[0].n;
}

/** Runs SQL on the target as the broker role itself (so roles are created the way pgmint creates them). */
export async function asBroker<T>(b: TestBroker, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: b.pg.host, port: b.pg.port, database: b.targetDb, user: b.brokerUser, password: b.brokerPassword });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates `n` login roles named `<prefix>_<tag>_<i>` as the broker, already
 * past VALID UNTIL, and (unless `orphans`) an active lease row for each that
 * expired a minute ago. Returns the role names.
 */
export async function plantExpired(
  b: TestBroker,
  n: number,
  opts: { tag: string; orphans?: boolean; databaseId?: string } = { tag: 'x' },
): Promise<string[]> {
  const { ro } = groupsOf(b);
  const names = Array.from({ length: n }, (_, i) => `pgm_${opts.tag}_${String(i).padStart(6, '0')}`);
  await asBroker(b, async (c) => {
    for (let i = 0; i < names.length; i += 1000) {
      const chunk = names.slice(i, i + 1000);
      await c.query(chunk.map((name) => `CREATE ROLE "${name}" LOGIN VALID UNTIL '2000-01-01T00:00:00Z' IN ROLE "${ro}"`).join(';\n'));
    }
  });
  if (!opts.orphans) {
    await b.deps.sql.query(
      `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer, workload_key,
         issued_at, expires_at, max_expires_at)
       SELECT gen_random_uuid(), $1, 'readonly', u, $2, 'active', 'system:serviceaccount:prod:planted', $3, 'sub:planted',
         now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour'
       FROM unnest($4::text[]) AS u`,
      [opts.databaseId ?? 'main', ro, b.issuer.url, names],
    );
  }
  return names;
}

/** Sessions of a role in the whole cluster, as the superuser sees them. */
export async function sessionsOf(b: TestBroker, user: string): Promise<number> {
  const { rows } = await withSuperuser(b.pg, 'postgres', (c) =>
    c.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user]),
  );
  return rows[0].n;
}

/**
 * Waits until a role's last backend has exited: a client's end() returns
 * before the server process is gone, and until then the role is draining.
 */
export async function untilNoSessions(b: TestBroker, user: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await sessionsOf(b, user)) > 0) {
    if (Date.now() > deadline) throw new Error(`${user} still has sessions after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
