/**
 * The floor: what an exchange cannot avoid, sent straight to Postgres with the
 * broker's own driver (lib/db/pg.ts) — insert the pending lease, create the
 * login role with exactly the SQL an exchange sends (SCRAM verifier, VALID
 * UNTIL, IN ROLE, the role's ALTER ROLE … SET lines, through the same creator
 * role's function on PostgreSQL 16+), then activate the lease with its audit
 * row. Verifiers are computed before the run: hashing is pgmint's cost, not
 * the database's.
 *
 * @example
 *   const r = await measureFloor(stack, { concurrency: 8, total: 2000 }); // raw latencies
 */
import { scramSha256Verifier } from '../lib/crypto/scram.js';
import { generatePassword } from '../lib/crypto/password.js';
import { connectPg } from '../lib/db/pg.js';
import { createLoginRoleSql, leaseRoleName, randomSuffix } from '../lib/sql/role-sql.js';
import { leases } from '../lib/store/leases.js';
import { roles } from '../lib/store/roles.js';
import { createLeaseRole, probeCreators } from '../lib/targets/creators.js';
import { closedLoopRaw, type RawLoad } from './load.js';
import { DATABASE_ID, type Stack } from './stack.js';

export async function measureFloor(stack: Stack, o: { concurrency: number; total: number; warmup?: number }): Promise<RawLoad> {
  const control = connectPg({ ...hostOf(stack), database: stack.controlDb, user: stack.pg.superuser, password: stack.pg.password, max: o.concurrency });
  const target = connectPg({ ...hostOf(stack), database: stack.targetDb, user: stack.brokerUser, password: stack.brokerPassword, max: o.concurrency });
  try {
    const role = await roles(control).get(DATABASE_ID, 'readonly');
    if (!role) throw new Error('bench role missing');
    const verifiers = await Promise.all(Array.from({ length: 32 }, () => scramSha256Verifier(generatePassword())));
    const store = leases(control);
    const creators = await probeCreators(target, stack.brokerUser, stack.creatorRoles);
    // Open every connection before timing, as a warm broker would have them.
    await Promise.all(Array.from({ length: o.concurrency }, () => Promise.all([control.query('SELECT 1'), target.query('SELECT 1')])));
    return await closedLoopRaw(o, async (i) => {
      const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const expiresAt = new Date(issuedAt.getTime() + role.defaultTtl * 1000);
      const username = leaseRoleName({ namespace: 'prod', serviceAccount: 'floor', random: randomSuffix(10) });
      const id = crypto.randomUUID();
      await store.insertPending({
        id,
        databaseId: DATABASE_ID,
        roleName: role.name,
        username,
        reassignTo: role.memberOf[0] ?? null,
        subject: 'system:serviceaccount:prod:floor',
        issuer: stack.issuer.url,
        workloadKey: `pod:floor-${i}`,
        podName: `floor-${i}`,
        podUid: null,
        expiresAt,
        maxExpiresAt: new Date(issuedAt.getTime() + role.maxTtl * 1000),
      });
      const statements = createLoginRoleSql({
        name: username,
        verifier: verifiers[i % verifiers.length]!,
        validUntil: expiresAt,
        memberOf: role.memberOf,
        searchPath: role.searchPath ?? undefined,
        readOnly: role.readOnly,
      });
      await createLeaseRole(target, creators, { name: username, statements, groups: role.memberOf });
      await store.activate(id, {
        action: 'credentials.issue',
        outcome: 'success',
        requestId: crypto.randomUUID(),
        databaseId: DATABASE_ID,
        subject: 'system:serviceaccount:prod:floor',
        issuer: stack.issuer.url,
        pod: `floor-${i}`,
        leaseId: id,
        roleName: role.name,
        username,
        detail: { ttl: role.defaultTtl, expires_at: expiresAt.toISOString() },
      });
    });
  } finally {
    await Promise.all([control.end(), target.end()]);
  }
}

function hostOf(stack: Stack) {
  return { host: stack.pg.host, port: stack.pg.port, sslmode: 'disable' as const };
}
