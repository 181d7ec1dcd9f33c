/**
 * A TCP forwarder in front of a test broker that a test can take down and
 * bring back on the same port: the broker "goes away" for the proxy while
 * the broker itself (and its database) keeps running for the test's checks.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../cli/sshd.js';

export interface BrokerSwitch {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function brokerSwitch(brokerUrl: string, startUp = true): Promise<BrokerSwitch> {
  const target = new URL(brokerUrl);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const up = async () => {
    if (server) return;
    const s = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.once('close', () => sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
    server = s;
  };
  const down = async () => {
    const s = server;
    server = null;
    if (!s) return;
    for (const sock of sockets) sock.destroy();
    await new Promise((r) => s.close(r));
  };
  if (startUp) await up();
  return { url: `http://127.0.0.1:${port}`, up, down, close: down };
}
