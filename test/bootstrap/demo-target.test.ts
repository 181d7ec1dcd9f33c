import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDemoTarget } from '../../functions/local/demo-target.js';
import { loginAs, server, serverUrl, withSuperuser } from '../support/postgres.js';

// `npm start` sets the demo broker's password on every start: Postgres must
// receive only its SCRAM verifier, never the password, as everywhere else.
describe('demo target', () => {
  const pg = server('pg18');
  let proxy: Server;
  let port = 0;
  const sent: Buffer[] = [];

  beforeAll(async () => {
    // A TCP relay that records what the client sends to Postgres.
    proxy = createServer((client) => {
      const upstream = createConnection({ host: pg.host, port: pg.port });
      client.on('data', (chunk: Buffer) => sent.push(Buffer.from(chunk)));
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    port = (proxy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => proxy.close(() => r())));

  it('sets the broker password as a SCRAM verifier, and the broker can log in with it', async () => {
    const password = `demo-${randomBytes(12).toString('hex')}`;
    const database = `demo_${randomBytes(4).toString('hex')}`;
    const viaProxy = (db = 'postgres') => serverUrl({ ...pg, port }, db);
    const demo = await prepareDemoTarget(viaProxy, password, database);

    const wire = Buffer.concat(sent).toString('latin1');
    expect(wire).toContain('SCRAM-SHA-256$4096:');
    expect(wire).not.toContain(password);
    const stored = await withSuperuser(
      pg,
      'postgres',
      async (c) => (await c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [demo.brokerUser])).rows[0].rolpassword,
    );
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(await loginAs(pg, database, demo.brokerUser, password)).toBe(demo.brokerUser);
  });
});
