/**
 * `pgmint migrate`: applies the control-plane migrations to PGMINT_DATABASE_URL.
 */
import type { Command } from 'commander';
import { connectPg } from '../../lib/db/pg.js';
import { parseDatabaseUrl } from '../../lib/db/port.js';
import { migrate } from '../../functions/local/migrate.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Create or upgrade the control-plane schema (idempotent)')
    .option('--database-url <url>', 'control-plane database', process.env.PGMINT_DATABASE_URL)
    .action(async (o: { databaseUrl?: string }) => {
      if (!o.databaseUrl) throw new Error('set PGMINT_DATABASE_URL or pass --database-url');
      const sql = connectPg({ ...parseDatabaseUrl(o.databaseUrl), max: 1 });
      try {
        const applied = await migrate(sql);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
      } finally {
        await sql.end();
      }
    });
}
