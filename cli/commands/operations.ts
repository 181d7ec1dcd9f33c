/**
 * `pgmint sweep` and `pgmint rotate-root <db>`: the scheduled jobs, on demand
 * through the admin API.
 */
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { fields, printJson } from '../lib/table.js';

type Doc = Record<string, unknown>;

/** Scalar top-level fields of an answer, for people; --json gives all of it. */
function summary(doc: Doc | undefined): string {
  const pairs = Object.entries(doc ?? {}).filter(([, v]) => v === null || typeof v !== 'object' || Array.isArray(v));
  return pairs.length ? fields(pairs.map(([k, v]) => [k.replaceAll('_', ' '), Array.isArray(v) ? v.length : v])) : 'done\n';
}

export function registerOperations(program: Command): void {
  jsonOption(
    adminOptions(
      program.command('sweep').description('End expired leases (those with open sessions drain first) and drop orphaned roles now (admin)'),
    ),
  ).action(async (o: AdminOptions & { json?: boolean }) => {
    const result = await adminCall<Doc>(o, 'POST', '/api/v1/sweep', { label: 'sweeping', timeoutMs: 300_000 });
    if (o.json) printJson(result);
    else process.stdout.write(summary(result));
  });

  jsonOption(adminOptions(program.command('rotate-root <db>').description("Rotate the broker's root password on <db> now (admin)"))).action(
    async (db: string, o: AdminOptions & { json?: boolean }) => {
      const result = await adminCall<Doc>(o, 'POST', `/api/v1/databases/${seg(db)}/rotate-root`, {
        label: `rotating root on ${db}`,
        timeoutMs: 300_000,
      });
      if (o.json) printJson(result);
      else process.stdout.write(summary(result));
    },
  );
}
