/**
 * `pgmint leases list|revoke`: the live and past logins of a database, and
 * ending them (one lease, or all of a subject's or a name prefix's).
 */
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { CliError } from '../lib/errors.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { printJson, table, timeLeft } from '../lib/table.js';

/** A lease as the API lists it; older and newer brokers name a few fields differently. */
type Lease = Record<string, unknown>;

const pick = (l: Lease, ...names: string[]): unknown => names.map((n) => l[n]).find((v) => v !== undefined && v !== null);

interface ListOptions extends AdminOptions {
  json?: boolean;
  state?: string;
  subject?: string;
  role?: string;
  prefix?: string;
  after?: string;
  limit?: string;
}

export function registerLeases(program: Command): void {
  const leases = program.command('leases').description('Leases: the logins pgmint minted (admin)');

  jsonOption(
    adminOptions(
      leases
        .command('list <db>')
        .description('List leases of <db>, newest first')
        .option('--state <state>', 'pending, active, revoked, failed or irrevocable')
        .option('--subject <subject>', 'only this workload, e.g. system:serviceaccount:prod:api')
        .option('--role <role>', 'only this role')
        .option('--prefix <prefix>', 'only login names starting with this')
        .option('--after <cursor>', 'continue after this lease (from the previous page)')
        .option('--limit <n>', 'at most this many'),
    ),
  ).action(async (db: string, o: ListOptions) => {
    const answer = await adminCall<{ leases?: Lease[]; next_after?: string | null; next_cursor?: string | null } | Lease[]>(
      o,
      'GET',
      `/api/v1/databases/${seg(db)}/leases`,
      { query: { state: o.state, subject: o.subject, role: o.role, prefix: o.prefix, after: o.after, limit: o.limit } },
    );
    const rows = Array.isArray(answer) ? answer : (answer?.leases ?? []);
    if (o.json) return printJson(answer);
    process.stdout.write(
      table(rows, [
        { title: 'LEASE', value: (l) => pick(l, 'id', 'lease_id') },
        { title: 'USER', value: (l) => pick(l, 'username', 'user') },
        { title: 'ROLE', value: (l) => pick(l, 'role', 'role_name') },
        { title: 'STATE', value: (l) => l.state },
        { title: 'SUBJECT', value: (l) => l.subject, max: 48 },
        { title: 'EXPIRES', value: (l) => (typeof l.expires_at === 'string' && l.state === 'active' ? timeLeft(l.expires_at) : l.expires_at) },
      ]),
    );
    const next = Array.isArray(answer) ? null : (answer?.next_after ?? answer?.next_cursor);
    if (next) process.stderr.write(`more: --after ${next}\n`);
  });

  adminOptions(
    leases
      .command('revoke [lease-id]')
      .description('Revoke one lease, or with --db all leases of a --subject or --prefix')
      .option('--db <db>', 'database for a bulk revoke')
      .option('--subject <subject>', 'revoke every live lease of this subject')
      .option('--prefix <prefix>', 'revoke every live lease whose login starts with this'),
  ).action(async (leaseId: string | undefined, o: AdminOptions & { db?: string; subject?: string; prefix?: string }) => {
    if (leaseId) {
      if (o.db || o.subject || o.prefix) throw new CliError('invalid_request', 'give either a lease id or --db with --subject/--prefix, not both');
      const answer = await adminCall<Lease | undefined>(o, 'DELETE', `/api/v1/leases/${seg(leaseId)}`, { label: 'revoking' });
      process.stdout.write(`revoked lease ${leaseId}${answer?.state ? ` (${answer.state})` : ''}\n`);
      return;
    }
    if (!o.db || (!o.subject && !o.prefix)) {
      throw new CliError('invalid_request', 'nothing to revoke', { hint: 'pass a lease id, or --db <db> with --subject <subject> or --prefix <prefix>' });
    }
    const answer = await adminCall<Record<string, unknown> | undefined>(o, 'DELETE', `/api/v1/databases/${seg(o.db)}/leases`, {
      query: { subject: o.subject, prefix: o.prefix },
      label: 'revoking',
    });
    const count = answer ? pick(answer, 'revoked', 'count') : undefined;
    const n = Array.isArray(count) ? count.length : count;
    process.stdout.write(`revoked ${n ?? 'matching'} lease(s) on ${o.db}\n`);
    if (answer && Number(answer.failed ?? 0) > 0) process.stdout.write(`${answer.failed} could not be revoked yet; the sweeper retries them\n`);
  });
}
