/**
 * Sealing secrets at rest (the broker's root credentials): AES-256-GCM with a
 * 12-byte random IV and caller-chosen additional data that binds the sealed
 * value to its place (e.g. `root:<database id>`), so a value copied to
 * another row does not open. Output: `v1.<b64url iv>.<b64url ciphertext+tag>`.
 *
 * @example
 *   const key = await importSealKey(env.PGMINT_SECRET_KEY);
 *   const sealed = await seal(key, password, `root:${db.id}`);
 *   await unseal(key, sealed, `root:${db.id}`); // password
 */
import { fromBase64, fromBase64Url, toBase64Url, utf8Bytes } from './encoding.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Imports `PGMINT_SECRET_KEY` (standard base64 of exactly 32 bytes). */
export async function importSealKey(base64: string): Promise<CryptoKey> {
  let raw: Uint8Array<ArrayBuffer>;
  try {
    raw = fromBase64(typeof base64 === 'string' ? base64.trim() : base64);
  } catch {
    throw new TypeError('PGMINT_SECRET_KEY must be base64 of 32 bytes');
  }
  if (raw.length !== 32) throw new TypeError('PGMINT_SECRET_KEY must be base64 of 32 bytes');
  try {
    return await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

export async function seal(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  if (typeof plaintext !== 'string') throw new TypeError('seal needs a string plaintext');
  if (typeof aad !== 'string') throw new TypeError('seal needs a string aad');
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8Bytes(aad) }, key, utf8Bytes(plaintext));
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
}

/** Opens a sealed value; a wrong key, wrong aad or any tampering throws a TypeError. */
export async function unseal(key: CryptoKey, sealed: string, aad: string): Promise<string> {
  if (typeof aad !== 'string') throw new TypeError('unseal needs a string aad');
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 3 || parts[0] !== VERSION) throw new TypeError('sealed value is malformed');
  let iv: Uint8Array<ArrayBuffer>;
  let ciphertext: Uint8Array<ArrayBuffer>;
  try {
    iv = fromBase64Url(parts[1]!);
    ciphertext = fromBase64Url(parts[2]!);
  } catch {
    throw new TypeError('sealed value is malformed');
  }
  if (iv.length !== IV_BYTES || ciphertext.length < TAG_BYTES) throw new TypeError('sealed value is malformed');
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: utf8Bytes(aad) }, key, ciphertext);
  } catch (cause) {
    throw new TypeError('sealed value does not open with this key and aad (wrong PGMINT_SECRET_KEY?)', { cause });
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
}
