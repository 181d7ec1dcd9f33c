/**
 * What the target port needs to know of a registered database: where it is,
 * who the broker is, and its sealed root credential versions. The control
 * plane's DatabaseRecord extends it, so callers pass theirs as it is.
 *
 * @example
 *   const db: TargetRecord = (await deps.store.databases.get('orders'))!; // a DatabaseRecord is one
 */
export type RootVersionName = 'current' | 'pending' | 'previous';

/** The broker's root credential on a target, each version sealed (crypto/seal.ts, root-secret.ts). */
export interface SealedRootVersions {
  current: string;
  pending?: string | null;
  previous?: string | null;
}

export interface TargetRecord {
  id: string;
  host: string;
  port: number;
  database: string;
  /** The broker's role on the target. */
  adminUser: string;
  sslmode: string;
  rootSecret: SealedRootVersions;
  /** When the current version became current: an older record never replaces a newer one in the pool. */
  rootRotatedAt: string;
  /** Lease role names start with it and an underscore (standby roles too). */
  leasePrefix: string;
}
