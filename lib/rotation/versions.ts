/**
 * The sealed root credential versions of a target and the transitions a
 * rotation makes between them. Only sealed values pass through here; the
 * `rotation` marker ties an interrupted rotation's audit rows to its recovery.
 *
 * @example
 *   const next = promote(db.rootSecret); // current := pending, previous := old current
 */
import type { SealedRootVersions } from '../targets/types.js';

export type RootVersion = 'current' | 'pending' | 'previous';

export interface RootSecret extends SealedRootVersions {
  /** Set while a pending version exists. */
  rotation?: { id: string; started_at: string } | null;
}

export function rootSecretOf(versions: SealedRootVersions): RootSecret {
  return versions as RootSecret;
}

export function withPending(v: SealedRootVersions, pending: string, rotationId: string, startedAt: Date): RootSecret {
  return { current: v.current, pending, previous: v.previous ?? null, rotation: { id: rotationId, started_at: startedAt.toISOString() } };
}

/** The target accepts the pending version: it becomes current and the old current is kept as previous. */
export function promote(v: SealedRootVersions): RootSecret {
  if (!v.pending) throw new TypeError('promote needs a pending version');
  return { current: v.pending, pending: null, previous: v.current, rotation: null };
}

/** The target still accepts the current version: the pending one was never applied and is dropped. */
export function dropPending(v: SealedRootVersions): RootSecret {
  return { current: v.current, pending: null, previous: v.previous ?? null, rotation: null };
}

export function rotationIdOf(v: SealedRootVersions): string | null {
  return rootSecretOf(v).rotation?.id ?? null;
}
