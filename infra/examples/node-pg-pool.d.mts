import type pg from 'pg';

export interface PgmintCredentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: string;
  expires_at: string;
  refresh_at: string;
}
export function credentials(): Promise<PgmintCredentials>;
export function sslFor(sslmode: string, callerSsl?: pg.ClientConfig['ssl']): pg.ClientConfig['ssl'];
export class PgmintClient extends pg.Client {}
export function createPool(options?: pg.PoolConfig): pg.Pool;
