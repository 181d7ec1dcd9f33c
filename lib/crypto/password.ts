/**
 * Lease passwords: `pgm-` + 32 base64url characters (24 random bytes, 192
 * bits). The fixed prefix and length let secret scanners match leaks with
 * `pgm-[A-Za-z0-9_-]{32}`. The hyphen matters: lease role names are made of
 * [a-z0-9_] only (`pgm_<ns>_<sa>_<random>`), so no role name can start like
 * a password and the sanitizer never mistakes a user name for a secret.
 *
 * @example
 *   generatePassword(); // 'pgm-3q2-7wE9…' (36 characters)
 */
import { toBase64Url } from './encoding.js';

export const PASSWORD_PREFIX = 'pgm-';
export const PASSWORD_BYTES = 24;
/** What a secret scanner can use to find a leaked pgmint password. */
export const PASSWORD_PATTERN = /\bpgm-[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/;

export function generatePassword(): string {
  return PASSWORD_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(PASSWORD_BYTES)));
}
