/**
 * Base64 and base64url for byte arrays, built on `btoa`/`atob` so it runs on
 * every runtime (no Buffer). Decoding is strict: anything that is not
 * canonical base64 throws a TypeError instead of being silently skipped.
 *
 * @example
 *   toBase64Url(new Uint8Array([251, 255])); // '-_8'
 */

const utf8 = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(text);
}

/** Standard base64 with `=` padding, as Postgres writes it in SCRAM verifiers. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** URL-safe base64 without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Decodes padded standard base64; throws TypeError on anything else. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || !BASE64.test(text)) throw new TypeError('not valid base64');
  return binaryToBytes(atob(text));
}

/** Decodes unpadded base64url; throws TypeError on anything else. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || !BASE64URL.test(text) || text.length % 4 === 1) {
    throw new TypeError('not valid base64url');
  }
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bytes = binaryToBytes(atob(padded));
  // Reject non-canonical trailing bits, so one value has exactly one encoding.
  if (toBase64Url(bytes) !== text) throw new TypeError('not valid base64url');
  return bytes;
}

function binaryToBytes(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
