/**
 * AWS Lambda entry for the scheduled root rotation (an EventBridge schedule,
 * e.g. `rate(1 hour)`): rotates every target whose credential is older than
 * its rotation period and settles interrupted rotations. Deps are built once
 * per container.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { rotateDueDatabases, type ScheduledRotationSummary } from '../lib/rotation/index.js';
import { nodeDeps } from './runtime/node.js';
import { closeOnShutdown } from './runtime/shutdown.js';

const ready = nodeDeps();
// A bad configuration surfaces on the first invocation, not as an unhandled rejection at import.
ready.catch(() => {});
closeOnShutdown(ready);

/** Leave this much of the invocation's time unused so a rotation in flight can finish. */
const RESERVE_MS = 15_000;

export async function handler(
  _event: ScheduledEvent | Record<string, unknown>,
  context?: Partial<Context>,
): Promise<ScheduledRotationSummary> {
  const deps = await ready;
  const remaining = context?.getRemainingTimeInMillis?.();
  const summary = await rotateDueDatabases(deps, { deadline: remaining === undefined ? undefined : Date.now() + remaining - RESERVE_MS });
  const level = summary.failed.length > 0 ? 'error' : 'info';
  console.log(JSON.stringify({ level, msg: 'root rotation', ...summary }));
  return summary;
}
