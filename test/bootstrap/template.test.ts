/**
 * The two ways an operator bootstraps a target — `pgmint bootstrap-sql` piped
 * into psql, and the psql template in infra/bootstrap/ — run against real
 * PostgreSQL 18 and 15 and leave the same roles, grants and default privileges.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createDatabase, server, serverUrl, withSuperuser } from '../support/postgres.js';

const run = promisify(execFile);
const TEMPLATE = 'infra/bootstrap/bootstrap.sql';

function psql(url: string, args: string[], stdin?: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-X', '-q', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

interface Names {
  broker: string;
  ro: string;
  rw: string;
  owner: string;
}

/** What the bootstrap left behind, with the names replaced by their parts. */
async function fingerprint(s: ReturnType<typeof server>, database: string, n: Names) {
  return withSuperuser(s, database, async (c) => {
    await c.query(`SET ROLE ${n.owner}`);
    await c.query('CREATE TABLE app.later (id serial PRIMARY KEY, v text)');
    await c.query('RESET ROLE');
    const broker = (
      await c.query(
        'SELECT rolsuper, rolcreaterole, rolinherit, rolcanlogin, rolcreatedb, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1',
        [n.broker],
      )
    ).rows[0];
    const pg16 = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num) >= 160000;
    const members = (
      await c.query(
        `SELECT g.rolname AS grp, m.admin_option ${pg16 ? ', m.inherit_option, m.set_option' : ''} FROM pg_auth_members m
         JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1 ORDER BY 1`,
        [n.broker],
      )
    ).rows.map((r) => ({ ...r, grp: r.grp === n.ro ? 'ro' : r.grp === n.rw ? 'rw' : r.grp }));
    const privileges: Record<string, boolean> = {};
    for (const [who, role] of [
      ['ro', n.ro],
      ['rw', n.rw],
      ['broker', n.broker],
    ] as const) {
      for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) {
        privileges[`${who}:${p}`] = (await c.query('SELECT has_table_privilege($1, $2, $3) AS ok', [role, 'app.later', p])).rows[0].ok;
      }
      privileges[`${who}:sequence`] = (
        await c.query('SELECT has_sequence_privilege($1, $2, $3) AS ok', [role, 'app.later_id_seq', 'USAGE'])
      ).rows[0].ok;
      privileges[`${who}:schema`] = (await c.query('SELECT has_schema_privilege($1, $2, $3) AS ok', [role, 'app', 'USAGE'])).rows[0].ok;
      privileges[`${who}:create`] = (await c.query('SELECT has_schema_privilege($1, $2, $3) AS ok', [role, 'app', 'CREATE'])).rows[0].ok;
    }
    const roConfig = (await c.query('SELECT rolconfig FROM pg_roles WHERE rolname = $1', [n.ro])).rows[0].rolconfig;
    const schemaOwner = (await c.query("SELECT nspowner::regrole::text = $1 AS ok FROM pg_namespace WHERE nspname = 'app'", [n.owner]))
      .rows[0].ok;
    return { broker, members, privileges, roConfig, schemaOwner };
  });
}

function names(tag: string): Names {
  const sfx = randomBytes(3).toString('hex');
  return { broker: `${tag}_broker_${sfx}`, ro: `${tag}_ro_${sfx}`, rw: `${tag}_rw_${sfx}`, owner: `${tag}_owner_${sfx}` };
}

describe.each(['pg18', 'pg15'] as const)('bootstrap SQL on %s', (serverName) => {
  const s = () => server(serverName);

  it('`pgmint bootstrap-sql` and infra/bootstrap/bootstrap.sql leave the same least-privilege setup', async () => {
    const cli = names('cli');
    const cliDb = await createDatabase(s(), 'cli');
    await withSuperuser(s(), cliDb, (c) => c.query(`CREATE ROLE ${cli.owner} NOLOGIN`));
    const { stdout } = await run('node', [
      'cli/bin.mjs',
      'bootstrap-sql',
      '--database',
      cliDb,
      '--schema',
      'app',
      '--owner',
      cli.owner,
      '--broker-role',
      cli.broker,
      '--readonly-group',
      cli.ro,
      '--readwrite-group',
      cli.rw,
      '--server-version',
      String(s().version),
    ]);
    expect(stdout.includes('WITH ADMIN OPTION, INHERIT FALSE, SET FALSE')).toBe(s().version >= 16);
    const viaCli = await psql(serverUrl(s(), cliDb), ['-v', 'ON_ERROR_STOP=1'], stdout);
    expect(viaCli, viaCli.stderr).toMatchObject({ code: 0 });

    const tpl = names('tpl');
    const tplDb = await createDatabase(s(), 'tpl');
    await withSuperuser(s(), tplDb, (c) => c.query(`CREATE ROLE ${tpl.owner} NOLOGIN`));
    const viaTemplate = await psql(serverUrl(s(), tplDb), [
      '-v',
      'schema=app',
      '-v',
      `owner=${tpl.owner}`,
      '-v',
      `broker=${tpl.broker}`,
      '-v',
      `readonly=${tpl.ro}`,
      '-v',
      `readwrite=${tpl.rw}`,
      '-f',
      TEMPLATE,
    ]);
    expect(viaTemplate, viaTemplate.stderr).toMatchObject({ code: 0 });

    const a = await fingerprint(s(), cliDb, cli);
    const b = await fingerprint(s(), tplDb, tpl);
    expect(b).toEqual(a);
    expect(a.broker).toEqual({
      rolsuper: false,
      rolcreaterole: true,
      rolinherit: false,
      rolcanlogin: true,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
    });
    expect(a.members).toEqual(
      s().version >= 16
        ? [
            { grp: 'ro', admin_option: true, inherit_option: false, set_option: false },
            { grp: 'rw', admin_option: true, inherit_option: false, set_option: false },
          ]
        : [],
    );
    expect(a.privileges).toEqual({
      'ro:SELECT': true,
      'ro:INSERT': false,
      'ro:UPDATE': false,
      'ro:DELETE': false,
      'ro:TRUNCATE': false,
      'ro:sequence': false,
      'ro:schema': true,
      'ro:create': false,
      'rw:SELECT': true,
      'rw:INSERT': true,
      'rw:UPDATE': true,
      'rw:DELETE': true,
      'rw:TRUNCATE': false,
      'rw:sequence': true,
      'rw:schema': true,
      'rw:create': false,
      'broker:SELECT': false,
      'broker:INSERT': false,
      'broker:UPDATE': false,
      'broker:DELETE': false,
      'broker:TRUNCATE': false,
      'broker:sequence': false,
      'broker:schema': false,
      'broker:create': false,
    });
    expect(a.roConfig).toEqual(['default_transaction_read_only=on']);
    expect(a.schemaOwner).toBe(true);
  });

  it('the template refuses to run without a schema owner, and changes nothing', async () => {
    const n = names('bad');
    const db = await createDatabase(s(), 'bad');
    const res = await psql(serverUrl(s(), db), ['-v', 'schema=app', '-v', `broker=${n.broker}`, '-f', TEMPLATE]);
    expect(res.code).not.toBe(0);
    const { rows } = await withSuperuser(s(), db, (c) => c.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [n.broker]));
    expect(rows[0].n).toBe(0);
  });
});
