import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePassword } from '../../lib/crypto/password.js';
import { scramSha256Verifier } from '../../lib/crypto/scram.js';
import { brokerStatusSql, existingRolesSql, orphanCandidatesSql } from '../../lib/sql/catalog-sql.js';
import { dropCheckSql } from '../../lib/sql/drop-check-sql.js';
import { ident, literal } from '../../lib/sql/quote.js';
import type { Statement } from '../../lib/sql/statement.js';
import { createDatabase, server, withSuperuser } from '../support/postgres.js';
import { randomName } from './helpers.js';

const HOUR = 3_600_000;

describe.each(['pg18', 'pg15'] as const)('catalog reads against real Postgres (%s)', (which) => {
  const s = server(which);
  let db: string;
  let group: string;
  let broker: { user: string; password: string };
  /** Lease prefix of this file's roles: roles are cluster-wide, so each run has its own. */
  let prefix: string;

  const asBroker = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ host: s.host, port: s.port, database: db, user: broker.user, password: broker.password });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const run = <T extends pg.QueryResultRow>(c: pg.Client, st: Statement) => c.query<T>(st.text, st.params).then((r) => r.rows);

  beforeAll(async () => {
    db = await createDatabase(s, 'catalog');
    group = randomName('grp');
    broker = { user: randomName('broker'), password: generatePassword() };
    prefix = randomName('t').replace('_', '');
    await withSuperuser(s, db, async (c) => {
      await c.query(`CREATE ROLE ${ident(group)} NOLOGIN;
        CREATE ROLE ${ident(broker.user)} LOGIN CREATEROLE PASSWORD ${literal(await scramSha256Verifier(broker.password))}`);
      if (s.version >= 16) await c.query(`GRANT ${ident(group)} TO ${ident(broker.user)} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
    });
  });

  it('brokerStatusSql reads the broker’s attributes and the server version', async () => {
    const [row] = await asBroker((c) => run(c, brokerStatusSql()));
    expect(row).toEqual({ createrole: true, superuser: false, server_version: expect.any(Number) });
    expect(Math.floor(row!.server_version / 10000)).toBe(s.version);
  });

  it('existingRolesSql finds the roles that exist and only those', async () => {
    const rows = await asBroker((c) => run<{ rolname: string }>(c, existingRolesSql([group, randomName('no_such_role')])));
    expect(rows).toEqual([{ rolname: group }]);
  });

  it('orphanCandidatesSql pages expired prefixed roles of this broker or its groups, never newer or foreign ones', async () => {
    const past = new Date(Date.now() - HOUR).toISOString();
    const future = new Date(Date.now() + HOUR).toISOString();
    const [mine, alsoMine, valid] = [`${prefix}_a`, `${prefix}_b`, `${prefix}_c`];
    const foreign = `${prefix}_d`;
    await asBroker(async (c) => {
      await c.query(`CREATE ROLE ${ident(mine)} LOGIN VALID UNTIL ${literal(past)} IN ROLE ${ident(group)}`);
      await c.query(`CREATE ROLE ${ident(alsoMine)} LOGIN VALID UNTIL ${literal(past)} IN ROLE ${ident(group)}`);
      await c.query(`CREATE ROLE ${ident(valid)} LOGIN VALID UNTIL ${literal(future)} IN ROLE ${ident(group)}`);
    });
    // Made by someone else and in none of the database's groups: another broker's role.
    await withSuperuser(s, db, (c) => c.query(`CREATE ROLE ${ident(foreign)} LOGIN VALID UNTIL ${literal(past)}`));
    const query = { leasePrefix: prefix, graceSec: 60, after: '', limit: 10, broker: broker.user, groups: [group], recentSec: 2 * 3600 };
    expect(await asBroker((c) => run(c, orphanCandidatesSql(query)))).toEqual([
      { name: mine, grp: group, recent: true },
      { name: alsoMine, grp: group, recent: true },
    ]);
    expect(await asBroker((c) => run(c, orphanCandidatesSql({ ...query, limit: 1, after: mine, recentSec: 60 })))).toEqual([
      { name: alsoMine, grp: group, recent: false },
    ]);
    // Inside the grace period nothing is a candidate yet.
    expect(await asBroker((c) => run(c, orphanCandidatesSql({ ...query, graceSec: 2 * 3600 })))).toEqual([]);
  });

  it('dropCheckSql reports sessions, idleness and absence for a batch in one query', async () => {
    const expired = `${prefix}z_x`;
    const busy = `${prefix}z_y`;
    const password = generatePassword();
    await asBroker(async (c) => {
      await c.query(
        `CREATE ROLE ${ident(expired)} LOGIN VALID UNTIL ${literal(new Date(Date.now() - HOUR).toISOString())} IN ROLE ${ident(group)}`,
      );
      await c.query(
        `CREATE ROLE ${ident(busy)} LOGIN PASSWORD ${literal(await scramSha256Verifier(password))} VALID UNTIL ${literal(new Date(Date.now() + HOUR).toISOString())} IN ROLE ${ident(group)}`,
      );
    });
    const session = new pg.Client({ host: s.host, port: s.port, database: db, user: busy, password });
    await session.connect();
    try {
      const roles = [
        { name: expired, reassignTo: group },
        { name: busy, reassignTo: group },
        { name: randomName('gone'), reassignTo: null },
      ];
      const rows = await asBroker((c) => run(c, dropCheckSql(roles)));
      const byName = new Map(rows.map((r) => [r.name, r]));
      expect(rows).toHaveLength(2);
      expect(byName.get(expired)).toMatchObject({ sessions: 0, idle: true, reaches_group: true, other_dbs: [], creator: null });
      expect(byName.get(busy)).toMatchObject({ sessions: 1, idle: false, reaches_group: true, other_dbs: [], creator: null });
      expect(Math.floor((byName.get(busy)!.version as number) / 10000)).toBe(s.version);
    } finally {
      await session.end();
    }
  });
});
