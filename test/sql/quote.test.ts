import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgmintError } from '../../lib/errors.js';
import { ident, literal, qualified } from '../../lib/sql/quote.js';
import { createDatabase, server, withSuperuser } from '../support/postgres.js';
import { hostileRoleName, hostileString } from './arbitraries.js';
import { rolesCreatedInThisTransaction } from './helpers.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PgmintError ? err.code : err instanceof TypeError ? 'TypeError' : 'other';
  }
  return undefined;
}

describe('ident()', () => {
  it('double-quotes and doubles embedded quotes', () => {
    expect(ident('users')).toBe('"users"');
    expect(ident('a"b')).toBe('"a""b"');
    expect(ident('"')).toBe('""""');
    expect(qualified('app', 'we"ird')).toBe('"app"."we""ird"');
  });

  it('rejects empty, NUL, lone surrogates and names over 63 bytes as invalid_request', () => {
    expect(code(() => ident(''))).toBe('invalid_request');
    expect(code(() => ident('a\0b'))).toBe('invalid_request');
    expect(code(() => ident('a\ud800'))).toBe('invalid_request');
    expect(code(() => ident('a'.repeat(64)))).toBe('invalid_request');
    // 21 three-byte characters = 63 bytes is fine; one more byte is not.
    expect(code(() => ident('€'.repeat(21)))).toBeUndefined();
    expect(code(() => ident(`${'€'.repeat(21)}a`))).toBe('invalid_request');
    expect(code(() => ident('😀'.repeat(16)))).toBe('invalid_request'); // 64 bytes
    expect(code(() => ident(42 as unknown as string))).toBe('TypeError');
    expect(code(() => qualified())).toBe('TypeError');
  });
});

describe('literal()', () => {
  it('doubles quotes and switches to E-form only for backslashes', () => {
    expect(literal("it's")).toBe("'it''s'");
    expect(literal('a\\b')).toBe(" E'a\\\\b'");
    expect(literal("\\'")).toBe(" E'\\\\'''");
    expect(literal('')).toBe("''");
  });

  it('rejects NUL and lone surrogates as invalid_request, never echoing the value', () => {
    try {
      literal('secret\0value');
      expect.unreachable();
    } catch (err) {
      expect((err as PgmintError).code).toBe('invalid_request');
      expect((err as Error).message).not.toContain('secret');
    }
    expect(code(() => literal('\udc00'))).toBe('invalid_request');
    expect(code(() => literal(undefined as unknown as string))).toBe('TypeError');
  });
});

describe.each(['pg18', 'pg15'] as const)('quoting against real Postgres (%s)', (which) => {
  const s = server(which);
  let db: string;
  beforeAll(async () => {
    db = await createDatabase(s, 'quote');
  });

  it('CREATE ROLE with any name creates exactly that role and nothing else', async () => {
    await withSuperuser(s, db, async (c) => {
      await fc.assert(
        fc.asyncProperty(hostileRoleName([s.user]), async (name) => {
          await c.query('BEGIN');
          try {
            await c.query(`CREATE ROLE ${ident(name)}`);
            const found = await c.query('SELECT rolname FROM pg_roles WHERE rolname = $1', [name]);
            expect(found.rows).toEqual([{ rolname: name }]);
            expect(await rolesCreatedInThisTransaction(c)).toEqual([name]);
          } finally {
            await c.query('ROLLBACK');
          }
        }),
        { numRuns: 150 },
      );
    });
  });

  it('a 63-byte multibyte name is stored whole, not truncated', async () => {
    const name = `€${'x'.repeat(60)}`; // 3 + 60 bytes
    await withSuperuser(s, db, async (c) => {
      await c.query(`CREATE ROLE ${ident(name)}`);
      try {
        const found = await c.query('SELECT rolname FROM pg_roles WHERE rolname = $1', [name]);
        expect(found.rowCount).toBe(1);
      } finally {
        await c.query(`DROP ROLE ${ident(name)}`);
      }
    });
  });

  it('injection attempts in names create nothing else', async () => {
    const evil = `evil_${Math.random().toString(36).slice(2, 10)}`;
    const attempts = [
      `x"; CREATE ROLE ${evil}; --`,
      `x""; CREATE ROLE ${evil}; --`,
      `x\\"; CREATE ROLE ${evil}; --`,
      `x" LOGIN SUPERUSER; CREATE ROLE ${evil} --`,
      `$$; CREATE ROLE ${evil}; $$`,
      `x"/*`,
    ];
    await withSuperuser(s, db, async (c) => {
      for (const name of attempts) {
        await c.query(`CREATE ROLE ${ident(name)}`);
        const found = await c.query('SELECT rolname, rolsuper FROM pg_roles WHERE rolname = $1', [name]);
        expect(found.rows).toEqual([{ rolname: name, rolsuper: false }]);
        await c.query(`DROP ROLE ${ident(name)}`);
      }
      const none = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [evil]);
      expect(none.rowCount).toBe(0);
    });
  });

  it.each(['on', 'off'])('SELECT literal(s) returns exactly s (standard_conforming_strings=%s)', async (scs) => {
    await withSuperuser(s, db, async (c) => {
      await c.query(`SET standard_conforming_strings = ${scs}`);
      await c.query('SET escape_string_warning = off');
      await fc.assert(
        fc.asyncProperty(hostileString(200), async (value) => {
          const { rows } = await c.query(`SELECT 1 AS a,${literal(value)}AS v, ${literal(value)} || '' AS w`);
          expect(rows).toEqual([{ a: 1, v: value, w: value }]);
        }),
        { numRuns: 200 },
      );
    });
  });

  it('injection attempts in literals stay inside the literal', async () => {
    const evil = `evil_${Math.random().toString(36).slice(2, 10)}`;
    const attempts = [
      `'; CREATE ROLE ${evil}; --`,
      `\\'; CREATE ROLE ${evil}; --`,
      `\\\\'; CREATE ROLE ${evil}; --`,
      `$$'; CREATE ROLE ${evil}; --`,
    ];
    for (const scs of ['on', 'off']) {
      await withSuperuser(s, db, async (c) => {
        await c.query(`SET standard_conforming_strings = ${scs}`);
        for (const value of attempts) {
          const { rows } = await c.query(`SELECT ${literal(value)} AS v`);
          expect(rows).toEqual([{ v: value }]);
        }
        expect((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [evil])).rowCount).toBe(0);
      });
    }
  });
});
