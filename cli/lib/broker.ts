/**
 * The broker's HTTP API as the command calls it: one request helper that
 * turns problem+json answers and network failures into CliErrors a person
 * can act on, behind a spinner when stderr is a terminal.
 *
 * @example
 *   const { databases } = await brokerJson<{ databases: Db[] }>(broker, 'GET', '/api/v1/databases', { bearer: adminToken });
 */
import { CliError, hintFor, rememberSecret } from './errors.js';
import { withSpinner } from './spinner.js';

export const DEFAULT_BROKER_URL = 'http://127.0.0.1:8787';

export interface BrokerTarget {
  url: string;
}

export interface RequestOptions {
  bearer?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Shown next to the spinner. */
  label?: string;
  timeoutMs?: number;
  /** No spinner: for long-running processes whose stderr carries logs. */
  quiet?: boolean;
}

interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  request_id?: string;
  [field: string]: unknown;
}

function buildUrl(base: string, path: string, query: RequestOptions['query']): URL {
  let url: URL;
  try {
    url = new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw new CliError('invalid_request', `not a broker URL: ${base}`, { hint: 'pass --url http(s)://host:port or set PGMINT_URL' });
  }
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

/** Extra problem fields worth showing (e.g. `field`, `scope`, `max_ttl`). */
function problemExtras(p: Problem): string {
  const skip = new Set(['type', 'title', 'status', 'detail', 'code', 'request_id', 'errors']);
  const extras = Object.entries(p).filter(([k, v]) => !skip.has(k) && (typeof v === 'string' || typeof v === 'number'));
  return extras.length ? ` (${extras.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterSec(header: string | null): number | undefined {
  if (!header) return undefined;
  const sec = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(sec) ? Math.max(0, Math.ceil(sec)) : undefined;
}

export async function problemError(res: Response): Promise<CliError> {
  const text = await res.text();
  let p: Problem = {};
  try {
    p = JSON.parse(text) as Problem;
  } catch {
    // Not a problem document (a proxy's error page); fall back to the status line.
  }
  const code = typeof p.code === 'string' ? p.code : `http_${res.status}`;
  const detail = `${p.detail ?? p.title ?? `the broker answered ${res.status} ${res.statusText}`}${problemExtras(p)}`;
  return new CliError(code, detail, {
    hint: hintFor(code),
    requestId: p.request_id ?? res.headers.get('x-request-id') ?? undefined,
    retryAfterSec: retryAfterSec(res.headers.get('retry-after')),
  });
}

export async function brokerRequest(broker: BrokerTarget, method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  rememberSecret(opts.bearer);
  const url = buildUrl(broker.url, path, opts.query);
  const headers: Record<string, string> = { accept: 'application/json, text/plain, application/problem+json' };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const call = async () => {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why =
        err instanceof Error && err.name === 'TimeoutError'
          ? 'timed out'
          : (cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : 'failed'));
      throw new CliError('broker_unreachable', `cannot reach the broker at ${url.origin} (${why})`, {
        hint: hintFor('broker_unreachable'),
      });
    }
    if (!res.ok) throw await problemError(res);
    return res;
  };
  return opts.quiet ? call() : withSpinner(opts.label ?? 'waiting for the broker', call());
}

export async function brokerJson<T>(broker: BrokerTarget, method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await brokerRequest(broker, method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError('bad_response', `the broker answered something that is not JSON for ${method} ${path}`, {
      hint: 'check that --url points at a pgmint broker',
    });
  }
}

/** Path segments are user input: encode them so `a/b` cannot reach another route. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
