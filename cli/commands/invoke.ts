/**
 * `pgmint invoke <function> [--event file]`: runs a built Lambda bundle
 * (dist/<function>/index.mjs) in a fresh Node process with a sample or given
 * event, the way `sam local invoke` would without Docker, and prints what the
 * handler returned. A REPORT line on stderr gives the start-up and run times.
 *
 * @example
 *   npm run build && PGMINT_DATABASE_URL=… PGMINT_SECRET_KEY=… pgmint invoke sweep
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The event each function is invoked with when no `--event` is given. */
export const SAMPLE_EVENTS: Record<string, string> = {
  api: 'infra/events/api-healthz.json',
  sweep: 'infra/events/sweep.json',
  'rotate-root': 'infra/events/rotate-root.json',
};

export interface InvokeOptions {
  /** Path of the bundle, e.g. dist/api/index.mjs. */
  bundle: string;
  functionName: string;
  event: unknown;
  /** Environment of the function; the caller's own is not inherited. */
  env: Record<string, string | undefined>;
  /** Node's own `--env-file`, read by the child. */
  envFile?: string;
  timeoutMs?: number;
}

export interface InvokeResult {
  /** What the handler returned, when it did. */
  result?: unknown;
  /** Lambda's shape for a handler that threw. */
  error?: { errorType: string; errorMessage: string };
  /** Milliseconds from process start until the module was loaded (cold start). */
  initMs: number;
  /** Milliseconds from process start until the handler returned. */
  firstResultMs: number;
  /** Milliseconds the handler itself ran. */
  durationMs: number;
  /** Exit status of the process after the shutdown signal. */
  exitCode: number | null;
  /** What the function logged (stdout and stderr), as CloudWatch would show it. */
  stderr: string;
}

// Runs inside the child. The result travels on fd 3 so the function's own
// logging on stdout/stderr cannot corrupt it. After answering, the process
// gets SIGTERM as Lambda sends on shutdown, so pools close the way they would there.
const RUNNER = `
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
const [bundle, functionName, timeoutMs] = process.argv.slice(1);
const event = JSON.parse(readFileSync(0, 'utf8'));
const answer = (doc) => { writeSync(3, JSON.stringify(doc)); closeSync(3); };
const mod = await import(pathToFileURL(bundle).href);
const initMs = performance.now();
const deadline = Date.now() + Number(timeoutMs);
const context = {
  functionName, functionVersion: '$LATEST', memoryLimitInMB: '256',
  invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:' + functionName,
  awsRequestId: randomUUID(), logGroupName: '/aws/lambda/' + functionName, logStreamName: 'local',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done() {}, fail() {}, succeed() {},
};
let doc;
const t0 = performance.now();
try {
  if (typeof mod.handler !== 'function') throw new TypeError(bundle + ' does not export a function named handler');
  doc = { result: await mod.handler(event, context) };
} catch (err) {
  doc = { error: { errorType: err?.name ?? 'Error', errorMessage: err?.message ?? String(err) } };
}
const t1 = performance.now();
answer({ ...doc, initMs, firstResultMs: t1, durationMs: t1 - t0 });
if (process.listenerCount('SIGTERM') > 0) {
  setTimeout(() => process.exit(2), 5000).unref();
  process.kill(process.pid, 'SIGTERM');
} else {
  process.exit(0);
}
`;

export async function invokeBundle(options: InvokeOptions): Promise<InvokeResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const nodeArgs = options.envFile ? [`--env-file=${options.envFile}`] : [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--input-type=module', '-e', RUNNER, options.bundle, options.functionName, String(timeoutMs)],
    {
      env: { PATH: process.env.PATH, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    },
  );
  const stderr: Buffer[] = [];
  const fd3: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => stderr.push(c));
  child.stderr!.on('data', (c: Buffer) => stderr.push(c));
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => fd3.push(c));
  child.stdin!.end(JSON.stringify(options.event));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 10_000);
  const exitCode = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  clearTimeout(timer);
  const text = Buffer.concat(fd3).toString('utf8');
  const err = Buffer.concat(stderr).toString('utf8');
  if (!text) throw new Error(`${options.functionName} did not answer (exit ${exitCode}): ${err.trim().split('\n').slice(-3).join(' | ')}`);
  return { ...(JSON.parse(text) as Omit<InvokeResult, 'exitCode' | 'stderr'>), exitCode, stderr: err };
}

export function bundlePath(functionName: string, dist = resolve(ROOT, 'dist')): string {
  return resolve(dist, functionName, 'index.mjs');
}

export function registerInvoke(program: Command): void {
  program
    .command('invoke')
    .description('Run a built function (npm run build) locally with a sample or given event and print its result')
    .argument('<function>', `function name: ${Object.keys(SAMPLE_EVENTS).join(', ')}`)
    .option('-e, --event <file>', 'event JSON (default: the sample in infra/events/)')
    .option('--env-file <file>', 'read PGMINT_* settings from this file as well as the environment')
    .option('--dist <dir>', 'folder of the built bundles', resolve(ROOT, 'dist'))
    .option('--timeout <seconds>', 'function timeout', '30')
    .action(async (fn: string, o: { event?: string; envFile?: string; dist: string; timeout: string }) => {
      const bundle = bundlePath(fn, resolve(o.dist));
      if (!existsSync(bundle)) throw new Error(`${bundle} not found; run \`npm run build\` first`);
      const eventFile = o.event ? resolve(o.event) : SAMPLE_EVENTS[fn] && resolve(ROOT, SAMPLE_EVENTS[fn]);
      if (!eventFile) throw new Error(`no sample event for ${fn}; pass --event <file>`);
      const event = JSON.parse(await readFile(eventFile, 'utf8')) as unknown;
      const out = await invokeBundle({
        bundle,
        functionName: fn,
        event,
        env: process.env,
        envFile: o.envFile && resolve(o.envFile),
        timeoutMs: Number(o.timeout) * 1000,
      });
      process.stderr.write(out.stderr);
      process.stdout.write(`${JSON.stringify(out.error ?? out.result ?? null, null, 2)}\n`);
      process.stderr.write(
        `REPORT function=${fn} init=${out.initMs.toFixed(0)}ms duration=${out.durationMs.toFixed(0)}ms first_result=${out.firstResultMs.toFixed(0)}ms\n`,
      );
      if (out.error) process.exitCode = 1;
    });
}
