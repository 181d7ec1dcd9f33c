/**
 * `pgmint leases list|revoke|ack`: the live and past logins of a database,
 * ending them (one lease, or all of a subject's or a name prefix's), and
 * acknowledging an irrevocable one so it ages out.
 */
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { CliError } from '../lib/errors.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { printJson, table, timeLeft } from '../lib/table.js';

interface Lease {
  id: string;
  role: string;
  user: string;
  state: string;
  subject: string;
  issuer: string | null;
  pod_name: string | null;
  expires_at: string;
  last_error: string | null;
}

interface BulkRevokeResult {
  matched: number;
  revoked: number;
  failed: number;
  irrevocable: number;
  remaining: number;
}

interface ListOptions extends AdminOptions {
  json?: boolean;
  state?: string;
  subject?: string;
  issuer?: string;
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
        .option('--state <state>', 'pending, active, draining, revoked, failed, irrevocable or acknowledged')
        .option('--subject <subject>', 'only this workload, e.g. system:serviceaccount:prod:api')
        .option('--issuer <issuer>', "only this issuer's workloads (two clusters may share a subject)")
        .option('--role <role>', 'only this role')
        .option('--prefix <prefix>', 'only login names starting with this')
        .option('--after <cursor>', 'continue after this lease (from the previous page)')
        .option('--limit <n>', 'at most this many'),
    ),
  ).action(async (db: string, o: ListOptions) => {
    const answer = await adminCall<{ leases: Lease[]; next_after: string | null }>(o, 'GET', `/api/v1/databases/${seg(db)}/leases`, {
      query: { state: o.state, subject: o.subject, issuer: o.issuer, role: o.role, prefix: o.prefix, after: o.after, limit: o.limit },
    });
    if (o.json) return printJson(answer);
    process.stdout.write(
      table(answer.leases, [
        { title: 'LEASE', value: (l) => l.id },
        { title: 'USER', value: (l) => l.user },
        { title: 'ROLE', value: (l) => l.role },
        { title: 'STATE', value: (l) => l.state },
        { title: 'SUBJECT', value: (l) => l.subject, max: 48 },
        { title: 'ISSUER', value: (l) => l.issuer, max: 48 },
        { title: 'POD', value: (l) => l.pod_name },
        { title: 'EXPIRES', value: (l) => (l.state === 'active' ? timeLeft(l.expires_at) : l.expires_at) },
      ]),
    );
    if (answer.next_after) process.stderr.write(`more: --after ${answer.next_after}\n`);
  });

  adminOptions(
    leases
      .command('revoke [lease-id]')
      .description('Revoke one lease, or with --db all leases of a --subject or --prefix')
      .option('--db <db>', 'database for a bulk revoke')
      .option('--subject <subject>', 'revoke every live lease of this subject')
      .option('--issuer <issuer>', "with --subject: only this issuer's workload")
      .option('--prefix <prefix>', 'revoke every live lease whose login starts with this'),
  ).action(async (leaseId: string | undefined, o: AdminOptions & { db?: string; subject?: string; issuer?: string; prefix?: string }) => {
    if (leaseId) {
      if (o.db || o.subject || o.prefix)
        throw new CliError('invalid_request', 'give either a lease id or --db with --subject/--prefix, not both');
      const lease = await adminCall<Lease>(o, 'DELETE', `/api/v1/leases/${seg(leaseId)}`, { label: 'revoking' });
      process.stdout.write(`lease ${lease.id} (${lease.user}): ${lease.state}\n`);
      if (lease.state !== 'revoked')
        process.stdout.write(`not revoked yet${lease.last_error ? ` (${lease.last_error})` : ''}; the sweeper retries it\n`);
      return;
    }
    if (!o.db || (!o.subject && !o.prefix)) {
      throw new CliError('invalid_request', 'nothing to revoke', {
        hint: 'pass a lease id, or --db <db> with --subject <subject> or --prefix <prefix>',
      });
    }
    const r = await adminCall<BulkRevokeResult>(o, 'DELETE', `/api/v1/databases/${seg(o.db)}/leases`, {
      query: { subject: o.subject, issuer: o.issuer, prefix: o.prefix },
      label: 'revoking',
    });
    process.stdout.write(`revoked ${r.revoked} of ${r.matched} live lease(s) on ${o.db}\n`);
    if (r.remaining > 0 || r.failed > 0)
      process.stdout.write(`${r.remaining} left to the sweeper (${r.failed} failed, ${r.irrevocable} irrevocable)\n`);
  });

  adminOptions(
    leases
      .command('ack <lease-id>')
      .description('Acknowledge an irrevocable lease (its role could not be dropped): it is finished, and deleted after the retention'),
  ).action(async (leaseId: string, o: AdminOptions) => {
    const lease = await adminCall<Lease>(o, 'POST', `/api/v1/leases/${seg(leaseId)}/acknowledge`, { label: 'acknowledging' });
    process.stdout.write(`lease ${lease.id} (${lease.user}): ${lease.state}\n`);
  });
}
