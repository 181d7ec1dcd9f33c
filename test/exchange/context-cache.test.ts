import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable, Sql } from '../../lib/db/port.js';
import { exchangeContext } from '../../lib/store/exchange-context.js';
import { createStore } from '../../lib/store/index.js';
import { groupsOf, startTestBroker, statementsDuring, type TestBroker } from '../support/broker.js';

const exchangeWith =
  (b: TestBroker) =>
  async (pod = crypto.randomUUID()) => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: `api-${pod.slice(0, 8)}`, podUid: pod });
    return fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
  };

/** Seconds from now until the lease of a 200 answer expires (VALID UNTIL is rounded up: up to 1 s over the TTL). */
async function leaseSeconds(res: Response): Promise<number> {
  expect(res.status).toBe(200);
  return (Date.parse((await res.json()).expires_at) - Date.now()) / 1000;
}

const readsContext = (statements: string[]) => statements.some((s) => s.includes('ctx_issuers'));

// A TTL far longer than the test: whatever changes what an exchange sees is an invalidation, never expiry.
describe('exchange context cache (PGMINT_CONTEXT_CACHE_MS=60000)', () => {
  let b: TestBroker;
  let exchange: ReturnType<typeof exchangeWith>;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_CONTEXT_CACHE_MS: '60000' } });
    await b.setupDefault();
    exchange = exchangeWith(b);
  });
  afterAll(() => b?.close());

  it('serves a context it read recently without a query', async () => {
    expect((await exchange()).status).toBe(200);
    const seen = await statementsDuring(b, async () => {
      expect((await exchange()).status).toBe(200);
    });
    expect(seen.some((s) => s.includes('insert_lease_within_cap'))).toBe(true);
    expect(readsContext(seen)).toBe(false);
    // Nor any other registry or JWKS read: what remains is the lease's own writes.
    expect(seen.filter((s) => /pgmint\.(databases|issuers|roles|jwks_cache)\b/.test(s))).toEqual([]);
  });

  it('does not see a change made directly in the control plane before the TTL', async () => {
    expect(await leaseSeconds(await exchange())).toBeGreaterThan(3500);
    await b.deps.sql.query("UPDATE pgmint.roles SET default_ttl = 600 WHERE database_id = 'main' AND name = 'readonly'");
    try {
      expect(await leaseSeconds(await exchange())).toBeGreaterThan(3500);
    } finally {
      await b.deps.sql.query("UPDATE pgmint.roles SET default_ttl = 3600 WHERE database_id = 'main' AND name = 'readonly'");
    }
  });

  it('applies admin changes through the API to the very next exchange', async () => {
    const { ro } = groupsOf(b);
    expect((await exchange()).status).toBe(200);

    // A role definition.
    expect((await b.admin('PUT', '/api/v1/databases/main/roles/readonly', { member_of: [ro], default_ttl: '10m' })).status).toBe(200);
    expect(await leaseSeconds(await exchange())).toBeLessThanOrEqual(601);

    // An issuer: no longer trusted, then trusted again.
    const { issuers } = await (await b.admin('GET', '/api/v1/databases/main/issuers')).json();
    expect((await b.admin('DELETE', `/api/v1/databases/main/issuers/${issuers[0].id}`)).status).toBe(204);
    const refused = await exchange();
    expect(refused.status).toBe(401);
    expect((await refused.json()).code).toBe('invalid_token');
    const trusted = await b.admin('POST', '/api/v1/databases/main/issuers', {
      issuer: b.issuer.url,
      allowed_service_accounts: ['prod/api'],
      default_role: 'readonly',
    });
    expect(trusted.status).toBe(201);
    expect((await exchange()).status).toBe(200);

    // The database itself.
    expect((await b.admin('DELETE', '/api/v1/databases/main?force=true')).status).toBe(204);
    // A database that is gone trusts no issuer: the token is refused, and nothing is said about the database.
    const gone = await exchange();
    expect(gone.status).toBe(401);
    expect((await gone.json()).code).toBe('invalid_token');
  });
});

