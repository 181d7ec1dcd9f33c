import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgmintError } from '../../lib/errors.js';
import { renderTemplate, templateVariables, validateTemplate } from '../../lib/sql/template.js';
import { createDatabase, server, withSuperuser } from '../support/postgres.js';
import { hostileRoleName, hostileString } from './arbitraries.js';
import { randomName, rejectionCode, rolesCreatedInThisTransaction } from './helpers.js';

const VERIFIER =
  'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb=';

describe('renderTemplate()', () => {
  const vars = { name: 'pgm_a_b_x1y2z3w4', password: VERIFIER, expiration: '2026-04-12T16:30:00.000Z' };

  it('substitutes pre-quoted values in quoted and bare positions', () => {
    expect(renderTemplate(`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`, vars)).toBe(
      `CREATE ROLE "pgm_a_b_x1y2z3w4" WITH LOGIN PASSWORD '${VERIFIER}' VALID UNTIL '2026-04-12T16:30:00.000Z';`,
    );
    expect(renderTemplate('ALTER ROLE {{username}} VALID UNTIL {{ expiration }}', vars)).toBe(
      `ALTER ROLE "pgm_a_b_x1y2z3w4" VALID UNTIL '2026-04-12T16:30:00.000Z'`,
    );
    expect(renderTemplate(`SELECT '{{name}}'`, { name: `o'k` })).toBe(`SELECT 'o''k'`);
    expect(renderTemplate(`SELECT {{password}}`, { name: 'n', password: 'a\\b' })).toBe(`SELECT  E'a\\\\b'`);
  });

  it('leaves comments, dollar-quoted bodies and other strings alone', () => {
    const t = `-- {{password}} is not substituted here\nDO $f$ BEGIN RAISE NOTICE '%', '{x}'; END $f$; /* {{nope}} /* nested */ {{name}} */ SELECT '{{' || $1, "}}"`;
    expect(renderTemplate(t, vars)).toBe(t);
  });

  it.each([
    ['unknown variable', `CREATE ROLE "{{user}}"`],
    ['unknown bare variable', 'GRANT x TO {{role}}'],
    ['malformed placeholder', 'CREATE ROLE {{name}'],
    ['malformed placeholder with a dash', 'CREATE ROLE {{na-me}}'],
    ['empty', ''],
    ['whitespace only', '  \n\t '],
    ['comment only', '-- {{name}}\n/* x */'],
    ['placeholder inside a longer identifier', `CREATE ROLE "x_{{name}}"`],
    ['placeholder inside a longer string', `COMMENT ON ROLE x IS 'lease {{name}}'`],
    ['placeholder after a doubled quote', `SELECT '{{password}}'''`],
    ['placeholder in a dollar body', `DO $$ BEGIN EXECUTE 'CREATE ROLE {{name}}'; END $$`],
    ['placeholder in a tagged dollar body', `DO $x$ BEGIN EXECUTE format('CREATE ROLE %I', '{{name}}'); END $x$`],
    ['password as identifier', `ALTER ROLE "{{password}}"`],
    ['expiration as identifier', `ALTER ROLE "{{expiration}}"`],
    ['E-string around a placeholder', `ALTER ROLE x PASSWORD E'{{password}}'`],
    ['U& identifier around a placeholder', `CREATE ROLE U&"{{name}}"`],
    ['backslash in a string', `SELECT 'a\\'; CREATE ROLE "{{name}}"`],
    ['backslash in an E-string', `SELECT E'\\n'; CREATE ROLE "{{name}}"`],
    ['bare placeholder glued to a word', 'CREATE ROLE x{{name}}'],
    ['bare placeholder glued to a quote', `SELECT 'a'{{password}}`],
    ['bare placeholder before a quote', `SELECT {{password}}'a'`],
    ['adjacent bare placeholders', 'SELECT {{password}}{{expiration}}'],
    ['bare placeholder after E', 'SELECT E{{password}}'],
    ['unterminated string', `SELECT '{{password}}`],
    ['unterminated identifier', 'CREATE ROLE "x'],
    ['unterminated block comment', 'SELECT 1 /* /* */'],
    ['unterminated dollar quote', 'DO $a$ SELECT 1 $b$'],
  ])('rejects %s', (_why, template) => {
    expect(validateTemplate(template)).toEqual(expect.any(String));
    expect(() => renderTemplate(template, vars)).toThrow(TypeError);
  });

  it('validateTemplate accepts good templates and can require variables', () => {
    expect(validateTemplate(`CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}'`)).toBeNull();
    expect(validateTemplate('GRANT app TO {{name}}; SELECT $1, $$ {x} $$', { require: ['name'] })).toBeNull();
    expect(validateTemplate('SELECT 1', { require: ['name'] })).toEqual(expect.any(String));
    expect([...templateVariables(`ALTER ROLE {{username}} VALID UNTIL '{{expiration}}'`)].sort()).toEqual(['expiration', 'name']);
  });

  it('a missing value is a TypeError; a bad value is invalid_request', () => {
    expect(() => renderTemplate(`ALTER ROLE "{{name}}" PASSWORD '{{password}}'`, { name: 'x' })).toThrow(TypeError);
    try {
      renderTemplate(`CREATE ROLE "{{name}}"`, { name: 'a\0b' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PgmintError);
      expect((err as PgmintError).code).toBe('invalid_request');
    }
  });
});

describe.each(['pg18', 'pg15'] as const)('rendered templates against real Postgres (%s)', (which) => {
  const s = server(which);
  let db: string;
  beforeAll(async () => {
    db = await createDatabase(s, 'tmpl');
  });

  it.each([
    ['quoted', `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; COMMENT ON ROLE "{{name}}" IS '{{password}}'`],
    ['bare', 'CREATE ROLE {{name}} LOGIN PASSWORD {{password}};\nCOMMENT ON ROLE {{username}} IS {{password}}'],
  ])('arbitrary values cannot escape their quotes (%s)', async (_form, template) => {
    await withSuperuser(s, db, async (c) => {
      await c.query('SET escape_string_warning = off');
      await fc.assert(
        fc.asyncProperty(hostileRoleName([s.user]), hostileString(120), fc.boolean(), async (name, password, scs) => {
          await c.query(`SET standard_conforming_strings = ${scs ? 'on' : 'off'}`);
          await c.query('BEGIN');
          try {
            await c.query(renderTemplate(template, { name, password }));
            expect(await rolesCreatedInThisTransaction(c)).toEqual([name]);
            const { rows } = await c.query(`SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`, [
              name,
            ]);
            // COMMENT with an empty string removes the comment.
            expect(rows).toEqual([{ comment: password === '' ? null : password }]);
          } finally {
            await c.query('ROLLBACK');
          }
        }),
        { numRuns: 120 },
      );
    });
  });

  it('injection attempts through template values create nothing else', async () => {
    const evil = randomName('evil');
    const template = `CREATE ROLE "{{name}}" LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`;
    const cases = [
      { name: `x"; CREATE ROLE ${evil}; --`, password: 'p', expiration: 'infinity' },
      { name: randomName('ok'), password: `'; CREATE ROLE ${evil}; --`, expiration: 'infinity' },
      { name: randomName('ok'), password: `\\'; CREATE ROLE ${evil}; --`, expiration: 'infinity' },
      // Not a timestamp: Postgres refuses it (22007 invalid_datetime_format), still creating nothing.
      { name: randomName('ok'), password: 'p', expiration: `infinity'; CREATE ROLE ${evil}; --`, refused: '22007' },
    ];
    await withSuperuser(s, db, async (c) => {
      for (const { refused, ...vars } of cases) {
        await c.query('BEGIN');
        try {
          const outcome = await rejectionCode(c.query(renderTemplate(template, vars)));
          expect(outcome).toBe(refused);
          if (!refused) expect(await rolesCreatedInThisTransaction(c)).toEqual([vars.name]);
        } finally {
          await c.query('ROLLBACK');
        }
      }
      expect((await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [evil])).rowCount).toBe(0);
    });
  });

  it('the lexer agrees with Postgres on comments, dollar quotes and parameters', async () => {
    const name = randomName('tmpl');
    const template = [
      `/* outer /* nested */ still a comment ' " $$ */`,
      `CREATE ROLE "{{name}}"; -- trailing ' comment`,
      `DO $body$ BEGIN RAISE NOTICE 'in body: {x} $$'; END $body$;`,
      `COMMENT ON ROLE {{name}} IS '{{expiration}}'`,
    ].join('\n');
    await withSuperuser(s, db, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query(renderTemplate(template, { name, expiration: 'x--/*$$' }));
        expect(await rolesCreatedInThisTransaction(c)).toEqual([name]);
        const { rows } = await c.query(`SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`, [name]);
        expect(rows).toEqual([{ comment: 'x--/*$$' }]);
      } finally {
        await c.query('ROLLBACK');
      }
    });
  });
});
