/**
 * The proxy's HTTP admin port, for Kubernetes and Prometheus: `/startup`
 * (200 once a first lease was obtained), `/liveness` (200 while the process
 * answers), `/readiness` (200 while a valid lease is held and the proxy is not
 * shutting down), `/metrics`, and `POST /quitquitquit` (shut down as on
 * SIGTERM; accepted from loopback only, since the port may face the pod
 * network for the probes).
 *
 * @example
 *   const admin = await startAdminServer({ host: '0.0.0.0', port: 9090 }, { keeper, metrics, shuttingDown: () => false, quit });
 */
import { createServer, type Server } from 'node:http';
import type { ListenAddress } from './listen-address.js';
import { isLoopbackHost } from './listen-address.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ProxyMetrics } from './metrics.js';

export interface AdminHooks {
  keeper: LeaseKeeper;
  metrics: ProxyMetrics;
  shuttingDown(): boolean;
  quit(): void;
}

export function startAdminServer(at: ListenAddress, h: AdminHooks): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const lease = h.keeper.usable();
    if (req.method === 'GET' && path === '/liveness') return answer(200, 'ok\n');
    if (req.method === 'GET' && path === '/startup')
      return h.keeper.hasObtainedOne ? answer(200, 'ok\n') : answer(503, `no lease yet: ${h.keeper.lastError?.code ?? 'pending'}\n`);
    if (req.method === 'GET' && path === '/readiness') {
      if (h.shuttingDown()) return answer(503, 'shutting down\n');
      return lease ? answer(200, 'ok\n') : answer(503, `no valid lease: ${h.keeper.lastError?.code ?? 'pending'}\n`);
    }
    if (req.method === 'GET' && path === '/metrics') {
      const current = h.keeper.currentLease;
      return answer(
        200,
        h.metrics.render({ obtainedAt: current?.obtainedAt ?? null, expiresAt: current?.expiresAt ?? null }),
        'text/plain; version=0.0.4; charset=utf-8',
      );
    }
    if (path === '/quitquitquit') {
      if (req.method !== 'POST' && req.method !== 'GET') return answer(405, 'use POST\n');
      if (!isLoopbackHost(req.socket.remoteAddress ?? '')) return answer(403, 'quitquitquit is accepted from loopback only\n');
      answer(200, 'shutting down\n');
      h.quit();
      return;
    }
    answer(404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
