/**
 * The local password an application must present when the proxy listens
 * beyond loopback: SCRAM-SHA-256 (RFC 5802/7677) with the proxy as the server,
 * the same exchange Postgres runs, so every driver that logs in to Postgres
 * logs in here unchanged. The password file is read once at start; only its
 * SCRAM keys stay in memory.
 *
 * @example
 *   const local = await localScramKeys(await readFile('/etc/pgmint/local-password', 'utf8'));
 *   const ok = await authenticateLocally(reader, socket, local, 'app');
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { SCRAM_DEFAULT_ITERATIONS, scramKeys } from '../../lib/crypto/scram.js';
import type { FrameReader } from './frame-reader.js';
import { authenticationSasl, authenticationSaslContinue, authenticationSaslFinal, errorResponse } from './server-messages.js';

export interface LocalScramKeys {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export async function localScramKeys(password: string): Promise<LocalScramKeys> {
  const salt = randomBytes(16);
  const { storedKey, serverKey } = await scramKeys(password, salt, SCRAM_DEFAULT_ITERATIONS);
  return { salt, iterations: SCRAM_DEFAULT_ITERATIONS, storedKey: Buffer.from(storedKey), serverKey: Buffer.from(serverKey) };
}

const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();

function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) if (part.length > 1 && part[1] === '=') out.set(part[0]!, part.slice(2));
  return out;
}

/** Runs the exchange; on failure the application has been sent an ErrorResponse. */
export async function authenticateLocally(reader: FrameReader, socket: Duplex, keys: LocalScramKeys, user: string): Promise<boolean> {
  const refuse = () => {
    socket.end(errorResponse({ code: '28P01', message: `password authentication failed for user "${user}"` }));
    return false;
  };
  socket.write(authenticationSasl(['SCRAM-SHA-256']));
  const first = await reader.message();
  if (first.type !== 'p') return refuse();
  const mechanismEnd = first.body.indexOf(0);
  if (first.body.toString('utf8', 0, mechanismEnd) !== 'SCRAM-SHA-256') return refuse();
  const clientFirst = first.body.toString('utf8', mechanismEnd + 5);
  // gs2 header: "n,," (no channel binding) or "y,," (client could, the server did not offer it).
  const m = /^([ny]),[^,]*,(.*)$/.exec(clientFirst);
  if (!m) return refuse();
  const gs2Header = clientFirst.slice(0, clientFirst.length - m[2]!.length);
  const clientFirstBare = m[2]!;
  const clientNonce = attributes(clientFirstBare).get('r');
  if (!clientNonce) return refuse();
  const nonce = clientNonce + randomBytes(18).toString('base64');
  const serverFirst = `r=${nonce},s=${keys.salt.toString('base64')},i=${keys.iterations}`;
  socket.write(authenticationSaslContinue(serverFirst));

  const final = await reader.message();
  if (final.type !== 'p') return refuse();
  const clientFinal = final.body.toString('utf8');
  const proofAt = clientFinal.lastIndexOf(',p=');
  if (proofAt < 0) return refuse();
  const withoutProof = clientFinal.slice(0, proofAt);
  const attrs = attributes(withoutProof);
  if (attrs.get('r') !== nonce || attrs.get('c') !== Buffer.from(gs2Header).toString('base64')) return refuse();
  const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64');
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(keys.storedKey, authMessage);
  if (proof.length !== signature.length) return refuse();
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  if (!timingSafeEqual(createHash('sha256').update(clientKey).digest(), keys.storedKey)) return refuse();
  socket.write(authenticationSaslFinal(`v=${hmac(keys.serverKey, authMessage).toString('base64')}`));
  return true;
}
