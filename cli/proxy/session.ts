/**
 * One application connection, from its first packet to the relay: answer
 * SSLRequest/GSSENCRequest as a server would, forward a CancelRequest, check
 * the local password when one is set, log in upstream with the current lease
 * and the application's own startup parameters, hand the application the
 * server's greeting unchanged, then pipe bytes.
 *
 * @example
 *   server.on('connection', (socket) => void serveSession(socket, ctx));
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { CancelMap } from './cancel-map.js';
import { FrameReader } from './frame-reader.js';
import type { LeaseKeeper } from './lease-keeper.js';
import { authenticateLocally, type LocalScramKeys } from './local-auth.js';
import type { Logger } from './log.js';
import type { ProxyMetrics } from './metrics.js';
import { relay } from './relay.js';
import { ACCEPT_TLS, errorResponse, REFUSE_ENCRYPTION } from './server-messages.js';
import { parseStartupPacket, rewriteStartup, startupParam, type StartupPacket } from './startup-packet.js';
import { loginUpstream, UpstreamRefused, UpstreamUnavailable } from './upstream-login.js';

export interface SessionContext {
  database: string;
  keeper: LeaseKeeper;
  cancels: CancelMap;
  metrics: ProxyMetrics;
  log: Logger;
  localKeys: LocalScramKeys | null;
  localTls: SecureContext | null;
  /** PEM bundle for the upstream's verify-full/verify-ca. */
  upstreamCa?: Buffer;
  /** Overrides the credential's host and port (a name the proxy's network knows the server by). */
  upstreamHost?: string;
  upstreamPort?: number;
}

/** SQLSTATEs for refusals that come from the proxy, not the server. */
const NO_LEASE_SQLSTATE: Record<string, string> = {
  invalid_token: '28000',
  not_allowed: '28000',
  token_unreadable: '28000',
  no_token: '28000',
};

function refuse(socket: Duplex, ctx: SessionContext, reason: string, code: string, message: string, hint?: string): void {
  ctx.metrics.connectionRefused(reason);
  socket.end(errorResponse({ code, message, hint }));
}

async function firstStartup(
  socket: Socket,
  ctx: SessionContext,
): Promise<{ socket: Duplex; reader: FrameReader; packet: StartupPacket } | null> {
  let stream: Duplex = socket;
  let reader = new FrameReader(stream);
  for (;;) {
    const packet = parseStartupPacket(await reader.startupPacket());
    if (packet.kind === 'gssenc' || (packet.kind === 'ssl' && (!ctx.localTls || stream !== socket))) {
      stream.write(REFUSE_ENCRYPTION);
      continue;
    }
    if (packet.kind === 'ssl') {
      reader.release();
      stream.write(ACCEPT_TLS);
      const tls = new TLSSocket(socket, { isServer: true, secureContext: ctx.localTls! });
      await new Promise<void>((resolve, reject) => {
        tls.once('secure', resolve);
        tls.once('error', reject);
      });
      stream = tls;
      reader = new FrameReader(stream);
      continue;
    }
    return { socket: stream, reader, packet };
  }
}

export async function serveSession(raw: Socket, ctx: SessionContext): Promise<void> {
  raw.setNoDelay(true);
  let app: Duplex = raw;
  raw.on('error', () => {});
  try {
    const first = await firstStartup(raw, ctx);
    if (!first) return;
    app = first.socket;
    const { reader, packet } = first;
    if (packet.kind === 'cancel') {
      reader.release();
      app.end();
      if (await ctx.cancels.forward(packet.key, packet.raw)) ctx.metrics.cancelForwarded();
      return;
    }
    if (packet.kind !== 'startup') return;
    const appUser = startupParam(packet, 'user') ?? '';
    if (startupParam(packet, 'replication') !== undefined && startupParam(packet, 'replication') !== 'false') {
      return refuse(app, ctx, 'replication', '0A000', 'pgmint proxy does not relay replication connections');
    }
    if (ctx.localKeys && !(await authenticateLocally(reader, app, ctx.localKeys, appUser))) {
      ctx.metrics.connectionRefused('local_password');
      return;
    }
    const lease = ctx.keeper.usable();
    if (!lease) {
      const why = ctx.keeper.lastError;
      const code = why?.code ?? 'no_lease';
      return refuse(
        app,
        ctx,
        'no_lease',
        NO_LEASE_SQLSTATE[code] ?? '08001',
        `pgmint proxy holds no valid lease for "${ctx.database}": ${code}${why ? ` (${why.message})` : ''}`,
        'the proxy keeps retrying the broker; see its logs and /readiness',
      );
    }
    const { creds } = lease;
    const endpoint = {
      host: ctx.upstreamHost ?? creds.host,
      port: ctx.upstreamPort ?? creds.port,
      sslmode: creds.sslmode,
      ca: ctx.upstreamCa,
    };
    const started = performance.now();
    let up;
    try {
      up = await loginUpstream(
        endpoint,
        { user: creds.user, password: creds.password },
        rewriteStartup(packet, { user: creds.user, database: creds.database }),
      );
    } catch (err) {
      if (err instanceof UpstreamRefused) {
        ctx.log.warn('upstream_refused', { lease_id: creds.lease_id, sqlstate: err.sqlstate, message: err.message });
        ctx.metrics.connectionRefused('upstream_refused');
        app.end(err.raw);
        return;
      }
      if (err instanceof UpstreamUnavailable) {
        ctx.log.warn('upstream_unavailable', { lease_id: creds.lease_id, message: err.message });
        return refuse(app, ctx, 'upstream_unavailable', err.sqlstate, `pgmint proxy: ${err.message}`);
      }
      throw err;
    }
    ctx.metrics.upstreamLogin((performance.now() - started) / 1000);
    const pending = reader.release();
    if (app.destroyed) {
      // The application left during the upstream login: nobody is there to relay for.
      up.socket.destroy();
      return;
    }
    const key = up.backendKey;
    if (key) ctx.cancels.add(key, endpoint);
    ctx.metrics.connectionOpened();
    app.write(up.greeting);
    if (up.leftover.length) app.write(up.leftover);
    if (pending.length) up.socket.write(pending);
    relay(app, up.socket, () => {
      if (key) ctx.cancels.delete(key);
      ctx.metrics.connectionClosed();
    });
  } catch (err) {
    // The application went away or spoke something else than the protocol.
    ctx.metrics.connectionRefused('protocol');
    ctx.log.warn('session_failed', { message: err instanceof Error ? err.message : String(err) });
    app.destroy();
  }
}
