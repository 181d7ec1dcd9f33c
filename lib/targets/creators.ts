/**
 * Creator roles: on PostgreSQL 16+ lease roles are created, renewed and
 * dropped by one of a fixed set of NOLOGIN `CREATEROLE` roles that the broker
 * owns, not by the broker itself. This module holds what this process knows
 * of them (which are provisioned, which provisioning is in flight) and runs
 * their statements (lib/sql/creator-sql.ts builds them; lib/sql/creator-names.ts
 * names them).
 *
 * Why: since PostgreSQL 16 a non-superuser that creates a role is granted
 * ADMIN OPTION on it, and every CREATE ROLE … IN ROLE, ALTER ROLE and DROP
 * ROLE it runs re-walks all of those grants (`is_admin_of_role`, with the
 * membership caches invalidated by each change). With the broker as the one
 * creator each statement costs time proportional to the live lease roles, so
 * a burst or a sweep of n roles costs n². Spread over `count` creators, each
 * walks about n / count grants: 10,000 live roles cost a DROP ROLE ~28 ms as
 * the broker and ~0.4 ms through 256 creators (bench/ measures it).
 *
 * How: the broker owns the schema `pgmint_roles` in the target database (the
 * bootstrap creates it) and puts one SECURITY DEFINER function per creator
 * there, owned by that creator and executable by the broker alone:
 * `pgmint_roles."<creator>"(statements text)` runs `statements` as the
 * creator. The broker never becomes a creator on the hot path (SET ROLE would
 * re-walk every creator's grants). `pgmint_roles.administer(role, statements)`
 * finds the creator that holds ADMIN OPTION on a role and runs the statements
 * as it — or as the broker, for roles the broker created itself (before this
 * existed, or with custom creation statements).
 *
 * A creator holds CREATEROLE and ADMIN OPTION on the groups it hands out
 * (INHERIT FALSE, SET FALSE), exactly what the broker holds: running SQL as a
 * creator gives the broker nothing it could not already grant itself.
 * Creators are provisioned on first use, one at a time, under an advisory lock.
 *
 * PostgreSQL 15 and older, or a target without the schema, keep the broker as
 * the creator (`direct`).
 *
 * @example
 *   const creators = await probeCreators(target.sql, db.adminUser, 1000);
 *   await createAsCreator(target.sql, creators, { name, statements, groups: ['app_readonly'] });
 */
import type { Queryable, Sql } from '../db/port.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { creatorIndex, creatorName } from '../sql/creator-names.js';
import { creatorProbeSql, installDispatcherSql, provisionCreatorSql, provisionedCreatorsSql, runAsCreatorSql } from '../sql/creator-sql.js';

export type Creators =
  | { mode: 'direct' }
  | {
      mode: 'creators';
      /** The broker's role name. */
      broker: string;
      count: number;
      /** Creators known to be provisioned, with the groups each holds WITH ADMIN OPTION. */
      ready: Map<string, Set<string>>;
      /** Provisioning in flight in this process, so concurrent exchanges wait for one. */
      inflight: Map<string, Promise<void>>;
    };

const UNDEFINED_FUNCTION = '42883';
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Which way lease roles are administered on this target: one query when the
 * target is first used. Creators need PostgreSQL 16+ and a `pgmint_roles`
 * schema owned by the broker; the dispatcher function is installed here if
 * missing.
 */
export async function probeCreators(sql: Queryable, broker: string, count: number): Promise<Creators> {
  if (count < 1) return { mode: 'direct' };
  const probe = creatorProbeSql();
  const { rows } = await sql.query<{ version: number; owned: boolean | null; dispatcher: boolean }>(probe.text, probe.params);
  const row = rows[0]!;
  if (row.version < 160000 || !row.owned) return { mode: 'direct' };
  if (!row.dispatcher) await sql.query(installDispatcherSql(broker));
  // What is provisioned already, so that steady-state creations never take the error path
  // (a failed statement costs the pooled connection, which pg then replaces).
  const provisionedSql = provisionedCreatorsSql();
  const { rows: provisioned } = await sql.query<{ creator: string; groups: string[] }>(provisionedSql.text, provisionedSql.params);
  const ready = new Map(provisioned.map((p) => [p.creator, new Set(p.groups)]));
  return { mode: 'creators', broker, count, ready, inflight: new Map() };
}

/** Creates (or repairs) one creator with ADMIN OPTION on `groups`; idempotent, all-or-nothing. */
export async function provisionCreator(sql: Queryable, broker: string, creator: string, groups: readonly string[]): Promise<void> {
  await sql.query(provisionCreatorSql(broker, creator, groups));
}

export interface CreatorJob {
  name: string;
  /** The CREATE ROLE statements (lib/sql/role-sql.ts); one all-or-nothing string. */
  statements: string;
  /** Groups the role joins: its creator needs ADMIN OPTION on them. */
  groups: readonly string[];
}

/**
 * Runs a lease role's creation statements as its creator: one round trip once
 * the creator is provisioned with the role's groups. A creator this process
 * has not seen yet is provisioned first. Should one have been dropped behind
 * pgmint's back (42883) or lost a group (42501), it is provisioned again and
 * the statements sent once more; they are all-or-nothing, so nothing was
 * created before.
 */
export async function createAsCreator(sql: Sql, creators: Creators, role: CreatorJob): Promise<void> {
  if (creators.mode === 'direct') {
    await sql.query(role.statements);
    return;
  }
  const creator = creatorName(creators.broker, creatorIndex(role.name, creators.count));
  const call = runAsCreatorSql(creator);
  const held = creators.ready.get(creator);
  if (!held || role.groups.some((g) => !held.has(g))) await provisionOnce(sql, creators, creator, role.groups);
  try {
    await sql.query(call, [role.statements]);
  } catch (err) {
    const state = sanitizeDatabaseError(err).sqlstate;
    if (state !== UNDEFINED_FUNCTION && state !== INSUFFICIENT_PRIVILEGE) throw err;
    creators.ready.delete(creator);
    await provisionOnce(sql, creators, creator, role.groups);
    await sql.query(call, [role.statements]);
  }
}

/** Provisions `creator` for `groups`, sharing one attempt among concurrent callers in this process. */
async function provisionOnce(
  sql: Queryable,
  creators: Extract<Creators, { mode: 'creators' }>,
  creator: string,
  groups: readonly string[],
): Promise<void> {
  const key = `${creator}\0${groups.join('\0')}`;
  let pending = creators.inflight.get(key);
  if (!pending) {
    pending = provisionCreator(sql, creators.broker, creator, groups)
      .then(() => {
        const held = creators.ready.get(creator) ?? new Set<string>();
        for (const g of groups) held.add(g);
        creators.ready.set(creator, held);
      })
      .finally(() => creators.inflight.delete(key));
    creators.inflight.set(key, pending);
  }
  await pending;
}

/** Provisions every creator up front (a warm start for benchmarks and `pgmint db prepare`). */
export async function provisionAllCreators(sql: Sql, creators: Creators, groups: readonly string[]): Promise<number> {
  if (creators.mode === 'direct') return 0;
  for (let i = 0; i < creators.count; i++) await provisionCreator(sql, creators.broker, creatorName(creators.broker, i), groups);
  return creators.count;
}
