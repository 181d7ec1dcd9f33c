/**
 * The `pgmint` entry point: runs the command line and prints errors as the
 * CLI does. `pgmint proxy` loads its own command alone: a sidecar that runs
 * for the pod's lifetime should not hold every other verb's libraries in
 * memory (about 9 MiB of resident memory).
 *
 * @example
 *   await main(['node', 'pgmint', 'proxy', 'orders']);
 */
import { Command } from 'commander';
import { exitCodeOf, formatError } from './lib/errors.js';

async function programFor(argv: string[]): Promise<Command> {
  if (argv[2] === 'proxy') {
    const { registerProxy } = await import('./commands/proxy.js');
    const program = new Command('pgmint').showHelpAfterError().configureOutput({ outputError: (s, write) => write(s) });
    registerProxy(program);
    return program;
  }
  const { buildProgram } = await import('./program.js');
  return buildProgram();
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await (await programFor(argv)).parseAsync(argv);
  } catch (err) {
    process.stderr.write(formatError(err));
    process.exitCode = exitCodeOf(err);
  }
}
