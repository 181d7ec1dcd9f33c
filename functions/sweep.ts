/**
 * AWS Lambda entry for the scheduled sweep (an EventBridge rule, every
 * minute). Each run stops claiming work a few seconds before the function's
 * own timeout; what is left is the next run's.
 */
import type { Context, ScheduledEvent } from 'aws-lambda';
import { type SweepResult, sweep } from '../lib/leases/sweep.js';
import { nodeDeps } from './runtime/node.js';
import { closeOnShutdown } from './runtime/shutdown.js';

const ready = nodeDeps();
// A bad configuration surfaces on the first invocation, not as an unhandled rejection at import.
ready.catch(() => {});
closeOnShutdown(ready);

/** Leaves time to commit the last batch and report before Lambda stops the function. */
const SAFETY_MARGIN_MS = 10_000;

export async function handler(event: Partial<ScheduledEvent>, context?: Partial<Context>): Promise<SweepResult> {
  const deps = await ready;
  const remaining = context?.getRemainingTimeInMillis?.();
  const maxMs = remaining === undefined ? undefined : Math.max(1000, remaining - SAFETY_MARGIN_MS);
  const result = await sweep(deps, { maxMs, requestId: event.id ?? context?.awsRequestId });
  console.log(JSON.stringify({ level: result.errors.length > 0 ? 'warn' : 'info', msg: 'sweep', ...result }));
  return result;
}
