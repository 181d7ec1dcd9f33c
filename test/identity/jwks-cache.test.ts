/**
 * The JWKS cache against a real issuer on loopback: one fetch for many
 * tokens, one refetch on an unknown kid per cooldown, and the persistent
 * store carrying a cold start through an issuer outage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { PgmintError } from '../../lib/errors.js';
import { type IssuerKeys, type JwksStore, TokenVerifier, type VerifierOptions } from '../../lib/identity/index.js';

/** The JwksStore port kept in memory (the control plane's jwks_cache table plays this part in production). */
class MemoryStore implements JwksStore {
  readonly rows = new Map<string, { jwks: { keys: unknown[] }; fetchedAt: Date }>();
  puts = 0;
  async get(issuer: string) {
    return this.rows.get(issuer) ?? null;
  }
  async put(issuer: string, jwks: { keys: unknown[] }) {
    this.puts++;
    this.rows.set(issuer, { jwks: structuredClone(jwks), fetchedAt: new Date() });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const running: DevIssuer[] = [];
async function issuerUp(opts?: Parameters<typeof startDevIssuer>[0]) {
  const issuer = await startDevIssuer(opts);
  running.push(issuer);
  return issuer;
}
async function stop(issuer: DevIssuer) {
  running.splice(running.indexOf(issuer), 1);
  await issuer.stop();
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

const reg = (issuer: DevIssuer): IssuerKeys => ({ issuer: issuer.url, audiences: ['pgmint'] });
const verifier = (opts: VerifierOptions = {}) => new TokenVerifier({ allowInsecureIssuers: true, ...opts });
const mint = (issuer: DevIssuer, n = 0, opts?: Parameters<DevIssuer['mint']>[1]) =>
  issuer.mint({ namespace: 'prod', serviceAccount: `api-${n}` }, opts);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(PgmintError);
    return (err as PgmintError).code;
  }
  return 'accepted';
}

describe('in-memory JWKS cache', () => {
  it('verifies many tokens with one discovery and one JWKS fetch', async () => {
    const issuer = await issuerUp();
    const v = verifier();
    for (let i = 0; i < 10; i++) await v.verify(await mint(issuer, i), reg(issuer));
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => mint(issuer, i)));
    await Promise.all(tokens.map((t) => v.verify(t, reg(issuer))));
    expect(v.stats()).toMatchObject({ jwksFetches: 1, discoveryFetches: 1 });
    expect(issuer.jwksRequests()).toBe(1);
  });

  it('a cold burst of concurrent verifications still fetches once', async () => {
    const issuer = await issuerUp();
    const v = verifier();
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => mint(issuer, i)));
    await Promise.all(tokens.map((t) => v.verify(t, reg(issuer))));
    expect(v.stats().jwksFetches).toBe(1);
    expect(issuer.jwksRequests()).toBe(1);
  });

  it('keeps one cache per issuer', async () => {
    const [a, b] = [await issuerUp(), await issuerUp()];
    const v = verifier();
    for (let i = 0; i < 5; i++) {
      await v.verify(await mint(a, i), reg(a));
      await v.verify(await mint(b, i), reg(b));
    }
    expect(v.stats().jwksFetches).toBe(2);
    expect([a.jwksRequests(), b.jwksRequests()]).toEqual([1, 1]);
  });

  it('after a key rotation, the unknown kid triggers exactly one refetch and then verifies', async () => {
    const issuer = await issuerUp();
    const v = verifier({ cooldownMs: 1_500 });
    const before = await mint(issuer);
    await v.verify(before, reg(issuer));
    expect(v.stats().jwksFetches).toBe(1);

    await sleep(1_600); // past the cooldown
    await issuer.rotateKey();
    const after = await mint(issuer, 1);
    await expect(v.verify(after, reg(issuer))).resolves.toBeTruthy();
    expect(v.stats().jwksFetches).toBe(2);
    // Both keys are now cached: no further fetch for either.
    await v.verify(await mint(issuer, 2), reg(issuer));
    await v.verify(before, reg(issuer));
    expect(v.stats().jwksFetches).toBe(2);
    expect(issuer.jwksRequests()).toBe(2);

    // An unknown kid inside the cooldown may be a key not fetched yet: try again later, without fetching…
    const bogus = await mint(issuer, 3, { kid: 'no-such-key' });
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('issuer_unavailable');
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('issuer_unavailable');
    expect(v.stats().jwksFetches).toBe(2);
    // …after it, one fetch shows the kid is not the issuer's: refused, and refused again inside the next cooldown.
    await sleep(1_600);
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('invalid_token');
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('invalid_token');
    expect(v.stats().jwksFetches).toBe(3);
    expect(issuer.jwksRequests()).toBe(3);
  });

  it('a kid looked for in a fetch made for it stays 401 inside the cooldown that fetch starts', async () => {
    const issuer = await issuerUp();
    const v = verifier({ cooldownMs: 1_500 });
    await v.verify(await mint(issuer), reg(issuer));
    await sleep(1_600);
    const bogus = await mint(issuer, 1, { kid: 'never-served' });
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('invalid_token');
    expect(v.stats().jwksFetches).toBe(2);
    expect(await codeOf(v.verify(bogus, reg(issuer)))).toBe('invalid_token');
    expect(v.stats().jwksFetches).toBe(2);
  });

  it('with the default 30 s cooldown a key rotated just after a fetch is 503 with the cooldown left, not 401', async () => {
    const issuer = await issuerUp();
    const v = verifier();
    await v.verify(await mint(issuer), reg(issuer));
    await issuer.rotateKey();
    const err = await v.verify(await mint(issuer, 1), reg(issuer)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgmintError);
    expect((err as PgmintError).code).toBe('issuer_unavailable');
    const retryAfter = (err as PgmintError).retryAfterSec ?? 0;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(v.stats().jwksFetches).toBe(1);
    // A fresh process (no cooldown yet) sees the new key.
    await expect(verifier().verify(await mint(issuer, 1), reg(issuer))).resolves.toBeTruthy();
  });

  it('serves the last copy from memory when a stale cache cannot be refreshed', async () => {
    const issuer = await issuerUp();
    const v = verifier({ cacheMaxAgeMs: 0, cooldownMs: 0 });
    const token = await mint(issuer);
    await v.verify(token, reg(issuer));
    await stop(issuer);
    await expect(v.verify(token, reg(issuer))).resolves.toBeTruthy();
  });
});

