/**
 * The `pgmint` command as one ES module, dist/cli/pgmint.mjs, for images and
 * sidecars: plain JavaScript that `node` runs without the TypeScript loader
 * `cli/bin.mjs` uses in a checkout (that loader keeps a second V8 isolate
 * alive, ~35 MiB of resident memory a proxy sidecar does not need). Packages
 * stay in node_modules (production dependencies only); the bundle sits two
 * folders deep, as its sources do, so paths such as infra/migrations resolve
 * the same.
 *
 * @example
 *   tsx infra/build-cli.ts && node dist/cli/pgmint.mjs proxy orders
 */
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ROOT } from './build.js';

export async function buildCli(outdir = join(ROOT, 'dist', 'cli')): Promise<string> {
  await build({
    stdin: { contents: "import { main } from './cli/main.ts';\nawait main();\n", resolveDir: ROOT, sourcefile: 'pgmint.ts', loader: 'ts' },
    outdir,
    entryNames: 'pgmint',
    // Chunks beside the entry: modules that find files relative to themselves (infra/migrations) stay two folders deep.
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // Verbs load on demand (cli/main.ts), so `pgmint proxy` never evaluates the others' modules.
    splitting: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  return join(outdir, 'pgmint.mjs');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${relative(process.cwd(), await buildCli())}\n`);
}
