import { describe, expect, it } from 'vitest';
import { CREATOR_SCHEMA } from '../../lib/sql/creator-names.js';
import { administerSql, DIRECT, installDispatcherSql, provisionCreatorSql, runAsCreatorSql } from '../../lib/sql/creator-sql.js';

describe('creator role statements', () => {
  it('administerSql passes statements through for the broker and quotes them into the dispatcher for creators', () => {
    expect(administerSql(DIRECT, 'pgm_a', 'DROP ROLE "pgm_a"')).toBe('DROP ROLE "pgm_a"');
    expect(administerSql({ mode: 'creators' }, "pgm_o'k", `ALTER ROLE "pgm_o'k" VALID UNTIL '2026-01-01'`)).toBe(
      `SELECT ${CREATOR_SCHEMA}.administer('pgm_o''k', 'ALTER ROLE "pgm_o''k" VALID UNTIL ''2026-01-01''')`,
    );
  });

  it('runAsCreatorSql calls the creator’s own function with the statements as $1', () => {
    expect(runAsCreatorSql('b"roker_c7')).toBe(`SELECT ${CREATOR_SCHEMA}."b""roker_c7"($1)`);
  });

  it('provisioning serializes on one lock, grants each group WITH ADMIN OPTION and takes the broker’s SET back', () => {
    const text = provisionCreatorSql('broker', 'broker_c1', ['app_ro', 'app_rw']);
    const statements = text.split(';\n');
    expect(statements[0]).toBe(`SELECT pg_advisory_xact_lock(hashtextextended('${CREATOR_SCHEMA}:provision', 0))`);
    expect(statements).toContain('GRANT "app_ro" TO "broker_c1" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
    expect(statements).toContain('GRANT "app_rw" TO "broker_c1" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE');
    expect(statements).toContain(`GRANT EXECUTE ON FUNCTION ${CREATOR_SCHEMA}."broker_c1"(text) TO "broker"`);
    expect(statements.at(-1)).toBe('REVOKE "broker_c1" FROM SESSION_USER');
    expect(installDispatcherSql('broker').split(';\n')[0]).toBe(statements[0]);
  });
});
