/**
 * After both logins, the proxy is a byte pipe: each side's readable stream is
 * piped into the other's writable, so a slow reader pauses the fast writer
 * (back-pressure) and no message is parsed. When one side closes, the other
 * is ended after what is already queued for it (a server's last
 * ErrorResponse reaches the application); a failure destroys both.
 *
 * @example
 *   relay(appSocket, upstream.socket, () => metrics.connectionClosed());
 */
import type { Duplex } from 'node:stream';

/** How long a side may take to flush after its peer closed. */
const LINGER_MS = 5000;

export function relay(app: Duplex, server: Duplex, onClosed: () => void): void {
  let open = 2;
  const failed = () => {
    app.destroy();
    server.destroy();
  };
  const closed = (other: Duplex) => () => {
    if (!other.destroyed) {
      other.end();
      setTimeout(() => other.destroy(), LINGER_MS).unref();
    }
    if (--open === 0) onClosed();
  };
  app.on('error', failed);
  server.on('error', failed);
  app.once('close', closed(server));
  server.once('close', closed(app));
  app.pipe(server);
  server.pipe(app);
}
