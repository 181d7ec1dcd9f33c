/**
 * The few messages the proxy writes as a server, before it hands the socket
 * over to Postgres: the one-byte answer to SSLRequest and GSSENCRequest, the
 * SASL authentication messages of the local password, and ErrorResponse.
 * pg-protocol serializes only what a client sends, so these are built here
 * (each is a type byte, a length and a few fields).
 *
 * @example
 *   socket.end(errorResponse({ code: '08001', message: 'pgmint proxy: no valid lease' }));
 */

export const REFUSE_ENCRYPTION = Buffer.from('N');
export const ACCEPT_TLS = Buffer.from('S');

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const cstring = (s: string) => Buffer.from(`${s}\0`, 'utf8');

export interface ErrorFields {
  severity?: 'FATAL' | 'ERROR';
  /** SQLSTATE. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export function errorResponse(e: ErrorFields): Buffer {
  const severity = e.severity ?? 'FATAL';
  const fields: Array<[string, string | undefined]> = [
    ['S', severity],
    ['V', severity],
    ['C', e.code],
    ['M', e.message],
    ['D', e.detail],
    ['H', e.hint],
  ];
  const parts = fields.filter(([, v]) => v !== undefined).map(([k, v]) => Buffer.concat([Buffer.from(k, 'latin1'), cstring(v!)]));
  return message('E', Buffer.concat([...parts, Buffer.alloc(1)]));
}

export function authenticationSasl(mechanisms: string[]): Buffer {
  return message('R', Buffer.concat([int32(10), ...mechanisms.map(cstring), Buffer.alloc(1)]));
}

export function authenticationSaslContinue(data: string): Buffer {
  return message('R', Buffer.concat([int32(11), Buffer.from(data, 'utf8')]));
}

export function authenticationSaslFinal(data: string): Buffer {
  return message('R', Buffer.concat([int32(12), Buffer.from(data, 'utf8')]));
}
