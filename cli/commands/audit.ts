/**
 * `pgmint audit`: the audit log, newest first, as a table or `--json`.
 */
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { CliError } from '../lib/errors.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { printJson, table } from '../lib/table.js';

interface Entry {
  id: string;
  at: string;
  action: string;
  outcome: string;
  code: string | null;
  database: string | null;
  subject: string | null;
  role: string | null;
  user: string | null;
}

/** `--since 1h` means an hour ago; an RFC 3339 time passes through. */
export function sinceParam(since: string | undefined, now = Date.now()): string | undefined {
  if (since === undefined) return undefined;
  const m = /^(\d+)([smhd])$/.exec(since);
  if (m) return new Date(now - Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'] * 1000).toISOString();
  if (Number.isNaN(Date.parse(since)))
    throw new CliError('invalid_request', `--since must be a time such as 2026-04-12T16:30:00Z or a duration such as 1h, not "${since}"`);
  return since;
}

interface AuditOptions extends AdminOptions {
  json?: boolean;
  database?: string;
  action?: string;
  outcome?: string;
  subject?: string;
  issuer?: string;
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
        .option('--subject <subject>', 'only this identity')
        .option('--issuer <issuer>', 'only identities of this issuer')
        .option('--since <time>', 'only entries after this time (ISO 8601) or duration ago (e.g. 1h)')
        .option('--limit <n>', 'at most this many', '50')
        .option('--cursor <cursor>', 'continue from a previous page'),
    ),
  ).action(async (o: AuditOptions) => {
    const answer = await adminCall<{ entries: Entry[]; next_cursor: string | null }>(o, 'GET', '/api/v1/audit', {
      query: {
        database: o.database,
        action: o.action,
        outcome: o.outcome,
        subject: o.subject,
        issuer: o.issuer,
        since: sinceParam(o.since),
        limit: o.limit,
        cursor: o.cursor,
      },
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
          { title: 'DATABASE', value: (e) => e.database },
          { title: 'SUBJECT', value: (e) => e.subject, max: 44 },
          { title: 'ROLE', value: (e) => e.role },
          { title: 'USER', value: (e) => e.user },
        ],
        '(no entries)',
      ),
    );
    if (answer.next_cursor) process.stderr.write(`more: --cursor ${answer.next_cursor}\n`);
  });
}
