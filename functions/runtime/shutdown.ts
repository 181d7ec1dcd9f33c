/**
 * Clean shutdown for Node entry points: Lambda sends SIGTERM before it
 * freezes a container for good (when an extension is registered), and local
 * runners send it too. Pools are ended so Postgres sees orderly disconnects
 * instead of sessions dropped mid-flight.
 *
 * @example
 *   const deps = nodeDeps();
 *   closeOnShutdown(deps);
 */
import type { Deps } from '../../lib/deps.js';
import { closeDeps } from '../../lib/deps.js';

/** Lambda allows a shutdown hook about half a second; never wait longer than that. */
const SHUTDOWN_BUDGET_MS = 450;

export function closeOnShutdown(deps: Promise<Deps>): void {
  process.once('SIGTERM', () => {
    const budget = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
    const closing = deps.then(closeDeps);
    Promise.race([closing, budget])
      .catch(() => {})
      .finally(() => process.exit(0));
  });
}
