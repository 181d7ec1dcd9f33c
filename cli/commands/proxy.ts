/**
 * `pgmint proxy <db>`: a local PostgreSQL endpoint for applications that
 * know nothing of pgmint. They connect to 127.0.0.1:5432 with any user name
 * and no password; the proxy logs in upstream with its lease and relays.
 */
import { type Command, Option } from 'commander';
import { CliError } from '../lib/errors.js';
import { brokerOption } from '../lib/options.js';
import { parseListen } from '../proxy/listen-address.js';
import { jsonLogger } from '../proxy/log.js';
import { runProxy } from '../proxy/run-proxy.js';

/** Where the README's projected volume puts the token. */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/db-token/token';

interface ProxyOptions {
  url: string;
  tokenFile: string;
  kind: 'auto' | 'k8s' | 'oidc';
  role?: string;
  ttl?: string;
  listen: string;
  unixSocket?: string;
  localPasswordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  caFile?: string;
  adminListen: string;
  maxSigtermDelay: string;
  upstreamHost?: string;
  upstreamPort?: string;
}

/** `30`, `30s`, `2m`, `1h` → milliseconds. */
export function parseDelay(value: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new CliError('invalid_request', `${flag} must be a duration such as 30s or 2m, not "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

const EXAMPLES = `
Three lines in a pod (infra/kubernetes/proxy-sidecar.yaml is the whole Deployment, the proxy a native sidecar):
  volume       serviceAccountToken: { audience: pgmint, path: token }  mounted at /var/run/secrets/db-token
  sidecar      pgmint proxy orders --url https://pgmint.internal --token-file /var/run/secrets/db-token/token
  application  DATABASE_URL=postgresql://app@127.0.0.1:5432/orders   (no password)

Admin port: GET /startup /liveness /readiness /metrics, POST /quitquitquit (from loopback).
Logs are JSON lines on stderr and never carry a secret.`;

export function registerProxy(program: Command): void {
  brokerOption(
    program
      .command('proxy <db>')
      .description('Serve <db> on a local port to applications with no credential; the proxy holds, renews and revokes the lease')
      .addOption(
        new Option('--token-file <path>', 'service-account or OIDC token, read again for every broker call')
          .env('PGMINT_TOKEN_FILE')
          .default(DEFAULT_TOKEN_FILE),
      )
      .addOption(
        new Option('--kind <kind>', 'exchange kind; auto picks k8s for service-account tokens')
          .choices(['auto', 'k8s', 'oidc'])
          .default('auto'),
      )
      .option('--role <name>', 'role to mint (default: the one the issuer gives this workload)')
      .option('--ttl <duration>', 'lease lifetime such as 15m or 1h (capped by the role)')
      .option('--listen <host:port>', 'address applications connect to; beyond loopback needs --local-password-file', '127.0.0.1:5432')
      .option('--unix-socket <dir>', 'listen on <dir>/.s.PGSQL.<port> instead of TCP (port from --listen)')
      .option('--local-password-file <path>', 'password applications must give (SCRAM-SHA-256); required beyond loopback')
      .option('--tls-cert <path>', 'certificate for applications that ask for TLS (with --tls-key); otherwise SSLRequest is answered N')
      .option('--tls-key <path>', 'private key for --tls-cert')
      .option('--ca-file <path>', "CA bundle to verify the server with (sslmode verify-ca/verify-full); default: the system's")
      .addOption(
        new Option('--admin-listen <host:port>', 'HTTP health, metrics and quitquitquit; "off" disables')
          .env('PGMINT_PROXY_ADMIN')
          .default('127.0.0.1:9090'),
      )
      .option('--max-sigterm-delay <duration>', 'on SIGTERM, how long open connections may finish before the leases are revoked', '0')
      .option('--upstream-host <host>', "connect to this host instead of the credential's (the same server under another name)")
      .option('--upstream-port <port>', "connect to this port instead of the credential's")
      .addHelpText('after', EXAMPLES),
  ).action(async (db: string, o: ProxyOptions) => {
    const log = jsonLogger();
    const proxy = await runProxy(
      {
        database: db,
        broker: { url: o.url },
        tokenFile: o.tokenFile,
        kind: o.kind,
        role: o.role,
        ttl: o.ttl,
        listen: parseListen(o.listen),
        unixSocketDir: o.unixSocket,
        localPasswordFile: o.localPasswordFile,
        localTlsCert: o.tlsCert,
        localTlsKey: o.tlsKey,
        caFile: o.caFile,
        adminListen: o.adminListen === 'off' ? null : parseListen(o.adminListen),
        maxSigtermDelayMs: parseDelay(o.maxSigtermDelay, '--max-sigterm-delay'),
        upstreamHost: o.upstreamHost,
        upstreamPort: o.upstreamPort ? Number(o.upstreamPort) : undefined,
        backoffMs: process.env.PGMINT_PROXY_BACKOFF_MS ? Number(process.env.PGMINT_PROXY_BACKOFF_MS) : undefined,
      },
      log,
    );
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void proxy.shutdown(signal));
    await proxy.done;
    process.exitCode = 0;
  });
}
