/**
 * The credentials a workload receives, and their URI form
 * (lib/http/schemas/exchange.ts presents them on the wire).
 *
 * @example
 *   const creds = credentialDocument(db, lease, password, role.name);
 */
import type { DatabaseRecord } from '../store/types.js';

export interface Credentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: string;
  expiresAt: Date;
  refreshAt: Date;
  connectionUri: string;
  leaseId: string;
  role: string;
}

/** RFC 3339 in whole seconds, as `2026-04-12T16:30:00Z`. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a client should have left of a lease when it refreshes, at most. */
export const REFRESH_MARGIN_MS = 10 * 60 * 1000;

/**
 * When a client should fetch its next login: 10 minutes before expiry, or
 * once two thirds of the lifetime have passed when that is later (leases
 * under 30 minutes) — so the margin is min(10 min, a third of the lifetime):
 * 10 min of an hour or of 8 hours, 10 s of the 30-second minimum. Rounded
 * down to a whole second, and never before half the lifetime, so a client
 * that refreshes on time neither waits until the last moment nor refreshes
 * a login it just got.
 */
export function refreshAt(issuedAt: Date, expiresAt: Date): Date {
  const from = issuedAt.getTime();
  const life = expiresAt.getTime() - from;
  const at = Math.floor((from + Math.max((life * 2) / 3, life - REFRESH_MARGIN_MS)) / 1000) * 1000;
  return new Date(Math.max(at, Math.ceil((from + life / 2) / 1000) * 1000));
}

export function connectionUri(c: Pick<Credentials, 'host' | 'port' | 'database' | 'user' | 'password' | 'sslmode'>): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `postgresql://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${host}:${c.port}/${encodeURIComponent(
    c.database,
  )}?sslmode=${encodeURIComponent(c.sslmode)}`;
}

export function credentialDocument(
  db: DatabaseRecord,
  lease: { id: string; username: string; issuedAt: Date; expiresAt: Date },
  password: string,
  role: string,
): Credentials {
  const endpoint = {
    host: db.publicHost ?? db.host,
    port: db.publicPort ?? db.port,
    database: db.database,
    user: lease.username,
    password,
    sslmode: db.publicSslmode ?? db.sslmode,
  };
  return {
    ...endpoint,
    expiresAt: lease.expiresAt,
    refreshAt: refreshAt(lease.issuedAt, lease.expiresAt),
    connectionUri: connectionUri(endpoint),
    leaseId: lease.id,
    role,
  };
}
