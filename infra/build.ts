/**
 * `npm run build`: one minified ESM bundle per deployed function. Lambda
 * functions land in dist/<name>/index.mjs (handler `index.handler`, Node 20
 * runtime); the Workers module in dist/edge/index.mjs. Prints each bundle's
 * size from esbuild's metafile.
 *
 * @example
 *   npm run build                      # all bundles into dist/
 *   tsx infra/build.ts --outdir /tmp/x # elsewhere
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface FunctionSpec {
  name: string;
  entry: string;
  runtime: 'lambda' | 'edge';
}

/** Every deployed function; serverless.yml and infra/template.yaml name the same. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  { name: 'api', entry: 'functions/api.ts', runtime: 'lambda' },
  { name: 'sweep', entry: 'functions/sweep.ts', runtime: 'lambda' },
  { name: 'rotate-root', entry: 'functions/rotate-root.ts', runtime: 'lambda' },
  { name: 'edge', entry: 'functions/edge.ts', runtime: 'edge' },
];

export interface BundleReport {
  name: string;
  runtime: FunctionSpec['runtime'];
  /** Absolute path of the bundle. */
  file: string;
  bytes: number;
  /** Compressed size: what a Lambda zip or a Workers upload limit counts. */
  gzipBytes: number;
  /** Names the module exports, e.g. ['handler']. */
  exports: string[];
  /** Source files and packages that went in, relative to the repository. */
  inputs: string[];
}

export interface BuildResult {
  outdir: string;
  bundles: BundleReport[];
  /** Functions whose entry file does not exist (yet). */
  missing: string[];
}

// esbuild turns `require('events')` inside bundled CommonJS (pg) into a call
// that throws in an ES module, so the Node bundles get a real `require`.
const NODE_BANNER = "import{createRequire as __pgmintCreateRequire}from'node:module';const require=__pgmintCreateRequire(import.meta.url);";

/** Fails the edge build if anything pulls in a Node-only package. */
const edgeGuard: Plugin = {
  name: 'pgmint-edge-guard',
  setup(b) {
    b.onResolve({ filter: /^(pg|pg-native|ws|node:.*)$/ }, (args) => ({
      errors: [{ text: `${args.path} is Node-only and must not reach the edge bundle (imported by ${relative(ROOT, args.importer)})` }],
    }));
  },
};

// zod re-exports every message locale (≈250 KiB) as a namespace, which no
// bundler can shake; pgmint only ever reports in English.
const zodEnglishOnly: Plugin = {
  name: 'pgmint-zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

function optionsFor(spec: FunctionSpec, outdir: string, minify: boolean): BuildOptions {
  const common: BuildOptions = {
    entryPoints: { index: join(ROOT, spec.entry) },
    outdir: join(outdir, spec.name),
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    minify,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: ROOT,
    plugins: [zodEnglishOnly],
  };
  if (spec.runtime === 'lambda') {
    return {
      ...common,
      platform: 'node',
      target: 'node20',
      // Optional native addons the JS packages probe for and do without.
      external: ['pg-native', 'bufferutil', 'utf-8-validate'],
      banner: { js: NODE_BANNER },
    };
  }
  return {
    ...common,
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    plugins: [zodEnglishOnly, edgeGuard],
  };
}

async function report(spec: FunctionSpec, metafile: Metafile): Promise<BundleReport> {
  const [file, output] = Object.entries(metafile.outputs).find(([f]) => f.endsWith('.mjs'))!;
  return {
    name: spec.name,
    runtime: spec.runtime,
    file: resolve(ROOT, file),
    bytes: output.bytes,
    gzipBytes: gzipSync(await readFile(resolve(ROOT, file)), { level: 9 }).length,
    exports: output.exports,
    inputs: Object.keys(output.inputs),
  };
}

export async function buildBundles(options: { outdir?: string; only?: string[]; minify?: boolean } = {}): Promise<BuildResult> {
  const outdir = resolve(ROOT, options.outdir ?? 'dist');
  const wanted = FUNCTIONS.filter((f) => !options.only || options.only.includes(f.name));
  const present = wanted.filter((f) => existsSync(join(ROOT, f.entry)));
  await Promise.all(present.map((f) => rm(join(outdir, f.name), { recursive: true, force: true })));
  const bundles = await Promise.all(
    present.map(async (spec) => await report(spec, (await build(optionsFor(spec, outdir, options.minify ?? true))).metafile!)),
  );
  return { outdir, bundles, missing: wanted.filter((f) => !present.includes(f)).map((f) => f.name) };
}

export function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

async function main(argv: string[]): Promise<void> {
  const at = argv.indexOf('--outdir');
  const outdir = at >= 0 ? argv[at + 1] : undefined;
  const only = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--outdir');
  const result = await buildBundles({ outdir, only: only.length ? only : undefined });
  for (const b of result.bundles) {
    process.stdout.write(
      `${relative(process.cwd(), b.file).padEnd(28)} ${formatSize(b.bytes).padStart(10)}  gzip ${formatSize(b.gzipBytes).padStart(9)}  (${b.runtime})\n`,
    );
  }
  for (const name of result.missing)
    process.stderr.write(`missing: ${name} (${FUNCTIONS.find((f) => f.name === name)!.entry} does not exist)\n`);
  if (result.missing.length) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
