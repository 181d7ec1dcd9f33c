/**
 * A TCP forwarder in front of a test broker that a test can take down and
 * bring back on the same port: the broker "goes away" for the proxy while
 * the broker itself (and its database) keeps running for the test's checks.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface BrokerSwitch {
  url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  /** Answers every request as a broker whose database is away: 503 with this Retry-After. */
  unavailable(retryAfterSec: number): void;
  close(): Promise<void>;
}

export async function brokerSwitch(brokerUrl: string, startUp = true): Promise<BrokerSwitch> {
  const target = new URL(brokerUrl);
  const sockets = new Set<Socket>();
  let forwarding = startUp;
  let unavailableFor: number | null = null;
  // The listener holds its port while "down" and drops each connection, so no other server
  // started meanwhile can take the port and answer in the broker's place.
  const server: Server = createServer((client) => {
    if (unavailableFor !== null) {
      const body = JSON.stringify({
        type: 'https://pgmint.dev/problems/control-plane-unavailable',
        title: 'Control plane unavailable',
        status: 503,
        code: 'control_plane_unavailable',
      });
      const head = [
        'HTTP/1.1 503 Service Unavailable',
        'content-type: application/problem+json',
        `retry-after: ${unavailableFor}`,
        `content-length: ${Buffer.byteLength(body)}`,
        'connection: close',
      ];
      client.once('data', () => client.end(`${head.join('\r\n')}\r\n\r\n${body}`));
      client.on('error', () => {});
      return;
    }
    if (!forwarding) {
      client.destroy();
      return;
    }
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const down = async () => {
    forwarding = false;
    for (const sock of sockets) sock.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    up: async () => {
      forwarding = true;
      unavailableFor = null;
    },
    unavailable: (retryAfterSec) => {
      unavailableFor = retryAfterSec;
    },
    down,
    close: async () => {
      await down();
      await new Promise((r) => server.close(r));
    },
  };
}
