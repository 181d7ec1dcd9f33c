/**
 * functions/rotate-root.ts as the scheduled Lambda runs it: it builds its own
 * Deps from the environment and rotates only targets whose credential is
 * older than their rotation period (7 days unless registered otherwise).
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScheduledRotationSummary } from '../../lib/rotation/index.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { exchangeOverHttp, lastAuditId, rootPassword, rotationSteps } from './helpers.js';

const scheduledEvent = {
  version: '0',
  id: 'evt-1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: ['arn:aws:events:eu-west-1:123456789012:rule/pgmint-rotate-root'],
  detail: {},
};

const context = (remainingMs: number) =>
  ({ functionName: 'pgmint-rotate-root', getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

describe('functions/rotate-root.ts on a schedule', () => {
  let b: TestBroker;
  let handler: (event: unknown, context: Context) => Promise<ScheduledRotationSummary>;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    Object.assign(process.env, b.env);
    ({ handler } = (await import('../../functions/rotate-root.js')) as never);
  });
  afterAll(() => b?.close());

  const age = (sql: string) => b.deps.sql.query(`UPDATE pgmint.databases SET ${sql} WHERE id = 'main'`);

  it('leaves a credential younger than its period (7 days by default) alone', async () => {
    expect((await b.deps.store.databases.get('main'))!.rotationPeriodSec).toBe(7 * 86400);
    await age("root_rotated_at = now() - interval '6 days 23 hours'");
    const before = await rootPassword(b.deps);
    expect(await handler(scheduledEvent, context(60_000))).toEqual({ rotated: [], settled: [], skipped: [], failed: [] });
    expect(await rootPassword(b.deps)).toBe(before);
  });

  it('rotates a credential older than its period, once, and the broker keeps minting', async () => {
    await age("root_rotated_at = now() - interval '7 days 1 minute'");
    const before = await rootPassword(b.deps);
    const since = await lastAuditId(b);
    expect(await handler(scheduledEvent, context(60_000))).toMatchObject({ rotated: ['main'], failed: [] });
    await expect(loginAs(b.pg, b.targetDb, b.brokerUser, before)).rejects.toMatchObject({ code: '28P01' });
    expect(await loginAs(b.pg, b.targetDb, b.brokerUser, await rootPassword(b.deps))).toBe(b.brokerUser);
    expect((await rotationSteps(b, since)).map((s) => `${s.step}:${s.trigger}`)).toEqual([
      'pending_stored:schedule',
      'password_set:schedule',
      'pending_tested:schedule',
      'promoted:schedule',
    ]);
    expect(await handler(scheduledEvent, context(60_000))).toMatchObject({ rotated: [] });

    // This broker's pool still holds the old credential: its sessions are cut, the next exchange reconnects.
    await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND application_name = 'pgmint'", [b.brokerUser]),
    );
    const res = await exchangeOverHttp(b);
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  });

  it("honours a database's own rotation period", async () => {
    await age("rotation_period = interval '1 hour', root_rotated_at = now() - interval '59 minutes'");
    expect(await handler(scheduledEvent, context(60_000))).toMatchObject({ rotated: [] });
    await age("root_rotated_at = now() - interval '61 minutes'");
    expect(await handler(scheduledEvent, context(60_000))).toMatchObject({ rotated: ['main'] });
  });

  it('starts no rotation when the invocation is about to time out; the next run picks it up', async () => {
    await age("root_rotated_at = now() - interval '2 hours'");
    const before = await rootPassword(b.deps);
    expect(await handler(scheduledEvent, context(5_000))).toMatchObject({ rotated: [], skipped: ['main'] });
    expect(await rootPassword(b.deps)).toBe(before);
    expect(await handler(scheduledEvent, context(60_000))).toMatchObject({ rotated: ['main'] });
  });
});
