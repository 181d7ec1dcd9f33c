import { describe, expect, it } from 'vitest';
import { releaseElsewhereSql, revokeBatchSql, terminateOnlySql } from '../../lib/sql/revoke-sql.js';

const busy = { name: 'pgm_a', reassignTo: 'app_ro' };
const idle = { name: 'pgm_b', reassignTo: 'app_ro' };

describe('revocation scripts', () => {
  it('an idle role skips straight to DROP ROLE; a busy one is granted, released as itself, then dropped, in one script', () => {
    expect(revokeBatchSql(180000, [], [idle])).toBe('DROP ROLE IF EXISTS "pgm_b"');
    const statements = revokeBatchSql(180000, [busy], [idle]).split(';\n');
    expect(statements[0]).toBe('GRANT "pgm_a" TO SESSION_USER WITH INHERIT FALSE, SET TRUE');
    expect(statements.slice(1, 3)).toEqual([
      'SET LOCAL ROLE "pgm_a"',
      `SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE usename = 'pgm_a' AND pid <> pg_backend_pid()`,
    ]);
    expect(statements).toContain('REASSIGN OWNED BY "pgm_a" TO "app_ro"');
    expect(statements.at(-1)).toBe('DROP ROLE IF EXISTS "pgm_a", "pgm_b"');
    expect(() => revokeBatchSql(180000, [], [])).toThrow(TypeError);
  });

  it('PostgreSQL 15 grants without the 16+ options; with creators each grant and drop goes through the dispatcher', () => {
    expect(revokeBatchSql(150000, [busy]).split(';\n')[0]).toBe('GRANT "pgm_a" TO SESSION_USER');
    const statements = revokeBatchSql(180000, [busy], [], { mode: 'creators' }).split(';\n');
    expect(statements[0]).toBe(`SELECT pgmint_roles.administer('pgm_a', 'GRANT "pgm_a" TO SESSION_USER WITH INHERIT FALSE, SET TRUE')`);
    expect(statements.at(-1)).toBe(
      `SELECT pgmint_roles.administer(n, format('DROP ROLE IF EXISTS %I', n)) FROM unnest(ARRAY['pgm_a']::text[]) AS n`,
    );
  });

  it('elsewhere, the roles are released but kept, and every temporary grant is taken back by its grantor', () => {
    expect(
      releaseElsewhereSql(180000, [
        { ...busy, creator: 'broker_c3' },
        { ...idle, reassignTo: null },
      ]).split(';\n'),
    ).toEqual([
      'GRANT "broker_c3" TO SESSION_USER WITH INHERIT FALSE, SET TRUE',
      'GRANT "pgm_b" TO SESSION_USER WITH INHERIT FALSE, SET TRUE',
      'SET LOCAL ROLE "broker_c3"',
      'GRANT "pgm_a" TO SESSION_USER WITH INHERIT FALSE, SET TRUE',
      'RESET ROLE',
      'SET LOCAL ROLE "pgm_a"',
      'REASSIGN OWNED BY "pgm_a" TO "app_ro"',
      'DROP OWNED BY "pgm_a"',
      'RESET ROLE',
      'SET LOCAL ROLE "pgm_b"',
      'DROP OWNED BY "pgm_b"',
      'RESET ROLE',
      'SET LOCAL ROLE "broker_c3"',
      'REVOKE "pgm_a" FROM SESSION_USER',
      'RESET ROLE',
      'REVOKE "pgm_b" FROM SESSION_USER',
      'REVOKE "broker_c3" FROM SESSION_USER',
    ]);
    expect(() => releaseElsewhereSql(180000, [])).toThrow(TypeError);
  });

  it('before custom revocation statements, sessions end and the temporary grant is taken back', () => {
    expect(terminateOnlySql(180000, busy).split(';\n').at(-1)).toBe('REVOKE "pgm_a" FROM SESSION_USER');
  });
});
