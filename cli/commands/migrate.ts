/**
 * `pgmint migrate`: applies the control-plane migrations to PGMINT_DATABASE_URL.
 */
import { type Command, Option } from 'commander';
import { CliError } from '../lib/errors.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Create or upgrade the control-plane schema (idempotent)')
    // From the environment, not a default: help output must not print the URL and its password.
    .addOption(new Option('--database-url <url>', 'control-plane database').env('PGMINT_DATABASE_URL'))
    .action(async (o: { databaseUrl?: string }) => {
      if (!o.databaseUrl)
        throw new CliError('invalid_request', 'no control-plane database given', {
          hint: 'set PGMINT_DATABASE_URL or pass --database-url',
        });
      const [{ connectPg }, { parseDatabaseUrl }, { migrate }, { readMigrations }] = await Promise.all([
        import('../../lib/db/pg.js'),
        import('../../lib/db/port.js'),
        import('../../lib/store/migrate.js'),
        import('../../functions/local/migrations.js'),
      ]);
      const sql = connectPg({ ...parseDatabaseUrl(o.databaseUrl), max: 1 });
      try {
        const applied = await migrate(sql, await readMigrations());
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
      } finally {
        await sql.end();
      }
    });
}