describe('persistent JWKS store', () => {
  it('writes each fetched JWKS to the store', async () => {
    const issuer = await issuerUp();
    const store = new MemoryStore();
    const v = verifier({ jwksStore: store });
    for (let i = 0; i < 5; i++) await v.verify(await mint(issuer, i), reg(issuer));
    expect(store.puts).toBe(1);
    const row = store.rows.get(issuer.url);
    if (!row) throw new Error('store not written');
    const kids = (row.jwks.keys as Array<{ kid: string }>).map((k) => k.kid);
    const { kid } = JSON.parse(Buffer.from((await mint(issuer)).split('.')[0] as string, 'base64url').toString());
    expect(kids).toContain(kid);
  });

  it('a cold start verifies from the store with the issuer stopped, without any network', async () => {
    const issuer = await issuerUp();
    const store = new MemoryStore();
    const token = await mint(issuer);
    await verifier({ jwksStore: store }).verify(token, reg(issuer));
    await stop(issuer);

    const cold = verifier({ jwksStore: store });
    const { payload } = await cold.verify(token, reg(issuer));
    expect(payload.sub).toBe('system:serviceaccount:prod:api-0');
    expect(cold.stats()).toMatchObject({ jwksFetches: 0, discoveryFetches: 0 });
  });

  it('a cold start with a stale stored copy and the issuer down still verifies, and does not retry on every token', async () => {
    const issuer = await issuerUp();
    const store = new MemoryStore();
    const token = await mint(issuer);
    await verifier({ jwksStore: store }).verify(token, reg(issuer));
    await stop(issuer);
    const row = store.rows.get(issuer.url);
    if (!row) throw new Error('store not written');
    row.fetchedAt = new Date(Date.now() - 86_400_000);

    const cold = verifier({ jwksStore: store });
    await expect(cold.verify(token, reg(issuer))).resolves.toBeTruthy();
    expect(cold.stats().discoveryFetches).toBe(1); // it tried the issuer…
    await expect(cold.verify(token, reg(issuer))).resolves.toBeTruthy();
    expect(cold.stats().discoveryFetches).toBe(1); // …and does not hammer it
  });

  it('without a stored copy a down issuer is issuer_unavailable, not invalid_token', async () => {
    const issuer = await issuerUp();
    const token = await mint(issuer);
    await stop(issuer);
    expect(await codeOf(verifier({ jwksStore: new MemoryStore() }).verify(token, reg(issuer)))).toBe('issuer_unavailable');
    expect(await codeOf(verifier().verify(token, reg(issuer)))).toBe('issuer_unavailable');
  });

  it('a kid missing from the stored copy while the issuer is down is issuer_unavailable', async () => {
    const issuer = await issuerUp();
    const store = new MemoryStore();
    await verifier({ jwksStore: store }).verify(await mint(issuer), reg(issuer));
    await issuer.rotateKey();
    const rotated = await mint(issuer, 1);
    await stop(issuer);
    const row = store.rows.get(issuer.url);
    if (!row) throw new Error('store not written');
    row.fetchedAt = new Date(Date.now() - 60_000); // past the cooldown, so the unknown kid may refetch
    expect(await codeOf(verifier({ jwksStore: store }).verify(rotated, reg(issuer)))).toBe('issuer_unavailable');
  });

  it('a failing store never fails verification', async () => {
    const issuer = await issuerUp();
    const broken: JwksStore = {
      get: () => Promise.reject(new Error('control plane down')),
      put: () => Promise.reject(new Error('control plane down')),
    };
    const v = verifier({ jwksStore: broken });
    await expect(v.verify(await mint(issuer), reg(issuer))).resolves.toBeTruthy();
    expect(v.stats().storeErrors).toBe(2);
  });

  it('recovers when the issuer comes back on the same address with a rotated key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgmint-issuer-'));
    try {
      const keyFile = join(dir, 'key.json');
      const first = await issuerUp({ keyFile });
      const store = new MemoryStore();
      const v = verifier({ jwksStore: store, cooldownMs: 200, cacheMaxAgeMs: 200 });
      const token = await mint(first);
      await v.verify(token, reg(first));
      await stop(first);
      await sleep(250);
      await expect(v.verify(token, reg(first))).resolves.toBeTruthy(); // served from the last copy

      const second = await issuerUp({ keyFile, port: first.port });
      expect(second.url).toBe(first.url);
      await second.rotateKey();
      await sleep(250);
      await expect(v.verify(await mint(second, 1), reg(second))).resolves.toBeTruthy();
      expect(second.jwksRequests()).toBeGreaterThanOrEqual(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
