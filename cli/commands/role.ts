/**
 * `pgmint role put|list|rm`: the roles a database's leases are minted from.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { adminCall } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { type AdminOptions, adminOptions, collect, jsonOption } from '../lib/options.js';
import { fields, printJson, table } from '../lib/table.js';

interface Role {
  name: string;
  database: string;
  member_of: string[];
  search_path: string[] | null;
  read_only: boolean;
  allow_write: boolean;
  default_ttl: number;
  max_ttl: number;
  max_session: number;
  creation_statements: string | null;
}

interface PutOptions extends AdminOptions {
  memberOf?: string[];
  searchPath?: string[];
  allowWrite?: boolean;
  readOnly?: boolean;
  defaultTtl?: string;
  maxTtl?: string;
  maxSession?: string;
  creationStatements?: string;
  revocationStatements?: string;
  renewStatements?: string;
}

const optionalFile = async (path: string | undefined) => (path ? readFile(path, 'utf8') : undefined);

export function registerRole(program: Command): void {
  const role = program.command('role').description('Role definitions (admin)');

  adminOptions(
    role
      .command('put <db> <name>')
      .description('Define or replace a role')
      .option('--member-of <group>', 'group role whose privileges the login gets (repeatable)', collect)
      .option('--search-path <schema>', "schema for the login's search_path (repeatable); makes dumps tenant-scoped", collect)
      .option('--allow-write', 'the role may write (read/write roles default to 30 min)')
      .option('--read-only', 'set default_transaction_read_only (default when writes are not allowed)')
      .option('--default-ttl <duration>', 'lifetime when none is asked for, e.g. 1h')
      .option('--max-ttl <duration>', 'longest lifetime allowed (at most 8h)')
      .option(
        '--max-session <duration>',
        "how long a session may outlive its lease's expiry before it is terminated (default 8h, at most 24h)",
      )
      .option('--creation-statements <file>', 'SQL template file with {{name}}, {{password}}, {{expiration}}')
      .option('--revocation-statements <file>', 'SQL template file run on revoke')
      .option('--renew-statements <file>', 'SQL template file run on renew'),
  ).action(async (db: string, name: string, o: PutOptions) => {
    const body = {
      member_of: o.memberOf ?? [],
      search_path: o.searchPath,
      allow_write: Boolean(o.allowWrite),
      read_only: o.readOnly,
      default_ttl: o.defaultTtl,
      max_ttl: o.maxTtl,
      max_session: o.maxSession,
      creation_statements: await optionalFile(o.creationStatements),
      revocation_statements: await optionalFile(o.revocationStatements),
      renew_statements: await optionalFile(o.renewStatements),
    };
    const saved = await adminCall<Role>(o, 'PUT', `/api/v1/databases/${seg(db)}/roles/${seg(name)}`, {
      body,
      label: `saving role ${name}`,
    });
    process.stdout.write(
      fields([
        ['role', `${saved.database}/${saved.name}`],
        ['member of', saved.member_of],
        ['search path', saved.search_path],
        ['access', saved.allow_write ? 'read/write' : 'read-only'],
        ['ttl', `${saved.default_ttl} s (max ${saved.max_ttl} s)`],
        ['max session', `${saved.max_session} s after expiry`],
      ]),
    );
  });

  jsonOption(adminOptions(role.command('list <db>').description('List the roles of <db>'))).action(
    async (db: string, o: AdminOptions & { json?: boolean }) => {
      const { roles } = await adminCall<{ roles: Role[] }>(o, 'GET', `/api/v1/databases/${seg(db)}/roles`);
      if (o.json) return printJson(roles);
      process.stdout.write(
        table(roles, [
          { title: 'NAME', value: (r) => r.name },
          { title: 'MEMBER OF', value: (r) => r.member_of },
          { title: 'ACCESS', value: (r) => (r.allow_write ? 'read/write' : 'read-only') },
          { title: 'SEARCH PATH', value: (r) => r.search_path },
          { title: 'DEFAULT TTL', value: (r) => `${r.default_ttl}s` },
          { title: 'MAX TTL', value: (r) => `${r.max_ttl}s` },
          { title: 'MAX SESSION', value: (r) => `${r.max_session}s` },
          { title: 'CUSTOM SQL', value: (r) => (r.creation_statements ? 'yes' : 'no') },
        ]),
      );
    },
  );

  adminOptions(role.command('rm <db> <name>').description('Remove a role definition')).action(
    async (db: string, name: string, o: AdminOptions) => {
      await adminCall(o, 'DELETE', `/api/v1/databases/${seg(db)}/roles/${seg(name)}`);
      process.stdout.write(`removed role ${name}\n`);
    },
  );
}
