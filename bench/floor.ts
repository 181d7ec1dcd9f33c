/**
 * The floor: what an exchange cannot avoid, sent straight to Postgres with the
 * broker's own driver (lib/db/pg.ts), in the exchange's own order
 * (lib/leases/write-lease.ts), through the same per-target queue and the
 * same standby roles (lib/targets/standby-roles.ts, made while the queue is
 * empty, as the broker makes them): claim a standby when one is ready (the
 * rename and LOGIN VALID UNTIL, one round trip), else create the login role
 * with exactly the SQL an exchange sends (SCRAM verifier, VALID UNTIL, IN
 * ROLE, the role's ALTER ROLE … SET lines, through the same creator role's
 * function on PostgreSQL 16+); then record the lease, active, with its audit
 * row, under the per-pod cap (the same locked call). When no standby is ready
 * and the floor is alone on its target, as an exchange then does, the lease
 * is written in a control-plane transaction begun while the role is created
 * and committed once it exists. The statements are lib/targets/lease-roles.ts's
 * own. `reserveFirst` is the
 * exchange's other order, for roles the orphan sweep might not recognise and
 * workloads just refused for their cap: the pending lease under the cap, the
 * role, then the activation with its audit row — three. Each role gets a fresh SCRAM verifier from a
 * verifier pool like the exchange's: deriving it (4,096 PBKDF2 iterations) is
 * part of setting a password, whoever does it — the server would, given the
 * plaintext — and both sides may do it ahead of time while idle.
 *
 * @example
 *   const r = await measureFloor(stack, { concurrency: 8, total: 2000 }); // raw latencies
 */
import { createVerifierPool } from '../lib/crypto/verifier-pool.js';
import { connectPg } from '../lib/db/pg.js';
import { leaseRoleName, randomSuffix } from '../lib/sql/lease-name.js';
import { leases } from '../lib/store/leases.js';
import { roles } from '../lib/store/roles.js';
import type { Target } from '../lib/targets/connections.js';
import { probeCreators } from '../lib/targets/creators.js';
import { prepareLeaseRole } from '../lib/targets/lease-roles.js';
import { createLimiter } from '../lib/targets/limiter.js';
import { createStandbyRoles } from '../lib/targets/standby-roles.js';
import { closedLoopRaw, type RawLoad } from './load.js';
import { DATABASE_ID, type Stack } from './stack.js';

export async function measureFloor(
  stack: Stack,
  o: { concurrency: number; total: number; warmup?: number; reserveFirst?: boolean; standbyRoles?: number },
): Promise<RawLoad> {
  const control = connectPg({
    ...hostOf(stack),
    database: stack.controlDb,
    user: stack.pg.superuser,
    password: stack.pg.password,
    max: o.concurrency,
  });
  const target = connectPg({
    ...hostOf(stack),
    database: stack.targetDb,
    user: stack.brokerUser,
    password: stack.brokerPassword,
    // One more for the standby roles' maker, which the broker's pool has room for too.
    max: o.concurrency + 1,
  });
  try {
    const role = await roles(control).get(DATABASE_ID, 'readonly');
    if (!role) throw new Error('bench role missing');
    // Every role gets its own verifier, made the way an exchange makes it (lib/crypto/verifier-pool.ts).
    const passwords = createVerifierPool({ size: 8 });
    const store = leases(control);
    const probed = await probeCreators(target, stack.brokerUser, stack.creatorRoles);
    const creators = async () => probed;
    const limiter = createLimiter(8);
    // The reserve-first order serves roles that never get standbys (custom statements).
    const standbys = createStandbyRoles({
      size: o.reserveFirst ? 0 : (o.standbyRoles ?? 2),
      prefix: 'pgm',
      sql: target,
      limiter,
      creators,
      passwords,
    });
    const onTarget: Target = { sql: target, limiter, creators, standbys, passwords };
    // Open every connection before timing, as a warm broker would have them.
    await Promise.all(Array.from({ length: o.concurrency }, () => Promise.all([control.query('SELECT 1'), target.query('SELECT 1')])));
    const load = await closedLoopRaw(o, () =>
      limiter.run(async () => {
        const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
        const expiresAt = new Date(issuedAt.getTime() + role.defaultTtl * 1000);
        const username = leaseRoleName({ namespace: 'prod', serviceAccount: 'floor', random: randomSuffix(10) });
        const id = crypto.randomUUID();
        // A pod of its own per operation: slices restart `i`, and the lease cap counts per pod.
        const pod = `floor-${id.slice(0, 8)}`;
        const lease = {
          id,
          databaseId: DATABASE_ID,
          roleName: role.name,
          username,
          reassignTo: role.memberOf[0] ?? null,
          subject: 'system:serviceaccount:prod:floor',
          issuer: stack.issuer.url,
          workloadKey: `pod:${pod}`,
          podName: pod,
          podUid: null,
          expiresAt,
          maxExpiresAt: new Date(issuedAt.getTime() + role.maxTtl * 1000),
        };
        const creation = await prepareLeaseRole(onTarget, role, { name: username, expiresAt, pair: await passwords.take() });
        const create = () => creation.create();
        const issued = {
          action: 'credentials.issue',
          outcome: 'success' as const,
          requestId: crypto.randomUUID(),
          databaseId: DATABASE_ID,
          subject: 'system:serviceaccount:prod:floor',
          issuer: stack.issuer.url,
          pod,
          leaseId: id,
          roleName: role.name,
          username,
          detail: { ttl: role.defaultTtl, expires_at: expiresAt.toISOString() },
        };
        if (o.reserveFirst) {
          if (!(await store.insertPendingWithinCap(lease, 10))) throw new Error('lease cap reached');
          await create();
          await store.activate(id, issued);
        } else if (limiter.active === 1 && !creation.claimsStandby) {
          // As an exchange alone on its target does: the lease written in a transaction while the role
          // is created, committed once it exists.
          const created = create();
          await control.transaction(async (tx) => {
            if (!(await leases(tx).insertActiveWithinCap(lease, 10, issued))) throw new Error('lease cap reached');
            await created;
          });
        } else {
          // As exchanges that share their target, or claim a standby, do: the role, then its lease.
          await create();
          if (!(await store.insertActiveWithinCap(lease, 10, issued))) throw new Error('lease cap reached');
        }
      }),
    );
    await standbys.close();
    return load;
  } finally {
    await Promise.all([control.end(), target.end()]);
  }
}

function hostOf(stack: Stack) {
  return { host: stack.pg.host, port: stack.pg.port, sslmode: 'disable' as const };
}
