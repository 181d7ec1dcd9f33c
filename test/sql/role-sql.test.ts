import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePassword } from '../../lib/crypto/password.js';
import { scramSha256Verifier } from '../../lib/crypto/scram.js';
import { ident } from '../../lib/sql/quote.js';
import { leaseRoleName, randomSuffix } from '../../lib/sql/lease-name.js';
import { alterPasswordSql, createLoginRoleSql, leaseCreationSql, leaseRenewalSql, renewRoleSql } from '../../lib/sql/role-sql.js';
import { createDatabase, loginAs, server, withSuperuser } from '../support/postgres.js';
import { randomName, rejectionCode } from './helpers.js';

const VERIFIER =
  'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=';
const HOUR = 3_600_000;

describe('role SQL text', () => {
  it('builds one multi-statement string for a lease role', () => {
    const validUntil = new Date('2026-04-12T16:30:00Z');
    expect(
      createLoginRoleSql({
        name: 'pgm_prod_api_abcdefgh',
        verifier: VERIFIER,
        validUntil,
        memberOf: ['app_ro', 'we"ird'],
        searchPath: ['app', '$user'],
        readOnly: true,
        connectionLimit: 5,
      }),
    ).toBe(
      `CREATE ROLE "pgm_prod_api_abcdefgh" LOGIN INHERIT PASSWORD '${VERIFIER}' VALID UNTIL '2026-04-12T16:30:00.000Z' CONNECTION LIMIT 5 IN ROLE "app_ro", "we""ird";\n` +
        `ALTER ROLE "pgm_prod_api_abcdefgh" SET search_path TO "app", "$user";\n` +
        `ALTER ROLE "pgm_prod_api_abcdefgh" SET default_transaction_read_only = on`,
    );
    expect(renewRoleSql('a', validUntil)).toBe(`ALTER ROLE "a" VALID UNTIL '2026-04-12T16:30:00.000Z'`);
    expect(alterPasswordSql('root', VERIFIER)).toBe(`ALTER ROLE "root" PASSWORD '${VERIFIER}'`);
  });

  it('a role definition’s custom statements replace the default creation and renewal', () => {
    const expiresAt = new Date('2026-04-12T16:30:00Z');
    const plain = { memberOf: ['app_ro'], searchPath: null, readOnly: true, creationStatements: null, renewStatements: null };
    const login = { name: 'pgm_a_b_abcdefgh', verifier: VERIFIER, expiresAt };
    expect(leaseCreationSql(plain, login)).toBe(
      createLoginRoleSql({ name: login.name, verifier: VERIFIER, validUntil: expiresAt, memberOf: ['app_ro'], readOnly: true }),
    );
    const custom = {
      ...plain,
      creationStatements: `CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' IN ROLE app_ro;`,
      renewStatements: `ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';`,
    };
    expect(leaseCreationSql(custom, login)).toBe(
      `CREATE ROLE "pgm_a_b_abcdefgh" LOGIN PASSWORD '${VERIFIER}' VALID UNTIL '2026-04-12T16:30:00.000Z' IN ROLE app_ro;`,
    );
    expect(leaseRenewalSql(null, login.name, expiresAt)).toBe(renewRoleSql(login.name, expiresAt));
    expect(leaseRenewalSql(custom.renewStatements, login.name, expiresAt)).toBe(
      `ALTER ROLE "pgm_a_b_abcdefgh" VALID UNTIL '2026-04-12T16:30:00.000Z';`,
    );
  });

  it('refuses a plaintext password and an invalid date as programming errors', () => {
    const base = { name: 'x', validUntil: new Date(), memberOf: [] };
    expect(() => createLoginRoleSql({ ...base, verifier: 'pgm_plaintext' })).toThrow(TypeError);
    expect(() => alterPasswordSql('x', 'hunter2')).toThrow(TypeError);
    expect(() => createLoginRoleSql({ ...base, verifier: VERIFIER, validUntil: new Date(Number.NaN) })).toThrow(TypeError);
    expect(() => createLoginRoleSql({ ...base, verifier: VERIFIER, connectionLimit: 1.5 })).toThrow(TypeError);
  });
});

