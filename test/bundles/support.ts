/**
 * Shared by the bundle tests: builds the deployable bundles once per test
 * file into a temporary folder, and shapes API Gateway events from the
 * samples in infra/events/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { type BuildResult, type BundleReport, buildBundles, FUNCTIONS, ROOT } from '../../infra/build.js';
import type { TestBroker } from '../support/broker.js';
import { loginAs, serverUrl } from '../support/postgres.js';

export interface Built extends BuildResult {
  bundle(name: string): BundleReport;
  remove(): Promise<void>;
}

export async function buildOnce(only?: string[]): Promise<Built> {
  const outdir = await mkdtemp(join(tmpdir(), 'pgmint-dist-'));
  const result = await buildBundles({ outdir, only });
  return {
    ...result,
    bundle(name) {
      const found = result.bundles.find((b) => b.name === name);
      if (!found) throw new Error(`bundle ${name} was not built`);
      return found;
    },
    remove: () => rm(outdir, { recursive: true, force: true }),
  };
}

/** Whether a function's entry file exists yet (sweep and rotate-root arrive separately). */
export function hasFunction(name: string): boolean {
  const spec = FUNCTIONS.find((f) => f.name === name);
  return !!spec && existsSync(join(ROOT, spec.entry));
}

export function newSecretKey(): string {
  return randomBytes(32).toString('base64');
}

/** The environment a deployed function of this broker would get. */
export function functionEnv(b: TestBroker, secretKey: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PGMINT_DATABASE_URL: serverUrl(b.pg, b.controlDb),
    PGMINT_SECRET_KEY: secretKey,
    PGMINT_ALLOW_INSECURE_ISSUERS: '1',
    ...extra,
  };
}

export function sampleEvent<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(join(ROOT, 'infra/events', file), 'utf8')) as T;
}

interface HttpEvent {
  rawPath: string;
  rawQueryString: string;
  queryStringParameters?: Record<string, string>;
  headers: Record<string, string>;
  requestContext: { requestId: string; http: { method: string; path: string } };
}

/** An API Gateway HTTP API (payload 2.0) event for `path`, from the exchange sample. */
export function httpEvent(path: string, options: { token?: string; method?: string } = {}): HttpEvent {
  const event = sampleEvent<HttpEvent>('api-exchange.json');
  const url = new URL(path, 'https://pgmint.example.com');
  event.rawPath = url.pathname;
  event.rawQueryString = url.search.replace(/^\?/, '');
  event.queryStringParameters = url.search ? Object.fromEntries(url.searchParams) : undefined;
  event.requestContext.http.path = url.pathname;
  event.requestContext.http.method = options.method ?? 'GET';
  event.requestContext.requestId = crypto.randomUUID();
  if (options.token) event.headers.authorization = `Bearer ${options.token}`;
  else delete event.headers.authorization;
  return event;
}

export interface LambdaHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

/**
 * The credential logs in as its user (host/port of the test server), and its
 * connection_uri, used as a client would, reads the fixture's two orders.
 */
export async function expectWorkingCredential(
  b: TestBroker,
  creds: { user: string; password: string; connection_uri: string },
): Promise<void> {
  expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  const client = new pg.Client({ connectionString: creds.connection_uri });
  await client.connect();
  try {
    expect((await client.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
  } finally {
    await client.end();
  }
}
