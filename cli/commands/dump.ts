/**
 * `pgmint dump <db> --output file`: pg_dump with a fresh login in its
 * environment. A tenant-scoped role (one with its own search_path) is dumped
 * schema by schema with --no-owner --no-acl, never the whole database; the
 * usual failures (client older than server, row-level security, missing
 * grants) are explained.
 */
import { rm, stat } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { POSTGRES_CLIENT_HINT, runChild } from '../lib/child.js';
import { libpqEnv, mintCredentials } from '../lib/credentials.js';
import { CliError } from '../lib/errors.js';
import { collect, type IdentityOptions, identityOptions } from '../lib/options.js';
import { probeSession, tenantSchemas } from '../lib/probe.js';

interface DumpOptions extends IdentityOptions {
  output: string;
  schemaOnly?: boolean;
  schema?: string[];
  format: string;
  pgDump?: string;
}

export function pgDumpArgs(o: { output: string; format: string; schemaOnly?: boolean; schemas: string[] }, extra: string[] = []): string[] {
  const args = [`--format=${o.format}`];
  if (o.output !== '-') args.push(`--file=${o.output}`);
  if (o.schemaOnly) args.push('--schema-only');
  for (const s of o.schemas) args.push(`--schema=${s}`);
  // Objects owned by a shared group and its grants mean nothing outside this tenant's schema.
  if (o.schemas.length > 0) args.push('--no-owner', '--no-acl');
  return [...args, ...extra];
}

/** Turns pg_dump's stderr into the one explanation a person needs. */
export function explainPgDumpFailure(stderr: string, status: number, serverVersionNum?: number): CliError {
  const mismatch = /server version: ([\d.]+\w*);\s*pg_dump version: ([\d.]+\w*)/.exec(stderr);
  if (mismatch || /server version mismatch/.test(stderr)) {
    const [server, client] = mismatch
      ? [mismatch[1], mismatch[2]]
      : [serverVersionNum ? String(Math.floor(serverVersionNum / 10000)) : 'newer', 'older'];
    const major = server?.split('.')[0];
    return new CliError(
      'pg_dump_version_mismatch',
      `pg_dump ${client} cannot dump a PostgreSQL ${server} server: pg_dump must be at least as new as the server`,
      {
        hint: `install the PostgreSQL ${major} client (Debian/Ubuntu from apt.postgresql.org: \`apt-get install postgresql-client-${major}\`) and pass --pg-dump /usr/lib/postgresql/${major}/bin/pg_dump, or set PGMINT_PG_DUMP`,
      },
    );
  }
  const rls = /row-level security policy for table "([^"]+)"/.exec(stderr);
  if (rls) {
    return new CliError(
      'row_level_security',
      `table "${rls[1]}" is protected by row-level security, so a full data dump with temporary credentials is refused`,
      {
        hint: 'use --schema-only for a DDL-only export, dump only the rows you can see with `-- --enable-row-security`, or ask an operator for a verified full export',
      },
    );
  }
  const denied = /permission denied for (table|schema|sequence|relation) ([^\s]+)/.exec(stderr);
  if (denied) {
    return new CliError('permission_denied', `this role cannot read ${denied[1]} ${denied[2]}`, {
      hint: 'dump only the schemas you are granted with --schema <name>, or ask an operator for a role with a search_path (tenant-scoped roles are dumped schema by schema)',
    });
  }
  return new CliError('pg_dump_failed', `pg_dump exited with status ${status}`, {
    hint: "see pg_dump's message above",
    exitCode: status || 1,
  });
}

export function registerDump(program: Command): void {
  identityOptions(
    program
      .command('dump <db> [pgDumpArgs...]')
      .description('Run pg_dump on <db> with a short-lived login (arguments after -- go to pg_dump)')
      .requiredOption('-o, --output <file>', 'where to write the dump (`-` for stdout)')
      .option('--schema-only', 'DDL only, no data')
      .option('--schema <name>', "dump only this schema (repeatable; default: the role's own schemas when it is tenant-scoped)", collect)
      .addOption(
        new Option('--format <format>', 'pg_dump output format').choices(['custom', 'plain', 'directory', 'tar']).default('custom'),
      )
      .addOption(new Option('--pg-dump <path>', 'pg_dump to run').env('PGMINT_PG_DUMP')),
  ).action(async (db: string, extra: string[], o: DumpOptions) => {
    const creds = await mintCredentials(db, o);
    const facts = await probeSession(creds);
    const scoped = tenantSchemas(facts);
    const schemas = o.schema?.length ? o.schema : scoped;
    if (!o.schema?.length && scoped.length > 0) {
      process.stderr.write(`Role ${creds.role} is scoped to schema ${scoped.join(', ')}: dumping only that, without owners and grants.\n`);
    }
    const args = pgDumpArgs({ output: o.output, format: o.format, schemaOnly: o.schemaOnly, schemas }, extra);
    const { status, stderr } = await runChild(o.pgDump ?? 'pg_dump', args, {
      env: libpqEnv(creds),
      captureStderr: true,
      installHint: POSTGRES_CLIENT_HINT,
    });
    if (status !== 0) {
      // A half-written dump looks like a backup and is not one.
      if (o.output !== '-') await rm(o.output, { recursive: true, force: true });
      throw explainPgDumpFailure(stderr, status, facts.serverVersionNum);
    }
    if (o.output !== '-') {
      const size = (await stat(o.output)).size;
      process.stderr.write(`Wrote ${o.output} (${size} bytes, format ${o.format}${o.schemaOnly ? ', schema only' : ''}).\n`);
    }
  });
}
