import { describe, expect, it } from 'vitest';
import { createDatabase, server, withSuperuser } from '../support/postgres.js';

describe('test harness', () => {
  it.each(['pg18', 'pg15'] as const)('%s is a real server', async (name) => {
    const s = server(name);
    const db = await createDatabase(s);
    const version = await withSuperuser(s, db, async (c) => (await c.query('SHOW server_version_num')).rows[0].server_version_num);
    expect(Math.floor(Number(version) / 10000)).toBe(s.version);
  });
});
