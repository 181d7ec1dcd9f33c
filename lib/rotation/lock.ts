/**
 * One rotation per database at a time, across every broker instance: a
 * transaction-scoped advisory lock in the control plane, held on its own
 * connection while the rotation's writes commit on others. A crashed process
 * loses its connection and with it the lock, so no lock outlives its holder.
 * (The control-plane pool therefore needs at least two connections.)
 *
 * @example
 *   const r = await tryRotationLock(deps, 'orders', () => rotate());
 *   if (!r.locked) // another instance is rotating 'orders'
 */
import type { Deps } from '../deps.js';

export type Locked<T> = { locked: true; value: T } | { locked: false };

export async function tryRotationLock<T>(deps: Deps, databaseId: string, fn: () => Promise<T>): Promise<Locked<T>> {
  return deps.store.transaction(async (s) => {
    if (!(await s.locks.tryRotation(databaseId))) return { locked: false } as const;
    return { locked: true, value: await fn() } as const;
  });
}
