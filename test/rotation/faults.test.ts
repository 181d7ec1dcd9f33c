/**
 * A rotation stopped dead after each step (a fault hook throws and nothing
 * after it runs, as when the process dies), then a new broker process on the
 * same control plane: the next rotation, or the next exchange that finds the
 * stored credential refused, finishes or rolls back the rotation, the broker
 * still mints logins that work, and the audit log tells the story.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RotationFaults, rotateDueDatabases, rotateRoot } from '../../lib/rotation/index.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { lastAuditId, restartBroker, rootPassword, rotationSteps } from './helpers.js';

type Step = keyof RotationFaults;

const STEPS_BEFORE: Record<Step, string[]> = {
  afterPendingStored: ['pending_stored'],
  afterAlterRole: ['pending_stored', 'password_set'],
  afterTest: ['pending_stored', 'password_set', 'pending_tested'],
};

class ProcessStopped extends Error {}

describe.each(['pg18', 'pg15'] as const)('interrupted rotations on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const accepts = (password: string) =>
    loginAs(b.pg, b.targetDb, b.brokerUser, password).then(
      () => true,
      (err) => (err.code === '28P01' ? false : Promise.reject(err)),
    );

  /** Runs a rotation that stops after `step`; returns the passwords involved. */
  async function crashAfter(step: Step) {
    const current = await rootPassword(b.deps);
    await expect(
      rotateRoot(b.deps, 'main', {
        trigger: 'api',
        force: true,
        faults: {
          [step]: () => {
            throw new ProcessStopped(step);
          },
        },
      }),
    ).rejects.toBeInstanceOf(ProcessStopped);
    const pending = await rootPassword(b.deps, 'main', 'pending');
    // What the target holds now: the ALTER ROLE either happened or it did not.
    const altered = step !== 'afterPendingStored';
    expect(await accepts(current)).toBe(!altered);
    expect(await accepts(pending)).toBe(altered);
    return { current, pending, winner: altered ? pending : current, loser: altered ? current : pending };
  }

  async function mintsAndLogsIn(next: Awaited<ReturnType<typeof restartBroker>>) {
    const res = await next.exchange();
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  }

  describe.each(['afterPendingStored', 'afterAlterRole', 'afterTest'] as const)('stopped %s', (step) => {
    it('the next rotation settles it first, then rotates', async () => {
      const since = await lastAuditId(b);
      const { winner, loser } = await crashAfter(step);
      const next = await restartBroker(b);
      try {
        const res = await next.admin('POST', '/api/v1/databases/main/rotate-root');
        expect(res.status).toBe(200);
        const body = await res.json();
        expect(body).toMatchObject({ outcome: 'rotated', recovered: step === 'afterPendingStored' ? 'rolled_back' : 'promoted' });

        const now = await rootPassword(next.deps);
        expect(await accepts(now)).toBe(true);
        for (const old of [winner, loser]) expect(await accepts(old)).toBe(false);
        expect(await rootPassword(next.deps, 'main', 'previous')).toBe(winner);
        await mintsAndLogsIn(next);

        const steps = await rotationSteps(b, since);
        const settle = step === 'afterPendingStored' ? 'rolled_back' : 'promoted';
        expect(steps.map((s) => s.step)).toEqual([
          ...STEPS_BEFORE[step],
          settle,
          'pending_stored',
          'password_set',
          'pending_tested',
          'promoted',
        ]);
        const crashed = steps.slice(0, STEPS_BEFORE[step].length + 1);
        expect(new Set(crashed.map((s) => s.rotation_id)).size).toBe(1);
        expect(steps[STEPS_BEFORE[step].length]).toMatchObject({ recovered: true, trigger: 'api', outcome: 'success' });
      } finally {
        await next.close();
      }
    });

    it('the next exchange (or the scheduled run) settles it, and the broker keeps minting', async () => {
      const since = await lastAuditId(b);
      const { winner, loser } = await crashAfter(step);
      const next = await restartBroker(b);
      try {
        await mintsAndLogsIn(next);
        const altered = step !== 'afterPendingStored';
        const db = (await next.deps.store.databases.get('main'))!;
        if (altered) {
          // The exchange found the stored current refused and promoted the pending version.
          expect(db.rootSecret.pending ?? null).toBeNull();
          expect(await rootPassword(next.deps)).toBe(winner);
          expect(await rootPassword(next.deps, 'main', 'previous')).toBe(loser);
        } else {
          // The current credential still works, so the exchange had nothing to settle; the scheduled run does.
          expect(db.rootSecret.pending).toBeTruthy();
          const summary = await rotateDueDatabases(next.deps);
          expect(summary).toMatchObject({ rotated: [], settled: ['main'], failed: [] });
          expect((await next.deps.store.databases.get('main'))!.rootSecret.pending ?? null).toBeNull();
          expect(await rootPassword(next.deps)).toBe(winner);
        }
        expect(await accepts(winner)).toBe(true);
        expect(await accepts(loser)).toBe(false);
        await mintsAndLogsIn(next);

        const steps = await rotationSteps(b, since);
        expect(steps.map((s) => s.step)).toEqual([...STEPS_BEFORE[step], altered ? 'promoted' : 'rolled_back']);
        expect(steps.at(-1)).toMatchObject({
          trigger: altered ? 'exchange' : 'schedule',
          recovered: true,
          outcome: 'success',
          rotation_id: steps[0]!.rotation_id,
        });
      } finally {
        await next.close();
      }
    });
  });

  it('repairs a target whose broker password went back to the previous version', async () => {
    expect((await b.admin('POST', '/api/v1/databases/main/rotate-root')).status).toBe(200);
    const current = await rootPassword(b.deps);
    const previous = await rootPassword(b.deps, 'main', 'previous');
    // e.g. the target was restored from a backup taken before the last rotation
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${b.brokerUser}" PASSWORD '${previous}'`));
    const since = await lastAuditId(b);
    const next = await restartBroker(b);
    try {
      await mintsAndLogsIn(next);
      expect(await accepts(current)).toBe(true);
      expect(await accepts(previous)).toBe(false);
      expect((await rotationSteps(b, since)).map((s) => [s.step, s.trigger])).toEqual([['repaired', 'exchange']]);
    } finally {
      await next.close();
    }
  });

  it('a target that refuses every stored credential is 503 target_unavailable, audited, and nothing changes', async () => {
    const current = await rootPassword(b.deps);
    const before = await b.deps.store.databases.get('main');
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${b.brokerUser}" PASSWORD 'an operator changed it'`));
    const since = await lastAuditId(b);
    const next = await restartBroker(b);
    try {
      const res = await next.exchange();
      expect(res.status).toBe(503);
      expect((await res.json()).code).toBe('target_unavailable');
      const rotation = await next.admin('POST', '/api/v1/databases/main/rotate-root');
      expect(rotation.status).toBe(503);
      expect(await next.deps.store.databases.get('main')).toEqual(before);
      const steps = await rotationSteps(b, since);
      expect(steps.map((s) => [s.step, s.outcome, s.code, s.trigger])).toEqual([
        ['failed', 'error', 'target_unavailable', 'exchange'],
        ['failed', 'error', 'target_unavailable', 'api'],
      ]);
    } finally {
      await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${b.brokerUser}" PASSWORD '${current}'`));
      await next.close();
    }
    const again = await restartBroker(b);
    try {
      await mintsAndLogsIn(again);
    } finally {
      await again.close();
    }
  });
});
