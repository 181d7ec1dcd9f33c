/**
 * Advisory locks on the control plane, scoped to the transaction that takes
 * them: a crashed process loses its connection and with it the lock, so no
 * lock outlives its holder. Reached through `store.transaction()`, since a
 * transaction-scoped lock taken outside one is released at once.
 *
 * @example
 *   await deps.store.transaction(async (s) => {
 *     if (!(await s.locks.tryOrphanSweep('orders'))) return; // another sweeper has it
 *   });
 */
import type { Queryable } from '../db/port.js';

/** 'pgmr': the advisory lock namespace for root rotations. */
const ROTATION_SPACE = 0x70676d72;

export function locks(sql: Queryable) {
  const tryLock = async (call: string, params: unknown[]) => {
    const { rows } = await sql.query<{ ok: boolean }>(`SELECT ${call} AS ok`, params);
    return rows[0]?.ok === true;
  };
  return {
    /** One root rotation per database at a time, across every broker instance. */
    tryRotation: (databaseId: string) => tryLock('pg_try_advisory_xact_lock($1, hashtext($2))', [ROTATION_SPACE, databaseId]),
    /** One orphan sweep per database at a time, so two overlapping runs never race for the same role. */
    tryOrphanSweep: (databaseId: string) => tryLock('pg_try_advisory_xact_lock(hashtextextended($1, 0))', [`pgmint:orphans:${databaseId}`]),
  };
}