interface Fixture {
  db: string;
  group: string;
  writer: string;
  broker: { user: string; password: string };
}

/**
 * A database with two tables, a read group (SELECT on `allowed` only), a
 * write group, schemas for search_path, and a broker role that has
 * CREATEROLE and nothing more (on PG16+ plus ADMIN OPTION on the groups,
 * INHERIT FALSE, SET FALSE), as DESIGN.md prescribes.
 */
async function setUp(s: ReturnType<typeof server>): Promise<Fixture> {
  const db = await createDatabase(s, 'rolesql');
  const group = randomName('grp_read');
  const writer = randomName('grp_write');
  const broker = { user: randomName('broker'), password: generatePassword() };
  await withSuperuser(s, db, async (c) => {
    await c.query(`
      CREATE TABLE public.allowed (id int); INSERT INTO public.allowed VALUES (1);
      CREATE TABLE public.denied (id int);
      CREATE SCHEMA app; CREATE SCHEMA "we""ird";
      CREATE ROLE ${ident(group)} NOLOGIN;
      CREATE ROLE ${ident(writer)} NOLOGIN;
      GRANT SELECT ON public.allowed TO ${ident(group)};
      GRANT SELECT, INSERT ON public.allowed TO ${ident(writer)};
      GRANT USAGE, CREATE ON SCHEMA app TO ${ident(group)}, ${ident(writer)};
      GRANT USAGE ON SCHEMA "we""ird" TO ${ident(group)};
      CREATE ROLE ${ident(broker.user)} LOGIN CREATEROLE PASSWORD ${`'${await scramSha256Verifier(broker.password)}'`};
    `);
    if (s.version >= 16) {
      await c.query(`GRANT ${ident(group)}, ${ident(writer)} TO ${ident(broker.user)} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
    }
  });
  return { db, group, writer, broker };
}

async function asBroker<T>(s: ReturnType<typeof server>, f: Fixture, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: s.host, port: s.port, database: f.db, user: f.broker.user, password: f.broker.password });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function connectAs(s: ReturnType<typeof server>, db: string, user: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({ host: s.host, port: s.port, database: db, user, password });
  await c.connect();
  return c;
}

async function newLease(memberOf: string[], extra: Partial<Parameters<typeof createLoginRoleSql>[0]> = {}) {
  const name = leaseRoleName({ namespace: 'test', serviceAccount: 'sa', random: randomSuffix() });
  const password = generatePassword();
  const sql = createLoginRoleSql({
    name,
    verifier: await scramSha256Verifier(password),
    validUntil: new Date(Date.now() + HOUR),
    memberOf,
    ...extra,
  });
  return { name, password, sql };
}

describe.each(['pg18', 'pg15'] as const)('role SQL against real Postgres (%s)', (which) => {
  const s = server(which);
  let f: Fixture;
  beforeAll(async () => {
    f = await setUp(s);
  });

  it('a lease role created by the CREATEROLE-only broker logs in and has exactly its group’s privileges', async () => {
    const lease = await newLease([f.group]);
    await asBroker(s, f, (c) => c.query(lease.sql));
    expect(await loginAs(s, f.db, lease.name, lease.password)).toBe(lease.name);
    const c = await connectAs(s, f.db, lease.name, lease.password);
    try {
      expect((await c.query('SELECT id FROM public.allowed')).rows).toEqual([{ id: 1 }]);
      expect(await rejectionCode(c.query('SELECT id FROM public.denied'))).toBe('42501');
      expect(await rejectionCode(c.query('INSERT INTO public.allowed VALUES (2)'))).toBe('42501');
    } finally {
      await c.end();
    }
    expect(await rejectionCode(loginAs(s, f.db, lease.name, generatePassword()))).toBe('28P01');
  });

  it('Postgres refuses the login once VALID UNTIL has passed', async () => {
    const lease = await newLease([f.group], { validUntil: new Date(Date.now() + 2500) });
    await asBroker(s, f, (c) => c.query(lease.sql));
    expect(await loginAs(s, f.db, lease.name, lease.password)).toBe(lease.name);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await rejectionCode(loginAs(s, f.db, lease.name, lease.password))).toBe('28P01');
  });

  it('renewRoleSql moves VALID UNTIL, and an expired lease can be renewed back to life', async () => {
    const lease = await newLease([f.group], { validUntil: new Date(Date.now() - 1000) });
    await asBroker(s, f, (c) => c.query(lease.sql));
    expect(await rejectionCode(loginAs(s, f.db, lease.name, lease.password))).toBe('28P01');
    const until = new Date(Math.floor(Date.now() / 1000) * 1000 + HOUR);
    await asBroker(s, f, (c) => c.query(renewRoleSql(lease.name, until)));
    await withSuperuser(s, f.db, async (c) => {
      const { rows } = await c.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [lease.name]);
      expect((rows[0].rolvaliduntil as Date).getTime()).toBe(until.getTime());
    });
    expect(await loginAs(s, f.db, lease.name, lease.password)).toBe(lease.name);
  });

  it('searchPath, readOnly and connectionLimit take effect', async () => {
    const lease = await newLease([f.writer, f.group], { searchPath: ['app', 'we"ird'], readOnly: true, connectionLimit: 3 });
    const control = await newLease([f.writer]);
    await asBroker(s, f, async (c) => {
      await c.query(lease.sql);
      await c.query(control.sql);
    });
    const c = await connectAs(s, f.db, lease.name, lease.password);
    try {
      expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('app, "we""ird"');
      expect((await c.query('SELECT current_schemas(false)::text[] AS s')).rows[0].s).toEqual(['app', 'we"ird']);
      expect((await c.query('SHOW default_transaction_read_only')).rows[0].default_transaction_read_only).toBe('on');
      expect(await rejectionCode(c.query('INSERT INTO public.allowed VALUES (2)'))).toBe('25006');
    } finally {
      await c.end();
    }
    // The same group without readOnly can write: the refusal above came from readOnly.
    const w = await connectAs(s, f.db, control.name, control.password);
    try {
      expect((await w.query('INSERT INTO public.allowed VALUES (3)')).rowCount).toBe(1);
    } finally {
      await w.end();
    }
    await withSuperuser(s, f.db, async (su) => {
      const { rows } = await su.query('SELECT rolconnlimit, rolinherit FROM pg_roles WHERE rolname = $1', [lease.name]);
      expect(rows).toEqual([{ rolconnlimit: 3, rolinherit: true }]);
    });
  });

  it('creation is all-or-nothing: a failing ALTER leaves no role behind', async () => {
    const lease = await newLease([f.group], { searchPath: ['app'] });
    // Break the second statement after building it, to prove the string runs as one transaction.
    const broken = lease.sql.replace('SET search_path TO', 'SET no_such_setting_at_all TO');
    expect(await rejectionCode(withSuperuser(s, f.db, (c) => c.query(broken)))).toBe('42704');
    await withSuperuser(s, f.db, async (c) => {
      expect((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [lease.name])).rowCount).toBe(0);
    });
    const unknownGroup = await newLease([randomName('no_such_group')]);
    expect(await rejectionCode(asBroker(s, f, (c) => c.query(unknownGroup.sql)))).toBe('42704');
  });

  it('alterPasswordSql rotates a password: the new one works, the old one is refused', async () => {
    const user = randomName('root');
    const old = generatePassword();
    const next = generatePassword();
    await withSuperuser(s, f.db, async (c) => {
      await c.query(`CREATE ROLE ${ident(user)} LOGIN CREATEROLE PASSWORD '${await scramSha256Verifier(old)}'`);
    });
    const c = await connectAs(s, f.db, user, old);
    try {
      await c.query(alterPasswordSql(user, await scramSha256Verifier(next)));
      // Existing connections are not affected.
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe(user);
    } finally {
      await c.end();
    }
    expect(await loginAs(s, f.db, user, next)).toBe(user);
    expect(await rejectionCode(loginAs(s, f.db, user, old))).toBe('28P01');
  });
});
