/**
 * The broker under test, in its own Node process: the same wiring as a
 * deployed Node server (nodeDeps, migrations, createApp, @hono/node-server).
 * Started by bench/stack.ts over IPC; answers `{ url }` once listening and
 * exits cleanly on `{ stop: true }` (so `--cpu-prof` profiles are written).
 */
import { closeDeps } from '../lib/deps.js';
import { createApp } from '../lib/http/app.js';
import { readMigrations } from '../functions/local/migrations.js';
import { migrate } from '../lib/store/migrate.js';
import { serveNode } from '../functions/runtime/http-server.js';
import { nodeDeps } from '../functions/runtime/node.js';

const deps = await nodeDeps(process.env);
await migrate(deps.sql, await readMigrations());
const app = createApp(deps);
const server = await serveNode(app.fetch, { port: 0, hostname: '127.0.0.1' });
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
process.send?.({ url: `http://127.0.0.1:${port}` });

process.on('message', async (m) => {
  if (!(m as { stop?: boolean }).stop) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(() => r(undefined)));
  await closeDeps(deps).catch(() => {});
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
