/**
 * The read timeout of the connections that serve requests (lib/db/pool-adapter.ts),
 * against a real server: an answer that arrived while the event loop was busy
 * is taken even when the busy stretch outlasted the timeout; an answer that
 * truly does not come is a timeout, and its connection is closed, not reused;
 * a statement the server refused leaves its connection in the pool; a wait for
 * a pooled connection outlasts its timeout while the pool keeps answering.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg } from '../../lib/db/pg.js';
import { adaptPool } from '../../lib/db/pool-adapter.js';
import type { Sql } from '../../lib/db/port.js';
import { DatabaseError } from '../../lib/db/sanitize.js';
import { server } from '../support/postgres.js';

const READ_TIMEOUT_MS = 200;

/**
 * Keeps the event loop to itself for `ms`, after its poll phase (as a burst's
 * requests, parsed and verified in I/O callbacks, do): the next turn of the
 * loop runs its due timers before it reads the sockets again.
 */
function busyAfterPoll(ms: number): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        /* spin */
      }
      resolve();
    }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('read timeout on a busy event loop', () => {
  let sql: Sql;
  beforeAll(() => {
    const s = server();
    sql = connectPg({
      host: s.host,
      port: s.port,
      database: 'postgres',
      user: s.user,
      password: s.password,
      max: 1,
      statementTimeoutMs: READ_TIMEOUT_MS,
    });
  });
  afterAll(() => sql.end());

  const backendPid = async () => (await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  it('takes an answer that came in while the loop was busy past the timeout', async () => {
    await backendPid();
    const answer = sql.query<{ ok: number }>('SELECT 1 AS ok FROM pg_sleep(0.05)');
    await sleep(10); // sent
    await busyAfterPoll(READ_TIMEOUT_MS * 3); // the answer arrives meanwhile; the timer is due when the loop comes back
    expect((await answer).rows).toEqual([{ ok: 1 }]);
  });

  it('times out an answer that does not come, and closes that connection', async () => {
    const before = await backendPid();
    const error = await sql.query('SELECT pg_sleep(2)').then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).unreachable).toBe(true);
    expect(await backendPid()).not.toBe(before);
  });

  it('keeps the connection of a statement the server refused', async () => {
    const before = await backendPid();
    await expect(sql.query('SELECT 1/0')).rejects.toMatchObject({ sqlstate: '22012', unreachable: false });
    expect(await backendPid()).toBe(before);
  });

  it('times out inside a transaction too, and closes that connection rather than rolling back on it', async () => {
    const before = await backendPid();
    await expect(
      sql.transaction(async (tx) => {
        await tx.query('SELECT pg_sleep(2)');
      }),
    ).rejects.toMatchObject({ unreachable: true });
    expect(await backendPid()).not.toBe(before);
  });
});

/** A pg pool of `max` connections and a connection timeout of `waitMs`, behind pgmint's adapter. */
function smallPool(max: number, waitMs: number): Sql {
  const s = server();
  const pool = new pg.Pool({
    host: s.host,
    port: s.port,
    database: 'postgres',
    user: s.user,
    password: s.password,
    max,
    connectionTimeoutMillis: waitMs,
  });
  return adaptPool(pool, 5_000);
}

/**
 * The wait for a pooled connection, with a pool of one and a connection
 * timeout of 100 ms (a burst queued in front of a busy pool, in small): a
 * caller keeps waiting while the pool keeps answering, and gives up after the
 * timeout only when nothing was answered meanwhile.
 */
describe('waiting for a pooled connection', () => {
  const WAIT_MS = 100;
  let sql: Sql;
  beforeAll(() => {
    sql = smallPool(1, WAIT_MS);
  });
  afterAll(() => sql.end());

  it('waits past the timeout while the statements ahead keep being answered', async () => {
    // Eight statements of 40 ms on one connection: the last waits ~280 ms, far past 100 ms.
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => sql.query<{ i: number }>('SELECT $1::int AS i FROM pg_sleep(0.04)', [i])),
    );
    expect(answers.map((a) => a.rows[0]!.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives up after the timeout when nothing was answered while it waited', async () => {
    await sql.query('SELECT 1');
    const holder = sql.query('SELECT pg_sleep(0.5)');
    await sleep(10);
    await expect(sql.query('SELECT 1')).rejects.toMatchObject({
      unreachable: true,
      message: expect.stringMatching(/timeout exceeded when trying to connect/),
    });
    await holder;
  });
});

describe('opening a pooled connection on a busy event loop', () => {
  const CONNECT_MS = 100;
  let sql: Sql;
  beforeAll(() => {
    sql = smallPool(2, CONNECT_MS);
  });
  afterAll(() => sql.end());

  it('opens it again when its handshake outlasted the timeout while the open connection kept answering', async () => {
    await sql.query('SELECT 1'); // one connection open and idle
    const first = sql.query('SELECT 1 AS ok FROM pg_sleep(0.05)');
    const second = sql.query<{ ok: number }>('SELECT 2 AS ok'); // needs a second connection, opened now
    // Its handshake cannot be read while the loop is busy; the first answer arrives meanwhile.
    await busyAfterPoll(CONNECT_MS * 3);
    await first;
    expect((await second).rows).toEqual([{ ok: 2 }]);
  });
});
