import { describe, expect, it } from 'vitest';
import { guardOutage, isUnavailable } from '../../lib/db/outage.js';
import type { Sql } from '../../lib/db/port.js';
import { DatabaseError, sanitizeDatabaseError } from '../../lib/db/sanitize.js';

/** A driver whose next answers are scripted: an error or rows. */
function scripted() {
  const script: Array<Error | 'ok'> = [];
  let calls = 0;
  const sql: Sql = {
    async query<T>() {
      calls++;
      const next = script.shift() ?? 'ok';
      if (next !== 'ok') throw sanitizeDatabaseError(next);
      return { rows: [] as T[], rowCount: 0 };
    },
    transaction: (fn) => fn(sql),
    end: async () => {},
  };
  return { sql, script, calls: () => calls };
}

describe('guardOutage', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('tells a server that is away from one that refused the statement', () => {
    expect(sanitizeDatabaseError(refused).unreachable).toBe(true);
    expect(sanitizeDatabaseError(new Error('Query read timeout')).unreachable).toBe(true);
    expect(
      sanitizeDatabaseError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })).unreachable,
    ).toBe(true);
    expect(sanitizeDatabaseError(Object.assign(new Error('the database system is starting up'), { code: '57P03' })).unreachable).toBe(true);
    expect(sanitizeDatabaseError(Object.assign(new Error('duplicate key'), { code: '23505' })).unreachable).toBe(false);
  });

  it('fails fast for the hold after an outage, then tries the server again', async () => {
    let now = 1_000;
    const d = scripted();
    const sql = guardOutage(d.sql, 'target', { holdMs: 1000, now: () => now });
    d.script.push(refused);
    const first = await sql.query('SELECT 1').catch((e: unknown) => e);
    expect(isUnavailable(first) && first.database).toBe('target');
    const during = await sql.query('SELECT 1').catch((e: unknown) => e);
    expect(isUnavailable(during)).toBe(true);
    expect(d.calls()).toBe(1);
    now += 1001;
    await expect(sql.query('SELECT 1')).resolves.toEqual({ rows: [], rowCount: 0 });
    expect(d.calls()).toBe(2);
  });

  it('answers a busy pool as unavailable without holding the database as away', async () => {
    const d = scripted();
    const sql = guardOutage(d.sql, 'control_plane', { holdMs: 60_000 });
    d.script.push(new Error('timeout exceeded when trying to connect'));
    expect(isUnavailable(await sql.query('SELECT 1').catch((e: unknown) => e))).toBe(true);
    await expect(sql.query('SELECT 1')).resolves.toBeDefined();
  });

  it('does not hold the database as away when a statement times out while another was answered', async () => {
    let now = 1_000;
    const pending: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
    let calls = 0;
    const driver: Sql = {
      query: <T>() => {
        calls++;
        return new Promise<{ rows: T[]; rowCount: number }>((resolve, reject) =>
          pending.push({ resolve: () => resolve({ rows: [], rowCount: 0 }), reject: (e) => reject(sanitizeDatabaseError(e)) }),
        );
      },
      transaction: (fn) => fn(driver),
      end: async () => {},
    };
    const sql = guardOutage(driver, 'control_plane', { holdMs: 60_000, now: () => now });
    const slow = sql.query('SELECT 1').catch((e: unknown) => e);
    now += 10;
    const quick = sql.query('SELECT 1');
    now += 10;
    pending[1]!.resolve();
    await quick;
    now += 6_000;
    pending[0]!.reject(new Error('Query read timeout'));
    expect(isUnavailable(await slow)).toBe(true);
    // Not held: the next statement is sent to the server.
    const next = sql.query('SELECT 1');
    expect(calls).toBe(3);
    pending[2]!.resolve();
    await expect(next).resolves.toEqual({ rows: [], rowCount: 0 });
  });

  it('still holds when nothing was answered while the statement waited', async () => {
    let now = 1_000;
    const d = scripted();
    const sql = guardOutage(d.sql, 'control_plane', { holdMs: 1000, now: () => now });
    await sql.query('SELECT 1');
    now += 10;
    d.script.push(new Error('Query read timeout'));
    expect(isUnavailable(await sql.query('SELECT 1').catch((e: unknown) => e))).toBe(true);
    expect(isUnavailable(await sql.query('SELECT 1').catch((e: unknown) => e))).toBe(true);
    expect(d.calls()).toBe(2);
  });

  it('passes other errors through unchanged and does not hold for them', async () => {
    const d = scripted();
    const sql = guardOutage(d.sql, 'control_plane');
    d.script.push(Object.assign(new Error('duplicate key'), { code: '23505' }));
    const err = await sql.query('INSERT').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(isUnavailable(err)).toBe(false);
    await expect(sql.query('SELECT 1')).resolves.toBeDefined();
  });
});
