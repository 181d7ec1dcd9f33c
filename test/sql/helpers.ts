/** Small helpers shared by the SQL tests. */
import type pg from 'pg';

/** Roles inserted into pg_authid by the client's current transaction (superuser only). */
export async function rolesCreatedInThisTransaction(c: pg.Client): Promise<string[]> {
  const { rows } = await c.query<{ rolname: string }>(
    'SELECT rolname FROM pg_authid WHERE xmin = (txid_current() % 4294967296)::text::xid ORDER BY rolname',
  );
  return rows.map((r) => r.rolname);
}

/** The SQLSTATE (or pgmint code) a promise rejects with. */
export async function rejectionCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? 'no-code';
  }
  return undefined;
}

export function randomName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
