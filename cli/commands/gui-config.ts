/**
 * `pgmint gui-config <db>`: a fresh login laid out for SQL GUIs, with the
 * search path read from one short session and the database-name warning.
 */
import type { Command } from 'commander';
import { mintCredentials } from '../lib/credentials.js';
import { guiBlock, guiConfig } from '../lib/gui-block.js';
import { type IdentityOptions, identityOptions } from '../lib/options.js';
import { probeSession, type SessionFacts, tenantSchemas } from '../lib/probe.js';
import { printJson } from '../lib/table.js';

export function registerGuiConfig(program: Command): void {
  identityOptions(
    program
      .command('gui-config <db>')
      .description('Mint a short-lived login and print it for Beekeeper Studio, DBeaver, TablePlus and DataGrip')
      .option('--json', 'print the settings as JSON')
      .option('--no-probe', 'do not log in once to read the search path (for a database only reachable through a tunnel)'),
  ).action(async (db: string, o: IdentityOptions & { json?: boolean; probe: boolean }) => {
    const creds = await mintCredentials(db, o);
    let facts: SessionFacts | null = null;
    if (o.probe) {
      try {
        facts = await probeSession(creds);
      } catch {
        process.stderr.write('note: could not log in from here to read the search path; the login itself is valid.\n');
      }
    }
    const options = { searchPath: facts?.searchPath ?? null, tenantSchemas: facts ? tenantSchemas(facts) : [] };
    if (o.json) printJson(guiConfig(creds, options));
    else process.stdout.write(guiBlock(creds, options));
  });
}
