/**
 * `pgmint db add|list|show|rm`: the target databases a broker mints logins on.
 */
import { type Command, Option } from 'commander';
import { adminCall, readSecret } from '../lib/admin.js';
import { seg } from '../lib/broker.js';
import { CliError } from '../lib/errors.js';
import { type AdminOptions, adminOptions, jsonOption } from '../lib/options.js';
import { fields, printJson, table } from '../lib/table.js';

interface Database {
  id: string;
  host: string;
  port: number;
  database: string;
  admin_user: string;
  sslmode: string;
  public_host: string | null;
  public_port: number | null;
  lease_prefix: string;
  root_rotated_at: string;
  created_at: string;
}

const int = (v: string) => Number.parseInt(v, 10);

function showDatabase(d: Database): string {
  return fields([
    ['id', d.id],
    ['host', `${d.host}:${d.port}`],
    ['database', d.database],
    ['admin user', d.admin_user],
    ['sslmode', d.sslmode],
    ['public endpoint', d.public_host ? `${d.public_host}:${d.public_port ?? d.port}` : null],
    ['lease prefix', d.lease_prefix],
    ['root rotated', d.root_rotated_at],
    ['created', d.created_at],
  ]);
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('Target databases (admin)');

  adminOptions(
    db
      .command('add <id>')
      .description('Register a target database; the broker tests the connection and CREATEROLE')
      .requiredOption('--host <host>', 'host the broker connects to')
      .option('--port <port>', 'port', int, 5432)
      .requiredOption('--database <name>', 'database name on the server')
      .requiredOption('--admin-user <role>', "the broker's role on the target (CREATEROLE)")
      .option('--admin-password-file <file>', "file holding that role's password (`-` for stdin); default PGMINT_TARGET_PASSWORD")
      .addOption(
        new Option('--sslmode <mode>', 'how the broker connects')
          .choices(['disable', 'prefer', 'require', 'verify-full'])
          .default('require'),
      )
      .option('--public-host <host>', 'host clients use, when it differs')
      .option('--public-port <port>', 'port clients use', int)
      .addOption(new Option('--public-sslmode <mode>', 'sslmode clients use').choices(['disable', 'prefer', 'require', 'verify-full']))
      .option('--lease-prefix <prefix>', 'prefix of minted role names (default pgm)')
      .option('--rotation-period <duration>', 'how often the root password rotates, e.g. 168h'),
  ).action(
    async (
      id: string,
      o: AdminOptions & {
        host: string;
        port: number;
        database: string;
        adminUser: string;
        adminPasswordFile?: string;
        sslmode: string;
        publicHost?: string;
        publicPort?: number;
        publicSslmode?: string;
        leasePrefix?: string;
        rotationPeriod?: string;
      },
    ) => {
      const password = await readSecret({
        file: o.adminPasswordFile,
        envName: 'PGMINT_TARGET_PASSWORD',
        what: 'admin password',
        flag: '--admin-password-file',
      });
      const body = {
        id,
        host: o.host,
        port: o.port,
        database: o.database,
        admin_user: o.adminUser,
        admin_password: password,
        sslmode: o.sslmode,
        public_host: o.publicHost,
        public_port: o.publicPort,
        public_sslmode: o.publicSslmode,
        lease_prefix: o.leasePrefix,
        rotation_period: o.rotationPeriod,
      };
      const created = await adminCall<Database>(o, 'POST', '/api/v1/databases', { body, label: `registering ${id}` });
      process.stdout.write(showDatabase(created));
    },
  );

  jsonOption(adminOptions(db.command('list').description('List target databases'))).action(async (o: AdminOptions & { json?: boolean }) => {
    const { databases } = await adminCall<{ databases: Database[] }>(o, 'GET', '/api/v1/databases');
    if (o.json) return printJson(databases);
    process.stdout.write(
      table(databases, [
        { title: 'ID', value: (d) => d.id },
        { title: 'HOST', value: (d) => `${d.host}:${d.port}` },
        { title: 'DATABASE', value: (d) => d.database },
        { title: 'SSLMODE', value: (d) => d.sslmode },
        { title: 'PREFIX', value: (d) => d.lease_prefix },
        { title: 'CREATED', value: (d) => d.created_at },
      ]),
    );
  });

  jsonOption(adminOptions(db.command('show <id>').description('Show one target database'))).action(
    async (id: string, o: AdminOptions & { json?: boolean }) => {
      const d = await adminCall<Database>(o, 'GET', `/api/v1/databases/${seg(id)}`);
      if (o.json) printJson(d);
      else process.stdout.write(showDatabase(d));
    },
  );

  adminOptions(
    db
      .command('rm <id>')
      .description('Remove a target database, its roles and issuers from the broker')
      .option('--force', 'revoke its live leases first (otherwise live leases make this fail)'),
  ).action(async (id: string, o: AdminOptions & { force?: boolean }) => {
    try {
      await adminCall(o, 'DELETE', `/api/v1/databases/${seg(id)}`, {
        query: { force: o.force ? 'true' : undefined },
        label: `removing ${id}`,
      });
    } catch (err) {
      if (err instanceof CliError && err.code === 'conflict' && !o.force) {
        throw new CliError(err.code, err.message, {
          hint: `revoke them first (\`pgmint leases revoke --db ${id} --prefix …\`) or pass --force`,
          requestId: err.requestId,
        });
      }
      throw err;
    }
    process.stdout.write(`removed database ${id}\n`);
  });
}
