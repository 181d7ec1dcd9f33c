/**
 * Where a person's identity token comes from: `--token`, `--token-file`
 * (`-` for stdin), PGMINT_TOKEN, PGMINT_TOKEN_FILE, or piped stdin
 * (`kubectl create token api --audience pgmint | pgmint creds orders`).
 * Also tells a Kubernetes service-account token from another OIDC token, to
 * pick the exchange kind.
 *
 * @example
 *   const token = await resolveToken({ tokenFile: '/var/run/secrets/pgmint/token' });
 *   const kind = exchangeKind(token); // 'k8s'
 */
import { readFile } from 'node:fs/promises';
import { CliError, rememberSecret } from './errors.js';

export interface TokenSources {
  token?: string;
  tokenFile?: string;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

const NO_TOKEN_HINT =
  'pass --token-file <path>, set PGMINT_TOKEN_FILE or PGMINT_TOKEN, or pipe a token in (e.g. `kubectl create token <sa> --audience pgmint | pgmint …`)';

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function readTokenFile(path: string, stdin: TokenSources['stdin']): Promise<string> {
  if (path === '-') return readStream(stdin ?? process.stdin);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError('token_unreadable', `cannot read the token file ${path} (${code})`, { hint: NO_TOKEN_HINT });
  }
}

export async function resolveToken(src: TokenSources): Promise<string> {
  const env = src.env ?? process.env;
  const stdin = src.stdin ?? process.stdin;
  let raw: string | undefined;
  let from: string;
  if (src.token) [raw, from] = [src.token, '--token'];
  else if (src.tokenFile) [raw, from] = [await readTokenFile(src.tokenFile, stdin), src.tokenFile === '-' ? 'stdin' : src.tokenFile];
  else if (env.PGMINT_TOKEN) [raw, from] = [env.PGMINT_TOKEN, 'PGMINT_TOKEN'];
  else if (env.PGMINT_TOKEN_FILE) [raw, from] = [await readTokenFile(env.PGMINT_TOKEN_FILE, stdin), env.PGMINT_TOKEN_FILE];
  else if (!stdin.isTTY) [raw, from] = [await readStream(stdin), 'stdin'];
  else throw new CliError('no_token', 'no identity token given', { hint: NO_TOKEN_HINT });

  const token = raw.trim();
  rememberSecret(token);
  if (token === '') throw new CliError('no_token', `the token from ${from} is empty`, { hint: NO_TOKEN_HINT });
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new CliError('invalid_token', `the token from ${from} is not a JWT (three base64url parts separated by dots)`, {
      hint: NO_TOKEN_HINT,
    });
  }
  return token;
}

/** Claims read without verification, only to choose the exchange kind; the broker verifies. */
function peekClaims(token: string): Record<string, unknown> {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export type ExchangeKind = 'k8s' | 'oidc';

export function exchangeKind(token: string): ExchangeKind {
  const claims = peekClaims(token);
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  return sub.startsWith('system:serviceaccount:') ? 'k8s' : 'oidc';
}
