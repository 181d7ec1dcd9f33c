// One cold start, in a fresh Node process: import a Lambda bundle, hand its
// handler one event, report the timings (ms since this process began) to the
// parent over IPC, exit. Plain JavaScript so no loader adds to the time.
const booted = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const imported = performance.now();
const context = { awsRequestId: crypto.randomUUID(), getRemainingTimeInMillis: () => 60_000, callbackWaitsForEmptyEventLoop: false };
let status = 'ok';
try {
  const result = await mod.handler(JSON.parse(process.env.BENCH_EVENT), context);
  if (result && typeof result.statusCode === 'number') status = String(result.statusCode);
} catch (err) {
  status = `error: ${err instanceof Error ? err.message : String(err)}`;
}
const handled = performance.now();
process.send({ booted, imported, handled, status }, () => process.exit(0));
