/**
 * Workloads this process refused for their lease cap within the last minute
 * (the 429's Retry-After). An exchange usually creates the role first and
 * checks the cap as it records the lease, so a refusal costs a role created
 * and dropped; a workload remembered here is checked first instead (its lease
 * reserved before the role exists), so one that keeps asking past its cap
 * costs the control plane one statement a request and the target nothing.
 * Being remembered never refuses anything by itself.
 *
 * @example
 *   if (deps.cappedWorkloads.refusedRecently(key)) { … reserve first … }
 */

/** Past this many remembered workloads the oldest are forgotten: memory stays bounded under any load. */
const LIMIT = 10_000;

export interface CapMemo {
  refusedRecently(key: string): boolean;
  remember(key: string): void;
}

export function createCapMemo(options: { forMs?: number; now?: () => number } = {}): CapMemo {
  const forMs = options.forMs ?? 60_000;
  const now = options.now ?? Date.now;
  // Insertion order is expiry order (every entry lives forMs), so the oldest come first.
  const until = new Map<string, number>();
  return {
    refusedRecently(key) {
      const expiry = until.get(key);
      if (expiry === undefined) return false;
      if (expiry > now()) return true;
      until.delete(key);
      return false;
    },
    remember(key) {
      until.delete(key);
      until.set(key, now() + forMs);
      for (const [oldest, expiry] of until) {
        if (until.size <= LIMIT && expiry > now()) break;
        until.delete(oldest);
      }
    },
  };
}

/** What the cap counts by: a workload of one issuer on one database. */
export function capKey(databaseId: string, issuer: string, workloadKey: string): string {
  return `${databaseId}\n${issuer}\n${workloadKey}`;
}
