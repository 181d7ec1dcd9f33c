/**
 * The exchange over HTTP at a fixed concurrency: keep-alive connections, one
 * request per client at a time, each carrying a service-account token of its
 * own pod (reused a few times, well under the lease cap). Any answer other
 * than 200 with credentials counts as an error.
 *
 * @example
 *   const r = await measureExchange(stack, tokens, { concurrency: 8, total: 2000 });
 */
import http from 'node:http';
import { closedLoopRaw, httpGet, type RawLoad } from './load.js';
import type { Stack } from './stack.js';

export async function measureExchange(
  stack: Stack,
  nextToken: () => string,
  o: { concurrency: number; total: number; warmup?: number },
): Promise<RawLoad> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  try {
    return await closedLoopRaw(o, async () => {
      const res = await httpGet(agent, stack.exchangeUrl, nextToken());
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${extractCode(res.body)}`);
    });
  } finally {
    agent.destroy();
  }
}

export function extractCode(body: string): string {
  try {
    return String((JSON.parse(body) as { code?: string }).code ?? '');
  } catch {
    return body.slice(0, 60);
  }
}
