/**
 * A target pool replaced while queries wait for one of its connections (what
 * a rotation elsewhere, or the refusal recovery, does under load): the queued
 * queries still run, on the pool they were sent to, instead of being stranded
 * until the connect timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../lib/crypto/seal.js';
import { rootSecretAad } from '../../lib/targets/root-secret.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';

describe('switching a target pool with queries queued', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_POOL_SIZE: '1' } });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  it('lets the queued queries finish on the old pool, and sends new ones to the new pool', async () => {
    const db = (await b.deps.store.databases.get('main'))!;
    const target = await b.deps.targets.open(db);
    const pidOf = async () => (await target.sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const oldPid = await pidOf();

    // The pool's one connection is busy; the next query waits in the driver's queue.
    const busy = target.sql.query('SELECT pg_sleep(0.5)');
    const started = Date.now();
    const queued = target.sql.query<{ ok: number }>('SELECT 1 AS ok');

    // The same password sealed anew: a different stored version, so the pool is replaced.
    const resealed = await seal(b.deps.sealKey, b.brokerPassword, rootSecretAad(db.id));
    const rotatedAt = new Date(Date.parse(db.rootRotatedAt) + 1000).toISOString();
    await b.deps.targets.open({ ...db, rootSecret: { ...db.rootSecret, current: resealed }, rootRotatedAt: rotatedAt });

    await busy;
    expect((await queued).rows).toEqual([{ ok: 1 }]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await pidOf()).not.toBe(oldPid);
  });
});
