/**
 * Per-file databases on the shared test servers, and superuser clients to inspect them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { ServerInfo } from './global-setup.js';

export type ServerName = 'pg18' | 'pg15';

export function server(name: ServerName = 'pg18'): ServerInfo {
  return inject('postgres')[name];
}

export function serverUrl(s: ServerInfo, database = 'postgres', user = s.user, password = s.password): string {
  return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${s.host}:${s.port}/${encodeURIComponent(database)}`;
}

export async function withSuperuser<T>(s: ServerInfo, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl(s, database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database with a unique name and returns that name. */
export async function createDatabase(s: ServerInfo, prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withSuperuser(s, 'postgres', (c) => c.query(`CREATE DATABASE "${name}"`));
  return name;
}

/** Tries a login and returns `current_user`, or throws Postgres's refusal. */
export async function loginAs(s: { host: string; port: number }, database: string, user: string, password: string): Promise<string> {
  const client = new pg.Client({ host: s.host, port: s.port, database, user, password });
  await client.connect();
  try {
    const { rows } = await client.query<{ current_user: string }>('SELECT current_user');
    return rows[0]!.current_user;
  } finally {
    await client.end();
  }
}
