import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';

// The README's Node example (infra/examples/node-pg-pool.mjs), run as a
// workload would run it: a token file, the broker URL, a pg Pool.
describe('node-postgres Pool with a pgmint Client', () => {
  let b: TestBroker;
  const tokenFile = join(tmpdir(), `pgmint-token-${process.pid}`);
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    await writeFile(
      tokenFile,
      await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'node-app', podUid: crypto.randomUUID() }),
    );
    Object.assign(process.env, { PGMINT_URL: b.url, PGMINT_DATABASE: 'main', PGMINT_TOKEN_FILE: tokenFile });
  });
  afterAll(() => b?.close());

  it('logs every new connection in with a lease, and refreshes after refresh_at without disturbing open ones', async () => {
    const { createPool, credentials } = await import('../../infra/examples/node-pg-pool.mjs');
    const pool = createPool({ max: 4 });
    const clients: Array<{ release(): void }> = [];
    const open = async () => {
      const client = await pool.connect();
      clients.push(client);
      return client;
    };
    const userOf = async (c: { query(q: string): Promise<{ rows: Array<{ u: string }> }> }) =>
      (await c.query('SELECT current_user AS u')).rows[0]!.u;
    try {
      // Clients stay checked out, so every pool.connect() opens a new connection.
      const first = await open();
      const firstUser = await userOf(first);
      expect(firstUser).toMatch(/^pgm_prod_api_/);
      expect(await userOf(await open())).toBe(firstUser);

      // Once refresh_at has passed, the next new connection logs in with a new lease.
      (await credentials()).refresh_at = new Date(Date.now() - 1000).toISOString();
      const renewedUser = await userOf(await open());
      expect(renewedUser).toMatch(/^pgm_prod_api_/);
      expect(renewedUser).not.toBe(firstUser);

      // The connection opened with the older lease still works.
      expect((await first.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
    } finally {
      for (const c of clients) c.release();
      await pool.end();
    }
  });

  it("follows the credential's sslmode, not only the caller's ssl option", async () => {
    const { createPool, credentials } = await import('../../infra/examples/node-pg-pool.mjs');
    const expireCached = async () => {
      (await credentials()).refresh_at = new Date(Date.now() - 1000).toISOString();
    };
    // The test server speaks no TLS. sslmode=disable: a caller's ssl option must not force TLS on it.
    await expireCached();
    const plain = createPool({ max: 1, ssl: { rejectUnauthorized: true } });
    try {
      expect((await plain.query('SELECT current_user AS u')).rows[0].u).toMatch(/^pgm_prod_api_/);
      expect((await credentials()).sslmode).toBe('disable');
    } finally {
      await plain.end();
    }
    // sslmode=require: TLS is asked for even though the caller said nothing, so this server is refused.
    await b.deps.sql.query("UPDATE pgmint.databases SET public_sslmode = 'require' WHERE id = 'main'");
    b.deps.store.exchangeContext.invalidate();
    await expireCached();
    const tls = createPool({ max: 1 });
    try {
      await expect(tls.query('SELECT 1')).rejects.toThrow(/does not support SSL/);
      expect((await credentials()).sslmode).toBe('require');
    } finally {
      await tls.end();
      await b.deps.sql.query("UPDATE pgmint.databases SET public_sslmode = NULL WHERE id = 'main'");
      b.deps.store.exchangeContext.invalidate();
    }
  });
});
