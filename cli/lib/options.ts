/**
 * Options shared by many verbs, declared once: the broker URL, the admin
 * token, and the identity and role choices of the credential verbs.
 *
 * @example
 *   identityOptions(brokerOption(program.command('creds <db>')));
 */
import { type Command, Option } from 'commander';
import { DEFAULT_BROKER_URL } from './broker.js';

export interface BrokerOptions {
  url: string;
}

export interface AdminOptions extends BrokerOptions {
  adminToken?: string;
}

export interface IdentityOptions extends BrokerOptions {
  token?: string;
  tokenFile?: string;
  kind: 'auto' | 'k8s' | 'oidc';
  role?: string;
  ttl?: string;
  readonly?: boolean;
  readwrite?: boolean;
}

export function brokerOption(cmd: Command): Command {
  return cmd.addOption(new Option('--url <url>', 'broker URL').env('PGMINT_URL').default(DEFAULT_BROKER_URL));
}

export function adminOptions(cmd: Command): Command {
  return brokerOption(cmd).addOption(
    new Option('--admin-token <token>', 'admin token (prefer the environment variable: argv is visible to other users)').env(
      'PGMINT_ADMIN_TOKEN',
    ),
  );
}

export function identityOptions(cmd: Command): Command {
  return brokerOption(cmd)
    .option('--token-file <path>', 'file holding your OIDC or service-account token (`-` reads stdin); or set PGMINT_TOKEN_FILE')
    .option('--token <jwt>', 'the token itself (visible in the process list; prefer --token-file, PGMINT_TOKEN or stdin)')
    .addOption(
      new Option('--kind <kind>', 'exchange kind; auto picks k8s for service-account tokens')
        .choices(['auto', 'k8s', 'oidc'])
        .default('auto'),
    )
    .option('--role <name>', 'role to mint (default: the one the issuer gives your identity)')
    .option('--ttl <duration>', 'lifetime such as 15m or 1h (capped by the role)')
    .addOption(new Option('--readonly', 'read-only access (the default)').conflicts('readwrite'))
    .addOption(new Option('--readwrite', 'read/write access, where policy allows it').conflicts('readonly'));
}

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print JSON instead of a table');
}

/** Collects a repeatable option: `--member-of a --member-of b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
