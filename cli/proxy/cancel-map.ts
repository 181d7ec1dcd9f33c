/**
 * CancelRequests: the application holds the server's own BackendKeyData
 * (passed through unchanged), so a CancelRequest sent to the proxy carries
 * that key; this map says which server the key belongs to, and the packet is
 * forwarded there as it came. Keys leave the map when their connection closes.
 *
 * @example
 *   cancels.add(up.backendKey, { host, port });
 *   await cancels.forward(packet.key, packet.raw); // false for an unknown key
 */
import { connect } from 'node:net';

export interface CancelTarget {
  host: string;
  port: number;
}

export class CancelMap {
  private readonly targets = new Map<string, CancelTarget>();

  add(key: Buffer, target: CancelTarget): void {
    this.targets.set(key.toString('hex'), target);
  }

  delete(key: Buffer): void {
    this.targets.delete(key.toString('hex'));
  }

  get size(): number {
    return this.targets.size;
  }

  /** Sends the CancelRequest to the server that issued the key; like Postgres, never says whether it matched. */
  forward(key: Buffer, raw: Buffer, timeoutMs = 5000): Promise<boolean> {
    const target = this.targets.get(key.toString('hex'));
    if (!target) return Promise.resolve(false);
    return new Promise((resolve) => {
      const socket = connect({ host: target.host, port: target.port });
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.once('connect', () => socket.end(raw));
      // The server closes the connection once it has read the request.
      socket.once('close', (hadError) => resolve(!hadError));
      socket.once('error', () => {});
      socket.resume();
    });
  }
}
