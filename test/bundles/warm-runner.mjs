// Keeps one built Lambda bundle warm in this process, the way one Lambda
// container serves invocation after invocation. Reads `{ events }` as the first
// line of stdin, invokes the handler with each in order, prints a summary line,
// then waits for `stop` and sends itself SIGTERM as Lambda does at shutdown.
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [bundle] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const { events } = JSON.parse((await lines.next()).value);
const { handler } = await import(pathToFileURL(bundle).href);

const statuses = {};
let firstResultMs;
for (const event of events) {
  const context = { functionName: 'api', awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 10_000 };
  const res = await handler(event, context);
  firstResultMs ??= performance.now();
  statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
}
process.stdout.write(`${JSON.stringify({ invocations: events.length, statuses, firstResultMs })}\n`);

while (true) {
  const next = await lines.next();
  if (next.done || next.value === 'stop') break;
}
setTimeout(() => process.exit(3), 5000).unref();
process.kill(process.pid, 'SIGTERM');
