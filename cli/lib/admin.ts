/**
 * Calls to the broker's admin API with the operator's token.
 *
 * @example
 *   const { databases } = await adminCall<{ databases: unknown[] }>(o, 'GET', '/api/v1/databases');
 */
import { brokerJson, type RequestOptions } from './broker.js';
import { CliError, hintFor, rememberSecret } from './errors.js';
import type { AdminOptions } from './options.js';

export function adminToken(o: AdminOptions): string {
  if (!o.adminToken) throw new CliError('unauthorized', 'no admin token given', { hint: hintFor('unauthorized') });
  return o.adminToken;
}

export function adminCall<T>(o: AdminOptions, method: string, path: string, opts: Omit<RequestOptions, 'bearer'> = {}): Promise<T> {
  return brokerJson<T>(o, method, path, { ...opts, bearer: adminToken(o) });
}

/** Reads a secret for the API from a file (`-` for stdin) or an environment variable, never from argv. */
export async function readSecret(opts: { file?: string; envName: string; what: string; flag: string }): Promise<string> {
  let value: string | undefined;
  if (opts.file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    value = Buffer.concat(chunks).toString('utf8');
  } else if (opts.file) {
    const { readFile } = await import('node:fs/promises');
    try {
      value = await readFile(opts.file, 'utf8');
    } catch (err) {
      throw new CliError('invalid_request', `cannot read ${opts.file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  } else value = process.env[opts.envName];
  value = value?.replace(/\r?\n$/, '');
  if (!value) throw new CliError('invalid_request', `no ${opts.what} given`, { hint: `pass ${opts.flag} <file|-> or set ${opts.envName}` });
  rememberSecret(value);
  return value;
}
