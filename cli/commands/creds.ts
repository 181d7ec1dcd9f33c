/**
 * `pgmint creds <db>` prints a fresh login (a table, `--json`, or one
 * `--field`); `pgmint connect <db>` prints its connection URI.
 */
import type { Command } from 'commander';
import { type Credentials, mintConnectionUri, mintCredentials } from '../lib/credentials.js';
import { CliError } from '../lib/errors.js';
import { type IdentityOptions, identityOptions } from '../lib/options.js';
import { fields, printJson, timeLeft } from '../lib/table.js';

const FIELDS = [
  'host',
  'port',
  'database',
  'user',
  'password',
  'sslmode',
  'expires_at',
  'refresh_at',
  'connection_uri',
  'lease_id',
  'role',
] as const;

export function registerCreds(program: Command): void {
  identityOptions(
    program
      .command('creds <db>')
      .description('Mint a short-lived login for <db> and print it (the password is shown once)')
      .option('--json', 'print the whole credential document as JSON')
      .option('--field <name>', `print one field only: ${FIELDS.join(', ')}`),
  ).action(async (db: string, o: IdentityOptions & { json?: boolean; field?: string }) => {
    if (o.field && !(FIELDS as readonly string[]).includes(o.field)) {
      throw new CliError('invalid_request', `unknown field "${o.field}"`, { hint: `use one of: ${FIELDS.join(', ')}` });
    }
    const creds = await mintCredentials(db, o);
    if (o.field) process.stdout.write(`${String(creds[o.field as keyof Credentials])}\n`);
    else if (o.json) printJson(creds);
    else {
      process.stdout.write(
        fields([
          ['host', creds.host],
          ['port', creds.port],
          ['database', creds.database],
          ['user', creds.user],
          ['password', creds.password],
          ['sslmode', creds.sslmode],
          ['role', creds.role],
          ['expires', `${creds.expires_at} (${timeLeft(creds.expires_at)})`],
          ['lease', creds.lease_id],
        ]),
      );
      process.stderr.write('The password is shown once; pgmint does not keep it.\n');
    }
  });

  identityOptions(program.command('connect <db>').description('Mint a short-lived login for <db> and print its postgresql:// URI')).action(
    async (db: string, o: IdentityOptions) => {
      process.stdout.write(`${await mintConnectionUri(db, o)}\n`);
    },
  );
}
