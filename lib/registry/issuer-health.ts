/**
 * Each trusted issuer's key health for the database health report: pinned
 * keys need nothing; a discovered issuer is tried now (discovery and a key
 * fetch, through its own CA), and the report shows the last successful key
 * fetch and the last failure with its reason and what to do about it.
 *
 * @example
 *   const issuers = await issuerHealth(deps, 'orders');
 *   // [{ issuer: 'https://kube.internal', status: 'failing', lastFailure: { status: 403, … }, hint: 'bind …' }]
 */
import type { Deps } from '../deps.js';
import { type FetchFailure, fetchFailureHint } from '../identity/index.js';

export interface IssuerHealth {
  id: string;
  kind: string;
  issuer: string;
  keys: 'pinned' | 'discovered';
  caPem: boolean;
  /** ok: keys fetched just now; failing: the fetch just failed (the stored copy, if any, still serves). */
  status: 'ok' | 'failing' | 'pinned';
  lastKeyFetchAt: string | null;
  lastFailureAt: string | null;
  lastFailure: FetchFailure | null;
  hint: string | null;
}

export async function issuerHealth(deps: Deps, databaseId: string): Promise<IssuerHealth[]> {
  const registered = await deps.store.issuers.list(databaseId);
  const checks = await Promise.all(
    registered.map(async (i) => {
      if (i.pinnedJwks || i.pinnedPems) return null;
      try {
        return await deps.verifier.probe({ issuer: i.issuer, caPem: i.caPem });
      } catch {
        return null; // an issuer URL no longer acceptable (insecure issuers switched off): reported from the store
      }
    }),
  );
  const stored = await deps.store.jwksCache.status(registered.filter((i) => !i.pinnedJwks && !i.pinnedPems).map((i) => i.issuer));
  return registered.map((i, n) => {
    const pinned = Boolean(i.pinnedJwks || i.pinnedPems);
    const row = stored.get(i.issuer);
    const check = checks[n];
    const failure = check && !check.ok ? check.failure : (row?.failure ?? null);
    const failing = check ? !check.ok : Boolean(row?.failedAt && (!row.fetchedAt || row.failedAt > row.fetchedAt));
    return {
      id: i.id,
      kind: i.kind,
      issuer: i.issuer,
      keys: pinned ? 'pinned' : 'discovered',
      caPem: i.caPem !== null,
      status: pinned ? 'pinned' : failing ? 'failing' : 'ok',
      lastKeyFetchAt: row?.fetchedAt?.toISOString() ?? null,
      lastFailureAt: row?.failedAt?.toISOString() ?? null,
      lastFailure: pinned ? null : failure,
      hint: !pinned && failing && failure ? fetchFailureHint(failure) : null,
    };
  });
}
