/**
 * Logs in to Postgres with the current lease: TCP, TLS as the credential's
 * sslmode says, the application's StartupMessage with the lease's user and
 * database, and SCRAM-SHA-256 through node-postgres's own SASL client
 * (channel binding when TLS is on). Messages are decoded with pg-protocol's
 * parser; what the server says after AuthenticationOk (ParameterStatus,
 * BackendKeyData, ReadyForQuery) is kept byte for byte for the application.
 *
 * @example
 *   const up = await loginUpstream(endpoint, { user, password }, startupBytes);
 *   app.write(up.greeting); // then relay
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { serialize } from 'pg-protocol';
import type { DatabaseError } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { continueSession, finalizeSession, type SaslSession, startSession } from 'pg/lib/crypto/sasl.js';
import { FrameReader, type Frame } from './frame-reader.js';
import { isLoopbackHost } from './listen-address.js';

export interface UpstreamEndpoint {
  host: string;
  port: number;
  sslmode: string;
  /** PEM bundle for verify-ca / verify-full; the system store when absent. */
  ca?: Buffer;
}

export interface UpstreamSession {
  socket: Socket | TLSSocket;
  /** AuthenticationOk through ReadyForQuery, as the server sent them. */
  greeting: Buffer;
  /** BackendKeyData's body (process id and secret), the key of a CancelRequest. */
  backendKey: Buffer | null;
  /** Bytes the server sent past ReadyForQuery. */
  leftover: Buffer;
}

/** The server refused the login; `raw` is its ErrorResponse, passed to the application as is. */
export class UpstreamRefused extends Error {
  constructor(
    readonly raw: Buffer,
    readonly sqlstate: string,
    message: string,
  ) {
    super(message);
  }
}

/** The server could not be reached, or TLS failed. */
export class UpstreamUnavailable extends Error {
  constructor(
    message: string,
    readonly sqlstate = '08001',
  ) {
    super(message);
  }
}

function decode(frame: Frame): BackendMessage & Record<string, unknown> {
  let out: BackendMessage | undefined;
  new Parser().parse(frame.raw, (msg) => (out = msg));
  if (!out) throw new UpstreamUnavailable(`the server sent an unreadable '${frame.type}' message`, '08P01');
  return out as BackendMessage & Record<string, unknown>;
}

function openTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamUnavailable(`connecting to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new UpstreamUnavailable(`cannot reach ${host}:${port} (${err.code ?? err.message})`));
    });
  });
}

/** The server's one-byte answer to SSLRequest. More bytes behind it would be injected by someone in the middle. */
function sslAnswer(socket: Socket): Promise<'S' | 'N'> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, answer?: 'S' | 'N') => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(answer!);
    };
    const onData = (chunk: Buffer) => {
      const answer = String.fromCharCode(chunk[0]!);
      if (chunk.length !== 1 || (answer !== 'S' && answer !== 'N'))
        done(new UpstreamUnavailable('the server answered the TLS request with something else', '08P01'));
      else done(null, answer);
    };
    const onError = (err: Error) => done(new UpstreamUnavailable(`TLS negotiation failed (${err.message})`));
    const onClose = () => done(new UpstreamUnavailable('the server closed the connection during TLS negotiation'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.write(serialize.requestSsl());
  });
}

async function secure(socket: Socket, ep: UpstreamEndpoint): Promise<Socket | TLSSocket> {
  const mode = ep.sslmode;
  if (mode === 'disable') {
    if (!isLoopbackHost(ep.host)) {
      socket.destroy();
      throw new UpstreamUnavailable(
        `the credential says sslmode=disable for ${ep.host}, which is not loopback; pgmint proxy sends leases over TLS only`,
        '28000',
      );
    }
    return socket;
  }
  const answer = await sslAnswer(socket);
  if (answer === 'N') {
    if (mode === 'allow' || mode === 'prefer') return socket;
    socket.destroy();
    throw new UpstreamUnavailable(`the server at ${ep.host}:${ep.port} does not accept TLS (sslmode=${mode})`);
  }
  const verify = mode === 'verify-ca' || mode === 'verify-full';
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      servername: isIP(ep.host) ? undefined : ep.host,
      ca: verify ? ep.ca : undefined,
      rejectUnauthorized: verify,
      // verify-ca checks the chain only; verify-full also the name (Node's default check).
      ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    });
    tls.once('secureConnect', () => {
      tls.removeAllListeners('error');
      tls.setNoDelay(true);
      resolve(tls);
    });
    tls.once('error', (err: NodeJS.ErrnoException) => {
      tls.destroy();
      reject(
        new UpstreamUnavailable(
          `TLS verification of ${ep.host}:${ep.port} failed (sslmode=${mode}): ${err.message}${verify ? '; check --ca-file' : ''}`,
        ),
      );
    });
  });
}

function refused(frame: Frame): UpstreamRefused {
  const err = decode(frame) as unknown as DatabaseError;
  return new UpstreamRefused(frame.raw, err.code ?? '08006', err.message);
}

export async function loginUpstream(
  ep: UpstreamEndpoint,
  login: { user: string; password: string },
  startup: Buffer,
  timeoutMs = 15_000,
): Promise<UpstreamSession> {
  const raw = await openTcp(ep.host, ep.port, timeoutMs);
  let socket: Socket | TLSSocket = raw;
  const timer = setTimeout(() => socket.destroy(new Error('login timed out')), timeoutMs);
  try {
    socket = await secure(raw, ep);
    const tlsStream = socket === raw ? undefined : socket;
    const reader = new FrameReader(socket);
    socket.write(startup);
    let sasl: SaslSession | undefined;
    const greeting: Buffer[] = [];
    let authenticated = false;
    let backendKey: Buffer | null = null;
    for (;;) {
      const frame = await reader.message();
      if (frame.type === 'E') throw refused(frame);
      if (authenticated) {
        greeting.push(frame.raw);
        if (frame.type === 'K') backendKey = Buffer.from(frame.body);
        if (frame.type === 'Z') break;
        continue;
      }
      if (frame.type !== 'R') {
        // NegotiateProtocolVersion and notices before authentication belong to the application too.
        greeting.push(frame.raw);
        continue;
      }
      const msg = decode(frame);
      switch (msg.name) {
        case 'authenticationOk':
          authenticated = true;
          greeting.push(frame.raw);
          break;
        case 'authenticationSASL':
          sasl = startSession(msg.mechanisms as string[], tlsStream);
          socket.write(serialize.sendSASLInitialResponseMessage(sasl.mechanism, sasl.response));
          break;
        case 'authenticationSASLContinue':
          await continueSession(sasl!, login.password, msg.data as string, tlsStream);
          socket.write(serialize.sendSCRAMClientFinalMessage(sasl!.response));
          break;
        case 'authenticationSASLFinal':
          // Checks the server's signature: a server that does not know the verifier cannot pass.
          finalizeSession(sasl!, msg.data as string);
          break;
        case 'authenticationCleartextPassword':
          if (!tlsStream && !isLoopbackHost(ep.host))
            throw new UpstreamUnavailable('the server asked for the password in clear text without TLS; refused', '28000');
          socket.write(serialize.password(login.password));
          break;
        default:
          throw new UpstreamUnavailable(
            `the server asked for an authentication method pgmint does not use (${msg.name}); lease roles log in with SCRAM-SHA-256`,
            '28000',
          );
      }
    }
    return { socket, greeting: Buffer.concat(greeting), backendKey, leftover: reader.release() };
  } catch (err) {
    socket.destroy();
    if (err instanceof UpstreamRefused || err instanceof UpstreamUnavailable) throw err;
    throw new UpstreamUnavailable(`login to ${ep.host}:${ep.port} failed (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    clearTimeout(timer);
  }
}
