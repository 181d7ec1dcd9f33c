/**
 * `pgmint bootstrap-sql`: prints the SQL that prepares a target database for
 * pgmint (broker role, read-only and read/write groups on one schema), to be
 * reviewed and run by the database owner:
 *
 *   pgmint bootstrap-sql --database orders --schema app --owner app_owner | psql -v ON_ERROR_STOP=1 orders
 *
 * With `--pgbouncer` it also prints PgBouncer's auth_query function
 * (lib/sql/pgbouncer-sql.ts; infra/pgbouncer/ has the matching pgbouncer.ini).
 */
import type { Command } from 'commander';
import { bootstrapSql } from '../../lib/sql/bootstrap-sql.js';
import { pgbouncerAuthSql } from '../../lib/sql/pgbouncer-sql.js';

interface Options {
  database: string;
  schema: string;
  serverVersion: string;
  brokerRole: string;
  owner?: string;
  readonlyGroup?: string;
  readwriteGroup?: string;
  broker: boolean;
  pgbouncer?: boolean;
  pgbouncerUser: string;
  leasePrefix: string;
}

export function registerBootstrapSql(program: Command): void {
  program
    .command('bootstrap-sql')
    .description('Print the SQL that creates the broker role and the schema groups on a target database')
    .requiredOption('--database <name>', 'target database name')
    .requiredOption('--schema <name>', 'schema the groups give access to')
    .option('--server-version <n>', 'PostgreSQL major version (15, 16, 18) or server_version_num of the target', '16')
    .option('--broker-role <name>', "the broker's login role", 'pgmint_broker')
    .option('--owner <role>', "the schema's owner (the role that creates its tables); default privileges are set for it")
    .option('--readonly-group <name>', 'read-only group role (default <schema>_readonly)')
    .option('--readwrite-group <name>', 'read/write group role (default <schema>_readwrite)')
    .option('--no-broker', 'the broker role exists already (bootstrapping a further schema)')
    .option('--pgbouncer', "also print PgBouncer's auth_query lookup function, which refuses expired leases")
    .option('--pgbouncer-user <name>', 'the role PgBouncer logs in as to run auth_query', 'pgmint_pgbouncer')
    .option('--lease-prefix <prefix>', 'lease prefix of the registered database (the lookup answers only for its roles)', 'pgm')
    .action((o: Options) => {
      const serverVersion = Number(o.serverVersion);
      if (!Number.isInteger(serverVersion) || serverVersion < 9)
        throw new Error('--server-version must be a major version such as 15 or 18');
      const sql = bootstrapSql({
        database: o.database,
        schema: o.schema,
        brokerRole: o.brokerRole,
        schemaOwner: o.owner,
        readonlyGroup: o.readonlyGroup,
        readwriteGroup: o.readwriteGroup,
        createBroker: o.broker,
        transaction: true,
        serverVersion,
      });
      const bouncer = o.pgbouncer ? pgbouncerAuthSql({ authUser: o.pgbouncerUser, leasePrefix: o.leasePrefix }) : '';
      const passwords = [...(o.broker ? [o.brokerRole] : []), ...(o.pgbouncer ? [o.pgbouncerUser] : [])];
      const after = passwords
        .map((role) => `-- Then set the password of ${role} without sending it in clear: \\password ${role}\n`)
        .join('');
      process.stdout.write(sql + bouncer + after);
    });
}
