/**
 * The migrator: every migration once, in version order, whatever the order
 * given; a second run, or two brokers starting at once, apply nothing twice;
 * a schema an operator made beforehand is taken as it is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../functions/local/migrations.js';
import { connectPg } from '../../lib/db/pg.js';
import { parseDatabaseUrl, type Sql } from '../../lib/db/port.js';
import { type Migration, migrate } from '../../lib/store/migrate.js';
import { runCli } from '../cli/support.js';
import { createDatabase, server, serverUrl, withSuperuser } from '../support/postgres.js';

describe('migrate', () => {
  let all: Migration[];
  const pools: Sql[] = [];
  const fresh = async (prefix: string) => {
    const s = server();
    const db = await createDatabase(s, prefix);
    const open = () => {
      const sql = connectPg({ ...parseDatabaseUrl(serverUrl(s, db)), max: 2 });
      pools.push(sql);
      return sql;
    };
    return { s, db, open };
  };
  const applied = async (sql: Sql) => {
    const { rows } = await sql.query<{ version: string }>('SELECT version FROM pgmint.schema_migrations ORDER BY version');
    return rows.map((r) => r.version);
  };

  beforeAll(async () => {
    all = await readMigrations();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
  });

  it('applies every migration once in version order, and nothing on a second run', async () => {
    const sql = (await fresh('mig')).open();
    const versions = all.map((m) => m.version);
    expect(versions).toEqual([...versions].sort());
    expect(await migrate(sql, [...all].reverse())).toEqual(versions);
    expect(await migrate(sql, all)).toEqual([]);
    expect(await applied(sql)).toEqual(versions);
  });

  it('lets two brokers starting at once apply the migrations between them once', async () => {
    const target = await fresh('migc');
    const runs = await Promise.all([migrate(target.open(), all), migrate(target.open(), all)]);
    expect(runs.flat().sort()).toEqual(all.map((m) => m.version));
    expect(await applied(target.open())).toEqual(all.map((m) => m.version));
  });

  it('takes a pgmint schema made beforehand as it is', async () => {
    const target = await fresh('migs');
    await withSuperuser(target.s, target.db, (c) => c.query('CREATE SCHEMA pgmint'));
    expect(await migrate(target.open(), all)).toEqual(all.map((m) => m.version));
  });

  it('is what `pgmint migrate` runs, with the files of infra/migrations', async () => {
    const target = await fresh('migcli');
    const url = serverUrl(target.s, target.db);
    const first = await runCli(['migrate'], { env: { PGMINT_DATABASE_URL: url } });
    expect(first).toMatchObject({ status: 0, stdout: `applied: ${all.map((m) => m.version).join(', ')}\n` });
    expect(await runCli(['migrate', '--database-url', url])).toMatchObject({ status: 0, stdout: 'up to date\n' });
  });

  it('refuses two migrations with one version before touching the database', async () => {
    const target = await fresh('migd');
    const sql = target.open();
    await expect(migrate(sql, [all[0]!, all[0]!])).rejects.toThrow(TypeError);
    expect((await sql.query(`SELECT to_regnamespace('pgmint') AS ns`)).rows[0]).toEqual({ ns: null });
  });
});
