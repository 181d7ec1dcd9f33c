/**
 * SCRAM-SHA-256 keys with Node's own crypto, for the verifier pool of Node
 * runtimes (lib/crypto/scram.ts keeps WebCrypto for every runtime). The
 * PBKDF2 runs on libuv's thread pool either way; the two HMACs and the hash
 * that follow are microseconds here, where each WebCrypto call costs a
 * thread-pool round trip and its argument checks on the event loop — about a
 * tenth of the broker's event-loop time per exchange at one client.
 *
 * @example
 *   const verifier = await scramSha256Verifier(password, { derive: nodeScramKeys });
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import type { ScramKeyDeriver } from '../../lib/crypto/scram.js';

export const nodeScramKeys: ScramKeyDeriver = (password, salt, iterations) =>
  new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, 32, 'sha256', (err, salted) => {
      if (err) return reject(err);
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      resolve({
        storedKey: new Uint8Array(createHash('sha256').update(clientKey).digest()),
        serverKey: new Uint8Array(createHmac('sha256', salted).update('Server Key').digest()),
      });
    });
  });
