/**
 * Cloudflare Workers module (and other workerd hosts): `fetch` serves the same
 * Hono app as the Lambda API, `scheduled` runs the sweeper and root rotation
 * on the crons of infra/wrangler.toml. Settings come from the `env` binding;
 * Postgres is reached with `@neondatabase/serverless` over WebSocket.
 */
import { PgmintError } from '../lib/errors.js';
import { createApp } from '../lib/http/app.js';
import { problemResponse } from '../lib/http/problem.js';
import { type WaitUntil, withEdgeDeps } from './runtime/edge.js';

export default {
  async fetch(request: Request, env: object, ctx: WaitUntil): Promise<Response> {
    try {
      return await withEdgeDeps(env, ctx, (deps) => Promise.resolve(createApp(deps).fetch(request, env, ctx as never)));
    } catch (err) {
      // Only start-up (configuration) failures reach here; the app answers its own errors.
      console.error(JSON.stringify({ level: 'error', error: err instanceof Error ? err.message : String(err) }));
      return problemResponse(new PgmintError('internal', 'the broker is misconfigured'), crypto.randomUUID());
    }
  },
};
