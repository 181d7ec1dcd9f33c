/**
 * `pgmint shell <db>`: psql with a fresh login, passed through PG* variables
 * so the password never appears in the process list. Exits with psql's status.
 */
import type { Command } from 'commander';
import { POSTGRES_CLIENT_HINT, runChild } from '../lib/child.js';
import { libpqEnv, mintLease } from '../lib/credentials.js';
import { type IdentityOptions, identityOptions } from '../lib/options.js';

export function registerShell(program: Command): void {
  identityOptions(
    program
      .command('shell <db> [psqlArgs...]')
      .description('Open psql on <db> with a short-lived login (arguments after -- go to psql)')
      .option('-c, --command <sql>', 'run one command and exit, e.g. --command "SELECT 1"')
      .option('--psql <path>', 'psql to run (default: PGMINT_PSQL, or psql on PATH)')
      .option('--keep-lease', 'leave the login valid until it expires instead of revoking it when psql exits'),
  ).action(async (db: string, psqlArgs: string[], o: IdentityOptions & { command?: string; psql?: string; keepLease?: boolean }) => {
    const lease = await mintLease(db, o);
    const creds = lease.creds;
    process.stderr.write(`Temporary login ${creds.user} (role ${creds.role}), valid until ${creds.expires_at}.\n`);
    const args = [...(o.command !== undefined ? ['--command', o.command] : []), ...psqlArgs];
    try {
      const { status } = await runChild(o.psql ?? process.env.PGMINT_PSQL ?? 'psql', args, {
        env: libpqEnv(creds),
        installHint: POSTGRES_CLIENT_HINT,
      });
      process.exitCode = status;
    } finally {
      // Nobody else saw this password, so nobody needs the login after psql.
      if (!o.keepLease) await lease.release();
    }
  });
}
