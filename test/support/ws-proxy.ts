/**
 * A WebSocket-to-TCP proxy on loopback speaking the protocol of Neon's
 * serverless driver: `ws://host:port/v1?address=<pghost>:<pgport>`, binary
 * frames piped to and from a TCP connection to that Postgres. Only loopback
 * destinations are allowed.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { WebSocketServer } from 'ws';

export interface WsProxy {
  host: string;
  port: number;
  /** Value for PGMINT_NEON_WS_PROXY / neonConfig.wsProxy. */
  wsProxy: string;
  connections(): number;
  stop(): Promise<void>;
}

export async function startWsProxy(): Promise<WsProxy> {
  const http: Server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ server: http });
  let total = 0;
  wss.on('connection', (ws, req) => {
    const address = new URL(req.url ?? '/', 'http://x').searchParams.get('address') ?? '';
    const match = /^(127\.\d+\.\d+\.\d+|localhost):(\d+)$/.exec(address);
    if (!match) {
      ws.close(1008, 'only loopback Postgres servers');
      return;
    }
    total++;
    const socket = connect(Number(match[2]), match[1]);
    socket.setNoDelay(true);
    const pending: Buffer[] = [];
    let open = false;
    socket.on('connect', () => {
      open = true;
      for (const chunk of pending.splice(0)) socket.write(chunk);
    });
    ws.on('message', (data: Buffer) => (open ? socket.write(data) : pending.push(data)));
    socket.on('data', (chunk) => ws.readyState === ws.OPEN && ws.send(chunk));
    ws.on('close', () => socket.destroy());
    socket.on('close', () => ws.close());
    socket.on('error', () => ws.close());
    ws.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: '127.0.0.1',
    port,
    wsProxy: `127.0.0.1:${port}/v1`,
    connections: () => total,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((r) => wss.close(() => r(undefined)));
      await new Promise((r) => http.close(() => r(undefined)));
    },
  };
}
