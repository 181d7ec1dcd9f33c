/**
 * `pgmint audit`: the audit log, newest first, as a table or `--json`.
 */
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { printJson, table } from '../lib/table.js';

type Entry = Record<string, unknown>;

interface AuditOptions extends AdminOptions {
  json?: boolean;
  database?: string;
  action?: string;
  outcome?: string;
  since?: string;
  limit?: string;
  cursor?: string;
}

export function registerAudit(program: Command): void {
  jsonOption(
    adminOptions(
      program
        .command('audit')
        .description('Show the audit log (admin)')
        .option('--database <db>', 'only this database')
        .option('--action <action>', 'only this action, e.g. credentials.issue')
        .option('--outcome <outcome>', 'success, denied or error')
        .option('--since <time>', 'only entries after this time (ISO 8601) or duration ago (e.g. 1h)')
        .option('--limit <n>', 'at most this many', '50')
        .option('--cursor <cursor>', 'continue from a previous page'),
    ),
  ).action(async (o: AuditOptions) => {
    const answer = await adminCall<{ entries: Entry[]; next_cursor: string | null }>(o, 'GET', '/api/v1/audit', {
      query: { database: o.database, action: o.action, outcome: o.outcome, since: o.since, limit: o.limit, cursor: o.cursor },
    });
    if (o.json) return printJson(answer);
    process.stdout.write(
      table(
        answer.entries ?? [],
        [
          { title: 'AT', value: (e) => e.at },
          { title: 'ACTION', value: (e) => e.action },
          { title: 'OUTCOME', value: (e) => e.outcome },
          { title: 'CODE', value: (e) => e.code },
          { title: 'DATABASE', value: (e) => e.database ?? e.database_id },
          { title: 'SUBJECT', value: (e) => e.subject, max: 44 },
          { title: 'USER', value: (e) => e.username },
        ],
        '(no entries)',
      ),
    );
    if (answer.next_cursor) process.stderr.write(`more: --cursor ${answer.next_cursor}\n`);
  });
}
