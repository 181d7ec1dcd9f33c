import pg from 'pg';
import { it } from 'vitest';
import { createDatabase, server, withSuperuser } from '../support/postgres.js';
import { rejectionCode, randomName } from './helpers.js';
for (const which of ['pg18', 'pg15'] as const) it(which, async () => {
  const s = server(which);
  const db = await createDatabase(s, 'scr');
  const g = randomName('g'), b = randomName('b');
  await withSuperuser(s, db, async (c) => {
    await c.query(`CREATE ROLE ${g}; CREATE ROLE ${b} LOGIN CREATEROLE PASSWORD 'pw'; GRANT CREATE ON SCHEMA public TO ${g}`);
    if (s.version >= 16) await c.query(`GRANT ${g} TO ${b} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
  });
  const c = new pg.Client({ host: s.host, port: s.port, database: db, user: b, password: 'pw' });
  await c.connect();
  const out: Record<string, string> = {};
  const step = async (label: string, sql: string, params?: unknown[]) => { try { const r = await c.query(sql, params); out[label] = 'ok ' + JSON.stringify((Array.isArray(r) ? r.at(-1) : r).rows ?? ''); } catch (e) { out[label] = (e as any).code; } };
  const x = randomName('x');
  await step(`create`, `CREATE ROLE ${x} LOGIN PASSWORD 'pw' IN ROLE ${g}`);
  const sess = new pg.Client({ host: s.host, port: s.port, database: db, user: x, password: 'pw' });
  await sess.connect();
  let ended = 'alive'; sess.on('error', (e) => { ended = (e as any).code; });
  await sess.query(`CREATE TABLE public.t_${x} (id int)`);
  await step('terminate-nogrant', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [x]);
  await step('revoke-with-grant', `GRANT ${x} TO CURRENT_USER; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${x}'; REASSIGN OWNED BY ${x} TO ${g}; DROP OWNED BY ${x}; DROP ROLE IF EXISTS ${x}`);
  await new Promise((r) => setTimeout(r, 300));
  out.session = ended;
  await withSuperuser(s, db, async (su) => { out.owner = JSON.stringify((await su.query(`SELECT tableowner FROM pg_tables WHERE tablename = $1`, ['t_' + x])).rows) ; out.role = String((await su.query('SELECT 1 FROM pg_roles WHERE rolname=$1',[x])).rowCount); out.brokerMemberships = JSON.stringify((await su.query(`SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [b])).rows); });
  // Superuser path too
  const y = randomName('y');
  await withSuperuser(s, db, async (su) => { await su.query(`CREATE ROLE ${y} IN ROLE ${g}`); try { await su.query(`GRANT ${y} TO CURRENT_USER; REASSIGN OWNED BY ${y} TO ${g}; DROP OWNED BY ${y}; DROP ROLE IF EXISTS ${y}`); out.superuser = 'ok'; } catch (e) { out.superuser = (e as any).code; } });
  await step('missing:grant', `GRANT nosuchrole_zz TO CURRENT_USER`);
  console.log(which, JSON.stringify(out, null, 1));
  await c.end(); await sess.end().catch(() => {});
});
