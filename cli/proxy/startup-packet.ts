/**
 * What an application's first packet asks for: TLS (SSLRequest), GSS
 * encryption (GSSENCRequest), to cancel a query (CancelRequest), or a session
 * (StartupMessage with its parameters). And the StartupMessage the proxy sends
 * upstream: the application's own, in its order and protocol version, with
 * only the user and the database replaced.
 *
 * @example
 *   const p = parseStartupPacket(packet);
 *   if (p.kind === 'startup') upstream.write(rewriteStartup(p, { user: lease.user, database: lease.database }));
 */
import { ProtocolError } from './frame-reader.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  /** `key` is the process id and secret as sent (4 + 4 bytes in protocol 3.0, longer in 3.2). */
  | { kind: 'cancel'; key: Buffer; raw: Buffer }
  | { kind: 'startup'; protocol: number; params: Array<[string, string]> };

export function parseStartupPacket(packet: Buffer): StartupPacket {
  const code = packet.readInt32BE(4);
  if (code === SSL_REQUEST && packet.length === 8) return { kind: 'ssl' };
  if (code === GSSENC_REQUEST && packet.length === 8) return { kind: 'gssenc' };
  if (code === CANCEL_REQUEST && packet.length >= 16)
    return { kind: 'cancel', key: Buffer.from(packet.subarray(8)), raw: Buffer.from(packet) };
  if (code >> 16 !== 3) throw new ProtocolError(`unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
  const params: Array<[string, string]> = [];
  let at = 8;
  const cstring = () => {
    const end = packet.indexOf(0, at);
    if (end < 0) throw new ProtocolError('startup packet is not terminated');
    const s = packet.toString('utf8', at, end);
    at = end + 1;
    return s;
  };
  while (at < packet.length) {
    const name = cstring();
    if (name === '') break;
    params.push([name, cstring()]);
  }
  return { kind: 'startup', protocol: code, params };
}

export function startupParam(p: Extract<StartupPacket, { kind: 'startup' }>, name: string): string | undefined {
  return p.params.find(([k]) => k === name)?.[1];
}

export function rewriteStartup(p: Extract<StartupPacket, { kind: 'startup' }>, set: { user: string; database: string }): Buffer {
  const params = p.params.filter(([k]) => k !== 'user' && k !== 'database');
  params.unshift(['user', set.user], ['database', set.database]);
  const body = Buffer.concat(params.map(([k, v]) => Buffer.from(`${k}\0${v}\0`, 'utf8')));
  const out = Buffer.alloc(8 + body.length + 1);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(p.protocol, 4);
  body.copy(out, 8);
  return out;
}
