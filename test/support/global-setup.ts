/**
 * Starts one real PostgreSQL 18 and one PostgreSQL 15 for the whole run.
 * Test files reach them with `inject('postgres')` and create their own databases.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type RunningPostgres, startEmbeddedPostgres } from '../../functions/local/embedded-postgres.js';

export interface ServerInfo {
  host: string;
  port: number;
  user: string;
  password: string;
  version: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { pg18: ServerInfo; pg15: ServerInfo };
  }
}

const info = (s: RunningPostgres): ServerInfo => ({
  host: s.host,
  port: s.port,
  user: s.superuser,
  password: s.password,
  version: s.version,
});

export default async function setup(project: TestProject) {
  const root = join(tmpdir(), `pgmint-test-${process.pid}`);
  const [pg18, pg15] = await Promise.all([
    startEmbeddedPostgres({ dataDir: join(root, 'pg18'), version: 18, ephemeral: true }),
    startEmbeddedPostgres({ dataDir: join(root, 'pg15'), version: 15, ephemeral: true }),
  ]);
  project.provide('postgres', { pg18: info(pg18), pg15: info(pg15) });
  return async () => {
    await Promise.allSettled([pg18.stop(), pg15.stop()]);
    await rm(root, { recursive: true, force: true });
  };
}
