/**
 * `pgmint token dev`: a service-account token from the development issuer of
 * `npm start`, for trying the exchange without a cluster.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DevSettings } from '../../functions/local/stack.js';

export async function readDevSettings(home = process.env.PGMINT_HOME ?? '.pgmint'): Promise<DevSettings> {
  const file = join(resolve(home), 'dev.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DevSettings;
  } catch {
    throw new Error(`no development stack found (${file}); run \`npm start\` first`);
  }
}

export function registerDevCommands(program: Command): void {
  const token = program.command('token').description('Tokens for development and testing');
  token
    .command('dev')
    .description('Print a service-account token signed by the development issuer of `npm start`')
    .option('-n, --namespace <ns>', 'Kubernetes namespace', 'demo')
    .option('-s, --service-account <name>', 'service account name', 'api')
    .option('--pod <name>', 'pod name to bind the token to')
    .option('--audience <aud>', 'audience (default: the broker audience)')
    .option('--ttl <seconds>', 'token lifetime in seconds', '3600')
    .option('--home <dir>', 'folder of the development stack', process.env.PGMINT_HOME ?? '.pgmint')
    .action(async (o: { namespace: string; serviceAccount: string; pod?: string; audience?: string; ttl: string; home: string }) => {
      const settings = await readDevSettings(o.home);
      const podName = o.pod ?? `${o.serviceAccount}-${Math.random().toString(36).slice(2, 7)}`;
      // Loaded on use: the signing code is not needed by any other verb.
      const { mintDevToken } = await import('../../functions/local/dev-issuer.js');
      const jwt = await mintDevToken(
        settings.keyFile,
        settings.issuerUrl,
        {
          namespace: o.namespace,
          serviceAccount: o.serviceAccount,
          podName,
          podUid: crypto.randomUUID(),
          audience: o.audience ?? settings.audience,
        },
        Number(o.ttl),
      );
      process.stdout.write(`${jwt}\n`);
    });
}
