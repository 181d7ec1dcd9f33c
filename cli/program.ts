/**
 * The `pgmint` command with every verb (each lives in cli/commands/); this
 * file only assembles them.
 *
 * @example
 *   await buildProgram().parseAsync(process.argv);
 */
import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerBootstrapSql } from './commands/bootstrap-sql.js';
import { registerCreds } from './commands/creds.js';
import { registerDb } from './commands/db.js';
import { registerDevCommands } from './commands/dev.js';
import { registerDump } from './commands/dump.js';
import { registerGuiConfig } from './commands/gui-config.js';
import { registerInvoke } from './commands/invoke.js';
import { registerIssuer } from './commands/issuer.js';
import { registerLeases } from './commands/leases.js';
import { registerMigrate } from './commands/migrate.js';
import { registerOperations } from './commands/operations.js';
import { registerProxy } from './commands/proxy.js';
import { registerRole } from './commands/role.js';
import { registerShell } from './commands/shell.js';
import { registerTunnel } from './commands/tunnel.js';

export function buildProgram(): Command {
  const program = new Command('pgmint')
    .description('Short-lived PostgreSQL logins for workloads and people')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  registerCreds(program);
  registerShell(program);
  registerGuiConfig(program);
  registerDump(program);
  registerTunnel(program);
  registerProxy(program);
  registerDb(program);
  registerIssuer(program);
  registerRole(program);
  registerLeases(program);
  registerAudit(program);
  registerOperations(program);
  registerDevCommands(program);
  registerMigrate(program);
  registerBootstrapSql(program);
  registerInvoke(program);
  return program;
}
