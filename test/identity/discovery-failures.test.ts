/**
 * Discovery failing as it does against real clusters, through the broker:
 * an API server whose certificate comes from the cluster's own CA, and one
 * that forbids anonymous discovery (403). The reason reaches the registration
 * answer and `pgmint issuer add`, the audit log, a structured log line and the
 * health report; `ca_pem` makes the private CA work, and only where the
 * runtime can use it.
 */
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { readConfig } from '../../lib/config.js';
import { connectPg } from '../../lib/db/pg.js';
import { buildDeps, closeDeps } from '../../lib/deps.js';
import { createApp } from '../../lib/http/app.js';
import { runCli } from '../cli/support.js';
import { ADMIN_TOKEN, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';
import { makeTestCa, type TestCa } from '../support/test-ca.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface HealthIssuer {
  id: string;
  issuer: string;
  status: string;
  last_key_fetch_at: string | null;
  last_failure: { stage: string; url: string; status?: number; tls_code?: string; reason: string } | null;
  hint: string | null;
}

describe('discovery failures explained', () => {
  let b: TestBroker;
  let ca: TestCa;
  let tlsIssuer: DevIssuer;
  let forbidden: DevIssuer;
  let warn: MockInstance<typeof console.warn>;
  const logged: string[] = [];

  beforeAll(async () => {
    // The broker logs through console.warn; keep what it writes.
    warn = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(' '));
    });
    ca = await makeTestCa();
    tlsIssuer = await startDevIssuer({ tls: { key: ca.key, cert: ca.cert } });
    forbidden = await startDevIssuer();
    forbidden.forbidDiscovery(true);
    b = await startTestBroker();
    await b.setupDefault();
  });
  afterAll(async () => {
    warn?.mockRestore();
    await tlsIssuer?.stop();
    await forbidden?.stop();
    await b?.close();
  });

  const exchange = async (issuer: DevIssuer) =>
    fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, {
      headers: { authorization: `Bearer ${await issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() })}` },
    });
  const lastRefusal = async (issuer: DevIssuer) => {
    const q = new URLSearchParams({ database: 'main', action: 'credentials.issue', issuer: issuer.url, limit: '1' });
    const { entries } = await (await b.admin('GET', `/api/v1/audit?${q}`)).json();
    return entries[0] as { code: string; detail: { reason?: string; fetch_failure?: Record<string, unknown> } };
  };
  const healthOf = async (issuer: DevIssuer): Promise<HealthIssuer[]> => {
    const health = await (await b.admin('GET', '/api/v1/databases/main/health')).json();
    return (health.issuers as HealthIssuer[]).filter((i) => i.issuer === issuer.url);
  };

  describe('an API server with a certificate from the cluster CA', () => {
    let withoutCa: string;

    it('without ca_pem: registered, with the TLS reason and the fix', async () => {
      expect(tlsIssuer.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
      const res = await b.admin('POST', '/api/v1/databases/main/issuers', {
        issuer: tlsIssuer.url,
        allowed_service_accounts: ['prod/api'],
        default_role: 'readonly',
      });
      expect(res.status).toBe(201);
      const body = await res.json();
      withoutCa = body.id;
      expect(body.discovery).toMatchObject({
        ok: false,
        failure: {
          stage: 'discovery',
          tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
          url: `${tlsIssuer.url}/.well-known/openid-configuration`,
        },
      });
      expect(body.discovery.hint).toMatch(/ca_pem/);
    });

    it('an exchange is 503, audited with the TLS code', async () => {
      const res = await exchange(tlsIssuer);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await res.json()).code).toBe('issuer_unavailable');
      const refusal = await lastRefusal(tlsIssuer);
      expect(refusal.code).toBe('issuer_unavailable');
      expect(refusal.detail.fetch_failure).toMatchObject({ stage: 'discovery', tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
      expect(logged.some((l) => l.includes(tlsIssuer.url) && l.includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toBe(true);
    });

    it('health shows the issuer failing with the TLS code', async () => {
      const [entry] = await healthOf(tlsIssuer);
      expect(entry).toMatchObject({
        status: 'failing',
        last_key_fetch_at: null,
        last_failure: { tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      });
    });

    it('with ca_pem: discovery works and a real login follows', async () => {
      expect((await b.admin('DELETE', `/api/v1/databases/main/issuers/${withoutCa}`)).status).toBeLessThan(300);
      const res = await b.admin('POST', '/api/v1/databases/main/issuers', {
        issuer: tlsIssuer.url,
        allowed_service_accounts: ['prod/api'],
        default_role: 'readonly',
        ca_pem: ca.caPem,
      });
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body).toMatchObject({ ca_pem: true, discovery: { ok: true } });
      const ok = await exchange(tlsIssuer);
      expect(ok.status).toBe(200);
      const creds = await ok.json();
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
      const [entry] = await healthOf(tlsIssuer);
      expect(entry).toMatchObject({ status: 'ok', hint: null });
      expect(Date.parse(entry!.last_key_fetch_at!)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('a runtime that cannot fetch with a CA (the edge wiring) refuses ca_pem at registration', async () => {
      // Built as functions/runtime/edge.ts builds it: no per-issuer fetch.
      const edgeLike = await buildDeps(readConfig(b.env), connectPg);
      try {
        const res = await createApp(edgeLike).request('/api/v1/databases/main/issuers', {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            issuer: tlsIssuer.url,
            allowed_service_accounts: ['prod/api'],
            default_role: 'readonly',
            ca_pem: ca.caPem,
          }),
        });
        expect(res.status).toBe(400);
        const problem = await res.json();
        expect(problem).toMatchObject({ code: 'invalid_config', field: 'ca_pem' });
        expect(problem.detail).toMatch(/pin the issuer's keys/);
      } finally {
        await closeDeps(edgeLike);
      }
    });
  });

  describe('an API server that forbids anonymous discovery', () => {
    it('pgmint issuer add registers it and prints the 403 and the RBAC fix', async () => {
      const res = await runCli(
        ['issuer', 'add', 'main', '--issuer', forbidden.url, '--allow-sa', 'prod/api', '--default-role', 'readonly'],
        {
          env: { PGMINT_URL: b.url, PGMINT_ADMIN_TOKEN: ADMIN_TOKEN },
        },
      );
      expect(res.status).toBe(0);
      expect(res.stdout).toContain(forbidden.url);
      expect(res.stderr).toMatch(/discovery failed: discovery answered HTTP 403/);
      expect(res.stderr).toContain(`${forbidden.url}/.well-known/openid-configuration`);
      expect(res.stderr).toMatch(/system:service-account-issuer-discovery/);
      expect(res.stderr).toMatch(/system:unauthenticated/);
      expect(res.stderr).toMatch(/pin the issuer keys/);
    });

    it('an exchange is 503, with the status in the audit detail and the log', async () => {
      const res = await exchange(forbidden);
      expect(res.status).toBe(503);
      const refusal = await lastRefusal(forbidden);
      expect(refusal.detail.fetch_failure).toMatchObject({
        stage: 'discovery',
        status: 403,
        url: `${forbidden.url}/.well-known/openid-configuration`,
      });
      const line = logged
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return null;
          }
        })
        .find((l) => l?.issuer === forbidden.url);
      expect(line).toMatchObject({ level: 'warn', msg: 'issuer key fetch failed', status: 403, stage: 'discovery' });
    });

    it('health shows the 403 and the binding to add', async () => {
      const [entry] = await healthOf(forbidden);
      expect(entry).toMatchObject({ status: 'failing', last_key_fetch_at: null, last_failure: { status: 403 } });
      expect(entry!.hint).toMatch(/system:service-account-issuer-discovery/);
      const health = await (await b.admin('GET', '/api/v1/databases/main/health')).json();
      expect(health.status).toBe('degraded');
    });

    it('once discovery is allowed, the exchange after Retry-After succeeds', async () => {
      forbidden.forbidDiscovery(false);
      let res = await exchange(forbidden);
      for (let attempt = 0; attempt < 10 && res.status === 503; attempt++) {
        await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
        res = await exchange(forbidden);
      }
      expect(res.status).toBe(200);
      const [entry] = await healthOf(forbidden);
      expect(entry).toMatchObject({ status: 'ok' });
      expect(entry!.last_key_fetch_at).not.toBeNull();
    });
  });
});
