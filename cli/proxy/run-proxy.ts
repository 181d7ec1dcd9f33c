/**
 * `pgmint proxy` assembled: checks the configuration, starts the lease
 * keeper, the PostgreSQL listener (TCP or a Unix socket) and the admin port,
 * and shuts down as Kubernetes expects: stop accepting, let open connections
 * finish for up to --max-sigterm-delay, revoke every lease held, exit 0.
 *
 * @example
 *   const proxy = await runProxy(config, jsonLogger());
 *   process.on('SIGTERM', () => void proxy.shutdown('SIGTERM'));
 *   await proxy.done;
 */
import { readFile, rm } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { CliError } from '../lib/errors.js';
import { startAdminServer } from './admin-server.js';
import { CancelMap } from './cancel-map.js';
import { LeaseKeeper } from './lease-keeper.js';
import { isLoopbackHost, type ListenAddress, unixSocketPath } from './listen-address.js';
import { localScramKeys, type LocalScramKeys } from './local-auth.js';
import type { Logger } from './log.js';
import { ProxyMetrics } from './metrics.js';
import { serveSession } from './session.js';

export interface ProxyConfig {
  database: string;
  broker: { url: string };
  tokenFile: string;
  kind: 'auto' | 'k8s' | 'oidc';
  role?: string;
  ttl?: string;
  listen: ListenAddress;
  unixSocketDir?: string;
  localPasswordFile?: string;
  localTlsCert?: string;
  localTlsKey?: string;
  caFile?: string;
  /** null: no admin port. */
  adminListen: ListenAddress | null;
  maxSigtermDelayMs: number;
  upstreamHost?: string;
  upstreamPort?: number;
  /** Broker retry backoff (first delay, ms); tests shorten it. */
  backoffMs?: number;
}

export interface RunningProxy {
  /** host:port or the Unix socket path. */
  address: string;
  port: number;
  adminPort: number | null;
  metrics: ProxyMetrics;
  keeper: LeaseKeeper;
  shutdown(reason: string): Promise<void>;
  done: Promise<void>;
}

async function readSecretFile(path: string, what: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new CliError('invalid_config', `cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (text === '') throw new CliError('invalid_config', `${what} ${path} is empty`);
  return text;
}

async function localAuth(cfg: ProxyConfig): Promise<{ keys: LocalScramKeys | null; tls: SecureContext | null }> {
  if (!cfg.unixSocketDir && !isLoopbackHost(cfg.listen.host) && !cfg.localPasswordFile) {
    throw new CliError('insecure_listen', `refusing to listen on ${cfg.listen.host}, which is not loopback, without a local password`, {
      hint: "anyone who reaches that address would use this workload's database access: pass --local-password-file <file> (applications then log in with that password, SCRAM-SHA-256), or listen on 127.0.0.1",
    });
  }
  const keys = cfg.localPasswordFile ? await localScramKeys(await readSecretFile(cfg.localPasswordFile, 'the local password file')) : null;
  if (!cfg.localTlsCert !== !cfg.localTlsKey) throw new CliError('invalid_config', '--tls-cert and --tls-key go together');
  const tls = cfg.localTlsCert
    ? createSecureContext({ cert: await readFile(cfg.localTlsCert), key: await readFile(cfg.localTlsKey!) })
    : null;
  return { keys, tls };
}

function listen(server: Server, cfg: ProxyConfig): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          err.code === 'EADDRINUSE' ? 'port_in_use' : 'listen_failed',
          `cannot listen on ${cfg.unixSocketDir ? unixSocketPath(cfg.unixSocketDir, cfg.listen.port) : `${cfg.listen.host}:${cfg.listen.port}`} (${err.code ?? err.message})`,
        ),
      ),
    );
    const done = () => {
      server.removeAllListeners('error');
      resolve();
    };
    if (cfg.unixSocketDir) server.listen(unixSocketPath(cfg.unixSocketDir, cfg.listen.port), done);
    else server.listen({ port: cfg.listen.port, host: cfg.listen.host, backlog: 4096 }, done);
  });
}

export async function runProxy(cfg: ProxyConfig, log: Logger): Promise<RunningProxy> {
  const { keys, tls } = await localAuth(cfg);
  const upstreamCa = cfg.caFile
    ? await readFile(cfg.caFile).catch(() => {
        throw new CliError('invalid_config', `cannot read --ca-file ${cfg.caFile}`);
      })
    : undefined;
  const metrics = new ProxyMetrics();
  const keeper = new LeaseKeeper({
    broker: cfg.broker,
    database: cfg.database,
    tokenFile: cfg.tokenFile,
    kind: cfg.kind,
    role: cfg.role,
    ttl: cfg.ttl,
    log,
    metrics,
    backoffMs: cfg.backoffMs,
  });
  const cancels = new CancelMap();
  const sockets = new Set<Socket>();
  const ctx = {
    database: cfg.database,
    keeper,
    cancels,
    metrics,
    log,
    localKeys: keys,
    localTls: tls,
    upstreamCa,
    upstreamHost: cfg.upstreamHost,
    upstreamPort: cfg.upstreamPort,
  };
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void serveSession(socket, ctx);
  });
  if (cfg.unixSocketDir) await rm(unixSocketPath(cfg.unixSocketDir, cfg.listen.port), { force: true });
  await listen(server, cfg);
  let admin: HttpServer | null = null;
  let shuttingDown = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));

  const shutdown = async (reason: string) => {
    if (shuttingDown) return done;
    shuttingDown = true;
    const deadline = Date.now() + cfg.maxSigtermDelayMs;
    // Stop listening before saying so: a client that sees shutdown_started and connects is refused, not reset.
    server.close();
    log.info('shutdown_started', { reason, open_connections: sockets.size, max_delay_ms: cfg.maxSigtermDelayMs });
    while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (sockets.size > 0) log.warn('connections_closed_at_deadline', { count: sockets.size });
    for (const s of sockets) s.destroy();
    await keeper.revokeAll();
    await new Promise((r) => (admin ? admin.close(() => r(undefined)) : r(undefined)));
    admin?.closeAllConnections();
    log.info('shutdown_complete', { reason });
    finish();
    return done;
  };

  try {
    admin = cfg.adminListen
      ? await startAdminServer(cfg.adminListen, {
          keeper,
          metrics,
          shuttingDown: () => shuttingDown,
          quit: () => void shutdown('quitquitquit'),
        })
      : null;
  } catch (err) {
    server.close();
    throw new CliError(
      'listen_failed',
      `cannot listen on the admin address ${cfg.adminListen!.host}:${cfg.adminListen!.port} (${(err as NodeJS.ErrnoException).code ?? 'failed'})`,
    );
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.listen.port;
  const adminAddress = admin?.address();
  const where = cfg.unixSocketDir ? unixSocketPath(cfg.unixSocketDir, cfg.listen.port) : `${cfg.listen.host}:${port}`;
  log.info('proxy_listening', {
    database: cfg.database,
    address: where,
    admin: typeof adminAddress === 'object' && adminAddress ? `${adminAddress.address}:${adminAddress.port}` : null,
    local_password: keys !== null,
    local_tls: tls !== null,
  });
  // The first lease is fetched after listening: applications get a clear error instead of a refused port.
  await keeper.start();
  return {
    address: where,
    port,
    adminPort: typeof adminAddress === 'object' && adminAddress ? adminAddress.port : null,
    metrics,
    keeper,
    shutdown,
    done,
  };
}