describe('exchange context cache (PGMINT_CONTEXT_CACHE_MS=300)', () => {
  let b: TestBroker;
  let exchange: ReturnType<typeof exchangeWith>;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_CONTEXT_CACHE_MS: '300' } });
    await b.setupDefault();
    exchange = exchangeWith(b);
  });
  afterAll(() => b?.close());

  it('applies a change made directly in the control plane once the TTL has passed', async () => {
    expect(await leaseSeconds(await exchange())).toBeGreaterThan(3500);
    await b.deps.sql.query("UPDATE pgmint.roles SET default_ttl = 600 WHERE database_id = 'main' AND name = 'readonly'");
    await new Promise((r) => setTimeout(r, 400));
    const seen = await statementsDuring(b, async () => {
      expect(await leaseSeconds(await exchange())).toBeLessThanOrEqual(601);
    });
    expect(readsContext(seen)).toBe(true);
  });

  // The store on its own, over this broker's control plane: a counting connection and a clock the test moves.
  describe('the store', () => {
    let queries = 0;
    let now = 0;
    const count = (on: Queryable): Queryable => ({
      query: (text, params) => {
        queries++;
        return on.query(text, params);
      },
    });
    const counting = (): Sql => ({
      ...count(b.deps.sql),
      transaction: (fn) => b.deps.sql.transaction((tx) => fn(count(tx))),
      end: async () => {},
    });
    const options = { ttlMs: 1000, clock: () => now };

    it('reads once per TTL, and every time for a missing database or an unregistered issuer', async () => {
      const contexts = exchangeContext(counting(), options);
      queries = 0;
      const first = await contexts.load('main', 'k8s', b.issuer.url);
      expect(first?.issuers).toHaveLength(1);
      now += 999;
      expect(await contexts.load('main', 'k8s', b.issuer.url)).toBe(first);
      expect(queries).toBe(1);
      now += 1;
      expect(await contexts.load('main', 'k8s', b.issuer.url)).not.toBe(first);
      expect(queries).toBe(2);

      queries = 0;
      expect(await contexts.load('nope', 'k8s', b.issuer.url)).toBeNull();
      expect(await contexts.load('nope', 'k8s', b.issuer.url)).toBeNull();
      expect((await contexts.load('main', 'k8s', 'https://elsewhere.example'))?.issuers).toEqual([]);
      expect((await contexts.load('main', 'k8s', 'https://elsewhere.example'))?.issuers).toEqual([]);
      expect(queries).toBe(4);

      const off = exchangeContext(counting(), { ttlMs: 0 });
      queries = 0;
      await off.load('main', 'k8s', b.issuer.url);
      await off.load('main', 'k8s', b.issuer.url);
      expect(queries).toBe(2);
    });

    it('shares one query among concurrent misses, and keeps no read that an invalidation overtook', async () => {
      const contexts = exchangeContext(counting(), options);
      queries = 0;
      const [a, c] = await Promise.all([contexts.load('main', 'k8s', b.issuer.url), contexts.load('main', 'k8s', b.issuer.url)]);
      expect(a).toBe(c);
      expect(queries).toBe(1);

      contexts.invalidate();
      queries = 0;
      const overtaken = contexts.load('main', 'k8s', b.issuer.url);
      contexts.invalidate();
      await overtaken;
      await contexts.load('main', 'k8s', b.issuer.url);
      expect(queries).toBe(2);
    });

    it('forgets cached contexts on every write to databases, issuers and roles, and on no read', async () => {
      const store = createStore(counting(), { contextCacheMs: 60_000 });
      const load = () => store.exchangeContext.load('main', 'k8s', b.issuer.url);
      const missing = '00000000-0000-0000-0000-000000000000';
      await load();
      queries = 0;
      await store.databases.get('main');
      await store.issuers.list('main');
      await store.roles.list('main');
      await load();
      expect(queries).toBe(3);
      for (const write of [
        () => store.databases.remove('nope'),
        () => store.issuers.remove('main', missing),
        () => store.roles.remove('main', 'nope'),
      ]) {
        queries = 0;
        await write();
        await load();
        expect(queries).toBe(2);
      }
    });

    it('forgets cached contexts when a transaction that wrote to them ends, and not for one that only read', async () => {
      const store = createStore(counting(), { contextCacheMs: 60_000 });
      const load = () => store.exchangeContext.load('main', 'k8s', b.issuer.url);
      await load();
      queries = 0;
      await store.transaction(async (s) => {
        await s.roles.list('main');
        await s.databases.get('main');
      });
      await load();
      expect(queries).toBe(2); // the two reads: the context came from memory
      let during = -1;
      queries = 0;
      await store.transaction(async (s) => {
        await s.roles.remove('main', 'nope');
        // Still cached inside the transaction: forgetting before the commit would let a read keep the old rows.
        const before = queries;
        await load();
        during = queries - before;
      });
      expect(during).toBe(0);
      queries = 0;
      await load();
      expect(queries).toBe(1);
    });
  });
});
