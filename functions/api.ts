/**
 * AWS Lambda entry for the HTTP API (API Gateway HTTP API v2 or a function
 * URL). Deps and the app are built once per container and reused while warm.
 */
import type { Context } from 'aws-lambda';
import { handle, type LambdaEvent } from 'hono/aws-lambda';
import { createApp } from '../lib/http/app.js';
import { nodeDeps } from './runtime/node.js';
import { closeOnShutdown } from './runtime/shutdown.js';

const deps = nodeDeps();
closeOnShutdown(deps);
const ready = deps.then((d) => handle(createApp(d)));
// A bad configuration surfaces on the first invocation, not as an unhandled rejection at import.
ready.catch(() => {});

export async function handler(event: LambdaEvent, context: Context) {
  return (await ready)(event, context);
}
