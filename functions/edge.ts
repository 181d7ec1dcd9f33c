/**
 * Cloudflare Workers module (and other workerd hosts): `fetch` serves the same
 * Hono app as the Lambda API, `scheduled` runs the sweeper and root rotation
 * on the crons of infra/wrangler.toml. Settings come from the `env` binding;
 * Postgres is reached with `@neondatabase/serverless` over WebSocket.
 */
import { PgmintError } from '../lib/errors.js';
import { createApp } from '../lib/http/app.js';
import { problemResponse } from '../lib/http/problem.js';
import { sweep } from '../lib/leases/sweep.js';
import { rotateDueDatabases } from '../lib/rotation/index.js';
import { type WaitUntil, withEdgeDeps } from './runtime/edge.js';

/** The cron that runs root rotation; every other cron runs the sweeper. */
const ROTATE_CRON = '0 3 * * *';
// Workers give a cron under an hourly interval 30 s, and 15 min otherwise.
const SWEEP_BUDGET_MS = 20_000;
const ROTATE_BUDGET_MS = 10 * 60_000;

interface ScheduledController {
  cron: string;
  scheduledTime: number;
}

const log = (level: 'info' | 'error', msg: string, fields: object) => console.log(JSON.stringify({ level, msg, ...fields }));

export default {
  async fetch(request: Request, env: object, ctx: WaitUntil): Promise<Response> {
    try {
      return await withEdgeDeps(env, ctx, (deps) => Promise.resolve(createApp(deps).fetch(request, env, ctx as never)));
    } catch (err) {
      // Only start-up (configuration) failures reach here; the app answers its own errors.
      log('error', 'start-up failed', { error: err instanceof Error ? err.message : String(err) });
      return problemResponse(new PgmintError('internal', 'the broker is misconfigured'), crypto.randomUUID());
    }
  },

  async scheduled(controller: ScheduledController, env: object, ctx: WaitUntil): Promise<void> {
    await withEdgeDeps(env, ctx, async (deps) => {
      if (controller.cron === ROTATE_CRON) {
        const summary = await rotateDueDatabases(deps, { deadline: Date.now() + ROTATE_BUDGET_MS });
        log(summary.failed.length > 0 ? 'error' : 'info', 'root rotation', summary);
      } else {
        const result = await sweep(deps, { maxMs: SWEEP_BUDGET_MS });
        log(result.errors.length > 0 || result.failed > 0 ? 'error' : 'info', 'sweep', result);
      }
    });
  },
};
