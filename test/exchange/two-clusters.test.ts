/**
 * Two clusters trusted by one database whose workloads share a name: a
 * workload is (issuer, subject), so each cluster's batch/worker has its own
 * lease cap, owns only its own leases, and the listing and audit tell them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

const SUBJECT = 'system:serviceaccount:batch:worker';

interface Creds {
  user: string;
  password: string;
  lease_id: string;
}

describe('two clusters, one workload name', () => {
  let b: TestBroker;
  let a: DevIssuer;
  let other: DevIssuer;

  beforeAll(async () => {
    b = await startTestBroker();
    a = b.issuer;
    other = await startDevIssuer();
    await b.setupDefault('main', { max_leases_per_workload: 2 });
    const res = await b.admin('POST', '/api/v1/databases/main/issuers', {
      issuer: other.url,
      allowed_service_accounts: ['batch/*'],
      default_role: 'readonly',
      max_leases_per_workload: 2,
    });
    expect(res.status).toBe(201);
  });
  afterAll(async () => {
    await other?.stop();
    await b?.close();
  });

  // `kubectl create token` style: no pod, so the cap counts by subject.
  const token = (issuer: DevIssuer) =>
    issuer.mint({
      namespace: 'batch',
      serviceAccount: 'worker',
      'kubernetes.io': { namespace: 'batch', serviceaccount: { name: 'worker' } },
    });
  const exchange = async (issuer: DevIssuer) =>
    fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${await token(issuer)}` } });
  const asWorkload = async (issuer: DevIssuer, method: string, path: string) =>
    fetch(`${b.url}${path}`, { method, headers: { authorization: `Bearer ${await token(issuer)}` } });

  const leasesOf: Record<'a' | 'other', Creds[]> = { a: [], other: [] };

  it("each cluster's worker has its own cap: A's full cap does not refuse B", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await exchange(a);
      expect(res.status).toBe(200);
      leasesOf.a.push((await res.json()) as Creds);
    }
    const refused = await exchange(a);
    expect(refused.status).toBe(429);
    expect((await refused.json()).code).toBe('too_many_leases');

    for (let i = 0; i < 2; i++) {
      const res = await exchange(other);
      expect(res.status).toBe(200);
      const creds = (await res.json()) as Creds;
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
      leasesOf.other.push(creds);
    }
    expect((await exchange(other)).status).toBe(429);
  });

  it("neither can renew or revoke the other's lease; each can its own", async () => {
    const mine = leasesOf.a[0]!;
    const theirs = leasesOf.other[0]!;
    for (const [method, path] of [
      ['POST', `/api/v1/leases/${mine.lease_id}/renew`],
      ['DELETE', `/api/v1/leases/${mine.lease_id}`],
    ] as const) {
      const res = await asWorkload(other, method, path);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await res.json()).code).toBe('not_allowed');
    }
    const crossed = await asWorkload(a, 'DELETE', `/api/v1/leases/${theirs.lease_id}`);
    expect(crossed.status).toBe(403);
    // Still a working login: nothing was revoked.
    expect(await loginAs(b.pg, b.targetDb, theirs.user, theirs.password)).toBe(theirs.user);

    expect((await asWorkload(a, 'POST', `/api/v1/leases/${mine.lease_id}/renew`)).status).toBe(200);
    const revoked = await asWorkload(other, 'DELETE', `/api/v1/leases/${theirs.lease_id}`);
    expect(revoked.status).toBe(200);
    expect((await revoked.json()).state).toBe('revoked');
  });

  it('the lease listing shows the issuer and narrows by it', async () => {
    const q = new URLSearchParams({ subject: SUBJECT, state: 'active' });
    const all = (await (await b.admin('GET', `/api/v1/databases/main/leases?${q}`)).json()) as {
      leases: Array<{ id: string; issuer: string }>;
    };
    expect(all.leases).toHaveLength(3);
    expect(new Set(all.leases.map((l) => l.issuer))).toEqual(new Set([a.url, other.url]));

    q.set('issuer', a.url);
    const onlyA = (await (await b.admin('GET', `/api/v1/databases/main/leases?${q}`)).json()) as {
      leases: Array<{ id: string; issuer: string }>;
    };
    expect(onlyA.leases.map((l) => l.id).sort()).toEqual(leasesOf.a.map((l) => l.lease_id).sort());
  });

  it("the audit log records each exchange under its cluster's issuer", async () => {
    const q = new URLSearchParams({ database: 'main', action: 'credentials.issue', subject: SUBJECT, issuer: other.url });
    const { entries } = (await (await b.admin('GET', `/api/v1/audit?${q}`)).json()) as {
      entries: Array<{ issuer: string; outcome: string; code: string | null; lease_id: string | null }>;
    };
    expect(entries.every((e) => e.issuer === other.url)).toBe(true);
    expect(
      entries
        .filter((e) => e.outcome === 'success')
        .map((e) => e.lease_id)
        .sort(),
    ).toEqual(leasesOf.other.map((l) => l.lease_id).sort());
    expect(entries.filter((e) => e.code === 'too_many_leases')).toHaveLength(1);
  });

  it("a bulk revoke of one cluster's worker leaves the other's", async () => {
    const q = new URLSearchParams({ subject: SUBJECT, issuer: a.url });
    const res = await b.admin('DELETE', `/api/v1/databases/main/leases?${q}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ matched: 2, revoked: 2 });
    const survivor = leasesOf.other[1]!;
    expect(await loginAs(b.pg, b.targetDb, survivor.user, survivor.password)).toBe(survivor.user);
    // A's cap is free again; B's still holds one lease.
    expect((await exchange(a)).status).toBe(200);
  });
});
