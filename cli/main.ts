/**
 * The `pgmint` command. Each verb lives in cli/commands/; this file only
 * assembles them.
 */
import { Command } from 'commander';
import { registerDevCommands } from './commands/dev.js';
import { registerInvoke } from './commands/invoke.js';
import { registerMigrate } from './commands/migrate.js';

export function buildProgram(): Command {
  const program = new Command('pgmint')
    .description('Short-lived PostgreSQL logins for workloads and people')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  registerDevCommands(program);
  registerMigrate(program);
  registerInvoke(program);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`pgmint: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
